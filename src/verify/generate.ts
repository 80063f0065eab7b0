// Events that probe a rule: for every predicate, values that satisfy it and values that just miss it
// (case variants, wildcard boundaries, a `?` with zero and two characters, any array position, a missing
// field, numeric and CIDR edges), each set on an otherwise matching event so its effect is visible.
// Deterministic: the same rule always gives the same events.
import { ecsField, expectedEventTypes, isNumericType } from '../ecs.js';
import type { EventFilter, Expr, Field, GlobPart, Literal, Pattern, Query, SequenceStep } from '../ir/nodes.js';
import { allExprs, walk } from '../ir/walk.js';
import { derive, groupsOf, otherAllowed, possibleValue, reconcile } from './consistent.js';

export type EcsEvent = Record<string, unknown>;

/** Decides whether one leaf predicate holds on an event; the verifier passes the native matcher's. */
export type AtomOracle = (atom: Expr, event: EcsEvent) => boolean;

export interface GenerateOptions {
  categoryField?: string;
  timestampField?: string;
  /** Upper bound on events per filter. */
  maxPerFilter?: number;
  /** Upper bound on the events that probe one `or` branch on its own (base and flips). */
  maxPerBranch?: number;
  oracle?: AtomOracle;
  /** Fields the whole rule names (every step of a sequence): derived fields kept in step with them. */
  named?: ReadonlySet<string>;
}

/** A set of events evaluated together (a sequence needs its events in one stream). */
export interface Scenario {
  name: string;
  events: EcsEvent[];
}

const MISSING = Symbol('missing');
type Value = unknown | typeof MISSING;

const BASE_TIME = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();

// ---- candidate values per predicate ---------------------------------------------------------

const swapCase = (s: string) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
const upperFirst = (s: string) => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

function globInstance(parts: readonly GlobPart[], star: string, one: string): string {
  return parts.map((p) => (p.t === 'lit' ? p.v : p.t === 'any' ? star : one)).join('');
}

/** Instances of a wildcard pattern: matching ones and ones that just miss. */
function patternValues(p: Pattern): { hit: string[]; miss: string[] } {
  if (p.kind === 'regex') {
    const inst = regexInstance(p.value);
    return inst === null ? { hit: [], miss: ['zz'] } : { hit: [inst], miss: [inst + '\u0001', inst.slice(1)] };
  }
  const parts = p.kind === 'glob' ? p.parts : partsOf(p);
  const hit = [globInstance(parts, '', 'q'), globInstance(parts, 'Ab1', 'Q')];
  const miss: string[] = [];
  if (parts.some((x) => x.t === 'one')) {
    miss.push(globInstance(parts, '', '')); // `?` needs exactly one character
    if (!parts.some((x) => x.t === 'any')) miss.push(globInstance(parts, '', 'qq'));
  }
  const lits = parts.filter((x): x is { t: 'lit'; v: string } => x.t === 'lit');
  if (lits.length) {
    const first = lits[0]!;
    miss.push(globInstance(parts.map((x) => (x === first ? { t: 'lit', v: first.v.slice(1) } : x)), '', 'q'));
    if (parts[0]?.t === 'lit') miss.push('x' + hit[0]);
    if (parts[parts.length - 1]?.t === 'lit') miss.push(hit[0] + 'x');
  }
  return { hit, miss };
}

function partsOf(p: Exclude<Pattern, { kind: 'glob' | 'regex' }>): GlobPart[] {
  const lit: GlobPart[] = p.text ? [{ t: 'lit', v: p.text }] : [];
  switch (p.kind) {
    case 'exact':
      return lit;
    case 'prefix':
      return [...lit, { t: 'any' }];
    case 'suffix':
      return [{ t: 'any' }, ...lit];
    case 'contains':
      return [{ t: 'any' }, ...lit, { t: 'any' }];
  }
}

/**
 * One string a (Lucene) regular expression matches, for the common shapes rules use: literals, escapes,
 * classes, `.`, groups with alternatives, and quantifiers. Null when the expression is beyond that.
 */
