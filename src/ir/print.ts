// Canonical EQL printer: the IR back to Elasticsearch EQL text (`eqlport fmt`). parse(print(q)) equals q.
import type * as N from './nodes.js';

const KEYWORDS = new Set([
  'and', 'any', 'by', 'false', 'in', 'join', 'like', 'maxspan', 'not', 'null', 'of', 'or', 'regex', 'sample',
  'sequence', 'true', 'until', 'where', 'with',
]);
const IDENT = /^[A-Za-z_@][A-Za-z0-9_]*$/;

export function printString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0) || cp === 0x2028 || cp === 0x2029)
      out += `\\u{${cp.toString(16).padStart(2, '0')}}`;
    else out += ch;
  }
  return out + '"';
}

/** An integer in plain digits: String() would switch to exponent form (1e+21), which reads back as a float. */
function printInteger(n: number): string {
  return Number.isFinite(n) && !Number.isSafeInteger(n) ? BigInt(n).toString() : String(n);
}

function printNumber(l: N.Literal): string {
  const v = l.value as number;
  if (l.type === 'integer') return printInteger(v);
  const s = String(v);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

export function printLiteral(l: N.Literal): string {
  if (l.type === 'string') return printString(l.value as string);
  if (l.type === 'null') return 'null';
  if (l.type === 'boolean') return String(l.value);
  return printNumber(l);
}

function printName(seg: string): string {
  return IDENT.test(seg) && !KEYWORDS.has(seg) ? seg : '`' + seg.replace(/`/g, '``') + '`';
}

export function printField(f: N.Field): string {
  let out = f.optional ? '?' : '';
  f.path.forEach((seg, i) => {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += (i ? '.' : '') + printName(seg);
  });
  return out;
}

// Binding strength: a child printed where a stronger one is required gets parentheses.
const enum P {
  Or = 1,
  And = 2,
  Not = 3,
  Predicate = 4,
  Additive = 5,
  Multiplicative = 6,
  Unary = 7,
  Primary = 8,
}

function precedence(e: N.Expr): P {
  switch (e.kind) {
    case 'Or':
      return P.Or;
    case 'And':
      return P.And;
    case 'Not':
      return e.arg.kind === 'In' || e.arg.kind === 'Exists' ? P.Predicate : P.Not;
    case 'Compare':
    case 'Exists':
    case 'In':
    case 'Match':
      return P.Predicate;
    case 'Arith':
      return e.op === '+' || e.op === '-' ? P.Additive : P.Multiplicative;
    case 'Neg':
      return P.Unary;
    case 'Literal':
      // A negative number reads back as unary minus applied to a literal.
      return typeof e.value === 'number' && e.value < 0 ? P.Unary : P.Primary;
    default:
      return P.Primary;
  }
}

function wrap(e: N.Expr, min: P): string {
  const s = printExpr(e);
  return precedence(e) < min ? `(${s})` : s;
}

/** A value list on one line, or one value per line when that line would be long. */
function list(items: string[]): string {
  const flat = `(${items.join(', ')})`;
  return flat.length <= 100 ? flat : `(\n    ${items.join(',\n    ')}\n  )`;
}

export function printExpr(e: N.Expr): string {
  switch (e.kind) {
    case 'Literal':
      return printLiteral(e);
    case 'Field':
      return printField(e);
    case 'Arith': {
      const p = precedence(e);
      return `${wrap(e.left, p)} ${e.op} ${wrap(e.right, (p + 1) as P)}`;
    }
    case 'Neg':
      return `-${wrap(e.arg, P.Unary)}`;
    case 'Call':
      return `${e.name}${e.caseInsensitive ? '~' : ''}(${e.args.map(printExpr).join(', ')})`;
    case 'Compare':
      return `${wrap(e.left, P.Additive)} ${e.op} ${wrap(e.right, P.Additive)}`;
    case 'Exists':
      return `${wrap(e.arg, P.Additive)} != null`;
    case 'In':
      return `${wrap(e.arg, P.Additive)} in${e.caseInsensitive ? '~' : ''} ${list(e.values.map((v) => wrap(v, P.Additive)))}`;
    case 'Match': {
      const pats = e.patterns.map((p) => printString(p.value));
      return `${wrap(e.arg, P.Additive)} ${e.op} ${pats.length === 1 ? pats[0] : list(pats)}`;
    }
    case 'Not':
      if (e.arg.kind === 'Exists') return `${wrap(e.arg.arg, P.Additive)} == null`;
      if (e.arg.kind === 'In') {
        const i = e.arg;
        return `${wrap(i.arg, P.Additive)} not in${i.caseInsensitive ? '~' : ''} ${list(i.values.map((v) => wrap(v, P.Additive)))}`;
      }
      return `not ${wrap(e.arg, P.Not)}`;
    case 'And':
      return e.args.map((a) => wrap(a, (P.And + 1) as P)).join(' and ');
    case 'Or':
      return e.args.map((a) => wrap(a, (P.Or + 1) as P)).join(' or ');
  }
}

function printCategory(c: string | null): string {
  if (c === null) return 'any';
  return IDENT.test(c) && !KEYWORDS.has(c) ? c : printString(c);
}

/** A condition with its top-level `and` terms on separate lines, which is how rules are usually written. */
function printWhere(e: N.Expr, indent: string): string {
  if (e.kind !== 'And') return printExpr(e);
  return e.args.map((a) => wrap(a, (P.And + 1) as P)).join(` and\n${indent}`);
}

export function printFilter(f: N.EventFilter, indent = '  '): string {
  return `${printCategory(f.category)} where ${printWhere(f.where, indent)}`;
}

const keys = (by: readonly N.Expr[]) => by.map((k) => wrap(k, P.Additive)).join(', ');

function printStep(s: N.SequenceStep | N.SampleStep): string {
  const missing = s.kind === 'SequenceStep' && s.missing;
  let out = `${missing ? '!' : ''}[${printFilter(s.filter, '     ')}]`;
  if (s.by.length) out += ` by ${keys(s.by)}`;
  if (s.kind === 'SequenceStep' && s.runs !== null) out += ` with runs=${printInteger(s.runs)}`;
  return out;
}

export function printQuery(q: N.Query): string {
  const b = q.body;
  let out: string;
  switch (b.kind) {
    case 'EventQuery':
      out = printFilter(b.filter);
      break;
    case 'Sequence':
      out = 'sequence';
      if (b.by.length) out += ` by ${keys(b.by)}`;
      if (b.maxspan) out += ` with maxspan=${printInteger(b.maxspan.value)}${b.maxspan.unit}`;
      for (const s of b.steps) out += `\n  ${printStep(s)}`;
      if (b.until) out += `\nuntil ${printStep(b.until)}`;
      break;
    case 'Sample':
      out = 'sample';
      if (b.by.length) out += ` by ${keys(b.by)}`;
      for (const s of b.steps) out += `\n  ${printStep(s)}`;
      break;
  }
  for (const p of q.pipes) out += `\n| ${p.name}${p.count !== null ? ` ${printInteger(p.count)}` : p.raw ? ` ${p.raw}` : ''}`;
  return out;
}
