// An independent interpreter of the Sigma rules eqlport emits, for the verifier. It reads the YAML text
// (never the IR) and evaluates it with the semantics of the Sigma specification, as summarised in
// ../shared/research/target-syntax.md §2 (TS) and pysigma-outputs.md. It deliberately shares no code with
// src/backends/sigma.ts: value parsing, escaping and modifiers are implemented here from the specification.
import { parseAllDocuments } from 'yaml';
import { fieldValues } from '../matcher/runtime.js';
import { parse as parseCondition, SyntaxError as ConditionSyntaxError } from '../generated/sigma-condition-parser.js';
import type { EventClass, FieldMapping, Mapping } from '../translate/mapping.js';
import type { EcsEvent } from './generate.js';
import { InterpreterError, Unrepresentable, type Interpreter, type InterpreterContext, type InterpreterRun } from './interpreter.js';

// ---- records ---------------------------------------------------------------------------------

type Scalar = string | number | boolean;

/** What a Sigma backend's SIEM would hold for one event: flat Sigma fields, the log sources it is found under, a time. */
export interface SigmaRecord {
  fields: Record<string, Scalar[]>;
  logsources: Record<string, string>[];
  time: number;
}

// ---- values ----------------------------------------------------------------------------------

/** A Sigma string value: literal characters and the wildcards `*` (any string) and `?` (one character). */
type Piece = { lit: string } | { wild: '*' | '?' };

/**
 * Parse a Sigma string (specification "Escape Character"; pySigma SigmaString, TS §2.2): after a backslash,
 * `*`, `?` and `\` are literal characters; before anything else (and at the end) the backslash is literal itself.
 */
export function parseSigmaString(s: string): Piece[] {
  const out: Piece[] = [];
  const push = (c: string) => {
    const last = out[out.length - 1];
    if (last && 'lit' in last) last.lit += c;
    else out.push({ lit: c });
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const n = s[i + 1];
      if (n === '*' || n === '?' || n === '\\') {
        push(n);
        i++;
      } else push('\\');
    } else if (c === '*' || c === '?') out.push({ wild: c });
    else push(c);
  }
  return out;
}

const reEscape = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** Windows dash variants that `|windash` accepts for a `-` (TS §2.3). */
const DASHES = ['-', '/', '\u2013', '\u2014', '\u2015'];

function pieceSource(pieces: readonly Piece[], windash: boolean): string {
  return pieces
    .map((p) => {
      if ('wild' in p) return p.wild === '*' ? '.*' : '.';
      if (!windash) return reEscape(p.lit);
      return [...p.lit].map((c) => (c === '-' ? `(?:${DASHES.map(reEscape).join('|')})` : reEscape(c))).join('');
    })
    .join('');
}

// ---- IP addresses for |cidr -------------------------------------------------------------------

interface Ip {
  v6: boolean;
  n: bigint;
}

function parseIpv4(s: string): bigint | null {
  const parts = s.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((n, p) => (n << 8n) | BigInt(Number(p)), 0n);
}

