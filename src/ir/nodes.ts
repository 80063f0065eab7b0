// The IR: one tree of discriminated unions shared by every backend.
// Nodes are plain frozen objects; every node carries the span of the EQL text it came from.
// Spans take no part in equality (see equal.ts).

export interface Pos {
  offset: number;
  line: number;
  column: number;
}
export interface Span {
  start: Pos;
  end: Pos;
}

// ---------------------------------------------------------------- values

export type LiteralValue = string | number | boolean | null;
export type LiteralType = 'string' | 'integer' | 'float' | 'boolean' | 'null';

export interface Literal {
  kind: 'Literal';
  type: LiteralType;
  value: LiteralValue;
  span: Span;
}

/** A field reference. `path` holds the segments (a backticked segment may contain dots); numbers are array indexes. */
export interface Field {
  kind: 'Field';
  path: readonly (string | number)[];
  /** Dotted name as events and mappings spell it (`process.parent.args`). */
  name: string;
  optional: boolean;
  span: Span;
}

export type ArithOp = '+' | '-' | '*' | '/' | '%';
export interface Arith {
  kind: 'Arith';
  op: ArithOp;
  left: Expr;
  right: Expr;
  span: Span;
}
export interface Neg {
  kind: 'Neg';
  arg: Expr;
  span: Span;
}

/** Canonical names of the Elasticsearch EQL functions. */
export type FunctionName =
  | 'add'
  | 'between'
  | 'cidrMatch'
  | 'concat'
  | 'divide'
  | 'endsWith'
  | 'indexOf'
  | 'length'
  | 'modulo'
  | 'multiply'
  | 'number'
  | 'startsWith'
  | 'string'
  | 'stringContains'
  | 'substring'
  | 'subtract';

export interface Call {
  kind: 'Call';
  /** Canonical name when known; otherwise the name as written (validation reports it). */
  name: FunctionName | string;
  known: boolean;
  caseInsensitive: boolean;
  args: readonly Expr[];
  span: Span;
}

// ---------------------------------------------------------------- conditions

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export interface Compare {
  kind: 'Compare';
  op: CompareOp;
  left: Expr;
  right: Expr;
  span: Span;
}

/** `x != null` is Exists(x); `x == null` is Not(Exists(x)). Neither is ever null. */
export interface Exists {
  kind: 'Exists';
  arg: Expr;
  span: Span;
}

/** `x in (...)` / `x in~ (...)`: exact membership, wildcards taken literally. `not in` is Not(In). */
export interface In {
  kind: 'In';
  arg: Expr;
  values: readonly Expr[];
  caseInsensitive: boolean;
  span: Span;
}

/** A string pattern analysed once, so no backend re-parses it. `value` is the pattern text as written (decoded). */
export type Pattern =
  | { kind: 'exact'; value: string; text: string; span: Span }
  | { kind: 'prefix'; value: string; text: string; span: Span }
  | { kind: 'suffix'; value: string; text: string; span: Span }
  | { kind: 'contains'; value: string; text: string; span: Span }
  | { kind: 'glob'; value: string; parts: readonly GlobPart[]; span: Span }
  | { kind: 'regex'; value: string; span: Span };
// For exact/prefix/suffix/contains, `text` is the literal part without the wildcards.

export type GlobPart = { t: 'lit'; v: string } | { t: 'any' } | { t: 'one' };

export type MatchOp = ':' | 'like' | 'like~' | 'regex' | 'regex~';
/** `:`, `like`, `like~`, `regex`, `regex~` against one pattern or a list (ORed). */
export interface Match {
  kind: 'Match';
  op: MatchOp;
  arg: Expr;
  patterns: readonly Pattern[];
  caseInsensitive: boolean;
  span: Span;
}

export interface Not {
  kind: 'Not';
  arg: Expr;
  span: Span;
}
export interface And {
  kind: 'And';
  args: readonly Expr[];
  span: Span;
}
export interface Or {
  kind: 'Or';
  args: readonly Expr[];
  span: Span;
}

export type Expr = Literal | Field | Arith | Neg | Call | Compare | Exists | In | Match | Not | And | Or;

// ---------------------------------------------------------------- queries

export interface Duration {
  value: number;
  unit: 'ms' | 's' | 'm' | 'h' | 'd';
  ms: number;
  span: Span;
}

/** `<category> where <cond>`; category null means `any`. */
export interface EventFilter {
  kind: 'EventFilter';
  category: string | null;
  where: Expr;
  span: Span;
}

export interface SequenceStep {
  kind: 'SequenceStep';
  filter: EventFilter;
  /** Keys of this step only; the sequence's own `by` keys come first at evaluation. */
  by: readonly Expr[];
  runs: number | null;
  missing: boolean;
  span: Span;
}

export interface EventQuery {
  kind: 'EventQuery';
  filter: EventFilter;
  span: Span;
}

export interface Sequence {
  kind: 'Sequence';
  by: readonly Expr[];
  maxspan: Duration | null;
  steps: readonly SequenceStep[];
  until: SequenceStep | null;
  span: Span;
}

export interface SampleStep {
  kind: 'SampleStep';
  filter: EventFilter;
  by: readonly Expr[];
  span: Span;
}
export interface Sample {
  kind: 'Sample';
  by: readonly Expr[];
  steps: readonly SampleStep[];
  span: Span;
}

export type Body = EventQuery | Sequence | Sample;

export interface Pipe {
  kind: 'Pipe';
  /** `head` and `tail` are Elasticsearch's; anything else is recognised so it can be rejected clearly. */
  name: string;
  count: number | null;
  /** Raw argument text of a pipe Elasticsearch does not support. */
  raw: string;
  span: Span;
}

export interface Query {
  kind: 'Query';
  body: Body;
  pipes: readonly Pipe[];
  span: Span;
}

export type Node = Expr | EventFilter | SequenceStep | SampleStep | Body | Pipe | Query;
export type ExprKind = Expr['kind'];
/** Exhaustive handler table over expression kinds: adding a kind breaks every table until handled. */
export type ExprHandlers<R, C = void> = { [K in ExprKind]: (node: Extract<Expr, { kind: K }>, ctx: C) => R };
