// The matcher's run-time library: value semantics, functions, globs, CIDR, and the sequence/sample engines.
// Self-contained on purpose (no imports): the `ts` backend embeds this file's text into the modules it emits,
// so the in-process matcher and emitted modules share one implementation.
// Semantics follow docs/null-semantics.md and ../shared/research/eql-language.md §4-§8.

/** A scalar as Elasticsearch's doc values hold it. Missing is represented by `null`. */
export type Val = string | number | boolean | null;
export type Ev = Record<string, unknown>;

// ---------------------------------------------------------------- field access

/**
 * Every non-null scalar value of a field: dotted keys (`{"a.b": 1}`) and nested objects (`{a: {b: 1}}`)
 * both count, mixed forms contribute together, and arrays (also arrays of objects) are flattened, as the
 * Elasticsearch fields API sees a document. Explicit `null` and `[]` give no value (missing).
 */
export function fieldValues(root: unknown, path: readonly (string | number)[]): Val[] {
  return accessor(path)(root);
}

/** A compiled field reader (see fieldValues): the dotted keys to try at each level are joined once. */
export function accessor(path: readonly (string | number)[]): (root: unknown) => Val[] {
  const n = path.length;
  // keys[i]: the keys that can start at segment i (segments i..j joined with dots), with the segment after each.
  const keys = path.map((_, i) => {
    const row: { key: string; next: number; own: boolean }[] = [];
    let key = '';
    for (let j = i; j < n; j++) {
      const s = path[j]!;
      if (typeof s === 'number') break;
      key = j === i ? s : key + '.' + s;
      // Object.prototype members are functions, except `__proto__`: only that key needs an own-property check.
      row.push({ key, next: j + 1, own: key === '__proto__' });
    }
    return row;
  });
  const walk = (node: unknown, i: number, out: Val[]): void => {
    if (i === n) return leaf(node, out);
    const seg = path[i]!;
    if (typeof seg === 'number') {
      if (Array.isArray(node)) walk(node[seg], i + 1, out);
      return;
    }
    if (Array.isArray(node)) {
      for (let k = 0; k < node.length; k++) walk(node[k], i, out);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    const row = keys[i]!;
    for (let k = 0; k < row.length; k++) {
      const r = row[k]!;
      const v = obj[r.key];
      if (v === undefined || typeof v === 'function' || (r.own && !Object.prototype.hasOwnProperty.call(obj, r.key))) continue;
      walk(v, r.next, out);
    }
  };
  return (root) => {
    const out: Val[] = [];
    walk(root, 0, out);
    return out;
  };
}

function leaf(v: unknown, out: Val[]): void {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push(v);
  else if (Array.isArray(v)) for (const x of v) leaf(x, out);
}

/** Values of a field, or `[null]` when it is missing: scripts run their predicate once with null (ES `multiValueDocValues`). */
export function slotValues(ev: unknown, path: readonly (string | number)[]): Val[] {
  const v = fieldValues(ev, path);
  return v.length ? v : NULL_ONLY;
}
const NULL_ONLY: Val[] = [null];

// ---------------------------------------------------------------- comparisons

/** Numeric value of a string the way a numeric field parses a query term; null when it is not a number. */
function toNumber(s: string): number | null {
  const t = s.trim();
  if (t === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
  return Number(t);
}

/**
 * `a == b` where `a` is the field side: a literal of another type is converted to the field's type first,
 * as a term query is (a keyword field compares text, a numeric field compares numbers). Null gives null.
 */
export function eq(a: Val, b: Val): boolean | null {
  if (a === null || b === null) return null;
  if (typeof a === typeof b) return a === b;
  if (typeof a === 'number') {
    if (typeof b !== 'string') return false;
    const n = toNumber(b);
    return n !== null && n === a;
  }
  return String(a) === String(b);
}

/** Case-insensitive equality (`in~`, `:` without wildcards); non-strings compare as `eq`. */
export function eqCi(a: Val, b: Val): boolean | null {
  if (typeof a === 'string' && typeof b === 'string') return a === b || a.toLowerCase() === b.toLowerCase();
  return eq(a, b);
}

/** Order of two strings by code point (Lucene compares UTF-8 bytes, which orders like code points). */
function codePointCompare(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort above every BMP code unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Three-way comparison for `<`, `<=`, `>`, `>=`; null when either side is null or the types cannot be ordered. */
export function order(a: Val, b: Val): number | null {
  if (a === null || b === null) return null;
  if (typeof a === 'number') {
    const n = typeof b === 'number' ? b : typeof b === 'string' ? toNumber(b) : null;
    return n === null ? null : a < n ? -1 : a > n ? 1 : 0;
  }
  if (typeof a === 'string') return codePointCompare(a, typeof b === 'string' ? b : String(b));
  if (typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  return null;
}

export const lt = (a: Val, b: Val) => nullMap(order(a, b), (c) => c < 0);
export const le = (a: Val, b: Val) => nullMap(order(a, b), (c) => c <= 0);
export const gt = (a: Val, b: Val) => nullMap(order(a, b), (c) => c > 0);
export const ge = (a: Val, b: Val) => nullMap(order(a, b), (c) => c >= 0);
function nullMap(c: number | null, f: (c: number) => boolean): boolean | null {
  return c === null ? null : f(c);
}

/** Kleene logic, used only inside value expressions (a predicate's own and/or/not are two-valued). */
export function and3(a: Val, b: Val): boolean | null {
  if (a === false || b === false) return false;
  return a === true && b === true ? true : null;
}
export function or3(a: Val, b: Val): boolean | null {
  if (a === true || b === true) return true;
  return a === false && b === false ? false : null;
}
export function not3(a: Val): boolean | null {
  return a === null ? null : !a;
}

/** `x in (…)` / `x in~ (…)`: exact membership (wildcards literal); null entries are already dropped. */
export function inList(x: Val, list: readonly Val[], ci: boolean): boolean | null {
  if (x === null) return null;
  for (const v of list) if ((ci ? eqCi(x, v) : eq(x, v)) === true) return true;
  return false;
}

/** `:` / `like` / `regex` against a list of compiled patterns (ORed); numbers and booleans match as text. */
export function matchAny(x: Val, tests: readonly ((s: string) => boolean)[]): boolean | null {
  if (x === null) return null;
  const text = typeof x === 'string' ? x : String(x);
  for (const t of tests) if (t(text)) return true;
  return false;
}

/** Event category test: exact, case-sensitive, any element of an array. */
export function hasCategory(ev: Ev, path: readonly string[] | ((ev: Ev) => Val[]), category: string): boolean {
  const vals = typeof path === 'function' ? path(ev) : fieldValues(ev, path);
  for (let i = 0; i < vals.length; i++) if (vals[i] === category) return true;
  return false;
}

// ---------------------------------------------------------------- arithmetic (Java semantics)

const MAX_LONG = 9223372036854775807n;
const MIN_LONG = -9223372036854775808n;

/**
 * Arithmetic as Elasticsearch's `Arithmetics`: integers are Java longs (`+ - *` use the *Exact methods, so an
 * overflow is an error, here null; `/` truncates; `%` takes the dividend's sign; division by zero is an error,
 * here null), anything with a fractional operand is double arithmetic. `float` forces double arithmetic
 * (a float literal such as `2.0` is integral in JavaScript but a double in Elasticsearch).
 */
export function arith(op: '+' | '-' | '*' | '/' | '%', a: Val, b: Val, float: boolean): number | null {
  if (typeof a !== 'number' || typeof b !== 'number') return null;
  if (float || !Number.isInteger(a) || !Number.isInteger(b)) {
    switch (op) {
      case '+': return a + b;
      case '-': return a - b;
      case '*': return a * b;
      case '/': return a / b;
      case '%': return a % b;
    }
  }
  let r: number;
  switch (op) {
    case '+': r = a + b; break;
    case '-': r = a - b; break;
    case '*': r = a * b; break;
    case '/':
      if (b === 0) return null;
      r = Math.trunc(a / b);
      break;
    case '%':
      if (b === 0) return null;
      return a % b;
  }
  if (Number.isSafeInteger(r)) return r;
  const x = BigInt(a);
  const y = BigInt(b);
  const big = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : x / y;
  return big > MAX_LONG || big < MIN_LONG ? null : Number(big);
}

export function neg(a: Val): number | null {
  return typeof a === 'number' ? -a : null;
}

// ---------------------------------------------------------------- functions (Elasticsearch EQL)

const isStr = (v: Val): v is string => typeof v === 'string';
const lower = (s: string) => s.toLowerCase();

/** `between`: text after the first `left` and before the next (or, greedy, the last) `right`; "" if absent. */
export function between(s: Val, left: Val, right: Val, greedy: Val, ci: boolean): string | null {
  if (!isStr(s) || !isStr(left) || !isStr(right)) return null;
  if (s === '' || left === '' || right === '') return s;
  const m = ci ? lower(s) : s;
  const l = ci ? lower(left) : left;
  const r = ci ? lower(right) : right;
  const i = m.indexOf(l);
  if (i < 0) return '';
  const start = i + l.length;
  const end = greedy === true ? m.lastIndexOf(r) : m.indexOf(r, start);
  if (end < 0) return '';
  // Java's substring throws when a greedy `right` lies before `left`: an error, so no value.
  return end < start ? null : s.slice(start, end);
}

export function startsWith(s: Val, p: Val, ci: boolean): boolean | null {
  if (!isStr(s) || !isStr(p)) return null;
  return ci ? lower(s).startsWith(lower(p)) : s.startsWith(p);
}

export function endsWith(s: Val, p: Val, ci: boolean): boolean | null {
  if (!isStr(s) || !isStr(p)) return null;
  return ci ? lower(s).endsWith(lower(p)) : s.endsWith(p);
}

/** `stringContains`: false when either string is empty (ES StringUtils.stringContains). */
export function stringContains(s: Val, p: Val, ci: boolean): boolean | null {
  if (!isStr(s) || !isStr(p)) return null;
  if (s === '' || p === '') return false;
  return ci ? lower(s).includes(lower(p)) : s.includes(p);
}

/** `indexOf`: first position at or after `start` (Java String.indexOf), null when not found. */
export function indexOf(s: Val, p: Val, start: Val, ci: boolean): number | null {
  if (!isStr(s) || !isStr(p)) return null;
  if (start !== null && typeof start !== 'number') return null;
  const from = start === null ? 0 : Math.trunc(start);
  const r = ci ? lower(s).indexOf(lower(p), Math.max(0, from)) : s.indexOf(p, Math.max(0, from));
  return r < 0 ? null : r;
}

export function length(s: Val): number | null {
  return isStr(s) ? s.length : null;
}

/**
 * `substring` with Python slice semantics (ES StringUtils.substringSlice). A null start gives the whole string
 * and a null end slices to the end (ES SubstringFunctionProcessor.doProcess).
 */
export function substring(s: Val, start: Val, end: Val): string | null {
  if (isStr(s) && start === null) return s;
  if (!isStr(s) || typeof start !== 'number') return null;
  if (end !== null && typeof end !== 'number') return null;
  if (s === '') return s;
  const n = s.length;
  let a = Math.trunc(start);
  let b = end === null ? n : Math.trunc(end);
  if (a < 0) a = Math.max(0, a + n);
  if (b < 0) b = Math.max(0, b + n);
  else if (b > n) b = n;
  return a >= b ? '' : s.slice(a, b);
}

/** Java's rendering of a value, as `string()` and `concat()` produce it. */
export function str(v: Val): string | null {
  if (v === null) return null;
  if (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v)) {
    const t = String(v);
    // Java writes large/small doubles as 1.0E10 / 1.0E-5.
    return /e/.test(t) ? t.replace(/^(-?\d+)(e)/, '$1.0$2').replace('e+', 'E').replace('e', 'E') : t;
  }
  return String(v);
}

export function concat(args: Val[]): string | null {
  let out = '';
  for (const a of args) {
    const s = str(a);
    if (s === null) return null;
    out += s;
  }
  return out;
}

const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * `number(s[, base])` (ES ToNumberFunctionProcessor): base 10 tries Long.valueOf, then Double.valueOf (which
 * ignores surrounding whitespace); a `0x` prefix means base 16; other bases use Long.parseLong. What Java
 * cannot parse is an error there; here it is null.
 */
export function number(s: Val, base: Val): number | null {
  if (!isStr(s)) return null;
  if (base !== null && (typeof base !== 'number' || !Number.isInteger(base))) return null;
  const hex = s.startsWith('0x');
  const radix = base === null ? (hex ? 16 : 10) : base;
  const text = hex && radix === 16 ? s.slice(2) : s;
  if (radix === 10) {
    if (/^[+-]?\d+$/.test(text)) return longOrNull(BigInt(text));
    const t = text.trim();
    const m = /^[+-]?(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?$/.exec(t);
    return m ? Number(t.replace(/[fFdD]$/, '')) : null;
  }
  if (radix < 2 || radix > 36) return null;
  const m = /^([+-]?)(.+)$/.exec(text);
  if (!m) return null;
  let v = 0n;
  for (const ch of m[2]!.toLowerCase()) {
    const d = DIGITS.indexOf(ch);
    if (d < 0 || d >= radix) return null;
    v = v * BigInt(radix) + BigInt(d);
  }
  return longOrNull(m[1] === '-' ? -v : v);
}

function longOrNull(v: bigint): number | null {
  return v > MAX_LONG || v < MIN_LONG ? null : Number(v);
}

// ---------------------------------------------------------------- wildcards (linear time)

/**
 * A matcher for an EQL wildcard pattern (`*` any run, `?` one character, anchored to the whole value, no
 * escapes). Segments between stars are placed leftmost-first, which is optimal for anchored globs and
 * never backtracks: time is O(value length x pattern length).
 */
export function glob(pattern: string, ci: boolean): (s: Val) => boolean {
  const pat = ci ? lower(pattern) : pattern;
  const segs = pat.split('*');
  const fold = ci ? lower : (s: string) => s;
  if (segs.length === 1 && !pat.includes('?')) return (s) => isStr(s) && fold(s) === pat;
  if (!pat.includes('?')) {
    const first = segs[0]!;
    const last = segs[segs.length - 1]!;
    const mids = segs.slice(1, -1).filter((x) => x);
    const min = first.length + last.length;
    return (s) => {
      if (!isStr(s)) return false;
      const v = fold(s);
      if (v.length < min || !v.startsWith(first) || !v.endsWith(last)) return false;
      let pos = first.length;
      const stop = v.length - last.length;
      for (const m of mids) {
        const at = v.indexOf(m, pos);
        if (at < 0 || at + m.length > stop) return false;
        pos = at + m.length;
      }
      return true;
    };
  }
  // `?` matches one code point, so work on code points.
  const cps = segs.map((x) => Array.from(x));
  return (s) => {
    if (!isStr(s)) return false;
    const v = Array.from(fold(s));
    const at = (seg: string[], p: number) => {
      if (p + seg.length > v.length) return false;
      for (let k = 0; k < seg.length; k++) if (seg[k] !== '?' && seg[k] !== v[p + k]) return false;
      return true;
    };
    const first = cps[0]!;
    if (cps.length === 1) return v.length === first.length && at(first, 0);
    const last = cps[cps.length - 1]!;
    if (!at(first, 0)) return false;
    const stop = v.length - last.length;
    if (stop < first.length || !at(last, stop)) return false;
    let pos = first.length;
    for (let i = 1; i < cps.length - 1; i++) {
      const seg = cps[i]!;
      let p = pos;
      while (p + seg.length <= stop && !at(seg, p)) p++;
      if (p + seg.length > stop) return false;
      pos = p + seg.length;
    }
    return true;
  };
}

// ---------------------------------------------------------------- CIDR (IPv4 and IPv6)

/** An address as 16 bytes; IPv4 is IPv4-mapped (::ffff:a.b.c.d), as Lucene's InetAddressPoint encodes it. */
export function parseIp(s: string): Uint8Array | null {
  const v4 = parseV4(s);
  if (v4) {
    const out = new Uint8Array(16);
    out[10] = 0xff;
    out[11] = 0xff;
    out.set(v4, 12);
    return out;
  }
  if (!s.includes(':') || s.length > 64) return null;
  let tail: number[] = [];
  let text = s;
  const lastColon = s.lastIndexOf(':');
  if (s.slice(lastColon + 1).includes('.')) {
    const t = parseV4(s.slice(lastColon + 1));
    if (!t) return null;
    tail = [(t[0]! << 8) | t[1]!, (t[2]! << 8) | t[3]!];
    text = s.slice(0, lastColon + 1) + (s[lastColon - 1] === ':' ? '' : '0');
    if (text.endsWith(':0')) text = text.slice(0, -2);
    else if (text.endsWith(':')) text = text.endsWith('::') ? text : text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const part = (x: string) => (x === '' ? [] : x.split(':'));
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  const groups: number[] = [];
  for (const g of [...head, ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    groups.push(parseInt(g, 16));
  }
  const want = 8 - tail.length;
  let words: number[];
  if (halves.length === 2) {
    if (head.length + rest.length > want - 1) return null;
    words = [...head.map((g) => parseInt(g, 16)), ...new Array<number>(want - head.length - rest.length).fill(0), ...rest.map((g) => parseInt(g, 16))];
  } else {
    if (groups.length !== want) return null;
    words = groups;
  }
  words = [...words, ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

function parseV4(s: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : null;
}

export interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

/** Parse `addr[/bits]`; an IPv4 prefix length counts within the mapped IPv6 space (+96). */
export function parseCidr(block: string): Cidr | null {
  const [addr, bits] = block.split('/');
  const bytes = parseIp(addr!);
  if (!bytes) return null;
  const isV4 = parseV4(addr!) !== null;
  const max = isV4 ? 32 : 128;
  const n = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
  if (n < 0 || n > max) return null;
  return { bytes, bits: isV4 ? n + 96 : n };
}

export function inCidr(ip: Uint8Array, c: Cidr): boolean {
  let bits = c.bits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (c.bytes[i]! & mask)) return false;
  }
  return true;
}

/** `cidrMatch(ip, blocks…)`: null for a null address; false for a value that is not an address. */
export function cidrMatch(ip: Val, blocks: readonly Cidr[]): boolean | null {
  if (ip === null) return null;
  if (!isStr(ip)) return false;
  const bytes = parseIp(ip);
  return bytes !== null && blocks.some((c) => inCidr(bytes, c));
}

// ---------------------------------------------------------------- timestamps and order

/** Epoch milliseconds from ISO-8601 or epoch milliseconds (number or numeric string); null if neither. */
export function toMillis(v: Val): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : null;
  if (typeof v !== 'string') return null;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Math.trunc(Number(v));
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : t;
}

/** An event with its sort key: timestamp, then tiebreaker (missing sorts last), then input order. */
export interface Rec {
  ev: Ev;
  ts: number;
  tb: Val;
  seq: number;
}

export function compareRecs(a: Rec, b: Rec): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  if (a.tb !== b.tb) {
    if (a.tb === null) return 1;
    if (b.tb === null) return -1;
    const c = order(a.tb, b.tb);
    if (c) return c;
  }
  return a.seq - b.seq;
}

// ---------------------------------------------------------------- join keys

/** One value of a join key combination; `vals` are the key values in key order. */
export interface Key {
  id: string;
  vals: Val[];
}

/**
 * Join keys of an event: each key expression gives its distinct non-null values (arrays expand), an absent
 * value is allowed only for an optional key (it becomes null), and several keys form the cartesian product.
 * Returns [] when the event cannot take part.
 */
export function joinKeys(perKey: readonly Val[][], optional: readonly boolean[]): Key[] {
  let combos: Val[][] = [[]];
  for (let i = 0; i < perKey.length; i++) {
    const seen = new Set<string>();
    const vals: Val[] = [];
    for (const v of perKey[i]!) {
      if (v === null) continue;
      const k = typeof v + ':' + String(v);
      if (!seen.has(k)) {
        seen.add(k);
        vals.push(v);
      }
    }
    if (!vals.length) {
      if (!optional[i]) return [];
      vals.push(null);
    }
    const next: Val[][] = [];
    for (const c of combos) for (const v of vals) next.push([...c, v]);
    combos = next;
  }
  return combos.map((vals) => ({ id: JSON.stringify(vals), vals }));
}

// ---------------------------------------------------------------- sequences

export interface SeqTerm {
  test: (ev: Ev) => boolean;
  keys: (ev: Ev) => Key[];
  missing: boolean;
}

export interface SeqSpec {
  /** Terms after expanding `runs`, in order; missing terms included. */
  terms: SeqTerm[];
  until: { test: (ev: Ev) => boolean; keys: (ev: Ev) => Key[] } | null;
  maxspan: number | null;
  /** Cap on pending sequences when there is no maxspan. */
  maxPending: number;
}

export interface SeqResult {
  /** One entry per term; null at a missing-event position. */
  events: (Ev | null)[];
  keys: Val[];
}

interface Pending {
  recs: Rec[];
  key: Key;
  ords: number[];
}

interface Candidate {
  p: Pending;
  /** Stream time after which trailing missing terms can no longer be filled. */
  decideAfter: number;
  done: boolean;
  ok: boolean;
}

/**
 * Elasticsearch's sequence state machine, fed events in time order. Each stage holds at most one pending
 * sequence per join key (a newer one replaces it), an event advances a sequence by one stage only,
 * `until` drops the key's pending sequences, maxspan is inclusive from the first event, and results come in
 * completion order. Missing events `![…]` filter completed candidates (eql-language.md §7).
 */
export class SequenceEngine {
  private readonly positives: SeqTerm[];
  /** For each positive stage, the index of its term. */
  private readonly termOf: number[];
  private readonly stages: Map<string, Pending>[];
  private readonly missing: { term: SeqTerm; index: number; gap: number; seen: Map<string, { ts: number; ord: number }[]> }[];
  private readonly waiting: Candidate[] = [];
  private ord = 0;
  private now = -Infinity;
  private sinceSweep = 0;
  private pendingCount = 0;
  readonly results: SeqResult[] = [];
  /** Set when pending sequences were dropped because of maxPending. */
  capped = false;

  constructor(private readonly spec: SeqSpec) {
    this.positives = [];
    this.termOf = [];
    spec.terms.forEach((t, i) => {
      if (!t.missing) {
        this.positives.push(t);
        this.termOf.push(i);
      }
    });
    this.stages = this.positives.map(() => new Map());
    let gap = 0;
    this.missing = [];
    spec.terms.forEach((t, index) => {
      if (t.missing) this.missing.push({ term: t, index, gap, seen: new Map() });
      else gap++;
    });
  }

  push(rec: Rec): void {
    const ord = this.ord++;
    this.now = rec.ts;
    this.settle(false);
    const ev = rec.ev;
    const span = this.spec.maxspan;
    for (const m of this.missing)
      if (m.term.test(ev))
        for (const k of m.term.keys(ev)) {
          let list = m.seen.get(k.id);
          if (!list) m.seen.set(k.id, (list = []));
          list.push({ ts: rec.ts, ord });
        }
    const until = this.spec.until;
    if (until && until.test(ev))
      for (const k of until.keys(ev))
        for (const st of this.stages) if (st.delete(k.id)) this.pendingCount--;
    // Highest stage first, so one event never fills two stages of the same sequence.
    for (let s = this.positives.length - 1; s >= 0; s--) {
      const term = this.positives[s]!;
      if (!term.test(ev)) continue;
      for (const key of term.keys(ev)) {
        if (s === 0) {
          this.put(0, { recs: [rec], key, ords: [ord] });
          continue;
        }
        const prev = this.stages[s - 1]!.get(key.id);
        if (!prev) continue;
        this.stages[s - 1]!.delete(key.id);
        this.pendingCount--;
        if (span !== null && rec.ts - prev.recs[0]!.ts > span) continue;
        this.put(s, { recs: [...prev.recs, rec], key, ords: [...prev.ords, ord] });
      }
    }
    if (++this.sinceSweep > Math.max(4096, this.pendingCount)) this.sweep();
  }

  /** Call after the last event: decides waiting candidates. */
  finish(): void {
    this.settle(true);
  }

  private put(stage: number, p: Pending): void {
    if (stage === this.positives.length - 1) return this.complete(p);
    const map = this.stages[stage]!;
    if (!map.delete(p.key.id)) this.pendingCount++;
    map.set(p.key.id, p);
    if (this.spec.maxspan === null && this.pendingCount > this.spec.maxPending) {
      this.capped = true;
      // Drop the oldest pending sequence of the fullest stage.
      let fullest = map;
      for (const m of this.stages) if (m.size > fullest.size) fullest = m;
      const oldest = fullest.keys().next();
      if (!oldest.done) {
        fullest.delete(oldest.value);
        this.pendingCount--;
      }
    }
  }

  private complete(p: Pending): void {
    const span = this.spec.maxspan;
    const hasTrailing = this.missing.some((m) => m.gap === this.positives.length);
    const c: Candidate = { p, decideAfter: hasTrailing && span !== null ? p.recs[0]!.ts + span : -Infinity, done: false, ok: false };
    if (!this.middleOk(p)) return;
    this.waiting.push(c);
    this.settle(false);
  }

  /** A middle `![q]` rejects the candidate when a q event with the same key lies strictly between its neighbours. */
  private middleOk(p: Pending): boolean {
    for (const m of this.missing) {
      if (m.gap === 0 || m.gap === this.positives.length) continue;
      const list = m.seen.get(m.term.keys === undefined ? '' : p.key.id);
      if (!list) continue;
      const lo = p.ords[m.gap - 1]!;
      const hi = p.ords[m.gap]!;
      if (list.some((e) => e.ord > lo && e.ord < hi)) return false;
    }
    return true;
  }

  /**
   * Leading and trailing missing terms reject a candidate only when all of them can be filled in order, with
   * the same key, so that the extended sequence still fits in maxspan. Leading events are taken as late and
   * trailing ones as early as possible, which is the tightest fill.
   */
  private edgesOk(p: Pending): boolean {
    const edges = this.missing.filter((m) => m.gap === 0 || m.gap === this.positives.length);
    if (!edges.length) return true;
    const firstOrd = p.ords[0]!;
    const lastOrd = p.ords[p.ords.length - 1]!;
    let startTs = p.recs[0]!.ts;
    let endTs = p.recs[p.recs.length - 1]!.ts;
    let bound = firstOrd;
    for (const m of edges.filter((e) => e.gap === 0).reverse()) {
      const list = m.seen.get(p.key.id) ?? [];
      let found: { ts: number; ord: number } | undefined;
      for (let i = list.length - 1; i >= 0; i--) if (list[i]!.ord < bound) { found = list[i]; break; }
      if (!found) return true;
      bound = found.ord;
      startTs = found.ts;
    }
    bound = lastOrd;
    for (const m of edges.filter((e) => e.gap !== 0)) {
      const list = m.seen.get(p.key.id) ?? [];
      const found = list.find((e) => e.ord > bound);
      if (!found) return true;
      bound = found.ord;
      endTs = found.ts;
    }
    return endTs - startTs > (this.spec.maxspan ?? Infinity);
  }

  /** Decide candidates whose trailing window has passed, and release results in completion order. */
  private settle(final: boolean): void {
    for (const c of this.waiting) {
      if (c.done) continue;
      if (!final && this.now <= c.decideAfter) break;
      c.done = true;
      c.ok = this.edgesOk(c.p);
    }
    while (this.waiting.length && this.waiting[0]!.done) {
      const c = this.waiting.shift()!;
      if (c.ok) this.results.push(this.toResult(c.p));
    }
  }

  private toResult(p: Pending): SeqResult {
    const events: (Ev | null)[] = new Array<Ev | null>(this.spec.terms.length).fill(null);
    p.recs.forEach((r, i) => (events[this.termOf[i]!] = r.ev));
    return { events, keys: p.key.vals };
  }

  /** Drop pending sequences and missing-event records that maxspan has put out of reach. */
  private sweep(): void {
    this.sinceSweep = 0;
    const span = this.spec.maxspan;
    if (span === null) return;
    for (const st of this.stages)
      for (const [k, p] of st)
        if (this.now - p.recs[0]!.ts > span) {
          st.delete(k);
          this.pendingCount--;
        }
    // Leading terms look back up to maxspan before a first event that is itself up to maxspan old.
    const horizon = this.now - 2 * span;
    for (const m of this.missing)
      for (const [k, list] of m.seen) {
        let i = 0;
        while (i < list.length && list[i]!.ts < horizon) i++;
        if (i === list.length) m.seen.delete(k);
        else if (i) list.splice(0, i);
      }
  }
}

// ---------------------------------------------------------------- samples

export interface SampleSpec {
  terms: { test: (ev: Ev) => boolean; keys: (ev: Ev) => Key[] }[];
}

/**
 * `sample by …`: one sample per join-key combination, each filter filled by a distinct event (the earliest
 * that fits), samples sorted by their join keys (eql-language.md §7, from ES-QA test_sample.toml).
 */
export class SampleEngine {
  private readonly open = new Map<string, { key: Key; events: (Ev | null)[]; filled: number }>();

  constructor(private readonly spec: SampleSpec) {}

  push(rec: Rec): void {
    const terms = this.spec.terms;
    for (let i = 0; i < terms.length; i++) {
      const t = terms[i]!;
      if (!t.test(rec.ev)) continue;
      for (const key of t.keys(rec.ev)) {
        let s = this.open.get(key.id);
        if (!s) this.open.set(key.id, (s = { key, events: new Array<Ev | null>(terms.length).fill(null), filled: 0 }));
        if (s.events.includes(rec.ev)) continue;
        // The event fills the first empty filter it matches.
        for (let j = 0; j < terms.length; j++) {
          if (s.events[j] !== null || !terms[j]!.test(rec.ev)) continue;
          s.events[j] = rec.ev;
          s.filled++;
          break;
        }
      }
    }
  }

  results(): SeqResult[] {
    const done = [...this.open.values()].filter((s) => s.filled === this.spec.terms.length);
    done.sort((a, b) => {
      for (let i = 0; i < a.key.vals.length; i++) {
        const x = a.key.vals[i]!;
        const y = b.key.vals[i]!;
        if (x === y) continue;
        if (x === null) return 1;
        if (y === null) return -1;
        const c = typeof x === typeof y ? order(x, y) : typeof x < typeof y ? -1 : 1;
        if (c) return c;
      }
      return 0;
    });
    return done.map((s) => ({ events: s.events, keys: s.key.vals }));
  }
}
