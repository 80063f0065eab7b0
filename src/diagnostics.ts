// Diagnostics are values: a stable code, a severity, a message and a place. Codes are never reused.
// Ranges: 1xxx syntax, 2xxx semantics and review warnings, 3xxx translation, 4xxx rule files and
// mappings, 5xxx templates, 6xxx replay and verification.
import type { Span } from './ir/nodes.js';

export type Severity = 'error' | 'warning' | 'info';

export const CODES = {
  // syntax
  EQL1001: { severity: 'error', title: 'syntax error' },
  EQL1002: { severity: 'error', title: 'invalid string literal' },
  EQL1003: { severity: 'error', title: 'query nested too deeply' },
  EQL1004: { severity: 'error', title: 'pipe not supported by Elasticsearch' },
  EQL1005: { severity: 'error', title: 'empty query' },
  EQL1006: { severity: 'error', title: 'query too large' },
  EQL1007: { severity: 'error', title: 'number out of range' },
  // semantics
  EQL2001: { severity: 'error', title: 'unknown function' },
  EQL2002: { severity: 'error', title: 'wrong number of arguments' },
  EQL2003: { severity: 'error', title: 'function has no case-insensitive variant' },
  EQL2004: { severity: 'error', title: 'field-to-field comparison' },
  EQL2005: { severity: 'error', title: 'invalid sequence' },
  EQL2006: { severity: 'error', title: 'join key count mismatch' },
  EQL2007: { severity: 'error', title: 'missing events need maxspan' },
  EQL2008: { severity: 'error', title: 'runs out of range' },
  EQL2009: { severity: 'error', title: 'invalid sample' },
  EQL2010: { severity: 'error', title: 'function of the legacy Python dialect' },
  EQL2011: { severity: 'error', title: 'invalid pipe argument' },
  EQL2012: { severity: 'error', title: 'invalid operand' },
  EQL2013: { severity: 'error', title: 'invalid regular expression' },
  EQL2014: { severity: 'error', title: 'invalid CIDR block' },
  // review warnings (check)
  EQL2101: { severity: 'warning', title: 'wildcard taken literally' },
  EQL2102: { severity: 'warning', title: 'field is not in ECS' },
  EQL2103: { severity: 'info', title: 'Elastic-specific field' },
  EQL2104: { severity: 'warning', title: 'value cannot match the field type' },
  EQL2105: { severity: 'warning', title: 'comparison is always null' },
  // translation (core 30xx; sigma 31xx, kql 32xx, spl 33xx, s1ql 34xx, ts 35xx)
  EQL3001: { severity: 'error', title: 'backend produced no output' },
  EQL3002: { severity: 'error', title: 'field has no equivalent in the target' },
  EQL3003: { severity: 'error', title: 'no log source for this event class' },
  EQL3004: { severity: 'warning', title: 'log source holds a different set of events' },
  EQL3005: { severity: 'error', title: 'approximate translation refused by --strict' },
  EQL3006: { severity: 'warning', title: 'target field carries a different meaning' },
  EQL3007: { severity: 'error', title: 'construct not expressible in the target' },
  // sigma
  EQL3101: { severity: 'warning', title: 'condition has no Sigma equivalent' },
  EQL3102: { severity: 'error', title: 'filter spans several Sigma log sources' },
  EQL3103: { severity: 'warning', title: 'path separator of an unknown OS' },
  EQL3104: { severity: 'warning', title: 'wildcard in a file name can span path separators' },
  EQL3105: { severity: 'error', title: 'expression not expressible in Sigma' },
  EQL3106: { severity: 'warning', title: 'sequence feature not expressible in a Sigma correlation' },
  EQL3107: { severity: 'warning', title: 'correlation timespan differs from the query' },
  EQL3108: { severity: 'info', title: 'registry hive rewritten' },
  EQL3109: { severity: 'warning', title: 'result limit not expressible in Sigma' },
  EQL3110: { severity: 'error', title: 'regular expression not expressible in Sigma' },
  EQL3111: { severity: 'warning', title: 'join key not expressible in Sigma' },
  EQL3112: { severity: 'error', title: 'no Sigma condition left' },
  EQL3113: { severity: 'warning', title: 'registry data rendered differently' },
  EQL3114: { severity: 'info', title: 'log source selected through a field every event carries' },
  EQL3115: { severity: 'info', title: 'query split into one Sigma rule per log source' },
  EQL3116: { severity: 'warning', title: 'branch without a Sigma log source left out' },
  EQL3117: { severity: 'warning', title: 'string length measured differently' },
  // kql
  EQL3201: { severity: 'warning', title: 'condition on a field without a Defender column left out' },
  EQL3202: { severity: 'warning', title: 'Defender table cannot tell the tested values apart' },
  EQL3203: { severity: 'error', title: 'invalid KQL field transform in the mapping' },
  EQL3204: { severity: 'warning', title: 'arguments parsed from the command line with Windows rules' },
  EQL3205: { severity: 'warning', title: 'empty string and missing value are the same in Defender' },
  EQL3206: { severity: 'error', title: 'regular expression not translatable to RE2' },
  EQL3207: { severity: 'warning', title: 'arguments matched against the whole command line (--kql-args fast)' },
  EQL3208: { severity: 'warning', title: 'host.os.type left out (--kql-os drop)' },
  EQL3209: { severity: 'error', title: 'no condition of the filter is expressible in Defender' },
  EQL3210: { severity: 'warning', title: 'table left out of an any-event union' },
  EQL3211: { severity: 'warning', title: 'sequence key without a Defender column left out' },
  EQL3212: { severity: 'warning', title: 'sequence until left out' },
  EQL3213: { severity: 'warning', title: 'missing-event step left out' },
  EQL3214: { severity: 'error', title: 'sequence step over several Defender tables' },
  EQL3215: { severity: 'warning', title: 'sequence matched with scan' },
  EQL3216: { severity: 'error', title: 'no Defender event can match the filter' },
  EQL3217: { severity: 'warning', title: 'table without matching events left out of a union' },
  EQL3235: { severity: 'error', title: 'list-element test not expressible' },
  EQL3236: { severity: 'warning', title: 'dataset taken from the rule index' },
  EQL3240: { severity: 'warning', title: 'or-branch without a Defender table left out' },
  EQL3245: { severity: 'warning', title: 'string lengths and offsets in code points (KQL) instead of UTF-16 units' },
  EQL3246: { severity: 'warning', title: 'sample rendered with per-filter groups' },
  EQL3247: { severity: 'warning', title: 'head/tail of sequence or sample results' },
  EQL3248: { severity: 'error', title: 'no sequence or sample key has a Defender column' },
  EQL3250: { severity: 'info', title: 'reads Microsoft Sentinel tables (Sentinel in the Defender portal)' },
  EQL3251: { severity: 'error', title: 'sequence steps identify their events by different columns' },
  EQL3255: { severity: 'error', title: 'the table holds the field only where a query cannot read it exactly' },
  // spl
  EQL3301: { severity: 'warning', title: 'SPL source does not record a classifying field' },
  EQL3302: { severity: 'warning', title: 'SPL matching differs from EQL' },
  EQL3303: { severity: 'error', title: 'not expressible in SPL' },
  EQL3304: { severity: 'warning', title: 'sequence rendered with SPL transaction' },
  EQL3305: { severity: 'warning', title: 'condition without an SPL equivalent left out' },
  EQL3306: { severity: 'warning', title: 'branch without an SPL source left out' },
  // s1ql
  EQL3401: { severity: 'error', title: 'sequence or sample not expressible in this S1QL dialect' },
  EQL3402: { severity: 'error', title: 'field has no S1QL 1.0 name' },
  EQL3403: { severity: 'warning', title: 'condition decided by the SentinelOne event type' },
  EQL3404: { severity: 'info', title: 'value has no SentinelOne spelling' },
  EQL3405: { severity: 'error', title: 'CIDR block not expressible in S1QL' },
  EQL3406: { severity: 'warning', title: 'Deep Visibility regex case rule unknown' },
  EQL3407: { severity: 'error', title: 'condition never holds for SentinelOne events' },
  EQL3408: { severity: 'warning', title: 'result limit dropped' },
  EQL3420: { severity: 'warning', title: 'condition without an S1QL equivalent left out' },
  EQL3430: { severity: 'warning', title: 'PowerQuery join reports more tuples than the EQL sequence' },
  EQL3431: { severity: 'warning', title: 'PowerQuery join takes tied timestamps in either order' },
  EQL3432: { severity: 'warning', title: 'sequence `until` not enforced by the PowerQuery join' },
  EQL3433: { severity: 'info', title: 'PowerQuery alert row limit applies to the join' },
  EQL3434: { severity: 'info', title: '`sql inner join` in a PowerQuery alert is unconfirmed' },
  // ts
  EQL3501: { severity: 'error', title: 'regular expression the TypeScript module cannot run' },
  // rule files
  EQL4001: { severity: 'error', title: 'cannot read rule file' },
  EQL4002: { severity: 'error', title: 'invalid rule file' },
  EQL4003: { severity: 'info', title: 'not an EQL rule; skipped' },
  EQL4004: { severity: 'error', title: 'rule has no query' },
  // mappings
  EQL4101: { severity: 'error', title: 'invalid mapping file' },
  EQL4140: { severity: 'error', title: 'S1QL mapping names an unknown transform' },
  // replay and the native matcher
  EQL6001: { severity: 'error', title: 'expression cannot be evaluated' },
  EQL6002: { severity: 'warning', title: 'pending sequences capped' },
  EQL6003: { severity: 'warning', title: 'events without timestamp skipped' },
  EQL6004: { severity: 'error', title: 'cannot read events' },
  EQL6005: { severity: 'warning', title: 'invalid event skipped' },
} as const satisfies Record<string, { severity: Severity; title: string }>;

