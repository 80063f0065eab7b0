// IR → closures, compiled once per query. Two modes, as Elasticsearch evaluates a `where` clause
// (docs/null-semantics.md): a *predicate* (and/or/not are two-valued over atoms) and, inside each atom, a
// *value* (three-valued, per binding of the atom's field occurrences). An atom is true iff some combination
// of values of its field occurrences (each occurrence loops independently; a missing field is one null)
// makes it true.
import { diag, type Diagnostic } from '../diagnostics.js';
import type { Call, EventFilter, Expr, Field, Pattern } from '../ir/nodes.js';
import { walk } from '../ir/walk.js';
import { luceneToRe2 } from './regex.js';
import { regex } from './runtime-regex.js';
import * as R from './runtime.js';
import type { Ev, Key, Val } from './runtime.js';

export type Pred = (ev: Ev) => boolean;
type ValueFn = (slots: Val[]) => Val;

export interface CompileContext {
  diagnostics: Diagnostic[];
}

/** Path segments for field lookup: backticked segments with dots count like dotted segments. */
export function fieldPath(f: Field): (string | number)[] {
  return f.path.flatMap((s): (string | number)[] => (typeof s === "number" ? [s] : s.split(".")));
}

/** The predicate of one event filter: category (exact, any element) and condition. */
export function compileFilter(filter: EventFilter, categoryField: string, ctx: CompileContext): Pred {
  const where = compilePred(filter.where, ctx);
  if (filter.category === null) return where;
  const cat = filter.category;
  const path = categoryField.split('.');
  return (ev) => {
    const vals = R.fieldValues(ev, path);
    for (let i = 0; i < vals.length; i++) if (vals[i] === cat) return where(ev);
    return false;
  };
}

export function compilePred(e: Expr, ctx: CompileContext): Pred {
  switch (e.kind) {
    case 'And': {
      const args = e.args.map((a) => compilePred(a, ctx));
      if (args.length === 2) {
        const [a, b] = args as [Pred, Pred];
        return (ev) => a(ev) && b(ev);
      }
      return (ev) => args.every((p) => p(ev));
    }
    case 'Or': {
      const args = e.args.map((a) => compilePred(a, ctx));
      return (ev) => args.some((p) => p(ev));
    }
    case 'Not': {
      const p = compilePred(e.arg, ctx);
      return (ev) => !p(ev);
    }
    case 'Compare':
      // `!=` is Not(Equals): a plain complement (null-semantics.md Q2), true when the field is missing.
      if (e.op === '!=') {
        const equals = atom({ ...e, op: '==' }, ctx, (v) => v === true);
        return (ev) => !equals(ev);
      }
      return atom(e, ctx, (v) => v === true);
    case 'Exists': {
      // `x != null`: no binding makes x null (ES IsNotNull / `not(any isNull(...))`, rows N2 and S3).
      const someNull = atom(e.arg, ctx, (v) => v === null);
      return (ev) => !someNull(ev);
    }
    default:
      return atom(e, ctx, (v) => v === true);
  }
}

/** Compile an atom: true iff some binding of its field occurrences gives a value accepted by `accept`. */
function atom(e: Expr, ctx: CompileContext, accept: (v: Val) => boolean): Pred {
  const fields: Field[] = [];
  for (const x of walk(e)) if (x.kind === 'Field') fields.push(x);
  const slotOf = new Map<Field, number>(fields.map((f, i) => [f, i]));
  const value = compileValue(e, slotOf, ctx);
  const slots: Val[] = new Array<Val>(fields.length).fill(null);
  if (fields.length === 0) {
    const v = accept(value(slots));
    return () => v;
  }
  const paths = fields.map(fieldPath);
  if (fields.length === 1) {
    const path = paths[0]!;
    return (ev) => {
      const vals = R.slotValues(ev, path);
      for (let i = 0; i < vals.length; i++) {
        slots[0] = vals[i]!;
        if (accept(value(slots))) return true;
      }
      return false;
    };
  }
  return (ev) => {
    const all = paths.map((p) => R.slotValues(ev, p));
    const loop = (k: number): boolean => {
      if (k === all.length) return accept(value(slots));
      for (const v of all[k]!) {
        slots[k] = v;
        if (loop(k + 1)) return true;
      }
      return false;
    };
    return loop(0);
  };
}

