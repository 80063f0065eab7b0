// Tests that read the filter of a single (non-join) S1QL query: parse and insist it is one.
import { parseS1ql, type S1qlDialect, type S1qlFilterQuery } from '../../src/verify/s1ql-parse.js';

export function parseS1qlFilter(text: string, dialect?: S1qlDialect): S1qlFilterQuery {
  const q = parseS1ql(text, dialect);
  if (q.type !== 'query') throw new Error(`expected a filter query, got a ${q.type}:\n${text}`);
  return q;
}