export function parseIp(s: string): Ip | null {
  if (!s.includes(':')) {
    const n = parseIpv4(s);
    return n === null ? null : { v6: false, n };
  }
  // An embedded IPv4 tail (::ffff:1.2.3.4) is two groups.
  let text = s;
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = parseIpv4(v4[1]!);
    if (n === null) return null;
    text = `${s.slice(0, v4.index)}:${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const group = (h: string) => (h === '' ? [] : h.split(':'));
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const fixed = [...head, ...rest].map((g) => BigInt(parseInt(g, 16)));
  const fill = 8 - fixed.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const groups = [...head.map((g) => BigInt(parseInt(g, 16))), ...Array(halves.length === 2 ? fill : 0).fill(0n), ...rest.map((g) => BigInt(parseInt(g, 16)))];
  return { v6: true, n: groups.reduce((n, g) => (n << 16n) | g, 0n) };
}

function parseCidr(s: string): (Ip & { shift: bigint }) | null {
  const [addr, len, extra] = s.split('/');
  const ip = addr === undefined ? null : parseIp(addr);
  const bits = ip?.v6 ? 128 : 32;
  const prefix = len === undefined ? bits : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!ip || extra !== undefined || !(prefix >= 0 && prefix <= bits)) return null;
  return { ...ip, shift: BigInt(bits - prefix) };
}

// ---- detection -------------------------------------------------------------------------------

/** One `field|modifiers: values` item, compiled to a predicate over the field's values (empty = missing). */
type ItemPred = (values: readonly Scalar[]) => boolean;
type Search = { field: string; pred: ItemPred }[][]; // OR of ANDs

type CondNode =
  | { t: 'id'; name: string }
  | { t: 'and' | 'or'; args: CondNode[] }
  | { t: 'not'; arg: CondNode }
  | { t: 'of'; quantifier: 'all' | number; pattern: string | null };

export interface SigmaRule {
  name: string | null;
  logsource: Record<string, string>;
  searches: Map<string, Search>;
  condition: CondNode;
}

export type SigmaProgram =
  /** Independent rules (a query split by log source): an event is detected when any of them matches. */
  | { kind: 'rules'; rules: SigmaRule[] }
  | {
      kind: 'correlation';
      type: CorrelationType;
      rules: SigmaRule[];
      groupBy: string[];
      aliases: Record<string, Record<string, string>>;
      timespanMs: number;
      /** The count criteria ANDed; `field` is value_count's. */
      condition: { test: (n: number) => boolean; field: string | null } | null;
      /** Whether the base rules also alert on their own. */
      generate: boolean;
    };

type CorrelationType = 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered';

const KNOWN_MODIFIERS = new Set(['contains', 'startswith', 'endswith', 'all', 're', 'i', 'm', 's', 'cidr', 'exists', 'cased', 'lt', 'lte', 'gt', 'gte', 'windash', 'neq']);

function fail(message: string): never {
  throw new InterpreterError(message);
}

const asText = (v: Scalar) => String(v);

function asNumber(v: Scalar): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

/** A value matcher for one YAML value under the item's modifiers. */
function valueMatcher(raw: unknown, mods: Set<string>, where: string): (v: Scalar) => boolean {
  if (mods.has('re')) {
    if (typeof raw !== 'string') fail(`${where}: a regular expression must be a string`);
    const flags = ['i', 'm', 's'].filter((f) => mods.has(f)).join('');
    let re: RegExp;
    try {
      re = new RegExp(raw, flags);
    } catch (e) {
      fail(`${where}: invalid regular expression ${raw}: ${(e as Error).message}`);
    }
    // Sigma does not say whether |re must match the whole value (TS §2.3); SIEM backends search, so do we.
    return (v) => re.test(asText(v));
  }
  if (mods.has('cidr')) {
    if (typeof raw !== 'string') fail(`${where}: a CIDR must be a string`);
    const net = parseCidr(raw) ?? fail(`${where}: invalid CIDR ${raw}`);
    return (v) => {
      const ip = typeof v === 'string' ? parseIp(v) : null;
      return ip !== null && ip.v6 === net.v6 && ip.n >> net.shift === net.n >> net.shift;
    };
  }
  for (const op of ['lt', 'lte', 'gt', 'gte'] as const) {
    if (!mods.has(op)) continue;
    const bound = typeof raw === 'number' ? raw : fail(`${where}: |${op} needs a number`);
    return (v) => {
      const n = asNumber(v);
      if (n === null) return false;
      return op === 'lt' ? n < bound : op === 'lte' ? n <= bound : op === 'gt' ? n > bound : n >= bound;
    };
  }
  if (typeof raw === 'number') return (v) => asNumber(v) === raw;
  if (typeof raw === 'boolean') return (v) => v === raw || (typeof v === 'string' && v.toLowerCase() === String(raw));
  if (typeof raw !== 'string') fail(`${where}: unsupported value ${JSON.stringify(raw)}`);
  let pieces = parseSigmaString(raw);
  const star: Piece = { wild: '*' };
  if (mods.has('contains')) pieces = [star, ...pieces, star];
  else if (mods.has('startswith')) pieces = [...pieces, star];
  else if (mods.has('endswith')) pieces = [star, ...pieces];
  // Strings are case-insensitive unless |cased (TS §2.3); `s` lets `*` span line breaks.
  const re = new RegExp(`^${pieceSource(pieces, mods.has('windash'))}$`, mods.has('cased') ? 'su' : 'isu');
  return (v) => re.test(asText(v));
}

function compileItem(key: string, value: unknown, where: string): { field: string; pred: ItemPred } {
  const [field, ...modList] = key.split('|');
  if (!field) fail(`${where}: empty field name in "${key}"`);
  for (const m of modList) if (!KNOWN_MODIFIERS.has(m)) fail(`${where}: unknown modifier |${m}`);
  const mods = new Set(modList);
  if (mods.has('exists')) {
    if (typeof value !== 'boolean') fail(`${where}: |exists takes true or false`);
    return { field, pred: (vs) => (vs.length > 0) === value };
  }
  // `field: null` matches an event without the field (TS §2.3: backends read it as "missing or empty").
  if (value === null) return { field, pred: (vs) => vs.length === 0 || vs.every((v) => v === '') };
  const list = Array.isArray(value) ? value : [value];
  if (!list.length) fail(`${where}: empty value list for ${key}`);
  if (list.includes(null)) fail(`${where}: null cannot be inside a list`);
  const matchers = list.map((v) => valueMatcher(v, mods, where));
  const one = (m: (v: Scalar) => boolean) => (vs: readonly Scalar[]) => vs.some(m);
  // |neq: the field holds a value and it is none of these.
  if (mods.has('neq')) return { field, pred: (vs) => vs.length > 0 && !matchers.some((m) => vs.some(m)) };
  // Lists are ORed, |all ANDs them; a missing field matches nothing.
  if (mods.has('all')) return { field, pred: (vs) => matchers.every((m) => one(m)(vs)) };
  return { field, pred: (vs) => matchers.some((m) => one(m)(vs)) };
}

function compileMap(m: unknown, where: string): { field: string; pred: ItemPred }[] {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(`${where}: a search must be a map or a list of maps`);
  const items = Object.entries(m as Record<string, unknown>).map(([k, v]) => compileItem(k, v, where));
  if (!items.length) fail(`${where}: empty search`);
  return items;
}

function compileSearch(name: string, s: unknown): Search {
  if (Array.isArray(s)) {
    if (!s.length) fail(`search ${name} is an empty list`);
    if (s.some((x) => typeof x !== 'object' || x === null)) fail(`search ${name}: keyword searches (plain value lists) are not interpreted`);
    return s.map((m, i) => compileMap(m, `${name}[${i}]`));
  }
  return [compileMap(s, name)];
}

function compileRule(doc: Record<string, unknown>): SigmaRule {
  const logsource = doc.logsource;
  if (typeof logsource !== 'object' || logsource === null) fail('a rule needs a logsource map');
  const ls: Record<string, string> = {};
  for (const [k, v] of Object.entries(logsource as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(`logsource.${k} must be a string`);
    if (['category', 'product', 'service'].includes(k)) ls[k] = v;
  }
  const detection = doc.detection;
  if (typeof detection !== 'object' || detection === null || Array.isArray(detection)) fail('a rule needs a detection map');
  const searches = new Map<string, Search>();
  let conditionText: unknown;
  for (const [k, v] of Object.entries(detection as Record<string, unknown>)) {
    if (k === 'condition') conditionText = v;
    else if (k !== 'timeframe') searches.set(k, compileSearch(k, v));
  }
  if (typeof conditionText !== 'string') fail('detection.condition must be one string');
  let condition: CondNode;
  try {
    condition = parseCondition(conditionText) as CondNode;
  } catch (e) {
    if (e instanceof ConditionSyntaxError) fail(`condition "${conditionText}": ${e.message}`);
    throw e;
  }
  checkIdentifiers(condition, searches, conditionText);
  return { name: typeof doc.name === 'string' ? doc.name : null, logsource: ls, searches, condition };
}

function checkIdentifiers(c: CondNode, searches: Map<string, Search>, text: string): void {
  if (c.t === 'id' && !searches.has(c.name)) fail(`condition "${text}" names an undefined search ${c.name}`);
  if (c.t === 'of' && !expand(c.pattern, searches).length) fail(`condition "${text}": "${c.pattern ?? 'them'}" matches no search`);
  if (c.t === 'and' || c.t === 'or') for (const a of c.args) checkIdentifiers(a, searches, text);
  if (c.t === 'not') checkIdentifiers(c.arg, searches, text);
}

/** Search names an `x of` pattern covers; `them` leaves out identifiers starting with `_` (TS §2.3). */
function expand(pattern: string | null, searches: Map<string, Search>): string[] {
  const names = [...searches.keys()];
  if (pattern === null) return names.filter((n) => !n.startsWith('_'));
  const re = new RegExp(`^${pattern.split('*').map(reEscape).join('.*')}$`);
  return names.filter((n) => re.test(n));
}

function evalSearch(s: Search, r: SigmaRecord): boolean {
  return s.some((and) => and.every((item) => item.pred(r.fields[item.field] ?? [])));
}

function evalCond(c: CondNode, rule: SigmaRule, r: SigmaRecord): boolean {
  switch (c.t) {
    case 'id':
      return evalSearch(rule.searches.get(c.name)!, r);
    case 'and':
      return c.args.every((a) => evalCond(a, rule, r));
    case 'or':
      return c.args.some((a) => evalCond(a, rule, r));
    case 'not':
      return !evalCond(c.arg, rule, r);
    case 'of': {
      const names = expand(c.pattern, rule.searches);
      const hits = names.filter((n) => evalSearch(rule.searches.get(n)!, r)).length;
      return c.quantifier === 'all' ? hits === names.length : hits >= c.quantifier;
    }
  }
}

/** A rule applies to the records of its log source: every key it names must be one of the record's. */
function inLogsource(rule: SigmaRule, r: SigmaRecord): boolean {
  return r.logsources.some((ls) => Object.entries(rule.logsource).every(([k, v]) => ls[k] === v));
}

export function ruleMatches(rule: SigmaRule, r: SigmaRecord | null): boolean {
  return r !== null && inLogsource(rule, r) && evalCond(rule.condition, rule, r);
}

// ---- correlations ----------------------------------------------------------------------------
// Sigma correlation rules specification v2.0.x (SigmaHQ/sigma-specification,
// specification/sigma-correlation-rules-specification.md; summarised in TS §2.5), sections "Correlation
// section" (type, rules, aliases, group-by, timespan, condition), "Generate" and "Correlation Types".

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "Time Selection": a number and one lowercase letter, s m h d. */
function parseTimespan(v: unknown): number {
  const m = typeof v === 'string' ? /^(\d+)([smhd])$/.exec(v) : null;
  if (!m || Number(m[1]) === 0) fail(`invalid correlation timespan ${JSON.stringify(v)}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

const COUNT_OPS: Record<string, (n: number, bound: number) => boolean> = {
  gt: (n, b) => n > b,
  gte: (n, b) => n >= b,
  lt: (n, b) => n < b,
  lte: (n, b) => n <= b,
  eq: (n, b) => n === b,
};

/** "Condition": one of gt/gte/lt/lte/eq, or several ANDed for a range; value_count adds `field`. */
function parseCountCondition(v: unknown): { test: (n: number) => boolean; field: string | null } | null {
  if (v === undefined) return null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('correlation.condition must be a map');
  let field: string | null = null;
  const tests: ((n: number) => boolean)[] = [];
  for (const [k, b] of Object.entries(v)) {
    if (k === 'field' && typeof b === 'string') field = b;
    else if (COUNT_OPS[k] && typeof b === 'number') tests.push((n) => COUNT_OPS[k]!(n, b));
    else fail(`correlation.condition: unknown criterion ${k}: ${JSON.stringify(b)}`);
  }
  if (!tests.length) fail('correlation.condition has no count criterion');
  return { test: (n) => tests.every((t) => t(n)), field };
}

function compileCorrelation(doc: Record<string, unknown>, bases: (SigmaRule & { id: string | null })[]): SigmaProgram {
  const c = doc.correlation as Record<string, unknown>;
  if (typeof c !== 'object' || c === null) fail('correlation must be a map');
  if (typeof c.type !== 'string' || !['event_count', 'value_count', 'temporal', 'temporal_ordered'].includes(c.type)) fail(`unknown correlation type ${JSON.stringify(c.type)}`);
  const names = c.rules;
  if (!Array.isArray(names) || !names.length || names.some((n) => typeof n !== 'string')) fail('correlation.rules must list rule names');
  // "Related rules": a rule is named by its `name` or its `id`.
  const rules = (names as string[]).map((n) => bases.find((b) => b.name === n || b.id === n) ?? fail(`correlation names an unknown rule ${n}`));
  const groupBy = c['group-by'] === undefined ? [] : c['group-by'];
  if (!Array.isArray(groupBy) || groupBy.some((g) => typeof g !== 'string')) fail('correlation.group-by must be a list of fields');
  const aliases: Record<string, Record<string, string>> = {};
  for (const [alias, per] of Object.entries((c.aliases ?? {}) as Record<string, unknown>)) {
    if (typeof per !== 'object' || per === null || Object.values(per).some((f) => typeof f !== 'string')) fail(`alias ${alias} must map rule names to fields`);
    aliases[alias] = per as Record<string, string>;
  }
  // "Generate" is a component of the correlation rule; pySigma reads it inside `correlation`. Both are accepted.
  const generate = c.generate ?? doc.generate ?? false;
  if (typeof generate !== 'boolean') fail('generate must be true or false');
  const condition = parseCountCondition(c.condition);
  if ((c.type === 'event_count' || c.type === 'value_count') && !condition) fail(`a ${c.type} correlation needs a condition`);
  if (c.type === 'value_count' && !condition?.field) fail('a value_count condition needs a field');
  return { kind: 'correlation', type: c.type as CorrelationType, rules, groupBy: groupBy as string[], aliases, timespanMs: parseTimespan(c.timespan), condition, generate };
}

export function parseSigma(text: string): SigmaProgram {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) fail('empty YAML stream');
  const values: Record<string, unknown>[] = [];
  for (const d of docs) {
    if (d.errors.length) fail(`YAML: ${d.errors[0]!.message.split('\n')[0]}`);
    const v = d.toJS() as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('every YAML document must be a map');
    values.push(v as Record<string, unknown>);
  }
  const corr = values.filter((v) => 'correlation' in v);
  if (corr.length > 1) fail('more than one correlation rule in the stream');
  const bases = values.filter((v) => !('correlation' in v)).map((v) => ({ ...compileRule(v), id: typeof v.id === 'string' ? v.id : null }));
  if (corr.length === 1) return compileCorrelation(corr[0]!, bases);
  return { kind: 'rules', rules: bases };
}

