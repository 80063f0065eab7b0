// An independent interpreter of the KQL (Defender Advanced Hunting) that eqlport emits, for the verifier.
// Semantics are written from Microsoft's Kusto reference (learn.microsoft.com/kusto; the facts used are
// summarised in ../shared/research/target-syntax.md §3 and §7), never from src/backends/kql.ts: this file
// shares no escaping table, operator map or helper with the emitter, so a bug there cannot cancel out here.
import { RE2JS } from 're2js';
import { parse, SyntaxError as PeggySyntaxError } from '../generated/kql-parser.js';
import { fieldMapping, type FieldMapping, type Mapping } from '../translate/mapping.js';
import type { EcsEvent } from './generate.js';
import { InterpreterError, Unrepresentable, type Interpreter, type InterpreterContext, type InterpreterRun } from './interpreter.js';

// ---- values ---------------------------------------------------------------------------------

/** Kusto datetime and timespan (milliseconds; the probes never need ticks). */
class KDate {
  constructor(readonly ms: number) {}
}
class KSpan {
  constructor(readonly ms: number) {}
}
/** long is a bigint, real a number, dynamic a JS array or object. */
type V = null | boolean | bigint | number | string | KDate | KSpan | V[] | { [k: string]: V };

const INDEX = Symbol('event index');
type Row = { [col: string]: V; [INDEX]?: number };

/** A Defender row derived from one event, plus the DeviceInfo row its device reports (ECS events only). */
export interface KqlRecord {
  table: string;
  row: Row;
  /** The DeviceInfo row of the event's device: undefined when the event does not say (no host.os.type)... */
  deviceInfo?: Row;
  /** ...and false when the record cannot say (vendor rows come without DeviceInfo). */
  modelsDeviceInfo: boolean;
  /** Why Defender cannot store this event as it is (an ECS array where a column holds one value). */
  unrepresentable?: string;
  /** The column that identifies the row in a table without ReportId (a class's `row_id`: AuditLogs' Id). */
  rowId?: string;
}

class NotChecked extends Error {}

// ---- syntax tree (grammar/targets/kql.peggy) -------------------------------------------------

type Node =
  | { k: 'lit'; v: V }
  | { k: 'long'; v: number }
  | { k: 'real'; v: number }
  | { k: 'timespan'; ms: number }
  | { k: 'col'; name: string }
  | { k: 'neg'; e: Node }
  | { k: 'bin'; op: string; l: Node; r: Node }
  | { k: 'list'; op: string; l: Node; items: Node[] }
  | { k: 'call'; name: string; args: Node[] }
  | { k: 'member'; obj: Node; key: Node };
interface Assign {
  name: string | null;
  e: Node;
}
interface Declaration {
  name: string;
  type: string;
  def: Node | null;
}
interface Step {
  name: string;
  output: string | null;
  cond: Node;
  assign: Assign[];
}
type Op =
  | { k: 'where'; e: Node }
  | { k: 'project' | 'extend' | 'distinct'; cols: Assign[] }
  | { k: 'join' | 'lookup'; kind: string | null; right: Tab; on: { l: string; r: string }[] }
  | { k: 'sort'; by: { e: Node; dir: 'asc' | 'desc' }[] }
  | { k: 'top'; n: number; by: { e: Node; dir: 'asc' | 'desc' } }
  | { k: 'take'; n: number }
  | { k: 'summarize'; aggs: Assign[]; by: Assign[] }
  | { k: 'mv-apply'; name: string; e: Node; ops: Op[] }
  | { k: 'scan'; matchId: string | null; declare: Declaration[]; steps: Step[] };
type Tab = { k: 'table'; name: string } | { k: 'union'; parts: Tab[] } | { k: 'pipe'; src: Tab; op: Op };
export interface KqlProgram {
  lets: { name: string; value: Tab | Node }[];
  body: Tab;
}

// ---- column types ---------------------------------------------------------------------------

/** Columns the mapping compares as numbers; datetimes by Defender's naming (Timestamp, *CreationTime). */
function numericColumns(m: Mapping): Set<string> {
  const out = new Set<string>(['ReportId']);
  const add = (fields: Record<string, FieldMapping | string | null> | undefined) => {
    for (const fm of Object.values(fields ?? {}))
      if (fm && typeof fm === 'object' && fm.type === 'number' && !fm.transform) for (const c of [fm.field].flat()) out.add(c);
  };
  add(m.fields);
  for (const c of m.classes) add(c.fields);
  return out;
}
const isDateColumn = (c: string) => c === 'Timestamp' || c === 'TimeGenerated' || c.endsWith('CreationTime');

// ---- helpers --------------------------------------------------------------------------------

/** Kusto's case-insensitive operators fold ASCII letters only (target-syntax.md §3.3). */
const foldAscii = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
const isStr = (v: V): v is string => typeof v === 'string';
const isNum = (v: V): v is bigint | number => typeof v === 'bigint' || typeof v === 'number';

function toStr(v: V): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (v instanceof KDate) return new Date(v.ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
  if (v instanceof KSpan) return `${v.ms}ms`;
  return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x));
}

/** Terms are maximal runs of ASCII letters and digits (datatypes-string-operators; target-syntax.md §3.3). */
const isTermChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c);
function hasTerm(text: string, needle: string, cs: boolean): boolean {
  const t = cs ? text : foldAscii(text);
  const n = cs ? needle : foldAscii(needle);
  if (n === '') return true;
  for (let i = t.indexOf(n); i >= 0; i = t.indexOf(n, i + 1)) {
    const startOk = !isTermChar(n[0]) || !isTermChar(t[i - 1]);
    const endOk = !isTermChar(n[n.length - 1]) || !isTermChar(t[i + n.length]);
    if (startOk && endOk) return true;
  }
  return false;
}
const terms = (s: string) => s.match(/[A-Za-z0-9]+/g) ?? [];

const regexCache = new Map<string, RE2JS>();
function re2(pattern: string): RE2JS {
  let re = regexCache.get(pattern);
  if (!re) {
    try {
      re = RE2JS.compile(pattern);
    } catch (e) {
      throw new NotChecked(`the regular expression ${JSON.stringify(pattern)} does not compile in RE2: ${(e as Error).message}`);
    }
    regexCache.set(pattern, re);
  }
  return re;
}

function equal(a: V, b: V): boolean | null {
  if (a === null || b === null) return null;
  if (isNum(a) && isNum(b)) return Number(a) === Number(b);
  if (a instanceof KDate && b instanceof KDate) return a.ms === b.ms;
  if (a instanceof KSpan && b instanceof KSpan) return a.ms === b.ms;
  if (typeof a === typeof b && (isStr(a) || typeof a === 'boolean')) return a === b;
  if (typeof a === 'object' || typeof b === 'object') return toStr(a) === toStr(b);
  throw new NotChecked(`comparing ${typeof a} with ${typeof b} is a type error in Kusto`);
}

function order(a: V, b: V): number | null {
  if (a === null || b === null) return null;
  if (isNum(a) && isNum(b)) return Math.sign(Number(a) - Number(b));
  if (a instanceof KDate && b instanceof KDate) return Math.sign(a.ms - b.ms);
  if (a instanceof KSpan && b instanceof KSpan) return Math.sign(a.ms - b.ms);
  if (isStr(a) && isStr(b)) return a < b ? -1 : a > b ? 1 : 0;
  throw new NotChecked(`ordering ${typeof a} against ${typeof b} is a type error in Kusto`);
}

function arith(op: string, a: V, b: V): V {
  if (a === null || b === null) return null;
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    if ((op === '/' || op === '%') && b === 0n) return null;
    return op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : op === '/' ? a / b : a % b;
  }
  if (isNum(a) && isNum(b)) {
    const x = Number(a);
    const y = Number(b);
    return op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? x / y : x % y;
  }
  if (a instanceof KDate && b instanceof KDate && op === '-') return new KSpan(a.ms - b.ms);
  if (a instanceof KDate && b instanceof KSpan) return op === '+' ? new KDate(a.ms + b.ms) : op === '-' ? new KDate(a.ms - b.ms) : null;
  if (a instanceof KSpan && b instanceof KSpan) return op === '+' ? new KSpan(a.ms + b.ms) : op === '-' ? new KSpan(a.ms - b.ms) : null;
  throw new NotChecked(`${op} on ${typeof a} and ${typeof b}`);
}

/**
 * Kusto's parse_xml: an element is an object of its attributes ("@name"), its text ("#text") and its child
 * elements (several of one name an array); an element with only text is that text, an empty one null (the
 * parse_xml page of Kusto's reference). Null when the text is no well-formed XML this reader knows.
 */
