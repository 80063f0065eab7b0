// Keeping probe events possible: ECS derives some fields from others (process.name is the basename of
// process.executable; file.name, file.extension and file.directory are parts of file.path; process.args is
// the command line split, process.args_count its length; registry.path is hive\key\value). A probe that
// varies one field of such a group carries the change into the group's other fields, so the event is one
// real telemetry could hold and every target's interpreter can compare it (impossible events are left out
// of the comparison on both sides, which shrinks what verification checks).
import { ecsField } from '../ecs.js';

export type EcsEvent = Record<string, unknown>;

type Kind = 'proc' | 'argv' | 'file' | 'reg' | 'head';
interface Group {
  kind: Kind;
  /** The group's fields by role. */
  f: Record<string, string>;
}

const has = (ev: EcsEvent, name: string) => ev[name] !== undefined && ev[name] !== null;
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
const text = (v: unknown) => (typeof v === 'string' ? v : String(v));
/** A value of one, or an array of several, as the driver held it. */
const shaped = (driver: unknown, values: unknown[]) => (Array.isArray(driver) ? values : values[0]);

const lastSep = (p: string) => Math.max(p.lastIndexOf('\\'), p.lastIndexOf('/'));
export const basename = (p: string) => p.slice(lastSep(p) + 1);
const dirname = (p: string) => (lastSep(p) < 0 ? null : p.slice(0, lastSep(p)));
/** ECS file.extension: the part after the last dot of the name, without the dot; none when there is no dot. */
export const extensionOf = (name: string) => {
  const i = name.lastIndexOf('.');
  return i < 0 || i === name.length - 1 ? null : name.slice(i + 1);
};
const stem = (name: string) => (extensionOf(name) === null ? name : name.slice(0, name.lastIndexOf('.')));

function osOf(ev: EcsEvent, hint?: string): 'windows' | 'posix' {
  const os = list(ev['host.os.type'])[0];
  if (typeof os === 'string') return os === 'windows' ? 'windows' : 'posix';
  if (hint && hint.includes('/') && !hint.includes('\\')) return 'posix';
  return 'windows';
}
const sepFor = (ev: EcsEvent, path?: string | null) =>
  path && /[\\/]/.test(path) ? (path.includes('/') && !path.includes('\\') ? '/' : '\\') : osOf(ev) === 'windows' ? '\\' : '/';
const defaultDir = (ev: EcsEvent) => (osOf(ev) === 'windows' ? 'C:\\eqlport' : '/opt/eqlport');
const join = (dir: string, name: string, sep: string) => (dir.endsWith(sep) ? dir + name : `${dir}${sep}${name}`);

// ---- command lines ---------------------------------------------------------------------------

