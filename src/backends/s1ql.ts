// SentinelOne S1QL: dialect 2 (PowerQuery / Singularity Data Lake, default) and dialect 1 (Deep Visibility).
// Field names, event types and value spellings are data (mappings/s1ql.yaml); this file holds the two
// dialects' operators, quoting and the few structural rules. Evidence ids: ../shared/research/s1ql-notes.md,
// target-syntax.md §5 (DV) and §6 (PQ); [S1Q] = SentinelOne's own queries (SentineLabs/S1QL-Queries@48537b5f).
//
// Decisions where the sources leave a fact open (each form is right under either reading):
// - Case: string comparisons always name their case (`in:anycase`/`in:matchcase`, `contains:anycase`/
//   `contains:matchcase` in 2.0 [S1Q]; `In AnyCase`/`In`, `ContainsCIS`/`Contains`, `…CIS` in 1.0), and a
//   case-insensitive regex carries `(?i)`, because the default case of `=` and `matches` is third-party only;
//   a Lucene `regex~` spells its ASCII-only folding as `[aA]` and is matched case-sensitively instead.
// - `matches` searches (SentinelOne's own unanchored `matches '\\sa\\s.*…'` [S1Q]); every regex here is
//   anchored explicitly, so it also holds if `matches` were a whole-value match.
// - DV strings: a backslash is literal [S1Q]; whether `\"` escapes a quote and whether `…\"` ends a string
//   is open (§5.3). A value holding `"`, ending in `\`, or holding a control character is written as a
//   regex instead, with `\x22` for the quote and `\x5c` for a final backslash: no quote or trailing
//   backslash ever reaches a DV string. DV `RegExp` case is undocumented: a case-sensitive regex there is
//   declared wider.
// - Missing fields: whether `not` over a predicate on a missing field is true (as in EQL, docs/null-semantics.md)
//   is undocumented for both dialects. Negation is pushed down to single predicates and each negated
//   predicate is guarded with "field missing" (`not (f = *)`, `NOT f EXISTS`), which is right under both a
//   two-valued and a three-valued reading.
import type { EventFilter, Expr, Pattern, GlobPart, Literal, Span, Field, Sequence, Pipe } from '../ir/nodes.js';
import { walk } from '../ir/walk.js';
import { CLASSIFYING_FIELDS, conjunctsOf, filterFacts, Unsupported, type Backend, type Direction, type RuleInput, type TranslateContext } from '../translate/core.js';
import { chooseClass, fieldMapping, lossNote, unreadDatasets, type EventClass, type FieldMapping } from '../translate/mapping.js';
import { luceneToRe2 } from '../matcher/regex.js';

type DialectId = '1' | '2';

/** What a predicate asks of a string value: the analysed shapes, a glob, or a regex (our regex syntax, anchored). */
type Want = { t: 'eq' | 'prefix' | 'suffix' | 'contains'; v: string } | { t: 'glob'; parts: readonly GlobPart[] } | { t: 'regex'; re: string; cased?: true };

// ---- regexes -------------------------------------------------------------------------------------

const REGEX_META = /[\\.^$*+?()[\]{}|]/g;
/** A literal as regex text: metacharacters escaped, control characters as escapes. */
export function regexLiteral(s: string): string {
  return s.replace(REGEX_META, (c) => '\\' + c).replace(/[\x00-\x1f\x7f]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0');
  });
}

/** A glob (EQL `*`/`?`) as regex text; `any`/`one` say what a wildcard may cover. */
function globRegex(parts: readonly GlobPart[], any = '.*', one = '.'): string {
  return parts.map((p) => (p.t === 'lit' ? regexLiteral(p.v) : p.t === 'any' ? any : one)).join('');
}

function classEnd(re: string, start: number): number {
  let i = start + 1;
  if (re[i] === '^') i++;
  if (re[i] === ']') i++;
  for (; i < re.length; i++) {
    if (re[i] === '\\') i++;
    else if (re[i] === ']') return i;
  }
  return -1;
}

/** True when the regex has a `.` outside escapes and classes. */
function hasDot(re: string): boolean {
  for (let i = 0; i < re.length; i++) {
    if (re[i] === '\\') i++;
    else if (re[i] === '[') i = classEnd(re, i);
    else if (re[i] === '.') return true;
  }
  return false;
}

/** Flags a regex needs: `s` so `.` crosses line breaks as EQL wildcards and Lucene's `.` do; `i` for case-insensitive. */
function withFlags(re: string, ci: boolean): string {
  const flags = (ci ? 'i' : '') + (hasDot(re) ? 's' : '');
  return flags ? `(?${flags})${re}` : re;
}

// ---- dialects ------------------------------------------------------------------------------------

interface Dialect {
  and: string;
  or: string;
  not: (x: string) => string;
  exists: (f: string) => string;
  missing: (f: string) => string;
  /** A plain string literal, or null when the value must go through a regex instead. */
  str: (s: string) => string | null;
  regexStr: (re: string) => string;
  num: (n: number) => string;
  rel: (n: number) => string;
  list: (xs: string[]) => string;
  /** Enumerated values spelled exactly as the target stores them (event types, OS names). */
  enumOp: { one: string; many: string };
  eq: { cs: { one: string; many: string }; ci: { one: string; many: string } };
  contains: { cs: { one: string; many: string }; ci: { one: string; many: string } };
  /** Prefix / suffix operators when the dialect has them; otherwise a regex is used. */
  prefix: { cs: string; ci: string } | null;
  suffix: { cs: string; ci: string } | null;
  regex: { cs: string; ci: string };
  /** True when the dialect's regex case rule is unknown, so a case-sensitive regex may match more. */
  regexCaseUnknown: boolean;
}

