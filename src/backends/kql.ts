// Microsoft Defender XDR Advanced Hunting (KQL). Tables, columns and enumerations come from
// mappings/kql.yaml; this file holds the operator tables, quoting and the structural rendering.
// Missing values: a KQL string column holds "" when the value is absent (never null), numbers and booleans
// hold null. Elasticsearch makes every predicate false on a missing field and every negation true
// (docs/null-semantics.md), so each atom is rendered to be false on a missing value — guards are added
// where the bare KQL operator could be true on "" or null in the atom's polarity.
import type { Backend, Direction, RuleInput, TranslateContext } from '../translate/core.js';
import { CLASSIFYING_FIELDS, TranslateContext as Ledger, Unsupported, conjunctsOf, filterFacts } from '../translate/core.js';
import { chooseClass, fieldMapping, forRuleIndex, lossNote, unreadDatasets, withoutProduct, type EventClass, type FieldMapping, type Mapping } from '../translate/mapping.js';
import type { CompareOp, EventFilter, Expr, Field, GlobPart, Pattern, Sample, Sequence, Span } from '../ir/nodes.js';
import type { DiagCode } from '../diagnostics.js';
import { walk } from '../ir/walk.js';
import { luceneToRe2 } from '../matcher/regex.js';

// ---- mapping data ------------------------------------------------------------------------------

/**
 * The mapping data of one class. `own_fields` (a cloud or SaaS log such as CloudAppEvents): only the class's
 * fields apply, never the Device* columns of the global table.
 */
function classMapping(mapping: Mapping, cls: EventClass): Mapping {
  return cls.source.own_fields === true ? { ...mapping, fields: {} } : mapping;
}
const fieldOf = (mapping: Mapping, cls: EventClass, name: string) => fieldMapping(classMapping(mapping, cls), cls, name);

/** Kusto's scalar type names (learn.microsoft.com/kusto "Scalar data types"), with their synonyms. */
const KUSTO_TYPES = new Set(['bool', 'boolean', 'datetime', 'date', 'decimal', 'dynamic', 'guid', 'uuid', 'uniqueid', 'int', 'long', 'real', 'double', 'string', 'timespan', 'time']);
/** A table or column name of the mapping that is no identifier (a user's mapping file may hold anything), or null. */
const checkedNames = new WeakMap<Mapping, string | null>();
function badName(mapping: Mapping): string | null {
  if (checkedNames.has(mapping)) return checkedNames.get(mapping)!;
  const names: unknown[] = [];
  const ofFields = (fields: Mapping['fields'] | undefined) => {
    for (const fm of Object.values(fields ?? {})) {
      if (typeof fm === 'string') names.push(fm);
      else if (fm) names.push(...[fm.field].flat(), ...(fm.key ?? []));
    }
  };
  ofFields(mapping.fields);
  for (const cls of mapping.classes) {
    const src = cls.source;
    names.push(src.table ?? 'DeviceEvents', ...Object.keys((src.filter ?? {}) as object), ...Object.keys((src.column_types ?? {}) as object), ...Object.keys((src.true_keys ?? {}) as object));
    if (Array.isArray(src.project)) names.push(...(src.project as unknown[]));
    if (Array.isArray(src.identity)) names.push(...(src.identity as unknown[]));
    for (const key of ['time_column', 'row_id'] as const) if (src[key] !== undefined) names.push(src[key]);
    ofFields(cls.fields);
  }
  // column_types' values are written into `scan declare (...)`: Kusto scalar type names only.
  const types = mapping.classes.flatMap((c) => Object.values((c.source.column_types ?? {}) as object) as unknown[]);
  const badType = types.find((t) => typeof t !== 'string' || !KUSTO_TYPES.has(t));
  if (badType !== undefined) {
    checkedNames.set(mapping, String(badType));
    return String(badType);
  }
  const bad = names.find((n) => typeof n !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n));
  checkedNames.set(mapping, bad === undefined ? null : String(bad));
  return checkedNames.get(mapping)!;
}
/** Classes of Microsoft Sentinel's tables (`source.product`). */
const SENTINEL = 'sentinel';
/** `requires`: fields a filter must constrain at top level for the class (another product's log) to be chosen. */
const requiresOf = (cls: EventClass): string[] => (Array.isArray(cls.source.requires) ? (cls.source.requires as string[]) : []);

// ---- literals -------------------------------------------------------------------------------

/**
 * A KQL string literal that no value can break out of: plain `"…"` when nothing needs escaping,
 * verbatim `@"…"` (quotes doubled) for backslashes and quotes, and an escaped regular literal when the
 * value holds control characters (a verbatim literal cannot hold a line break).
 */
