// Sigma backend: one Sigma rule per event query; a sequence (or sample) becomes a correlation rule followed by
// its base rules in one multi-document YAML. Field and log-source facts live in mappings/sigma.yaml.
// Syntax facts: ../shared/research/target-syntax.md §2 (TS), semantics notes in docs/sigma.md.
import { createHash } from 'node:crypto';
import type { DiagCode } from '../diagnostics.js';
import type { Duration, EventFilter, Expr, GlobPart, Pattern, Span } from '../ir/nodes.js';
import { luceneToRe2 } from '../matcher/regex.js';
import type { RuleMeta } from '../rules.js';
import { conjunctsOf, filterFacts, TranslateContext, Unsupported, type Backend, type Direction, type RuleInput } from '../translate/core.js';
import { chooseClass, fieldMapping, lossNote, unreadDatasets, type EventClass, type FieldMapping, type Mapping } from '../translate/mapping.js';

// ---- tables ---------------------------------------------------------------------------------

/** Modifier of a value shape (TS §2.3); `exact` needs none. */
const SHAPE_MODIFIER = { exact: null, prefix: 'startswith', suffix: 'endswith', contains: 'contains' } as const;
const COMPARE_MODIFIER: Record<string, string> = { '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte' };
/** EQL string functions that are a Sigma value modifier (TS §2.4). */
const FUNCTION_SHAPE: Record<string, 'prefix' | 'suffix' | 'contains'> = { startsWith: 'prefix', endsWith: 'suffix', stringContains: 'contains' };
/** The largest repeat count RE2 (and SIEMs built on it) accepts in a regex. */
const MAX_REPEAT = 1000;
/** Elastic severity → Sigma level (both scales: low, medium, high, critical). */
const LEVEL: Record<string, string> = { low: 'low', medium: 'medium', high: 'high', critical: 'critical' };
/** detection-rules maturity → Sigma status: a production rule is tested at the source, not yet on its new target. */
const STATUS: Record<string, string> = { production: 'test', development: 'experimental', deprecated: 'deprecated' };
/** Short names for search identifiers, as SigmaHQ writes them (selection_img, filter_cli, ...). */
const ABBREVIATION: Record<string, string> = {
  Image: 'img',
  ParentImage: 'parent',
  CommandLine: 'cli',
  ParentCommandLine: 'parent_cli',
  OriginalFileName: 'ofn',
  TargetFilename: 'target',
  TargetObject: 'target',
  ImageLoaded: 'loaded',
  CurrentDirectory: 'dir',
};
const TIMESPAN_UNITS = new Set(['s', 'm', 'h', 'd']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---- Sigma values ---------------------------------------------------------------------------

/** A Sigma string before encoding: literal text and wildcards. */
type Token = { lit: string } | { wild: '*' | '?' };
type Value = { str: Token[] } | { raw: string } | number | boolean;

interface Item {
  field: string;
  modifiers: string[];
  values: Value[];
}
type Cond = { t: 'item'; item: Item } | { t: 'and' | 'or'; args: Cond[] } | { t: 'not'; arg: Cond };

const lit = (v: string): Token[] => (v ? [{ lit: v }] : []);
const STAR: Token = { wild: '*' };

/**
 * Encode a Sigma string (Sigma specification, "Escape Character"; pySigma SigmaString, summarised in TS §2.2):
 * a literal `*` or `?` is escaped with `\`; a backslash is doubled when the next character is a wildcard, an escaped
 * wildcard or another backslash, or when it ends the value (a single trailing `\` is literal too, but doubling it
 * keeps the value safe when a consumer appends a wildcard); every other backslash stays single.
 */
export function encodeSigmaString(tokens: readonly Token[]): string {
  const chars: ({ c: string } | { w: string })[] = [];
  for (const t of tokens) {
    if ('wild' in t) chars.push({ w: t.wild });
    else for (const c of t.lit) chars.push({ c });
  }
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if ('w' in ch) {
      out += ch.w;
      continue;
    }
    if (ch.c === '*' || ch.c === '?') out += '\\' + ch.c;
    else if (ch.c === '\\') {
      const next = chars[i + 1];
      const prev = chars[i - 1];
      const special = !next || 'w' in next || '*?\\'.includes(next.c) || (prev !== undefined && 'c' in prev && prev.c === '\\');
      out += special ? '\\\\' : '\\';
    } else out += ch.c;
  }
  return out;
}

/** YAML scalar for a string: single-quoted (only `'` is escaped); double-quoted when it holds control characters. */
export function yamlString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(s)) return `'${s.replace(/'/g, "''")}'`;
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || code === 0xfeff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** Plain YAML when nothing in it can be misread, else quoted. */
/** Plain words that a YAML 1.1 loader would read as a boolean, null or number rather than a string. */
const YAML_NON_STRING = /^(?:y|n|yes|no|true|false|on|off|null|~|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|0x[0-9a-f]+|0o?[0-7]+|\.inf|\.nan)$/i;

function yamlText(s: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9 ,()._/+-]*$/.test(s) && !s.endsWith(' ') && !YAML_NON_STRING.test(s) ? s : yamlString(s);
}

/** Values without repeats (`?dll.name : "x" or file.name : "x"` can land on one Sigma field twice). */
const uniqueValues = (vs: readonly Value[]) => vs.filter((v, i) => vs.findIndex((w) => yamlValue(w) === yamlValue(v)) === i);

function yamlValue(v: Value): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return yamlString('raw' in v ? v.raw : encodeSigmaString(v.str));
}

// ---- mapping helpers -------------------------------------------------------------------------

/** The shape of a token list: one literal with wildcards at its ends only, or a general glob. */
function shapeOf(tokens: readonly Token[]): { shape: keyof typeof SHAPE_MODIFIER; text: string } | null {
  const key = tokens.map((t) => ('lit' in t ? 'L' : t.wild)).join('');
  const text = (i: number) => (tokens[i] as { lit: string }).lit;
  switch (key) {
    case 'L':
      return { shape: 'exact', text: text(0) };
    case 'L*':
      return { shape: 'prefix', text: text(0) };
    case '*L':
      return { shape: 'suffix', text: text(1) };
    case '*L*':
      return { shape: 'contains', text: text(1) };
    default:
      return null;
  }
}

/** Join literal neighbours and collapse `**`. */
function normalise(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    if ('lit' in t && !t.lit) continue;
    if (last && 'lit' in t && 'lit' in last) out[out.length - 1] = { lit: last.lit + t.lit };
    else if (last && 'wild' in t && 'wild' in last && t.wild === '*' && last.wild === '*') continue;
    else out.push(t);
  }
  return out;
}

const globTokens = (parts: readonly GlobPart[]): Token[] => parts.map((p) => (p.t === 'lit' ? { lit: p.v } : { wild: p.t === 'any' ? '*' : '?' }));