export function parseXml(text: string): V {
  const entity = (t: string) =>
    t.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_, e: string) =>
      e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e]!,
    );
  const tokens = [...text.replace(/^\s*<\?xml[^?]*\?>/, '').matchAll(/<\/([\w:.-]+)\s*>|<([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)|(<)/g)];
  type Element = { name: string; attrs: [string, string][]; text: string; children: [string, V][] };
  const stack: Element[] = [{ name: '', attrs: [], text: '', children: [] }];
  const value = (el: Element): V => {
    if (!el.attrs.length && !el.children.length) return el.text === '' ? null : el.text;
    const out: Record<string, V> = {};
    for (const [k, v] of el.attrs) out[`@${k}`] = v;
    const groups = new Map<string, V[]>();
    for (const [k, v] of el.children) groups.set(k, [...(groups.get(k) ?? []), v]);
    for (const [k, vs] of groups) out[k] = vs.length === 1 ? vs[0]! : vs;
    if (el.text.trim() !== '') out['#text'] = el.text;
    return out;
  };
  for (const [, close, open, attrs, selfClose, chars, stray] of tokens) {
    if (stray) return null;
    const top = stack.at(-1)!;
    if (chars !== undefined) top.text += entity(chars);
    else if (open) {
      const el: Element = { name: open, attrs: [...attrs!.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)].map((m) => [m[1]!, entity(m[2] ?? m[3] ?? '')]), text: '', children: [] };
      if (selfClose) top.children.push([open, value(el)]);
      else stack.push(el);
    } else if (close) {
      const el = stack.pop()!;
      if (el.name !== close || !stack.length) return null;
      stack.at(-1)!.children.push([close, value(el)]);
    }
  }
  if (stack.length !== 1 || stack[0]!.children.length !== 1 || stack[0]!.text.trim() !== '') return null;
  const [name, v] = stack[0]!.children[0]!;
  return { [name]: v };
}

/** CommandLineToArgvW's rules (parse_command_line with "windows"; learn.microsoft.com "Parsing C++ command-line arguments"). */
export function windowsArgv(cmd: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = cmd.length;
  const ws = (c: string | undefined) => c === ' ' || c === '\t';
  while (i < n && ws(cmd[i])) i++;
  if (i >= n) return out;
  // The program name: quotes group, backslashes are literal.
  let prog = '';
  if (cmd[i] === '"') {
    i++;
    while (i < n && cmd[i] !== '"') prog += cmd[i++];
    i++;
  } else while (i < n && !ws(cmd[i])) prog += cmd[i++];
  out.push(prog);
  for (;;) {
    while (i < n && ws(cmd[i])) i++;
    if (i >= n) return out;
    let arg = '';
    let quoted = false;
    while (i < n && (quoted || !ws(cmd[i]))) {
      if (cmd[i] === '\\') {
        let k = 0;
        while (cmd[i] === '\\') (k++, i++);
        if (cmd[i] === '"') {
          arg += '\\'.repeat(k >> 1);
          if (k % 2) (arg += '"'), i++;
        } else arg += '\\'.repeat(k);
      } else if (cmd[i] === '"') {
        if (quoted && cmd[i + 1] === '"') (arg += '"'), (i += 2);
        else (quoted = !quoted), i++;
      } else arg += cmd[i++];
    }
    out.push(arg);
  }
}