export type DiagCode = keyof typeof CODES | `EQL${number}`;

export interface Diagnostic {
  code: DiagCode;
  severity: Severity;
  message: string;
  /** Span in the query text. */
  span?: Span;
  /** Position in the file (1-based), when known; falls back to the span. */
  line?: number;
  column?: number;
  file?: string;
}

export function diag(code: keyof typeof CODES, message: string, span?: Span, severity?: Severity): Diagnostic {
  return { code, severity: severity ?? CODES[code].severity, message, ...(span ? { span } : {}) };
}

export const hasErrors = (diags: readonly Diagnostic[]) => diags.some((d) => d.severity === 'error');

/** Where the query text starts inside its file, so spans can be reported as file positions. */
export interface Origin {
  line: number;
  column: number;
  /** True when the query text appears verbatim in the file, so every span maps exactly. */
  exact: boolean;
  /** File position of a query offset, when the query sits in an escaped string (TOML "...", JSON). */
  at?: (offset: number) => { line: number; column: number };
}

/** Place a query-relative diagnostic in its file. */
export function locate(d: Diagnostic, origin: Origin | null, file?: string): Diagnostic {
  const out: Diagnostic = { ...d, ...(file ? { file } : {}) };
  if (d.span) {
    const { line, column } = d.span.start;
    if (!origin) Object.assign(out, { line, column });
    else if (origin.at) Object.assign(out, origin.at(d.span.start.offset));
    else if (origin.exact) Object.assign(out, { line: origin.line + line - 1, column: line === 1 ? origin.column + column - 1 : column });
    else Object.assign(out, { line: origin.line, column: origin.column });
  } else if (origin && out.line === undefined) Object.assign(out, { line: origin.line, column: origin.column });
  return out;
}

