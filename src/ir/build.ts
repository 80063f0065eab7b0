// Node factories called by the grammar's actions. They only build nodes: all checking is in validate.ts.
import type * as N from './nodes.js';
import { analyseWildcard } from './patterns.js';

interface PeggyLocation {
  start: N.Pos;
  end: N.Pos;
}
const span = (loc: PeggyLocation): N.Span => ({
  start: { offset: loc.start.offset, line: loc.start.line, column: loc.start.column },
  end: { offset: loc.end.offset, line: loc.end.line, column: loc.end.column },
});

const FUNCTIONS: Record<string, N.FunctionName> = Object.fromEntries(
  (
    [
      'add', 'between', 'cidrMatch', 'concat', 'divide', 'endsWith', 'indexOf', 'length', 'modulo',
      'multiply', 'number', 'startsWith', 'string', 'stringContains', 'substring', 'subtract',
    ] as N.FunctionName[]
  ).map((n) => [n.toLowerCase(), n]),
);

export function literal(type: N.LiteralType, value: N.LiteralValue, loc: PeggyLocation): N.Literal {
  return { kind: 'Literal', type, value, span: span(loc) };
}

export function number(text: string, loc: PeggyLocation): N.Literal {
  const isInt = /^[0-9]+$/.test(text);
  return literal(isInt ? 'integer' : 'float', Number(text), loc);
}

export function field(path: (string | number)[], optional: boolean, loc: PeggyLocation): N.Field {
  let name = '';
  for (const seg of path) name += typeof seg === 'number' ? `[${seg}]` : (name ? '.' : '') + seg;
  return { kind: 'Field', path, name, optional, span: span(loc) };
}

export function call(rawName: string, tilde: boolean, args: N.Expr[], loc: PeggyLocation): N.Call {
  const canonical = FUNCTIONS[rawName.toLowerCase()];
  return {
    kind: 'Call',
    name: canonical ?? rawName,
    known: canonical !== undefined,
    caseInsensitive: tilde,
    args,
    span: span(loc),
  };
}

export function neg(arg: N.Expr, loc: PeggyLocation): N.Expr {
  // Fold `-5` into a literal so backends see a negative number, not an expression.
  if (arg.kind === 'Literal' && typeof arg.value === 'number') return literal(arg.type, -arg.value, loc);
  return { kind: 'Neg', arg, span: span(loc) };
}

export function arith(head: N.Expr, tail: [N.ArithOp, N.Expr, PeggyLocation][]): N.Expr {
  return tail.reduce<N.Expr>(
    (left, [op, right, loc]) => ({ kind: 'Arith', op, left, right, span: { start: left.span.start, end: span(loc).end } }),
    head,
  );
}

const isNull = (e: N.Expr) => e.kind === 'Literal' && e.value === null;

export function compare(op: N.CompareOp, left: N.Expr, right: N.Expr, loc: PeggyLocation): N.Expr {
  // `x == null` / `x != null` test presence; they are never null themselves.
  if ((op === '==' || op === '!=') && (isNull(right) || isNull(left)) && !(isNull(left) && isNull(right))) {
    const arg = isNull(right) ? left : right;
    const exists: N.Exists = { kind: 'Exists', arg, span: span(loc) };
    return op === '!=' ? exists : { kind: 'Not', arg: exists, span: span(loc) };
  }
  return { kind: 'Compare', op, left, right, span: span(loc) };
}

export function inList(arg: N.Expr, values: N.Expr[], caseInsensitive: boolean, negated: boolean, loc: PeggyLocation): N.Expr {
  const node: N.In = { kind: 'In', arg, values, caseInsensitive, span: span(loc) };
  return negated ? { kind: 'Not', arg: node, span: span(loc) } : node;
}

export function match(op: N.MatchOp, arg: N.Expr, values: N.Literal[], loc: PeggyLocation): N.Match {
  const regex = op === 'regex' || op === 'regex~';
  const patterns = values.map((v): N.Pattern => {
    const text = String(v.value);
    return regex ? { kind: 'regex', value: text, span: v.span } : analyseWildcard(text, v.span);
  });
  return { kind: 'Match', op, arg, patterns, caseInsensitive: op !== 'like' && op !== 'regex', span: span(loc) };
}

export function not(arg: N.Expr, loc: PeggyLocation): N.Not {
  return { kind: 'Not', arg, span: span(loc) };
}

/** A chain of `and` / `or`, flattened into one n-ary node (nested nodes of the same kind are merged). */
export function junction(kind: 'And' | 'Or', head: N.Expr, tail: N.Expr[], loc: PeggyLocation): N.Expr {
  if (!tail.length) return head;
  const args = [head, ...tail].flatMap((e) => (e.kind === kind ? (e as N.And | N.Or).args : [e]));
  return { kind, args, span: span(loc) };
}

export function duration(value: number, unit: N.Duration['unit'], loc: PeggyLocation): N.Duration {
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit];
  return { value, unit, ms: value * factor, span: span(loc) };
}

export function eventFilter(category: string | null, where: N.Expr, loc: PeggyLocation): N.EventFilter {
  return { kind: 'EventFilter', category, where, span: span(loc) };
}

export function eventQuery(filter: N.EventFilter, loc: PeggyLocation): N.EventQuery {
  return { kind: 'EventQuery', filter, span: span(loc) };
}

export function sequenceStep(filter: N.EventFilter, by: N.Expr[], runs: number | null, missing: boolean, loc: PeggyLocation): N.SequenceStep {
  return { kind: 'SequenceStep', filter, by, runs, missing, span: span(loc) };
}

export function sequence(by: N.Expr[], maxspan: N.Duration | null, steps: N.SequenceStep[], until: N.SequenceStep | null, loc: PeggyLocation): N.Sequence {
  return { kind: 'Sequence', by, maxspan, steps, until, span: span(loc) };
}

export function sampleStep(filter: N.EventFilter, by: N.Expr[], loc: PeggyLocation): N.SampleStep {
  return { kind: 'SampleStep', filter, by, span: span(loc) };
}

export function sample(by: N.Expr[], steps: N.SampleStep[], loc: PeggyLocation): N.Sample {
  return { kind: 'Sample', by, steps, span: span(loc) };
}

export function pipe(name: string, count: number | null, raw: string, loc: PeggyLocation): N.Pipe {
  return { kind: 'Pipe', name, count, raw, span: span(loc) };
}

export function query(body: N.Body, pipes: N.Pipe[], loc: PeggyLocation): N.Query {
  return { kind: 'Query', body, pipes, span: span(loc) };
}