/** The command line a Windows program would have for argv (the inverse of the rules above). */
export function windowsCommandLine(args: readonly string[]): string {
  return args
    .map((a, idx) => {
      if (idx === 0) return /[ \t]/.test(a) || a === '' ? `"${a}"` : a;
      if (a !== '' && !/[ \t\n\v"]/.test(a)) return a;
      let out = '"';
      let slashes = 0;
      for (const c of a) {
        if (c === '\\') slashes++;
        else {
          out += '\\'.repeat(c === '"' ? slashes * 2 + 1 : slashes) + c;
          slashes = 0;
        }
      }
      return out + '\\'.repeat(slashes * 2) + '"';
    })
    .join(' ');
}

function ipv4(s: V): number | null {
  if (!isStr(s)) return null;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return parts.reduce((a, p) => a * 256 + p, 0);
}
function ipv4InRange(ip: V, range: V): boolean | null {
  const a = ipv4(ip);
  if (!isStr(range)) return null;
  const [base, bits = '32'] = range.split('/');
  const b = ipv4(base!);
  const n = Number(bits);
  if (a === null || b === null || !(n >= 0 && n <= 32)) return null;
  const size = 2 ** (32 - n);
  return Math.floor(a / size) === Math.floor(b / size);
}
function ipv6(s: V): bigint | null {
  if (!isStr(s)) return null;
  let text = s.trim().replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = ipv4(v4[1]!);
    if (n === null) return null;
    if (text === v4[1]) return 0xffff00000000n + BigInt(n);
    text = text.slice(0, -v4[1]!.length) + ((n >>> 16).toString(16) + ':' + (n & 0xffff).toString(16));
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || fill < 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  return all.reduce((a, g) => (a << 16n) + BigInt(parseInt(g, 16)), 0n);
}
function ipv6InRange(ip: V, range: V): boolean | null {
  const a = ipv6(ip);
  if (!isStr(range)) return null;
  const [base, bits = '128'] = range.split('/');
  const b = ipv6(base!);
  const n = Number(bits);
  if (a === null || b === null || !(n >= 0 && n <= 128)) return null;
  const shift = BigInt(128 - n);
  return a >> shift === b >> shift;
}
/** The ranges of an *_in_any_range call: further arguments, or one dynamic array. */
const rangesOf = (args: V[]) => args.flatMap((a) => (Array.isArray(a) ? a : [a]));

function toLong(v: V): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? BigInt(Math.trunc(v)) : null;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (isStr(v) && /^\s*[+-]?\d+\s*$/.test(v)) return BigInt(v.trim());
  return null;
}
function toReal(v: V): number | null {
  if (isNum(v)) return Number(v);
  if (isStr(v) && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}
const cp = (s: string) => [...s];

// ---- expression evaluation ------------------------------------------------------------------

interface Scope {
  row: Row;
  /** Column defaults when a row lacks the column: "" for strings, null otherwise. */
  absent: (col: string) => V;
  /** Scan: the state of earlier steps by name. */
  steps?: Map<string, Row>;
}

function truth(v: V): boolean | null {
  if (v === null) return null;
  if (typeof v === 'boolean') return v;
  throw new NotChecked(`a ${typeof v} used as a condition`);
}

function evaluate(n: Node, s: Scope): V {
  switch (n.k) {
    case 'lit':
      return n.v;
    case 'long':
      return BigInt(n.v);
    case 'real':
      return n.v;
    case 'timespan':
      return new KSpan(n.ms);
    case 'col':
      if (n.name === '*') throw new NotChecked('* outside an aggregation');
      if (n.name in s.row) return s.row[n.name]!;
      return s.absent(n.name);
    case 'neg': {
      const v = evaluate(n.e, s);
      return v === null ? null : typeof v === 'bigint' ? -v : typeof v === 'number' ? -v : v instanceof KSpan ? new KSpan(-v.ms) : null;
    }
    case 'member': {
      if (n.obj.k === 'col' && s.steps?.has(n.obj.name) && n.key.k === 'lit' && isStr(n.key.v)) {
        const st = s.steps.get(n.obj.name)!;
        return n.key.v in st ? st[n.key.v]! : s.absent(n.key.v);
      }
      const obj = evaluate(n.obj, s);
      const key = evaluate(n.key, s);
      if (Array.isArray(obj) && typeof key === 'bigint') return obj[Number(key < 0n ? BigInt(obj.length) + key : key)] ?? null;
      if (obj && typeof obj === 'object' && !Array.isArray(obj) && !(obj instanceof KDate) && !(obj instanceof KSpan) && isStr(key))
        return (obj as Record<string, V>)[key] ?? null;
      return null;
    }
    case 'list':
      return listOp(n.op, evaluate(n.l, s), n.items.map((i) => evaluate(i, s)));
    case 'bin':
      return binary(n, s);
    case 'call':
      return call(n.name, n.args, s);
  }
}

function binary(n: Extract<Node, { k: 'bin' }>, s: Scope): V {
  if (n.op === 'and' || n.op === 'or') {
    const a = truth(evaluate(n.l, s));
    if (n.op === 'and' && a === false) return false;
    if (n.op === 'or' && a === true) return true;
    const b = truth(evaluate(n.r, s));
    if (n.op === 'and') return b === false ? false : a === null || b === null ? null : true;
    return b === true ? true : a === null || b === null ? null : false;
  }
  const l = evaluate(n.l, s);
  const r = evaluate(n.r, s);
  switch (n.op) {
    case '==':
      return equal(l, r);
    case '!=': {
      const e = equal(l, r);
      return e === null ? null : !e;
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const o = order(l, r);
      if (o === null) return null;
      return n.op === '<' ? o < 0 : n.op === '<=' ? o <= 0 : n.op === '>' ? o > 0 : o >= 0;
    }
    case '+':
    case '-':
    case '*':
    case '/':
    case '%':
      return arith(n.op, l, r);
    case 'matches regex':
      if (!isStr(r)) throw new NotChecked('matches regex needs a string pattern');
      return re2(r).matcher(toStr(l)).find();
  }
  const neg = n.op.startsWith('!');
  const op = neg ? n.op.slice(1) : n.op;
  const res = stringOp(op, toStr(l), toStr(r));
  return neg ? !res : res;
}

/** The string operators; `_cs` forms compare exactly, the others fold ASCII case. */
function stringOp(op: string, l: string, r: string): boolean {
  const cs = op.endsWith('_cs') || op === '=='; // '=~' and '!~' arrive as '=~' / '~' below
  const a = cs ? l : foldAscii(l);
  const b = cs ? r : foldAscii(r);
  switch (op) {
    case '=~':
    case '~':
      return foldAscii(l) === foldAscii(r);
    case 'contains':
    case 'contains_cs':
      return a.includes(b);
    case 'startswith':
    case 'startswith_cs':
      return a.startsWith(b);
    case 'endswith':
    case 'endswith_cs':
      return a.endsWith(b);
    case 'has':
    case 'has_cs':
      return hasTerm(l, r, cs);
    case 'hasprefix':
    case 'hasprefix_cs':
      return terms(a).some((t) => t.startsWith(b));
    case 'hassuffix':
    case 'hassuffix_cs':
      return terms(a).some((t) => t.endsWith(b));
    default:
      throw new NotChecked(`the operator ${op} is outside the interpreted subset`);
  }
}

function listOp(op: string, l: V, rawItems: V[]): V {
  const items = rawItems.flatMap((i) => (Array.isArray(i) ? i : [i]));
  switch (op) {
    case 'in':
    case '!in': {
      if (l === null) return null;
      const hit = items.some((i) => equal(l, i) === true);
      return op === 'in' ? hit : !hit;
    }
    case 'in~':
    case '!in~': {
      const hit = items.some((i) => foldAscii(toStr(l)) === foldAscii(toStr(i)));
      return op === 'in~' ? hit : !hit;
    }
    case 'has_any':
      return items.some((i) => hasTerm(toStr(l), toStr(i), false));
    case 'has_all':
      return items.every((i) => hasTerm(toStr(l), toStr(i), false));
  }
  throw new NotChecked(`the operator ${op} is outside the interpreted subset`);
}

function call(name: string, argNodes: Node[], s: Scope): V {
  if (name === 'not') {
    const v = truth(evaluate(argNodes[0]!, s));
    return v === null ? null : !v;
  }
  if (name === 'iff' || name === 'iif') return truth(evaluate(argNodes[0]!, s)) === true ? evaluate(argNodes[1]!, s) : evaluate(argNodes[2]!, s);
  const a = argNodes.map((x) => evaluate(x, s));
  const str0 = () => toStr(a[0]!);
  switch (name) {
    case 'isempty':
      return a[0] === null || a[0] === '';
    case 'isnotempty':
      return !(a[0] === null || a[0] === '');
    case 'isnull':
      return a[0] === null;
    case 'isnotnull':
      return a[0] !== null;
    case 'tostring':
      return str0();
    case 'tolower':
      return str0().toLowerCase();
    case 'toupper':
      return str0().toUpperCase();
    case 'strcat':
      return a.map(toStr).join('');
    case 'strlen':
      return BigInt(cp(str0()).length);
    case 'substring': {
      // The substring page documents a start inside the string, a negative one counting from the end, and a
      // length; what Kusto does with other arguments is not documented, so they are not interpreted.
      const chars = cp(str0());
      const raw = toLong(a[1]!);
      const len = a[2] === undefined ? null : toLong(a[2]);
      if (raw === null || (a[2] !== undefined && len === null)) throw new NotChecked('substring with a null offset is outside the documented arguments');
      const start = raw < 0n ? BigInt(chars.length) + raw : raw;
      if (start < 0n || start > BigInt(chars.length) || (len !== null && (len < 0n || start + len > BigInt(chars.length))))
        throw new NotChecked(`substring of a ${chars.length}-character string from ${raw}${len === null ? '' : ` for ${len}`} is outside the documented arguments`);
      return chars.slice(Number(start), len === null ? undefined : Number(start + len)).join('');
    }
    case 'indexof': {
      if (a[0] === null || a[1] === null) return null;
      const chars = cp(str0());
      const needle = cp(toStr(a[1]!));
      const start = a[2] === undefined ? 0 : Number(toLong(a[2]) ?? 0n);
      for (let i = Math.max(0, start); i + needle.length <= chars.length; i++)
        if (needle.every((c, j) => chars[i + j] === c)) return BigInt(i);
      return -1n;
    }
    case 'strcmp': {
      const x = str0();
      const y = toStr(a[1]!);
      return x < y ? -1n : x > y ? 1n : 0n;
    }
    case 'extract': {
      const m = re2(toStr(a[0]!)).matcher(toStr(a[2]!));
      if (!m.find()) return '';
      return m.group(Number(toLong(a[1]!) ?? 0n)) ?? '';
    }
    case 'parse_xml':
      return isStr(a[0]!) ? parseXml(a[0] as string) : null;
    case 'parse_json':
    case 'todynamic': {
      const v = a[0]!;
      if (!isStr(v)) return v;
      if (v === '') return null;
      try {
        return JSON.parse(v) as V;
      } catch {
        return v;
      }
    }
    case 'parse_command_line':
      if (toStr(a[1]!) !== 'windows') throw new NotChecked('parse_command_line supports only "windows"');
      return windowsArgv(str0());
    case 'strcat_array':
      return Array.isArray(a[0]) ? a[0].map(toStr).join(toStr(a[1]!)) : '';
    case 'array_length':
      return Array.isArray(a[0]) ? BigInt(a[0].length) : null;
    case 'set_has_element':
      return Array.isArray(a[0]) ? a[0].some((x) => x !== null && a[1] !== null && typeof x === typeof a[1] && equal(x, a[1]!) === true) : false;
    case 'pack_array':
      return a;
    case 'set_intersect': {
      const arrays = a.map((x) => (Array.isArray(x) ? x : []));
      const seen = new Set<string>();
      return arrays[0]!.filter((x) => {
        const k = JSON.stringify([typeof x, toStr(x)]);
        if (seen.has(k)) return false;
        seen.add(k);
        return arrays.slice(1).every((arr) => arr.some((y) => typeof y === typeof x && toStr(y) === toStr(x)));
      });
    }
    case 'max_of':
    case 'min_of': {
      // Nulls are ignored; null when every argument is null (max_of page).
      const xs = a.filter((x) => x !== null);
      if (!xs.length) return null;
      return xs.reduce((m, x) => {
        const o = order(x, m);
        if (o === null) throw new NotChecked(`${name} over values of different types`);
        return (name === 'max_of' ? o > 0 : o < 0) ? x : m;
      });
    }
    case 'coalesce':
      // The first value that is not null (and, for strings, not empty).
      return a.find((v) => v !== null && v !== '') ?? a[a.length - 1] ?? null;
    case 'ipv4_is_in_range':
      return ipv4InRange(a[0]!, a[1]!);
    case 'ipv4_is_in_any_range': {
      const rs = rangesOf(a.slice(1)).map((r) => ipv4InRange(a[0]!, r));
      return rs.some((r) => r === true) ? true : rs.some((r) => r === null) ? null : false;
    }
    case 'ipv6_is_in_range':
      return ipv6InRange(a[0]!, a[1]!);
    case 'ipv6_is_in_any_range': {
      const rs = rangesOf(a.slice(1)).map((r) => ipv6InRange(a[0]!, r));
      return rs.some((r) => r === true) ? true : rs.some((r) => r === null) ? null : false;
    }
    case 'tobool':
    case 'toboolean': {
      // true/false (strings in any case), a number's non-zero-ness; anything else null.
      const v = a[0]!;
      if (typeof v === 'boolean') return v;
      if (isStr(v)) return /^true$/i.test(v) ? true : /^false$/i.test(v) ? false : null;
      if (typeof v === 'bigint') return v !== 0n;
      if (typeof v === 'number') return v !== 0;
      return null;
    }
    case 'toint':
    case 'tolong':
      return toLong(a[0]!);
    case 'todouble':
    case 'toreal':
    case 'real':
      return toReal(a[0]!);
    default:
      throw new NotChecked(`the function ${name} is outside the interpreted subset`);
  }
}

// ---- tabular evaluation ---------------------------------------------------------------------

interface Env {
  tables: Map<string, Row[]>;
  absent: (col: string) => V;
  /** Tables the records do not model (DeviceInfo for vendor events). */
  unmodelled: Set<string>;
}

const scope = (env: Env, row: Row): Scope => ({ row, absent: env.absent });
const withIndex = (from: Row, to: Row): Row => {
  if (from[INDEX] !== undefined) to[INDEX] = from[INDEX];
  return to;
};

function sortRows(env: Env, rows: Row[], by: { e: Node; dir: 'asc' | 'desc' }[]): Row[] {
  const keyed = rows.map((r) => ({ r, k: by.map((b) => evaluate(b.e, scope(env, r))) }));
  keyed.sort((x, y) => {
    for (const [i, b] of by.entries()) {
      const a = x.k[i]!;
      const c = y.k[i]!;
      // Kusto sorts nulls first in ascending order, last in descending order.
      const o = a === null && c === null ? 0 : a === null ? -1 : c === null ? 1 : order(a, c)!;
      if (o) return b.dir === 'asc' ? o : -o;
    }
    return 0;
  });
  return keyed.map((x) => x.r);
}

function runTab(t: Tab, env: Env): Row[] {
  switch (t.k) {
    case 'table':
      if (env.unmodelled.has(t.name)) throw new NotChecked(`the events carry no ${t.name} rows`);
      return env.tables.get(t.name) ?? [];
    case 'union':
      return t.parts.flatMap((p) => runTab(p, env));
    case 'pipe':
      return runOp(t.op, runTab(t.src, env), env);
  }
}

function runOp(op: Op, rows: Row[], env: Env): Row[] {
  switch (op.k) {
    case 'where':
      return rows.filter((r) => truth(evaluate(op.e, scope(env, r))) === true);
    case 'extend':
      return rows.map((r) => {
        const out: Row = withIndex(r, { ...r });
        for (const c of op.cols) out[c.name ?? 'Column1'] = evaluate(c.e, scope(env, out));
        return out;
      });
    case 'project':
      return rows.map((r) => withIndex(r, Object.fromEntries(op.cols.map((c) => [c.name ?? 'Column1', evaluate(c.e, scope(env, r))]))));
    case 'distinct': {
      const seen = new Set<string>();
      const out: Row[] = [];
      for (const r of rows) {
        const row: Row = Object.fromEntries(op.cols.map((c) => [c.name ?? 'Column1', evaluate(c.e, scope(env, r))]));
        const k = JSON.stringify(Object.values(row).map(toStr));
        if (!seen.has(k)) (seen.add(k), out.push(row));
      }
      return out;
    }
    case 'join':
    case 'lookup': {
      const right = runTab(op.right, env);
      const kind = op.kind ?? (op.k === 'lookup' ? 'leftouter' : 'innerunique');
      const matches = (l: Row, r: Row) => op.on.every((o) => equal(evaluate({ k: 'col', name: o.l }, scope(env, l)), evaluate({ k: 'col', name: o.r }, scope(env, r))) === true);
      if (kind === 'leftsemi') return rows.filter((l) => right.some((r) => matches(l, r)));
      if (kind === 'leftanti') return rows.filter((l) => !right.some((r) => matches(l, r)));
      if (op.k === 'lookup' && kind === 'leftouter')
        return rows.map((l) => {
          const r = right.find((x) => matches(l, x));
          const out: Row = withIndex(l, { ...l });
          for (const [c, v] of Object.entries(r ?? {})) if (!op.on.some((o) => o.r === c)) out[c] = v;
          if (!r) for (const c of Object.keys(right[0] ?? {})) if (!(c in out)) out[c] = isDateColumn(c) ? null : env.absent(c);
          return out;
        });
      throw new NotChecked(`join kind=${kind} is outside the interpreted subset`);
    }
    case 'sort':
      return sortRows(env, rows, op.by);
    case 'top':
      return sortRows(env, rows, [op.by]).slice(0, op.n);
    case 'take':
      return rows.slice(0, op.n);
    case 'summarize':
      return summarize(op, rows, env);
    case 'mv-apply':
      return rows.flatMap((r) => {
        const sub = expanded(evaluate(op.e, scope(env, r))).map((x) => withIndex(r, { ...r, [op.name]: x }));
        // The subquery's rows, with the columns of the source row that it does not produce.
        return op.ops.reduce((rs, o) => runOp(o, rs, env), sub).map((o) => withIndex(r, { ...r, ...o }));
      });
    case 'scan':
      return scan(op, rows, env);
  }
}

/** One step's state: its sequence's match id and the (extended) records of steps s_1..s_k. */
interface ScanState {
  matchId: bigint;
  records: Row[];
}

/**
 * The scan operator as Microsoft documents it (dataexplorer-docs, data-explorer/kusto/query/scan-operator.md,
 * "Matching logic"; summarised in docs/kql.md). Each record is evaluated against the steps from last to first.
 * Check 1: when s_k-1 has a state and the record meets s_k's condition under that state, s_k-1's state moves to
 * s_k (s_k-1 is left empty) and is extended by the record; check 2 is then skipped. Check 2: when s_k has an
 * active sequence (or is the first step) and the record meets the condition under s_k's own state, the record
 * replaces s_k's entry of that state; on the first step this begins a new sequence with the next match id.
 */
function scan(op: Extract<Op, { k: 'scan' }>, rows: Row[], env: Env): Row[] {
  const { steps } = op;
  if (steps.some((s) => s.output !== null && s.output !== 'all' && s.output !== 'none'))
    throw new NotChecked('scan steps with output=last are outside the interpreted subset');
  const states: (ScanState | null)[] = steps.map(() => null);
  const defaults: Row = {};
  // A declared column without a default is null; Kusto strings have no null, so "" (target-syntax.md §3.4).
  for (const d of op.declare) defaults[d.name] = d.def ? evaluate(d.def, scope(env, {})) : d.type === 'string' ? '' : null;
  let nextMatchId = 0n;
  const out: Row[] = [];
  // `s_j.Column` reads step s_j's record in a state; a step the state does not reach reads as absent, a
  // declared column as its default (the cumulative sum example: s1.cumulative_x starts at 0).
  const absent = (col: string) => (col in defaults ? defaults[col]! : env.absent(col));
  const stepScope = (row: Row, state: Row[]): Scope => ({
    row,
    absent,
    steps: new Map(steps.map((s, j) => [s.name, state[j] ?? {}])),
  });
  const extend = (r: Row, step: Step, state: Row[]): Row => {
    const row: Row = withIndex(r, { ...defaults, ...r });
    const s = stepScope(row, state);
    const assigned = step.assign.map((a) => [a.name ?? 'Column1', evaluate(a.e, s)] as const);
    for (const [name, v] of assigned) row[name] = v;
    return row;
  };
  const emit = (row: Row, step: Step, matchId: bigint) => {
    if (step.output === 'none') return;
    const o = withIndex(row, { ...row });
    if (op.matchId) o[op.matchId] = matchId;
    out.push(o);
  };
  for (const input of rows) {
    const r: Row = withIndex(input, { ...defaults, ...input });
    for (let k = steps.length - 1; k >= 0; k--) {
      const step = steps[k]!;
      const prev = k > 0 ? states[k - 1]! : null;
      if (prev && truth(evaluate(step.cond, stepScope(r, prev.records))) === true) {
        const row = extend(r, step, prev.records);
        states[k] = { matchId: prev.matchId, records: [...prev.records, row] };
        states[k - 1] = null;
        emit(row, step, prev.matchId);
        continue;
      }
      const own = states[k];
      if (!own && k > 0) continue;
      const state = own?.records ?? [];
      if (truth(evaluate(step.cond, stepScope(r, state))) !== true) continue;
      const row = extend(r, step, state);
      if (k === 0) states[0] = { matchId: nextMatchId++, records: [row] };
      else own!.records = [...state.slice(0, k), row];
      emit(row, step, states[k]!.matchId);
    }
  }
  return out;
}

/**
 * The records mv-expand makes of one value (Microsoft's mv-expand operator reference, "Returns"): one per array
 * element, none for an empty array or property bag, a single null record for null; a property bag expands to
 * one single-key bag per key (kind=bag, the default).
 */
function expanded(v: V): V[] {
  if (v === null) return [null];
  if (Array.isArray(v)) return v;
  if (typeof v === 'object' && !(v instanceof KDate) && !(v instanceof KSpan)) return Object.entries(v as Record<string, V>).map(([k, x]) => ({ [k]: x }) as V);
  throw new NotChecked('mv-apply over a scalar is outside the interpreted subset');
}

/**
 * `summarize arg_max(X, cols...) by keys` and `arg_min`: per group, the row with the largest (smallest) X, rows with
 * a null X taken only when the group has no other (arg_max page); `*` keeps all its columns, so the row is still
 * the event it came from. eqlport emits it for the latest DeviceInfo row and a sample's earliest event per filter.
 */
function summarize(op: Extract<Op, { k: 'summarize' }>, rows: Row[], env: Env): Row[] {
  // Without `by`, one row whatever the input (countif over no rows is 0). take_anyif(e, p): e of a row where p
  // holds (Microsoft's take_anyif page: a value for which the predicate is true, which one unspecified: here the
  // first); of no row, the type's empty value, "" for a string (Kusto strings are never null), else null.
  if (!op.by.length) {
    const known = (e: Node): e is Extract<Node, { k: 'call' }> => e.k === 'call' && ((e.name === 'countif' && e.args.length === 1) || (e.name === 'take_anyif' && e.args.length === 2));
    if (!op.aggs.every((a) => known(a.e)))
      throw new NotChecked('summarize without by other than countif and take_anyif is outside the interpreted subset');
    const holds = (p: Node) => rows.filter((r) => truth(evaluate(p, scope(env, r))) === true);
    return [
      Object.fromEntries(
        op.aggs.map((a) => {
          const { name, args } = a.e as Extract<Node, { k: 'call' }>;
          if (name === 'countif') return [a.name ?? 'countif_', BigInt(holds(args[0]!).length)];
          const first = holds(args[1]!)[0];
          const stringly = args[0]!.k === 'call' && (args[0] as { name: string }).name === 'tostring';
          return [a.name ?? 'take_anyif_', first ? evaluate(args[0]!, scope(env, first)) : stringly ? '' : null];
        }),
      ),
    ];
  }
  const agg = op.aggs[0]!.e;
  if (op.aggs.length !== 1 || agg.k !== 'call' || (agg.name !== 'arg_max' && agg.name !== 'arg_min'))
    throw new NotChecked('summarize other than one arg_max/arg_min is outside the interpreted subset');
  const groups = new Map<string, { keys: Row; best: Row; v: V }>();
  for (const r of rows) {
    const keys: Row = Object.fromEntries(op.by.map((b) => [b.name ?? 'Column1', evaluate(b.e, scope(env, r))]));
    const k = JSON.stringify(Object.values(keys).map(toStr));
    const v = evaluate(agg.args[0]!, scope(env, r));
    const g = groups.get(k);
    // Ties keep the first row (the page does not say which; the probes give no two events one time).
    const better = g === undefined || (v !== null && (g.v === null || order(v, g.v)! * (agg.name === 'arg_max' ? 1 : -1) > 0));
    if (better) groups.set(k, { keys, best: r, v });
  }
  return [...groups.values()].map((g) => {
    if (agg.args.some((a) => a.k === 'col' && a.name === '*')) return withIndex(g.best, { ...g.best, ...g.keys });
    const out: Row = { ...g.keys };
    for (const a of agg.args) {
      if (a.k !== 'col') throw new NotChecked('arg_max over expressions is outside the interpreted subset');
      out[a.name] = a.name in g.best ? g.best[a.name]! : env.absent(a.name);
    }
    return out;
  });
}

// ---- ECS -> Defender rows (driven by mappings/kql.yaml) ---------------------------------------

function ecsValue(ev: EcsEvent, path: string): unknown {
  if (path in ev) return ev[path];
  let cur: unknown = ev;
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    const obj = cur as Record<string, unknown>;
    // Dotted keys may sit at any level of a nested document.
    const rest = parts.slice(i).join('.');
    if (rest in obj) return obj[rest];
    cur = obj[parts[i]!];
  }
  return cur;
}
const valuesOf = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.filter((x) => x !== null && x !== undefined) : [v]);

