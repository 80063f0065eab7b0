// Interpreter of the S1QL that the s1ql backend emits (both dialects), for proof by replay. It reads the text
// with its own parser (s1ql-parse.ts) and evaluates it with SentinelOne's documented semantics; it shares no
// operator or escaping table with src/backends/s1ql.ts. Sources: ../shared/research/s1ql-notes.md and
// target-syntax.md §5 (Deep Visibility, "1.0") and §6 (PowerQuery, "2.0").
//
// Semantics implemented, and why:
// - Case. 2.0: `=` and `in` are case-sensitive for strings, `in:anycase` is not (§6.2; SentinelOne's own
//   queries spell out `in:anycase` for equality); plain `contains` is case-insensitive (SentinelOne KB
//   "PowerQuery expression syntax": "`tgt.file.path contains 'temp'` ... case-insensitive", §6.2);
//   `matches` is case-insensitive ("Our regex is case-insensitive", §6.2); `:matchcase` / `:anycase` force
//   the case. 1.0: plain operators are case-sensitive, the `…CIS` / `AnyCase` forms are not (§5.2). The case
//   of 1.0 `RegExp` is undocumented (§5.2); it is read here as case-insensitive like 2.0's regex (the same
//   back end), so a case-sensitive regex in 1.0 matches more, which the emitter must declare.
// - Regex: RE2 syntax, search semantics (a match anywhere). SentinelOne's own `matches '\\sa\\s.*\\s-hp…'`
//   (s1ql-notes.md) only makes sense unanchored.
// - Missing fields: a comparison on a missing (or null) field is false, and `not` is the plain complement,
//   so `not (f = 'x')` holds on an event without `f`. This is the two-valued reading: PowerQuery's `in`
//   "never matches null" (§6.2) says the comparison is false; nothing documents a third, unknown value, and
//   the 1.0 idiom `NOT f EXISTS` / 2.0 `!(f = *)` for "missing" presumes `not` is an ordinary complement.
// - Multi-valued fields (arrays, only in converted ECS events): a comparison holds when any value satisfies it.
import { RE2JS } from 're2js';
import type { EcsEvent } from './generate.js';
import { InterpreterError, Unrepresentable, type Interpreter, type InterpreterContext } from './interpreter.js';
import { parseS1ql, S1qlParseError, type S1qlArith, type S1qlDialect, type S1qlExpr, type S1qlJoin, type S1qlJoinQuery, type S1qlQuery, type S1qlRowExpr, type S1qlValue } from './s1ql-parse.js';
import { fieldValues } from '../matcher/runtime.js';
import { fieldMapping, type EventClass, type FieldMapping, type Mapping } from '../translate/mapping.js';

type Scalar = string | number | boolean;
/** A SentinelOne event: field name (of the dialect) → value. */
/** `timestamp` is a bigint: nanoseconds since epoch are past Number's exact range. */
export type S1Record = Record<string, Scalar | Scalar[] | bigint>;

interface Program {
  query: S1qlQuery;
  dialect: S1qlDialect;
}

const dialectOf = (ctx: InterpreterContext): S1qlDialect => ctx.options.s1qlDialect ?? '2';

// ---- evaluation ------------------------------------------------------------------------------

const regexCache = new Map<string, RE2JS>();
function regexTest(pattern: string, ci: boolean, value: string): boolean {
  const key = `${ci ? 'i' : 'c'}${pattern}`;
  let re = regexCache.get(key);
  if (!re) {
    try {
      re = RE2JS.compile(pattern, ci ? RE2JS.CASE_INSENSITIVE : 0);
    } catch (e) {
      throw new InterpreterError(`invalid regex ${JSON.stringify(pattern)}: ${(e as Error).message}`);
    }
    regexCache.set(key, re);
  }
  return re.matcher(value).find();
}

const lower = (s: string) => s.toLowerCase();

function numberOf(v: Scalar): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return null;
}