/** A pattern as Sigma tokens (regex patterns are handled apart). */
function patternTokens(p: Exclude<Pattern, { kind: 'regex' }>): Token[] {
  switch (p.kind) {
    case 'exact':
      return lit(p.text);
    case 'prefix':
      return [...lit(p.text), STAR];
    case 'suffix':
      return [STAR, ...lit(p.text)];
    case 'contains':
      return [STAR, ...lit(p.text), STAR];
    case 'glob':
      return globTokens(p.parts);
  }
}

const hasWildcard = (tokens: readonly Token[]) => tokens.some((t) => 'wild' in t);
const abbreviation = (field: string) => ABBREVIATION[field] ?? field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_').toLowerCase();

// ---- one event filter -> logsource + detection --------------------------------------------------

interface Detection {
  logsource: Record<string, string>;
  /** One condition, or the alternatives of a query split over branches that share this log source. */
  conds: Cond[];
  cls: EventClass;
}
type SearchMap = [string, Value[]][];
type SearchValue = SearchMap | SearchMap[];

class FilterTranslator {
  /** Reasons why the sub-expression being translated could not be expressed. */
  private pending: { code: DiagCode; message: string; span: Span }[] = [];
  /** False inside an odd number of negations: there a wider predicate makes the rule narrower. */
  private positive = true;

  constructor(
    private readonly ctx: TranslateContext,
    private readonly mapping: Mapping,
    private readonly cls: EventClass,
    private readonly separators: readonly string[],
    private readonly osKnown: boolean,
  ) {}

  /** Translate the remaining conjuncts of a filter; null when nothing is left to say. */
  conjunction(conjuncts: readonly Expr[], span: Span): Cond | null {
    const c = this.junction('and', conjuncts, true);
    if (c !== null) return c;
    // Nothing of the filter is left: each dropped condition widens it to the whole log source.
    for (const d of this.pending.splice(0)) this.ctx.approximate(d.code, `${d.message}; condition left out`, d.span, 'wider');
    // A Sigma detection needs a search: match every event of the log source through a field all of them carry.
    const always = this.cls.source.always_present;
    if (typeof always !== 'string') {
      this.ctx.unsupported('EQL3112', 'the event filter has no condition beyond its log source, and a Sigma detection needs one', span);
      throw new Unsupported();
    }
    this.ctx.note('EQL3114', `the filter has no condition beyond its log source; every ${String(this.cls.source.category ?? this.cls.name)} event carries ${always}, which selects them all`, span);
    return { t: 'item', item: { field: always, modifiers: ['exists'], values: [true] } };
  }

  private cannot(code: DiagCode, message: string, span: Span): null {
    this.pending.push({ code, message, span });
    return null;
  }

  /** A child that cannot be expressed is dropped from its and/or; the direction follows from the polarity. */
  private junction(op: 'and' | 'or', args: readonly Expr[], positive: boolean): Cond | null {
    const out: Cond[] = [];
    const mark = this.pending.length;
    for (const a of args) {
      const c = this.expr(a, positive);
      if (c) out.push(c);
    }
    // When no child is left, the whole and/or is dropped: its parent knows which way that goes.
    if (!out.length) return null;
    const direction: Direction = (op === 'and') === positive ? 'wider' : 'narrower';
    for (const d of this.pending.splice(mark)) this.ctx.approximate(d.code, `${d.message}; condition left out`, d.span, direction);
    if (out.length === 1) return out[0]!;
    // a : "x" or a : "y" is one item with a list of values.
    const items = out.map((c) => (c.t === 'item' && !c.item.modifiers.includes('exists') ? c.item : null));
    if (op === 'or' && items.every((i) => i && itemKey(i) === itemKey(items[0]!)))
      return { t: 'item', item: { ...items[0]!, values: uniqueValues(items.flatMap((i) => i!.values)) } };
    return { t: op, args: out };
  }

  private approximate(code: DiagCode, message: string, span: Span, direction: Direction) {
    const flipped = direction === 'wider' ? 'narrower' : direction === 'narrower' ? 'wider' : direction;
    this.ctx.approximate(code, message, span, this.positive ? direction : flipped);
  }

  private expr(e: Expr, positive: boolean): Cond | null {
    this.positive = positive;
    switch (e.kind) {
      case 'And':
        return this.junction('and', e.args, positive);
      case 'Or':
        return this.junction('or', e.args, positive);
      case 'Not': {
        if (e.arg.kind === 'Exists') return this.exists(e.arg.arg, false, e);
        const c = this.expr(e.arg, !positive);
        return c && { t: 'not', arg: c };
      }
      case 'Exists':
        return this.exists(e.arg, true, e);
      case 'Match':
        return this.match(e);
      case 'In':
        return this.inList(e);
      case 'Compare':
        return this.compare(e);
      case 'Call':
        return this.call(e);
      case 'Literal':
        return this.cannot('EQL3112', `a constant ${String(e.value)} has no Sigma form`, e.span);
      case 'Field':
        return this.compare({ kind: 'Compare', op: '==', left: e, right: { kind: 'Literal', type: 'boolean', value: true, span: e.span }, span: e.span });
      case 'Arith':
      case 'Neg':
        return this.unsupported('EQL3105', 'arithmetic has no Sigma form', e.span);
    }
  }

  private unsupported(code: DiagCode, message: string, span: Span): never {
    this.ctx.unsupported(code, message, span);
    throw new Unsupported();
  }

  /** The Sigma field of an ECS field reference, or null (recorded) when the class has none. */
  private field(e: Expr): { name: string; fm: FieldMapping } | null {
    if (e.kind !== 'Field') return this.unsupported('EQL3105', 'Sigma compares fields with values only; this operand is computed', e.span);
    const fm = classField(this.mapping, this.cls, e.name);
    if (!fm) return this.cannot('EQL3101', `${e.name} has no field in Sigma's ${String(this.cls.source.category ?? this.cls.name)} taxonomy`, e.span);
    if (Array.isArray(fm.field)) return this.unsupported('EQL3105', `the mapping gives several Sigma fields for ${e.name}; the sigma backend needs one`, e.span);
    // A field name is a YAML key whose `|` starts modifiers: a name carried over from the rule (a `prefix.*`
    // mapping) must not be able to add one.
    if (!SIGMA_FIELD.test(fm.field)) return this.cannot('EQL3101', `${e.name} maps to ${JSON.stringify(fm.field)}, which is not a Sigma field name`, e.span);
    if (fm.lossy) this.approximate('EQL3006', `${e.name} is rendered as ${fm.field}: ${fm.lossy.reason}`, e.span, fm.lossy.direction);
    return { name: e.name, fm };
  }

  private exists(arg: Expr, present: boolean, node: Expr): Cond | null {
    const f = this.field(arg);
    if (!f) return null;
    if (f.fm.transform && f.fm.transform !== 'hive' && f.fm.transform !== 'details')
      this.approximate('EQL3101', `${f.name} is part of ${String(f.fm.field)}; its presence stands for ${f.name}'s`, node.span, 'different');
    return { t: 'item', item: { field: f.fm.field as string, modifiers: ['exists'], values: [present] } };
  }