const hasField = (e: Expr) => {
  for (const x of walk(e)) if (x.kind === 'Field') return true;
  return false;
};

/** Whether an expression has Elasticsearch type double (a float literal somewhere in its arithmetic). */
export function isFloat(e: Expr): boolean {
  switch (e.kind) {
    case 'Literal':
      return e.type === 'float';
    case 'Arith':
      return isFloat(e.left) || isFloat(e.right);
    case 'Neg':
      return isFloat(e.arg);
    case 'Call':
      return ['add', 'subtract', 'multiply', 'divide', 'modulo'].includes(e.name) && e.args.some(isFloat);
    default:
      return false;
  }
}

const FLIP = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==', '!=': '!=' } as const;
const ARITH_FN = { add: '+', subtract: '-', multiply: '*', divide: '/', modulo: '%' } as const;

function compileValue(e: Expr, slotOf: Map<Field, number>, ctx: CompileContext): ValueFn {
  const sub = (x: Expr) => compileValue(x, slotOf, ctx);
  switch (e.kind) {
    case 'Literal': {
      const v = e.value;
      return () => v;
    }
    case 'Field': {
      const i = slotOf.get(e)!;
      return (s) => s[i]!;
    }
    case 'Arith': {
      const l = sub(e.left);
      const r = sub(e.right);
      const op = e.op;
      const float = isFloat(e);
      return (s) => R.arith(op, l(s), r(s), float);
    }
    case 'Neg': {
      const a = sub(e.arg);
      return (s) => R.neg(a(s));
    }
    case 'Compare': {
      // The field side goes first so a literal is converted to the field's type (see R.eq).
      const swap = !hasField(e.left) && hasField(e.right);
      const l = sub(swap ? e.right : e.left);
      const r = sub(swap ? e.left : e.right);
      const op = swap ? FLIP[e.op] : e.op;
      switch (op) {
        case '==':
          return (s) => R.eq(l(s), r(s));
        case '!=':
          return (s) => R.not3(R.eq(l(s), r(s)));
        case '<':
          return (s) => R.lt(l(s), r(s));
        case '<=':
          return (s) => R.le(l(s), r(s));
        case '>':
          return (s) => R.gt(l(s), r(s));
        case '>=':
          return (s) => R.ge(l(s), r(s));
      }
    }
    case 'Exists': {
      const a = sub(e.arg);
      return (s) => a(s) !== null;
    }
    case 'In': {
      const a = sub(e.arg);
      // `null` entries are dropped (ES InComparisons skips them).
      const values = e.values.filter((v) => !(v.kind === 'Literal' && v.value === null)).map(sub);
      const cmp = e.caseInsensitive ? R.eqCi : R.eq;
      return (s) => {
        const x = a(s);
        if (x === null) return null;
        for (const v of values) if (cmp(x, v(s)) === true) return true;
        return false;
      };
    }
    case 'Match': {
      const a = sub(e.arg);
      const tests = e.patterns.map((p) => patternTest(p, e.op === 'regex' || e.op === 'regex~', e.caseInsensitive, ctx));
      return (s) => {
        const x = a(s);
        if (x === null) return null;
        const text = typeof x === 'string' ? x : String(x);
        for (const t of tests) if (t(text)) return true;
        return false;
      };
    }
    case 'Not': {
      const a = sub(e.arg);
      return (s) => R.not3(a(s));
    }
    case 'And': {
      const args = e.args.map(sub);
      return (s) => args.reduce<Val>((acc, f) => (acc === false ? false : R.and3(acc, f(s))), true);
    }
    case 'Or': {
      const args = e.args.map(sub);
      return (s) => args.reduce<Val>((acc, f) => (acc === true ? true : R.or3(acc, f(s))), false);
    }
    case 'Call':
      return compileCall(e, sub, ctx);
  }
}