const DIALECTS: Record<DialectId, Dialect> = {
  // PowerQuery: single-quoted strings with `\\`, `\'` (SentinelOne's own 2.0 queries, §6.3).
  '2': {
    and: 'and',
    or: 'or',
    not: (x) => `not (${x})`,
    exists: (f) => `${f} = *`, // §6.2; DKMAP `exists` → `= *`
    missing: (f) => `not (${f} = *)`,
    str: (s) => (/[\x00-\x1f\x7f]/.test(s) ? null : `'${s.replace(/[\\']/g, (c) => '\\' + c)}'`),
    regexStr: (re) => `'${re.replace(/[\\']/g, (c) => '\\' + c)}'`,
    num: (n) => String(n),
    rel: (n) => String(n),
    list: (xs) => `(${xs.join(', ')})`,
    enumOp: { one: '=', many: 'in' },
    eq: { cs: { one: 'in:matchcase', many: 'in:matchcase' }, ci: { one: 'in:anycase', many: 'in:anycase' } },
    contains: { cs: { one: 'contains:matchcase', many: 'contains:matchcase' }, ci: { one: 'contains:anycase', many: 'contains:anycase' } },
    prefix: null,
    suffix: null,
    regex: { cs: 'matches:matchcase', ci: 'matches' },
    regexCaseUnknown: false,
  },
  // Deep Visibility: double-quoted strings, backslash literal (§5; SentinelOne's own 1.0 queries).
  '1': {
    and: 'AND',
    or: 'OR',
    not: (x) => `NOT (${x})`,
    exists: (f) => `${f} EXISTS`, // pySigma-backend-sentinelone output
    missing: (f) => `NOT ${f} EXISTS`,
    str: (s) => (/["\x00-\x1f\x7f]|\\$/.test(s) ? null : `"${s}"`),
    regexStr: (re) => {
      let body = re.replace(/"/g, '\\x22');
      if (body.endsWith('\\\\')) body = body.slice(0, -2) + '\\x5c';
      return `"${body}"`;
    },
    // Equality with a quoted number as pySigma-backend-sentinelone writes it (`DstPort = "445"`); `<`, `>`
    // take the bare number, so they are either numeric or rejected, never compared as strings.
    num: (n) => `"${n}"`,
    rel: (n) => String(n),
    list: (xs) => `(${xs.join(', ')})`,
    enumOp: { one: '=', many: 'In' },
    eq: { cs: { one: '=', many: 'In' }, ci: { one: 'In AnyCase', many: 'In AnyCase' } },
    contains: { cs: { one: 'Contains', many: 'In Contains' }, ci: { one: 'ContainsCIS', many: 'In Contains AnyCase' } },
    prefix: { cs: 'StartsWith', ci: 'StartsWithCIS' },
    suffix: { cs: 'EndsWith', ci: 'EndsWithCIS' },
    regex: { cs: 'RegExp', ci: 'RegExp' },
    regexCaseUnknown: true,
  },
};

// ---- the backend ---------------------------------------------------------------------------------

type Out = string | boolean;

/**
 * Failures that concern one predicate only: the predicate can be left out (true where asserted, false where
 * negated), which only widens the rule (EQL3420). A wrong mapping (EQL4140) is never left out.
 */
const LEAVE_OUT = new Set(['EQL3002', 'EQL3007', 'EQL3402', 'EQL3405']);
/** A predicate that cannot be rendered, thrown before anything is recorded so it can still be left out. */
class LeftOut extends Error {
  constructor(
    readonly code: 'EQL3002' | 'EQL3007' | 'EQL3402' | 'EQL3405',
    message: string,
    readonly span: Span | undefined,
  ) {
    super(message);
  }
}
/** A rendered predicate: its text, the target fields a negation must guard, or a ready negated form. */
type Atom = boolean | { text: string; fields: string[]; negated?: string };

class Emitter {
  readonly d: Dialect;
  private readonly renames: Record<string, string>;
  private readonly reported = new Set<string>();
  /** Whether the predicate being rendered sits under a negation: a loss that widens it narrows the rule. */
  private negated = false;
  /** Losses of the predicate being rendered, recorded only if it is rendered rather than left out. */
  private pending: (() => void)[] | null = null;
  /** Predicates left out so far (EQL3420), the first one's failure kept to explain a rule left with nothing. */
  readonly leftOut: LeftOut[] = [];
  /** ECS fields of the predicates whose text is in the output so far. */
  readonly rendered: string[] = [];

  constructor(
    readonly id: DialectId,
    readonly ctx: TranslateContext,
    readonly cls: EventClass,
  ) {
    this.d = DIALECTS[id];
    this.renames = (ctx.mapping.settings.dialect1_fields ?? {}) as Record<string, string>;
  }

  /** The target name of a mapped field in this dialect. */
  name(field: string, span: Span): string {
    if (this.id === '2') return field;
    const n = this.renames[field];
    if (!n) this.fail('EQL3402', `${field} has no known S1QL 1.0 (Deep Visibility) name; use --s1ql-dialect 2`, span);
    return n!;
  }

  /**
   * Record a loss of the predicate being rendered, in the rule's direction (flipped under a negation unless
   * `ofRule` says the direction is already the rule's).
   */
  approximate(code: Parameters<TranslateContext['approximate']>[0], msg: string, span: Span, direction: Direction, ofRule = false) {
    const flip: Record<Direction, Direction> = { wider: 'narrower', narrower: 'wider', different: 'different' };
    const dir = this.negated && !ofRule ? flip[direction] : direction;
    const record = () => this.ctx.approximate(code, msg, span, dir);
    if (this.pending) this.pending.push(record);
    else record();
  }

  /** Give up on the predicate being rendered (left out by predicate()) or, outside one, on the rule. */
  fail(code: 'EQL3002' | 'EQL3007' | 'EQL3402' | 'EQL3405', msg: string, span?: Span): never {
    if (this.pending && LEAVE_OUT.has(code)) throw new LeftOut(code, msg, span);
    this.ctx.unsupported(code, msg, span);
    throw new Unsupported();
  }

  once(key: string, f: () => void) {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    f();
  }

  field(f: Field): FieldMapping & { name: string } {
    const m = fieldMapping(this.ctx.mapping, this.cls, f.name);
    if (m === null) this.fail('EQL3002', `${f.name} has no SentinelOne equivalent`, f.span);
    if (m === undefined) this.fail('EQL3002', `no SentinelOne field is known for ${f.name}`, f.span);
    if (m.lossy) {
      const { direction, reason } = m.lossy;
      this.once(`lossy ${f.name} ${f.span.start.offset}`, () => this.approximate('EQL3006', `${f.name}: ${reason}`, f.span, direction));
    }
    if (m.transform && !(TRANSFORMS as readonly string[]).includes(m.transform)) {
      // A mapping error (a user's --mapping file), not a limit of S1QL: never left out.
      this.ctx.unsupported('EQL4140', `the S1QL mapping of ${f.name} names the transform "${m.transform}"; S1QL knows ${TRANSFORMS.join(', ')}`, f.span);
      throw new Unsupported();
    }
    if (m.constant) return { ...m, name: '' };
    const target = Array.isArray(m.field) ? m.field[0]! : m.field;
    return { ...m, name: this.name(target, f.span) };
  }

  // -- boolean structure, with negation pushed down to predicates (see the header) --

  expr(e: Expr, neg: boolean): Out {
    switch (e.kind) {
      case 'And':
      case 'Or': {
        const conj = (e.kind === 'And') !== neg;
        const mark = this.rendered.length;
        const parts = e.args.map((a) => this.expr(a, neg));
        const out = combine(parts, conj, conj ? this.d.and : this.d.or);
        // Decided by a sibling: the parts rendered under it are not in the output, so their fields do not count.
        if (typeof out === 'boolean') this.rendered.length = mark;
        return out;
      }
      case 'Not':
        return this.expr(e.arg, !neg);
      case 'Literal':
        if (typeof e.value === 'boolean') return e.value !== neg;
        return this.fail('EQL3007', 'a bare value is not a condition in S1QL', e.span);
      case 'Compare':
        if (e.op === '!=') return this.expr({ ...e, op: '==' }, !neg);
        return this.predicate(e, neg);
      default:
        return this.predicate(e, neg);
    }
  }

  /**
   * One predicate: rendered, guarded when negated, or decided now when the class fixes the field. One S1QL
   * cannot express is left out: taken as true where asserted and false under a negation, so in either case
   * its place in the rule holds and the rule can only match more (declared wider).
   */
  predicate(e: Expr, neg: boolean): Out {
    this.negated = neg;
    const pending: (() => void)[] = (this.pending = []);
    let p: Atom;
    try {
      p = this.atom(e);
    } catch (err) {
      if (!(err instanceof LeftOut)) throw err;
      this.leftOut.push(err);
      this.ctx.approximate('EQL3420', `${err.message}; the condition is left out`, err.span ?? e.span, 'wider');
      return true;
    } finally {
      this.negated = false;
      this.pending = null;
    }
    for (const record of pending) record();
    if (typeof p === 'boolean') return p !== neg;
    for (const x of walk(e)) if (x.kind === 'Field') this.rendered.push(x.name);
    if (!neg) return p.text;
    if (p.negated) return p.negated;
    const guards = p.fields.map((f) => this.d.missing(f));
    return `(${[...guards, this.d.not(p.text)].join(` ${this.d.or} `)})`;
  }

  atom(e: Expr): Atom {
    switch (e.kind) {
      case 'Field':
        return this.atom({ kind: 'Compare', op: '==', left: e, right: { kind: 'Literal', type: 'boolean', value: true, span: e.span }, span: e.span });
      case 'Exists': {
        if (e.arg.kind !== 'Field') return this.fail('EQL3007', 'S1QL can only test whether a field exists', e.span);
        const m = this.field(e.arg);
        if (m.constant) return true;
        // A name / extension / directory derived from a stored path exists when the path has one; the
        // regex holds no letter, so its case rule does not matter.
        const derived = m.transform ? DERIVED_EXISTS[m.transform] : undefined;
        if (derived) return { text: `${m.name} ${this.d.regex.cs} ${this.d.regexStr(derived)}`, fields: [m.name] };
        return { text: this.d.exists(m.name), fields: [], negated: this.d.missing(m.name) };
      }
      case 'Compare':
        return this.compare(e.left, e.op, e.right, e.span);
      case 'In': {
        if (e.arg.kind !== 'Field') return this.fail('EQL3007', 'S1QL compares fields, not computed values', e.span);
        const lits = e.values.map((v) => (v.kind === 'Literal' ? v : this.fail('EQL3007', 'S1QL lists hold values only', v.span)));
        const strings = lits.filter((l) => typeof l.value === 'string').map((l) => l.value as string);
        if (strings.length === lits.filter((l) => l.value !== null).length)
          return this.strings(e.arg, strings.map((v) => ({ t: 'eq', v })), e.caseInsensitive, e.span);
        return this.fail('EQL3007', 'mixed-type lists are not expressible in S1QL', e.span);
      }
      case 'Match': {
        if (e.arg.kind !== 'Field') return this.fail('EQL3007', 'S1QL matches fields, not computed values', e.span);
        return this.strings(e.arg, e.patterns.map((p) => this.want(p, e.caseInsensitive)), e.caseInsensitive, e.span);
      }
      case 'Call':
        return this.call(e.name, e.args, e.caseInsensitive, e.span);
      default:
        return this.fail('EQL3007', `${e.kind.toLowerCase()} expressions are not expressible in S1QL`, e.span);
    }
  }

  want(p: Pattern, ci: boolean): Want {
    switch (p.kind) {
      case 'exact':
        return { t: 'eq', v: p.text };
      case 'prefix':
      case 'suffix':
      case 'contains':
        return { t: p.kind, v: p.text };
      case 'glob':
        return { t: 'glob', parts: p.parts };
      case 'regex': {
        // The native matcher's reading of Lucene syntax; `.` gets the `s` flag from withFlags. `regex~` folding is
        // spelled in the pattern (ASCII only, as Lucene's), so it is matched case-sensitively (`cased`): an `i` flag
        // would also fold non-ASCII letters.
        const t = luceneToRe2(p.value, ci, { dot: '.' });
        if (!t.ok) return this.fail('EQL3007', `the regular expression ${JSON.stringify(p.value)} has no RE2 translation: ${t.message}`, p.span);
        return { t: 'regex', re: `^(?:${t.re2})$`, cased: true };
      }
    }
  }

  compare(left: Expr, op: string, right: Expr, span: Span): Atom {
    if (left.kind !== 'Field' && right.kind === 'Field') {
      const flip: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=', '==': '==' };
      return this.compare(right, flip[op]!, left, span);
    }
    if (left.kind !== 'Field' || right.kind !== 'Literal') return this.fail('EQL3007', 'S1QL compares a field with a value; functions and arithmetic are not expressible', span);
    const lit: Literal = right;
    const m = this.field(left);
    if (op === '==' && typeof lit.value === 'string') return this.strings(left, [{ t: 'eq', v: lit.value }], false, span);
    if (op === '==' && typeof lit.value === 'boolean') {
      if (m.constant) return m.constant.includes(String(lit.value));
      const spelled = m.values?.['true'];
      if (m.type !== 'boolean' || spelled === undefined) return this.fail('EQL3007', `${left.name} is not a boolean field in SentinelOne`, span);
      const text = this.enumText(m.name, [spelled].flat());
      return lit.value ? { text, fields: [m.name] } : { text: this.d.not(text), fields: [m.name] };
    }
    if (typeof lit.value === 'number') {
      if (m.constant || m.type !== 'number') return this.fail('EQL3007', `${left.name} is not numeric in SentinelOne (${m.name || 'constant'})`, span);
      const text = op === '==' ? `${m.name} = ${this.d.num(lit.value)}` : `${m.name} ${op} ${this.d.rel(lit.value)}`;
      return { text, fields: [m.name] };
    }
    return this.fail('EQL3007', `\`${op}\` on ${typeof lit.value} values is not expressible in S1QL`, span);
  }

  call(name: string, args: readonly Expr[], ci: boolean, span: Span): Atom {
    const [f, ...rest] = args;
    const values = rest.map((a) => (a.kind === 'Literal' && typeof a.value === 'string' ? a.value : null));
    if (f?.kind !== 'Field' || values.some((v) => v === null)) return this.fail('EQL3007', `${name}() is expressible in S1QL only on a field with string values`, span);
    const vs = values as string[];
    switch (name) {
      case 'startsWith':
        return this.strings(f, vs.map((v) => ({ t: 'prefix', v })), ci, span);
      case 'endsWith':
        return this.strings(f, vs.map((v) => ({ t: 'suffix', v })), ci, span);
      case 'stringContains':
        return this.strings(f, vs.map((v) => ({ t: 'contains', v })), ci, span);
      case 'cidrMatch':
        return this.strings(f, vs.map((v) => ({ t: 'regex', re: cidrRegex(v) ?? this.fail('EQL3405', `S1QL has no CIDR operator and ${v} cannot be written as an IPv4 address regex`, span) })), false, span);
      default:
        return this.fail('EQL3007', `${name}() has no S1QL equivalent`, span);
    }
  }

  // -- string predicates --

  strings(f: Field, wants: Want[], ci: boolean, span: Span): Atom {
    const m = this.field(f);
    if (m.constant) return this.decide(f, m.constant, wants, ci, span);
    if (m.values) return this.spelled(f, m, wants, ci, span);
    if (m.type === 'number' || m.type === 'boolean') {
      const nums = wants.map((w) => (w.t === 'eq' && /^-?\d+(\.\d+)?$/.test(w.v) ? w.v : null));
      if (nums.some((n) => n === null)) return this.fail('EQL3007', `${f.name} is ${m.type} in SentinelOne; only exact numbers compare with it`, span);
      return { text: this.or(nums.map((n) => `${m.name} = ${this.d.num(Number(n))}`)), fields: [m.name] };
    }
    // `f : "*"` holds for any value: the field exists.
    if (!m.transform && wants.some((w) => w.t !== 'regex' && w.t !== 'glob' && w.t !== 'eq' && w.v === ''))
      return { text: this.d.exists(m.name), fields: [], negated: this.d.missing(m.name) };
    const shaped = wants.map((w) => reshape(w, m.transform as Transform | undefined) ?? this.fail('EQL3007', `a regex on ${f.name} is not expressible over ${m.name}, which S1 stores instead`, span));
    // An argument holding `"` is written escaped (`\"`) in a Windows command line, so the substring misses it.
    if (m.transform === 'args' && wants.some((w) => JSON.stringify(w).includes('\\"')))
      this.approximate('EQL3006', `${f.name}: an argument holding a double quote appears escaped (\\") in the command line S1 stores`, span, 'narrower');
    const text = this.render(m.name, shaped, ci, span);
    // A derived part that is empty (`CORP\`, `C:\dir\`) is absent in ECS, as Elastic's pipeline splits it, yet a
    // want that matches "" (`user.name : "*"`) would accept it over the stored value: require the part too
    // (the part alone when a want accepts any value).
    const derived = m.transform ? DERIVED_EXISTS[m.transform] : undefined;
    if (derived && wants.some(matchesEmpty)) {
      const exists = `${m.name} ${this.d.regex.cs} ${this.d.regexStr(derived)}`;
      if (wants.some((w) => matchesEmpty(w) && w.t !== 'eq')) return { text: exists, fields: [m.name] };
      return { text: `(${text} ${this.d.and} ${exists})`, fields: [m.name] };
    }
    return { text, fields: [m.name] };
  }

  /**
   * A field the event class decides: true, false, or, when the class holds some of the values the rule
   * accepts, decided in the rule's favour (true where asserted, false under a negation) and declared wider.
   */
  decide(f: Field, constant: string[], wants: Want[], ci: boolean, span: Span): boolean {
    const hits = constant.filter((c) => wants.some((w) => matchesWant(c, w, ci)));
    if (hits.length === constant.length) return true;
    if (hits.length === 0) return false;
    this.approximate('EQL3403', `SentinelOne stores no ${f.name}; its "${this.cls.name}" events are all taken to ${this.negated ? 'fail' : 'satisfy'} this condition (it accepts ${hits.map((h) => JSON.stringify(h)).join(', ')} but not ${constant.filter((c) => !hits.includes(c)).map((c) => JSON.stringify(c)).join(', ')})`, span, 'wider', true);
    return !this.negated;
  }

  /** An enumerated field: ECS values → the target's own spellings. */
  spelled(f: Field, m: FieldMapping & { name: string }, wants: Want[], ci: boolean, span: Span): Atom {
    const table = Object.entries(m.values ?? {});
    const spellings: string[] = [];
    for (const w of wants) {
      if (w.t !== 'eq') return this.fail('EQL3007', `${f.name} takes fixed values in SentinelOne; only exact values are expressible`, span);
      const hit = table.filter(([k]) => (ci ? k.toLowerCase() === w.v.toLowerCase() : k === w.v));
      if (!hit.length) this.ctx.note('EQL3404', `SentinelOne has no ${f.name} value ${JSON.stringify(w.v)}; it can never match there`, span);
      for (const [, v] of hit) for (const s of [v].flat()) if (!spellings.includes(s)) spellings.push(s);
    }
    if (!spellings.length) return false;
    return { text: this.enumText(m.name, spellings), fields: [m.name] };
  }

  enumText(field: string, values: string[]): string {
    const lits = values.map((v) => this.d.str(v) ?? this.fail('EQL3007', `cannot write ${JSON.stringify(v)} as a S1QL string`));
    return values.length === 1 ? `${field} ${this.d.enumOp.one} ${lits[0]}` : `${field} ${this.d.enumOp.many} ${this.d.list(lits)}`;
  }

  /** Render wants on one field with the cheapest exact operator per shape. */
  render(field: string, wants: Want[], ci: boolean, span: Span): string {
    const d = this.d;
    const c = ci ? 'ci' : 'cs';
    const groups: { eq: string[]; contains: string[] } = { eq: [], contains: [] };
    const parts: string[] = [];
    const regex = (re: string, rci = ci) => {
      if (!rci && d.regexCaseUnknown)
        this.once(`regexcase ${span.start.offset}`, () => this.approximate('EQL3406', 'Deep Visibility does not document whether RegExp is case-sensitive; this case-sensitive match may also match other cases', span, 'wider'));
      parts.push(`${field} ${d.regex[rci ? 'ci' : 'cs']} ${d.regexStr(withFlags(re, rci))}`);
    };
    for (const w of wants) {
      if (w.t === 'regex' || w.t === 'glob') {
        if (w.t === 'glob') regex(`^${globRegex(w.parts)}$`);
        else regex(w.re, ci && !w.cased);
        continue;
      }
      const lit = d.str(w.v);
      const op = w.t === 'prefix' ? d.prefix : w.t === 'suffix' ? d.suffix : null;
      if (lit === null || ((w.t === 'prefix' || w.t === 'suffix') && !op)) {
        const body = regexLiteral(w.v);
        regex(w.t === 'eq' ? `^${body}$` : w.t === 'prefix' ? `^${body}` : w.t === 'suffix' ? `${body}$` : body);
      } else if (w.t === 'eq' || w.t === 'contains') groups[w.t].push(lit);
      else parts.push(`${field} ${op![c]} ${lit}`);
    }
    const lists: string[] = [];
    for (const kind of ['eq', 'contains'] as const) {
      const xs = groups[kind];
      if (!xs.length) continue;
      const ops = kind === 'eq' ? d.eq[c] : d.contains[c];
      // A list operator over several values; `=` / `Contains` for one (in 2.0 the list form is used for one value too).
      lists.push(xs.length === 1 ? `${field} ${ops.one} ${ops.one.startsWith('in') || ops.one.startsWith('In') ? d.list(xs) : xs[0]}` : `${field} ${ops.many} ${d.list(xs)}`);
    }
    return this.or([...lists, ...parts]);
  }

  or(parts: string[]): string {
    return parts.length === 1 ? parts[0]! : `(${parts.join(` ${this.d.or} `)})`;
  }
}

/** Combine rendered parts under and/or, folding decided (boolean) parts. */
function combine(parts: Out[], conj: boolean, word: string): Out {
  const texts: string[] = [];
  for (const p of parts) {
    if (p === !conj) return !conj; // false in an and, true in an or
    if (typeof p === 'string') texts.push(p);
  }
  if (!texts.length) return conj;
  return texts.length === 1 ? texts[0]! : `(${texts.join(` ${word} `)})`;
}

/**
 * Mapping transforms: an ECS field read from the command line (args), from a stored path (basename,
 * extension, directory), or from a stored DOMAIN\user (user, domain: split at the first backslash as
 * Elastic's Cloud Funnel pipeline does, the whole value standing for both when there is none).
 */
const TRANSFORMS = ['args', 'basename', 'extension', 'directory', 'user', 'domain'] as const;
type Transform = (typeof TRANSFORMS)[number];

/** When a field derived from a stored value has a (non-empty) value: a regex over the stored value. */
const DERIVED_EXISTS: Record<string, string> = {
  basename: '[^\\\\/]$',
  extension: '\\.[^\\\\/.]+$',
  directory: '[\\\\/]',
  user: '(?s)^[^\\\\]+$|\\\\.',
  domain: '^[^\\\\]',
};

/**
 * Rewrite a want on an ECS field that the target derives from another field; null when the shape cannot be
 * carried over.
 */
function reshape(w: Want, transform: Transform | undefined): Want | null {
  const sep = '[\\\\/]';
  const notSep = '[^\\\\/]';
  // The want as regex text with the given wildcard expansions, unanchored.
  const body = (any: string, one: string): string | null => {
    switch (w.t) {
      case 'eq':
        return regexLiteral(w.v);
      case 'prefix':
        return regexLiteral(w.v) + any;
      case 'suffix':
        return any + regexLiteral(w.v);
      case 'contains':
        return any + regexLiteral(w.v) + any;
      case 'glob':
        return globRegex(w.parts, any, one);
      case 'regex':
        return null;
    }
  };
  const regex = (re: string | null): Want | null => (re === null ? null : { t: 'regex', re });
  switch (transform) {
    case undefined:
      return w;
    case 'args':
      // "Some argument matches" becomes "the command line holds it": the anchors go.
      if (w.t === 'regex') return { ...w, re: w.re.replace(/^\^/, '').replace(/\$$/, '') };
      if (w.t === 'glob') return { t: 'regex', re: globRegex(w.parts) };
      return { t: 'contains', v: w.v };
    case 'basename': {
      const b = body(`${notSep}*`, notSep);
      return regex(b === null ? null : `(?:^|${sep})${b}$`);
    }
    case 'extension': {
      if (w.t === 'eq' && !/[\\/.]/.test(w.v)) return { t: 'suffix', v: '.' + w.v };
      const b = body('[^\\\\/.]*', '[^\\\\/.]');
      return regex(b === null ? null : `\\.${b}$`);
    }
    case 'directory': {
      const b = body('.*', '.');
      return regex(b === null ? null : `^${b}${sep}${notSep}+$`);
    }
    case 'user': {
      // After the first backslash anything goes; a value without one is the name itself, so there the
      // wildcards cover no backslash and a literal holding one cannot match. A plain name needs one branch.
      if (w.t === 'eq' && !literalHasBackslash(w)) return regex(`^(?:[^\\\\]*\\\\)?${regexLiteral(w.v)}$`);
      const afterDomain = body('.*', '.');
      const whole = literalHasBackslash(w) ? null : body('[^\\\\]*', '[^\\\\]');
      return regex(afterDomain === null ? null : `^(?:[^\\\\]*\\\\${afterDomain}${whole === null ? '' : `|${whole}`})$`);
    }
    case 'domain': {
      // The domain holds no backslash: it is the value up to the first one, or the whole value.
      const d = literalHasBackslash(w) ? null : body('[^\\\\]*', '[^\\\\]');
      return regex(d === null ? null : `^${d}(?:\\\\.*)?$`);
    }
  }
}

/** Whether a want accepts the empty string (regex wants are not reshaped onto derived fields). */
function matchesEmpty(w: Want): boolean {
  if (w.t === 'glob') return w.parts.every((p) => p.t === 'any' || (p.t === 'lit' && p.v === ''));
  return w.t !== 'regex' && w.v === '';
}

function literalHasBackslash(w: Want): boolean {
  if (w.t === 'glob') return w.parts.some((p) => p.t === 'lit' && p.v.includes('\\'));
  return w.t !== 'regex' && w.v.includes('\\');
}

/** Evaluate a want against a known value (class constants). */
function matchesWant(value: string, w: Want, ci: boolean): boolean {
  const v = ci ? value.toLowerCase() : value;
  if (w.t === 'regex' || w.t === 'glob') return new RegExp(w.t === 'glob' ? `^${globRegex(w.parts)}$` : w.re, ci && !(w.t === 'regex' && w.cased) ? 'is' : 's').test(value);
  const x = ci ? w.v.toLowerCase() : w.v;
  return w.t === 'eq' ? v === x : w.t === 'prefix' ? v.startsWith(x) : w.t === 'suffix' ? v.endsWith(x) : v.includes(x);
}

/** An IPv4 CIDR block as an anchored regex over the dotted address; null for IPv6 or invalid blocks. */
export function cidrRegex(cidr: string): string | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr);
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const bits = m[5] === undefined ? 32 : Number(m[5]);
  if (bits > 32 || octets.some((o) => o > 255)) return null;
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    if (keep === 0) {
      out.push('\\d{1,3}');
      continue;
    }
    const mask = (0xff << (8 - keep)) & 0xff;
    const lo = octets[i]! & mask;
    const hi = lo | (~mask & 0xff);
    out.push(lo === hi ? String(lo) : `(?:${Array.from({ length: hi - lo + 1 }, (_, k) => lo + k).join('|')})`);
  }
  return `^${out.join('\\.')}$`;
}