/** One stored value against one operator and its operand. */
function holds(op: string, stored: Scalar, operand: S1qlValue, dialect: S1qlDialect): boolean {
  if (operand.kind === 'number' || (['<', '<=', '>', '>='].includes(op) && operand.kind === 'string')) {
    const a = numberOf(stored);
    const b = operand.kind === 'number' ? operand.value : numberOf(operand.value as string);
    if (a === null || b === null) return false;
    switch (op) {
      case '=':
        return a === b;
      case '<':
        return a < b;
      case '<=':
        return a <= b;
      case '>':
        return a > b;
      case '>=':
        return a >= b;
    }
    throw new InterpreterError(`operator ${op} takes no number`);
  }
  const s = String(stored);
  const values = operand.kind === 'list' ? operand.values : [operand.value];
  const any = (f: (v: string) => boolean) => values.some(f);
  // `DstPort = "445"` (1.0 writes numbers quoted): a numeric field compares as a number.
  if (op === '=' && typeof stored === 'number') return any((v) => numberOf(v) === stored);
  const ci = isCaseInsensitive(op, dialect);
  const x = ci ? lower(s) : s;
  const norm = (v: string) => (ci ? lower(v) : v);
  switch (baseOp(op)) {
    case 'eq':
      return any((v) => x === norm(v));
    case 'contains':
      return any((v) => x.includes(norm(v)));
    case 'prefix':
      return any((v) => x.startsWith(norm(v)));
    case 'suffix':
      return any((v) => x.endsWith(norm(v)));
    case 'regex':
      return any((v) => regexTest(v, ci, s));
  }
}

/** The shape of a (lower-cased) operator of either dialect. */
function baseOp(op: string): 'eq' | 'contains' | 'prefix' | 'suffix' | 'regex' {
  if (op === '=' || (op.startsWith('in') && !op.startsWith('in contains'))) return 'eq';
  if (op.startsWith('contains') || op.startsWith('in contains')) return 'contains';
  if (op.startsWith('startswith')) return 'prefix';
  if (op.startsWith('endswith')) return 'suffix';
  if (op.startsWith('matches') || op === 'regexp') return 'regex';
  throw new InterpreterError(`unknown S1QL operator ${op}`);
}

function isCaseInsensitive(op: string, dialect: S1qlDialect): boolean {
  if (dialect === '2') {
    if (op.endsWith(':anycase')) return true;
    if (op.endsWith(':matchcase')) return false;
    // Plain `contains` and `matches` ignore case in 2.0; `=` and `in` do not (see the header).
    return op === 'contains' || op === 'matches';
  }
  return op.endsWith('cis') || op.endsWith('anycase') || op === 'regexp';
}

function valuesOf(rec: S1Record, field: string): Scalar[] {
  const v = rec[field];
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).filter((x) => x !== null && x !== undefined).map((x) => (typeof x === 'bigint' ? Number(x) : x));
}

export function evaluate(e: S1qlExpr, rec: S1Record, dialect: S1qlDialect): boolean {
  switch (e.type) {
    case 'and':
      return e.args.every((a) => evaluate(a, rec, dialect));
    case 'or':
      return e.args.some((a) => evaluate(a, rec, dialect));
    case 'not':
      return !evaluate(e.arg, rec, dialect);
    case 'exists':
      return valuesOf(rec, e.field).length > 0;
    case 'pred':
      // Missing field: false (see the header); any value of a multi-valued field may satisfy it.
      return valuesOf(rec, e.field).some((v) => holds(e.op, v, e.value, dialect));
  }
}

// ---- ECS → SentinelOne records, from mappings/s1ql.yaml ------------------------------------------

const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const ecsValues = (event: EcsEvent, name: string) => fieldValues(event, name.split('.')).filter((v): v is Scalar => v !== null);

/** Whether an ECS event belongs to a class (its `when`: category plus classifying field values). */
function inClass(event: EcsEvent, cls: EventClass): boolean {
  for (const [k, allowed] of Object.entries(cls.when)) {
    if (k === 'category' && allowed === 'any') continue;
    const have = ecsValues(event, k === 'category' ? 'event.category' : k).map(String);
    if (!asList(allowed).some((a) => have.includes(a))) return false;
  }
  return true;
}