export function kqlString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s)) {
    let out = '"';
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      if (ch === '\\') out += '\\\\';
      else if (ch === '"') out += '\\"';
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else if (c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029 || (c >= 0xd800 && c <= 0xdfff)) out += `\\u${c.toString(16).padStart(4, '0')}`;
      else out += ch;
    }
    return out + '"';
  }
  if (/[\\"]/.test(s)) return `@"${s.replace(/"/g, '""')}"`;
  return `"${s}"`;
}

const kqlNumber = (n: number) => (Number.isInteger(n) ? String(n) : `real(${n})`);

// ---- operators ------------------------------------------------------------------------------

type Shape = 'exact' | 'prefix' | 'suffix' | 'contains';
/** [case-insensitive, case-sensitive] operator and its negation per pattern shape (learn.microsoft.com string operators). */
const STRING_OPS: Record<Shape, { ci: [string, string]; cs: [string, string] }> = {
  exact: { ci: ['=~', '!~'], cs: ['==', '!='] },
  prefix: { ci: ['startswith', '!startswith'], cs: ['startswith_cs', '!startswith_cs'] },
  suffix: { ci: ['endswith', '!endswith'], cs: ['endswith_cs', '!endswith_cs'] },
  contains: { ci: ['contains', '!contains'], cs: ['contains_cs', '!contains_cs'] },
};
const LIST_OPS = { ci: ['in~', '!in~'], cs: ['in', '!in'] } as const;
const NEGATE_COMPARE: Record<CompareOp, CompareOp> = { '==': '!=', '!=': '==', '<': '>=', '<=': '>', '>': '<=', '>=': '<' };

/** KQL's case-insensitive operators fold ASCII only; other letters need tolower() on both sides. */
const needsUnicodeFold = (s: string) => /[^\x00-\x7f]/.test(s) && s.toLowerCase() !== s.toUpperCase();

// ---- regular expressions (Lucene RegExp → RE2) -----------------------------------------------

const RE2_META = /[\\^$.|?*+()[\]{}]/;
const reLit = (s: string) => [...s].map((c) => (RE2_META.test(c) ? '\\' + c : c)).join('');

/** RE2 body (no anchors) for an EQL wildcard pattern; `dot` is the class one character may be. */
function globToRe(parts: readonly GlobPart[], dot: string): string {
  return parts.map((p) => (p.t === 'lit' ? reLit(p.v) : p.t === 'any' ? `${dot}*` : dot)).join('');
}

/**
 * A Lucene RegExp (EQL `regex`, whole-value match) as an RE2 body, read by the native matcher's translator (same
 * literal `^ $`, same refusals). `.` becomes `dot`, so the caller sets the `s` flag. `regex~` folding is spelled in
 * the body (`[aA]`, ASCII only as Lucene's), so the body takes no `i` flag: RE2's would also fold non-ASCII letters
 * and U+212A/U+017F into `k`/`s`.
 */
function luceneBody(src: string, ci: boolean, dot = '.'): { re: string } | { error: string } {
  const t = luceneToRe2(src, ci, dot === '.' ? { dot } : { dot, negatedAlsoExcludes: '\\x00' });
  return t.ok ? { re: t.re2 } : { error: t.message };
}

/** Whether an RE2 body has a `|` outside groups and classes (so it needs a group before anchoring). */
function topLevelAlternation(body: string): boolean {
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') i++;
    else if (c === '[') {
      for (i++; i < body.length && body[i] !== ']'; i++) if (body[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/** Whether an RE2 body we produced matches the empty string (checked with JavaScript's engine, same subset). */
function matchesEmpty(body: string): boolean {
  try {
    return new RegExp(`^(?:${body})$`, 's').test('');
  } catch {
    return true;
  }
}

// ---- the rendering of one filter ---------------------------------------------------------------

/** A rendered condition: text, its preferred negated form, and how it binds. */
interface Cond {
  t: string;
  prec: 'atom' | 'and' | 'or';
  neg?: { t: string; prec: 'atom' | 'and' | 'or' };
}
const TRUE: Cond = { t: 'true', prec: 'atom' };
const FALSE: Cond = { t: 'false', prec: 'atom' };
const atom = (t: string, neg?: string): Cond => ({ t, prec: 'atom', ...(neg ? { neg: { t: neg, prec: 'atom' as const } } : {}) });
/** Presence tests and their complements. */
const GUARD_NEG: [RegExp, string][] = [
  [/^isnotnull\((.*)\)$/s, 'isnull'],
  [/^isnotempty\((.*)\)$/s, 'isempty'],
];
function negGuard(g: string): string | null {
  for (const [re, fn] of GUARD_NEG) {
    const m = re.exec(g);
    if (m && !m[1]!.includes('(')) return `${fn}(${m[1]})`;
  }
  return null;
}

/** A rendered value: text, KQL type, and the conditions under which Elasticsearch's value would be non-null. */
interface Val {
  t: string;
  type: 'string' | 'number' | 'bool' | 'dynamic';
  guards: string[];
  /** What the KQL expression yields when Elasticsearch's value is missing (null = KQL null); absent = unknown. */
  missing?: string | number | boolean | null;
}

interface Resolved {
  fm: FieldMapping;
  column: string;
}

/** A value read from a field without a Defender column; the test around it is left out (FilterRenderer.cond). */
class Unmapped extends Error {
  constructor(readonly field: Field) {
    super(`${field.name} has no Defender column`);
  }
}

class FilterRenderer {
  /** Real columns the condition touched, for the final `project`. */
  readonly touched: string[] = [];
  readonly extends: Map<string, string> = new Map();
  /** Per list (its expression): the element's name and the counts of elements meeting each test, for `mv-apply`. */
  readonly applies: Map<string, { v: string; counts: [string, string][] }> = new Map();
  private countsMade = 0;
  /** While a test is rendered for one list element: the element-wise field and the element's name. */
  private element: { field: string; v: string } | null = null;
  /** Set while an element test under `not` is rendered as a positive count: declared directions flip. */
  private flipDirections = false;
  /** Set when `host.os.type` is tested somewhere a semi-join cannot express it. */
  needsOsLookup = false;
  /** The filter keeps only Windows events (so parse_command_line's Windows rules are the right ones). */
  windowsOnly = false;
  dropped = 0;
  private readonly seen = new Set<string>();
  /** Extension expressions and the file-name column they read. */
  private readonly extensionOf = new Map<string, string>();

  constructor(
    readonly ctx: TranslateContext,
    readonly cls: EventClass,
  ) {}

  private approx(code: DiagCode, msg: string, span: Span, pos: boolean, wideIfPositive = true) {
    const dir: Direction = wideIfPositive === pos ? 'wider' : 'narrower';
    this.approxOnce(code, msg, span, dir);
  }

  touch(col: string) {
    if (!this.touched.includes(col)) this.touched.push(col);
  }

  resolve(f: Field): Resolved | null {
    const fm = fieldOf(this.ctx.mapping, this.cls, f.name);
    if (!fm) return null;
    if (fm.unreadable) return this.unsupported(`${f.name}: ${fm.unreadable}`, f.span, 'EQL3255');
    if (Array.isArray(fm.field)) return null;
    return { fm, column: fm.field };
  }

  /** Render a condition in the given polarity (false = under an odd number of negations). */
  cond(e: Expr, pos: boolean): Cond {
    const each = this.element ? null : this.eachField(e);
    if (each) return this.anyElement(e, each, pos);
    if (e.kind === 'And' || e.kind === 'Or' || e.kind === 'Not' || e.kind === 'Literal') return this.condition(e, pos);
    try {
      return this.condition(e, pos);
    } catch (x) {
      // A field without a column inside an expression (an argument of a function, an operand): the whole test is
      // left out in its polarity, as for a field tested directly.
      if (x instanceof Unmapped) return this.drop(x.field, e, pos);
      throw x;
    }
  }

  private condition(e: Expr, pos: boolean): Cond {
    switch (e.kind) {
      case 'Literal':
        if (typeof e.value === 'boolean') return e.value ? TRUE : FALSE;
        return this.unsupported(`the literal ${JSON.stringify(e.value)} is not a condition`, e.span);
      case 'And':
      case 'Or':
        return this.logic(e.kind, e.args.map((a) => this.cond(a, pos)));
      case 'Not':
        return negate(this.cond(e.arg, !pos));
      case 'Field':
        return this.compare({ kind: 'Compare', op: '==', left: e, right: { kind: 'Literal', type: 'boolean', value: true, span: e.span }, span: e.span }, pos);
      case 'Compare':
        // Through cond: an element-wise == is tested per element before its complement is taken.
        if (e.op === '!=') return negate(this.cond({ ...e, op: '==' }, !pos));
        return this.compare(e, pos);
      case 'Exists':
        return this.exists(e, pos);
      case 'In':
        return this.inList(e, pos);
      case 'Match':
        return this.match(e, pos);
      case 'Call':
        return this.callCond(e, pos);
      default:
        return this.unsupported(`a ${e.kind} expression is not a condition`, e.span);
    }
  }

  /** The one element-wise field (transform `dynamic-each:`) a basic test reads, or null. */
  private eachField(e: Expr): { f: Field; each: EachPath; column: string } | null {
    if (e.kind === 'And' || e.kind === 'Or' || e.kind === 'Not' || e.kind === 'Literal' || (e.kind === 'Compare' && e.op === '!=')) return null;
    const found: { f: Field; each: EachPath; column: string }[] = [];
    for (const x of walk(e)) {
      if (x.kind !== 'Field') continue;
      const fm = fieldOf(this.ctx.mapping, this.cls, x.name);
      if (!fm?.transform || !isEachTransform(fm.transform) || typeof fm.field !== 'string') continue;
      const each = eachPath(fm.transform);
      if (!each) return this.unsupported(`invalid list path in the mapping of ${x.name}`, x.span, 'EQL3203');
      found.push({ f: x, each, column: fm.field });
    }
    // Two list values in one test (two lists, or one list twice) would pair elements, which Elasticsearch does not.
    if (found.length > 1) return this.unsupported(`${found.map((x) => x.f.name).join(' and ')}: a test on two list values at once is not expressed element by element`, e.span, 'EQL3235');
    return found[0] ?? null;
  }

  /**
   * A basic test on a list element's value: true iff some element meets it (Elasticsearch's any-value rule,
   * docs/null-semantics.md), its negation iff none does. mv-apply (Kusto's mv-apply operator: the subquery runs
   * on each row's elements) counts the elements that meet the test; a value that is no non-empty array is
   * wrapped in one, as mv-expand gives no element for an empty array and one per key for a property bag.
   */
  private anyElement(e: Expr, { f, each, column }: { f: Field; each: EachPath; column: string }, pos: boolean): Cond {
    const list = listOf(column, each);
    const apply = this.applies.get(list) ?? { v: `Element${this.applies.size + 1}`, counts: [] };
    const v = apply.v;
    this.element = { field: f.name, v };
    const dropped = this.dropped;
    // The element test is rendered as a positive test (counted); under `not` its differences point the other way.
    const flipped = this.flipDirections;
    this.flipDirections = flipped !== !pos;
    let inner: Cond;
    try {
      inner = this.cond(e, true);
    } finally {
      this.element = null;
      this.flipDirections = flipped;
    }
    // The test read another field without a column and was left out: in its polarity, as drop does.
    if (this.dropped > dropped) return pos ? TRUE : FALSE;
    if (inner.t === 'true' || inner.t === 'false') return inner;
    this.touch(column);
    const count = `Matching${++this.countsMade}`;
    apply.counts.push([count, inner.t]);
    this.applies.set(list, apply);
    return atom(`${count} > 0`, `${count} == 0`);
  }

  logic(kind: 'And' | 'Or', parts: Cond[]): Cond {
    const unit = kind === 'And' ? TRUE : FALSE;
    const zero = kind === 'And' ? FALSE : TRUE;
    const kept = parts.filter((p) => p.t !== unit.t);
    if (kept.some((p) => p.t === zero.t)) return zero;
    if (!kept.length) return unit;
    if (kept.length === 1) return kept[0]!;
    const sep = kind === 'And' ? ' and ' : ' or ';
    return { t: kept.map((p) => (kind === 'And' && p.prec === 'or' ? `(${p.t})` : p.t)).join(sep), prec: kind === 'And' ? 'and' : 'or' };
  }

  unsupported(msg: string, span: Span, code: DiagCode = 'EQL3007'): never {
    this.ctx.unsupported(code, msg, span);
    throw new Unsupported();
  }

  /** A condition on a field Defender does not record: dropped so the result only widens (declared). */
  drop(f: Field, e: Expr, pos: boolean): Cond {
    this.dropped++;
    // true in a positive position, false under a negation: either way the result can only widen.
    this.approxOnce('EQL3201', `${f.name} has no Defender column; the condition on it is left out`, e.span, 'wider');
    return pos ? TRUE : FALSE;
  }

  /** Fold a condition on a field the class fixes (`when`, e.g. event.category) or maps through `values`. */
  private enumeration(f: Field, e: Expr, pos: boolean): Cond | null {
    const fm = fieldOf(this.ctx.mapping, this.cls, f.name);
    if (fm?.values && typeof fm.field === 'string') {
      const targets = new Set<string>();
      const rejected = new Set<string>();
      for (const [ecs, tv] of Object.entries(fm.values)) {
        const ok = accepts(e, ecs);
        if (ok === null) return null;
        for (const v of [tv].flat()) (ok ? targets : rejected).add(v);
      }
      this.touch(fm.field);
      if (fm.lossy) {
        const dir = fm.lossy.direction;
        this.approxOnce('EQL3006', `${f.name} → ${fm.field}: ${fm.lossy.reason}`, f.span, pos || dir === 'different' ? dir : dir === 'wider' ? 'narrower' : 'wider', fm.lossy.collection ? 'collection' : undefined);
      }
      const list = [...targets];
      // A column value that also stands for ECS values the rule rejects (ProcessCreated is exec, start, ... and
      // Elastic's own processcreated) matches those events too.
      const shared = list.filter((v) => rejected.has(v));
      if (shared.length)
        this.approxOnce('EQL3202', `Defender's ${fm.field} ${shared.join('/')} also holds events whose ${f.name} is none of the rule's values`, e.span, pos ? 'wider' : 'narrower');
      if (!list.length) return FALSE;
      // A number or boolean column (IsManaged, IsGuestUser) takes its values unquoted and is null when the value is
      // absent, where Elasticsearch's negation holds: the negation tests isnull.
      const typed = fm.type === 'number' || fm.type === 'boolean';
      const lit = (v: string) => {
        if (!typed) return kqlString(v);
        if (!(fm.type === 'number' ? /^-?\d+$/ : /^(true|false)$/).test(v)) return this.unsupported(`invalid ${fm.type} value ${JSON.stringify(v)} in the mapping of ${f.name}`, f.span, 'EQL3203');
        return v;
      };
      const c = fm.field;
      const items = list.map(lit).join(', ');
      const [t, n] = list.length === 1 ? [`${c} == ${items}`, `${c} != ${items}`] : [`${c} in (${items})`, `${c} !in (${items})`];
      return typed ? { t, prec: 'atom', neg: { t: `isnull(${c}) or ${n}`, prec: 'or' } } : atom(t, n);
    }
    const key = f.name === 'event.category' ? 'category' : f.name;
    const fixed = this.cls.when[key];
    if (fm === undefined && fixed !== undefined) {
      const vals = [fixed].flat();
      const oks = vals.map((v) => accepts(e, v));
      if (oks.some((o) => o === null)) return null;
      if (oks.every((o) => o)) return TRUE;
      if (oks.every((o) => !o)) return FALSE;
      this.approxOnce('EQL3202', `the Defender source holds events with several ${f.name} values and cannot tell them apart`, e.span, 'wider');
      return pos ? TRUE : FALSE;
    }
    return null;
  }

  private os(f: Field, e: Expr, pos: boolean): Cond {
    const platforms = (this.ctx.mapping.settings.os_platform ?? {}) as Record<string, { op: string; value: string }>;
    const parts: Cond[] = [];
    for (const [os, p] of Object.entries(platforms)) {
      const ok = accepts(e, os);
      if (ok === null) return this.drop(f, e, pos);
      if (ok) parts.push(atom(`OSPlatform ${p.op} ${kqlString(p.value)}`));
    }
    this.needsOsLookup = true;
    return this.logic('Or', parts);
  }

  /** Conditions on fields without a plain column: unmapped, enumerations, host.os.type. */
  private special(f: Field, e: Expr, pos: boolean): Cond | null {
    if (f.name === 'host.os.type') return this.os(f, e, pos);
    const en = this.enumeration(f, e, pos);
    if (en) return en;
    const r = this.resolve(f);
    if (!r) return this.drop(f, e, pos);
    if (r.fm.lossy) this.approxOnce('EQL3006', `${f.name} → ${r.column}: ${r.fm.lossy.reason}`, f.span, r.fm.lossy.direction, r.fm.lossy.collection ? 'collection' : undefined);
    return null;
  }

  // ---- values ----

  value(e: Expr): Val {
    switch (e.kind) {
      case 'Literal':
        if (typeof e.value === 'string') return { t: kqlString(e.value), type: 'string', guards: [] };
        if (typeof e.value === 'number') return { t: kqlNumber(e.value), type: 'number', guards: [] };
        if (typeof e.value === 'boolean') return { t: String(e.value), type: 'bool', guards: [] };
        return this.unsupported('a null value inside an expression', e.span);
      case 'Field':
        return this.fieldValue(e);
      case 'Arith': {
        const l = this.value(e.left);
        const r = this.value(e.right);
        if (l.type !== 'number' || r.type !== 'number') return this.unsupported('arithmetic on a value that is not a number', e.span);
        // A missing column makes the result null, as in Elasticsearch.
        const nullWhenMissing = [l, r].every((v) => !v.guards.length || v.missing === null);
        return { t: `${paren(l.t)} ${e.op} ${paren(r.t)}`, type: 'number', guards: [...l.guards, ...r.guards], ...(nullWhenMissing ? { missing: null } : {}) };
      }
      case 'Neg': {
        const v = this.value(e.arg);
        return { ...v, t: `-${paren(v.t)}` };
      }
      case 'Call':
        return this.callValue(e);
      default:
        return this.unsupported(`a ${e.kind} used as a value`, e.span);
    }
  }

  fieldValue(f: Field): Val {
    if (f.name === 'host.os.type') return this.unsupported('host.os.type used inside an expression', f.span);
    const r = this.resolve(f);
    if (!r) throw new Unmapped(f);
    if (r.fm.lossy) this.approxOnce('EQL3006', `${f.name} → ${r.column}: ${r.fm.lossy.reason}`, f.span, r.fm.lossy.direction, r.fm.lossy.collection ? 'collection' : undefined);
    this.touch(r.column);
    const v = this.columnValue(f, r);
    if (!r.fm.extract || v.type !== 'string') return v;
    // A field the source derives from this value: the regex's first group, "" where it does not match.
    const t = `extract(${kqlString(r.fm.extract)}, 1, ${v.t})`;
    return { t, type: 'string', guards: [`isnotempty(${t})`], missing: '' };
  }

  private columnValue(f: Field, r: Resolved): Val {
    const c = r.column;
    switch (r.fm.transform) {
      case undefined:
        if (r.fm.type === 'number' || r.fm.type === 'boolean') return { t: c, type: r.fm.type === 'number' ? 'number' : 'bool', guards: [`isnotnull(${c})`], missing: null };
        return { t: c, type: 'string', guards: [`isnotempty(${c})`], missing: '' };
      case 'args':
        this.argsFidelity(f);
        return { t: `parse_command_line(${c}, "windows")`, type: 'dynamic', guards: [`isnotempty(${c})`], missing: '' };
      case 'words':
        // A list Elastic splits from the column's whitespace-separated text (PrivilegeList of 4672): its words.
        return { t: `extract_all(@"(\\S+)", ${c})`, type: 'dynamic', guards: [`isnotempty(${c})`], missing: '' };
      case 'args_count':
        this.argsFidelity(f);
        return { t: `array_length(parse_command_line(${c}, "windows"))`, type: 'number', guards: [`isnotempty(${c})`], missing: 0 };
      case 'extension':
        this.extensionOf.set(`extract(@"\\.([^.\\\\/]*)$", 1, ${c})`, c);
        return { t: `extract(@"\\.([^.\\\\/]*)$", 1, ${c})`, type: 'string', guards: [`${c} contains "."`], missing: '' };
      case 'registry_path': {
        this.touch('RegistryValueName');
        this.extends.set('RegistryPath', `iff(isempty(RegistryValueName), ${c}, strcat(${c}, @"\\", RegistryValueName))`);
        return { t: 'RegistryPath', type: 'string', guards: ['isnotempty(RegistryPath)'], missing: '' };
      }
      default:
        if (isEachTransform(r.fm.transform) && this.element?.field === f.name) {
          // One element of the list (anyElement): its value, and for a keyed list the element's key.
          const each = eachPath(r.fm.transform)!;
          const t = `tostring(${each.path.reduce(member, this.element.v)})`;
          if (!each.key) return { t, type: 'string', guards: [`isnotempty(${t})`], missing: '' };
          return { t, type: 'string', guards: [`tostring(${member(this.element.v, each.key.name)}) == ${kqlString(each.key.value)}`, `isnotempty(${t})`] };
        }
        if (r.fm.transform.startsWith('dynamic:')) {
          // A path into a dynamic column (CloudAppEvents.RawEventData: the source's own record); "" when absent.
          const path = dynamicPath(r.fm.transform);
          if (!path) return this.unsupported(`invalid path in the mapping of ${f.name}`, f.span, 'EQL3203');
          const t = `tostring(${c}${memberPath(path)})`;
          return { t, type: 'string', guards: [`isnotempty(${t})`], missing: '' };
        }
        if (r.fm.transform.startsWith('json:')) {
          const key = r.fm.transform.slice(5);
          if (!key) return this.unsupported(`invalid JSON key in the mapping of ${f.name}`, f.span, 'EQL3203');
          // Defender for Identity's keys hold spaces and dots ("FROM SAM Account Name", "TO.GROUP"): those are indexed.
          const t = `tostring(parse_json(${c})${/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${kqlString(key)}]`})`;
          return { t, type: 'string', guards: [`isnotempty(${t})`], missing: '' };
        }
        return this.unsupported(`unknown transform "${r.fm.transform}" in the mapping of ${f.name}`, f.span, 'EQL3203');
    }
  }

  private argsFidelity(f: Field) {
    if (!this.windowsOnly)
      this.approxOnce('EQL3204', `${f.name} is read from the command line with Windows parsing rules (parse_command_line); on Linux and macOS Defender joins argv with spaces, so arguments containing spaces split differently`, f.span, 'different');
  }

  // ---- atoms ----

  /** Wrap an atom so that it is false whenever Elasticsearch's value would be missing. */
  private guarded(p: Cond, guards: readonly string[]): Cond {
    guards = [...new Set(guards)];
    if (!guards.length) return p;
    const t = [...guards, p.prec === 'or' ? `(${p.t})` : p.t].join(' and ');
    const negs = guards.map(negGuard);
    if (p.neg && negs.every((n) => n !== null)) return { t, prec: 'and', neg: { t: [...negs, p.neg.prec === 'and' || p.neg.prec === 'or' ? `(${p.neg.t})` : p.neg.t].join(' or '), prec: 'or' } };
    return { t, prec: 'and' };
  }

  /** Guards an atom needs: none when the bare KQL test already gives Elasticsearch's answer on a missing value. */
  private needed(l: Val, pos: boolean, test: (missing: string | number | boolean) => boolean): string[] {
    if (l.missing === undefined) return l.guards;
    if (l.missing === null) return pos ? [] : l.guards;
    return test(l.missing) ? l.guards : [];
  }

  private approxOnce(code: DiagCode, msg: string, span: Span, dir: Direction, about?: 'collection') {
    if (this.flipDirections && dir !== 'different') dir = dir === 'wider' ? 'narrower' : 'wider';
    const key = `${code}@${span.start.offset}:${msg}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.ctx.approximate(code, msg, span, dir, about);
  }

  compare(e: Extract<Expr, { kind: 'Compare' }>, pos: boolean): Cond {
    let { left, right, op } = e;
    if (left.kind === 'Literal' && right.kind !== 'Literal') [left, right, op] = [right, left, flip(op)];
    if (left.kind === 'Field') {
      const s = this.special(left, e, pos);
      if (s) return s;
    }
    if (right.kind !== 'Literal') return this.unsupported('a comparison between two fields', e.span);
    const l = this.value(left);
    const lit = right.value;
    if (l.type === 'dynamic') {
      // process.args == "x": any element equals x.
      if (op !== '==' || typeof lit !== 'string') return this.unsupported('an ordering comparison on an argument list', e.span);
      return this.argsMatch(left as Field, [{ kind: 'exact', value: lit, text: lit, span: right.span }], false, pos);
    }
    if (l.type === 'string') {
      if (typeof lit !== 'string' && typeof lit !== 'number') return this.unsupported(`comparing a string with ${JSON.stringify(lit)}`, e.span);
      const s = String(lit);
      if (op === '==') return this.textMatch(l, { kind: 'exact', value: s, text: s, span: right.span }, false, pos, e.span);
      return this.guarded(atom(`strcmp(${l.t}, ${kqlString(s)}) ${op} 0`), this.needed(l, pos, (m) => compareJs(String(m) < s ? -1 : String(m) > s ? 1 : 0, op, 0)));
    }
    // numbers and booleans: null when missing, so guard in negative polarity.
    let v: string;
    if (l.type === 'number') {
      const n = typeof lit === 'number' ? lit : typeof lit === 'string' && /^-?\d+(\.\d+)?$/.test(lit) ? Number(lit) : NaN;
      if (Number.isNaN(n)) return this.unsupported(`comparing a number with ${JSON.stringify(lit)}`, e.span);
      v = kqlNumber(n);
    } else {
      if (typeof lit !== 'boolean' && lit !== 'true' && lit !== 'false') return this.unsupported(`comparing a boolean with ${JSON.stringify(lit)}`, e.span);
      v = String(lit);
    }
    const a = atom(`${l.t} ${op} ${v}`, `${l.t} ${NEGATE_COMPARE[op]} ${v}`);
    return this.guarded(a, this.needed(l, pos, (m) => compareJs(m, op, l.type === 'number' ? Number(v) : v === 'true')));
  }

  exists(e: Extract<Expr, { kind: 'Exists' }>, pos: boolean): Cond {
    if (e.arg.kind === 'Field') {
      const s = this.special(e.arg, e, pos);
      if (s) return s;
    }
    const v = this.value(e.arg);
    if (v.type === 'string' || v.type === 'dynamic')
      this.approx('EQL3205', 'Defender stores a missing string as ""; a present but empty value counts as missing', e.span, pos, false);
    return this.logic('And', v.guards.map((g) => atom(g, negGuard(g) ?? undefined)));
  }

  inList(e: Extract<Expr, { kind: 'In' }>, pos: boolean): Cond {
    if (e.arg.kind === 'Field') {
      const s = this.special(e.arg, e, pos);
      if (s) return s;
    }
    const vals = e.values.filter((v) => !(v.kind === 'Literal' && v.value === null));
    if (!vals.every((v) => v.kind === 'Literal')) return this.unsupported('a list with values that are not literals', e.span);
    const lits = vals.map((v) => (v as { value: unknown }).value);
    if (!lits.length) return FALSE;
    const l = this.value(e.arg);
    if (l.type === 'dynamic' || l.type === 'string') {
      if (!lits.every((x) => typeof x === 'string' || typeof x === 'number')) return this.unsupported('a list mixing strings with other values', e.span);
      const pats: Pattern[] = lits.map((x) => ({ kind: 'exact', value: String(x), text: String(x), span: e.span }));
      if (l.type === 'dynamic') return this.argsMatch(e.arg as Field, pats, e.caseInsensitive, pos);
      return this.textPatterns(l, pats, e.caseInsensitive, pos, e.span);
    }
    if (l.type === 'number') {
      if (!lits.every((x) => typeof x === 'number')) return this.unsupported('a list of non-numbers for a numeric column', e.span);
      const items = (lits as number[]).map(kqlNumber).join(', ');
      const a = lits.length === 1 ? atom(`${l.t} == ${items}`, `${l.t} != ${items}`) : atom(`${l.t} in (${items})`, `${l.t} !in (${items})`);
      return this.guarded(a, this.needed(l, pos, (m) => (lits as unknown[]).includes(m)));
    }
    return this.unsupported('a list test on a boolean', e.span);
  }

  match(e: Extract<Expr, { kind: 'Match' }>, pos: boolean): Cond {
    if (e.arg.kind === 'Field') {
      const s = this.special(e.arg, e, pos);
      if (s) return s;
    }
    const l = this.value(e.arg);
    if (l.type === 'dynamic') return this.argsMatch(e.arg as Field, e.patterns, e.caseInsensitive, pos);
    if (l.type !== 'string') return this.unsupported(`${e.op} on a ${l.type} value`, e.span);
    return this.textPatterns(l, e.patterns, e.caseInsensitive, pos, e.span);
  }

  private registryPatterns(pats: readonly Pattern[], ci: boolean): Pattern[] {
    if (!this.extends.has('RegistryPath')) return [...pats];
    return pats.map((p) => rewriteHive(p, ci));
  }

  /** Patterns ORed against a string value: exact values grouped into one `in`/`in~`, globs and regexes into one regex. */
  textPatterns(l: Val, pats: readonly Pattern[], ci: boolean, pos: boolean, span: Span): Cond {
    pats = this.registryPatterns(pats, ci);
    const ext = this.extensionOf.get(l.t);
    if (ext && pats.every((p) => p.kind === 'exact' && p.value !== '' && !/[.\\/]/.test(p.value))) {
      // file.extension == "exe" is FileName ending in ".exe" (an extension holds no dot or separator).
      this.touch(ext);
      return this.logic('Or', pats.map((p) => this.textMatch({ t: ext, type: 'string', guards: [], missing: '' }, { ...p, kind: 'suffix', text: '.' + p.value } as Pattern, ci, pos, span)));
    }
    const exact = pats.filter((p) => p.kind === 'exact');
    const regexy = pats.filter((p) => p.kind === 'glob' || p.kind === 'regex');
    const parts: Cond[] = [];
    if (exact.length > 1) {
      const values = exact.map((p) => p.value);
      const fold = ci && values.some(needsUnicodeFold);
      const subject = fold ? `tolower(${l.t})` : l.t;
      const items = values.map((v) => kqlString(fold ? v.toLowerCase() : v)).join(', ');
      const [op, nop] = fold || !ci ? LIST_OPS.cs : LIST_OPS.ci;
      parts.push(this.guardEmpty(l, atom(`${subject} ${op} (${items})`, `${subject} ${nop} (${items})`), values.includes(''), pos, span));
    } else if (exact.length === 1) parts.push(this.textMatch(l, exact[0]!, ci, pos, span));
    for (const p of pats) if (p.kind === 'prefix' || p.kind === 'suffix' || p.kind === 'contains') parts.push(this.textMatch(l, p, ci, pos, span));
    if (regexy.length) {
      const bodies: string[] = [];
      // A Match holds globs or Lucene regexes, never both; a regex spells its own folding.
      const spelled = regexy.some((p) => p.kind === 'regex');
      for (const p of regexy) {
        if (p.kind === 'glob') bodies.push(globToRe(p.parts, '.'));
        else {
          const r = luceneBody(p.value, ci);
          if ('error' in r) return this.unsupported(`cannot translate the regular expression to RE2: ${r.error}`, p.span, 'EQL3206');
          bodies.push(r.re);
        }
      }
      const body = bodies.map((b) => (bodies.length > 1 && topLevelAlternation(b) ? `(?:${b})` : b)).join('|');
      const flags = (ci && !spelled ? 'i' : '') + (body.includes('.') ? 's' : '');
      const re = `${flags ? `(?${flags})` : ''}^${topLevelAlternation(body) ? `(?:${body})` : body}$`;
      parts.push(this.guardEmpty(l, atom(`${l.t} matches regex ${kqlString(re)}`), matchesEmpty(body), pos, span));
    }
    return this.logic('Or', parts);
  }

  /** One analysed pattern against a string value with the cheapest exact operator. */
  textMatch(l: Val, p: Pattern, ci: boolean, pos: boolean, span: Span): Cond {
    if (p.kind === 'glob' || p.kind === 'regex' || (p.kind === 'exact' && this.extensionOf.has(l.t))) return this.textPatterns(l, [p], ci, pos, span);
    if (p.kind === 'prefix' && p.text === '') return this.guardEmpty(l, TRUE, true, pos, span);
    const fold = ci && needsUnicodeFold(p.text);
    const subject = fold ? `tolower(${l.t})` : l.t;
    const text = fold ? p.text.toLowerCase() : p.text;
    const [op, nop] = STRING_OPS[p.kind][fold || !ci ? 'cs' : 'ci'];
    // contains/startswith/endswith with "" are true on any value; == "" is true on a missing one.
    return this.guardEmpty(l, atom(`${subject} ${op} ${kqlString(text)}`, `${subject} ${nop} ${kqlString(text)}`), text === '', pos, span);
  }

  /** Add the presence guards when the bare operator would be true on a missing ("") value. */
  private guardEmpty(l: Val, a: Cond, acceptsEmpty: boolean, pos: boolean, span: Span): Cond {
    const guards = l.missing === '' && !acceptsEmpty ? [] : l.guards;
    if (acceptsEmpty && l.missing === '' && guards.length) this.approx('EQL3205', 'Defender stores a missing string as ""; a present but empty value counts as missing', span, pos, false);
    return this.guarded(a, guards);
  }

  // ---- process.args ----

  argsMatch(f: Field, pats: readonly Pattern[], ci: boolean, pos: boolean): Cond {
    const r = this.resolve(f)!;
    const c = r.column;
    const span = pats[0]?.span ?? f.span;
    if (r.fm.transform === 'words') return this.wordsMatch(c, pats, ci);
    if (this.ctx.options.kqlArgs === 'fast' && pats.every((p) => p.kind !== 'glob' && p.kind !== 'regex')) {
      this.approx('EQL3207', `${f.name} is matched against the whole command line (has/contains), not against each argument`, span, pos);
      const parts = pats.map((p) => {
        const text = (p as { text: string }).text;
        if (p.kind === 'exact' && /^[A-Za-z0-9]+$/.test(text)) return atom(`${c} ${ci ? 'has' : 'has_cs'} ${kqlString(text)}`, `${c} ${ci ? '!has' : '!has_cs'} ${kqlString(text)}`);
        return atom(`${c} ${ci ? 'contains' : 'contains_cs'} ${kqlString(text)}`, `${c} ${ci ? '!contains' : '!contains_cs'} ${kqlString(text)}`);
      });
      return this.logic('Or', parts);
    }
    const fold = (s: string) => (ci ? s.toLowerCase() : s);
    const args = `parse_command_line(${ci ? `tolower(${c})` : c}, "windows")`;
    const exact = pats.filter((p) => p.kind === 'exact');
    const parts: Cond[] = [];
    if (exact.length === 1) parts.push(atom(`set_has_element(${args}, ${kqlString(fold(exact[0]!.value))})`));
    else if (exact.length > 1) parts.push(atom(`array_length(set_intersect(${args}, pack_array(${exact.map((p) => kqlString(fold(p.value))).join(', ')}))) > 0`));
    // Other shapes: one regex over the arguments joined with NUL, which no Windows command line contains.
    // As in textPatterns: regexes (never mixed with other shapes) spell their own folding.
    const spelled = pats.some((p) => p.kind === 'regex');
    const bodies = this.elementBodies(pats.filter((p) => p.kind !== 'exact'), ci, '[^\\x00]');
    if (!Array.isArray(bodies)) return bodies;
    if (bodies.length) {
      const body = bodies.map((b) => (bodies.length > 1 && topLevelAlternation(b) ? `(?:${b})` : b)).join('|');
      const re = `${ci && !spelled ? '(?i)' : ''}(?:^|\\x00)(?:${body})(?:\\x00|$)`;
      const a = atom(`strcat_array(parse_command_line(${c}, "windows"), "\\0") matches regex ${kqlString(re)}`);
      parts.push(matchesEmpty(body) ? this.guarded(a, [`isnotempty(${c})`]) : a);
    }
    this.touch(c);
    this.argsFidelity(f);
    return this.logic('Or', parts);
  }

  /**
   * One regex body per pattern for an element of a list held in one string (an argv element, a word), whose
   * characters are `el`: a regex translated to RE2, a glob, or a literal with its prefix/suffix/contains shape.
   */
  private elementBodies(pats: readonly Pattern[], ci: boolean, el: string): string[] | Cond {
    const bodies: string[] = [];
    for (const p of pats) {
      if (p.kind === 'glob') bodies.push(globToRe(p.parts, el));
      else if (p.kind === 'regex') {
        const t = luceneBody(p.value, ci, el);
        if ('error' in t) return this.unsupported(`cannot translate the regular expression to RE2: ${t.error}`, p.span, 'EQL3206');
        bodies.push(t.re);
      } else {
        const lit = reLit(p.kind === 'exact' ? p.value : p.text);
        bodies.push(p.kind === 'exact' ? lit : p.kind === 'prefix' ? `${lit}${el}*` : p.kind === 'suffix' ? `${el}*${lit}` : `${el}*${lit}${el}*`);
      }
    }
    return bodies;
  }

  /** Any word of a whitespace-separated column matches one of the patterns: one regex over the column. */
  private wordsMatch(c: string, pats: readonly Pattern[], ci: boolean): Cond {
    const spelled = pats.some((p) => p.kind === 'regex');
    const bodies = this.elementBodies(pats, ci, '\\S');
    if (!Array.isArray(bodies)) return bodies;
    const body = bodies.map((b) => (bodies.length > 1 && topLevelAlternation(b) ? `(?:${b})` : b)).join('|');
    const a = atom(`${c} matches regex ${kqlString(`${ci && !spelled ? '(?i)' : ''}(?:^|\\s)(?:${body})(?:\\s|$)`)}`);
    this.touch(c);
    return matchesEmpty(body) ? this.guarded(a, [`isnotempty(${c})`]) : a;
  }

  // ---- functions ----

  callCond(e: Extract<Expr, { kind: 'Call' }>, pos: boolean): Cond {
    const ci = e.caseInsensitive;
    const [a0, ...rest] = e.args;
    switch (e.name) {
      case 'startsWith':
      case 'endsWith':
      case 'stringContains': {
        const sub = rest[0];
        if (a0 && sub && sub.kind !== 'Literal') return this.substringOfValue(e, a0, sub, pos);
        if (!a0 || !sub || sub.kind !== 'Literal' || typeof sub.value !== 'string') return this.unsupported(`${e.name} with a non-literal argument`, e.span);
        if (a0.kind === 'Field') {
          const s = this.special(a0, e, pos);
          if (s) return s;
        }
        const kind = e.name === 'startsWith' ? 'prefix' : e.name === 'endsWith' ? 'suffix' : 'contains';
        const p = { kind, value: sub.value, text: sub.value, span: sub.span } as Pattern;
        const l = this.value(a0);
        if (l.type === 'dynamic') return this.argsMatch(a0 as Field, [p], ci, pos);
        if (l.type !== 'string') return this.unsupported(`${e.name} on a ${l.type}`, e.span);
        if (sub.value === '') return this.guardEmpty(l, TRUE, true, pos, e.span);
        return this.textMatch(l, p, ci, pos, e.span);
      }
      case 'cidrMatch': {
        if (!a0) return this.unsupported('cidrMatch without arguments', e.span);
        if (a0.kind === 'Field') {
          const s = this.special(a0, e, pos);
          if (s) return s;
        }
        const l = this.value(a0);
        const nets = rest.map((r) => (r.kind === 'Literal' && typeof r.value === 'string' ? r.value : null));
        if (nets.some((n) => n === null)) return this.unsupported('cidrMatch with a non-literal block', e.span);
        const v4 = (nets as string[]).filter((n) => !n.includes(':'));
        const v6 = (nets as string[]).filter((n) => n.includes(':'));
        // The ipv*_is_in_any_range functions return null for an address of the other family or "".
        const parts: Cond[] = [];
        if (v4.length) parts.push(atom(`coalesce(ipv4_is_in_any_range(${l.t}, ${v4.map(kqlString).join(', ')}), false)`));
        if (v6.length) parts.push(atom(`coalesce(ipv6_is_in_any_range(${l.t}, ${v6.map(kqlString).join(', ')}), false)`));
        return this.logic('Or', parts);
      }
      default: {
        // Other functions yield values; as a condition Elasticsearch compares them with true.
        const v = this.value(e);
        if (v.type !== 'bool') return this.unsupported(`${e.name} is not a condition`, e.span);
        return this.guarded(atom(v.t), v.guards);
      }
    }
  }

  /** startsWith/endsWith/stringContains whose second argument is a field or expression (compared row by row). */
  private substringOfValue(e: Extract<Expr, { kind: 'Call' }>, a0: Expr, sub: Expr, pos: boolean): Cond {
    for (const x of [a0, sub])
      if (x.kind === 'Field') {
        const s = this.special(x, e, pos);
        if (s) return s;
      }
    const l = this.value(a0);
    const r = this.value(sub);
    if (l.type !== 'string' || r.type !== 'string') return this.unsupported(`${e.name} on a value that is not a string`, e.span);
    const op = { startsWith: 'startswith_cs', endsWith: 'endswith_cs', stringContains: 'contains_cs' }[e.name as 'startsWith'];
    // tolower on both sides: the case-insensitive operators fold ASCII only, and the value is not known here.
    const [lt, rt] = e.caseInsensitive ? [`tolower(${l.t})`, `tolower(${r.t})`] : [l.t, r.t];
    // Every string starts with "": the guards keep a missing second value false, as in Elasticsearch.
    if (r.missing === '') this.approx('EQL3205', 'Defender stores a missing string as ""; a present but empty value counts as missing', e.span, pos, false);
    // stringContains is false when either string is empty (ES StringUtils.stringContains); KQL's contains of "" is true.
    if (e.name === 'stringContains') {
      const t = `(${lt} != "" and ${rt} != "" and ${lt} ${op} ${rt})`;
      return this.guarded(atom(t, `not${t}`), [...l.guards, ...r.guards]);
    }
    return this.guarded(atom(`${lt} ${op} ${rt}`, `${lt} !${op} ${rt}`), [...l.guards, ...r.guards]);
  }

  /**
   * EQL substring(s, start[, end]) is a Python slice (src/matcher/runtime.ts, ES StringUtils.substringSlice): a
   * negative offset counts from the end, out-of-range offsets clamp, start >= end gives "". KQL's substring takes a
   * start and a length and documents only a start inside the string (learn.microsoft.com "substring()"), so the
   * slice bounds are computed with strlen, clamped to [0, strlen], and KQL only sees 0 <= start < strlen and
   * 0 < length <= strlen - start (anything else is "" without calling it).
   */
  private substringValue(e: Extract<Expr, { kind: 'Call' }>): Val {
    const [a0, a1, a2] = e.args;
    if (!a0 || !a1) return this.unsupported('substring without a start', e.span);
    const v = this.value(a0);
    const s = v.type === 'string' ? v.t : `tostring(${v.t})`;
    const offset = (x: Expr): { c: number } | { t: string; guards: string[] } => {
      const c = constNumber(x);
      if (c !== null) return Number.isInteger(c) ? { c } : this.unsupported('substring with a fractional offset', x.span);
      const o = this.value(x);
      if (o.type !== 'number') return this.unsupported('substring with an offset that is not a number', x.span);
      return { t: paren(o.t), guards: o.guards };
    };
    const start = offset(a1);
    const end = a2 ? offset(a2) : null;
    // Elasticsearch's SubstringFunctionProcessor returns the whole string for a null start and slices to the end
    // for a null end; here an offset read from a missing field leaves the value missing, so the test fails.
    if (('guards' in start && start.guards.length) || (end && 'guards' in end && end.guards.length))
      this.approxOnce('EQL3205', 'an offset read from a missing field leaves the substring missing here; Elasticsearch then slices from the start (a missing start: the whole string) or to the end', e.span, 'narrower');
    const n = `strlen(${s})`;
    const guards = [...v.guards, ...('guards' in start ? start.guards : []), ...(end && 'guards' in end ? end.guards : [])];
    const missing = guards.length === v.guards.length && v.missing === '' ? { missing: '' } : {};
    // Elasticsearch counts UTF-16 code units, strlen and substring count code points (the strlen page).
    if (!('c' in start && start.c === 0 && !end))
      this.approxOnce('EQL3245', 'substring offsets count UTF-16 code units in Elasticsearch and characters (code points) in KQL: they differ on values with characters outside the Basic Multilingual Plane', e.span, 'different');
    const out = (t: string): Val => ({ t, type: 'string', guards, ...missing });
    // The slice bounds as KQL expressions, each already inside [0, strlen].
    const lo = 'c' in start ? (start.c >= 0 ? String(start.c) : `max_of(${n} - ${-start.c}, 0)`) : `max_of(iff(${start.t} < 0, ${n} + ${start.t}, ${start.t}), 0)`;
    if (!end) return 'c' in start && start.c === 0 ? out(s) : out(`iff(${lo} < ${n}, substring(${s}, ${lo}), "")`);
    if ('c' in start && start.c >= 0 && 'c' in end) {
      if (end.c >= 0 && end.c <= start.c) return out('""');
      // [a, n - k): non-empty when n > a + k.
      if (end.c < 0) return out(`iff(${n} > ${start.c - end.c}, substring(${s}, ${start.c}, ${n} - ${start.c - end.c}), "")`);
    }
    const hi = 'c' in end ? (end.c >= 0 ? `min_of(${end.c}, ${n})` : `max_of(${n} - ${-end.c}, 0)`) : `max_of(min_of(iff(${end.t} < 0, ${n} + ${end.t}, ${end.t}), ${n}), 0)`;
    const len = lo === '0' ? hi : `${hi} - ${paren(lo)}`;
    return out(`iff(${lo === '0' ? `${hi} > 0` : `${paren(lo)} < ${paren(hi)}`}, substring(${s}, ${lo}, ${len}), "")`);
  }

  callValue(e: Extract<Expr, { kind: 'Call' }>): Val {
    const ci = e.caseInsensitive;
    const args = e.args;
    const lit = (x: Expr | undefined) => (x?.kind === 'Literal' ? x.value : undefined);
    const str = (v: Val) => (v.type === 'string' ? v.t : `tostring(${v.t})`);
    switch (e.name) {
      case 'length': {
        const v = this.value(args[0]!);
        if (v.type !== 'dynamic')
          this.approxOnce('EQL3245', 'length counts UTF-16 code units in Elasticsearch, strlen counts characters (code points): they differ on values with characters outside the Basic Multilingual Plane', e.span, 'different');
        return { t: v.type === 'dynamic' ? `array_length(${v.t})` : `strlen(${str(v)})`, type: 'number', guards: v.guards, ...(v.missing !== undefined ? { missing: 0 } : {}) };
      }
      case 'concat': {
        const vs = args.map((a) => this.value(a));
        return { t: `strcat(${vs.map(str).join(', ')})`, type: 'string', guards: vs.flatMap((v) => v.guards) };
      }
      case 'string': {
        const v = this.value(args[0]!);
        return { t: str(v), type: 'string', guards: v.guards, ...(v.missing === null || v.missing === '' ? { missing: '' } : {}) };
      }
      case 'number': {
        if (args.length > 1) return this.unsupported('number() with a base', e.span);
        const v = this.value(args[0]!);
        if (v.type === 'number') return v;
        const t = `todouble(${v.t})`;
        return { t, type: 'number', guards: [...v.guards, `isnotnull(${t})`], ...(v.missing === '' ? { missing: null } : {}) };
      }
      case 'substring':
        return this.substringValue(e);
      case 'indexOf': {
        const v = this.value(args[0]!);
        const sub = this.value(args[1]!);
        const start = args[2] ? this.value(args[2]) : null;
        const subject = ci ? `tolower(${str(v)})` : str(v);
        const needleLit = lit(args[1]);
        const needle = ci ? (typeof needleLit === 'string' ? kqlString(needleLit.toLowerCase()) : `tolower(${sub.t})`) : sub.t;
        const t = `indexof(${subject}, ${needle}${start ? `, ${start.t}` : ''})`;
        // Elasticsearch returns null when there is no match, Kusto -1: guard unless the test is false on -1.
        return { t, type: 'number', guards: [...v.guards, ...sub.guards, `${t} >= 0`], ...(v.missing === '' && typeof needleLit === 'string' && needleLit !== '' && !start ? { missing: -1 } : {}) };
      }
      case 'between': {
        const v = this.value(args[0]!);
        const left = lit(args[1]);
        const right = lit(args[2]);
        const greedy = args[3] ? lit(args[3]) : false;
        if (typeof left !== 'string' || typeof right !== 'string' || typeof greedy !== 'boolean') return this.unsupported('between with non-literal arguments', e.span);
        const re = `(?s${ci ? 'i' : ''})${reLit(left)}(.${greedy ? '*' : '*?'})${reLit(right)}`;
        return { t: `extract(${kqlString(re)}, 1, ${str(v)})`, type: 'string', guards: v.guards, ...(v.missing === '' ? { missing: '' } : {}) };
      }
      case 'add':
      case 'subtract':
      case 'multiply':
      case 'divide':
      case 'modulo': {
        const op = { add: '+', subtract: '-', multiply: '*', divide: '/', modulo: '%' }[e.name] as '+';
        return this.value({ kind: 'Arith', op, left: args[0]!, right: args[1]!, span: e.span });
      }
      case 'startsWith':
      case 'endsWith':
      case 'stringContains':
      case 'cidrMatch':
        return this.unsupported(`${e.name} used as a value`, e.span);
      default:
        return this.unsupported(`the function ${e.name} has no KQL rendering`, e.span);
    }
  }
}

/** The value of a number literal, possibly negated; null for anything else. */
function constNumber(e: Expr): number | null {
  if (e.kind === 'Literal') return typeof e.value === 'number' ? e.value : null;
  if (e.kind === 'Neg') {
    const c = constNumber(e.arg);
    return c === null ? null : -c;
  }
  return null;
}

function paren(t: string): string {
  return /^[\w.()", @]+$/.test(t) && !/\s[-+*/%]\s/.test(t) ? t : `(${t})`;
}
function flip(op: CompareOp): CompareOp {
  return ({ '<': '>', '>': '<', '<=': '>=', '>=': '<=', '==': '==', '!=': '!=' } as const)[op];
}
function compareJs(a: unknown, op: CompareOp, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  const x = a as number;
  const y = b as number;
  return op === '==' ? x === y : op === '!=' ? x !== y : op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
}

function negate(c: Cond): Cond {
  if (c.t === 'true') return FALSE;
  if (c.t === 'false') return TRUE;
  if (c.neg) return { ...c.neg, neg: { t: c.t, prec: c.prec } };
  return { t: `not(${c.t})`, prec: 'atom', neg: { t: c.t, prec: c.prec } };
}

// Defender's hive spellings (field-mappings.md §5): Elastic writes HKLM\, HKU\, HKCU\ or \REGISTRY\MACHINE\...
const HIVES: [RegExp, string][] = [
  [/^HKLM\\/i, 'HKEY_LOCAL_MACHINE\\'],
  [/^\\REGISTRY\\MACHINE\\/i, 'HKEY_LOCAL_MACHINE\\'],
  [/^HKU\\/i, 'HKEY_USERS\\'],
  [/^\\REGISTRY\\USER\\/i, 'HKEY_USERS\\'],
  [/^HKCU\\/i, 'HKEY_CURRENT_USER\\'],
];
function rewriteHive(p: Pattern, ci: boolean): Pattern {
  const fix = (s: string) => {
    for (const [re, to] of HIVES) if (re.test(s) && (ci || re.exec(s)![0] === re.exec(s)![0].toUpperCase())) return s.replace(re, to);
    return s;
  };
  switch (p.kind) {
    case 'exact':
    case 'prefix':
      return { ...p, value: fix(p.value), text: fix(p.text) };
    case 'glob': {
      const first = p.parts[0];
      if (first?.t !== 'lit') return p;
      return { ...p, value: fix(p.value), parts: [{ t: 'lit', v: fix(first.v) }, ...p.parts.slice(1)] };
    }
    default:
      return p;
  }
}

/**
 * Whether a condition on one field is true for an event whose field has exactly `value`; null when the
 * condition is not a simple test of that field. Used for enumerations the mapping translates.
 */
export function accepts(e: Expr, value: string): boolean | null {
  const lower = (s: string) => s.toLowerCase();
  switch (e.kind) {
    case 'Compare': {
      const lit = e.left.kind === 'Literal' ? e.left : e.right.kind === 'Literal' ? e.right : null;
      // A boolean field's values are spelled "true" and "false" in the mapping.
      if (!lit || (typeof lit.value !== 'string' && typeof lit.value !== 'boolean') || (e.op !== '==' && e.op !== '!=')) return null;
      return (String(lit.value) === value) === (e.op === '==');
    }
    case 'In':
      if (!e.values.every((v) => v.kind === 'Literal')) return null;
      return e.values.some((v) => typeof (v as { value: unknown }).value === 'string' && (e.caseInsensitive ? lower((v as { value: string }).value) === lower(value) : (v as { value: string }).value === value));
    case 'Match':
      return e.patterns.some((p) => {
        if (p.kind === 'regex') {
          const r = luceneBody(p.value, e.caseInsensitive);
          return 're' in r && new RegExp(`^(?:${r.re})$`, 's').test(value);
        }
        const v = e.caseInsensitive ? lower(value) : value;
        const f = (s: string) => (e.caseInsensitive ? lower(s) : s);
        if (p.kind === 'glob') return new RegExp(`^${globToRe(p.parts, '.')}$`, e.caseInsensitive ? 'is' : 's').test(value);
        const t = f(p.text);
        return p.kind === 'exact' ? v === t : p.kind === 'prefix' ? v.startsWith(t) : p.kind === 'suffix' ? v.endsWith(t) : v.includes(t);
      });
    case 'Call': {
      const sub = e.args[1];
      if (!sub || sub.kind !== 'Literal' || typeof sub.value !== 'string') return null;
      const v = e.caseInsensitive ? lower(value) : value;
      const t = e.caseInsensitive ? lower(sub.value) : sub.value;
      if (e.name === 'startsWith') return v.startsWith(t);
      if (e.name === 'endsWith') return v.endsWith(t);
      if (e.name === 'stringContains') return v.includes(t);
      return null;
    }
    case 'Exists':
      return true;
    default:
      return null;
  }
}

// ---- queries ---------------------------------------------------------------------------------------

const ALWAYS = ['Timestamp', 'DeviceId', 'ReportId'];
/** The columns that identify a Defender event (ReportId is a counter, unique with the device and time), typed. */
const IDENTITY = [['Timestamp', 'datetime'], ['DeviceId', 'string'], ['ReportId', 'long']] as const;

interface RenderedFilter {
  table: string;
  /** Pipeline stages after the table name (each starts with `| `). */
  stages: string[];
  touched: string[];
  r: FilterRenderer;
}

function osPlatformTest(r: FilterRenderer, conds: Cond[]): string {
  return `| join kind=leftsemi (DeviceInfo | where ${r.logic('And', conds).t} | distinct DeviceId) on DeviceId`;
}

/** Render one event filter against one class: table, class filter, conditions, OS join. */
function renderFilter(filter: EventFilter, cls: EventClass, implied: Set<Expr>, ctx: TranslateContext): RenderedFilter {
  const r = new FilterRenderer(ctx, cls);
  const table = String(cls.source.table);
  const stages: string[] = [];
  const lossy = cls.source.lossy as { direction: Direction; reason: string; collection?: boolean } | undefined;
  if (lossy) ctx.approximate('EQL3004', `${table}: ${lossy.reason}`, filter.span, lossy.direction, lossy.collection ? 'collection' : undefined);
  // `filter`: column → value(s) every row of the class has (CloudAppEvents: the connected app; a boolean column
  // such as EntraIdSpnSignInEvents's IsManagedIdentity takes a boolean, a number column a number).
  // `time_column`: a Microsoft Sentinel table keeps its event time in TimeGenerated; the rest of the query (sequence
  // order, maxspan, head/tail, project) reads Timestamp, as in Defender's tables.
  const timeColumn = cls.source.time_column;
  if (typeof timeColumn === 'string') stages.push(`| extend Timestamp = ${timeColumn}`);
  // A number (SecurityEvent's EventID) is written as a number only when it is one (a mapping file holds anything).
  const literal = (v: string | boolean | number) => (typeof v === 'boolean' ? String(v) : typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : kqlString(String(v)));
  for (const [col, v] of Object.entries((cls.source.filter ?? {}) as Record<string, string | boolean | number | (string | boolean | number)[]>)) {
    const vals = [v].flat();
    stages.push(vals.length === 1 ? `| where ${col} == ${literal(vals[0]!)}` : `| where ${col} in (${vals.map(literal).join(', ')})`);
    r.touch(col);
  }
  const actionTypes = cls.source.action_types as string[] | undefined;
  if (actionTypes?.length) {
    stages.push(actionTypes.length === 1 ? `| where ActionType == ${kqlString(actionTypes[0]!)}` : `| where ActionType in (${actionTypes.map(kqlString).join(', ')})`);
    r.touch('ActionType');
  }
  // `true_keys`: keys of a JSON column that every row of the class holds as true (Defender for Identity's
  // "TO <flag>" value: the class is the flag being set, not cleared).
  for (const [col, keys] of Object.entries((cls.source.true_keys ?? {}) as Record<string, string[]>)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(col)) {
      ctx.unsupported('EQL3203', `invalid column ${JSON.stringify(col)} in the true_keys of the mapping class ${cls.name}`, filter.span);
      throw new Unsupported();
    }
    for (const k of keys) stages.push(`| where tobool(parse_json(${col})[${kqlString(k)}])`);
    r.touch(col);
  }
  const conjuncts = conjunctsOf(filter.where).filter((c) => !implied.has(c));
  // A conjunct that folds to false (a value the table never holds, e.g. an event.action with no Defender
  // ActionType): no row can match, which is no rule at all.
  const never = (cond: Cond, c: Expr) => {
    if (cond.t !== 'false') return;
    ctx.unsupported('EQL3216', `${table} holds no event this filter can match (this condition is never true there)`, c.span);
    throw new Unsupported();
  };
  // host.os.type as a plain top-level test: a semi-join with DeviceInfo (or, with --kql-os drop, nothing).
  const osConds: Cond[] = [];
  const rest: Expr[] = [];
  for (const c of conjuncts) {
    const f = singleField(c);
    if (f?.name === 'host.os.type') {
      if (ctx.options.kqlOs === 'drop') {
        ctx.approximate('EQL3208', 'host.os.type is left out (--kql-os drop): Defender tables have no OS column', c.span, 'wider');
        continue;
      }
      const before = r.needsOsLookup;
      const cond = r.cond(c, true);
      r.needsOsLookup = before;
      never(cond, c);
      osConds.push(cond);
      if (onlyWindows(c)) r.windowsOnly = true;
    } else rest.push(c);
  }
  let wrote = 0;
  const wheres: string[] = [];
  for (const c of rest) {
    const cond = r.cond(c, true);
    never(cond, c);
    if (cond.t === 'true') continue;
    wrote++;
    // A test the class's own filter already made (its ActionType) is not repeated.
    if (!stages.includes(`| where ${cond.t}`)) wheres.push(`| where ${cond.t}`);
  }
  // A condition on a data field that the class itself guarantees (4738's NewUACList flag: the activity the rows are)
  // is expressed by the class's own filter.
  const byClass = [...implied].some((c) => {
    const f = singleField(c);
    return f !== null && !CLASSIFYING_FIELDS.includes(f.name);
  });
  if (r.dropped && !wrote && conjuncts.length && !byClass) {
    ctx.unsupported('EQL3209', 'no condition of this event filter can be expressed in Defender columns', filter.span);
    throw new Unsupported();
  }
  if (r.needsOsLookup) stages.push('| lookup kind=leftouter (DeviceInfo | summarize arg_max(Timestamp, OSPlatform) by DeviceId | project DeviceId, OSPlatform) on DeviceId');
  // Filters that do not read a computed column run before the (costlier) extend.
  const computed = [...r.extends.keys(), ...[...r.applies.values()].flatMap((a) => a.counts.map(([n]) => n))];
  const usesExtend = (w: string) => computed.some((n) => new RegExp(`\\b${n}\\b`).test(w));
  stages.push(...wheres.filter((w) => !usesExtend(w)));
  for (const [name, expr] of r.extends) stages.push(`| extend ${name} = ${expr}`);
  // One mv-apply per list, counting the elements that meet each test.
  for (const [list, { v, counts }] of r.applies)
    stages.push(`| mv-apply ${v} = iff(array_length(${list}) > 0, ${list}, pack_array(${list})) on (summarize ${counts.map(([n, c]) => `${n} = countif(${c})`).join(', ')})`);
  stages.push(...wheres.filter(usesExtend));
  if (osConds.length) stages.push(osPlatformTest(r, osConds));
  return { table, stages, touched: r.touched, r };
}

function singleField(e: Expr): Field | null {
  const arg = e.kind === 'Compare' ? (e.left.kind === 'Field' ? e.left : e.right.kind === 'Field' ? e.right : null) : e.kind === 'In' || e.kind === 'Match' ? e.arg : null;
  return arg?.kind === 'Field' ? arg : null;
}
function onlyWindows(e: Expr): boolean {
  return accepts(e, 'windows') === true && accepts(e, 'linux') === false && accepts(e, 'macos') === false;
}

/** The classes a filter reads: one, or for `any` (and event.category lists) one per category, unioned. */
function classesFor(filter: EventFilter, ctx: TranslateContext): { cls: EventClass; implied: Set<Expr>; filter: EventFilter }[] {
  // A field a class's `when` names classifies too (a log's own category field, e.g. azure.signinlogs.category).
  const facts = filterFacts(filter, [...new Set(ctx.mapping.classes.flatMap((c) => Object.keys(c.when)))]);
  // A filter naming another product's log (its dataset) reads that log only; endpoint rules never read it.
  const own = ctx.mapping.classes.filter((c) => requiresOf(c).length && requiresOf(c).every((f) => facts.values.has(f)));
  let ownChoice = own.length ? chooseClass({ ...ctx.mapping, classes: own }, facts) : null;
  // `any` reads a class that holds some categories only (a Windows Security action) by one of them, narrower.
  for (const cat of filter.category === null && !ownChoice ? new Set(own.flatMap((c) => [c.when.category ?? []].flat())) : []) {
    const c = chooseClass({ ...ctx.mapping, classes: own }, { ...facts, category: cat });
    if (!c) continue;
    const held = [c.cls.when.category!].flat();
    const loss = { message: `the ${ctx.mapping.target} source "${c.cls.name}" only holds ${held.join(' or ')} events`, direction: 'narrower' as const, node: null, only: { field: 'event.category', values: held } };
    ownChoice = { ...c, losses: [...c.losses, loss] };
    break;
  }
  if (ownChoice) {
    for (const l of ownChoice.losses) ctx.approximate('EQL3004', l.message, l.node?.span ?? filter.span, l.direction, lossNote(l));
    // Another product's log is not divided by the rule's event category: the category is not tested, unless every
    // row of the class is of that category (`event_category`: Entra sign-ins are all authentication events).
    if (filter.category !== null && ownChoice.cls.when.category === undefined && ownChoice.cls.source.event_category !== filter.category)
      ctx.approximate('EQL3004', `${String(ownChoice.cls.source.table)} does not tell ${filter.category} events from others`, filter.span, 'wider');
    return [{ cls: ownChoice.cls, implied: ownChoice.implied, filter }];
  }
  const endpoint = { ...ctx.mapping, classes: ctx.mapping.classes.filter((c) => !requiresOf(c).length) };
  let cats: (string | null)[] = [filter.category];
  if (filter.category === null) {
    const ec = facts.values.get('event.category');
    cats = ec ? ec.values : [...new Set(endpoint.classes.map((c) => [c.when.category].flat()[0]).filter((c): c is string => typeof c === 'string'))];
  }
  const out: { cls: EventClass; implied: Set<Expr>; filter: EventFilter }[] = [];
  // The rule's data fields (classifying event.* fields are what chose the class in the first place).
  const fields = [...new Set([...walk(filter.where)].flatMap((e) => (e.kind === 'Field' && !e.name.startsWith('event.') ? [e.name] : [])))];
  const mapped = (cls: EventClass) => fields.filter((f) => fieldOf(ctx.mapping, cls, f)).length;
  for (const cat of cats) {
    let choice = chooseClass(endpoint, { ...facts, category: cat });
    if (!choice) {
      // A category the rule lists but Defender has no table for: its events are not matched.
      if (cats.length > 1 && filter.category === null && facts.values.has('event.category'))
        ctx.approximate('EQL3210', `no Defender table holds ${cat} events; they are left out of the union`, facts.values.get('event.category')!.node.span, 'narrower');
      continue;
    }
    // A class of the same category that maps more of the rule's fields wins (e.g. `network where
    // dns.question.name ...` is a DNS lookup, FM §1), its narrowing declared like any other.
    for (const cls of endpoint.classes) {
      if (cls === choice.cls || mapped(cls) <= mapped(choice.cls)) continue;
      const alt = chooseClass({ ...endpoint, classes: [cls] }, { ...facts, category: cat });
      if (alt) choice = alt;
    }
    if (out.some((o) => o.cls === choice.cls)) continue;
    for (const l of choice.losses) ctx.approximate('EQL3004', l.message, l.node?.span ?? filter.span, l.direction, lossNote(l));
    out.push({ cls: choice.cls, implied: choice.implied, filter: { ...filter, category: cat } });
  }
  return out;
}

/**
 * Render a filter over each of its classes. One class renders in place; with several, a branch none of whose
 * conditions is expressible is left out (declared, narrower) and the rest are unioned. `extra` adds stages
 * per branch (sequence step and key columns); a branch whose extra throws Unsupported abandons the query.
 */
function renderBranches(
  filter: EventFilter,
  classes: { cls: EventClass; implied: Set<Expr> }[],
  ctx: TranslateContext,
  extra: (cls: EventClass, ctx: TranslateContext) => { stages: string[]; touched: string[] } = () => ({ stages: [], touched: [] }),
): { branches: string[][]; touched: string[] } {
  const touched: string[] = [];
  const add = (cols: string[]) => cols.forEach((t) => touched.includes(t) || touched.push(t));
  if (classes.length === 1) {
    const { cls, implied } = classes[0]!;
    const rf = renderFilter(filter, cls, implied, ctx);
    const x = extra(cls, ctx);
    add([...rf.touched, ...x.touched]);
    return { branches: [[rf.table, ...rf.stages, ...x.stages]], touched };
  }
  const branches: string[][] = [];
  let inexpressible = 0;
  for (const { cls, implied } of classes) {
    const sub = new Ledger(ctx.target, ctx.mapping, ctx.options);
    let rf: RenderedFilter;
    try {
      rf = renderFilter(filter, cls, implied, sub);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      if (sub.diagnostics.some((d) => d.code === 'EQL3216')) {
        // Nothing Defender records is lost, but the rule's events of a kind Defender does not record are.
        ctx.approximate('EQL3217', `${cls.source.table} is left out of the union: it holds no event this filter can match`, filter.span, 'narrower');
        continue;
      }
      inexpressible++;
      ctx.approximate('EQL3210', `${cls.source.table} is left out of the union: ${sub.diagnostics.find((d) => d.severity === 'error')?.message ?? 'not expressible'}`, filter.span, 'narrower');
      continue;
    }
    ctx.diagnostics.push(...sub.diagnostics);
    const x = extra(cls, ctx);
    branches.push([rf.table, ...rf.stages, ...x.stages]);
    add([...rf.touched, ...x.touched]);
  }
  if (!branches.length) {
    if (!inexpressible) ctx.unsupported('EQL3216', 'no Defender table holds an event this filter can match', filter.span);
    else ctx.unsupported('EQL3003', 'no Defender table can express this filter', filter.span);
    throw new Unsupported();
  }
  return { branches, touched };
}

/** One branch as a pipeline on its own lines; several as a union of one-line branches. */
const unionOf = (branches: string[][]) => (branches.length === 1 ? branches[0]!.join('\n') : `union\n  ${branches.map((b) => `(${b.join(' ')})`).join(',\n  ')}`);

function renderWhole(filter: EventFilter, ctx: TranslateContext): { text: string; touched: string[]; filters: EventFilter[] } {
  const classes = classesFor(filter, ctx);
  if (!classes.length) {
    ctx.unsupported('EQL3003', unreadDatasets(ctx.mapping, filterFacts(filter)) ?? `no Defender table holds ${filter.category ?? 'any'} events of this kind`, filter.span);
    throw new Unsupported();
  }
  const { branches, touched } = renderBranches(filter, classes, ctx);
  return { text: unionOf(branches), touched, filters: [filter] };
}

/** Run `f` on a scratch ledger: its diagnostics join `ctx` only when it succeeds. */
function attempt<T>(ctx: TranslateContext, f: (sub: TranslateContext) => T): T | null {
  const sub = new Ledger(ctx.target, ctx.mapping, ctx.options);
  try {
    const out = f(sub);
    ctx.diagnostics.push(...sub.diagnostics);
    return out;
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/**
 * A filter no table reads as a whole whose top-level `or` has branches naming another product's log (a class
 * with `requires`, such as Windows 4738 in IdentityDirectoryEvents; Elastic's rules test 4738 and 5136 under one
 * `or`): those branches, each with the other conjuncts, are rendered as filters of their own and unioned; the
 * other branches are left out, declared narrower. Null when no branch renders.
 */
function renderOwnBranches(filter: EventFilter, ctx: TranslateContext): { text: string; touched: string[]; filters: EventFilter[] } | null {
  const conjuncts = conjunctsOf(filter.where);
  const ors = conjuncts.filter((c) => c.kind === 'Or');
  if (ors.length !== 1 || ors[0]!.kind !== 'Or') return null;
  const rest = conjuncts.filter((c) => c !== ors[0]);
  // The class a branch reads when it names another product's log (only such classes are read branch by branch).
  const reads = (f: EventFilter): EventClass | null => {
    const chosen = classesFor(f, new Ledger(ctx.target, ctx.mapping, ctx.options));
    return chosen.length === 1 && requiresOf(chosen[0]!.cls).length ? chosen[0]!.cls : null;
  };
  const subs = ors[0].args.map((b) => {
    const f = { ...filter, where: { kind: 'And' as const, args: [...rest, ...conjunctsOf(b)], span: filter.where.span } };
    return { b, f, cls: reads(f) };
  });
  if (!subs.some((s) => s.cls)) return null;
  const kept: { text: string; touched: string[]; f: EventFilter; cls: EventClass; diagnostics: TranslateContext['diagnostics'] }[] = [];
  const dropped: { b: Expr; why: string }[] = [];
  for (const { b, f, cls } of subs) {
    const scratch = new Ledger(ctx.target, ctx.mapping, ctx.options);
    let r: ReturnType<typeof renderWhole> | null = null;
    try {
      if (cls) r = renderWhole(f, scratch);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
    }
    if (!r || !cls) {
      dropped.push({ b, why: scratch.diagnostics.find((d) => d.severity === 'error')?.message ?? 'no Defender table holds these events' });
      continue;
    }
    kept.push({ ...r, f, cls, diagnostics: scratch.diagnostics });
  }
  // One union holds one set of identifying columns (ReportId is a long in Device tables, a string in others).
  const shapes = new Set(kept.map(({ cls }) => JSON.stringify([cls.source.project ?? null, cls.source.column_types ?? null])));
  if (!kept.length || shapes.size > 1) return null;
  for (const k of kept) ctx.diagnostics.push(...k.diagnostics);
  for (const { b, why } of dropped) ctx.approximate('EQL3240', `this branch of the or is left out: ${why}`, b.span, 'narrower');
  const touched = [...new Set(kept.flatMap((k) => k.touched))];
  const text = kept.length === 1 ? kept[0]!.text : `union\n  ${kept.map((k) => `(${k.text.split('\n').join(' ')})`).join(',\n  ')}`;
  return { text, touched, filters: kept.map((k) => k.f) };
}

function renderEventQuery(filter: EventFilter, ctx: TranslateContext): { text: string; touched: string[]; filters: EventFilter[] } {
  // The whole filter first; only when no table reads it are its or-branches tried, and when they fail too the
  // whole filter's diagnostics are the ones reported.
  return attempt(ctx, (sub) => renderWhole(filter, sub)) ?? renderOwnBranches(filter, ctx) ?? renderWhole(filter, ctx);
}

/**
 * A filter that names no dataset and that no source reads as it is: when the rule's index names datasets
 * (`logs-o365.audit-*`), the filter reads those (a dataset test added, which the class implies). Declared
 * narrower: the rest of the index (`filebeat-*`), and events without a dataset, are left out.
 */
const INDEX_OF_DATASET = /^logs-([a-z0-9_]+\.[a-z0-9_]+)-\*$/;
function withIndexDatasets(filter: EventFilter, index: readonly string[] | undefined, ctx: TranslateContext): EventFilter {
  const named = (index ?? []).flatMap((p) => INDEX_OF_DATASET.exec(p)?.[1] ?? []);
  if (!named.length || filterFacts(filter).datasets.length) return filter;
  const reads = (f: EventFilter) => {
    try {
      return classesFor(f, new Ledger(ctx.target, ctx.mapping, ctx.options)).length > 0;
    } catch (e) {
      if (e instanceof Unsupported) return false;
      throw e;
    }
  };
  if (reads(filter)) return filter;
  const span = filter.span;
  const arg: Field = { kind: 'Field', path: ['data_stream', 'dataset'], name: 'data_stream.dataset', optional: false, span };
  const test: Expr = { kind: 'In', arg, values: named.map((value) => ({ kind: 'Literal', type: 'string', value, span })), caseInsensitive: false, span };
  const withDataset: EventFilter = { ...filter, where: { kind: 'And', args: [test, ...(filter.where.kind === 'And' ? filter.where.args : [filter.where])], span } };
  if (!reads(withDataset)) return filter;
  const rest = index!.filter((p) => !INDEX_OF_DATASET.test(p));
  ctx.approximate('EQL3236', `the filter names no dataset: it reads ${named.join(', ')}, which the rule's index names; ${rest.length ? `the rest of the index (${rest.join(', ')}) and ` : ''}events without a dataset are left out`, span, 'narrower');
  return withDataset;
}

/**
 * The columns a custom detection needs, for the tables the filters read: Timestamp, DeviceId, ReportId, or a
 * class's `project` for a table without DeviceId (CloudAppEvents). A union has the columns of all its tables.
 */
function detectionColumns(filters: EventFilter[], ctx: TranslateContext): string[] {
  const scratch = new Ledger(ctx.target, ctx.mapping, ctx.options);
  const cols: string[] = [];
  for (const f of filters)
    for (const { cls } of classesFor(f, scratch))
      for (const c of Array.isArray(cls.source.project) ? (cls.source.project as string[]) : ALWAYS) if (!cols.includes(c)) cols.push(c);
  return cols.length ? cols : ALWAYS;
}

/** The column mapping of a sequence key in one class, or null when Defender has no column for it. */
function keyMapping(key: Expr, cls: EventClass, ctx: TranslateContext): FieldMapping | null {
  if (key.kind !== 'Field') return null;
  const fm = fieldOf(ctx.mapping, cls, key.name);
  if (!fm || Array.isArray(fm.field) || fm.values || fm.unreadable) return null;
  // A plain column, a path into a dynamic column (a cloud log's record) read as a string, or an EventData field.
  return !fm.extract && (!fm.transform || dynamicPath(fm.transform) || eachPath(fm.transform)?.xml) ? fm : null;
}

/**
 * A `dynamic-each:<list>[<Key>=<value>].<path>` transform: a value in each element of a list (`[]`: every element);
 * without `<list>` the column itself is the list (Sentinel's AuditLogs.AdditionalDetails).
 * `eventdata:<Name>`: SecurityEvent's EventData XML, whose EventData element holds one Data element per field,
 * named by its Name attribute; parse_xml makes each an object with "@Name" and "#text" (Microsoft's Sentinel
 * queries read it so: mappings/kql.yaml). `xml`: the list is read from the column's parsed XML.
 */
interface EachPath {
  list: string[];
  key: { name: string; value: string } | null;
  path: string[];
  xml?: boolean;
}
const isEachTransform = (t: string | undefined) => !!t && (t.startsWith('dynamic-each:') || t.startsWith('eventdata:'));
/** The list an element-wise field reads, as a KQL expression. */
const listOf = (column: string, each: EachPath) => (each.xml ? `parse_xml(${column}).${each.list.join('.')}` : [column, ...each.list].join('.'));
/** A member of a dynamic value: `.key`, or `["@key"]` for a name that is no identifier. */
const member = (v: string, k: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${v}.${k}` : `${v}[${kqlString(k)}]`);
function eachPath(transform: string): EachPath | null {
  const x = /^eventdata:([A-Za-z][A-Za-z0-9_]*)$/.exec(transform);
  if (x) return { list: ['EventData', 'Data'], key: { name: '@Name', value: x[1]! }, path: ['#text'], xml: true };
  const m = /^dynamic-each:([^[\]]*)\[(?:([A-Za-z_][A-Za-z0-9_]*)=([^]+))?\]\.([A-Za-z0-9_.]+)$/.exec(transform);
  if (!m) return null;
  const [list, path] = [m[1] ? m[1].split('.') : [], m[4]!.split('.')];
  if (![...list, ...path].every((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))) return null;
  return { list, key: m[2] ? { name: m[2], value: m[3]! } : null, path };
}

/**
 * The path of a `dynamic:<path>` transform (RawEventData of a cloud log), or null when invalid or another transform.
 * A number is an array index (Sentinel's AuditLogs: `0.modifiedProperties.1.newValue`).
 */
function dynamicPath(transform: string | undefined): string[] | null {
  if (!transform?.startsWith('dynamic:')) return null;
  const path = transform.slice(8).split('.');
  return path.every((k) => /^[A-Za-z_][A-Za-z0-9_]*$|^(0|[1-9][0-9]{0,5})$/.test(k)) ? path : null;
}
/** The member access of a dynamic path: `.key`, `[index]`. */
const memberPath = (path: readonly string[]) => path.map((k) => (/^[0-9]/.test(k) ? `[${k}]` : `.${k}`)).join('');

/**
 * The expressions that identify a sequence key in one class (one per key column), the columns they read, and the
 * stages that compute them first. An EventData field (the `n`th key) is the text of the Data element of its name:
 * one mv-apply over the elements takes it (take_anyif; "" when the event has none, so the event is left out as
 * Elasticsearch leaves out one without the key). Kusto's mv-apply keeps the row's columns and adds the
 * subquery's, and a summarize without `by` gives one row even for no element.
 */
function keyColumns(key: Expr, cls: EventClass, ctx: TranslateContext, n: number): { exprs: string[]; cols: string[]; stages: string[] } {
  const fm = keyMapping(key, cls, ctx)!;
  if (key.kind !== 'Field' || typeof fm.field !== 'string') throw new Error('keyColumns on a key without a column');
  if (fm.lossy) ctx.approximate('EQL3006', `${key.name} → ${fm.key?.join(' + ') ?? fm.field}: ${fm.lossy.reason}`, key.span, fm.lossy.direction, fm.lossy.collection ? 'collection' : undefined);
  const path = dynamicPath(fm.transform);
  if (path) return { exprs: [`tostring(${fm.field}${memberPath(path)})`], cols: [fm.field], stages: [] };
  const each = fm.transform ? eachPath(fm.transform) : null;
  if (each?.xml && each.key) {
    const [v, out, list] = [`KeyElement${n}`, `EventDataKey${n}`, listOf(fm.field, each)];
    const text = `tostring(${each.path.reduce(member, v)})`;
    const named = `tostring(${member(v, each.key.name)}) == ${kqlString(each.key.value)}`;
    return { exprs: [out], cols: [fm.field], stages: [`| mv-apply ${v} = iff(array_length(${list}) > 0, ${list}, pack_array(${list})) on (summarize ${out} = take_anyif(${text}, ${named}))`] };
  }
  const cols = fm.key ?? [fm.field];
  return { exprs: cols, cols, stages: [] };
}

/** The type of the columns that identify an event: ReportId is a long in Device* tables, a string in cloud logs (schema). */
const identityType = (cls: EventClass, col: string, dflt: string): string => ((cls.source.column_types ?? {}) as Record<string, string>)[col] ?? dflt;

/**
 * A sequence, or a sample (`sample by`), whose filters are tagged, keyed and unioned like a sequence's steps. A
 * sample keeps each key's earliest event per filter (`summarize arg_min(Timestamp, *)`), then the scan, over the
 * rows sorted by key and filter number, completes a key that has a row for every filter.
 */
function renderSequence(seq: Sequence | Sample, ctx: TranslateContext): { text: string; touched: string[]; keys: string[] } {
  const sample = seq.kind === 'Sample';
  const tag = sample ? 'Sample' : 'Sequence';
  const maxspan = seq.kind === 'Sequence' ? seq.maxspan : null;
  if (seq.kind === 'Sequence' && seq.until) ctx.approximate('EQL3212', 'until is left out: matches an until event would have cancelled are kept', seq.until.span, 'wider');
  const positives = seq.steps.filter((s) => s.kind === 'SampleStep' || !s.missing);
  for (const s of seq.steps) if (s.kind === 'SequenceStep' && s.missing) ctx.approximate('EQL3213', 'a missing-event step is left out: sequences with the event in between are kept', s.span, 'wider');
  if (positives.length < 1) {
    ctx.unsupported('EQL3007', 'a sequence without positive steps', seq.span);
    throw new Unsupported();
  }
  const branches: string[][] = [];
  const touched: string[] = [];
  let keyCount = -1;
  let optional: boolean[] = [];
  // A step over several tables (`any`, event.category lists) is a union of its branches, all with one step number.
  const chosen = positives.map((step) => {
    const classes = classesFor(step.filter, ctx);
    if (!classes.length) {
      ctx.unsupported('EQL3003', unreadDatasets(ctx.mapping, filterFacts(step.filter)) ?? `no Defender table holds ${step.filter.category ?? 'any'} events of this kind`, step.filter.span);
      throw new Unsupported();
    }
    return classes;
  });
  // A sample fills each filter with a distinct event; a row of a table two filters read can fill both here.
  const tables = chosen.map((classes) => new Set(classes.map(({ cls }) => String(cls.source.table))));
  const shared = tables.flatMap((t, i) => tables.slice(i + 1).flatMap((u) => [...t].filter((x) => u.has(x))));
  if (sample && shared.length)
    ctx.approximate('EQL3246', `two filters of the sample read ${[...new Set(shared)].join(', ')}: one row meeting both fills both here, while Elasticsearch fills each filter with a distinct event (the earliest that is not already used)`, seq.span, 'different');
  // A key position Defender cannot fill in every step is left out. That is not just wider: the values of the
  // left-out key share one pending sequence per stage, so a newer event of another value replaces an older one.
  const keyCountAll = seq.by.length + (positives[0]?.by.length ?? 0);
  const usable = Array.from({ length: keyCountAll }, (_, j) =>
    positives.every((step, i) => {
      const k = [...seq.by, ...step.by][j];
      return k !== undefined && chosen[i]!.every(({ cls }) => keyMapping(k, cls, ctx) !== null);
    }),
  );
  usable.forEach((ok, j) => {
    if (ok) return;
    const k = [...seq.by, ...positives[0]!.by][j]!;
    ctx.approximate('EQL3211', `the sequence key ${k.kind === 'Field' ? k.name : 'expression'} has no Defender column in every step and is left out`, k.span, 'different');
  });
  // With every key left out, the steps would be joined across all hosts and entities: another rule, not a wider one.
  if (keyCountAll > 0 && !usable.some(Boolean)) {
    ctx.unsupported('EQL3248', `no ${sample ? 'sample' : 'sequence'} key has a Defender column in every ${sample ? 'filter' : 'step'}; without one, events of unrelated hosts and entities would be joined`, seq.span);
    throw new Unsupported();
  }
  // An optional key missing from two events joins them in Elasticsearch (null with null); a missing string
  // column is "" (equal to ""), but a missing number or time is null, which equals nothing in Kusto.
  const first = [...seq.by, ...positives[0]!.by];
  first.forEach((k, j) => {
    if (!usable[j] || k.kind !== 'Field' || !k.optional) return;
    const numeric = positives.some((step, i) => chosen[i]!.some(({ cls }) => {
      const fm = keyMapping([...seq.by, ...step.by][j]!, cls, ctx)!;
      return fm.type === 'number' || fm.key !== undefined;
    }));
    if (numeric) ctx.approximate('EQL3215', `the optional key ${k.name} joins events without it in Elasticsearch; its Defender column is null there and null equals nothing in Kusto`, k.span, 'narrower');
  });
  // A union of tables whose identifying column has two types splits it in two (ReportId_long, ReportId_string):
  // the branches whose column is not a string convert it.
  const mixed = new Set(IDENTITY.filter(([c, dflt]) => new Set(chosen.flat().map(({ cls }) => identityType(cls, c, dflt))).size > 1).map(([c]) => c));
  const unify = (cls: EventClass) => IDENTITY.filter(([c, dflt]) => mixed.has(c) && identityType(cls, c, dflt) !== 'string').map(([c]) => `| extend ${c} = tostring(${c})`);
  // The last step's row carries the events before it: Defender identifies an event by Timestamp, DeviceId
  // and ReportId (the columns a custom detection needs), so each earlier event gets these three, numbered.
  // A table without DeviceId (CloudAppEvents names its own columns) identifies its events without it; one without
  // ReportId (a Sentinel table) names the column that identifies its rows (`row_id`), carried as ReportId. A log
  // with neither (SecurityEvent) names the columns that identify its events (`identity`), typed by `column_types`;
  // the steps must then all read such a log, with the same identity.
  const rowIdOf = (cls: EventClass) => (typeof cls.source.row_id === 'string' ? cls.source.row_id : null);
  const provides = (cls: EventClass, c: string) => !Array.isArray(cls.source.project) || (cls.source.project as string[]).includes(c) || (c === 'ReportId' && rowIdOf(cls) !== null);
  const declared = [...new Set(chosen.flat().map(({ cls }) => JSON.stringify(cls.source.identity ?? null)))];
  if (declared.length > 1) {
    ctx.unsupported('EQL3251', 'the steps read tables that identify their events by different columns, which one sequence cannot carry', seq.span);
    throw new Unsupported();
  }
  const own = JSON.parse(declared[0] ?? 'null') as unknown;
  const identity = Array.isArray(own)
    ? own.map((c) => [String(c), identityType(chosen[0]![0]!.cls, String(c), c === 'Timestamp' ? 'datetime' : 'string')] as const)
    : IDENTITY.filter(([c]) => chosen.flat().every(({ cls }) => provides(cls, c))).map(([c, dflt]) => [c, mixed.has(c) ? 'string' : identityType(chosen[0]![0]!.cls, c, dflt)] as const);
  const asReportId = (cls: EventClass) => {
    const id = rowIdOf(cls);
    return id !== null && identity.some(([c]) => c === 'ReportId') ? [`| extend ReportId = ${id}`] : [];
  };
  // Key columns twice in every branch (host.id and an entity id both hold DeviceId) are compared once.
  const keysOf = (step: (typeof positives)[number], cls: EventClass, lctx: TranslateContext) =>
    [...seq.by, ...step.by].flatMap((k, j) => (usable[j] ? [{ ...keyColumns(k, cls, lctx, j + 1), optional: k.kind === 'Field' && k.optional }] : []));
  const flat = (ks: ReturnType<typeof keysOf>) => ks.flatMap((k) => k.exprs.map((e, i) => ({ e, optional: k.optional, stages: i ? [] : k.stages })));
  const scratch = new Ledger(ctx.target, ctx.mapping, ctx.options);
  const planned = positives.flatMap((step, i) => chosen[i]!.map(({ cls }) => flat(keysOf(step, cls, scratch)).map((k) => k.e)));
  const width = Math.max(0, ...planned.map((p) => p.length));
  const keep = Array.from({ length: width }, (_, p) => !Array.from({ length: p }, (_, q) => q).some((q) => planned.every((l) => l[q] !== undefined && l[q] === l[p])));
  positives.forEach((step, i) => {
    const rendered = renderBranches(step.filter, chosen[i]!, ctx, (cls, lctx) => {
      const perKey = keysOf(step, cls, lctx);
      const keys = flat(perKey).filter((_, p) => keep[p]);
      optional = keys.map((k) => k.optional);
      if (keyCount >= 0 && keys.length !== keyCount) {
        lctx.unsupported('EQL3211', 'the sequence keys have different shapes in Defender tables', step.span);
        throw new Unsupported();
      }
      keyCount = keys.length;
      const ext = [`${tag}Step = ${i + 1}`, ...keys.map((k, j) => `${tag}Key${j + 1} = ${k.e}`)].join(', ');
      return { stages: [...asReportId(cls), ...unify(cls), ...keys.flatMap((k) => k.stages), `| extend ${ext}`], touched: perKey.flatMap((k) => k.cols) };
    });
    branches.push(...rendered.branches);
    for (const t of rendered.touched) if (!touched.includes(t)) touched.push(t);
  });
  const keyNames = Array.from({ length: keyCount }, (_, j) => `${tag}Key${j + 1}`);
  // runs=n repeats a step n times (as Elasticsearch expands it).
  const stepIds: number[] = positives.flatMap((s, i) => Array.from({ length: s.kind === 'SequenceStep' ? (s.runs ?? 1) : 1 }, () => i + 1));
  const last = stepIds.length - 1;
  const carried = stepIds.slice(0, last).flatMap((_, j) => identity.map(([c, type]) => ({ name: `${c}${j + 1}`, type, from: `s${j + 1}.${c}` })));
  const steps = stepIds.map((id, n) => {
    const conds = [`${tag}Step == ${id}`];
    let assign = '';
    if (n > 0) {
      conds.push(...keyNames.map((k) => `${k} == s1.${k}`));
      if (maxspan) conds.push(`Timestamp - s1.Timestamp <= ${maxspan.value}${maxspan.unit}`);
      // Every step after the first sets Timestamp1 (the last step all carried columns). Under check 1, which
      // evaluates the condition with s_k-1's state, s_k.Timestamp1 is unset; under check 2 (s_k's own state)
      // it is set: so a step that holds an event takes no second one, as in Elasticsearch.
      conds.push(`isnull(s${n + 1}.Timestamp1)`);
      assign = ` => ${(n === last ? carried : carried.slice(0, 1)).map((c) => `${c.name} = ${c.from}`).join(', ')}`;
    }
    return `    step s${n + 1}${n < last ? ' output=none' : ''}: ${conds.join(' and ')}${assign};`;
  });
  const declare = carried.length ? ` declare (${carried.map((c) => `${c.name}: ${c.type}`).join(', ')})` : '';
  // Elasticsearch leaves out an event without a value for a (non-optional) key; Defender's missing string is "".
  const required = keyNames.filter((_, j) => !optional[j]);
  const filter = required.length ? [`| where ${required.map((k) => `isnotempty(${k})`).join(' and ')}`] : [];
  // A sample: each key's earliest event per filter, the filters of a key in order (they need not be in time order).
  const earliest = sample ? [`| summarize arg_min(Timestamp, *) by ${[...keyNames, 'SampleStep'].join(', ')}`] : [];
  // One step: every event with its keys is a sequence of one (a sample of one: the key's earliest), no scan needed.
  if (stepIds.length === 1) return { text: [unionOf(branches), ...filter, ...earliest].join('\n'), touched, keys: keyNames };
  const text = [
    unionOf(branches),
    ...filter,
    ...earliest,
    // Each key's events contiguous and in time order; one event meeting several steps tries the highest first.
    sample ? `| sort by ${[...keyNames, 'SampleStep'].map((k) => `${k} asc`).join(', ')}` : `| sort by ${[...keyNames, 'Timestamp'].map((k) => `${k} asc`).join(', ')}, SequenceStep desc`,
    `| scan${declare} with (`,
    ...steps,
    '  )',
  ].join('\n');
  return { text, touched: [...carried.map((c) => c.name), ...touched], keys: keyNames };
}

/**
 * Defender's own tables first. Microsoft Sentinel's tables (classes with `product: sentinel`) are queryable in
 * Defender's advanced hunting once Sentinel is onboarded to the Defender portal, so a rule no Defender table reads
 * may read them (`--kql-sentinel fallback`, the default); the output then says which it needs (EQL3250). A rule
 * Defender's tables read never changes with Sentinel.
 */
function emitWithSentinelFallback(rule: RuleInput, ctx: TranslateContext): string {
  const native = withoutProduct(ctx.mapping, SENTINEL);
  if (native === ctx.mapping) return emitQuery(rule, ctx);
  const own = new Ledger(ctx.target, native, ctx.options);
  const out = tryEmit(rule, own);
  if (out !== null || ctx.options.kqlSentinel === 'off') return adopt(ctx, own, out);
  // A class naming its log's indices reads only rules on that log, and for them comes first (forRuleIndex).
  const full = new Ledger(ctx.target, forRuleIndex(ctx.mapping, rule.meta.index), ctx.options);
  const withSentinel = tryEmit(rule, full);
  // Where no Defender table holds the rule's events at all (EQL3003 alone), the attempt with Sentinel's tables
  // says why the rule is refused (a field its table holds only where no query reads it: EQL3255).
  if (withSentinel === null) return adopt(ctx, own.diagnostics.every((d) => d.severity !== 'error' || d.code === 'EQL3003') ? full : own, null);
  const tables = [...new Set(full.mapping.classes.filter((c) => c.source.product === SENTINEL).map((c) => String(c.source.table)))].filter((t) => new RegExp(`\\b${t}\\b`).test(withSentinel));
  ctx.note('EQL3250', `no Defender table reads this rule; it reads Microsoft Sentinel's ${tables.join(', ')}, which advanced hunting holds once Sentinel is onboarded to the Defender portal (--kql-sentinel off refuses)`);
  return adopt(ctx, full, withSentinel);
}

function tryEmit(rule: RuleInput, sub: TranslateContext): string | null {
  try {
    const out = emitQuery(rule, sub);
    return sub.failed ? null : out;
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/** The diagnostics of an attempt, on `ctx`; a failed attempt fails the translation. */
function adopt(ctx: TranslateContext, sub: TranslateContext, out: string | null): string {
  for (const d of sub.diagnostics) {
    if (d.severity === 'error') ctx.unsupported(d.code, d.message, d.span);
    else ctx.diagnostics.push(d);
  }
  if (out === null) throw new Unsupported();
  return out;
}

function emitQuery(rule: RuleInput, ctx: TranslateContext): string {
  const { pipes } = rule.query;
  let { body } = rule.query;
  const index = rule.meta.index;
  if (body.kind === 'EventQuery') body = { ...body, filter: withIndexDatasets(body.filter, index, ctx) };
  else if (body.kind === 'Sequence') body = { ...body, steps: body.steps.map((s) => ({ ...s, filter: withIndexDatasets(s.filter, index, ctx) })) };
  else body = { ...body, steps: body.steps.map((s) => ({ ...s, filter: withIndexDatasets(s.filter, index, ctx) })) };
  let q: { text: string; touched: string[]; filters?: EventFilter[]; keys?: string[] };
  if (body.kind === 'EventQuery') q = renderEventQuery(body.filter, ctx);
  else q = renderSequence(body, ctx);
  const stages: string[] = [];
  for (const p of pipes) {
    const dir = p.name === 'head' ? 'asc' : 'desc';
    // Events come in time order, sequences in the order they complete: each row's Timestamp is its last event's.
    if ((p.name === 'head' || p.name === 'tail') && p.count !== null && body.kind !== 'Sample') stages.push(`| top ${p.count} by Timestamp ${dir}`);
    else if ((p.name === 'head' || p.name === 'tail') && p.count !== null && q.keys?.length) {
      // Samples come sorted by their join keys (eql-language.md §7): Defender's key values (DeviceId for host.id)
      // and Kusto's order of them are not Elasticsearch's, so which samples are first or last can differ.
      ctx.approximate('EQL3247', `${p.name} ${p.count} takes the samples ${p.name === 'head' ? 'first' : 'last'} in the order of Defender's key values, which need not be Elasticsearch's order of the rule's`, p.span, 'different');
      stages.push(`| sort by ${q.keys.map((k) => `${k} ${dir}`).join(', ')}`, `| take ${p.count}`);
    } else {
      ctx.unsupported('EQL3007', `the pipe ${p.name} has no KQL rendering here`, p.span);
      throw new Unsupported();
    }
  }
  const always = detectionColumns(q.filters ?? (body.kind === 'EventQuery' ? [body.filter] : body.steps.map((s) => s.filter)), ctx);
  const cols = [...always, ...q.touched.filter((c) => !always.includes(c))];
  return [q.text, ...stages, `| project ${cols.join(', ')}`].join('\n') + '\n';
}

export const kqlBackend: Backend = {
  id: 'kql',
  title: 'Microsoft Defender XDR Advanced Hunting (KQL)',
  extension: 'kql',
  variants: [
    { name: 'default', options: { kqlArgs: 'exact', kqlOs: 'join' } },
    { name: 'fast', options: { kqlArgs: 'fast', kqlOs: 'join' } },
    { name: 'drop-os', options: { kqlArgs: 'exact', kqlOs: 'drop' } },
  ],
  emit(rule: RuleInput, ctx: TranslateContext): string | null {
    const bad = badName(ctx.mapping);
    if (bad !== null) {
      ctx.unsupported('EQL4101', `the KQL mapping names ${JSON.stringify(bad)} as a table, column or column type: not a Kusto identifier or type name`);
      throw new Unsupported();
    }
    return emitWithSentinelFallback(rule, ctx);
  },
};