function emitFilter(filter: EventFilter, dialect: DialectId, ctx: TranslateContext): string {
  const facts = filterFacts(filter);
  const choice = chooseClass(ctx.mapping, facts);
  if (!choice) {
    ctx.unsupported('EQL3003', unreadDatasets(ctx.mapping, facts) ?? `no SentinelOne event type holds ${filter.category ?? 'any'} events`, filter.span);
    throw new Unsupported();
  }
  const { cls, implied, losses } = choice;
  for (const l of losses) ctx.approximate('EQL3004', l.message, l.node?.span ?? filter.span, l.direction, lossNote(l));
  const em = new Emitter(dialect, ctx, cls);
  const src = cls.source as Record<string, { field: string; values: string[] } | string | undefined>;
  if (typeof src.loss === 'string') ctx.approximate('EQL3004', src.loss, filter.span, 'different');
  const sel = src[dialect];
  const lines: string[] = [];
  if (sel && typeof sel === 'object') lines.push(em.enumText(sel.field, sel.values));
  // Conditions beyond the event class: rendered conjuncts that test more than classifying fields (event.type,
  // host.os.type...). When conditions were left out and none of these is left, the rule is not translated.
  let beyondClass = 0;
  for (const c of conjunctsOf(filter.where)) {
    if (implied.has(c)) continue;
    const mark = em.rendered.length;
    const r = em.expr(c, false);
    if (typeof r === 'string' && em.rendered.slice(mark).some((f) => !CLASSIFYING_FIELDS.includes(f))) beyondClass++;
    if (r === false) {
      ctx.unsupported('EQL3407', `this condition can never hold for SentinelOne "${cls.name}" events, so the rule would never match`, c.span);
      throw new Unsupported();
    }
    if (r !== true) lines.push(r);
  }
  const first = em.leftOut[0];
  if (first && !beyondClass) {
    ctx.unsupported(first.code, `${first.message}; with the conditions S1QL cannot express left out, nothing is left to filter SentinelOne "${cls.name}" events on`, first.span ?? filter.span);
    throw new Unsupported();
  }
  if (!lines.length) {
    ctx.unsupported('EQL3007', 'the rule has no condition SentinelOne can filter on', filter.span);
    throw new Unsupported();
  }
  return lines.join(`\n${em.d.and} `);
}

