// Reads back the SPL that eqlport emits (grammar/targets/spl.peggy) into a small tree for the verifier.
// Shares nothing with the emitter (src/backends/spl.ts): a quoting or precedence bug there shows up here as
// a parse error or as a different value, instead of cancelling itself out.
import { parse, SyntaxError as PeggySyntaxError } from '../generated/spl-parser.js';

/** A search-command value: the unescaped text; `*` in it is always a wildcard. */
export interface SearchValue {
  text: string;
  quoted: boolean;
  /** `CASE(...)`: the search directive for a case-sensitive match. */
  caseSensitive?: boolean;
}

export type SearchExpr =
  | { kind: 'and'; args: SearchExpr[] }
  | { kind: 'or'; args: SearchExpr[] }
  | { kind: 'not'; arg: SearchExpr }
  | { kind: 'compare'; field: string; op: '=' | '!=' | '<' | '<=' | '>' | '>='; value: SearchValue }
  | { kind: 'in'; field: string; values: SearchValue[] }
  | { kind: 'macro'; name: string; args: string | null };

export type EvalExpr =
  | { kind: 'and'; args: EvalExpr[] }
  | { kind: 'or'; args: EvalExpr[] }
  | { kind: 'not'; arg: EvalExpr }
  | { kind: 'compare'; op: '==' | '!=' | '<' | '<=' | '>' | '>='; left: EvalExpr; right: EvalExpr }
  | { kind: 'binary'; op: '+' | '-' | '.' | '*' | '/' | '%'; left: EvalExpr; right: EvalExpr }
  | { kind: 'neg'; arg: EvalExpr }
  | { kind: 'call'; name: string; args: EvalExpr[] }
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'field'; name: string };

export interface Aggregation {
  fn: string;
  arg: string | { kind: 'evalarg'; expr: EvalExpr } | null;
  as: string | null;
}

export type Command =
  | { kind: 'search'; expr: SearchExpr }
  | { kind: 'where'; expr: EvalExpr }
  | { kind: 'eval'; assignments: { field: string; expr: EvalExpr }[] }
  | { kind: 'regex'; field: string; negated: boolean; pattern: string }
  | { kind: 'tstats'; options: Record<string, string>; aggregations: Aggregation[]; datamodel: string; where: SearchExpr | null; by: string[] }
  | { kind: 'transaction'; fields: string[]; options: { startswith?: EvalExpr; endswith?: EvalExpr; maxspan?: string; maxpause?: string; [k: string]: unknown } }
  | { kind: 'streamstats'; options: Record<string, string>; aggregations: Aggregation[]; by: string[] }
  | { kind: 'sort'; limit: number | null; fields: { field: string; descending: boolean }[] }
  | { kind: 'head'; count: number }
  | { kind: 'tail'; count: number }
  | { kind: 'table' | 'fields'; fields: string[] }
  | { kind: 'macro'; name: string; args: string | null };

export interface SplPipeline {
  commands: Command[];
}

export type SplParseResult = { ok: true; pipeline: SplPipeline } | { ok: false; error: string; line: number; column: number };

export function parseSpl(text: string): SplParseResult {
  try {
    return { ok: true, pipeline: parse(text) as SplPipeline };
  } catch (e) {
    if (!(e instanceof PeggySyntaxError)) throw e;
    return { ok: false, error: e.message, line: e.location.start.line, column: e.location.start.column };
  }
}