function patternTest(p: Pattern, isRegex: boolean, ci: boolean, ctx: CompileContext): (s: string) => boolean {
  if (isRegex) {
    const t = luceneToRe2(p.value, ci);
    if (!t.ok) {
      ctx.diagnostics.push(diag('EQL2013', `cannot run regular expression ${JSON.stringify(p.value)}: ${t.message}`, p.span));
      return () => false;
    }
    return regex(t.re2);
  }
  return R.glob(p.value, ci);
}

function compileCall(e: Call, sub: (x: Expr) => ValueFn, ctx: CompileContext): ValueFn {
  const args = e.args.map(sub);
  const [a, b, c, d] = args;
  const ci = e.caseInsensitive;
  const opt = (f: ValueFn | undefined): ValueFn => f ?? (() => null);
  switch (e.name) {
    case 'add':
    case 'subtract':
    case 'multiply':
    case 'divide':
    case 'modulo': {
      const op = ARITH_FN[e.name];
      const float = isFloat(e);
      return (s) => R.arith(op, a!(s), b!(s), float);
    }
    case 'between': {
      const g = opt(d);
      return (s) => R.between(a!(s), b!(s), c!(s), g(s), ci);
    }
    case 'cidrMatch': {
      const blocks: R.Cidr[] = [];
      for (const x of e.args.slice(1)) {
        const block = x.kind === 'Literal' && typeof x.value === 'string' ? R.parseCidr(x.value) : null;
        if (block) blocks.push(block);
        else ctx.diagnostics.push(diag('EQL2014', 'cidrMatch needs CIDR blocks as string literals', x.span));
      }
      return (s) => R.cidrMatch(a!(s), blocks);
    }
    case 'concat':
      return (s) => R.concat(args.map((f) => f(s)));
    case 'endsWith':
      return (s) => R.endsWith(a!(s), b!(s), ci);
    case 'startsWith':
      return (s) => R.startsWith(a!(s), b!(s), ci);
    case 'stringContains':
      return (s) => R.stringContains(a!(s), b!(s), ci);
    case 'indexOf': {
      const from = opt(c);
      return (s) => R.indexOf(a!(s), b!(s), from(s), ci);
    }
    case 'length':
      return (s) => R.length(a!(s));
    case 'number': {
      const base = opt(b);
      return (s) => R.number(a!(s), base(s));
    }
    case 'string':
      return (s) => R.str(a!(s));
    case 'substring': {
      const end = opt(c);
      return (s) => R.substring(a!(s), b!(s), end(s));
    }
    default:
      ctx.diagnostics.push(diag('EQL6001', `function \`${e.name}\` cannot be evaluated`, e.span));
      return () => null;
  }
}

/** Join keys of an event for the given key expressions (see R.joinKeys). */
export function compileKeys(keys: readonly Expr[], ctx: CompileContext): (ev: Ev) => Key[] {
  if (!keys.length) {
    const none: Key[] = [{ id: '[]', vals: [] }];
    return () => none;
  }
  const getters = keys.map((k) => keyValues(k, ctx));
  const optional = keys.map((k) => k.kind === 'Field' && k.optional);
  return (ev) => R.joinKeys(getters.map((g) => g(ev)), optional);
}

function keyValues(k: Expr, ctx: CompileContext): (ev: Ev) => Val[] {
  if (k.kind === 'Field') {
    const path = fieldPath(k);
    return (ev) => R.fieldValues(ev, path);
  }
  // An expression key: every value it takes over the bindings of its fields.
  const out: Val[] = [];
  const collectAll = atom(k, ctx, (v) => {
    out.push(v);
    return false;
  });
  return (ev) => {
    out.length = 0;
    collectAll(ev);
    return [...out];
  };
}
