// Splunk SPL backend. Two profiles: `sysmon` (raw Sysmon events, the default) and `cim` (`| tstats` over CIM
// data models). Facts (sources, EventCodes, fields) live in mappings/spl.yaml; this file holds SPL's syntax.
//
// Shape of an event query: one search command with every condition the search language states exactly,
// then at most one `| where` stage for what it cannot: case-sensitive comparisons, `?` wildcards, literal
// `*`, regexes, numeric ranges, functions (eval semantics). A `where`-only conjunct that is positive also
// leaves a wider, case-insensitive copy in the search so the indexers still filter.
// Sources for the syntax and semantics (../shared/research/target-syntax.md §4): quoted values with `\\`
// and `\"` (Search Manual "Backslashes"); search-time `field=value` is case-insensitive, `where ==` and
// `match()` are case-sensitive unless `(?i)`; `NOT f=v` keeps events without f while `f!=v` drops them (§4.4),
// so negations are always `NOT`; in search OR binds tighter than the implicit AND (§4.5), so every group is
// parenthesised; `?` is no wildcard in search and `*` cannot be escaped there (§4.2).
import type { EventFilter, Expr, Field, GlobPart, Literal, Pattern, Query, Sequence, Span } from '../ir/nodes.js';
import { globParts } from '../ir/patterns.js';
import { walk } from '../ir/walk.js';
import { luceneToRe2 } from '../matcher/regex.js';
import { CLASSIFYING_FIELDS, conjunctsOf, filterFacts, TranslateContext, Unsupported, type Backend, type Direction, type FilterFacts, type RuleInput } from '../translate/core.js';
import { chooseClass, fieldMapping, lossNote, mappingProfile, unreadDatasets, type ClassLoss, type EventClass, type FieldMapping, type Mapping } from '../translate/mapping.js';

// ---------------------------------------------------------------- SPL text