// ---- sequences: a PowerQuery join (dialect 2 only) ------------------------------------------------
//
// `sequence [by k] [with maxspan=T] [A] [B] ...` becomes one subquery per step, joined on the keys, then a
// filter that orders the steps' timestamps and bounds the span:
//
//   | sql inner join
//     step1 = (<A> and <key> = * | columns k1 = <key>, t1 = timestamp),
//     step2 = (<B> and <key> = * | columns k1 = <key>, t2 = timestamp)
//     on k1
//   | filter t1 <= t2 and t2 - t1 <= <T in ns>
//
// Evidence, [PQSKILL] = SentinelOne's PowerQuery skill (github pmoses-s1/claude-skills@b6c2270,
// sentinelone-powerquery/; written by a SentinelOne engineer, third-party to this project):
// - Join form `| [inner|left|outer|sql inner|sql left|sql outer] join [a =] (q1), [b =] (q2) on key, a.x = b.y`;
//   the leading `|` is required (commands-reference.md §9; target-syntax.md §6.6 has the same shape).
// - `inner` keeps, for each left row, only the FIRST matching right row; `sql inner` is "all matching pairs"
//   (a true inner join) but takes exactly 2 subqueries (commands-reference.md §9). First-match would drop
//   tuples the order filter needs, so every join here is a 2-way `sql inner`, nested for 3+ steps: a subquery
//   may itself start with `|` (the `| sql join (| top …), (| group …)` example, §13), and nested joins are
//   named there ("If you nest joins, inner joins can't export dotted field names — rename with `columns`").
//   That nesting is an extrapolation from that sentence; no example shows it.
// - `columns new = field` renames (SKILL.md grammar, `union` example §10); after `columns` only the named
//   columns remain. So each side exports undotted, distinct names (k1.., tN) and the join keys share a name
//   (`on k1` — "same name in both queries", §9). That also carries per-step keys (`by x` / `by y`) to one name.
// - `inner` matches null keys ("Null allowed as match", §9; undocumented for `sql inner`): every step requires
//   its keys present (`f = *`), as EQL does (a missing key joins nothing unless it is an optional `?f`).
// - `timestamp` is nanoseconds since epoch (functions-reference.md §9 "Timestamps are stored as nanoseconds
//   since epoch"); `+ -` and `< <= > >=` are expression operators, numbers compare numerically
//   (syntax-and-operators.md §1, §8). The maxspan bound is written in ns: were `timestamp` in a coarser unit,
//   the bound would only loosen (wider), never cut a match.
//
// What is not kept, declared with the sequence's span (all wider: the join keeps every EQL match):
// - EQL's state machine consumes events and reports the earliest completion per key; the join reports every
//   tuple of matching events with equal keys in time order, so it can report more sequences.
// - Equal timestamps: `<=` takes them in either order and lets one event fill two steps (EQL orders ties by
//   arrival and uses an event once). Strict `<` would lose EQL matches with tied timestamps.
// - `until` is not enforced.
// Noted (info): an alert keeps at most 1,000 rows per intermediate table (detection-rules.md "Hard limits").
// Kept unsupported: `with runs=N` (its repeats cannot be told apart, so one event would fill them all and the
// join fire on a single event), missing-event steps `![…]` (absence has no join form), samples, pipes after a
// sequence, optional or computed keys, keys with no SentinelOne field, sequences without keys (a keyless join
// is a first-row pairing, §9), more than MAX_JOIN_STEPS steps, and any step whose filter cannot be rendered.
//
// What a STAR rule alerts on: the join's result is a table, one row per matching tuple, with columns k1.. (the
// key values) and t1.. (each step's timestamp); it holds no event, so an alert points at the key and times,
// and the events are found by searching each step's filter for that key around those times.

