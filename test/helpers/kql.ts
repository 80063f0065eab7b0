// What the KQL backend tests share: translate a bare EQL query, read its where-lines, insist that the output
// binds with Microsoft's Kusto parser, and write an EQL string literal for a hostile value.
import * as assert from 'uvu/assert';
import { parseQuery } from '../../src/parse.js';
import { translateRule } from '../../src/translate/index.js';
import type { TranslateOptions, Translation } from '../../src/translate/core.js';
import { formatKustoProblems, kustoErrors } from './kusto.js';

export function kql(eql: string, options: TranslateOptions = {}): Translation {
  const { query, diagnostics } = parseQuery(eql);
  assert.ok(query, diagnostics.map((d) => d.message).join('; '));
  return translateRule({ query: query!, meta: { rule_id: null, name: null, threat: [], metadata: {} }, text: eql, path: 'test.eql' }, 'kql', options);
}

/** The diagnostic codes of a translation, in order. */
export const codes = (t: Translation) => t.diagnostics.map((d) => d.code);

/** The where-lines of the output, which is all most tests care about. */
export const wheres = (t: Translation) => (t.output ?? '').split('\n').filter((l) => l.startsWith('| where ')).map((l) => l.slice(8));

/** The translation has an output, and Microsoft's parser binds it against the Advanced Hunting schema. */
export function assertBinds(t: Translation, what: string) {
  assert.ok(t.output, `${what}: ${t.diagnostics.map((d) => d.message).join('; ')}`);
  const problems = kustoErrors(t.output!);
  assert.ok(!problems.length, `${what}:\n${t.output}\n${formatKustoProblems(problems)}`);
}

/** An EQL double-quoted string holding `v` exactly. */
export const eqlString = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