/** A double-quoted SPL string (search and eval share the rule): backslash and quote are escaped. */
function str(s: string): string {
  return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/**
 * Characters that never appear inside an emitted string: control characters (a raw newline would split
 * the search) and the backtick, which Splunk reads as a macro delimiter before it parses anything else.
 * Values holding them are matched by a regex that spells them as escapes.
 */
const UNSAFE = /[\u0000-\u001f\u007f`]/;
/** PCRE metacharacters (escaped with a backslash), and the escapes for unsafe characters. */
const REGEX_META = /[\\^$.|?*+()[\]{}]/;
const REGEX_CHAR_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function regexLiteral(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch in REGEX_CHAR_ESCAPES) out += REGEX_CHAR_ESCAPES[ch];
    else if (UNSAFE.test(ch)) out += `\\x{${ch.codePointAt(0)!.toString(16).padStart(2, '0')}}`;
    else if (REGEX_META.test(ch)) out += '\\' + ch;
    else out += ch;
  }
  return out;
}

/** Field names in search (dotted CIM names are fine there) and in eval (anything else is single-quoted). */
const SEARCH_FIELD = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const EVAL_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
function evalField(name: string): string {
  return EVAL_FIELD.test(name) ? name : `'${name}'`;
}

/** Regex flags: `s` lets `.` cross newlines like Lucene's wildcard and regex do; `i` for the `~` forms and `:`. */
const flags = (ci: boolean, dot: boolean) => (ci || dot ? `(?${ci ? 'i' : ''}${dot ? 's' : ''})` : '');
/** `\z`, not `$`: PCRE's `$` also matches before a final newline, EQL anchors at the very end. */
const END = '\\z';

const COMPARE_EVAL: Record<string, string> = { '==': '==', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };
const ARITH_EVAL: Record<string, string> = { '+': '+', '-': '-', '*': '*', '%': '%' };

// ---------------------------------------------------------------- diagnostics of this backend

class Fail extends Error {
  constructor(
    readonly code: 'EQL3002' | 'EQL3003' | 'EQL3007' | 'EQL3303',
    message: string,
    readonly span?: Span,
  ) {
    super(message);
  }
}

interface Approx {
  code: 'EQL3006' | 'EQL3302';
  message: string;
  span: Span;
  direction: Direction;
}

const flip = (d: Direction, neg: boolean): Direction => (!neg || d === 'different' ? d : d === 'wider' ? 'narrower' : 'wider');

// ---------------------------------------------------------------- fields

type Transform = 'basename' | 'dirname' | 'extension' | 'cmdline-token';
const TRANSFORMS = new Set<string>(['basename', 'dirname', 'extension', 'cmdline-token']);

interface Target {
  name: string;
  field: string;
  numeric: boolean;
  transform: Transform | null;
  lossy: FieldMapping['lossy'];
  /** The source's own spelling of an enumeration (mapping `values`). */
  values: FieldMapping['values'];
  span: Span;
}

/** Everything a filter's rendering needs: the class it reads and the profile's conventions. */
interface Env {
  mapping: Mapping;
  cls: EventClass;
  cim: boolean;
  sep: string;
  /** Fields the where stage reads (CIM: they must be `by` fields of tstats). */
  whereFields: Set<string>;
  approx: Approx[];
}

function target(env: Env, f: Expr): Target {
  if (f.kind !== 'Field') throw new Fail('EQL3007', 'SPL can only compare a field with values here', f.span);
  const direct = fieldMapping(env.mapping, env.cls, f.name);
  const m = direct ?? prefixed(env.cls, f.name);
  if (direct === undefined && m && !SEARCH_FIELD.test(String(m.field))) throw new Fail('EQL3002', `${f.name} has no plain SPL field name`, f.span);
  if (!m) throw new Fail('EQL3002', `${f.name} has no equivalent in the ${env.cls.name} events of the SPL ${env.cim ? 'cim' : 'sysmon'} profile`, f.span);
  // Errors in the mapping data are not relaxed away like a missing field.
  if (Array.isArray(m.field) || !SEARCH_FIELD.test(m.field)) throw new Fail('EQL3303', `the SPL mapping of ${f.name} must name one plain field`, f.span);
  if (m.transform && !TRANSFORMS.has(m.transform)) throw new Fail('EQL3303', `unknown transform "${m.transform}" in the SPL mapping of ${f.name}`, f.span);
  return { name: f.name, field: m.field, numeric: m.type === 'number', transform: (m.transform as Transform) ?? null, lossy: m.lossy, values: m.values, span: f.span };
}

/** Fields a class maps by name prefix (`prefixes` in its source), e.g. `winlog.event_data.X` → `X`. */
function prefixed(cls: EventClass, name: string): FieldMapping | undefined {
  for (const [from, to] of Object.entries((cls.source.prefixes ?? {}) as Record<string, string>))
    if (name.startsWith(from) && name.length > from.length) return { field: `${to}${name.slice(from.length)}` };
  return undefined;
}

function noteLossy(env: Env, t: Target, neg: boolean, values: readonly string[] = []) {
  if (!t.lossy) return;
  // Inside a command line an argument with quotes or blanks is itself quoted: a substring search can miss it.
  const quoted = t.transform === 'cmdline-token' && values.some((v) => /["\s]/.test(v));
  const reason = quoted ? `${t.lossy.reason}, and an argument holding quotes or blanks is quoted there` : t.lossy.reason;
  env.approx.push({ code: 'EQL3006', message: `${t.name} → ${t.field}: ${reason}`, span: t.span, direction: quoted ? 'different' : flip(t.lossy.direction, neg) });
}

const altTexts = (p: StrPred) => p.alts.map((a) => ('glob' in a ? litText(a.glob) : a.regex));

// ---------------------------------------------------------------- predicates

/** A string predicate normalised from `:`, `like`, `==`, `in`, startsWith...: any alternative matches. */
interface StrPred {
  t: Target;
  ci: boolean;
  alts: ({ glob: GlobPart[] } | { regex: string })[];
  span: Span;
}

const lit = (v: string): GlobPart[] => (v ? [{ t: 'lit', v }] : []);
const patternGlob = (p: Pattern): GlobPart[] => (p.kind === 'glob' ? [...p.parts] : p.kind === 'regex' ? [] : globParts(p.value));

/** Search text of a glob (without quotes), or null when search cannot say it exactly. */
function globSearch(parts: readonly GlobPart[]): { text: string; exact: boolean } {
  let text = '';
  let exact = true;
  for (const p of parts) {
    if (p.t === 'any') text += '*';
    else if (p.t === 'one') (text += '*'), (exact = false);
    else {
      // A literal `*` reads as a wildcard, an unsafe character cannot be written: both widen to `*`.
      if (/[*]/.test(p.v) || UNSAFE.test(p.v)) exact = false;
      text += p.v.replace(new RegExp(UNSAFE.source, 'g'), '*');
    }
  }
  return { text: text.replace(/\*+/g, '*'), exact };
}

function globRegex(parts: readonly GlobPart[], any: string, one: string): string {
  return parts.map((p) => (p.t === 'any' ? any : p.t === 'one' ? one : regexLiteral(p.v))).join('');
}

const hasWild = (parts: readonly GlobPart[]) => parts.some((p) => p.t !== 'lit');
const litText = (parts: readonly GlobPart[]) => parts.filter((p) => p.t === 'lit').map((p) => (p as { v: string }).v).join('');

/** A regex as parts, so alternatives can share their anchors without re-reading regex text. */
interface Rx {
  core: string;
  start: boolean;
  end: boolean;
}
const rx = (r: Rx) => `${r.start ? '^' : ''}${r.core}${r.end ? END : ''}`;

/** One regex for several alternatives: `^(?:a|b)\z` when they share both anchors. */
function alternation(rs: Rx[]): string {
  if (rs.length === 1) return rx(rs[0]!);
  const start = rs.every((r) => r.start);
  const end = rs.every((r) => r.end);
  const inner = rs.map((r) => rx({ core: r.core, start: r.start && !start, end: r.end && !end }));
  return rx({ core: `(?:${inner.join('|')})`, start, end });
}

/** How a glob on the ECS field reads on the target field, for each transform: search form and regex. */
function transformed(t: Target, parts: GlobPart[], sep: string): { search: { text: string; exact: boolean }; regex: Rx; dot: boolean } {
  const S = regexLiteral(sep);
  const notSep = `[^${S}]`;
  const base = globSearch(parts);
  switch (t.transform) {
    case null: {
      // A leading or trailing `*` is the regex's own unanchored search.
      const start = parts[0]?.t === 'any' ? 1 : 0;
      const end = parts.length > start && parts[parts.length - 1]!.t === 'any' ? parts.length - 1 : parts.length;
      const core = parts.slice(start, end);
      return { search: base, regex: { core: globRegex(core, '.*', '.'), start: !start, end: end === parts.length }, dot: hasWild(core) };
    }
    case 'basename': {
      // Exact in search only when no wildcard can reach across a separator.
      const leadingAny = parts[0]?.t === 'any';
      const rest = leadingAny ? parts.slice(1) : parts;
      const exact = base.exact && !hasWild(rest) && !litText(parts).includes(sep);
      const text = leadingAny ? base.text : `*${sep}${base.text}`;
      // Unanchored at the start: a match that ends the value after a separator is a match of the basename
      // (a suffix pattern without separators needs no separator at all).
      const core = exact && leadingAny ? globRegex(rest, '', '') : `${S}${globRegex(parts, `${notSep}*`, notSep)}`;
      return { search: { text: text.replace(/\*+/g, '*'), exact }, regex: { core, start: false, end: true }, dot: false };
    }
    case 'dirname':
      return {
        search: { text: `${base.text}${sep}*`.replace(/\*+/g, '*'), exact: false },
        regex: { core: `${globRegex(parts, '.*', '.')}${S}${notSep}+`, start: true, end: true },
        dot: hasWild(parts),
      };
    case 'extension': {
      const exact = base.exact && !hasWild(parts) && !/[.]/.test(litText(parts)) && !litText(parts).includes(sep);
      const notDot = `[^.${S}]`;
      return { search: { text: `*.${base.text}`.replace(/\*+/g, '*'), exact }, regex: { core: `\\.${globRegex(parts, `${notDot}*`, notDot)}`, start: false, end: true }, dot: false };
    }
    case 'cmdline-token': {
      // A substring of the command line, whatever the anchoring of the argument pattern.
      const core = parts.slice(parts[0]?.t === 'any' ? 1 : 0, parts.length && parts[parts.length - 1]!.t === 'any' ? -1 : undefined);
      const g = globSearch(core);
      return { search: { text: `*${g.text}*`.replace(/\*+/g, '*'), exact: true }, regex: { core: globRegex(core, '.*', '.'), start: false, end: false }, dot: true };
    }
  }
}

function strPred(env: Env, arg: Expr, ci: boolean, alts: StrPred['alts'], span: Span): StrPred {
  const t = target(env, arg);
  if (t.numeric) throw new Fail('EQL3007', `${t.name} is numeric in SPL; a string pattern cannot match it`, span);
  return { t, ci, alts: t.values ? spelled(t, t.values, ci, alts, span) : alts, span };
}

/** A field the source spells its own way (`values`): each ECS value the rule names becomes the source's spellings. */
function spelled(t: Target, values: NonNullable<FieldMapping['values']>, ci: boolean, alts: StrPred['alts'], span: Span): StrPred['alts'] {
  const out: StrPred['alts'] = [];
  for (const a of alts) {
    if (!('glob' in a) || a.glob.some((p) => p.t !== 'lit')) throw new Fail('EQL3007', `${t.field} spells ${t.name} its own way; only whole values translate`, span);
    const v = litText(a.glob);
    for (const [ecs, spellings] of Object.entries(values))
      if (ci ? ecs.toLowerCase() === v.toLowerCase() : ecs === v) for (const s of [spellings].flat()) out.push({ glob: lit(s) });
  }
  if (!out.length) throw new Fail('EQL3007', `${t.field} has no spelling of the ${t.name} values the rule names`, span);
  return out;
}

// ---------------------------------------------------------------- search language

interface SearchText {
  text: string;
  /** False when the text is only a wider prefilter of the condition. */
  exact: boolean;
}

/** A search-language rendering of a condition, or null when search cannot even prefilter it. */
function search(env: Env, e: Expr, neg: boolean): SearchText | null {
  switch (e.kind) {
    case 'And': {
      const parts = e.args.map((a) => search(env, a, neg));
      const kept = parts.filter((p): p is SearchText => p !== null);
      if (!kept.length) return null;
      return { text: group(kept.map((p) => p.text), ' '), exact: kept.length === parts.length && kept.every((p) => p.exact) };
    }
    case 'Or': {
      const parts = e.args.map((a) => search(env, a, neg));
      if (parts.some((p) => p === null)) return null;
      return { text: group(parts.map((p) => p!.text), ' OR '), exact: parts.every((p) => p!.exact) };
    }
    case 'Not': {
      const inner = search(env, e.arg, !neg);
      // NOT of a wider prefilter would be narrower: only an exact inner part can be negated.
      if (!inner || !inner.exact) return null;
      return { text: `NOT ${paren(inner.text)}`, exact: true };
    }
    case 'Literal':
      if (e.value === true) return { text: '', exact: true };
      return null;
    case 'Exists': {
      const t = target(env, e.arg);
      // An extension or a directory exists only for some values of the path: search cannot tell which.
      if (t.transform === 'extension' || t.transform === 'dirname') return null;
      return { text: `${t.field}=*`, exact: true };
    }
    default: {
      if (e.kind === 'Compare' && e.op === '!=') return search(env, notEqual(e), neg);
      const atom = atomOf(env, e);
      if (atom.kind === 'str') return searchStr(env, atom.p, neg);
      if (atom.kind === 'num') return searchNum(atom);
      if (atom.kind === 'cidr') return atom.nets.every((n) => !n.includes(':')) ? { text: group(atom.nets.map((n) => `${atom.t.field}=${str(n)}`), ' OR '), exact: true } : null;
      return null;
    }
  }
}

const paren = (s: string) => (/^[^\s()]+$/.test(s) || /^\(.*\)$/.test(s) && balanced(s.slice(1, -1)) ? s : `(${s})`);
function balanced(s: string): boolean {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}
function group(parts: string[], sep: string): string {
  const ps = parts.filter(Boolean);
  if (ps.length === 1) return ps[0]!;
  return `(${ps.map((p) => (sep === ' ' ? p : paren(p))).join(sep)})`;
}

function searchStr(env: Env, p: StrPred, neg: boolean): SearchText | null {
  const forms: { text: string; exact: boolean }[] = [];
  for (const a of p.alts) {
    if ('regex' in a) return null;
    forms.push(transformed(p.t, a.glob, env.sep).search);
  }
  const cmdline = p.t.transform === 'cmdline-token';
  if (cmdline) {
    noteLossy(env, p.t, neg, altTexts(p));
    if (!p.ci) caseApprox(env, p, neg);
  } else noteLossy(env, p.t, neg);
  const exact = (p.ci || cmdline) && forms.every((f) => f.exact);
  const values = forms.map((f) => str(f.text));
  const text = values.length === 1 ? `${p.t.field}=${values[0]}` : `${p.t.field} IN (${values.join(', ')})`;
  return { text, exact };
}

function caseApprox(env: Env, p: StrPred, neg: boolean) {
  env.approx.push({ code: 'EQL3302', message: `${p.t.field} is matched case-insensitively; the rule compares ${p.t.name} case-sensitively`, span: p.span, direction: flip('wider', neg) });
}

function searchNum(a: Extract<Atom, { kind: 'num' }>): SearchText | null {
  if (a.op === '==') return { text: a.values.length === 1 ? `${a.t.field}=${a.values[0]}` : `${a.t.field} IN (${a.values.join(', ')})`, exact: true };
  return null;
}

// ---------------------------------------------------------------- eval language (`| where`)

/**
 * An eval rendering. Splunk's null rules in eval are three-valued; to stay independent of them, an atom
 * under a negation is guarded with a presence test of its fields, so NOT sees true or false only (EQL's
 * negations are true for a missing field, docs/null-semantics.md). CIM rows carry tstats' fillnull marker.
 */
function evalExpr(env: Env, e: Expr, neg: boolean): string {
  switch (e.kind) {
    case 'And':
      return `(${e.args.map((a) => evalExpr(env, a, neg)).join(' AND ')})`;
    case 'Or':
      return `(${e.args.map((a) => evalExpr(env, a, neg)).join(' OR ')})`;
    case 'Not':
      return `NOT ${evalExpr(env, e.arg, !neg)}`;
    case 'Literal':
      if (typeof e.value === 'boolean') return e.value ? 'true()' : 'false()';
      throw new Fail('EQL3007', 'a bare value is not a condition', e.span);
    case 'Exists': {
      const t = target(env, e.arg);
      env.whereFields.add(t.field);
      // A file has an extension when its last path segment holds a dot, and a directory when the path holds a
      // separator; the path being there is not enough.
      const S = regexLiteral(env.sep);
      if (t.transform === 'extension') return `(${present(env, t.field)} AND match(${evalField(t.field)}, ${str(`\\.[^.${S}]*${END}`)}))`;
      if (t.transform === 'dirname') return `(${present(env, t.field)} AND match(${evalField(t.field)}, ${str(S)}))`;
      return present(env, t.field);
    }
    default: {
      if (e.kind === 'Compare' && e.op === '!=') return evalExpr(env, notEqual(e), neg);
      const atom = atomOf(env, e);
      const fields = atomFields(atom);
      for (const f of fields) env.whereFields.add(f);
      const body = evalAtom(env, atom, neg);
      const guard = neg || (env.cim && mayMatchNullMarker(atom)) ? fields.map((f) => present(env, f)) : [];
      return guard.length ? `(${[...guard, body].join(' AND ')})` : body;
    }
  }
}

/** Whether a positive atom could hold for the fillnull marker itself (then CIM needs the presence test). */
function mayMatchNullMarker(a: Atom): boolean {
  if (a.kind !== 'str' || a.p.t.transform) return a.kind !== 'num' && a.kind !== 'cidr';
  return a.p.alts.some((x) => 'regex' in x || hasWild(x.glob) || litText(x.glob).toLowerCase() === CIM_NULL);
}

/** tstats fills missing `by` fields with this marker (fillnull_value), so CIM where stages test for it. */
const CIM_NULL = 'null';
const present = (env: Env, field: string) => (env.cim ? `${evalField(field)}!=${str(CIM_NULL)}` : `isnotnull(${evalField(field)})`);

function evalAtom(env: Env, a: Atom, neg: boolean): string {
  switch (a.kind) {
    case 'str':
      return evalStr(env, a.p, neg);
    case 'num':
      return a.values.length === 1
        ? `tonumber(${evalField(a.t.field)})${COMPARE_EVAL[a.op]}${a.values[0]}`
        : `(${a.values.map((v) => `tonumber(${evalField(a.t.field)})==${v}`).join(' OR ')})`;
    case 'cidr': {
      const calls = a.nets.map((n) => `cidrmatch(${str(n)}, ${evalField(a.t.field)})`);
      return calls.length === 1 ? calls[0]! : `(${calls.join(' OR ')})`;
    }
    case 'expr':
      return a.text;
  }
}

function evalStr(env: Env, p: StrPred, neg: boolean): string {
  noteLossy(env, p.t, neg, altTexts(p));
  const f = evalField(p.t.field);
  const plain = p.t.transform === null && !p.ci && p.alts.every((a) => 'glob' in a && !hasWild(a.glob) && !UNSAFE.test(litText(a.glob)));
  if (plain) {
    const eqs = p.alts.map((a) => `${f}==${str(litText((a as { glob: GlobPart[] }).glob))}`);
    return eqs.length === 1 ? eqs[0]! : `(${eqs.join(' OR ')})`;
  }
  if (p.t.transform === 'cmdline-token' && !p.ci) caseApprox(env, p, neg);
  let dot = p.t.transform === 'cmdline-token';
  const rs = p.alts.map((a): Rx => {
    if ('regex' in a) {
      if (p.t.transform) throw new Fail('EQL3007', `a regex on ${p.t.name} cannot be applied to the ${p.t.transform} of ${p.t.field}`, p.span);
      dot = true;
      return { core: `(?:${a.regex})`, start: true, end: true };
    }
    const r = transformed(p.t, a.glob, env.sep);
    dot ||= r.dot;
    return r.regex;
  });
  // Regex alternatives carry their own (ASCII) case folding; the `i` flag is for the glob ones.
  const ci = p.ci && p.alts.some((a) => 'glob' in a);
  return `match(${f}, ${str(flags(ci || p.t.transform === 'cmdline-token', dot) + alternation(rs))})`;
}

// ---------------------------------------------------------------- atoms

/** `a != b` is `not a == b` in EQL (docs/null-semantics.md Q2): true when the field is missing. */
const notEqual = (e: Extract<Expr, { kind: 'Compare' }>): Expr => ({ kind: 'Not', arg: { ...e, op: '==' }, span: e.span });

type Atom =
  | { kind: 'str'; p: StrPred }
  | { kind: 'num'; t: Target; op: string; values: string[] }
  | { kind: 'cidr'; t: Target; nets: string[] }
  /** An eval-only expression (functions, arithmetic) with the fields it reads. */
  | { kind: 'expr'; text: string; fields: string[] };

const atomFields = (a: Atom): string[] => (a.kind === 'str' ? [a.p.t.field] : a.kind === 'expr' ? a.fields : [a.t.field]);

const strings = (xs: readonly Expr[]) => (xs.every((x) => x.kind === 'Literal' && typeof x.value === 'string') ? xs.map((x) => (x as Literal).value as string) : null);
const numbers = (xs: readonly Expr[]) => (xs.every((x) => x.kind === 'Literal' && typeof x.value === 'number') ? xs.map((x) => String((x as Literal).value)) : null);

/**
 * A Lucene regex (EQL `regex`) as PCRE, through the native matcher's translator: the same reading of `^ $ . "…"`
 * and the same refusals. Case folding (ASCII only, as Lucene's) is spelled in the pattern, so no `i` flag is added;
 * `.` needs the `s` flag. Its `\xhh` escapes are written `\x{hh}` like the rest of this backend's regexes.
 */
function luceneRegex(value: string, ci: boolean, span: Span): string {
  const t = luceneToRe2(value, ci, { dot: '.' });
  if (!t.ok) throw new Fail('EQL3007', `the regular expression ${JSON.stringify(value)} has no PCRE translation: ${t.message}`, span);
  return t.re2.replace(/\\(?:x([0-9a-f]{2})|[\s\S])/g, (m, h: string | undefined) => (h ? `\\x{${h}}` : m));
}

function atomOf(env: Env, e: Expr): Atom {
  switch (e.kind) {
    case 'Match': {
      if (e.op === 'regex' || e.op === 'regex~') {
        const alts = e.patterns.map((p) => ({ regex: luceneRegex(p.value, e.caseInsensitive, p.span) }));
        return { kind: 'str', p: strPred(env, e.arg, e.caseInsensitive, alts, e.span) };
      }
      return { kind: 'str', p: strPred(env, e.arg, e.caseInsensitive, e.patterns.map((p) => ({ glob: patternGlob(p) })), e.span) };
    }
    case 'In': {
      const s = strings(e.values);
      if (s) return { kind: 'str', p: strPred(env, e.arg, e.caseInsensitive, s.map((v) => ({ glob: lit(v) })), e.span) };
      const n = numbers(e.values);
      if (n) return { kind: 'num', t: numTarget(env, e.arg, e.span), op: '==', values: n };
      throw new Fail('EQL3007', 'SPL lists must hold only strings or only numbers', e.span);
    }
    case 'Compare':
      return compareAtom(env, e);
    case 'Call':
      return callAtom(env, e);
    case 'Field':
      // A bare boolean field.
      return { kind: 'str', p: strPred(env, e, true, [{ glob: lit('true') }], e.span) };
    default:
      throw new Fail('EQL3007', `${e.kind} is not a condition SPL can evaluate`, e.span);
  }
}

function numTarget(env: Env, arg: Expr, span: Span): Target {
  const t = target(env, arg);
  if (t.transform) throw new Fail('EQL3007', `${t.name} is derived from ${t.field}; it cannot be compared as a number`, span);
  return t;
}

function compareAtom(env: Env, e: Extract<Expr, { kind: 'Compare' }>): Atom {
  const { left, right, op } = e;
  if (left.kind === 'Field' && right.kind === 'Literal') {
    if (typeof right.value === 'string') {
      if (op === '==') return { kind: 'str', p: strPred(env, left, false, [{ glob: lit(right.value) }], e.span) };
      throw new Fail('EQL3007', 'SPL compares strings by order differently from Elasticsearch (locale, numbers); not translated', e.span);
    }
    if (typeof right.value === 'number') return { kind: 'num', t: numTarget(env, left, e.span), op, values: [String(right.value)] };
    if (typeof right.value === 'boolean' && op === '==') return { kind: 'str', p: strPred(env, left, true, [{ glob: lit(String(right.value)) }], e.span) };
  }
  if (left.kind === 'Call' && right.kind === 'Literal' && typeof right.value === 'boolean' && op === '==') {
    const inner = callAtom(env, left);
    if (right.value) return inner;
    const fields = atomFields(inner);
    return { kind: 'expr', text: `NOT ${evalAtom(env, inner, true)}`, fields };
  }
  const fields: string[] = [];
  const l = valueExpr(env, left, fields);
  const r = valueExpr(env, right, fields);
  return { kind: 'expr', text: `${l}${COMPARE_EVAL[op]}${r}`, fields };
}

/** A value in eval: numbers through tonumber(), strings as they are. */
function valueExpr(env: Env, e: Expr, fields: string[]): string {
  switch (e.kind) {
    case 'Literal':
      if (typeof e.value === 'number') return String(e.value);
      if (typeof e.value === 'string' && !UNSAFE.test(e.value)) return str(e.value);
      throw new Fail('EQL3007', 'this value cannot be compared in SPL', e.span);
    case 'Field': {
      const t = numTarget(env, e, e.span);
      fields.push(t.field);
      return t.numeric ? `tonumber(${evalField(t.field)})` : evalField(t.field);
    }
    case 'Arith':
      if (!(e.op in ARITH_EVAL)) throw new Fail('EQL3007', 'EQL divides integers without a remainder; SPL `/` does not (not translated)', e.span);
      return `(${valueExpr(env, e.left, fields)}${ARITH_EVAL[e.op]}${valueExpr(env, e.right, fields)})`;
    case 'Neg':
      return `(0-${valueExpr(env, e.arg, fields)})`;
    case 'Call':
      if (e.name === 'length' && e.args.length === 1 && e.args[0]!.kind === 'Field') {
        const t = target(env, e.args[0]!);
        if (t.transform && t.transform !== 'basename') throw new Fail('EQL3007', `${t.name} is derived from ${t.field}; its length is not translated`, e.span);
        fields.push(t.field);
        return t.transform ? `len(mvindex(split(${evalField(t.field)}, ${str(env.sep)}), -1))` : `len(${evalField(t.field)})`;
      }
      throw new Fail('EQL3007', `the EQL function ${e.name}() has no SPL translation here`, e.span);
    default:
      throw new Fail('EQL3007', `${e.kind} has no SPL value`, e.span);
  }
}

function callAtom(env: Env, e: Extract<Expr, { kind: 'Call' }>): Atom {
  const [arg, ...rest] = e.args;
  const s = strings(rest);
  if (arg && s) {
    const ci = e.caseInsensitive;
    switch (e.name) {
      case 'startsWith':
        return { kind: 'str', p: strPred(env, arg, ci, s.map((v) => ({ glob: [...lit(v), { t: 'any' }] })), e.span) };
      case 'endsWith':
        return { kind: 'str', p: strPred(env, arg, ci, s.map((v) => ({ glob: [{ t: 'any' }, ...lit(v)] })), e.span) };
      case 'stringContains':
        return { kind: 'str', p: strPred(env, arg, ci, s.map((v) => ({ glob: [{ t: 'any' }, ...lit(v), { t: 'any' }] })), e.span) };
      case 'cidrMatch': {
        const t = target(env, arg);
        if (t.transform) throw new Fail('EQL3007', `cidrMatch needs an IP field, ${t.field} is not one`, e.span);
        // An address alone is a network of one address in EQL; cidrmatch is given it in CIDR form (/32, /128).
        return { kind: 'cidr', t, nets: s.map((n) => (n.includes('/') ? n : `${n}/${n.includes(':') ? 128 : 32}`)) };
      }
    }
  }
  throw new Fail('EQL3007', `the EQL function ${e.name}() has no SPL translation as a condition`, e.span);
}

// ---------------------------------------------------------------- classes and filters

interface Picked {
  cls: EventClass;
  /** Conjuncts the class guarantees: not rendered. */
  implied: Set<Expr>;
  losses: ClassLoss[];
}

/**
 * Choose the class of a filter: the core's choice on `when`, refined by the class's `holds` (the activity the
 * class records, in every ECS vocabulary the rules use). A rule that pins any of those fields to values the
 * class holds is covered; one that pins none of them gets a narrower source.
 */
function pickClass(mapping: Mapping, facts: FilterFacts, fields: readonly string[]): Picked | null {
  let fallback: Picked | null = null;
  let fallbackMapsAll = false;
  for (const cls of mapping.classes) {
    if (!requirementsMet(cls, facts, fields)) continue;
    const base = chooseClass({ ...mapping, classes: [cls] }, facts);
    if (!base) continue;
    const implied = new Set(base.implied);
    const losses = [...base.losses];
    const recorded = (cls.source.holds ?? {}) as Record<string, string[]>;
    const synonyms = (cls.source.synonyms ?? {}) as Record<string, string[]>;
    const holds = { ...recorded, ...synonyms };
    const unrecorded = Object.keys(synonyms);
    const activity = Object.keys(holds);
    if (activity.length) {
      let covered = false;
      let fits = true;
      for (const f of activity) {
        const have = facts.values.get(f);
        if (!have) continue;
        const same = (a: string, b: string) => (have.caseInsensitive ? a.toLowerCase() === b.toLowerCase() : a === b);
        const inClass = (v: string) => holds[f]!.some((h) => same(h, v));
        if (!have.values.some(inClass)) {
          fits = false;
          continue;
        }
        covered = true;
        implied.add(have.node);
        if (!have.values.every(inClass))
          losses.push({ message: `the SPL source "${cls.name}" holds only some of the ${f} values the rule allows`, direction: 'narrower', node: have.node });
        // The class's events carry one spelling; a case-insensitive rule also accepts others.
        else if (have.caseInsensitive && !unrecorded.includes(f))
          losses.push({ message: `the SPL source "${cls.name}" holds ${f} spelled ${holds[f]!.map((v) => JSON.stringify(v)).join('/')} only; the rule accepts any case`, direction: 'narrower', node: have.node });
        // Names of the activity the source does not record itself (event.action): matched, not checked.
        // (Recorded values are ECS arrays every event of the class carries in full: nothing to add.)
        if (unrecorded.includes(f))
          losses.push({ message: `the SPL source "${cls.name}" does not record ${f}; all its events count as ${have.values.filter(inClass).map((v) => JSON.stringify(v)).join('/')}`, direction: 'wider', node: have.node });
      }
      if (!fits) continue;
      if (!covered) losses.push({ message: `the SPL source "${cls.name}" only holds ${activity.map((f) => `${f} ${holds[f]!.slice(0, 2).map((v) => JSON.stringify(v)).join('/')}`).join(' or ')} events`, direction: 'narrower', node: null });
    }
    if (cls.when.category === undefined && facts.category !== null && facts.category !== 'any')
      losses.push({ message: `the SPL source "${cls.name}" does not tell ${facts.category} events from others`, direction: 'wider', node: null });
    const pick = { cls, implied, losses };
    if (!losses.length) return pick;
    // Among narrower sources, prefer the first that has every field the filter reads.
    const mapsAll = fields.every((f) => CLASSIFYING_FIELDS.includes(f) || fieldMapping(classMapping(mapping, cls), cls, f) || prefixed(cls, f));
    if (!fallback || (mapsAll && !fallbackMapsAll)) (fallback = pick), (fallbackMapsAll = mapsAll);
  }
  return fallback;
}

/**
 * `requires`: a source that only exists for some rules (a cloud log, the Windows event log catch-all) is chosen
 * only when the filter constrains the listed fields at top level, or, for a name ending in `.`, reads a field
 * under that prefix; an entry that is a list needs one of them.
 */
function requirementsMet(cls: EventClass, facts: FilterFacts, fields: readonly string[]): boolean {
  const requires = (cls.source.requires ?? []) as (string | string[])[];
  const met = (f: string) => (f.endsWith('.') ? fields.some((n) => n.startsWith(f)) : facts.values.has(f));
  return requires.every((r) => (Array.isArray(r) ? r : [r]).some(met));
}

/** `own_fields`: a class of another product (CloudTrail, Okta...) reads only its own fields, never the Sysmon ones. */
function classMapping(mapping: Mapping, cls: EventClass): Mapping {
  return cls.source.own_fields === true ? { ...mapping, fields: {} } : mapping;
}

interface Rendered {
  /** Search terms (source, class filter, conditions). */
  terms: string[];
  /** Eval conditions of the where stage. */
  where: string[];
  /** The whole condition in eval (used to tag sequence steps). */
  evalAll: string[];
  env: Env;
}

function renderFilter(ctx: TranslateContext, mapping: Mapping, cim: boolean, filter: EventFilter): Rendered {
  const facts = filterFacts(filter);
  // `any where event.category == "x"` reads as `x where`.
  const cat = facts.values.get('event.category');
  if (facts.category === null && cat && cat.values.length === 1) facts.category = cat.values[0]!;
  const fields = [...walk(filter.where)].filter((e): e is Field => e.kind === 'Field').map((f) => f.name);
  const pick = pickClass(mapping, facts, fields);
  if (!pick) throw new Fail('EQL3003', unreadDatasets(mapping, facts) ?? `no ${cim ? 'CIM data model' : 'source of the sysmon profile'} in the SPL mapping holds ${facts.category ?? 'any'} events${facts.values.get('host.os.type') ? ` of ${facts.values.get('host.os.type')!.values.join('/')} hosts` : ''}`, filter.span);
  if (cat && facts.category === cat.values[0]) pick.implied.add(cat.node);
  for (const l of pick.losses) ctx.approximate('EQL3004', l.message, (l.node ?? filter).span, l.direction, lossNote(l));
  const env: Env = { mapping: classMapping(mapping, pick.cls), cls: pick.cls, cim, sep: String(pick.cls.source.path_separator ?? '\\'), whereFields: new Set(), approx: [] };
  const terms: string[] = [];
  const where: string[] = [];
  const evalAll: string[] = [];
  for (const [field, value] of Object.entries((pick.cls.source.filter ?? {}) as Record<string, string | number | (string | number)[]>)) {
    // Mapping data is user input too (--mapping): names must be plain field names, values are quoted.
    if (!SEARCH_FIELD.test(field)) throw new Fail('EQL3303', `invalid field name ${JSON.stringify(field)} in the filter of the SPL class ${pick.cls.name}`, filter.span);
    const vs = (Array.isArray(value) ? value : [value]).map((v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : str(String(v))));
    terms.push(vs.length === 1 ? `${field}=${vs[0]}` : `${field} IN (${vs.join(', ')})`);
    const ev = vs.map((v) => `${evalField(field)}==${v}`);
    evalAll.push(ev.length === 1 ? ev[0]! : `(${ev.join(' OR ')})`);
  }
  let relaxedAway = 0;
  let kept = 0;
  for (const original of facts.conjuncts) {
    if (pick.implied.has(original)) continue;
    if (droppedClassifier(ctx, env, original)) continue;
    const c = relax(ctx, env, original, false);
    if (c.kind === 'Literal') {
      if (c.value === true) {
        relaxedAway++;
        continue;
      }
      throw new Fail('EQL3303', 'the condition cannot hold in SPL once the parts without an equivalent are left out', original.span);
    }
    kept++;
    const marker = env.approx.length;
    const s = search(env, c, false);
    if (s && s.exact) {
      if (s.text) terms.push(s.text);
      env.approx.splice(marker); // the eval rendering below records the same approximations once
      evalAll.push(evalExpr({ ...env, whereFields: new Set() }, c, false));
      continue;
    }
    env.approx.splice(marker);
    if (s && s.text) terms.push(s.text);
    env.approx.splice(marker);
    const w = evalExpr(env, c, false);
    where.push(w);
    evalAll.push(w);
  }
  if (relaxedAway && !kept) throw new Fail('EQL3303', `nothing of the condition is left in SPL beyond the ${env.cls.name} events themselves`, filter.span);
  // Approximations were recorded twice (search and eval forms) for conjuncts rendered both ways: keep one.
  const seen = new Set<string>();
  for (const a of env.approx) {
    const key = `${a.code}|${a.message}|${a.span.start.offset}|${a.direction}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ctx.approximate(a.code, a.message, a.span, a.direction);
  }
  return { terms, where, evalAll, env };
}