  /** Strings (as token lists) through the field's transform, then one item with the shape modifiers. */
  private strings(f: { name: string; fm: FieldMapping }, values: { tokens: Token[] }[], cased: boolean, span: Span): Cond | null {
    // An enumeration spelled differently by the target (event.action -> EventID): exact values only.
    const spellings = f.fm.values;
    if (spellings) {
      const mapped: { tokens: Token[] }[] = [];
      for (const v of values) {
        const shape = shapeOf(v.tokens);
        const text = shape?.shape === 'exact' ? shape.text : null;
        const key = text === null ? undefined : Object.keys(spellings).find((k) => (cased ? k === text : k.toLowerCase() === text.toLowerCase()));
        if (key === undefined) return this.cannot('EQL3101', `${f.name} ${text === null ? 'patterns' : JSON.stringify(text)} has no ${String(f.fm.field)} value in the sigma mapping`, span);
        for (const t of [spellings[key]!].flat()) mapped.push({ tokens: lit(t) });
      }
      values = mapped;
    }
    const out: Token[][] = [];
    let wider = false;
    let separatorUsed = false;
    const transform = f.fm.transform;
    for (const v of values) {
      switch (transform) {
        case undefined:
          out.push(v.tokens);
          break;
        case 'basename':
        case 'extension': {
          const seps = transform === 'extension' ? ['.'] : f.fm.field === 'TargetObject' ? ['\\'] : this.separators;
          const shape = shapeOf(v.tokens);
          // `*.exe` on a name is `.exe` at the end of the path; any other wildcard may match a separator.
          if (transform === 'basename' && shape?.shape === 'suffix' && !seps.some((sep) => shape.text.includes(sep))) {
            out.push(v.tokens);
            break;
          }
          for (const sep of seps) out.push(normalise([STAR, { lit: sep }, ...v.tokens]));
          if (hasWildcard(v.tokens)) wider = true;
          if (transform === 'basename' && f.fm.field !== 'TargetObject') separatorUsed = true;
          break;
        }
        case 'directory':
          for (const sep of this.separators) out.push(normalise([...v.tokens, { lit: sep }, STAR]));
          separatorUsed = true;
          break;
        case 'cmdline':
          out.push(normalise([STAR, ...v.tokens, STAR]));
          break;
        case 'first_segment': {
          // The ECS value is the text before the first dot of the target field: `<value>.` is its prefix.
          const shape = shapeOf(v.tokens);
          if (shape?.shape !== 'exact' || shape.text.includes('.')) return this.cannot('EQL3101', `${f.name} is the part of ${String(f.fm.field)} before its first dot; only a plain value can be matched there`, span);
          out.push([{ lit: shape.text + '.' }, STAR]);
          break;
        }
        case 'hive':
          out.push(this.hive(v.tokens, span));
          break;
        case 'details':
          out.push(v.tokens);
          if (v.tokens.some((t) => 'lit' in t && /^\d+$/.test(t.lit)))
            this.approximate('EQL3113', 'Sysmon renders numeric registry data as "DWORD (0x…)", Elastic as a decimal string', span, 'different');
          break;
        default:
          return this.unsupported('EQL3105', `unknown transform "${transform}" in the sigma mapping of ${f.name}`, span);
      }
    }
    if (wider) this.approximate('EQL3104', `a wildcard in ${f.name} can match a path separator in ${String(f.fm.field)}`, span, 'wider');
    if (separatorUsed && !this.osKnown)
      this.approximate('EQL3103', `the rule's OS is unknown, so ${f.name} is matched after either path separator (\\ and /)`, span, 'wider');
    // A numeric field (EventID) compared with a digit string: Sigma compares it as the number it is.
    if (f.fm.type === 'number' && !transform && out.every((t) => t.length === 1 && 'lit' in t[0]! && /^(0|[1-9]\d{0,14})$/.test(t[0].lit)))
      return { t: 'item', item: { field: f.fm.field as string, modifiers: [], values: out.map((t) => Number((t[0] as { lit: string }).lit)) } };
    const shapes = out.map(shapeOf);
    const modifiers: string[] = [];
    let rendered: Value[];
    const first = shapes[0];
    if (first && shapes.every((s) => s && s.shape === first.shape)) {
      if (first.shape !== 'exact') modifiers.push(SHAPE_MODIFIER[first.shape]);
      rendered = shapes.map((s) => ({ str: lit(s!.text) }));
    } else if (out.length === 1 && out[0]!.length === 1 && 'wild' in out[0]![0]! && out[0]![0].wild === '*') {
      // `f : "*"`: any value at all.
      return { t: 'item', item: { field: f.fm.field as string, modifiers: ['exists'], values: [true] } };
    } else rendered = out.map((t) => ({ str: t }));
    if (cased) modifiers.push('cased');
    return { t: 'item', item: { field: f.fm.field as string, modifiers, values: rendered } };
  }

  /** Long hive names become the short ones of Sigma's TargetObject (mapping settings.registry_hives). */
  private hive(tokens: Token[], span: Span): Token[] {
    const first = tokens[0];
    if (!first || !('lit' in first)) return tokens;
    const hives = (this.mapping.settings.registry_hives ?? {}) as Record<string, string>;
    for (const [long, short] of Object.entries(hives)) {
      if (first.lit.toUpperCase().startsWith(long + '\\')) {
        this.ctx.note('EQL3108', `registry hive ${long} written as ${short}, the spelling of Sigma's TargetObject`, span);
        return [{ lit: short + first.lit.slice(long.length) }, ...tokens.slice(1)];
      }
    }
    return tokens;
  }

  private match(e: Extract<Expr, { kind: 'Match' }>): Cond | null {
    const f = this.field(e.arg);
    if (!f) return null;
    if (e.op === 'regex' || e.op === 'regex~') {
      if (f.fm.transform && f.fm.transform !== 'hive')
        return this.cannot('EQL3110', `a regular expression over ${f.name} cannot be moved onto ${String(f.fm.field)}`, e.span);
      const values: Value[] = [];
      for (const p of e.patterns) {
        // `.` as `[\s\S]` needs no `s` modifier; case folding (ASCII only, as Lucene's) is spelled in the pattern.
        const t = luceneToRe2(p.value, e.caseInsensitive, { dot: '[\\s\\S]' });
        if (!t.ok) return this.unsupported('EQL3110', `the regular expression ${JSON.stringify(p.value)} has no portable translation: ${t.message}`, p.span);
        values.push({ raw: `^(?:${t.re2})$` });
      }
      return { t: 'item', item: { field: f.fm.field as string, modifiers: ['re'], values } };
    }
    const values = e.patterns.map((p) => ({ tokens: patternTokens(p as Exclude<Pattern, { kind: 'regex' }>) }));
    return this.strings(f, values, !e.caseInsensitive, e.span);
  }