/**
 * Each step multiplies the joined rows, and an alert keeps at most 1,000 rows per intermediate table ([PQSKILL]
 * detection-rules.md "Hard limits"): beyond a few steps the join is neither usable as a rule nor checkable by replay.
 */
const MAX_JOIN_STEPS = 5;

function emitSequenceJoin(seq: Sequence, pipes: readonly Pipe[], ctx: TranslateContext): string {
  const fail = (code: 'EQL3401' | 'EQL3002' | 'EQL3007', msg: string, span: Span): never => {
    ctx.unsupported(code, msg, span);
    throw new Unsupported();
  };
  if (pipes.length) fail('EQL3007', `the \`${pipes[0]!.name}\` pipe after a sequence is not expressible: the rows of a PowerQuery join have no defined order`, pipes[0]!.span);
  if (seq.steps.some((s) => s.missing)) fail('EQL3401', 'a missing-event step `![…]` asks for the absence of an event; a PowerQuery join cannot express it', seq.span);
  const runs = seq.steps.find((s) => (s.runs ?? 1) > 1);
  if (runs) fail('EQL3401', `\`with runs=${runs.runs}\` needs ${runs.runs} distinct events; repeated join steps cannot tell rows of one event apart (no event id is documented), so a single event would fill them all`, runs.span);
  const steps = seq.steps;
  if (steps.length > MAX_JOIN_STEPS) fail('EQL3401', `a sequence of ${steps.length} steps is a join of more than ${MAX_JOIN_STEPS} subqueries, whose rows multiply past what a PowerQuery alert keeps (1,000 per intermediate table)`, seq.span);
  if (steps.length < 2) fail('EQL3401', 'a one-step sequence has no join', seq.span);
  const keyCount = seq.by.length + (steps[0]?.by.length ?? 0);
  if (keyCount === 0) fail('EQL3401', 'a sequence without join keys has no PowerQuery join form (a join without `on` pairs first rows only)', seq.span);
  const rendered = steps.map((s, i) => joinStep(s.filter, [...seq.by, ...s.by], i + 1, ctx, fail));
  const n = rendered.length;
  const keys = Array.from({ length: keyCount }, (_, j) => `k${j + 1}`).join(', ');
  const indent = (text: string) => text.replace(/\n/g, '\n  ');
  // Left-nested 2-way joins: ((s1 ⋈ s2) ⋈ s3) ⋈ …
  let join = `| sql inner join\n  step1 = (\n    ${indent(indent(rendered[0]!))}\n  ),\n  step2 = (\n    ${indent(indent(rendered[1]!))}\n  )\n  on ${keys}`;
  for (let i = 2; i < n; i++)
    join = `| sql inner join\n  steps1to${i} = (\n    ${indent(indent(join))}\n  ),\n  step${i + 1} = (\n    ${indent(indent(rendered[i]!))}\n  )\n  on ${keys}`;
  const conds = Array.from({ length: n - 1 }, (_, i) => `t${i + 1} <= t${i + 2}`);
  if (seq.maxspan) conds.push(`t${n} - t1 <= ${BigInt(Math.trunc(seq.maxspan.ms)) * 1_000_000n}`);
  ctx.approximate('EQL3430', 'the PowerQuery join reports every tuple of matching events with equal keys in time order; EQL reports each sequence once, at its earliest completion, using each event once, so the join can report more', seq.span, 'wider');
  ctx.approximate('EQL3431', 'steps with equal timestamps are taken in either order, and one event may fill two steps (EQL orders ties by arrival and uses an event once)', seq.span, 'wider');
  ctx.note('EQL3433', 'as a PowerQuery alert (STAR rule) the join keeps at most 1,000 rows per intermediate table; busier steps lose matches there', seq.span);
  // pmoses-s1/claude-skills@b6c2270 detection-rules.md §5 names only `inner`/`left` joins as working in alerts.
  ctx.note('EQL3434', 'only `inner` and `left` joins are reported to work in PowerQuery alerts; whether a scheduled rule accepts `sql inner join` is unconfirmed, so check it on the tenant before relying on it', seq.span);
  if (seq.until) ctx.approximate('EQL3432', '`until` is not enforced: sequences it would end are still reported', seq.until.span, 'wider');
  return `${join}\n| filter ${conds.join(' and ')}`;
}