/** One argument as Windows quotes it for CommandLineToArgvW; POSIX quoting for other systems. */
function quoteArg(a: string, os: 'windows' | 'posix'): string {
  if (a !== '' && !/[\s"']/.test(a)) return a;
  if (os === 'posix') return `'${a.replace(/'/g, `'\\''`)}'`;
  let out = '"';
  let slashes = 0;
  for (const c of a) {
    if (c === '\\') slashes++;
    else if (c === '"') {
      // The backslashes already written double, and one more escapes the quote.
      out += '\\'.repeat(slashes + 1) + '"';
      slashes = 0;
      continue;
    } else slashes = 0;
    out += c;
  }
  return out + '\\'.repeat(slashes) + '"';
}
export const joinArgs = (args: readonly string[], os: 'windows' | 'posix') => args.map((a) => quoteArg(a, os)).join(' ');

/** Split a command line the way the system would (CommandLineToArgvW on Windows, a shell's quotes elsewhere). */
export function splitArgs(cmd: string, os: 'windows' | 'posix'): string[] {
  const out: string[] = [];
  let cur = '';
  let any = false;
  let quote: string | null = null;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (os === 'windows' && c === '\\') {
      let n = 0;
      while (cmd[i + n] === '\\') n++;
      if (cmd[i + n] === '"') {
        cur += '\\'.repeat(Math.floor(n / 2));
        if (n % 2) cur += '"';
        else quote = quote ? null : '"';
        i += n;
      } else {
        cur += '\\'.repeat(n);
        i += n - 1;
      }
      any = true;
      continue;
    }
    if (quote) {
      if (c === quote) quote = null;
      else if (os === 'posix' && quote === '"' && c === '\\' && i + 1 < cmd.length) cur += cmd[++i]!;
      else cur += c;
      continue;
    }
    if (c === '"' || (os === 'posix' && c === "'")) {
      quote = c;
      any = true;
    } else if (/\s/.test(c)) {
      if (any) out.push(cur);
      cur = '';
      any = false;
    } else if (os === 'posix' && c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i]!;
      any = true;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push(cur);
  return out;
}

// ---- groups ----------------------------------------------------------------------------------

const GITHUB_HEAD = /^([a-z_]+)\./;

/** The groups the event or the filter touches. */
export function groupsOf(names: Iterable<string>): Group[] {
  const out = new Map<string, Group>();
  const add = (kind: Kind, prefix: string, roles: Record<string, string>) => {
    const f: Record<string, string> = {};
    for (const [role, leaf] of Object.entries(roles)) if (ecsField(`${prefix}.${leaf}`) || prefix === 'dll') f[role] = `${prefix}.${leaf}`;
    out.set(`${kind} ${prefix}`, { kind, f });
  };
  for (const n of names) {
    // Elastic's GitHub audit pipeline groks github.category out of event.action: its [a-z_]+ head before a dot.
    if (n === 'github.category') out.set('head github', { kind: 'head', f: { head: 'github.category', whole: 'event.action' } });
    const m = /^(.*)\.(name|executable|args|command_line|args_count|path|extension|directory|key|value|hive)$/.exec(n);
    if (!m) continue;
    const [, prefix, leaf] = m as unknown as [string, string, string];
    if (/^process(\.\w+)?$/.test(prefix) && ecsField(`${prefix}.executable`)) {
      if (leaf === 'name' || leaf === 'executable') add('proc', prefix, { name: 'name', exe: 'executable' });
      if (leaf === 'args' || leaf === 'command_line' || leaf === 'args_count') add('argv', prefix, { args: 'args', cmd: 'command_line', count: 'args_count' });
    } else if (prefix === 'file' && ['path', 'name', 'extension', 'directory'].includes(leaf))
      add('file', prefix, { path: 'path', name: 'name', ext: 'extension', dir: 'directory' });
    else if (prefix === 'dll' && (leaf === 'path' || leaf === 'name')) add('file', prefix, { path: 'path', name: 'name' });
    else if (prefix === 'registry' && ['path', 'key', 'value', 'hive'].includes(leaf)) add('reg', prefix, { path: 'path', key: 'key', value: 'value', hive: 'hive' });
  }
  return [...out.values()];
}

/**
 * Carry the value of `driver` (just set, or removed) into the other fields of its group that the event holds
 * or the filter names (`named`). A removed field that ECS derives, or derives others from, removes the group.
 */
export function derive(ev: EcsEvent, driver: string, named: ReadonlySet<string>): EcsEvent {
  const g = groupsOf([driver])[0];
  if (!g) return ev;
  const out = { ...ev };
  const role = Object.keys(g.f).find((r) => g.f[r] === driver)!;
  const wants = (r: string) => g.f[r] !== undefined && (has(ev, g.f[r]!) || named.has(g.f[r]!));
  const set = (r: string, v: unknown) => {
    if (!g.f[r]) return;
    if (v === undefined || v === null || (Array.isArray(v) && !v.length)) delete out[g.f[r]!];
    else out[g.f[r]!] = v;
  };
  const dropGroup = () => {
    for (const r of Object.keys(g.f)) if (r !== role && has(out, g.f[r]!)) delete out[g.f[r]!];
  };
  const v = ev[driver];
  const absent = v === undefined || v === null;
  const vals = list(v).map(text);
  switch (g.kind) {
    case 'proc':
      if (absent) return dropGroup(), out;
      if (role === 'exe') {
        // An executable path ending in a separator (a glob's boundary instance) names no file: nothing to derive.
        if (wants('name') && vals.every((x) => basename(x) !== '')) set('name', shaped(v, vals.map(basename)));
      } else if (wants('exe')) {
        const exe = list(ev[g.f.exe!]).map(text)[0];
        const dir = (exe !== undefined ? dirname(exe) : null) ?? defaultDir(ev);
        set('exe', shaped(v, vals.map((n) => join(dir, n, sepFor(ev, exe ?? dir)))));
      }
      return out;
    case 'argv': {
      if (role === 'count') {
        const n = typeof v === 'number' ? v : NaN;
        const args = list(ev[g.f.args!]).map(text);
        if (!Number.isInteger(n) || n < 0 || n > 1000 || !has(ev, g.f.args!)) return out;
        const resized = Array.from({ length: n }, (_, i) => args[i] ?? `arg${i}`);
        set('args', resized);
        if (wants('cmd')) set('cmd', joinArgs(resized, osOf(ev, resized[0])));
        return out;
      }
      if (absent) return dropGroup(), out;
      const args = role === 'args' ? vals : vals.flatMap((c) => splitArgs(c, osOf(ev, c)));
      if (role === 'args' && wants('cmd')) set('cmd', joinArgs(args, osOf(ev, args[0])));
      if (role === 'cmd' && wants('args')) set('args', args);
      if (wants('count')) set('count', args.length);
      return out;
    }
    case 'file': {
      if (absent && role !== 'ext') return dropGroup(), out;
      const path = list(ev[g.f.path!]).map(text)[0];
      const sep = sepFor(ev, path ?? list(ev[g.f.dir ?? '']).map(text)[0]);
      const dirOf = () => (g.f.dir && has(ev, g.f.dir) ? text(list(ev[g.f.dir])[0]) : null) ?? (path !== undefined ? dirname(path) : null) ?? defaultDir(ev);
      const nameOf = () => (has(ev, g.f.name!) ? text(list(ev[g.f.name!])[0]) : null) ?? (path !== undefined ? basename(path) : 'eqlport.bin');
      let names: string[];
      let dirs: string[];
      if (role === 'path') {
        names = vals.map(basename);
        dirs = vals.map((p) => dirname(p) ?? '');
      } else if (role === 'name') {
        names = vals;
        dirs = [dirOf()];
      } else if (role === 'dir') {
        names = [nameOf()];
        dirs = vals;
      } else {
        names = absent ? [stem(nameOf())] : vals.map((e) => `${stem(nameOf())}.${e}`);
        dirs = [dirOf()];
      }
      const many = Array.isArray(v);
      const pick = (xs: string[]) => (many ? xs : xs[0]);
      if (role !== 'path' && wants('path')) set('path', pick(names.map((n, i) => join(dirs[Math.min(i, dirs.length - 1)]!, n, sep))));
      if (role !== 'name' && wants('name')) set('name', pick(names));
      if (role !== 'dir' && wants('dir')) set('dir', pick(dirs));
      if (role !== 'ext' && wants('ext')) {
        const exts = names.map(extensionOf).filter((e): e is string => e !== null);
        set('ext', exts.length ? pick(exts) : undefined);
      }
      return out;
    }
    case 'head': {
      const whole = list(ev[g.f.whole!]).map(text)[0];
      if (role === 'whole') set('head', absent ? undefined : (GITHUB_HEAD.exec(vals[0]!)?.[1] ?? undefined));
      else if (absent) delete out[g.f.whole!];
      else set('whole', `${vals[0]!}.${whole?.includes('.') ? whole.slice(whole.indexOf('.') + 1) : 'eqlport'}`);
      return out;
    }
    case 'reg': {
      if (absent && role !== 'hive') return dropGroup(), out;
      const path = list(ev[g.f.path!]).map(text)[0];
      const segs = path?.split('\\') ?? [];
      let hive = has(ev, g.f.hive!) ? text(list(ev[g.f.hive!])[0]) : segs.length > 1 ? segs[0]! : 'HKLM';
      let key = has(ev, g.f.key!) ? text(list(ev[g.f.key!])[0]) : segs.length > 2 ? segs.slice(1, -1).join('\\') : 'SOFTWARE\\eqlport';
      let value = has(ev, g.f.value!) ? text(list(ev[g.f.value!])[0]) : segs.length ? segs[segs.length - 1]! : 'eqlport';
      if (role === 'path') {
        const s = vals[0]!.split('\\');
        if (wants('value')) set('value', shaped(v, vals.map((p) => p.split('\\').pop()!)));
        if (wants('hive') && s.length > 1) set('hive', s[0]);
        if (wants('key') && s.length > 2) set('key', s.slice(1, -1).join('\\'));
        return out;
      }
      if (role === 'hive') {
        if (absent) return out;
        hive = vals[0]!;
      } else if (role === 'key') key = vals[0]!;
      else value = vals[0]!;
      if (wants('path')) set('path', role === 'value' ? shaped(v, vals.map((x) => `${hive}\\${key}\\${x}`)) : `${hive}\\${key}\\${value}`);
      return out;
    }
  }
}

/**
 * A base event whose groups agree, keeping what the filter needs (`ok`): first every field's value kept and
 * the group completed around them, then each field in turn driving the others. The event is returned as it
 * was when no completion keeps `ok`.
 */
export function reconcile(ev: EcsEvent, named: ReadonlySet<string>, ok: (ev: EcsEvent) => boolean): EcsEvent {
  let cur = ev;
  for (const g of groupsOf([...Object.keys(ev), ...named])) {
    const present = Object.values(g.f).filter((n) => has(cur, n));
    if (!present.length) continue;
    const tries: EcsEvent[] = [];
    const merged = merge(cur, g, named);
    if (merged) tries.push(merged);
    // A name that has to start like one value and end like another (startsWith(process.name) and
    // endsWith(process.executable)): the two joined.
    const nf = g.f.name, pf = g.kind === 'proc' ? g.f.exe : g.kind === 'file' ? g.f.path : undefined;
    if (nf && pf && typeof cur[nf] === 'string' && typeof cur[pf] === 'string') {
      const joined = merge({ ...cur, [nf]: `${cur[nf] as string}${basename(cur[pf] as string)}` }, g, named);
      if (joined) tries.push(joined);
    }
    for (const d of present) tries.push(derive(cur, d, named));
    const good = tries.find(ok);
    if (good) cur = good;
  }
  return cur;
}

/** The group completed around the values the event has, when they are single values. */
function merge(ev: EcsEvent, g: Group, named: ReadonlySet<string>): EcsEvent | null {
  const one = (r: string): string | null | undefined => {
    const n = g.f[r];
    if (!n || !has(ev, n)) return null;
    return Array.isArray(ev[n]) ? undefined : text(ev[n]);
  };
  const vals = Object.fromEntries(Object.keys(g.f).map((r) => [r, one(r)]));
  if (Object.entries(vals).some(([r, v]) => v === undefined && r !== 'args')) return null;
  const out = { ...ev };
  const wants = (r: string) => g.f[r] !== undefined && (has(ev, g.f[r]!) || named.has(g.f[r]!));
  const put = (r: string, v: unknown) => {
    if (wants(r)) out[g.f[r]!] = v;
  };
  switch (g.kind) {
    case 'proc': {
      const name = vals.name ?? basename(vals.exe!);
      const dir = (vals.exe ? dirname(vals.exe) : null) ?? defaultDir(ev);
      put('exe', join(dir, name, sepFor(ev, vals.exe ?? dir)));
      put('name', name);
      return out;
    }
    case 'argv': {
      const args = has(ev, g.f.args!) ? list(ev[g.f.args!]).map(text) : null;
      const os = osOf(ev, args?.[0] ?? vals.cmd ?? undefined);
      let cmd = vals.cmd ?? (args ? joinArgs(args, os) : '');
      const lacking = (args ?? []).filter((a) => !cmd.includes(a));
      if (lacking.length) cmd = `${cmd} ${joinArgs(lacking, os)}`.trim();
      let all = splitArgs(cmd, os);
      // As many arguments as args_count says: more made up at the end of the command line.
      const n = has(ev, g.f.count!) ? Number(ev[g.f.count!]) : NaN;
      if (Number.isInteger(n) && n > all.length && n <= 1000) {
        const more = Array.from({ length: n - all.length }, (_, i) => `arg${i}`);
        cmd = `${cmd} ${joinArgs(more, os)}`.trim();
        all = splitArgs(cmd, os);
      }
      put('cmd', cmd);
      put('args', all);
      put('count', all.length);
      return out;
    }
    case 'file': {
      let name = vals.name ?? (vals.path ? basename(vals.path) : vals.ext ? `eqlport.${vals.ext}` : 'eqlport.bin');
      if (vals.ext && extensionOf(name) !== vals.ext) name = `${name}.${vals.ext}`;
      const dir = vals.dir ?? (vals.path ? dirname(vals.path) : null) ?? defaultDir(ev);
      put('path', join(dir, name, sepFor(ev, vals.path ?? dir)));
      put('name', name);
      put('dir', dir);
      const ext = extensionOf(name);
      if (wants('ext')) {
        if (ext === null) delete out[g.f.ext!];
        else out[g.f.ext!] = ext;
      }
      return out;
    }
    case 'head': {
      // The action is the truth; without one, the category gets an action of its own.
      if (vals.whole !== null) put('head', GITHUB_HEAD.exec(vals.whole!)?.[1]);
      else if (vals.head !== null) out[g.f.whole!] = `${vals.head!}.eqlport`;
      if (out[g.f.head!] === undefined) delete out[g.f.head!];
      return out;
    }
    case 'reg': {
      const segs = vals.path?.split('\\') ?? [];
      const hive = vals.hive ?? (segs.length > 1 ? segs[0]! : 'HKLM');
      const key = vals.key ?? (segs.length > 2 ? segs.slice(1, -1).join('\\') : 'SOFTWARE\\eqlport');
      const value = vals.value ?? (segs.length ? segs[segs.length - 1]! : 'eqlport');
      put('path', `${hive}\\${key}\\${value}`);
      put('hive', hive);
      put('key', key);
      put('value', value);
      return out;
    }
  }
}

/**
 * Whether a generated value can be one of the field's ECS values at all: fields with an enumerated list of
 * lowercase values (event.category, event.type, host.os.type...) hold no other spelling.
 */
export function possibleValue(field: string, v: unknown): boolean {
  if (typeof v !== 'string') return true;
  const def = ecsField(field);
  const known = def?.allowed ?? def?.expected;
  if (!known?.length || known.some((k) => k !== k.toLowerCase())) return true;
  return v === v.toLowerCase();
}

/** Some lowercase ECS values of an enumerated field other than the given ones: the near misses that exist. */
export function otherAllowed(field: string, except: readonly unknown[]): string[] {
  const def = ecsField(field);
  const known = def?.allowed ?? def?.expected ?? [];
  return known.filter((k) => !except.includes(k)).slice(0, 2);
}