/**
 * The class of an event: every classifying field of the class must hold one of its values (an event
 * without event.type is no process creation); the most specific class wins.
 */
function classOf(m: Mapping, ev: EcsEvent, foldCase = false) {
  const same = (a: string, b: string) => a === b || (foldCase && a.toLowerCase() === b.toLowerCase());
  let best: Mapping['classes'][number] | null = null;
  for (const cls of m.classes) {
    // A class naming its log's indices holds rows only for a rule on that log (forRuleIndex resolves it).
    if (Array.isArray(cls.source.index)) continue;
    const fits = Object.entries(cls.when).every(([k, want]) => {
      const have = valuesOf(ecsValue(ev, k === 'category' ? 'event.category' : k)).map(String);
      return have.some((h) => [want].flat().some((w) => same(h, w)));
    });
    if (fits && (!best || classScore(cls) > classScore(best))) best = cls;
  }
  return best;
}
/** Another product's log (a class with `requires`, e.g. CloudTrail in CloudAppEvents) holds the events of its dataset. */
const classScore = (c: Mapping['classes'][number]) => Object.keys(c.when).length + (Array.isArray(c.source.requires) ? 100 : 0);

/** Defender's hive spellings (field-mappings.md §5): RegistryKey starts with HKEY_*. */
function defenderHive(path: string): string {
  const m = /^(HKLM|HKEY_LOCAL_MACHINE|\\REGISTRY\\MACHINE|HKU|HKEY_USERS|\\REGISTRY\\USER|HKCU|HKEY_CURRENT_USER)(\\|$)/i.exec(path);
  if (!m) return path;
  const hive = m[1]!.toUpperCase();
  const full = hive.includes('MACHINE') || hive === 'HKLM' ? 'HKEY_LOCAL_MACHINE' : hive === 'HKCU' || hive === 'HKEY_CURRENT_USER' ? 'HKEY_CURRENT_USER' : 'HKEY_USERS';
  return full + path.slice(m[1]!.length);
}