/**
 * Leave out what SPL cannot say, in the direction that keeps the rendering wider: a condition without an
 * equivalent becomes true where it is asserted and false where it is negated, and is declared (EQL3305).
 * Untouched nodes keep their identity.
 */
function relax(ctx: TranslateContext, env: Env, e: Expr, neg: boolean): Expr {
  const T = (value: boolean): Expr => ({ kind: 'Literal', type: 'boolean', value, span: e.span });
  switch (e.kind) {
    case 'And':
    case 'Or': {
      const args = e.args.map((a) => relax(ctx, env, a, neg));
      if (args.every((a, i) => a === e.args[i])) return e;
      const absorbing = e.kind === 'Or';
      if (args.some((a) => a.kind === 'Literal' && a.value === absorbing)) return T(absorbing);
      const rest = args.filter((a) => !(a.kind === 'Literal' && a.value === !absorbing));
      if (!rest.length) return T(!absorbing);
      return rest.length === 1 ? rest[0]! : { ...e, args: rest };
    }
    case 'Not': {
      const arg = relax(ctx, env, e.arg, !neg);
      if (arg === e.arg) return e;
      return arg.kind === 'Literal' ? T(arg.value !== true) : { ...e, arg };
    }
    case 'Literal':
      return e;
    default: {
      const scratch: Env = { ...env, approx: [], whereFields: new Set() };
      try {
        if (e.kind === 'Exists') target(scratch, e.arg);
        else if (!(e.kind === 'Compare' && e.op === '!=')) evalAtom(scratch, atomOf(scratch, e), neg);
        else evalExpr(scratch, e, neg);
        return e;
      } catch (err) {
        if (!(err instanceof Fail) || (err.code !== 'EQL3002' && err.code !== 'EQL3007')) throw err;
        ctx.approximate('EQL3305', `${err.message}; the condition is left out`, err.span ?? e.span, 'wider');
        return T(!neg);
      }
    }
  }
}