/** Compiler-style rendering: `file:line:col: severity CODE: message`, then the query line and a caret. */
export function formatDiagnostic(d: Diagnostic, query?: string): string {
  const where = [d.file, d.line, d.column].filter((x) => x !== undefined).join(':');
  const head = `${where ? where + ': ' : ''}${d.severity} ${d.code}: ${d.message}`;
  if (!d.span || query === undefined) return head;
  const lines = query.split('\n');
  const { line, column } = d.span.start;
  const text = (lines[line - 1] ?? '').replace(/\t/g, ' ');
  const sameLine = d.span.end.line === line;
  const width = Math.max(1, sameLine ? d.span.end.column - column : text.length - column + 1);
  // Long value lists would flood the terminal: show a window around the caret.
  const MAX = 160;
  let shown = text;
  let caretCol = column - 1;
  if (text.length > MAX) {
    const from = Math.max(0, caretCol - 40);
    shown = (from > 0 ? '…' : '') + text.slice(from, from + MAX) + (from + MAX < text.length ? '…' : '');
    caretCol = caretCol - from + (from > 0 ? 1 : 0);
  }
  const caret = ' '.repeat(caretCol) + '^' + '~'.repeat(Math.min(width - 1, Math.max(0, shown.length - caretCol - 1)));
  return `${head}\n  ${shown}\n  ${caret}`;
}

/** A diagnostic as the JSON contracts of `check` and `convert` spell it. */
export function jsonDiagnostic(d: Diagnostic) {
  return { code: d.code, severity: d.severity, message: d.message, line: d.line ?? 1, column: d.column ?? 1 };
}