type Correlation = Extract<SigmaProgram, { kind: 'correlation' }>;

/**
 * The groups a record falls in when a base rule matched it: the values of the group-by fields (an alias read
 * through the field it names for that rule, "Field Name Aliases"). The specification does not say what happens
 * to an event without a group-by field, nor with several values in one: here, as in the aggregations SIEMs
 * run for correlations (Splunk `stats ... by`, Elasticsearch `terms`), an event without the field is in no
 * group and an event with several values is in the group of each (one group per combination).
 */
function groupsOf(p: Correlation, rule: SigmaRule, r: SigmaRecord): string[] {
  let keys: string[][] = [[]];
  for (const g of p.groupBy) {
    const field = p.aliases[g]?.[rule.name ?? ''] ?? g;
    const values = [...new Set((r.fields[field] ?? []).map(asText))];
    keys = keys.flatMap((k) => values.map((v) => [...k, v]));
  }
  return keys.map((k) => JSON.stringify(k));
}

interface Hit {
  index: number;
  time: number;
  /** Positions in p.rules of the base rules the record matches. */
  rules: Set<number>;
}

/**
 * One group's records in time order; the earliest alert it raises, as the indexes of the events that make it.
 * Timespan boundaries: the specification asks that the events "occur in the time frame defined by timespan" and
 * that the frame not be tied to fixed boundaries; it does not say whether a frame of `1m` holds two events
 * exactly a minute apart. They are taken to (the frame is closed), as pySigma's SQLite backend tests
 * `last_event - first_event <= timespan`.
 */