// Defender's DeviceInfo OSPlatform values (learn.microsoft.com DeviceInfo table: e.g. Windows10, Linux, macOS).
const OS_PLATFORM: Record<string, string> = { windows: 'Windows10', linux: 'Linux', macos: 'macOS' };

/** ECS fields that name the last segment of a path field; Defender's name and path columns always agree. */
const NAME_OF_PATH: [string, string][] = [
  ['process.name', 'process.executable'],
  ['process.parent.name', 'process.parent.executable'],
  ['file.name', 'file.path'],
  ['dll.name', 'dll.path'],
];
/** ECS argv fields and the command lines they are parsed from. */
const ARGS_OF: [string, string][] = [
  ['process.args', 'process.command_line'],
  ['process.parent.args', 'process.parent.command_line'],
];

/**
 * Why no Defender row can be this event: ECS fields the rule names that Defender derives from one another
 * (a file name and its path, an extension and its name, argv and the Windows command line) disagree.
 */
function inconsistency(ev: EcsEvent, ruleFields: ReadonlySet<string> | undefined): string | undefined {
  if (!ruleFields) return undefined;
  const one = (f: string) => {
    const v = valuesOf(ecsValue(ev, f));
    return v.length === 1 ? String(v[0]) : undefined;
  };
  for (const [name, path] of NAME_OF_PATH) {
    if (!ruleFields.has(name) && !ruleFields.has(path)) continue;
    const n = one(name);
    const p = one(path);
    if (n !== undefined && p !== undefined && p !== n && !p.endsWith('/' + n) && !p.endsWith('\\' + n)) return `${path} ${JSON.stringify(p)} does not end with ${name} ${JSON.stringify(n)}`;
  }
  const ext = one('file.extension');
  const fname = one('file.name');
  if (ruleFields.has('file.extension') && ext !== undefined && fname !== undefined && !fname.endsWith('.' + ext)) return `file.extension ${JSON.stringify(ext)} is not the extension of file.name ${JSON.stringify(fname)}`;
  // Elastic fills file.extension whenever the name has one: a named extension that is absent is impossible.
  if (ruleFields.has('file.extension') && ext === undefined && fname !== undefined && /\.[^.\\/]+$/.test(fname)) return `file.name ${JSON.stringify(fname)} has an extension but file.extension is missing`;
  for (const [args, cmd] of ARGS_OF) {
    const a = valuesOf(ecsValue(ev, args)).map(String);
    const c = one(cmd);
    // ECS has both or neither: Defender stores the command line, Elastic derives argv and its count from it.
    if (a.length && c === undefined && ruleFields.has(cmd)) return `the event has ${args} but no ${cmd}`;
    if (!a.length && c !== undefined && ruleFields.has(args)) return `the event has ${cmd} but no ${args}`;
    const count = valuesOf(ecsValue(ev, `${args}_count`));
    if (ruleFields.has(`${args}_count`) && (a.length || c !== undefined) && (count.length !== 1 || Number(count[0]) !== (a.length || windowsArgv(c!).length)))
      return `${args}_count is not the number of ${args}`;
    // Elastic counts the argv it has: a count without argv or command line is no event Defender's row gives.
    if (ruleFields.has(`${args}_count`) && count.length && !a.length && c === undefined) return `the event has ${args}_count but no ${args} or ${cmd}`;
    if (!ruleFields.has(args)) continue;
    // Windows parses the command line (CommandLineToArgvW); on Linux and macOS Defender joins argv with spaces.
    if (a.length && c !== undefined && JSON.stringify(windowsArgv(c)) !== JSON.stringify(a) && a.join(' ') !== c) return `${args} is not the parse of ${cmd}`;
  }
  return undefined;
}

/**
 * Why no row can be this event: the source derives the ECS field from another value of the row (GitHub's
 * category is the head of its action), and the event's value is not what the source derives from the row's.
 */
/** The text a derived field is read from: its column, or a path into a dynamic column. */
function sourceText(row: Row, fm: FieldMapping): string | undefined {
  let from: unknown = row[[fm.field].flat()[0]!];
  for (const k of fm.transform?.startsWith('dynamic:') ? fm.transform.slice(8).split('.') : []) from = from && typeof from === 'object' && !Array.isArray(from) ? (from as Record<string, unknown>)[k] : undefined;
  return typeof from === 'string' && from !== '' ? from : undefined;
}
function writeSource(row: Row, fm: FieldMapping, text: string): void {
  const col = [fm.field].flat()[0]!;
  const path = fm.transform?.startsWith('dynamic:') ? fm.transform.slice(8).split('.') : [];
  if (!path.length) {
    row[col] = text;
    return;
  }
  const at = dynamicSlot(row, col, path.slice(0, -1), isIndex(path[0]!)) as Record<string, V>;
  at[path.at(-1)!] = text;
}
/**
 * A source text from which `extract` reads `value`: the pattern's literal text around its group (a `\b` or an
 * anchor dropped) with the value in the group's place, or null when the pattern has no such simple shape.
 */
function sourceFor(extract: string, value: string): string | null {
  const m = /^\^?((?:\\[^\w\s]|[^\\()[\]{}.*+?|^$])*?)(?:\\b)?((?:\\[^\w\s]|[^\\()[\]{}.*+?|^$])*)\((?!\?)[^()]*\)((?:\\[^\w\s]|[^\\()[\]{}.*+?|^$])*)\$?$/.exec(extract);
  if (!m) return null;
  const literal = (t: string) => t.replace(/\\(.)/g, '$1');
  const text = literal(m[1]! + m[2]!) + value + literal(m[3]!);
  const got = re2(extract).matcher(text);
  return got.find() && got.group(1) === value ? text : null;
}
function underived(ev: EcsEvent, ecs: string, fm: FieldMapping, row: Row): string | undefined {
  const have = valuesOf(ecsValue(ev, ecs)).map(String);
  const from = sourceText(row, fm);
  const m = typeof from === 'string' ? re2(fm.extract!).matcher(from) : null;
  const want = m?.find() ? m.group(1) : null;
  if (have.length > 1 || (have[0] ?? null) !== (want || null)) return `${ecs} ${JSON.stringify(have[0] ?? null)} is not what the source derives from ${JSON.stringify(from ?? null)}`;
  return undefined;
}