export function regexInstance(src: string): string | null {
  let i = 0;
  const fail = () => null;
  const parseAlt = (): string | null => {
    const first = parseSeq();
    if (first === null) return null;
    while (src[i] === '|') {
      i++;
      if (parseSeq() === null) return null;
    }
    return first;
  };
  const parseSeq = (): string | null => {
    let out = '';
    while (i < src.length && src[i] !== '|' && src[i] !== ')') {
      const atom = parseAtom();
      if (atom === null) return null;
      const q = src[i];
      if (q === '*' || q === '?') {
        i++;
        continue;
      }
      if (q === '+') {
        i++;
        out += atom;
        continue;
      }
      if (q === '{') {
        const m = /^\{(\d+)(,\d*)?\}/.exec(src.slice(i));
        if (!m) return null;
        i += m[0].length;
        out += atom.repeat(Number(m[1]));
        continue;
      }
      out += atom;
    }
    return out;
  };
  const parseAtom = (): string | null => {
    const c = src[i++];
    if (c === undefined) return fail();
    if (c === '\\') return src[i++] ?? null;
    if (c === '.') return 'a';
    if (c === '(') {
      const inner = parseAlt();
      if (src[i++] !== ')') return null;
      return inner;
    }
    if (c === '[') {
      const end = src.indexOf(']', i + 1);
      if (end < 0) return null;
      const body = src.slice(i, end);
      i = end + 1;
      if (body.startsWith('^')) return body.includes('a') ? 'Z' : 'a';
      const first = body[0] === '\\' ? body[1] : body[0];
      return first ?? null;
    }
    if ('*+?{}|)'.includes(c)) return null;
    if ('"<>#@&~'.includes(c)) return null; // Lucene optional operators: not worth guessing
    return c;
  };
  const out = parseAlt();
  return out !== null && i === src.length ? out : null;
}

function literalOf(e: Expr): Literal | null {
  return e.kind === 'Literal' ? e : null;
}

/** The field a predicate tests. */
function fieldOf(atom: Expr): Field | null {
  for (const x of walk(atom)) if (x.kind === 'Field') return x;
  return null;
}

function numberNeighbours(n: number): number[] {
  return Number.isInteger(n) ? [n, n - 1, n + 1] : [n, n - 0.5, n + 0.5];
}

function ipv4Edges(cidr: string): string[] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)(?:\/(\d+))?$/.exec(cidr);
  if (!m) return [];
  const bits = m[5] === undefined ? 32 : Number(m[5]);
  const addr = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const net = (addr & mask) >>> 0;
  const last = (net | (~mask >>> 0)) >>> 0;
  const fmt = (v: number) => [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
  return [net, last, (net - 1) >>> 0, (last + 1) >>> 0].map(fmt);
}

function ipv6Edges(cidr: string): string[] {
  const [addr] = cidr.split('/');
  if (!addr || !addr.includes(':')) return [];
  const base = addr.endsWith('::') ? addr : addr;
  return [base.endsWith('::') ? `${base}1` : base, 'ffff::1'];
}

/**
 * Field values that bring an expression over one field near a constant: arithmetic is inverted
 * (`f + 1 == 1000` → 999), string functions get values shaped for them (`substring(f, 0, 3) == "svc"`).
 */
