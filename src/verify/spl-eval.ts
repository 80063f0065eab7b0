// Runs parsed SPL (spl-parse.ts) over events with Splunk's documented semantics, for the verifier. Shares
// nothing with the emitter. Sources: Splunk Search Manual and SPL Search Reference as summarised in
// ../shared/research/target-syntax.md §4:
//  - search: `field=value` compares the whole value case-insensitively, `*` matches any run of characters,
//    a multivalue field matches when any value does, a missing field never matches; `NOT x` is the plain
//    complement (true for a missing field); `field!=value` needs the field (§4.4); CIDR values match IPv4
//    addresses in the block.
//  - eval/where: `==` and match() are case-sensitive (unless `(?i)`), comparisons of two numbers are
//    numeric; a missing field is null, a comparison with null is null, and AND/OR/NOT are three-valued;
//    where keeps an event only when the condition is true.
//  - tstats fills missing by-fields with fillnull_value; drop_dm_object_name strips the dataset prefix.
// Assumption (not documented precisely by Splunk): eval comparisons, match(), len(), tonumber() and
// arithmetic on a multivalue field work value by value, and a comparison holds when any value satisfies it.
import type { Command, EvalExpr, SearchExpr, SearchValue, SplPipeline } from './spl-parse.js';

export type SplValue = string | string[];
/** An event as Splunk holds it: string fields (multivalue as arrays) and `_time` in seconds. */
export type SplEvent = Record<string, SplValue | number>;

export class SplEvalError extends Error {}

type V = string | number | boolean | null | string[];

const values = (ev: SplEvent, field: string): string[] | null => {
  const v = ev[field];
  if (v === undefined || v === null) return null;
  return Array.isArray(v) ? v : [String(v)];
};
const isNum = (s: string) => /^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(s);

// ---------------------------------------------------------------- search

function wildcard(pattern: string, caseSensitive: boolean): RegExp {
  const body = pattern.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '*' ? '[\\s\\S]*' : `\\${c}`));
  return new RegExp(`^${body}$`, caseSensitive ? 'u' : 'iu');
}

function ipv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

/** An IPv6 address as a 128-bit number (`::` compression and a dotted IPv4 tail allowed), or null. */
function ipv6(s: string): bigint | null {
  const halves = s.split('::');
  if (!s.includes(':') || halves.length > 2) return null;
  const groups = halves.map((h) => (h ? h.split(':') : []));
  const last = groups[groups.length - 1]!;
  const v4 = last.length ? ipv4(last[last.length - 1]!) : null;
  if (v4 !== null) last.splice(-1, 1, (v4 >>> 16).toString(16), (v4 & 0xffff).toString(16));
  const missing = 8 - groups.reduce((n, g) => n + g.length, 0);
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...groups[0]!, ...Array<string>(missing).fill('0'), ...(groups[1] ?? [])];
  if (all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return null;
  return all.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Splunk's cidrmatch: IPv4 or IPv6; an address of the other family is outside the network. */
function cidrContains(cidr: string, ip: string): boolean | null {
  const m = /^([\d.]+|[0-9a-f:.]+)\/(\d{1,3})$/i.exec(cidr);
  if (!m) return null;
  const bits = Number(m[2]);
  const v4 = ipv4(m[1]!);
  if (v4 !== null) {
    if (bits > 32) return null;
    const addr = ipv4(ip);
    if (addr === null) return false;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    return ((v4 & mask) >>> 0) === ((addr & mask) >>> 0);
  }
  const v6 = ipv6(m[1]!);
  if (v6 === null || bits > 128) return null;
  const addr = ipv6(ip);
  if (addr === null) return false;
  const shift = BigInt(128 - bits);
  return v6 >> shift === addr >> shift;
}

function valueMatches(actual: string, v: SearchValue): boolean {
  if (v.text.includes('/') && !v.text.includes('*')) {
    const c = cidrContains(v.text, actual);
    if (c !== null) return c;
  }
  if (isNum(actual) && isNum(v.text) && !v.text.includes('*')) return Number(actual) === Number(v.text);
  return wildcard(v.text, v.caseSensitive === true).test(actual);
}

export function searchMatches(e: SearchExpr, ev: SplEvent): boolean {
  switch (e.kind) {
    case 'and':
      return e.args.every((a) => searchMatches(a, ev));
    case 'or':
      return e.args.some((a) => searchMatches(a, ev));
    case 'not':
      return !searchMatches(e.arg, ev);
    case 'in': {
      const vs = values(ev, e.field);
      return !!vs && vs.some((a) => e.values.some((v) => valueMatches(a, v)));
    }
    case 'compare': {
      const vs = values(ev, e.field);
      if (!vs) return false;
      switch (e.op) {
        case '=':
          return vs.some((a) => valueMatches(a, e.value));
        case '!=':
          return !vs.some((a) => valueMatches(a, e.value));
        default: {
          const n = Number(e.value.text);
          return vs.some((a) => isNum(a) && isNum(e.value.text) && cmp(Number(a), n, e.op));
        }
      }
    }
    case 'macro':
      throw new SplEvalError(`macro \`${e.name}\` cannot be evaluated`);
  }
}

function cmp(a: number | string, b: number | string, op: string): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
  throw new SplEvalError(`unknown comparison ${op}`);
}