function alertOf(p: Correlation, hits: Hit[]): number[] | null {
  const n = p.rules.length;
  for (const [s, start] of hits.entries()) {
    const frame = hits.slice(s).filter((h) => h.time - start.time <= p.timespanMs);
    if (p.type === 'temporal_ordered') {
      // "behaves like temporal and requires in addition that the events appear in the order provided in the
      // rule attribute": rule i's event before rule i+1's, so distinct events (an event does not appear before
      // itself; records come in time order, ties in input order). From a given start the earliest fit is the best.
      if (!start.rules.has(0)) continue;
      const picked = [start.index];
      for (let i = 1, at = 0; i < n; i++) {
        const next = frame.findIndex((h, j) => j > at && h.rules.has(i));
        if (next < 0) break;
        picked.push(frame[next]!.index);
        at = next;
      }
      if (picked.length === n) return picked;
    } else if (p.type === 'temporal') {
      // "All events defined by the rules ... must occur in the time frame", in any order. The condition counts
      // "different event types (Sigma rules matching)", so one event matching two rules counts for both (pySigma's
      // SQL backends count DISTINCT rule ids over a UNION ALL of the base rules' searches).
      const seen = [...new Set(frame.flatMap((h) => [...h.rules]))].sort((a, b) => a - b);
      if (!(p.condition?.test ?? ((k: number) => k === n))(seen.length)) continue;
      // Each matched rule's first event, in the rules' order (as a sample lists its filters' events).
      return [...new Set(seen.map((i) => frame.find((h) => h.rules.has(i))!.index))];
    } else if (p.condition!.test(frame.length)) {
      // event_count: "Counts events occurring in the given time frame", per group.
      return frame.map((h) => h.index);
    }
  }
  return null;
}