function solve(e: Expr, target: Literal): unknown[] {
  const n = typeof target.value === 'number' ? target.value : null;
  const s = typeof target.value === 'string' ? target.value : null;
  if (e.kind === 'Arith' && n !== null) {
    const c = literalOf(e.right)?.value;
    if (typeof c === 'number' && c !== 0) {
      const inverse = { '+': n - c, '-': n + c, '*': n / c, '/': n * c, '%': c * 5 + n }[e.op];
      return numberNeighbours(inverse).concat([inverse * 2, inverse * 3]);
    }
  }
  if (e.kind === 'Call') {
    const lits = e.args.slice(1).map((a) => literalOf(a)?.value);
    switch (e.name) {
      case 'length':
        return n === null ? [] : ['a'.repeat(Math.max(0, n)), 'a'.repeat(Math.max(0, n + 1)), 'a'.repeat(Math.max(0, n - 1))];
      case 'substring':
        return s === null ? [] : [s + 'abcdefghijklmnop', s, swapCase(s) + 'x'];
      case 'between':
        return s === null ? [] : [`${lits[0] ?? ''}${s}${lits[1] ?? ''}`, `${lits[0] ?? ''}${s}`];
      case 'indexOf':
        return typeof lits[0] === 'string' ? [`${'a'.repeat(Math.max(0, n ?? 0))}${lits[0]}`, 'zzz'] : [];
      case 'number':
      case 'string':
        return n !== null ? numberNeighbours(n).flatMap((x) => [x, String(x)]) : s !== null ? [s, Number(s)] : [];
    }
  }
  return numberNeighbours(n ?? 0).concat([1000, 4, 3]);
}

/** Values that make an atom true and values that just miss, for the field it tests. */
function candidates(atom: Expr): { hit: Value[]; miss: Value[] } {
  const hit: Value[] = [];
  const miss: Value[] = [MISSING];
  const str = (v: Literal['value']) => (typeof v === 'string' ? v : null);
  switch (atom.kind) {
    case 'Compare': {
      const lit = literalOf(atom.right) ?? literalOf(atom.left);
      const other = literalOf(atom.right) ? atom.left : atom.right;
      if (!lit) return { hit: numberNeighbours(0).concat([1000, 4, 3]), miss };
      if (other.kind !== 'Field') return { hit: solve(other, lit), miss };
      if (typeof lit.value === 'number') {
        hit.push(...numberNeighbours(lit.value));
        miss.push(String(lit.value));
      } else if (typeof lit.value === 'string') {
        hit.push(lit.value, lit.value + 'a');
        miss.push(swapCase(lit.value), lit.value.slice(0, -1), '');
      } else if (typeof lit.value === 'boolean') hit.push(lit.value, !lit.value);
      return { hit, miss };
    }
    case 'In':
      for (const v of atom.values) {
        const l = literalOf(v);
        if (!l) continue;
        hit.push(l.value);
        const s = str(l.value);
        if (s !== null) miss.push(swapCase(s), upperFirst(s));
        if (typeof l.value === 'number') miss.push(l.value + 1);
      }
      miss.push('zz-not-listed');
      return { hit, miss };
    case 'Match':
      for (const p of atom.patterns) {
        const v = patternValues(p);
        hit.push(...v.hit, ...(atom.caseInsensitive ? v.hit.map(swapCase) : []));
        miss.push(...v.miss, ...(atom.caseInsensitive ? [] : v.hit.map(swapCase)));
      }
      return { hit, miss };
    case 'Exists':
      return { hit: ['present'], miss };
    case 'Call': {
      const lits = atom.args.slice(1).map(literalOf).filter((l): l is Literal => l !== null);
      if (atom.name === 'cidrMatch') {
        for (const l of lits) {
          const edges = typeof l.value === 'string' ? (l.value.includes(':') ? ipv6Edges(l.value) : ipv4Edges(l.value)) : [];
          hit.push(...edges.slice(0, 2));
          miss.push(...edges.slice(2));
        }
        return { hit, miss };
      }
      const sub = lits.map((l) => str(l.value)).find((s) => s !== null) ?? 'x';
      const shapes: Record<string, (s: string) => string> = {
        startsWith: (s) => s + 'tail',
        endsWith: (s) => 'head' + s,
        stringContains: (s) => 'a' + s + 'b',
        indexOf: (s) => 'a' + s,
        between: (s) => s + 'mid',
      };
      const make = shapes[atom.name];
      if (make) {
        hit.push(make(sub), ...(atom.caseInsensitive ? [swapCase(make(sub))] : []));
        miss.push(make(sub.slice(1)), ...(atom.caseInsensitive ? [] : [swapCase(make(sub))]));
      } else hit.push('abcdefghijklmnop', 'svc', '7', 7, 'a.exe', '');
      return { hit, miss };
    }
    default:
      return { hit: ['x'], miss };
  }
}