/** One step's subquery body: its filter, its keys present, then its key and timestamp columns. */
function joinStep(filter: EventFilter, keys: readonly Expr[], index: number, ctx: TranslateContext, fail: (code: 'EQL3401' | 'EQL3002' | 'EQL3007', msg: string, span: Span) => never): string {
  const where = emitFilter(filter, '2', ctx);
  const choice = chooseClass(ctx.mapping, filterFacts(filter))!; // emitFilter has already refused a filter without a class
  const names = keys.map((k) => {
    if (k.kind !== 'Field' || k.optional) return fail('EQL3401', 'a join key must be a plain field in PowerQuery (optional `?` and computed keys are not expressible)', k.span);
    const m = fieldMapping(ctx.mapping, choice.cls, k.name);
    if (!m) return fail('EQL3002', `join key ${k.name} has no SentinelOne field`, k.span);
    if (m.constant || m.transform || m.values) return fail('EQL3007', `join key ${k.name} is not stored as a field of its own in SentinelOne`, k.span);
    const target = Array.isArray(m.field) ? m.field[0]! : m.field;
    if (m.lossy) ctx.approximate('EQL3006', `join key ${k.name}: ${m.lossy.reason}; equal keys in SentinelOne and in ECS may differ`, k.span, 'different');
    return target;
  });
  const present = [...new Set(names)].map((f) => `\nand ${f} = *`).join('');
  const columns = [...names.map((f, j) => `k${j + 1} = ${f}`), `t${index} = timestamp`].join(', ');
  return `${where}${present}\n| columns ${columns}`;
}