  private literalValues(f: { name: string; fm: FieldMapping }, values: readonly Expr[], cased: boolean, span: Span): Cond | null {
    if (values.every((v) => v.kind === 'Literal' && typeof v.value === 'string')) {
      const plain = f.fm.type === 'ip' || f.fm.type === 'number';
      return this.strings(f, values.map((v) => ({ tokens: lit((v as { value: string }).value) })), cased && !plain, span);
    }
    if (values.every((v) => v.kind === 'Literal' && (typeof v.value === 'number' || typeof v.value === 'boolean'))) {
      if (f.fm.transform) return this.cannot('EQL3101', `${f.name} compared with a ${typeof (values[0] as { value: unknown }).value} cannot be moved onto ${String(f.fm.field)}`, span);
      return { t: 'item', item: { field: f.fm.field as string, modifiers: [], values: values.map((v) => (v as { value: number | boolean }).value) } };
    }
    return this.unsupported('EQL3105', 'mixed or computed values have no Sigma form', span);
  }

  private inList(e: Extract<Expr, { kind: 'In' }>): Cond | null {
    const f = this.field(e.arg);
    return f && this.literalValues(f, e.values, !e.caseInsensitive, e.span);
  }

  private compare(e: Extract<Expr, { kind: 'Compare' }>): Cond | null {
    if (e.left.kind === 'Call' && e.left.name === 'length' && (e.op === '>' || e.op === '>=')) return this.minLength(e.left, e.op, e.right, e.span);
    if (e.left.kind !== 'Field') return this.unsupported('EQL3105', `${e.left.kind === 'Call' ? `the function ${e.left.name}()` : 'a computed value'} has no Sigma form`, e.left.span);
    if (e.op === '!=') {
      this.positive = !this.positive;
      const c = this.compare({ ...e, op: '==' });
      this.positive = !this.positive;
      return c && { t: 'not', arg: c };
    }
    const f = this.field(e.left);
    if (!f) return null;
    if (e.op === '==') return this.literalValues(f, [e.right], true, e.span);
    if (e.right.kind !== 'Literal' || typeof e.right.value !== 'number')
      return this.cannot('EQL3101', `Sigma orders numbers only; ${f.name} ${e.op} ${JSON.stringify(e.right.kind === 'Literal' ? e.right.value : '…')} has no Sigma form`, e.span);
    if (f.fm.transform) return this.cannot('EQL3101', `${f.name} ${e.op} … cannot be moved onto ${String(f.fm.field)}`, e.span);
    return { t: 'item', item: { field: f.fm.field as string, modifiers: [COMPARE_MODIFIER[e.op]!], values: [e.right.value] } };
  }

  /**
   * `length(f) > n` as a regex anchored at the start: at least n+1 characters (any value of an array, false when f is
   * missing, as in Elasticsearch). RE2-based SIEMs cap a repeat count at 1000, so longer minimums are refused.
   */
  private minLength(call: Extract<Expr, { kind: 'Call' }>, op: '>' | '>=', right: Expr, span: Span): Cond | null {
    const bound = right.kind === 'Literal' && typeof right.value === 'number' && Number.isInteger(right.value) ? right.value : null;
    if (call.args.length !== 1 || bound === null) return this.unsupported('EQL3105', 'the function length() has no Sigma form here', span);
    const min = Math.max(0, op === '>' ? bound + 1 : bound);
    if (min > MAX_REPEAT) return this.unsupported('EQL3105', `length() of at least ${min} exceeds the ${MAX_REPEAT} repeats RE2-based SIEMs accept`, span);
    const f = this.field(call.args[0]!);
    if (!f) return null;
    if (f.fm.values || (f.fm.type && f.fm.type !== 'string') || (f.fm.transform && f.fm.transform !== 'details' && f.fm.transform !== 'hive'))
      return this.cannot('EQL3101', `the length of ${f.name} cannot be measured on ${String(f.fm.field)}`, span);
    // Rewritten registry values (short hives, DWORD rendering) change the length, not whether the value is empty.
    if (f.fm.transform && min > 1) this.approximate('EQL3117', `${String(f.fm.field)} spells ${f.name} differently, so its length differs`, span, 'different');
    // Elasticsearch counts UTF-16 code units, a regex counts characters: a value with characters outside the BMP is
    // longer for EQL, so Sigma can only miss it.
    if (min > 1) this.approximate('EQL3117', `length() counts UTF-16 code units; ${String(f.fm.field)}|re counts characters`, span, 'narrower');
    return { t: 'item', item: { field: f.fm.field as string, modifiers: ['re'], values: [{ raw: min === 0 ? '^' : `^[\\s\\S]{${min},}` }] } };
  }

  private call(e: Extract<Expr, { kind: 'Call' }>): Cond | null {
    const [arg, ...rest] = e.args;
    const strings = rest.every((r) => r.kind === 'Literal' && typeof r.value === 'string');
    if (e.name === 'cidrMatch' && arg && strings) {
      const f = this.field(arg);
      if (!f) return null;
      return { t: 'item', item: { field: f.fm.field as string, modifiers: ['cidr'], values: rest.map((r) => ({ raw: (r as { value: string }).value })) } };
    }
    const shape = FUNCTION_SHAPE[e.name];
    if (shape && arg && strings) {
      const f = this.field(arg);
      if (!f) return null;
      const values = rest.map((r) => {
        const v = lit((r as { value: string }).value);
        return { tokens: shape === 'prefix' ? [...v, STAR] : shape === 'suffix' ? [STAR, ...v] : [STAR, ...v, STAR] };
      });
      return this.strings(f, values, !e.caseInsensitive, e.span);
    }
    return this.unsupported('EQL3105', `the function ${e.name}() has no Sigma form`, e.span);
  }
}

// ---- layout: conditions -> search identifiers ------------------------------------------------

const itemKey = (i: Item) => [i.field, ...i.modifiers].join('|');

/** An AND of items as one search map; same-key single values join under `|all`. */
function asMap(c: Cond): SearchMap | null {
  const items: Item[] = [];
  if (c.t === 'item') items.push(c.item);
  else if (c.t === 'and' && c.args.every((a) => a.t === 'item')) items.push(...c.args.map((a) => (a as { item: Item }).item));
  else if (c.t === 'or' && c.args.every((a) => a.t === 'item' && itemKey(a.item) === itemKey((c.args[0] as { item: Item }).item) && !a.item.modifiers.includes('exists')))
    items.push({ ...(c.args[0] as { item: Item }).item, values: c.args.flatMap((a) => (a as { item: Item }).item.values) });
  else return null;
  const map = new Map<string, Value[]>();
  for (const it of items) {
    const key = itemKey(it);
    const have = map.get(key) ?? map.get(key + '|all');
    if (!have) map.set(key, it.values);
    else if (have.length === 1 && it.values.length === 1 && !it.modifiers.includes('exists') && !it.modifiers.includes('re')) {
      map.delete(key);
      map.set(key + '|all', [...have, ...it.values]);
    } else if (map.has(key + '|all') && it.values.length === 1) have.push(...it.values);
    else return null;
  }
  return [...map.entries()];
}