// ---------------------------------------------------------------- eval

/** PCRE as Splunk reads it, for the constructs a JS RegExp can express; anything else is refused. */
export function pcreToJs(re: string): RegExp {
  let flags = 'u';
  let body = re;
  const lead = /^\(\?([a-z]+)\)/.exec(body);
  if (lead) {
    for (const f of lead[1]!) {
      if (f !== 'i' && f !== 's') throw new SplEvalError(`regex flag ${f} is not supported`);
      flags += f;
    }
    body = body.slice(lead[0].length);
  }
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    if (n === undefined) throw new SplEvalError('regex ends with a backslash');
    if (n === 'z') out += '(?![\\s\\S])';
    else if (n === 'A') out += '(?<![\\s\\S])';
    else if (n === 'x' && body[i + 1] === '{') {
      const end = body.indexOf('}', i);
      out += `\\u{${body.slice(i + 2, end)}}`;
      i = end;
    } else if (/[A-Za-z0-9]/.test(n) && !/[dDwWsSbBnrt]/.test(n)) throw new SplEvalError(`regex escape \\${n} is not supported`);
    else if (/[A-Za-z0-9^$\\.*+?()[\]{}|\/-]/.test(n)) out += `\\${n}`;
    // PCRE escapes any punctuation; JS (unicode mode) only its own syntax characters.
    else out += `\\u{${n.codePointAt(0)!.toString(16)}}`;
  }
  // PCRE's `$` also matches before a final newline.
  out = out.replace(/(^|[^\\])\$/g, '$1(?=\\n?(?![\\s\\S]))');
  try {
    return new RegExp(out, flags);
  } catch (e) {
    throw new SplEvalError(`regex ${JSON.stringify(re)} is not evaluated: ${(e as Error).message}`);
  }
}

const truthy = (v: V) => v === true;
const any = (v: V, f: (s: string) => boolean | null): boolean | null => {
  if (v === null) return null;
  const xs = Array.isArray(v) ? v : [String(v)];
  const rs = xs.map(f);
  return rs.some((r) => r === true) ? true : rs.some((r) => r === null) ? null : false;
};

function compareValues(a: V, b: V, op: string): boolean | null {
  if (a === null || b === null) return null;
  if (Array.isArray(a)) return any(a, (x) => compareValues(x, b, op));
  if (Array.isArray(b)) return any(b, (y) => compareValues(a, y, op));
  const an = typeof a === 'number' ? a : typeof a === 'string' && isNum(a) ? Number(a) : null;
  const bn = typeof b === 'number' ? b : typeof b === 'string' && isNum(b) ? Number(b) : null;
  if (an !== null && bn !== null) return cmp(an, bn, op);
  return cmp(String(a), String(b), op);
}

export function evalValue(e: EvalExpr, ev: SplEvent): V {
  switch (e.kind) {
    case 'number':
      return e.value;
    case 'string':
      return e.value;
    case 'field': {
      const v = ev[e.name];
      return v === undefined ? null : Array.isArray(v) ? (v.length === 1 ? v[0]! : v) : typeof v === 'number' ? v : v;
    }
    case 'and': {
      const vs = e.args.map((a) => evalValue(a, ev));
      return vs.some((v) => v === false) ? false : vs.some((v) => v !== true) ? null : true;
    }
    case 'or': {
      const vs = e.args.map((a) => evalValue(a, ev));
      return vs.some((v) => v === true) ? true : vs.some((v) => v !== false) ? null : false;
    }
    case 'not': {
      const v = evalValue(e.arg, ev);
      return v === null ? null : !truthy(v);
    }
    case 'compare':
      return compareValues(evalValue(e.left, ev), evalValue(e.right, ev), e.op);
    case 'neg': {
      const v = num(evalValue(e.arg, ev));
      return v === null ? null : -v;
    }
    case 'binary': {
      const l = evalValue(e.left, ev);
      const r = evalValue(e.right, ev);
      if (l === null || r === null) return null;
      // Multivalue operands: element by element (the any-value assumption above).
      if (Array.isArray(l) || Array.isArray(r)) {
        const ls = Array.isArray(l) ? l : [l];
        const rs = Array.isArray(r) ? r : [r];
        const out = ls.flatMap((a) => rs.map((b) => evalValue({ kind: 'binary', op: e.op, left: lit(a), right: lit(b) }, ev)));
        return out.filter((x): x is string | number => x !== null && !Array.isArray(x) && typeof x !== 'boolean').map(String);
      }
      if (e.op === '.') return `${l}${r}`;
      const a = num(l);
      const b = num(r);
      if (a === null || b === null) return e.op === '+' ? `${l}${r}` : null;
      switch (e.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return b === 0 ? null : a / b;
        case '%':
          return b === 0 ? null : a % b;
      }
      return null;
    }
    case 'call':
      return call(e as Extract<EvalExpr, { kind: 'call' }>, ev);
  }
}