// ---- events ---------------------------------------------------------------------------------

function setPath(event: EcsEvent, name: string, value: Value) {
  if (value === MISSING) delete event[name];
  else event[name] = value;
}

/** ECS numeric fields hold numbers: keep generated values in the field's type so both sides see real data. */
function typed(field: Field, v: Value): Value {
  if (v === MISSING) return v;
  const def = ecsField(field.name);
  if (def && isNumericType(def.type) && typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
}

interface Atom {
  node: Expr;
  field: Field;
  want: boolean;
}

/** Which branch of an `or` holds (the first unless chosen), the others false. */
type BranchChoice = ReadonlyMap<Expr, number>;

/** Leaf predicates with the truth value each must have for the whole condition to hold. */
function atomsOf(e: Expr, want: boolean, out: Atom[], choice: BranchChoice = new Map()) {
  switch (e.kind) {
    case 'And':
      if (want) for (const a of e.args) atomsOf(a, true, out, choice);
      else if (e.args[0]) atomsOf(e.args[0], false, out, choice);
      return;
    case 'Or': {
      const pick = choice.get(e) ?? 0;
      e.args.forEach((a, i) => atomsOf(a, want && i === pick, out, choice));
      return;
    }
    case 'Not':
      atomsOf(e.arg, !want, out, choice);
      return;
    case 'Literal':
      return;
    default: {
      const field = fieldOf(e);
      if (field) out.push({ node: e, field, want });
    }
  }
}

/** All leaf predicates, whatever their required truth value. */
function allAtoms(e: Expr): { node: Expr; field: Field }[] {
  const out: { node: Expr; field: Field }[] = [];
  const visit = (x: Expr) => {
    if (x.kind === 'And' || x.kind === 'Or') x.args.forEach(visit);
    else if (x.kind === 'Not') visit(x.arg);
    else if (x.kind !== 'Literal') {
      const f = fieldOf(x);
      if (f) out.push({ node: x, field: f });
    }
  };
  visit(e);
  return out;
}

/**
 * Every way to make one `or` branch the one that holds (a nested `or` through the branches above it),
 * except the first branches everywhere, which the main base event already takes.
 */
function branchChoices(e: Expr): { or: Extract<Expr, { kind: 'Or' }>; branch: number; choice: BranchChoice }[] {
  const out: ReturnType<typeof branchChoices> = [];
  const visit = (x: Expr, want: boolean, chain: Map<Expr, number>) => {
    switch (x.kind) {
      case 'And':
        if (want) x.args.forEach((a) => visit(a, true, chain));
        else if (x.args[0]) visit(x.args[0], false, chain);
        return;
      case 'Or':
        if (!want) return x.args.forEach((a) => visit(a, false, chain));
        x.args.forEach((a, k) => {
          const choice = new Map(chain).set(x, k);
          if ([...choice.values()].some((v) => v !== 0)) out.push({ or: x, branch: k, choice });
          visit(a, true, choice);
        });
        return;
      case 'Not':
        visit(x.arg, !want, chain);
    }
  };
  visit(e, true, new Map());
  return out;
}

/**
 * An event meant to satisfy the filter, and variants that each change one field; then, for every `or`
 * branch, an event where that branch alone holds and variants that change one field of that branch
 * (otherwise a base meeting the first branch hides every change inside the others).
 */
export function filterEvents(filter: EventFilter, opts: GenerateOptions = {}, seedTime = BASE_TIME): EcsEvent[] {
  const categoryField = opts.categoryField ?? 'event.category';
  const timestampField = opts.timestampField ?? '@timestamp';
  const max = opts.maxPerFilter ?? 400;
  const fields = new Map<string, { field: Field; hit: Value[]; miss: Value[] }>();
  for (const { node, field } of allAtoms(filter.where)) {
    const c = candidates(node);
    const entry = fields.get(field.name) ?? { field, hit: [], miss: [] };
    // Values ECS never holds (an upper-case event.category) give events no product records: near misses
    // among the field's own values stand in for them.
    const miss = c.miss.filter((v) => possibleValue(field.name, v));
    if (miss.length < c.miss.length) miss.push(...otherAllowed(field.name, c.hit));
    entry.hit.push(...c.hit.map((v) => typed(field, v)));
    entry.miss.push(...miss.map((v) => typed(field, v)));
    fields.set(field.name, entry);
  }
  const named = new Set([...fields.keys(), ...(opts.named ?? [])]);
  // Fields ECS derives from one another (process.name of process.executable...) change together.
  const grouped = new Set(groupsOf(named).flatMap((g) => Object.values(g.f)));
  const vary = (e: EcsEvent, name: string) => (grouped.has(name) ? derive(e, name, named) : e);

  /** Per field, the first candidate under which every wanted predicate on it has the truth value it needs. */
  const baseFor = (wanted: Atom[]): EcsEvent => {
    let base: EcsEvent = { [timestampField]: iso(seedTime) };
    if (filter.category !== null) base[categoryField] = filter.category;
    for (const [name, f] of fields) {
      const atoms = wanted.filter((a) => a.field.name === name);
      const pool = [...f.hit, ...f.miss];
      let chosen: Value = pool[0] ?? MISSING;
      if (opts.oracle) {
        const fitsAll = (v: Value) =>
          atoms.every((a) => {
            const probe = { ...base };
            setPath(probe, name, v);
            return opts.oracle!(a.node, probe) === a.want;
          });
        // Several predicates on one field may need an array (one element each) or one string meeting both.
        const strings = f.hit.filter((v): v is string => typeof v === 'string');
        // An array with, for each predicate that must hold, the first candidate meeting that predicate alone
        // (process.args : "disable" and process.args : "firewall" and process.args : "set").
        const each = () => {
          const picks: Value[] = [];
          for (const a of atoms.filter((x) => x.want)) {
            const v = pool.find((c) => {
              const probe = { ...base };
              setPath(probe, name, c);
              return opts.oracle!(a.node, probe);
            });
            if (v !== undefined && !picks.includes(v)) picks.push(v);
          }
          return picks;
        };
        const combos = function* () {
          yield* pool;
          const picks = each();
          if (picks.length > 2) yield picks;
          for (const x of f.hit) for (const y of f.hit) if (x !== y) yield [x, y];
          for (const x of strings) for (const y of strings) if (x !== y) yield x + y;
        };
        for (const v of combos())
          if (fitsAll(v)) {
            chosen = v;
            break;
          }
      } else {
        const a = atoms[0];
        chosen = a ? (a.want ? f.hit[0] : f.miss.find((v) => v !== MISSING) ?? MISSING) ?? MISSING : chosen;
      }
      setPath(base, name, chosen);
    }
    if (grouped.size) {
      const ok = (e: EcsEvent) => !opts.oracle || wanted.every((a) => opts.oracle!(a.node, e) === a.want);
      base = reconcile(base, named, ok);
    }
    return base;
  };

  const out: EcsEvent[] = [];
  const seen = new Set<string>();
  const add = (e: EcsEvent, limit: number) => {
    const key = JSON.stringify(e);
    if (!seen.has(key) && out.length < limit) {
      seen.add(key);
      out.push(e);
    }
  };
  const flips = (base: EcsEvent, names: Iterable<string>, limit: number) => {
    for (const name of names) {
      const f = fields.get(name)!;
      for (const v of [...f.hit, ...f.miss]) {
        const e = { ...base };
        setPath(e, name, v);
        add(vary(e, name), limit);
      }
      // Any array position: a non-matching element first, then the candidate; and an explicit null.
      const decoy = f.miss.find((v) => v !== MISSING && typeof v !== 'object');
      for (const v of f.hit.slice(0, 2)) add(vary({ ...base, [name]: [decoy ?? 'decoy', v] }, name), limit);
      add(vary({ ...base, [name]: null }, name), limit);
    }
  };

  const wanted: Atom[] = [];
  atomsOf(filter.where, true, wanted);
  const base = baseFor(wanted);
  add(base, max);
  flips(base, fields.keys(), max);
  if (filter.category !== null) add({ ...base, [categoryField]: 'other-category' }, max);
  // Elastic's events carry an event.type ECS expects with their category: a rule that names none meets each, and a
  // target's source may hold only some of them (a table of process creations). Not with an action or event code,
  // which decide the type in Elastic's pipelines (a modification is no creation).
  if (filter.category !== null && categoryField === 'event.category' && !['event.type', 'event.action', 'event.code'].some((f) => named.has(f)))
    for (const type of expectedEventTypes(filter.category)) add({ ...base, 'event.type': type }, max);

  // Each branch alone: its base only when the oracle confirms that branch holds and its siblings do not.
  const budget = opts.maxPerBranch ?? BRANCH_EVENTS;
  if (!opts.oracle || budget === 0) return out;
  const choices = branchChoices(filter.where);
  const perBranch = Math.max(1, Math.floor(budget / Math.ceil(choices.length / 8)));
  for (const { or, branch, choice } of choices) {
    const wantedHere: Atom[] = [];
    atomsOf(filter.where, true, wantedHere, choice);
    const alone = baseFor(wantedHere);
    const holds = or.args.every((a, k) => opts.oracle!(a, alone) === (k === branch)) && opts.oracle(filter.where, alone);
    if (!holds) continue;
    const limit = out.length + perBranch;
    add(alone, limit);
    flips(alone, new Set(allAtoms(or.args[branch]!).map((a) => a.field.name)), limit);
  }
  return out;
}

/** Events per `or` branch (its base and the flips of its own fields), shared out when a filter has more than 8 branches. */
const BRANCH_EVENTS = 40;

/** Events for an event query, or scenarios for a sequence: orderings, key mismatches and maxspan edges. */
export function generate(q: Query, opts: GenerateOptions = {}): Scenario[] {
  const b = q.body;
  opts = { ...opts, named: new Set([...(opts.named ?? []), ...[...allExprs(q)].flatMap((x) => (x.kind === 'Field' ? [x.name] : []))]) };
  if (b.kind === 'EventQuery') return [{ name: 'probes', events: filterEvents(b.filter, opts) }];
  const timestampField = opts.timestampField ?? '@timestamp';
  const steps: { filter: EventFilter; keys: readonly Expr[]; step: SequenceStep | null }[] =
    b.kind === 'Sequence'
      ? b.steps.flatMap((s) => Array.from({ length: s.runs ?? 1 }, () => ({ filter: s.filter, keys: [...b.by, ...s.by], step: s })))
      : b.steps.map((s) => ({ filter: s.filter, keys: [...b.by, ...s.by], step: null }));
  const span = b.kind === 'Sequence' && b.maxspan ? b.maxspan.ms : 60_000;
  const gap = Math.max(1, Math.floor(span / Math.max(1, steps.length)));
  const at = (i: number) => BASE_TIME + i * gap;
  const all = steps.map((s, i) => withKeys(filterEvents(s.filter, { ...opts, maxPerFilter: 1, maxPerBranch: 0 }, at(i))[0]!, s.keys, 'k1'));
  // A missing-event term is satisfied by the absence of its event; its event is a scenario of its own.
  const isMissing = (i: number) => steps[i]!.step?.missing === true;
  const matching = all.filter((_, i) => !isMissing(i));
  const stamp = (e: EcsEvent, t: number) => ({ ...e, [timestampField]: iso(t) });
  const scenarios: Scenario[] = [{ name: 'in order', events: matching }];
  if (all.length !== matching.length) scenarios.push({ name: 'missing event present', events: all });
  if (matching.length > 1) {
    scenarios.push({ name: 'reversed', events: [...matching].reverse().map((e, i) => stamp(e, at(i))) });
    scenarios.push({ name: 'key mismatch', events: matching.map((e, i) => (i === matching.length - 1 ? withKeys(e, steps[i]!.keys, 'k2') : e)) });
    // Elasticsearch joins no event without a value for a (non-optional) key; a target's empty string or null
    // group must not either. Each key position left empty on every step in turn.
    const positions = Math.max(...steps.map((s) => s.keys.length));
    // With several keys, each on its own differs in the last event: a target that drops one comparison joins them.
    for (let k = 0; positions > 1 && k < positions; k++) {
      const key = steps[matching.length - 1]?.keys[k];
      if (key?.kind !== 'Field') continue;
      scenarios.push({ name: `key ${k + 1} mismatch`, events: matching.map((e, i) => (i === matching.length - 1 ? withKeys(e, [key], 'k2') : e)) });
    }
    for (let k = 0; k < positions; k++) {
      if (!steps.every((s) => s.keys[k]?.kind === 'Field')) continue;
      scenarios.push({ name: `key ${k + 1} missing`, events: matching.map((e, i) => withoutKey(e, steps[i]!.keys[k] as Field)) });
    }
    // One host under two names (renamed, or two sensors' spellings), or two hosts under one name: a target that
    // joins on the other field of the pair splits or merges what Elasticsearch joins.
    for (const [key, other] of HOST_FIELDS) {
      if (!steps.every((s) => s.keys.some((k) => k.kind === 'Field' && k.name === key))) continue;
      if (steps.some((s) => s.keys.some((k) => k.kind === 'Field' && k.name === other))) continue;
      scenarios.push({ name: `${key} kept, ${other} differs`, events: matching.map((e, i) => ({ ...e, [other]: `host-${i + 1}` })) });
    }
  }
  if (b.kind === 'Sequence' && b.maxspan && matching.length > 1) {
    const last = matching.length - 1;
    scenarios.push({ name: 'at maxspan', events: matching.map((e, i) => (i === last ? stamp(e, BASE_TIME + b.maxspan!.ms) : e)) });
    scenarios.push({ name: 'beyond maxspan', events: matching.map((e, i) => (i === last ? stamp(e, BASE_TIME + b.maxspan!.ms + 1) : e)) });
  }
  if (b.kind === 'Sequence' && b.until && matching.length > 1) {
    const until = withKeys(filterEvents(b.until.filter, { ...opts, maxPerFilter: 1, maxPerBranch: 0 }, at(0) + 1)[0]!, [...b.by, ...b.until.by], 'k1');
    scenarios.push({ name: 'until between', events: [matching[0]!, until, ...matching.slice(1)] });
  }
  // Each step's near misses in place of its matching event.
  steps.forEach((s, i) => {
    for (const [n, probe] of filterEvents(s.filter, { ...opts, maxPerFilter: 12, maxPerBranch: 6 }, at(i)).slice(1).entries())
      scenarios.push({ name: `step ${i + 1} probe ${n + 1}`, events: all.map((e, j) => (j === i ? withKeys(probe, s.keys, 'k1') : e)).filter((_, j) => j === i || !isMissing(j)) });
  });
  return scenarios;
}

const HOST_FIELDS = [
  ['host.id', 'host.name'],
  ['host.name', 'host.id'],
] as const;

function withoutKey(e: EcsEvent, key: Field): EcsEvent {
  const out = { ...e };
  delete out[key.name];
  return out;
}

/** Set every join key that is a plain field to the same value, so the events of a scenario correlate. */
function withKeys(e: EcsEvent, keys: readonly Expr[], value: 'k1' | 'k2'): EcsEvent {
  const out = { ...e };
  for (const k of keys) if (k.kind === 'Field') out[k.name] = typed(k, value === 'k1' ? '1001' : '1002');
  return out;
}