function asSearch(c: Cond): SearchValue | null {
  const m = asMap(c);
  if (m) return m;
  if (c.t === 'or') {
    const maps = c.args.map(asMap);
    if (maps.every((x) => x !== null)) return maps as SearchMap[];
  }
  return null;
}

function firstField(s: SearchValue): string {
  const m = (Array.isArray(s[0]?.[0]) ? s[0] : s) as SearchMap;
  return m[0]![0].split('|')[0]!;
}

class Layout {
  readonly searches: [string, SearchValue][] = [];

  /** `globs`: exclusions may be written `not 1 of filter_*` (only when one condition owns every filter). */
  constructor(private readonly globs = true) {}

  private add(prefix: string, s: SearchValue): string {
    const base = `${prefix}_${abbreviation(firstField(s))}`;
    let name = base;
    for (let n = 2; this.searches.some(([k]) => k === name); n++) name = `${base}_${n}`;
    this.searches.push([name, s]);
    return name;
  }

  private expr(c: Cond, prefix: string): string {
    const s = asSearch(c);
    if (s) return this.add(prefix, s);
    const wrap = (x: Cond) => {
      const text = this.expr(x, prefix);
      return x.t === 'and' || x.t === 'or' ? (asSearch(x) ? text : `(${text})`) : text;
    };
    if (c.t === 'not') return `not ${wrap(c.arg)}`;
    return (c as { args: Cond[] }).args.map(wrap).join(` ${c.t} `);
  }

  /** SigmaHQ shape: `selection` (the positive items), `selection_*` for alternatives, `filter_*` for exclusions. */
  top(c: Cond, selection = 'selection'): string {
    const conjuncts = c.t === 'and' ? c.args : [c];
    // Positive items go into one `selection` while they merge; the others get their own identifiers.
    const parts: string[] = [];
    const merged: Cond[] = [];
    const rest: Cond[] = [];
    for (const x of conjuncts) {
      if (x.t === 'item' && asMap({ t: 'and', args: [...merged, x] })) merged.push(x);
      else rest.push(x);
    }
    if (merged.length) {
      this.searches.push([selection, asMap({ t: 'and', args: merged })!]);
      parts.push(selection);
    }
    const filters: string[] = [];
    for (const x of rest) {
      if (x.t === 'not') {
        // not (a or b) is two exclusions.
        const excluded = x.arg.t === 'or' && !asSearch(x.arg) ? x.arg.args : [x.arg];
        for (const ex of excluded) {
          const s = asSearch(ex);
          if (s) filters.push(this.add('filter', s));
          else parts.push(`not (${this.expr(ex, 'selection')})`);
        }
      } else {
        const text = this.expr(x, 'selection');
        parts.push(x.t === 'or' && !asSearch(x) ? `(${text})` : text);
      }
    }
    if (this.globs && filters.length > 1 && this.searches.filter(([k]) => k.startsWith('filter_')).length === filters.length) parts.push('not 1 of filter_*');
    else parts.push(...filters.map((f) => `not ${f}`));
    return parts.join(' and ');
  }
}

// ---- event filters ---------------------------------------------------------------------------

/** `own_fields`: a log of another product (Linux audit records) has only the fields its class names. */
const classField = (mapping: Mapping, cls: EventClass, name: string) => fieldMapping(cls.source.own_fields === true ? { ...mapping, fields: {} } : mapping, cls, name);

function osOf(values: readonly string[] | undefined): string[] {
  return (values ?? []).map((v) => v.toLowerCase());
}

/** `exact`: refuse a class that holds only part of the filter's events (a split branch is then left out instead). */
function translateFilter(filter: EventFilter, ctx: TranslateContext, exact = false): Detection {
  const mapping = ctx.mapping;
  const facts = filterFacts(filter);
  const consumed = new Set<Expr>();
  let category = filter.category;
  const eventCategory = facts.values.get('event.category');
  if (eventCategory) {
    if (category === null && eventCategory.values.length === 1) category = eventCategory.values[0]!;
    else if (category === null) {
      ctx.unsupported('EQL3102', `the filter spans the ${eventCategory.values.join(', ')} categories, which are different Sigma log sources; write one rule per category`, eventCategory.node.span);
      throw new Unsupported();
    }
    if (eventCategory.values.length === 1 && eventCategory.values[0] === category) consumed.add(eventCategory.node);
  }
  // A class with `requires` (a vendor or event-log source) is chosen only when the filter names those fields.
  const requires = (c: EventClass) => (Array.isArray(c.source.requires) ? (c.source.requires as string[]) : []);
  const candidates = { ...mapping, classes: mapping.classes.filter((c) => requires(c).every((f) => facts.values.has(f))) };
  const choice = chooseClass(candidates, { ...facts, category });
  const unread = choice ? null : unreadDatasets(mapping, facts);
  if (unread) {
    ctx.unsupported('EQL3003', unread, filter.span);
    throw new Unsupported();
  }
  if (!choice && category === null) {
    ctx.unsupported('EQL3003', '`any` events have no Sigma log source: constrain event.category (or the event log, event.code, or integration dataset)', filter.span);
    throw new Unsupported();
  }
  if (!choice) {
    const constraints = ['event.type', 'event.action'].flatMap((k) => (facts.values.get(k) ? [`${k} ${facts.values.get(k)!.values.join('/')}`] : []));
    ctx.unsupported('EQL3003', `no Sigma log source for ${category} events${constraints.length ? ` with ${constraints.join(', ')}` : ''}`, filter.span);
    throw new Unsupported();
  }
  // A `when` field the class maps to a field of its own records (Windows Security's event.action, the audit record
  // type) is not fixed by the log source, which holds other records too: it is rendered, never implied.
  for (const k of Object.keys(choice.cls.when)) {
    const node = choice.cls.fields && k in choice.cls.fields ? facts.values.get(k)?.node : undefined;
    if (node) choice.implied.delete(node);
  }
  if (exact && choice.losses.length) {
    ctx.unsupported('EQL3003', `no Sigma log source holds exactly these ${category ?? 'any'} events (${choice.losses.map((l) => l.message).join('; ')})`, filter.span);
    throw new Unsupported();
  }
  for (const loss of choice.losses) ctx.approximate('EQL3004', loss.message, loss.node?.span ?? filter.span, loss.direction, lossNote(loss));
  // A vendor log (chosen by its dataset) is not divided by the rule's event category: the category is not tested.
  if (category !== null && choice.cls.when.category === undefined)
    ctx.approximate('EQL3004', `the Sigma log source "${choice.cls.name}" does not tell ${category} events from others`, filter.span, 'wider');
  const logsource: Record<string, string> = {};
  for (const k of ['category', 'product', 'service']) if (choice.cls.source[k] !== undefined) logsource[k] = String(choice.cls.source[k]);
  const os = facts.values.get('host.os.type');
  const osValues = osOf(os?.values);
  const separatorsByOs = (mapping.settings.path_separator ?? {}) as Record<string, string>;
  if (os) {
    consumed.add(os.node);
    if (osValues.length === 1) logsource.product = osValues[0]!;
    else ctx.approximate('EQL3004', `Sigma has one product per rule; the rule for ${osValues.join(', ')} is left without a product`, os.node.span, 'wider');
  }
  const product = logsource.product;
  const known = product ? [product] : osValues;
  const separators = [...new Set(known.map((o) => separatorsByOs[o]).filter((s): s is string => !!s))];
  const osKnown = separators.length > 0;
  const translator = new FilterTranslator(ctx, mapping, choice.cls, osKnown ? separators : ['\\', '/'], osKnown && separators.length === 1);
  const rest = facts.conjuncts.filter((c) => !choice.implied.has(c) && !consumed.has(c));
  const cond = translator.conjunction(rest, filter.span);
  return { logsource, conds: [cond!], cls: choice.cls };
}