/**
 * A correlation raises an alert per group (and time frame) and names the group, not events; EQL's sequences and
 * samples are event tuples. The two are compared by group: the Sigma side reports, for each group that raises an
 * alert, the events of its earliest alert, and `groupOf` places that tuple and each of EQL's tuples in the group
 * they are one of (their events' common group key). An EQL tuple whose events share no group is one no Sigma
 * alert can stand for. Several EQL tuples of one group are one Sigma alert's worth; which events EQL picked
 * within a group is not compared, because Sigma does not report it.
 */
function runCorrelation(p: Correlation, records: readonly (SigmaRecord | null)[]): InterpreterRun {
  if (p.generate) return { notChecked: 'generate: true makes every base rule alert on its own as well; only the correlation is compared' };
  if (p.type === 'value_count') return { notChecked: 'value_count correlations are not interpreted (eqlport does not emit them)' };
  const n = p.rules.length;
  if (p.type === 'temporal_ordered' && p.condition && !(p.condition.test(n) && !p.condition.test(n - 1)))
    return { notChecked: 'a temporal_ordered correlation whose condition asks for fewer than all its rules is not interpreted' };
  const byGroup = new Map<string, Hit[]>();
  records.forEach((r, index) => {
    if (!r) return;
    const matched = p.rules.flatMap((rule, i) => (ruleMatches(rule, r) ? [i] : []));
    // A record is in a group through the fields of the rules it matched (aliases may differ per rule).
    const groups = new Map<string, Set<number>>();
    for (const i of matched) for (const g of groupsOf(p, p.rules[i]!, r)) groups.set(g, (groups.get(g) ?? new Set()).add(i));
    for (const [g, rules] of groups) byGroup.set(g, [...(byGroup.get(g) ?? []), { index, time: r.time, rules }]);
  });
  const matches = [...byGroup.values()].flatMap((hits) => {
    const alert = alertOf(p, hits);
    return alert ? [alert] : [];
  });
  return { matches, groupOf: (t) => groupOf(p, records, t) };
}

/**
 * The group a tuple of events is in: the least group key all its events share, each event keyed through the
 * rule at its position (through every rule when positions do not line up with the rules: an EQL step with
 * runs, or an event_count). A tuple whose events share no key gets a key of its own, so it meets nothing.
 */
function groupOf(p: Correlation, records: readonly (SigmaRecord | null)[], tuple: readonly number[]): string {
  const events = tuple.filter((i) => i >= 0);
  const positional = events.length === p.rules.length && p.type !== 'event_count';
  let common = null as Set<string> | null;
  for (const [pos, i] of events.entries()) {
    const r = records[i];
    const rules = positional ? [p.rules[pos]!] : p.rules;
    const keys = new Set(r ? rules.flatMap((rule) => groupsOf(p, rule, r)) : []);
    common = common === null ? keys : new Set([...common].filter((k) => keys.has(k)));
  }
  const shared = [...(common ?? [])].sort();
  return shared.length ? `group ${shared[0]}` : `no group ${tuple.join(',')}`;
}

// ---- ECS -> Sigma record, driven by the mapping --------------------------------------------------

const listOf = <T>(v: T | T[]) => (Array.isArray(v) ? v : [v]);
const scalars = (ev: unknown, name: string): Scalar[] => fieldValues(ev, name.split('.')).filter((v): v is Scalar => v !== null);

/** The classes whose `when` an event satisfies: the log sources the event is found under. */
function classesOf(mapping: Mapping, ev: EcsEvent): EventClass[] {
  return mapping.classes.filter((cls) =>
    Object.entries(cls.when).every(([k, allowed]) => {
      const have = scalars(ev, k === 'category' ? 'event.category' : k).map(asText);
      // A class an `any where` rule may read holds events whatever category Elastic gave them, or none.
      if (k === 'category' && !have.length && listOf(allowed).includes('any')) return true;
      return listOf(allowed).some((a) => have.includes(a));
    }),
  );
}