/** Windows command-line quoting of one argument (the CommandLineToArgvW rules). */
function quoteArg(a: string): string {
  if (a !== '' && !/[\s"]/.test(a)) return a;
  return '"' + a.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1') + '"';
}

/** An ECS value as the target spells it (`values`; an unlisted value is kept as is), or as a number. */
function spell(m: FieldMapping, v: Scalar): Scalar[] {
  if (m.values) {
    const hit = Object.entries(m.values).find(([k]) => k === String(v));
    if (hit) return asList(hit[1]).slice(0, 1);
    // A boolean S1 spells only when true ("verified", "signed"): false is stored as no such value.
    return m.type === 'boolean' ? [] : [v];
  }
  if (m.type === 'number') {
    const n = numberOf(v);
    return n === null ? [v] : [n];
  }
  return [v];
}

/**
 * What Elastic's pipeline derives from a stored path (file.name, file.extension, file.directory) or from a
 * stored DOMAIN\user (user.name, user.domain: dissected at the first backslash, both the whole value without one).
 */
function derive(transform: string, stored: string): string | null {
  const cut = Math.max(stored.lastIndexOf('\\'), stored.lastIndexOf('/'));
  const base = stored.slice(cut + 1);
  const first = stored.indexOf('\\');
  switch (transform) {
    case 'user':
      return (first < 0 ? stored : stored.slice(first + 1)) || null;
    case 'domain':
      return (first < 0 ? stored : stored.slice(0, first)) || null;
    case 'basename':
      return base || null;
    case 'directory':
      return cut < 0 ? null : stored.slice(0, cut);
    case 'extension':
      return base.includes('.') ? base.slice(base.lastIndexOf('.') + 1) : null;
  }
  return null;
}

/** The S1QL 2.0 fields that select event classes: every S1 event stores them. */
const selectors = (mapping: Mapping) =>
  new Set(mapping.classes.flatMap((c) => { const sel = (c.source as Record<string, { field?: string } | undefined>)['2']; return sel?.field ? [sel.field] : []; }));

/**
 * Why no SentinelOne event gives this ECS event, judged only on fields the rule names: Elastic's pipeline
 * writes the class's own value into a field the class decides (a ProcessCreation always becomes event.action
 * "start" [PAIRS], so an event lacking it, or holding a value outside the class's list, cannot come from S1),
 * an enumerated field holds only the values S1 has, and S1 stores one path, so a field derived from it
 * (file.extension...) has one value.
 */
function impossible(event: EcsEvent, mapping: Mapping, cls: EventClass | null, ruleFields: ReadonlySet<string>): Unrepresentable | null {
  for (const name of ruleFields) {
    const m = fieldMapping(mapping, cls, name);
    if (!m) continue;
    const values = ecsValues(event, name).map(String);
    // A constant marked lossy is a convention, not what the pipeline writes: its absence is possible.
    if (m.constant && ((!values.length && !m.lossy) || values.some((v) => !m.constant!.includes(v))))
      return new Unrepresentable(`${name} of a SentinelOne "${cls?.name ?? 'any'}" event is one of ${m.constant.join(', ')}`);
    if (m.values && m.type !== 'boolean' && values.some((v) => !(v in m.values!)))
      return new Unrepresentable(`SentinelOne has no ${name} value outside ${Object.keys(m.values).join(', ')}`);
    // Every S1 event stores the fields that select classes (event.type, event.category), so their ECS readings exist.
    if (m.values && !values.length && selectors(mapping).has(asList(m.field)[0]!)) return new Unrepresentable(`every SentinelOne event gives ${name}`);
    if (m.transform && m.transform !== 'args' && values.length > 1) return new Unrepresentable(`${name} is derived from the one ${asList(m.field)[0]} SentinelOne stores`);
  }
  return null;
}

/** The record S1 would store for an ECS event; Unrepresentable when the ECS event cannot come from any S1 event. */
function recordFromEcs(event: EcsEvent, mapping: Mapping, dialect: S1qlDialect, ruleFields: ReadonlySet<string>): S1Record | Unrepresentable | null {
  // ECS's allowed values of event.category and event.type are lowercase (ECS categorization fields).
  const odd = ['event.category', 'event.type'].flatMap((f) => ecsValues(event, f).map(String)).find((v) => v !== v.toLowerCase());
  if (odd !== undefined) return new Unrepresentable(`${JSON.stringify(odd)} is not one of ECS's lowercase categorization values`);
  const rec: S1Record = {};
  const classes = mapping.classes.filter((c) => inClass(event, c));
  const primary = classes[0] ?? null;
  const never = impossible(event, mapping, primary, ruleFields);
  if (never) return never;
  // The event-type / object-type fields of every class the event belongs to.
  for (const c of classes) {
    const sel = (c.source as Record<string, unknown>)[dialect] as { field: string; values: string[] } | undefined;
    if (sel && typeof sel === 'object') rec[sel.field] ??= sel.values[0]!;
  }
  const names = new Set([...Object.keys(mapping.fields), ...Object.keys(primary?.fields ?? {})]);
  const derived: { target: string; transform: string; values: Scalar[] }[] = [];
  const put = (target: string, values: Scalar[]) => {
    if (values.length && rec[target] === undefined) rec[target] = values.length === 1 ? values[0]! : values;
  };
  let disagreeing: Unrepresentable | null = null;
  const apply = (cls: EventClass | null, ecsNames: Iterable<string>) => {
    for (const name of ecsNames) {
      const m = fieldMapping(mapping, cls, name);
      if (!m || m.constant) continue;
      const values = ecsValues(event, name);
      if (!values.length) continue;
      const target = asList(m.field)[0]!;
      // S1 stores one value where two enumerated ECS fields read it (an IPConnect's direction gives both
      // network.direction and event.action): an ECS event in which they disagree comes from no S1 event.
      const had = rec[target];
      if (m.values && m.type !== 'boolean' && had !== undefined && !values.some((v) => asList(m.values![String(v)] ?? v).some((s) => asList(had).includes(s))))
        disagreeing ??= new Unrepresentable(`${name} and another field S1 stores in ${target} disagree`);
      if (m.transform) derived.push({ target, transform: m.transform, values });
      else put(target, values.flatMap((v) => spell(m, v)));
    }
  };
  apply(primary, names);
  // A class-free reading (the `any` class) for the fields every S1 event carries, e.g. event.category.
  for (const c of classes) if (c !== primary && c.when.category === 'any') apply(c, Object.keys(c.fields ?? {}));
  if (disagreeing) return disagreeing;
  // Derived ECS fields rebuild the stored field when its own ECS field is absent; when it is present they
  // must agree with it, or no SentinelOne event corresponds to the ECS one.
  for (const target of new Set(derived.map((d) => d.target))) {
    const part = (t: string) => derived.find((d) => d.target === target && d.transform === t)?.values.map(String);
    const stored = rec[target];
    if (stored !== undefined) {
      const paths = asList(stored).map(String);
      for (const d of derived.filter((x) => x.target === target)) {
        // An argument is in the command line up to the quotes that splitting removed.
        const ok = (v: Scalar) => paths.some((p) => (d.transform === 'args' ? p.replace(/"/g, '').includes(String(v).replace(/"/g, '')) : derive(d.transform, p) === String(v)));
        if (!d.values.every(ok)) return new Unrepresentable(`${d.transform} of ${target} disagrees with the stored value`);
      }
      continue;
    }
    const args = part('args');
    if (args) {
      put(target, [args.map(quoteArg).join(' ')]);
      continue;
    }
    const [user, domain] = [part('user')?.[0], part('domain')?.[0]];
    if (user !== undefined || domain !== undefined) {
      // A part the event lacks is left empty when the rule names it (`D\\`, `\\u`): the pipeline dissects no value
      // from an empty part, so this is the stored value that gives the event, and a probe of that edge.
      const built =
        domain !== undefined ? `${domain}\\${user ?? (ruleFields.has('user.name') ? '' : 'user')}`
        : ruleFields.has('user.domain') ? `\\${user}`
        : user!.includes('\\') ? `DOMAIN\\${user}` : user!;
      // A domain holding a backslash, or an empty part, is not what the pipeline dissects out of any value.
      if (derived.some((d) => d.target === target && !d.values.every((v) => derive(d.transform, built) === String(v)))) return new Unrepresentable(`no stored ${target} gives this user name and domain`);
      put(target, [built]);
      continue;
    }
    const dir = part('directory')?.[0];
    const ext = part('extension')?.[0];
    // A name and an extension given separately must agree: the path rebuilt from them holds only one.
    if (ext !== undefined && part('basename')?.some((b) => derive('extension', b) !== ext)) return new Unrepresentable(`the extension of ${target} disagrees with its name`);
    const bases = part('basename') ?? [ext !== undefined ? `file.${ext}` : 'file'];
    const sep = dir?.includes('/') || bases.some((b) => b.includes('/')) ? '/' : '\\';
    put(target, bases.map((b) => `${dir ?? (sep === '/' ? '/tmp' : 'C:\\Temp')}${sep}${b}`));
  }
  // Elastic's pipeline derives name, extension and directory from a stored path whenever the path has them.
  for (const name of ruleFields) {
    const m = fieldMapping(mapping, primary, name);
    const stored = m?.transform && m.transform !== 'args' && !ecsValues(event, name).length ? rec[asList(m.field)[0]!] : undefined;
    if (stored !== undefined && asList(stored).some((p) => !!derive(m!.transform!, String(p)))) return new Unrepresentable(`${name} is missing though the stored path gives it`);
    // ...and an enumerated field from the stored value it spells (an IPConnect's event.action from its direction).
    const spelled = m?.values && m.type !== 'boolean' && !m.constant && !ecsValues(event, name).length ? rec[asList(m.field)[0]!] : undefined;
    if (spelled !== undefined && Object.values(m!.values!).some((v) => asList(v).some((x) => asList(spelled).includes(x)))) return new Unrepresentable(`${name} is missing though the stored ${asList(m!.field)[0]} gives it`);
  }
  if (dialect === '2') {
    // Every event carries `timestamp`, in nanoseconds since epoch (PowerQuery skill functions-reference.md §9).
    const ms = ecsValues(event, '@timestamp').map((v) => Date.parse(String(v)))[0];
    if (ms !== undefined && !Number.isNaN(ms)) rec.timestamp = BigInt(ms) * 1_000_000n;
    return rec;
  }
  const renames = (mapping.settings.dialect1_fields ?? {}) as Record<string, string>;
  const dv: S1Record = {};
  const dvNames = new Set(Object.values(renames));
  for (const [k, v] of Object.entries(rec)) {
    const n = renames[k] ?? (dvNames.has(k) ? k : null);
    if (n !== null) dv[n] ??= v;
  }
  return dv;
}

/** A Cloud Funnel record (flat 2.0 field names) as the dialect stores it. */
function recordFromVendor(raw: Record<string, unknown>, mapping: Mapping, dialect: S1qlDialect): S1Record {
  const rec: S1Record = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') rec[k] = v;
  if (dialect === '2') return rec;
  // 1.0 names; the event type in the 1.0 spelling of the class that lists the 2.0 one.
  const renames = (mapping.settings.dialect1_fields ?? {}) as Record<string, string>;
  const dv: S1Record = {};
  for (const [k, v] of Object.entries(rec)) if (renames[k]) dv[renames[k]!] = v;
  for (const c of mapping.classes) {
    const src = c.source as Record<string, { field: string; values: string[] } | undefined>;
    const [two, one] = [src['2'], src['1']];
    if (!two || !one || typeof two !== 'object' || typeof one !== 'object') continue;
    const stored = rec[two.field];
    if (typeof stored === 'string' && two.values.includes(stored)) dv[one.field] = one.values[0]!;
  }
  return dv;
}

// ---- PowerQuery joins ----------------------------------------------------------------------------
// Semantics (SentinelOne PowerQuery skill, pmoses-s1/claude-skills@b6c2270 sentinelone-powerquery/references/):
// - `sql inner join` gives all matching pairs and takes exactly 2 subqueries (commands-reference.md §9); a
//   subquery's rows hold only the columns its `columns` command names (SKILL.md grammar: `columns` makes a new
//   record set), or a nested join's columns. Join keys must exist on both sides under the same name
//   (`on k`); a null key matches a null key ("Null allowed as match", documented for `inner`, taken to hold
//   for `sql inner` too: the reading that matches more, so a translation relying on it is caught).
// - A column name on both sides other than a key is ambiguous: rejected.
// - Row expressions: integers, `+ -`, comparisons; numbers compare numerically, a null operand makes a
//   comparison false (null behaves like false, SKILL.md rule 8). Integers are exact (timestamps are ns).
// Each row remembers the record it came from, so a joined row is a tuple of event indexes in subquery order.

type Cell = Scalar | bigint | Scalar[] | null;
interface Row {
  cols: Map<string, Cell>;
  from: number[];
}

/** The columns a subquery's rows hold. */
function columnsOf(q: S1qlJoin['sides'][number]['query']): string[] {
  if (q.type === 'select') return q.columns.map((c) => c.name);
  return [...new Set(q.sides.flatMap((s) => columnsOf(s.query)))];
}

function cellKey(c: unknown): string {
  return JSON.stringify(c, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

function arith(a: S1qlArith, cols: Map<string, Cell>): bigint | number | string | boolean | null {
  switch (a.type) {
    case 'int':
      return BigInt(a.text);
    case 'col': {
      if (!cols.has(a.name)) throw new InterpreterError(`unknown column ${a.name}`);
      const v = cols.get(a.name)!;
      return Array.isArray(v) ? null : v;
    }
    case 'arith': {
      const l = arith(a.left, cols);
      const r = arith(a.right, cols);
      if (typeof l === 'bigint' && typeof r === 'bigint') return a.op === '+' ? l + r : l - r;
      const [x, y] = [typeof l === 'bigint' ? Number(l) : l, typeof r === 'bigint' ? Number(r) : r];
      // Arithmetic is NaN unless both sides are numbers (syntax-and-operators.md §8).
      if (typeof x !== 'number' || typeof y !== 'number') return NaN;
      return a.op === '+' ? x + y : x - y;
    }
  }
}

function rowHolds(e: S1qlRowExpr, cols: Map<string, Cell>): boolean {
  switch (e.type) {
    case 'and':
      return e.args.every((a) => rowHolds(a, cols));
    case 'or':
      return e.args.some((a) => rowHolds(a, cols));
    case 'not':
      return !rowHolds(e.arg, cols);
    case 'cmp': {
      const l = arith(e.left, cols);
      const r = arith(e.right, cols);
      if (l === null || r === null) return false;
      let c: number;
      if (typeof l === 'bigint' && typeof r === 'bigint') c = l < r ? -1 : l > r ? 1 : 0;
      else if ((typeof l === 'number' || typeof l === 'bigint') && (typeof r === 'number' || typeof r === 'bigint')) {
        const [x, y] = [Number(l), Number(r)];
        if (Number.isNaN(x) || Number.isNaN(y)) return false;
        c = x < y ? -1 : x > y ? 1 : 0;
      } else if (typeof l === 'string' && typeof r === 'string') c = l < r ? -1 : l > r ? 1 : 0;
      else return false;
      switch (e.op) {
        case '<':
          return c < 0;
        case '<=':
          return c <= 0;
        case '>':
          return c > 0;
        case '>=':
          return c >= 0;
        case '=':
          return c === 0;
        case '!=':
          return c !== 0;
      }
    }
  }
}

/** Columns a row expression reads. */
function exprColumns(e: S1qlRowExpr | S1qlArith, out = new Set<string>()): Set<string> {
  if (e.type === 'col') out.add(e.name);
  else if (e.type === 'arith' || e.type === 'cmp') [e.left, e.right].forEach((x) => exprColumns(x, out));
  else if (e.type === 'and' || e.type === 'or') e.args.forEach((x) => exprColumns(x, out));
  else if (e.type === 'not') exprColumns(e.arg, out);
  return out;
}

/**
 * Rows of a subquery. `early` are conjuncts of the final filter: one whose columns a join's rows already hold is
 * applied there too, which changes no result (joins only add columns and pair rows) but keeps nested joins small.
 */
function subRows(q: S1qlJoin['sides'][number]['query'], records: readonly (S1Record | null)[], dialect: S1qlDialect, early: S1qlRowExpr[]): Row[] {
  if (q.type === 'select') {
    const rows: Row[] = [];
    records.forEach((r, i) => {
      if (!r || !evaluate(q.where, r, dialect)) return;
      rows.push({ cols: new Map(q.columns.map((c) => [c.name, r[c.field] ?? null])), from: [i] });
    });
    return rows;
  }
  if (q.sides.length !== 2) throw new InterpreterError(`\`sql inner join\` takes exactly 2 subqueries, not ${q.sides.length}`);
  const [a, b] = q.sides.map((s) => ({ cols: columnsOf(s.query), rows: subRows(s.query, records, dialect, early) }));
  for (const k of q.on) if (!a!.cols.includes(k) || !b!.cols.includes(k)) throw new InterpreterError(`join key ${k} is not a column of both subqueries`);
  const shared = a!.cols.filter((c) => b!.cols.includes(c) && !q.on.includes(c));
  if (shared.length) throw new InterpreterError(`column ${shared[0]} is on both sides of the join and is not a key`);
  const available = new Set([...a!.cols, ...b!.cols]);
  const here = early.filter((e) => [...exprColumns(e)].every((c) => available.has(c)));
  const byKey = new Map<string, Row[]>();
  for (const r of b!.rows) {
    const k = cellKey(q.on.map((c) => r.cols.get(c)!));
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  const out: Row[] = [];
  for (const l of a!.rows)
    for (const r of byKey.get(cellKey(q.on.map((c) => l.cols.get(c)!))) ?? []) {
      const cols = new Map([...l.cols, ...r.cols]);
      if (here.every((e) => rowHolds(e, cols))) out.push({ cols, from: [...l.from, ...r.from] });
    }
  return out;
}

function runJoinQuery(q: S1qlJoinQuery, records: readonly (S1Record | null)[], dialect: S1qlDialect): { matches: number[][] } {
  const conjuncts = q.filters.flatMap((f) => (f.type === 'and' ? f.args : [f]));
  const rows = subRows(q.join, records, dialect, conjuncts).filter((r) => q.filters.every((f) => rowHolds(f, r.cols)));
  const limit = q.pipes.reduce((n, p) => Math.min(n, p.count), Infinity);
  return { matches: rows.slice(0, limit).map((r) => r.from) };
}

/** The select subqueries of a join, in the order a joined row lists their records. */
function selects(q: S1qlJoin['sides'][number]['query']): Extract<S1qlJoin['sides'][number]['query'], { type: 'select' }>[] {
  return q.type === 'select' ? [q] : q.sides.flatMap((s) => selects(s.query));
}

export const s1qlInterpreter: Interpreter<Program, S1Record> = {
  target: 's1ql',
  parse(output, ctx) {
    const dialect = dialectOf(ctx);
    try {
      return { query: parseS1ql(output, dialect), dialect };
    } catch (e) {
      if (e instanceof S1qlParseError) throw new InterpreterError(`${e.message} (line ${e.line}, column ${e.column})`);
      throw e;
    }
  },
  fromEcs: (event, ctx) => recordFromEcs(event, ctx.mapping, dialectOf(ctx), ctx.ruleFields ?? new Set()),
  fromVendor(source, raw, ctx) {
    if (!source.startsWith('sentinel_one_cloud_funnel/') || typeof raw !== 'object' || raw === null) return null;
    return recordFromVendor(raw as Record<string, unknown>, ctx.mapping, dialectOf(ctx));
  },
  run(program, records) {
    const query = program.query;
    if (query.type === 'joinquery') return runJoinQuery(query, records, program.dialect);
    const matches: number[][] = [];
    records.forEach((r, i) => {
      if (r && evaluate(query.where, r, program.dialect)) matches.push([i]);
    });
    // `| limit N`: the first N results (records arrive in time order).
    const limit = query.pipes.reduce((n, p) => Math.min(n, p.count), Infinity);
    return { matches: matches.slice(0, limit) };
  },
  // A join's steps are its select subqueries: each takes the records its own filter accepts; the keys and
  // times are the join's and the filters' after it.
  stepAccepts(program, records) {
    const query = program.query;
    if (query.type !== 'joinquery') return null;
    const steps = selects(query.join);
    return records.map((r) => steps.map((s) => r !== null && evaluate(s.where, r, program.dialect)));
  },
};