// ---- queries over several log sources -------------------------------------------------------

/** Top-level fields that name a log source by themselves; a filter constraining one of them is not split. */
const SOURCE_FIELDS = ['event.code', 'event.dataset', 'data_stream.dataset'];
/** Fields a branch may constrain to stand alone as a Sigma rule; inside a branch of one category, also its type. */
const BRANCH_FIELDS = ['event.category', 'event.code'];
const INNER_BRANCH_FIELDS = [...BRANCH_FIELDS, 'event.type', 'event.action'];

const pseudoFilter = (where: Expr): EventFilter => ({ kind: 'EventFilter', category: null, where, span: where.span });

/** `event.category in ("a", "b")` (or `:` with plain values) as `event.category == "a"`, `== "b"`. */
function categoryValues(e: Expr): Expr[] | null {
  const facts = filterFacts(pseudoFilter(e));
  const cat = facts.values.get('event.category');
  if (facts.conjuncts.length !== 1 || !cat || cat.values.length < 2) return null;
  const field = e.kind === 'In' ? e.arg : e.kind === 'Match' ? e.arg : null;
  if (!field) return null;
  return cat.values.map((v) => ({ kind: 'Compare', op: '==', left: field, right: { kind: 'Literal', type: 'string', value: v, span: e.span }, span: e.span }));
}

/** The alternatives of an or (nested ors and category lists flattened), or null when `e` has none. */
function alternatives(e: Expr): Expr[] | null {
  if (e.kind !== 'Or') return categoryValues(e);
  return e.args.flatMap((a) => alternatives(a) ?? [a]);
}

/**
 * An `any` filter that ORs branches of different log sources (`(event.category == "file" and …) or
 * (event.category == "process" and …)`, `event.category in ("library", "driver")`): the filter once per branch,
 * with the other conjuncts repeated in each. Null when the filter is not of that form.
 */
function branches(filter: EventFilter, inner = false): { filter: EventFilter; span: Span }[] | null {
  if (filter.category !== null) return null;
  const facts = filterFacts(filter);
  const cat = facts.values.get('event.category');
  if (!inner && ((cat && cat.values.length === 1) || SOURCE_FIELDS.some((f) => facts.values.has(f)))) return null;
  const fields = inner ? INNER_BRANCH_FIELDS : BRANCH_FIELDS;
  for (const [i, c] of facts.conjuncts.entries()) {
    const alts = alternatives(c);
    const standsAlone = (a: Expr) => {
      const v = filterFacts(pseudoFilter(a)).values;
      return fields.some((f) => v.get(f)?.values.length === 1);
    };
    if (!alts || alts.length < 2 || !alts.every(standsAlone)) continue;
    const rest = facts.conjuncts.filter((_, j) => j !== i);
    return alts.map((a) => ({ filter: { ...filter, where: { kind: 'And', args: [...rest, ...conjunctsOf(a)], span: filter.where.span } }, span: a.span }));
  }
  return null;
}

/**
 * The Sigma detections of a filter: one, or one per log source when the filter ORs branches of different sources
 * (branches of one source share a detection). A branch without an exact log source is left out (narrower).
 * `single`: the caller has room for one detection (a correlation step); the others are left out (narrower).
 */
function detections(filter: EventFilter, ctx: TranslateContext, single: boolean): Detection[] {
  const parts = branches(filter);
  if (!parts) return [translateFilter(filter, ctx)];
  const kept: { d: Detection; span: Span }[] = [];
  const dropped: { span: Span; why: string }[] = [];
  const seen = new Set<string>();
  // A branch of one category that ORs its event types (`event.category in ("file", "process") and ((event.type ==
  // "creation" and …) or (event.type == "start" and …))`) is split once more.
  const queue = parts.map((p) => ({ ...p, inner: false }));
  for (let part = queue.shift(); part; part = queue.shift()) {
    const sub = new TranslateContext(ctx.target, ctx.mapping, ctx.options);
    try {
      kept.push({ d: translateFilter(part.filter, sub, true), span: part.span });
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      const deeper = part.inner ? null : branches(part.filter, true);
      if (deeper) queue.unshift(...deeper.map((p) => ({ ...p, inner: true })));
      else dropped.push({ span: part.span, why: sub.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message).join('; ') });
      continue;
    }
    // The shared conjuncts are translated once per branch: report each of their diagnostics once.
    for (const d of sub.diagnostics) {
      const key = `${d.code} ${d.message} ${d.span?.start.offset}`;
      if (!seen.has(key)) ctx.diagnostics.push(d);
      seen.add(key);
    }
  }
  if (!kept.length) {
    for (const d of dropped) ctx.unsupported('EQL3003', `no branch of the query has a Sigma log source: ${d.why}`, d.span);
    throw new Unsupported();
  }
  for (const d of dropped) ctx.approximate('EQL3116', `this branch has no Sigma log source and is left out: ${d.why}`, d.span, 'narrower');
  const groups = new Map<string, { d: Detection; span: Span }[]>();
  for (const k of kept) {
    const key = JSON.stringify(k.d.logsource);
    groups.set(key, [...(groups.get(key) ?? []), k]);
  }
  const merged = [...groups.values()].map((g) => ({ d: { ...g[0]!.d, conds: g.flatMap((x) => x.d.conds) }, spans: g.map((x) => x.span) }));
  if (single && merged.length > 1) {
    for (const m of merged.slice(1))
      for (const span of m.spans) ctx.approximate('EQL3116', `a correlation step is one Sigma rule with one log source (${sourceName(merged[0]!.d)}); this ${sourceName(m.d)} branch is left out`, span, 'narrower');
    return [merged[0]!.d];
  }
  if (merged.length > 1)
    ctx.note('EQL3115', `the query ORs events of ${merged.length} Sigma log sources (${merged.map((m) => sourceName(m.d)).join(', ')}); Sigma rules have one log source and no rule can OR others, so each source is a rule of its own in this multi-document YAML`, filter.span);
  return merged.map((m) => m.d);
}