/** A top-level classifying condition on a field the target does not record is dropped, wider, and said so. */
function droppedClassifier(ctx: TranslateContext, env: Env, c: Expr): boolean {
  const field = c.kind === 'Compare' ? c.left : c.kind === 'In' || c.kind === 'Match' ? c.arg : null;
  if (!field || field.kind !== 'Field' || !CLASSIFYING_FIELDS.includes(field.name) || fieldMapping(env.mapping, env.cls, field.name) || prefixed(env.cls, field.name)) return false;
  ctx.approximate('EQL3301', `the SPL source "${env.cls.name}" does not record ${field.name}; the condition is left out`, c.span, 'wider');
  return true;
}

/** Index and macro settings name where the Sysmon data lives; a class of another product brings its own. */
function sourceOf(mapping: Mapping, cls: EventClass): { macro: string | null; index: string | null; source: string | null; sourcetype: string | null } {
  const settings = cls.source.own_fields === true ? {} : mapping.settings;
  const text = (v: unknown) => (typeof v === 'string' && v ? v : null);
  const macro = text(settings.macro ?? cls.source.macro);
  if (macro) return { macro, index: null, source: null, sourcetype: null };
  return { macro: null, index: text(settings.index ?? cls.source.index), source: text(cls.source.source), sourcetype: text(cls.source.sourcetype) };
}