/** A stable number for an ECS entity id (FNV-1a), so one entity always gets the same Defender values. */
function entityNumber(id: string): number {
  let h = 0x811c9dc5;
  for (const c of id) h = Math.imul(h ^ c.codePointAt(0)!, 0x01000193) >>> 0;
  return h % 1_000_000;
}
// Process creation times derived from entity ids lie in a day no probe event uses.
const ENTITY_EPOCH = Date.UTC(2000, 0, 1);

/**
 * Defender identifies a process by its device, id and creation time (the mapping's `key` for an entity id);
 * ECS names it by one entity id. Every Defender process row has all of them, so a key column the event gives
 * no value for is derived from the entity id: one entity is one Defender process, two entities are two.
 */
function fillEntityKeys(ev: EcsEvent, entries: { ecs: string; fm: FieldMapping }[], row: Row, numeric: Set<string>): void {
  for (const { ecs, fm } of entries) {
    const id = valuesOf(ecsValue(ev, ecs))[0];
    if (!fm.key || id === undefined) continue;
    const n = entityNumber(String(id));
    for (const c of fm.key) {
      if (row[c] !== undefined && row[c] !== null) continue;
      if (isDateColumn(c)) row[c] = new KDate(ENTITY_EPOCH + n * 1000);
      else if (numeric.has(c)) row[c] = BigInt(n);
    }
  }
}

const isIndex = (k: string) => /^[0-9]+$/.test(k);
/**
 * The object or list at `path` in the dynamic column `col` of a row, made where missing: a key whose next key is a
 * number holds a list, padded with empty objects up to that index (a list has no holes); `list` makes the value at
 * the end of the path a list.
 */
function dynamicSlot(row: Row, col: string, path: readonly string[], rootIsList: boolean, list = false): Record<string, V> | V[] {
  const fits = (v: V | undefined, asList: boolean): v is Record<string, V> | V[] => !!v && typeof v === 'object' && !(v instanceof KDate) && !(v instanceof KSpan) && Array.isArray(v) === asList;
  const root = fits(row[col], rootIsList) ? row[col] : (row[col] = rootIsList ? [] : {});
  let at: Record<string, V> | V[] = root as Record<string, V> | V[];
  path.forEach((k, j) => {
    const next = j + 1 < path.length ? isIndex(path[j + 1]!) : list;
    if (Array.isArray(at)) while (at.length <= Number(k)) at.push({});
    const slot = at as Record<string, V>;
    at = (fits(slot[k], next) ? slot[k] : (slot[k] = next ? [] : {})) as Record<string, V> | V[];
  });
  return at;
}

export function defenderRecord(ev: EcsEvent, m: Mapping, ruleFields?: ReadonlySet<string>): KqlRecord | null {
  const exact = classOf(m, ev);
  // The class's values are the source's own spellings (a Security event's task name as event.action): an event
  // that has one only in another case is no event the source writes, even where a broader class would take it.
  const folded = classOf(m, ev, true);
  const otherCase = folded !== null && folded !== exact && (!exact || classScore(folded) > classScore(exact));
  const cls = otherCase ? folded : exact;
  if (!cls || typeof cls.source.table !== 'string') return null;
  const numeric = numericColumns(m);
  const row: Row = {};
  // own_fields: a cloud log (CloudAppEvents) has only its class's fields, none of the Device* columns.
  const fields: Record<string, FieldMapping | string | null> = { ...(cls.source.own_fields === true ? {} : m.fields), ...cls.fields };
  // A `prefix.*` entry stands for the rule's fields under that prefix (o365.audit.Parameters.ForwardTo).
  const covered = Object.keys(fields).filter((k) => k.endsWith('.*') && fields[k] !== null);
  const named = [...(ruleFields ?? [])].filter((f) => !(f in fields) && covered.some((k) => f.startsWith(k.slice(0, -1))));
  const entries = [...Object.entries(fields).filter(([ecs]) => !ecs.endsWith('.*')), ...named.map((f) => [f, fieldMapping(m, cls, f) ?? null] as const)].flatMap(([ecs, fm]) =>
    // A field the table holds where no query reads it (`unreadable`) is no column of the row.
    fm === null || (typeof fm === 'object' && fm.unreadable) ? [] : [{ ecs, fm: typeof fm === 'string' ? ({ field: fm } as FieldMapping) : fm }],
  );
  let unrepresentable: string | undefined = otherCase ? `${cls.source.table} holds ${JSON.stringify(cls.when)} spelled as written, not in another case` : undefined;
  const onWindows = valuesOf(ecsValue(ev, 'host.os.type')).map(String).includes('windows');
  const spelled = new Map<string, string[]>();
  const eventData = new Map<string, [string, string][]>();
  const set = (col: string, v: V) => {
    if (!(col in row)) row[col] = v;
  };
  const scalar = (vals: unknown[], col: string): V => {
    const v = vals[0];
    if (numeric.has(col) || isDateColumn(col)) {
      if (isDateColumn(col)) return typeof v === 'string' || typeof v === 'number' ? new KDate(new Date(v).getTime()) : null;
      const n = Number(v);
      return typeof v === 'boolean' || !Number.isFinite(n) ? null : Number.isInteger(n) ? BigInt(n) : n;
    }
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  };
  // Plain columns first, so a value ECS holds directly wins over one rebuilt from another field. A field the
  // source derives from another value (`extract`) writes nothing: it is checked against that value below.
  const derived = entries.filter((e) => e.fm.extract);
  const written = entries.filter((e) => !e.fm.extract);
  for (const { ecs, fm } of [...written.filter((e) => !e.fm.transform), ...written.filter((e) => e.fm.transform)]) {
    const vals = valuesOf(ecsValue(ev, ecs));
    if (!vals.length) continue;
    const cols = [fm.field].flat();
    if (vals.length > 1 && fm.transform !== 'args' && fm.transform !== 'words' && !fm.transform?.startsWith('dynamic-each:')) unrepresentable ??= `${ecs} holds ${vals.length} values, Defender's ${cols.join('/')} one`;
    if (fm.values) {
      const mapped = vals.flatMap((v) => [fm.values![String(v)] ?? []].flat());
      // The mapping's values are the ECS spellings of Defender's enumeration: a rule's value outside them
      // (event.type "file_create_event") names no Defender event.
      if (!mapped.length && ruleFields?.has(ecs)) unrepresentable ??= `Defender's ${cols.join('/')} has no value for ${ecs} ${JSON.stringify(vals[0])}`;
      // A number or boolean column holds only its enumeration's values (null otherwise).
      const typed = fm.type === 'number' || fm.type === 'boolean';
      if (!mapped.length && !typed) for (const c of cols) set(c, String(vals[0]));
      // Several ECS fields spell one column (event.type change and event.action rename both name ActionType):
      // the row holds a value all of them allow, or no Defender row gives the event.
      for (const c of mapped.length ? cols : []) {
        const prev = spelled.get(c);
        const both = prev ? mapped.filter((x) => prev.includes(x)) : mapped;
        if (!both.length) unrepresentable ??= `${ecs} ${JSON.stringify(vals[0])} and another field name different ${c} values`;
        spelled.set(c, both);
        if (both.length) row[c] = fm.type === 'number' ? BigInt(both[0]!) : fm.type === 'boolean' ? both[0] === 'true' : both[0]!;
      }
      continue;
    }
    const tr = fm.transform ?? '';
    for (const c of cols) {
      // Defender's command line: Windows' own; on Linux and macOS argv joined with spaces, unquoted (a macOS pair in
      // ../shared/vendor-pairs m365_defender: "/Applications/Microsoft Defender.app/... 13").
      if (tr === 'args') set(c, onWindows ? windowsCommandLine(vals.map(String)) : vals.map(String).join(' '));
      // A whitespace-separated list (PrivilegeList): a word with whitespace in it is no element of such a list.
      else if (tr === 'words') {
        if (vals.some((v) => /\s/.test(String(v)))) unrepresentable ??= `${ecs} has an element with whitespace, which ${c} cannot hold`;
        set(c, vals.map(String).join(' '));
      }
      else if (tr === 'extension') set(c, `file.${String(vals[0])}`);
      else if (tr === 'registry_path') {
        const path = defenderHive(String(vals[0]));
        const value = valuesOf(ecsValue(ev, 'registry.value')).map(String)[0];
        const splitAt = value !== undefined && path.toLowerCase().endsWith('\\' + value.toLowerCase()) ? path.length - value.length - 1 : -1;
        set(c, splitAt >= 0 ? path.slice(0, splitAt) : path);
        if (splitAt >= 0) set('RegistryValueName', path.slice(splitAt + 1));
      } else if (tr.startsWith('dynamic:')) {
        // A path into a dynamic column: the vendor's record as nested objects, a number an index into a list.
        const path = tr.slice(8).split('.');
        const at = dynamicSlot(row, c, path.slice(0, -1), isIndex(path[0]!)) as Record<string, V>;
        if (!(path.at(-1)! in at)) at[path.at(-1)!] = scalar(vals, '');
      } else if (tr.startsWith('dynamic-each:')) {
        // A value in each element of a list (`[]`) or in the element whose key names it (`[Name=ForwardTo]`):
        // one element per ECS value, merged into the elements other fields of the same list made. Without a
        // list path the column itself is the list.
        const m = /^dynamic-each:([^[\]]*)\[(?:(\w+)=([^]+))?\]\.([\w.]+)$/.exec(tr);
        if (!m) continue;
        const list = m[1] ? m[1].split('.') : [];
        const items = (list.length ? dynamicSlot(row, c, list, false, true) : dynamicSlot(row, c, [], true)) as Record<string, V>[];
        const path = m[4]!.split('.');
        vals.forEach((v, i) => {
          const item = m[2] ? ((items[items.length] = { [m[2]]: m[3]! }) as Record<string, V>) : ((items[i] ??= {}) as Record<string, V>);
          let el = item;
          for (const k of path.slice(0, -1)) el = (el[k] && typeof el[k] === 'object' ? el[k] : (el[k] = {})) as Record<string, V>;
          el[path.at(-1)!] = typeof v === 'string' ? v : JSON.stringify(v);
        });
      } else if (tr.startsWith('eventdata:')) {
        // SecurityEvent's EventData: one Data element per field, named by its Name attribute.
        eventData.set(c, [...(eventData.get(c) ?? []), [tr.slice(10), typeof vals[0] === 'object' ? JSON.stringify(vals[0]) : String(vals[0])]]);
      } else if (tr.startsWith('json:')) {
        const obj = (row[c] ? JSON.parse(row[c] as string) : {}) as Record<string, unknown>;
        obj[tr.slice(5)] = vals[0];
        row[c] = JSON.stringify(obj);
      } else if (tr === '') set(c, scalar(vals, c));
      // args_count and unknown transforms hold no value of their own.
    }
  }
  const xmlText = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  for (const [c, items] of eventData) set(c, `<EventData>${items.map(([n, v]) => `<Data Name="${n}">${xmlText(v)}</Data>`).join('')}</EventData>`);
  unrepresentable ??= inconsistency(ev, ruleFields);
  for (const { ecs, fm } of derived) {
    if (!ruleFields?.has(ecs)) continue;
    // A source value no field the rule reads spells (the executable's path of a process whose name the rule tests)
    // can be made up from the derived one, as the source would hold it; one the rule reads stays as the event has it.
    const readsSource = written.some((e) => ruleFields.has(e.ecs) && [e.fm.field].flat()[0] === [fm.field].flat()[0] && e.fm.transform === fm.transform);
    const value = valuesOf(ecsValue(ev, ecs)).map(String);
    if (!readsSource && value.length === 1 && sourceText(row, fm) === undefined) {
      const made = sourceFor(fm.extract!, value[0]!);
      if (made !== null) writeSource(row, fm, made);
    }
    unrepresentable ??= underived(ev, ecs, fm, row);
  }
  // Elastic's m365_defender pipeline writes event.action (the lowercased ActionType) on every row that has an
  // ActionType (VP): a rule that reads event.action never sees a Defender event without one.
  const action = entries.find((e) => e.ecs === 'event.action')?.fm;
  if (action?.values && ruleFields?.has('event.action') && !valuesOf(ecsValue(ev, 'event.action')).length) unrepresentable ??= 'every Defender row with an ActionType gives event.action';
  // `event_category`: Elastic's pipeline gives every event of the log this category (Entra sign-ins: authentication).
  const category = cls.source.event_category;
  const categories = valuesOf(ecsValue(ev, 'event.category')).map(String);
  if (typeof category === 'string' && categories.length && !categories.includes(category)) unrepresentable ??= `every ${cls.source.table} row is an event of category ${category}`;
  // `event_categories`: the only categories Elastic's pipeline gives an event of the log (GitHub: configuration, web, iam).
  const possible = cls.source.event_categories;
  if (Array.isArray(possible) && categories.some((c) => !possible.includes(c))) unrepresentable ??= `Elastic gives an event of this log no category but ${possible.join(', ')}`;
  // `filter`: columns every row of the class has (CloudAppEvents: the connected app).
  for (const [col, v] of Object.entries((cls.source.filter ?? {}) as Record<string, string | number | boolean | (string | number | boolean)[]>)) {
    const first = [v].flat()[0]!;
    set(col, typeof first === 'number' && Number.isInteger(first) ? BigInt(first) : first);
  }
  // `true_keys`: JSON keys every row of the class holds as true.
  for (const [col, keys] of Object.entries((cls.source.true_keys ?? {}) as Record<string, string[]>)) {
    const obj = (isStr(row[col] ?? null) && row[col] ? JSON.parse(row[col] as string) : {}) as Record<string, unknown>;
    for (const k of keys) obj[k] = true;
    row[col] = JSON.stringify(obj);
  }
  if (!('ActionType' in row)) {
    const types = cls.source.action_types;
    if (Array.isArray(types) && types.length) row.ActionType = String(types[0]);
  }
  // Every Defender device row has a DeviceId and a DeviceName, which Elastic's m365_defender pipeline writes to
  // host.id and host.name (every Defender pair in ../shared/vendor-pairs has both): an event without the one a
  // rule reads (a join key left empty) is no event Elastic writes from Defender.
  for (const { ecs, fm } of entries)
    if ((ecs === 'host.id' || ecs === 'host.name') && (fm.field === 'DeviceId' || fm.field === 'DeviceName') && !fm.transform && ruleFields?.has(ecs) && !valuesOf(ecsValue(ev, ecs)).length)
      unrepresentable ??= `every Defender row has a ${fm.field}, which Elastic writes to ${ecs}`;
  const os = valuesOf(ecsValue(ev, 'host.os.type')).map(String);
  const platform = os.map((o) => OS_PLATFORM[o]).find((p) => p !== undefined) ?? os[0];
  // Every Defender row has a device; without host.id, devices are told apart by their OS.
  if (!isStr(row.DeviceId ?? null)) row.DeviceId = `device-without-id/${platform ?? ''}`;
  fillEntityKeys(ev, entries, row, numeric);
  const ts = ecsValue(ev, '@timestamp');
  // A Sentinel table (`time_column`) holds the event's time in its own column, the query names it Timestamp.
  const timeColumn = typeof cls.source.time_column === 'string' ? cls.source.time_column : 'Timestamp';
  row[timeColumn] = typeof ts === 'string' || typeof ts === 'number' ? new KDate(new Date(ts).getTime()) : null;
  const rowId = typeof cls.source.row_id === 'string' ? { rowId: cls.source.row_id } : {};
  return { table: cls.source.table, row, modelsDeviceInfo: true, ...rowId, ...(unrepresentable ? { unrepresentable } : {}), ...(platform !== undefined ? { deviceInfo: { DeviceId: row.DeviceId, OSPlatform: platform, Timestamp: row.Timestamp } } : {}) };
}

