// Reads S1QL text back into a tree, for verification. Independent of src/backends/s1ql.ts by design: it
// shares no escaping or operator table with the emitter, so an emitter bug cannot cancel itself out.
import { parse, SyntaxError as PeggySyntaxError } from '../generated/s1ql-parser.js';

export type S1qlDialect = '1' | '2';

export type S1qlValue = { kind: 'string'; value: string } | { kind: 'list'; values: string[] } | { kind: 'number'; value: number };

export type S1qlExpr =
  | { type: 'and' | 'or'; args: S1qlExpr[] }
  | { type: 'not'; arg: S1qlExpr }
  | { type: 'exists'; field: string }
  /** `op` lower-cased as written: `in:anycase`, `contains:matchcase`, `matches`, `in contains anycase`, `regexp`, `>=`… */
  | { type: 'pred'; field: string; op: string; value: S1qlValue };

export type S1qlPipe = { type: 'limit'; count: number };

export interface S1qlFilterQuery {
  type: 'query';
  where: S1qlExpr;
  pipes: S1qlPipe[];
}

/** An expression over joined columns: integers, column references, `+ -`, comparisons, and/or/not. */
export type S1qlArith = { type: 'int'; text: string } | { type: 'col'; name: string } | { type: 'arith'; op: '+' | '-'; left: S1qlArith; right: S1qlArith };
export type S1qlRowExpr =
  | { type: 'and' | 'or'; args: S1qlRowExpr[] }
  | { type: 'not'; arg: S1qlRowExpr }
  | { type: 'cmp'; op: '<' | '<=' | '>' | '>=' | '=' | '!='; left: S1qlArith; right: S1qlArith };

/** A subquery of a join: a filter and the columns it keeps (`| columns name = field`), or a nested join. */
export type S1qlSubQuery = { type: 'select'; where: S1qlExpr; columns: { name: string; field: string }[] } | S1qlJoin;
export interface S1qlJoin {
  type: 'join';
  sides: { name: string; query: S1qlSubQuery }[];
  on: string[];
}

/** `| sql inner join … on …` followed by `| filter` commands over the joined columns (2.0 only). */
export interface S1qlJoinQuery {
  type: 'joinquery';
  join: S1qlJoin;
  filters: S1qlRowExpr[];
  pipes: S1qlPipe[];
}

export type S1qlQuery = S1qlFilterQuery | S1qlJoinQuery;

export class S1qlParseError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }
}

/** Parse one query of the given dialect; throws S1qlParseError with the position of the problem. */
export function parseS1ql(text: string, dialect: S1qlDialect = '2'): S1qlQuery {
  try {
    return parse(text, { dialect }) as S1qlQuery;
  } catch (e) {
    if (e instanceof PeggySyntaxError) throw new S1qlParseError(`S1QL ${dialect}.0: ${e.message}`, e.location.start.line, e.location.start.column);
    throw e;
  }
}