const sourceName = (d: Detection) => Object.values(d.logsource).join('/');

// ---- YAML documents --------------------------------------------------------------------------

const IND = '    ';
const SIGMA_FIELD = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function searchYaml(name: string, s: SearchValue): string {
  const mapLines = (m: SearchMap, indent: string, firstIndent: string) =>
    m
      .map(([key, values], i) => {
        const k = /^[A-Za-z0-9_.|-]+$/.test(key) ? key : yamlString(key); // fields are checked by SIGMA_FIELD; `|` joins modifiers
        const head = i === 0 ? firstIndent : indent;
        if (values.length === 1) return `${head}${k}: ${yamlValue(values[0]!)}`;
        return `${head}${k}:\n${values.map((v) => `${indent}${IND}- ${yamlValue(v)}`).join('\n')}`;
      })
      .join('\n');
  if (s.length && Array.isArray(s[0]) && Array.isArray((s[0] as unknown[])[0]))
    return `${IND}${name}:\n${(s as SearchMap[]).map((m) => mapLines(m, IND + IND + '  ', IND + IND + '- ')).join('\n')}`;
  return `${IND}${name}:\n${mapLines(s as SearchMap, IND + IND, IND + IND)}`;
}

function listYaml(key: string, items: readonly string[]): string {
  return items.length ? `${key}:\n${items.map((i) => `${IND}- ${yamlText(i)}`).join('\n')}\n` : '';
}