// ---- the interpreter ------------------------------------------------------------------------

function absentFor(m: Mapping): (col: string) => V {
  const numeric = numericColumns(m);
  // Kusto's missing number, date or boolean is null; a missing string is "".
  const booleans = new Set(m.classes.flatMap((c) => Object.values(c.fields ?? {}).flatMap((fm) => (fm && typeof fm === 'object' && fm.type === 'boolean' ? [fm.field].flat() : []))));
  return (col) => (numeric.has(col) || booleans.has(col) || isDateColumn(col) ? null : '');
}

export function parseKql(text: string): KqlProgram {
  try {
    return parse(text) as KqlProgram;
  } catch (e) {
    if (e instanceof PeggySyntaxError) throw new InterpreterError(`${e.location.start.line}:${e.location.start.column}: ${e.message}`);
    throw e;
  }
}

/** The tables the records fill, and each event's identity (for rows that carry earlier events). */
function environment(records: readonly (KqlRecord | null)[], mapping: Mapping): { env: Env; identities: Map<string, number> } {
  const tables = new Map<string, Row[]>();
  const unmodelled = new Set<string>();
  const identities = new Map<string, number>();
  for (const [i, rec] of records.entries()) {
    if (!rec) continue;
    // Every Defender row has a ReportId, a counter that is unique with the device and time (Defender's
    // common columns); an ECS event does not say, so it gets its position.
    const row: Row = { ...rec.row, ReportId: rec.row.ReportId ?? BigInt(i + 1), [INDEX]: i };
    // A table without ReportId identifies its rows by its own column (a GUID there), which a sequence carries as
    // ReportId: the event's position again.
    if (rec.rowId && !isStr(row[rec.rowId] ?? null)) row[rec.rowId] = `row-${i + 1}`;
    const report = rec.rowId ? row[rec.rowId]! : (row.ReportId ?? null);
    // A cloud log has no DeviceId: a query over it carries Timestamp and ReportId only, so both keys are kept.
    const time = row.Timestamp ?? row.TimeGenerated ?? null;
    const ids = [identity(time, row.DeviceId ?? null, report), identity(time, null, report)];
    // A log without DeviceId and ReportId (SecurityEvent) names the columns that identify its rows (`identity`).
    for (const cols of ownIdentities(mapping, rec.table)) ids.push(ownIdentity(cols, (c) => (c === 'Timestamp' ? time : (row[c] ?? null))));
    for (const id of ids) identities.set(id, identities.has(id) && identities.get(id) !== i ? -1 : i);
    tables.set(rec.table, [...(tables.get(rec.table) ?? []), row]);
    if (rec.deviceInfo) tables.set('DeviceInfo', [...(tables.get('DeviceInfo') ?? []), rec.deviceInfo]);
    if (!rec.modelsDeviceInfo) unmodelled.add('DeviceInfo');
  }
  return { env: { tables, absent: absentFor(mapping), unmodelled }, identities };
}