function sourceTerms(mapping: Mapping, cls: EventClass): string[] {
  const src = sourceOf(mapping, cls);
  if (src.macro) {
    if (!/^[A-Za-z0-9_:.-]+(\([^`]*\))?$/.test(src.macro)) throw new Fail('EQL3303', `invalid SPL macro name ${JSON.stringify(src.macro)} in the mapping`);
    return [`\`${src.macro}\``];
  }
  return (['index', 'source', 'sourcetype'] as const).flatMap((key) => (src[key] ? [`${key}=${str(src[key]!)}`] : []));
}

// ---------------------------------------------------------------- queries

function eventQuery(ctx: TranslateContext, mapping: Mapping, cim: boolean, filter: EventFilter): string[] {
  // Branches of their own sources say more than one source for all (e.g. the Windows event log catch-all, which
  // does not tell categories apart): taken when every branch has a source, and as a last resort otherwise.
  const parts = cim ? null : branches(filter);
  if (parts) {
    const trial = new TranslateContext(ctx.target, ctx.mapping, ctx.options);
    try {
      const lines = branchQuery(trial, mapping, filter, parts);
      if (!trial.diagnostics.some((d) => d.code === 'EQL3306')) {
        ctx.diagnostics.push(...trial.diagnostics);
        return lines;
      }
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
    }
  }
  let r: Rendered;
  try {
    r = renderFilter(ctx, mapping, cim, filter);
  } catch (e) {
    if (!parts || !(e instanceof Fail) || e.code !== 'EQL3003') throw e;
    return branchQuery(ctx, mapping, filter, parts);
  }
  if (!cim) {
    const lines = [[...sourceTerms(mapping, r.env.cls), ...r.terms].join(' ')];
    if (r.where.length) lines.push(`| where ${r.where.join(' AND ')}`);
    return lines;
  }
  const src = r.env.cls.source as { datamodel?: string; node?: string; by?: string[] };
  if (!src.datamodel || !src.node) throw new Fail('EQL3003', `the CIM class ${r.env.cls.name} names no data model`, filter.span);
  const node = src.node;
  const by = [...new Set([...(src.by ?? []), ...r.env.whereFields])];
  for (const name of [src.datamodel, node, ...by])
    if (typeof name !== 'string' || !SEARCH_FIELD.test(name)) throw new Fail('EQL3303', `invalid data model or field name ${JSON.stringify(name)} in the SPL class ${r.env.cls.name}`, filter.span);
  const prefixed = (t: string) => prefixFields(t, node);
  const where = r.terms.length ? ` where ${r.terms.map(prefixed).join(' ')}` : '';
  const lines = [
    `| tstats summariesonly=false allow_old_summaries=true fillnull_value=${str(CIM_NULL)} count min(_time) as firstTime max(_time) as lastTime from datamodel=${src.datamodel}${where} by ${by.map((f) => `${node}.${f}`).join(' ')}`,
    `| \`drop_dm_object_name(${node})\``,
  ];
  if (r.where.length) lines.push(`| where ${r.where.join(' AND ')}`);
  return lines;
}

/**
 * An `any` filter that ORs branches of different classes (`(event.category == "file" and …) or
 * (event.category == "process" and …)`): the filter once per branch, the branch's conjuncts first (they name its
 * category) and the others after. A top-level category list that holds the branch's category is implied by it.
 * Null when the filter has no such `or`.
 */
function branches(filter: EventFilter): EventFilter[] | null {
  if (filter.category !== null) return null;
  const one = (e: Expr) => filterFacts({ kind: 'EventFilter', category: null, where: e, span: e.span }).values.get('event.category');
  const flat = (e: Expr): Expr[] => (e.kind === 'Or' ? e.args.flatMap(flat) : [e]);
  const conjuncts = conjunctsOf(filter.where);
  for (const [i, c] of conjuncts.entries()) {
    if (c.kind !== 'Or') continue;
    const alts = flat(c);
    const cats = alts.map((a) => one(a));
    if (!cats.every((v) => v && v.values.length === 1)) continue;
    return alts.map((a, k) => {
      const own = cats[k]!;
      const implied = (r: Expr) => {
        const list = one(r);
        const ci = own.caseInsensitive || !!list?.caseInsensitive;
        return !!list && list.values.some((v) => (ci ? v.toLowerCase() === own.values[0]!.toLowerCase() : v === own.values[0]));
      };
      const rest = conjuncts.filter((r, j) => j !== i && !implied(r));
      return { ...filter, where: { kind: 'And', args: [...conjunctsOf(a), ...rest], span: filter.where.span }, span: a.span };
    });
  }
  return null;
}

/**
 * The branches of an `any` filter as one search: each branch's source and terms in a group of an OR, and, when a
 * branch needs the where stage, one where that ORs every branch's whole condition in eval form, each told apart by
 * the source fields that differ between the branches. A branch no source holds is left out (narrower).
 */
function branchQuery(ctx: TranslateContext, mapping: Mapping, filter: EventFilter, parts: EventFilter[]): string[] {
  const kept: Rendered[] = [];
  const dropped: { span: Span; why: string }[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    const sub = new TranslateContext(ctx.target, ctx.mapping, ctx.options);
    let r: Rendered;
    try {
      r = renderFilter(sub, mapping, false, part);
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      dropped.push({ span: part.span, why: e.message });
      continue;
    }
    kept.push(r);
    // Conjuncts shared by the branches are rendered once per branch: report each of their diagnostics once.
    for (const d of sub.diagnostics) {
      const key = `${d.code} ${d.message} ${d.span?.start.offset}`;
      if (!seen.has(key)) ctx.diagnostics.push(d);
      seen.add(key);
    }
  }
  if (!kept.length) throw new Fail('EQL3003', `no branch of the query has an SPL source: ${dropped.map((d) => d.why).join('; ')}`, filter.span);
  for (const d of dropped) ctx.approximate('EQL3306', `this branch has no SPL source and is left out: ${d.why}`, d.span, 'narrower');
  const groups = kept.map((r) => [...sourceTerms(mapping, r.env.cls), ...r.terms].join(' '));
  if (kept.length === 1) return [groups[0]!, ...(kept[0]!.where.length ? [`| where ${kept[0]!.where.join(' AND ')}`] : [])];
  const lines = [groups.map((g) => `(${g})`).join(' OR ')];
  if (kept.every((r) => !r.where.length)) return lines;
  // Which branch an event came from: the class filter is in evalAll; the source fields that differ are added.
  const sources = kept.map((r) => sourceOf(mapping, r.env.cls));
  const usable = (v: string | null): v is string => v !== null && !v.includes('*');
  const keys = (['index', 'source', 'sourcetype'] as const).filter((k) => sources.some((s) => s[k] !== sources[0]![k]));
  const ids = sources.map((s) => keys.flatMap((k) => (usable(s[k]) ? [`${k}==${str(s[k])}`] : [])));
  // Two branches of different sources need a field both name, with different values (a macro names none).
  sources.forEach((a, i) =>
    sources.slice(i + 1).forEach((b) => {
      if (JSON.stringify(a) !== JSON.stringify(b) && !keys.some((k) => usable(a[k]) && usable(b[k]) && a[k] !== b[k]))
        throw new Fail('EQL3303', "the where stage cannot tell the branches' SPL sources apart", filter.span);
    }),
  );
  const conds = kept.map((r, i) => [...ids[i]!, ...r.evalAll]);
  lines.push(`| where ${conds.map((c) => (c.length ? `(${c.join(' AND ')})` : 'true()')).join(' OR ')}`);
  return lines;
}

/** CIM search terms name data-model fields as `<node>.<field>`; values stay untouched. */
function prefixFields(terms: string, node: string): string {
  let out = '';
  let i = 0;
  while (i < terms.length) {
    const c = terms[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < terms.length && terms[j] !== '"') j += terms[j] === '\\' ? 2 : 1;
      out += terms.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_.]*(?=(=|!=| IN \())/.exec(terms.slice(i));
    if (m && (i === 0 || /[\s(]/.test(terms[i - 1]!))) {
      out += `${node}.${m[0]}`;
      i += m[0].length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/**
 * Sequences with `transaction`: it groups events by the join keys, bounds the group with maxspan and
 * opens it on the first step and closes it on the last, which states by keys, maxspan and the first and
 * last positions in a few words; streamstats would need one state column per step. It does not check the
 * order of middle steps, an event that fits two steps is tagged with the first, and `until` is not
 * expressible: the translation is declared approximate.
 */
function sequence(ctx: TranslateContext, mapping: Mapping, q: Sequence): string[] {
  if (q.steps.some((s) => s.missing)) throw new Fail('EQL3303', 'missing-event steps (`![...]`) have no SPL translation', q.steps.find((s) => s.missing)!.span);
  const steps = q.steps.map((s) => ({ step: s, r: renderFilter(ctx, mapping, false, s.filter) }));
  const groups = steps.map(({ r }) => `(${[...sourceTerms(mapping, r.env.cls), ...r.terms].join(' ')})`);
  const lines = [groups.length === 1 ? groups[0]!.slice(1, -1) : groups.join(' OR ')];
  lines.push(`| eval eqlport_step=case(${steps.map(({ r }, i) => `${r.evalAll.length ? r.evalAll.join(' AND ') : 'true()'}, ${i + 1}`).join(', ')})`);
  lines.push('| where isnotnull(eqlport_step)');
  // Join keys: one target field per key when every step maps it alike, else an eval'd common key.
  const keyFields: string[] = [];
  const lossyKeys = new Set<string>();
  const nKeys = q.by.length + (q.steps[0]?.by.length ?? 0);
  for (let k = 0; k < nKeys; k++) {
    let dropped: Fail | null = null;
    const perStep = steps.map(({ step, r }) => {
      const key = k < q.by.length ? q.by[k]! : step.by[k - q.by.length]!;
      if (key.kind !== 'Field') throw new Fail('EQL3303', 'SPL joins sequences on fields only', key.span);
      let t: Target;
      try {
        t = target(r.env, key);
      } catch (e) {
        if (!(e instanceof Fail) || e.code !== 'EQL3002') throw e;
        dropped ??= e;
        return '';
      }
      if (t.lossy && !lossyKeys.has(t.name) && lossyKeys.add(t.name)) ctx.approximate('EQL3006', `${t.name} → ${t.field}: ${t.lossy.reason}`, key.span, t.lossy.direction);
      const base = `mvindex(split(${evalField(t.field)}, ${str(r.env.sep)}), -1)`;
      if (t.transform === 'basename') return base;
      // The text after the last dot of the last segment; no key when that segment has no dot (as for Exists).
      if (t.transform === 'extension') return `if(match(${evalField(t.field)}, ${str(`\\.[^.${regexLiteral(r.env.sep)}]*${END}`)}), mvindex(split(${base}, "."), -1), null())`;
      if (t.transform) throw new Fail('EQL3303', `${t.name} is derived from ${t.field}; it cannot be a join key`, key.span);
      return evalField(t.field);
    });
    if (dropped) {
      // Joining on fewer keys only adds matches.
      ctx.approximate('EQL3305', `${(dropped as Fail).message}; the sequence does not join on it`, (dropped as Fail).span, 'wider');
      continue;
    }
    if (perStep.every((f) => f === perStep[0]) && EVAL_FIELD.test(perStep[0]!)) keyFields.push(perStep[0]!);
    else {
      const name = `eqlport_key${k + 1}`;
      lines.push(`| eval ${name}=case(${perStep.map((f, i) => `eqlport_step==${i + 1}, ${f}`).join(', ')})`);
      keyFields.push(name);
    }
  }
  const runs = q.steps.map((s) => s.runs ?? 1);
  const total = runs.reduce((a, b) => a + b, 0);
  const opts: string[] = [];
  if (q.maxspan) {
    const s = Math.ceil(q.maxspan.ms / 1000);
    if (s * 1000 !== q.maxspan.ms) ctx.approximate('EQL3302', `transaction's maxspan counts whole seconds: ${q.maxspan.value}${q.maxspan.unit} becomes ${s}s`, q.maxspan.span, 'wider');
    opts.push(`maxspan=${s}s`);
  }
  if (q.steps.length > 1) opts.push('startswith=eval(eqlport_step==1)', `endswith=eval(eqlport_step==${q.steps.length})`);
  lines.push(`| transaction ${keyFields.join(' ')}${keyFields.length ? ' ' : ''}${opts.join(' ')}`.replace(/ +$/, ''));
  const checks = [`mvcount(eqlport_step)==${q.steps.length}`];
  if (total > q.steps.length) checks.push(`eventcount>=${total}`);
  lines.push(`| where ${checks.join(' AND ')}`);
  const gaps = [
    'transaction opens on the first step and closes on the last',
    q.steps.length > 2 ? 'the order of the middle steps is not checked' : null,
    total > q.steps.length ? 'runs are counted, not ordered' : null,
    'an event that fits several steps counts for the first',
    q.maxspan ? null : 'without maxspan, transaction limits the group to its default size',
  ].filter(Boolean);
  ctx.approximate('EQL3304', `sequence rendered with transaction: ${gaps.join('; ')}`, q.span, 'different');
  if (q.until) ctx.approximate('EQL3304', 'SPL transaction has no `until`: sequences are not cancelled by the until event', q.until.span, 'wider');
  return lines;
}

function emit(rule: RuleInput, ctx: TranslateContext): string | null {
  const profile = ctx.options.splProfile ?? 'sysmon';
  const cim = profile === 'cim';
  const mapping = mappingProfile(ctx.mapping, cim ? 'cim' : undefined);
  const q: Query = rule.query;
  try {
    let lines: string[];
    switch (q.body.kind) {
      case 'EventQuery':
        lines = eventQuery(ctx, mapping, cim, q.body.filter);
        break;
      case 'Sequence':
        if (cim) throw new Fail('EQL3303', 'sequences are not translated for tstats over CIM data models (use --spl-profile sysmon)', q.body.span);
        lines = sequence(ctx, mapping, q.body);
        break;
      case 'Sample':
        throw new Fail('EQL3303', 'samples have no SPL translation', q.body.span);
    }
    for (const p of q.pipes) {
      if (p.name === 'head' && p.count !== null) lines.push('| sort 0 _time', `| head ${p.count}`);
      else if (p.name === 'tail' && p.count !== null) lines.push('| sort 0 _time', `| tail ${p.count}`);
      else throw new Fail('EQL3007', `the ${p.name} pipe has no SPL translation`, p.span);
    }
    return lines.join('\n');
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    ctx.unsupported(e.code, e.message, e.span);
    throw new Unsupported();
  }
}

export const splBackend: Backend = {
  id: 'spl',
  title: 'Splunk SPL',
  extension: 'spl',
  variants: [
    { name: 'sysmon', options: { splProfile: 'sysmon' } },
    { name: 'cim', options: { splProfile: 'cim' } },
  ],
  emit,
};