const sigmaDate = (v: unknown) => {
  const m = typeof v === 'string' ? /^(\d{4})[/-](\d{2})[/-](\d{2})$/.exec(v.trim()) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}` : null;
};

/** ATT&CK tags: `attack.<tactic-name>` and `attack.tNNNN[.NNN]` (Sigma tags appendix; schema tag pattern). */
function attackTags(meta: RuleMeta): string[] {
  const tags: string[] = [];
  for (const t of meta.threat) {
    if (!/att&ck/i.test(t.framework)) continue;
    if (t.tactic.name) tags.push(`attack.${t.tactic.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}`);
    for (const tech of t.techniques) {
      if (/^T\d{4}$/i.test(tech.id)) tags.push(`attack.${tech.id.toLowerCase()}`);
      for (const sub of tech.subtechniques) if (/^T\d{4}\.\d{3}$/i.test(sub.id)) tags.push(`attack.${sub.id.toLowerCase()}`);
    }
  }
  return [...new Set(tags)];
}

/** UUID version 5 (RFC 9562 §5.5): SHA-1 of the namespace UUID's bytes and the name, with version and variant set. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const x = hash.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * The metadata lines of a document, split around `logsource`/`detection` or `correlation`. `part` n of a split
 * rule: the first keeps the rule's id, the others get a stable id derived from it (UUIDv5 in the rule's id) and
 * link back to it as `derived`.
 */
function metadata(meta: RuleMeta, part?: { index: number; count: number; source: string }): { head: string; tail: string } {
  const name = meta.name ?? 'Untitled EQL rule';
  let head = `title: ${yamlText(part ? `${name} (${part.source}, part ${part.index + 1} of ${part.count})` : name)}\n`;
  const id = meta.rule_id && UUID.test(meta.rule_id) ? meta.rule_id.toLowerCase() : null;
  if (id && part && part.index > 0) head += `id: ${uuidV5(id, `eqlport/sigma/part/${part.index + 1}`)}\nrelated:\n${IND}- id: ${id}\n${IND}  type: derived\n`;
  else if (id) head += `id: ${id}\n`;
  const maturity = typeof meta.metadata.maturity === 'string' ? meta.metadata.maturity : '';
  head += `status: ${STATUS[maturity] ?? 'experimental'}\n`;
  if (meta.description) head += `description: ${yamlText(meta.description.replace(/\s+/g, ' ').trim())}\n`;
  head += listYaml('references', [...new Set(meta.references ?? [])]);
  if (meta.author?.length) head += `author: ${yamlText(meta.author.join(', '))}\n`;
  if (meta.license) head += `license: ${yamlText(meta.license)}\n`;
  const date = sigmaDate(meta.metadata.creation_date);
  const modified = sigmaDate(meta.metadata.updated_date);
  if (date) head += `date: '${date}'\n`;
  if (modified) head += `modified: '${modified}'\n`;
  const tags = attackTags(meta);
  if (tags.length) head += `tags:\n${tags.map((t) => `${IND}- ${t}`).join('\n')}\n`;
  let tail = listYaml('falsepositives', [...new Set((meta.false_positives ?? []).map((f) => f.replace(/\s+/g, ' ').trim()).filter((f) => f.length >= 2))]);
  const level = LEVEL[(meta.severity ?? '').toLowerCase()];
  if (level) tail += `level: ${level}\n`;
  return { head, tail };
}

function detectionYaml(d: Detection): string {
  let out = 'logsource:\n';
  for (const [k, v] of Object.entries(d.logsource)) out += `${IND}${k}: ${yamlText(v)}\n`;
  // Merged branches share one set of search identifiers: each gets its own `selection_<n>`, and no `1 of` glob
  // may reach into another branch's filters.
  const layout = new Layout(d.conds.length === 1);
  const conditions = d.conds.map((c, i) => layout.top(c, d.conds.length > 1 ? `selection_${i + 1}` : 'selection'));
  out += 'detection:\n';
  for (const [name, s] of layout.searches) out += searchYaml(name, s) + '\n';
  out += `${IND}condition: ${conditions.length === 1 ? conditions[0] : conditions.map((c) => `(${c})`).join(' or ')}\n`;
  return out;
}

// ---- sequences and samples -> correlation rules ------------------------------------------------

function timespan(d: Duration | null, ctx: TranslateContext, span: Span): string {
  if (!d) {
    const fallback = String(ctx.mapping.settings.default_timespan ?? '1h');
    ctx.approximate('EQL3107', `a Sigma correlation needs a timespan and the query has none; ${fallback} is used`, span, 'narrower');
    return fallback;
  }
  if (TIMESPAN_UNITS.has(d.unit)) return `${d.value}${d.unit}`;
  const seconds = Math.ceil(d.ms / 1000);
  if (seconds * 1000 !== d.ms) ctx.approximate('EQL3107', `Sigma timespans count whole seconds; ${d.value}${d.unit} is rounded up to ${seconds}s`, d.span, 'wider');
  return `${seconds}s`;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 200) || 'eql_rule';

function correlation(rule: RuleInput, ctx: TranslateContext): string {
  const body = rule.query.body;
  if (body.kind === 'EventQuery') throw new Error('not a correlation');
  const meta = rule.meta;
  const steps: { filter: EventFilter; keys: readonly Expr[]; span: Span }[] = [];
  let type: 'temporal_ordered' | 'temporal' | 'event_count' = 'temporal_ordered';
  let count: number | null = null;
  let window: string;
  if (body.kind === 'Sequence') {
    for (const s of body.steps) {
      if (s.missing) {
        ctx.approximate('EQL3106', 'Sigma correlations cannot require an event to be absent; the missing-event step is left out', s.span, 'wider');
        continue;
      }
      steps.push({ filter: s.filter, keys: [...body.by, ...s.by], span: s.span });
      if (s.runs !== null && s.runs > 1 && body.steps.length > 1)
        ctx.approximate('EQL3106', `temporal_ordered correlations count each rule once; "with runs=${s.runs}" is matched by one event`, s.span, 'wider');
    }
    if (body.until) ctx.approximate('EQL3106', 'Sigma correlations have no "until"; sequences the until event would end still match', body.until.span, 'wider');
    const only = body.steps.length === 1 ? body.steps[0]! : null;
    if (only && only.runs !== null) {
      type = 'event_count';
      count = only.runs;
    }
    window = timespan(body.maxspan, ctx, body.span);
  } else {
    type = 'temporal';
    for (const s of body.steps) steps.push({ filter: s.filter, keys: [...body.by, ...s.by], span: s.span });
    ctx.approximate('EQL3107', 'a sample has no time window, a Sigma temporal correlation needs one', body.span, 'narrower');
    // Sigma counts the rules an event matches (correlation specification, "Condition"): one event can stand for two steps.
    if (steps.length > 1)
      ctx.approximate('EQL3106', 'a Sigma temporal correlation counts an event for every base rule it matches; a sample fills each filter with a different event', body.span, 'wider');
    window = String(ctx.mapping.settings.default_timespan ?? '1h');
  }
  const base = slug(meta.name ?? 'eql rule');
  const docs: { name: string; d: Detection }[] = steps.map((s, i) => ({ name: `${base}_step_${i + 1}`, d: detections(s.filter, ctx, true)[0]! }));
  // Join keys: one group-by field per key position, or an alias when the steps' Sigma fields differ.
  const groupBy: string[] = [];
  const aliases: [string, [string, string][]][] = [];
  const keyCount = Math.max(0, ...steps.map((s) => s.keys.length));
  const lossyKeys = new Set<string>();
  for (let k = 0; k < keyCount; k++) {
    const fields: (string | null)[] = steps.map((s, i) => {
      const key = s.keys[k];
      if (!key || key.kind !== 'Field') return null;
      const fm = classField(ctx.mapping, docs[i]!.d.cls, key.name);
      if (!fm || fm.transform || Array.isArray(fm.field)) return null;
      if (fm.lossy && !lossyKeys.has(key.name)) {
        lossyKeys.add(key.name);
        ctx.approximate('EQL3006', `join key ${key.name} is rendered as ${fm.field}: ${fm.lossy.reason}`, key.span, fm.lossy.direction);
      }
      return fm.field;
    });
    const key = steps[0]!.keys[k]!;
    if (fields.some((f) => f === null)) {
      const missing = steps.map((s, i) => (fields[i] === null ? s.keys[k] : null)).find((x) => x) ?? key;
      ctx.approximate('EQL3111', `join key ${missing.kind === 'Field' ? missing.name : '…'} has no Sigma field in every step; events are not joined on it`, missing.span, 'wider');
      continue;
    }
    // An optional key (`?x`) joins events that lack it (null equals null); Sigma leaves such events out of every group.
    const optional = steps.map((s) => s.keys[k]).find((x) => x?.kind === 'Field' && x.optional);
    if (optional?.kind === 'Field')
      ctx.approximate('EQL3111', `optional join key ?${optional.name} also joins events without it; a Sigma correlation leaves out events without a group-by field`, optional.span, 'narrower');
    // Two EQL keys on one Sigma field (host.id and host.name -> Computer) are one group-by entry.
    if (fields.every((f) => f === fields[0])) {
      if (!groupBy.includes(fields[0]!)) groupBy.push(fields[0]!);
    }
    else {
      const alias = key.kind === 'Field' ? slug(key.name) : `key_${k + 1}`;
      aliases.push([alias, docs.map((d, i) => [d.name, fields[i]!])]);
      groupBy.push(alias);
    }
  }
  if (!groupBy.length) {
    ctx.unsupported('EQL3111', 'Sigma correlations need at least one group-by field and no join key could be mapped', body.span);
    throw new Unsupported();
  }
  if (type !== 'event_count' && steps.length < 2 && body.kind === 'Sequence')
    ctx.approximate('EQL3106', 'the correlation has a single base rule left', body.span, 'wider');
  const { head, tail } = metadata(meta);
  let out = head + 'correlation:\n';
  out += `${IND}type: ${type}\n${IND}rules:\n${docs.map((d) => `${IND}${IND}- ${d.name}`).join('\n')}\n`;
  out += `${IND}group-by:\n${groupBy.map((g) => `${IND}${IND}- ${g}`).join('\n')}\n`;
  out += `${IND}timespan: ${window}\n`;
  if (aliases.length) {
    out += `${IND}aliases:\n`;
    for (const [alias, per] of aliases) out += `${IND}${IND}${alias}:\n${per.map(([r, f]) => `${IND}${IND}${IND}${r}: ${f}`).join('\n')}\n`;
  }
  if (count !== null) out += `${IND}condition:\n${IND}${IND}gte: ${count}\n`;
  out += tail;
  docs.forEach(({ name, d }, i) => {
    out += `---\ntitle: ${yamlText(`${meta.name ?? 'Untitled EQL rule'}: step ${i + 1} of ${docs.length}`)}\nname: ${name}\n`;
    out += `status: ${STATUS[String(meta.metadata.maturity ?? '')] ?? 'experimental'}\n`;
    out += detectionYaml(d);
  });
  return out;
}

// ---- the backend -----------------------------------------------------------------------------

function emit(rule: RuleInput, ctx: TranslateContext): string {
  for (const p of rule.query.pipes) ctx.approximate('EQL3109', `Sigma has no result limit; every match is reported instead of "| ${p.name}${p.count !== null ? ' ' + p.count : ''}"`, p.span, 'wider');
  const body = rule.query.body;
  if (body.kind !== 'EventQuery') return correlation(rule, ctx);
  const ds = detections(body.filter, ctx, false);
  return ds
    .map((d, index) => {
      const { head, tail } = metadata(rule.meta, ds.length > 1 ? { index, count: ds.length, source: sourceName(d) } : undefined);
      return head + detectionYaml(d) + tail;
    })
    .join('---\n');
}

export const sigmaBackend: Backend = {
  id: 'sigma',
  title: 'Sigma',
  extension: '.yml',
  variants: [{ name: 'default', options: {} }],
  emit,
};