/** Windows command-line quoting, the inverse of CommandLineToArgvW (backslashes double only before a quote). */
export function windowsCommandLine(args: readonly string[]): string {
  return args
    .map((a) => {
      if (a !== '' && !/[\s"]/.test(a)) return a;
      let out = '"';
      let slashes = 0;
      for (const c of a) {
        if (c === '\\') slashes++;
        else if (c === '"') {
          out += '\\'.repeat(slashes * 2 + 1) + '"';
          slashes = 0;
        } else {
          out += '\\'.repeat(slashes) + c;
          slashes = 0;
        }
      }
      return out + '\\'.repeat(slashes * 2) + '"';
    })
    .join(' ');
}

/** The dotted names of an event's leaf values, whether it writes them flat ("a.b": 1) or nested (a: {b: 1}). */
function leafNames(ev: unknown, prefix = ''): string[] {
  if (typeof ev !== 'object' || ev === null) return prefix ? [prefix] : [];
  if (Array.isArray(ev)) return [...new Set(ev.flatMap((x) => leafNames(x, prefix)))];
  return Object.entries(ev).flatMap(([k, v]) => leafNames(v, prefix ? `${prefix}.${k}` : k));
}

/** A directory no rule names, for paths the event gives only the last segment of. */
const SYNTHETIC_DIR: Record<string, string> = { '\\': 'Z:\\eqlport', '/': '/eqlport' };
/** A made-up value for a field the product always stores and the ECS event lacks. */
const SYNTHETIC_VALUE = 'eqlport-synthetic';

interface Source {
  ecs: string;
  fm: FieldMapping;
}

/** The parts a target field is assembled from when the event lacks the whole (a path's name, an argv). */
const parts = (of: (t: string) => { s: Source; v: Scalar[] }[]) => ['basename', 'extension', 'directory', 'cmdline', 'first_segment'].flatMap((t) => of(t));

/** Whether an ECS part is consistent with the whole value the target stores. */
function partOf(transform: string, part: string, whole: string): boolean {
  const name = whole.split(/[\\/]/).pop()!;
  switch (transform) {
    case 'basename':
      return name === part;
    case 'extension':
      return name.endsWith('.' + part);
    case 'directory':
      return whole.startsWith(part) && /^[\\/]?[^\\/]*$/.test(whole.slice(part.length));
    case 'cmdline':
      return whole.includes(part);
    case 'first_segment':
      return firstSegment(whole) === part;
    default:
      return true;
  }
}

/** GitHub's category of an action: the Elastic pipeline groks `^[a-z_]+` before the first dot (GH_CAT). */
const firstSegment = (action: string) => /^([a-z_]+)\./.exec(action)?.[1] ?? null;

/** Parts ECS always fills in when it has the whole value (a name from a path; an extension when the name has one). */
const DERIVED = new Set(['basename', 'extension', 'directory', 'first_segment']);
/** Whether ECS derives a part of this kind from the whole value (not every name has an extension, nor every action a category). */
const derivable = (transform: string, whole: readonly Scalar[]) =>
  transform === 'extension' ? whole.some((x) => /\.[^\\/.]*$/.test(asText(x))) : transform === 'first_segment' ? whole.some((x) => firstSegment(asText(x)) !== null) : true;

/** The global fields a class's records also carry: none for another product's log (mapping `own_fields`). */
const ownTable = (mapping: Mapping, cls: EventClass) => (cls.source.own_fields === true ? {} : mapping.fields);

const sameValues = (a: readonly Scalar[], b: readonly Scalar[]) => a.length === b.length && a.every((x, i) => asText(x) === asText(b[i]!));

function recordFields(mapping: Mapping, cls: EventClass, ev: EcsEvent, os: string | null, ruleFields: ReadonlySet<string> | undefined): Record<string, Scalar[]> | Unrepresentable {
  const table = { ...ownTable(mapping, cls), ...cls.fields };
  // A class key ending in `.*` covers every field under it that no key names; the longest prefix wins.
  const prefixes = Object.keys(cls.fields ?? {}).filter((k) => k.endsWith('.*')).sort((a, b) => b.length - a.length);
  for (const name of leafNames(ev)) {
    const prefix = name in table ? undefined : prefixes.find((k) => name.startsWith(k.slice(0, -1)));
    const raw = prefix === undefined ? undefined : table[prefix];
    if (raw === null || raw === undefined) continue;
    const rest = name.slice(prefix!.length - 1);
    const fm: FieldMapping = typeof raw === 'string' ? { field: raw } : raw;
    table[name] = { ...fm, field: listOf(fm.field).map((f) => f.replace('*', rest)) };
  }
  const bySigma = new Map<string, Source[]>();
  for (const [ecs, raw] of Object.entries(table)) {
    if (raw === null || raw === undefined || ecs.endsWith('.*')) continue;
    const fm: FieldMapping = typeof raw === 'string' ? { field: raw } : raw;
    for (const f of listOf(fm.field)) bySigma.set(f, [...(bySigma.get(f) ?? []), { ecs, fm }]);
  }
  const seps = (mapping.settings.path_separator ?? {}) as Record<string, string>;
  const sep = (os && seps[os]) || '\\';
  const hives = Object.entries((mapping.settings.registry_hives ?? {}) as Record<string, string>);
  const out: Record<string, Scalar[]> = {};
  for (const [field, sources] of bySigma) {
    const of = (t: string | undefined): { s: Source; v: Scalar[] }[] => sources.filter((s) => s.fm.transform === t).map((s) => ({ s, v: scalars(ev, s.ecs) })).filter((x) => x.v.length);
    // A field the event holds as such wins; a lossless source before one that only stands for it (host.name before host.id).
    const direct = [...of(undefined), ...of('hive'), ...of('details')].sort((a, b) => Number(!!a.s.fm.lossy) - Number(!!b.s.fm.lossy));
    let values: Scalar[] | null = null;
    if (direct.length) {
      const { s, v } = direct[0]!;
      // Two ECS fields mapped exactly to one log field are both filled from it (Sysmon EID 7 ImageLoaded is dll.path
      // and file.path, vendor pair sysmon_operational): an event lacking, or differing in, one the rule reads cannot exist.
      const twin = sources.find((x) => !x.fm.transform && !x.fm.lossy && !x.fm.values && !s.fm.lossy && !s.fm.values && x.ecs !== s.ecs && ruleFields?.has(x.ecs) && !sameValues(scalars(ev, x.ecs), v));
      if (twin) return new Unrepresentable(`${field} fills both ${s.ecs} and ${twin.ecs}; the event's ${twin.ecs} differs`);
      const clash = parts(of).find((part) => !part.v.every((x) => v.some((whole) => partOf(part.s.fm.transform!, asText(x), asText(whole)))));
      if (clash) return new Unrepresentable(`${field} holds ${s.ecs} alone; the event's ${clash.s.ecs} is not part of it`);
      const lacking = sources.find((x) => x.fm.transform && DERIVED.has(x.fm.transform) && ruleFields?.has(x.ecs) && !scalars(ev, x.ecs).length);
      if (lacking && derivable(lacking.fm.transform!, v))
        return new Unrepresentable(`the event has ${s.ecs} but lacks ${lacking.ecs}, which ECS derives from it`);
      values = v.map((x) => {
        // The target's spelling of an ECS value (an event.action is one of the event ids it names: take the first).
        const spelled = s.fm.values?.[asText(x)];
        if (spelled !== undefined) x = listOf(spelled)[0]!;
        if (s.fm.type === 'number') return asNumber(x) ?? x;
        if (s.fm.transform === 'hive' && typeof x === 'string') {
          const hit = hives.find(([long]) => x.toUpperCase().startsWith(long + '\\'));
          return hit ? hit[1] + x.slice(hit[0].length) : x;
        }
        // Sysmon renders DWORD registry data as `DWORD (0x%08x)` where Elastic keeps the decimal (FM §5).
        if (s.fm.transform === 'details' && /^\d+$/.test(String(x))) return `DWORD (0x${Number(x).toString(16).padStart(8, '0')})`;
        return x;
      });
    } else if (parts(of).length && sources.some((x) => !x.fm.transform && ruleFields?.has(x.ecs))) {
      // ECS takes a name, argv or category from the whole value: an event with a part but not the whole the rule reads cannot exist.
      const whole = sources.find((x) => !x.fm.transform && ruleFields?.has(x.ecs))!;
      return new Unrepresentable(`the event has ${parts(of)[0]!.s.ecs} but lacks ${whole.ecs}, which it is derived from`);
    } else if (of('first_segment').length) {
      // ECS has a GitHub category only from the action it is grokked from.
      return new Unrepresentable(`the event has ${of('first_segment')[0]!.s.ecs} but not the ${field} it is derived from`);
    } else if (of('cmdline').length) {
      // The target has only the command line; Windows builds it from argv with CommandLineToArgvW quoting.
      const args = of('cmdline')[0]!.v.map(asText);
      values = [os === null || os === 'windows' ? windowsCommandLine(args) : args.join(' ')];
    } else {
      // A path assembled from the parts the event has; the parts it lacks are made up (and match nothing).
      const dir = of('directory')[0]?.v.map(asText) ?? [SYNTHETIC_DIR[sep] ?? SYNTHETIC_DIR['\\']!];
      const names = of('basename')[0]?.v.map(asText) ?? of('extension')[0]?.v.map((x) => `eqlport.${asText(x)}`);
      if (names) values = names.map((n) => `${dir[0]!.replace(/[\\/]$/, '')}${sep}${n}`);
      else if (of('directory').length) values = dir.map((d) => `${d.replace(/[\\/]$/, '')}${sep}eqlport.bin`);
    }
    if (values?.length) out[field] = values;
  }
  return out;
}

function timeOf(v: unknown): number {
  if (typeof v === 'number') return v;
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

export function ecsToSigma(ev: EcsEvent, mapping: Mapping, ruleFields?: ReadonlySet<string>): SigmaRecord | Unrepresentable | null {
  // ECS event.category and event.type are lowercase enumerations: other spellings never reach a log source.
  const odd = ['event.category', 'event.type'].find((f) => scalars(ev, f).some((v) => asText(v) !== asText(v).toLowerCase()));
  if (odd) return new Unrepresentable(`${odd} is not one of ECS's lowercase values`);
  // A log source is chosen by the exact keywords its ingest pipeline writes (Elastic's Windows Security script writes
  // event.action "service-installed"): another spelling of one comes from no log the class stands for.
  for (const cls of mapping.classes) {
    for (const [k, allowed] of Object.entries(cls.when)) {
      if (k === 'category') continue;
      const variant = scalars(ev, k).map(asText).find((v) => listOf(allowed).some((a) => a !== v && a.toLowerCase() === v.toLowerCase()));
      if (variant !== undefined) return new Unrepresentable(`${k} ${JSON.stringify(variant)} is another spelling of a keyword the ${cls.name} log writes`);
    }
  }
  const classes = classesOf(mapping, ev);
  if (!classes.length) return null;
  // ECS host.os.type is one lowercase keyword (linux, macos, unix, windows): the log's product.
  const osValues = [...new Set(scalars(ev, 'host.os.type').map(asText))];
  if (osValues.length > 1 || osValues.some((o) => o !== o.toLowerCase())) return new Unrepresentable(`host.os.type ${JSON.stringify(osValues)} is not one lowercase OS name`);
  const os = osValues[0] || null;
  // A log source is always some product's: a rule that asks for the OS cannot be checked on an event without one.
  if (os === null && ruleFields?.has('host.os.type')) return new Unrepresentable('the event has no host.os.type, and every record is from some product');
  const fields: Record<string, Scalar[]> = {};
  for (const cls of [...classes].reverse()) {
    const f = recordFields(mapping, cls, ev, os, ruleFields);
    if (f instanceof Unrepresentable) return f;
    Object.assign(fields, f);
  }
  // The log source's key field is in every one of its events (mapping `always_present`), even when ECS lacks it.
  for (const cls of classes) {
    const key = cls.source.always_present;
    if (typeof key !== 'string' || fields[key]) continue;
    // ...so ECS always has the field the log fills from it: a rule reading that field never sees an event without it.
    const named = Object.entries({ ...ownTable(mapping, cls), ...cls.fields }).find(([ecs, raw]) => {
      const fm: FieldMapping | null | undefined = typeof raw === 'string' ? { field: raw } : raw;
      return fm && !fm.transform && !fm.lossy && listOf(fm.field).includes(key) && ruleFields?.has(ecs);
    });
    if (named) return new Unrepresentable(`every ${key} record fills ${named[0]}, which the event lacks`);
    fields[key] = [SYNTHETIC_VALUE];
  }
  const logsources = classes.map((cls) => {
    const ls: Record<string, string> = {};
    for (const k of ['category', 'product', 'service']) if (typeof cls.source[k] === 'string') ls[k] = cls.source[k] as string;
    if (os) ls.product = os;
    return ls;
  });
  return { fields, logsources, time: timeOf(scalars(ev, '@timestamp')[0]) };
}

// ---- Sysmon events (../shared/vendor-pairs/sysmon_operational.ndjson) --------------------------

/** Sysmon event id → Sigma log source categories (Sigma taxonomy appendix; pySigma-pipeline-sysmon). */
const SYSMON_CATEGORIES: Record<number, string[]> = {
  1: ['process_creation'],
  3: ['network_connection'],
  5: ['process_termination'],
  6: ['driver_load'],
  7: ['image_load'],
  11: ['file_event'],
  12: ['registry_add', 'registry_delete', 'registry_event'],
  13: ['registry_set', 'registry_event'],
  14: ['registry_rename', 'registry_event'],
  22: ['dns_query'],
  23: ['file_delete'],
  26: ['file_delete'],
};

export function sysmonToSigma(raw: unknown): SigmaRecord | null {
  const r = raw as { winlog?: { event_id?: unknown; computer_name?: unknown; event_data?: Record<string, unknown> }; '@timestamp'?: unknown };
  const id = Number(r.winlog?.event_id);
  const data = r.winlog?.event_data;
  if (!data || !Number.isInteger(id)) return null;
  const fields: Record<string, Scalar[]> = { EventID: [id] };
  for (const [k, v] of Object.entries(data)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') fields[k] = [v];
  if (typeof r.winlog?.computer_name === 'string') fields.Computer = [r.winlog.computer_name];
  const logsources = (SYSMON_CATEGORIES[id] ?? []).map((category) => ({ category, product: 'windows', service: 'sysmon' }));
  logsources.push({ product: 'windows', service: 'sysmon' } as { category: string; product: string; service: string });
  return { fields, logsources, time: timeOf(r['@timestamp']) };
}

// ---- the interpreter -------------------------------------------------------------------------

export const sigmaInterpreter: Interpreter<SigmaProgram, SigmaRecord> = {
  target: 'sigma',
  parse: (output) => parseSigma(output),
  fromEcs: (event, ctx: InterpreterContext) => ecsToSigma(event, ctx.mapping, ctx.ruleFields),
  fromVendor: (source, raw) => (source === 'windows/sysmon_operational' ? sysmonToSigma(raw) : null),
  run(program, records) {
    if (program.kind === 'correlation') return runCorrelation(program, records);
    const matches: number[][] = [];
    records.forEach((r, i) => {
      if (program.rules.some((rule) => ruleMatches(rule, r))) matches.push([i]);
    });
    return { matches };
  },
  // The steps of an ordered (or unordered) correlation are its base rules, in the order it names them; an
  // event_count counts events of any of its rules, so it has no steps to report.
  stepAccepts(program, records) {
    if (program.kind !== 'correlation' || program.type === 'event_count') return null;
    return records.map((r) => program.rules.map((rule) => ruleMatches(rule, r)));
  },
};