function emit(rule: RuleInput, ctx: TranslateContext): string | null {
  const dialect: DialectId = ctx.options.s1qlDialect ?? '2';
  const { body, pipes } = rule.query;
  if (body.kind === 'Sequence' && dialect === '2') return emitSequenceJoin(body, pipes, ctx);
  if (body.kind !== 'EventQuery') {
    ctx.unsupported('EQL3401', `S1QL has no ordered event correlation: a ${body.kind.toLowerCase()} (events joined by key, in order, within a time span) cannot be expressed; a STAR rule matches single events`, body.span);
    return null;
  }
  let text = emitFilter(body.filter, dialect, ctx);
  for (const p of pipes) {
    if (p.name === 'head' && dialect === '2' && p.count !== null) text += `\n| limit ${p.count}`; // PowerQuery `limit` (§6.1)
    else if (p.name === 'head') ctx.approximate('EQL3408', 'Deep Visibility has no result limit; `head` is dropped', p.span, 'wider');
    else {
      ctx.unsupported('EQL3007', `the \`${p.name}\` pipe is not expressible in S1QL`, p.span);
      return null;
    }
  }
  return text;
}

export const s1qlBackend: Backend = {
  id: 's1ql',
  title: 'SentinelOne S1QL',
  extension: 's1ql',
  variants: [
    { name: '2', options: { s1qlDialect: '2' } },
    { name: '1', options: { s1qlDialect: '1' } },
  ],
  emit,
};