/** The identifying columns the mapping declares for a table's rows (`identity`), or for every table. */
function ownIdentities(mapping: Mapping, table?: string): string[][] {
  const lists = mapping.classes.filter((c) => (table === undefined || c.source.table === table) && Array.isArray(c.source.identity)).map((c) => (c.source.identity as unknown[]).map(String));
  return [...new Map(lists.map((l) => [JSON.stringify(l), l])).values()];
}
const ownIdentity = (cols: string[], value: (c: string) => V) => JSON.stringify(['own', cols, cols.map((c) => toStr(value(c)))]);

/** Run a program over records; rows are traced back to the events they came from. */
export function runKql(program: KqlProgram, records: readonly (KqlRecord | null)[], mapping: Mapping): InterpreterRun {
  if (program.lets.length) return { notChecked: 'let statements are outside the interpreted subset' };
  const { env, identities } = environment(records, mapping);
  try {
    const rows = runTab(program.body, env);
    if (rows.some((r) => r[INDEX] === undefined)) return { notChecked: 'a result row cannot be traced back to an event' };
    const platforms = devicePlatforms(records);
    const unrepresentable = records.flatMap((r, i) => (r?.unrepresentable || (r && (platforms.get(toStr(r.row.DeviceId ?? null))?.size ?? 0) > 1) ? [i] : []));
    const matchId = scanMatchId(program.body);
    const matches = rows.some((r) => carries(r, 1)) ? traced(rows, identities, ownIdentities(mapping)) : matchId ? sequences(rows, matchId) : singles(rows);
    return { matches, ...(unrepresentable.length ? { unrepresentable } : {}) };
  } catch (e) {
    if (e instanceof NotChecked) return { notChecked: e.message };
    throw e;
  }
}

/** The query's last scan and the table it reads. */
function lastScan(t: Tab): { op: Extract<Op, { k: 'scan' }>; src: Tab } | null {
  if (t.k !== 'pipe') return null;
  return t.op.k === 'scan' ? { op: t.op, src: t.src } : lastScan(t.src);
}

/** Whether an expression reads a scan state: an earlier step's record (s1.Col) or a declared column. */
function readsState(n: Node, stepNames: ReadonlySet<string>, declared: ReadonlySet<string>): boolean {
  switch (n.k) {
    case 'col':
      return stepNames.has(n.name) || declared.has(n.name);
    case 'neg':
      return readsState(n.e, stepNames, declared);
    case 'bin':
      return readsState(n.l, stepNames, declared) || readsState(n.r, stepNames, declared);
    case 'list':
      return readsState(n.l, stepNames, declared) || n.items.some((i) => readsState(i, stepNames, declared));
    case 'call':
      return n.args.some((a) => readsState(a, stepNames, declared));
    case 'member':
      return readsState(n.obj, stepNames, declared) || readsState(n.key, stepNames, declared);
    default:
      return false;
  }
}

const conjuncts = (n: Node): Node[] => (n.k === 'bin' && n.op === 'and' ? [...conjuncts(n.l), ...conjuncts(n.r)] : [n]);

/**
 * Which scan steps accept each record on their own: the record reaches the scan (through the tables, filters
 * and joins before it) as a row that meets the step's conditions that read no scan state (keys, time window
 * and earlier steps' records do). Null without a scan.
 */
export function kqlStepAccepts(program: KqlProgram, records: readonly (KqlRecord | null)[], mapping: Mapping): boolean[][] | null {
  const scan = program.lets.length ? null : lastScan(program.body);
  if (!scan) return null;
  const { env } = environment(records, mapping);
  const stepNames = new Set(scan.op.steps.map((s) => s.name));
  const declared = new Set(scan.op.declare.map((d) => d.name));
  const own = scan.op.steps.map((s) => conjuncts(s.cond).filter((c) => !readsState(c, stepNames, declared)));
  try {
    const out = records.map(() => scan.op.steps.map(() => false));
    for (const row of runTab(scan.src, env)) {
      const at = row[INDEX];
      if (at === undefined) return null;
      for (const [k, conds] of own.entries()) if (conds.every((c) => truth(evaluate(c, scope(env, row))) === true)) out[at]![k] = true;
    }
    return out;
  } catch (e) {
    if (e instanceof NotChecked) return null;
    throw e;
  }
}

/** The match id column of the query's last scan, when the output keeps it. */
function scanMatchId(t: Tab): string | null {
  if (t.k !== 'pipe') return null;
  if (t.op.k === 'scan') return t.op.matchId;
  if (t.op.k === 'project' && !t.op.cols.some((c) => c.name === scanMatchId(t.src))) return null;
  return scanMatchId(t.src);
}

/**
 * The OS platforms the ECS events of each device report (absent: ""). Defender keeps one OS per device
 * (DeviceInfo), so events of one host.id that disagree about host.os.type cannot all be Defender rows.
 */
function devicePlatforms(records: readonly (KqlRecord | null)[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of records) {
    if (!r?.modelsDeviceInfo) continue;
    const device = toStr(r.row.DeviceId ?? null);
    out.set(device, (out.get(device) ?? new Set()).add(toStr(r.deviceInfo?.OSPlatform ?? null)));
  }
  return out;
}

/** Defender identifies an event by its Timestamp, DeviceId and ReportId (the columns a custom detection needs). */
const identity = (ts: V, device: V, report: V) => JSON.stringify([toStr(ts), toStr(device), toStr(report)]);
/** Whether a row carries the identity of an earlier event in the columns Timestamp<j>, DeviceId<j>, ReportId<j>. */
const carries = (r: Row, j: number) => r[`Timestamp${j}`] !== undefined && r[`Timestamp${j}`] !== null;

/**
 * Rows that carry earlier events: each row is one match, the events named by its Timestamp1/DeviceId1/
 * ReportId1, Timestamp2/... columns in order, then the row's own event.
 */
function traced(rows: Row[], identities: Map<string, number>, own: string[][]): number[][] {
  return rows.map((r) => {
    const events: number[] = [];
    for (let j = 1; carries(r, j); j++) {
      // A row of a log with its own identifying columns carries each of them, numbered.
      const cols = own.find((l) => l.every((c) => r[`${c}${j}`] !== undefined));
      const id = cols ? ownIdentity(cols, (c) => r[`${c}${j}`] ?? null) : identity(r[`Timestamp${j}`]!, r[`DeviceId${j}`] ?? null, r[`ReportId${j}`] ?? null);
      const i = identities.get(id);
      const named = (cols ?? ['Timestamp', 'DeviceId', 'ReportId']).map((c) => `${c}${j}`).join('/');
      if (i === undefined || i < 0) throw new NotChecked(`the event in ${named} of a result row is ${i === undefined ? 'no input event' : 'not one input event'}`);
      events.push(i);
    }
    return [...events, r[INDEX]!];
  });
}

const singles = (rows: Row[]) => [...new Set(rows.map((r) => r[INDEX]!))].sort((a, b) => a - b).map((i) => [i]);

/**
 * What a scan's output with a match id and no carried events reports: every row is a record matched to a step,
 * tagged with its sequence's match id. A sequence is the rows of one match id in output order, whether or not it
 * reached the last step (output=all is the default for every step).
 */
function sequences(rows: Row[], matchId: string): number[][] {
  const groups = new Map<string, number[]>();
  for (const r of rows) {
    const id = toStr(r[matchId] ?? null);
    groups.set(id, [...(groups.get(id) ?? []), r[INDEX]!]);
  }
  return [...groups.values()];
}

export const kqlInterpreter: Interpreter<KqlProgram, KqlRecord> = {
  target: 'kql',
  parse: (output) => parseKql(output),
  fromEcs(event, ctx: InterpreterContext) {
    // ECS's allowed values of event.category and event.type are lowercase (ECS categorization fields).
    const odd = ['event.category', 'event.type'].flatMap((f) => valuesOf(ecsValue(event, f)).map(String)).find((v) => v !== v.toLowerCase());
    if (odd !== undefined) return new Unrepresentable(`${JSON.stringify(odd)} is not one of ECS's lowercase categorization values`);
    return defenderRecord(event, ctx.mapping, ctx.ruleFields);
  },
  fromVendor(source, raw, ctx) {
    if (source !== 'm365_defender/event') return null;
    const r = raw as { category?: unknown; properties?: Record<string, unknown> };
    if (typeof r?.category !== 'string' || !r.category.startsWith('AdvancedHunting-') || !r.properties) return null;
    const numeric = numericColumns(ctx.mapping);
    const row: Row = {};
    for (const [c, v] of Object.entries(r.properties)) {
      if (isDateColumn(c)) row[c] = typeof v === 'string' ? new KDate(new Date(v).getTime()) : null;
      else if (numeric.has(c) || typeof v === 'number') row[c] = v === null || v === undefined ? null : Number.isInteger(Number(v)) ? BigInt(Number(v)) : Number(v);
      // Defender string columns are never null: a missing string is "" (target-syntax.md §3.4).
      else row[c] = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    }
    return { table: r.category.slice('AdvancedHunting-'.length), row, modelsDeviceInfo: false };
  },
  run: (program, records, ctx) => runKql(program, records, ctx.mapping),
  stepAccepts: (program, records, ctx) => kqlStepAccepts(program, records, ctx.mapping),
};