const lit = (v: string | number | boolean): EvalExpr => (typeof v === 'number' ? { kind: 'number', value: v } : { kind: 'string', value: String(v) });

function num(v: V): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && isNum(v)) return Number(v);
  return null;
}

function call(e: Extract<EvalExpr, { kind: 'call' }>, ev: SplEvent): V {
  const arg = (i: number) => evalValue(e.args[i]!, ev);
  switch (e.name.toLowerCase()) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'null':
      return null;
    case 'isnull':
      return arg(0) === null;
    case 'isnotnull':
      return arg(0) !== null;
    case 'match': {
      const re = arg(1);
      if (typeof re !== 'string') throw new SplEvalError('match() needs a string regex');
      const rx = pcreToJs(re);
      return any(arg(0), (s) => rx.test(s));
    }
    case 'like': {
      const p = arg(1);
      if (typeof p !== 'string') throw new SplEvalError('like() needs a string pattern');
      const rx = new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '[\\s\\S]*').replace(/_/g, '[\\s\\S]')}$`, 'u');
      return any(arg(0), (s) => rx.test(s));
    }
    case 'cidrmatch': {
      const c = arg(0);
      if (typeof c !== 'string') throw new SplEvalError('cidrmatch() needs a CIDR string');
      return any(arg(1), (s) => cidrContains(c, s));
    }
    case 'tonumber': {
      const v = arg(0);
      return Array.isArray(v) ? v.map((x) => (isNum(x) ? String(Number(x)) : '')).filter(Boolean) : num(v);
    }
    case 'lower': {
      const v = arg(0);
      return v === null ? null : Array.isArray(v) ? v.map((x) => x.toLowerCase()) : String(v).toLowerCase();
    }
    case 'upper': {
      const v = arg(0);
      return v === null ? null : Array.isArray(v) ? v.map((x) => x.toUpperCase()) : String(v).toUpperCase();
    }
    case 'len': {
      const v = arg(0);
      return v === null ? null : Array.isArray(v) ? v.map((x) => String([...x].length)) : [...String(v)].length;
    }
    case 'case':
      for (let i = 0; i + 1 < e.args.length; i += 2) if (truthy(arg(i))) return arg(i + 1);
      return null;
    case 'if':
      return truthy(arg(0)) ? arg(1) : arg(2);
    case 'coalesce':
      for (let i = 0; i < e.args.length; i++) if (arg(i) !== null) return arg(i);
      return null;
    case 'in': {
      const v = arg(0);
      return any(v, (s) => e.args.slice(1).some((_, i) => String(arg(i + 1)) === s));
    }
    case 'split': {
      const v = arg(0);
      const sep = arg(1);
      if (v === null || typeof sep !== 'string') return null;
      return String(v).split(sep);
    }
    case 'mvindex': {
      const v = arg(0);
      const i = num(arg(1));
      if (v === null || i === null) return null;
      const xs = Array.isArray(v) ? v : [String(v)];
      return xs[i < 0 ? xs.length + i : i] ?? null;
    }
    case 'mvcount': {
      const v = arg(0);
      return v === null ? null : Array.isArray(v) ? v.length : 1;
    }
  }
  throw new SplEvalError(`eval function ${e.name}() is not evaluated`);
}

// ---------------------------------------------------------------- commands

function transaction(c: Extract<Command, { kind: 'transaction' }>, events: SplEvent[]): SplEvent[] {
  const sorted = [...events].sort((a, b) => Number(a._time ?? 0) - Number(b._time ?? 0));
  const maxspan = c.options.maxspan ? Number(/^(\d+)/.exec(c.options.maxspan)![1]) * { s: 1, m: 60, h: 3600, d: 86400 }[c.options.maxspan.slice(-1) as 's']! : Infinity;
  const open = new Map<string, SplEvent[]>();
  const done: SplEvent[][] = [];
  for (const ev of sorted) {
    const key = c.fields.map((f) => values(ev, f)?.join('\u0000') ?? null);
    if (key.some((k) => k === null)) continue;
    const k = JSON.stringify(key);
    let cur = open.get(k);
    const starts = c.options.startswith ? truthy(evalValue(c.options.startswith, ev)) : false;
    if (cur && (starts || Number(ev._time ?? 0) - Number(cur[0]!._time ?? 0) > maxspan)) {
      done.push(cur);
      cur = undefined;
    }
    if (!cur) open.set(k, (cur = []));
    cur.push(ev);
    if (c.options.endswith && truthy(evalValue(c.options.endswith, ev))) {
      done.push(cur);
      open.delete(k);
    }
  }
  done.push(...open.values());
  return done.map((group) => {
    const merged: SplEvent = { _time: group[0]!._time ?? 0, eventcount: String(group.length), duration: String(Number(group[group.length - 1]!._time ?? 0) - Number(group[0]!._time ?? 0)) };
    for (const ev of group)
      for (const [f, v] of Object.entries(ev)) {
        if (f === '_time') continue;
        const set = new Set((merged[f] as string[] | undefined) ?? []);
        for (const x of Array.isArray(v) ? v : [String(v)]) set.add(x);
        merged[f] = [...set].sort();
      }
    for (const [f, v] of Object.entries(merged)) if (Array.isArray(v) && v.length === 1) merged[f] = v[0]!;
    return merged;
  });
}

function tstats(c: Extract<Command, { kind: 'tstats' }>, events: SplEvent[]): SplEvent[] {
  const fill = c.options.fillnull_value;
  const rows = new Map<string, SplEvent>();
  for (const ev of events) {
    if (c.where && !searchMatches(c.where, ev)) continue;
    const row: SplEvent = {};
    let drop = false;
    for (const f of c.by) {
      const v = ev[f];
      if (v === undefined) {
        if (fill === undefined) drop = true;
        else row[f] = fill;
      } else row[f] = v;
    }
    if (drop) continue;
    const key = JSON.stringify(row);
    const have = rows.get(key);
    const t = Number(ev._time ?? 0);
    if (have) {
      have.count = String(Number(have.count) + 1);
      have.firstTime = String(Math.min(Number(have.firstTime), t));
      have.lastTime = String(Math.max(Number(have.lastTime), t));
    } else rows.set(key, { ...row, count: '1', firstTime: String(t), lastTime: String(t), _time: t });
  }
  return [...rows.values()];
}

export function runSpl(p: SplPipeline, input: readonly SplEvent[]): SplEvent[] {
  let events: SplEvent[] = [...input];
  for (const c of p.commands) {
    switch (c.kind) {
      case 'search':
        events = events.filter((ev) => searchMatches(c.expr, ev));
        break;
      case 'where':
        events = events.filter((ev) => truthy(evalValue(c.expr, ev)));
        break;
      case 'eval':
        events = events.map((ev) => {
          const out = { ...ev };
          for (const a of c.assignments) {
            const v = evalValue(a.expr, out);
            if (v === null) delete out[a.field];
            else out[a.field] = Array.isArray(v) ? v : typeof v === 'boolean' ? String(v) : typeof v === 'number' ? String(v) : v;
          }
          return out;
        });
        break;
      case 'regex': {
        const rx = pcreToJs(c.pattern);
        events = events.filter((ev) => {
          const vs = values(ev, c.field);
          const hit = !!vs && vs.some((s) => rx.test(s));
          return c.negated ? !hit : hit;
        });
        break;
      }
      case 'tstats':
        events = tstats(c, events);
        break;
      case 'macro': {
        const m = /^drop_dm_object_name$/.exec(c.name);
        if (!m || !c.args) throw new SplEvalError(`macro \`${c.name}\` cannot be evaluated`);
        const prefix = `${c.args}.`;
        events = events.map((ev) => Object.fromEntries(Object.entries(ev).map(([k, v]) => [k.startsWith(prefix) ? k.slice(prefix.length) : k, v])));
        break;
      }
      case 'transaction':
        events = transaction(c, events);
        break;
      case 'sort':
        events = [...events].sort((a, b) => {
          for (const { field, descending } of c.fields) {
            const d = Number(a[field] ?? 0) - Number(b[field] ?? 0);
            if (d) return descending ? -d : d;
          }
          return 0;
        });
        if (c.limit) events = events.slice(0, c.limit);
        break;
      case 'head':
        events = events.slice(0, c.count);
        break;
      case 'tail':
        events = events.slice(-c.count);
        break;
      case 'table':
      case 'fields':
        events = events.map((ev) => Object.fromEntries(c.fields.filter((f) => f in ev).map((f) => [f, ev[f]!])));
        break;
      case 'streamstats':
        throw new SplEvalError('streamstats is not evaluated');
    }
  }
  return events;
}
