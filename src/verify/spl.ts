// Interpreter of the `spl` target: reads the emitted text with the project's own SPL grammar
// (spl-parse.ts) and runs it with Splunk's semantics (spl-eval.ts) over what Sysmon / the CIM data models
// would store for each ECS event. The conversion is driven by the mapping data (mappings/spl.yaml); it
// shares no code with the emitter.
import type { EcsEvent } from './generate.js';
import { InterpreterError, Unrepresentable, type Interpreter, type InterpreterContext } from './interpreter.js';
import { parseSpl, type EvalExpr, type SplPipeline } from './spl-parse.js';
import { runSpl, SplEvalError, type SplEvent } from './spl-eval.js';
import { fieldMapping, mappingProfile, type EventClass, type Mapping } from '../translate/mapping.js';

/** Hidden field carrying the event's position, so matches can be reported as event indexes. */
const INDEX = '_eqlport_i';

const profileOf = (ctx: InterpreterContext): Mapping => mappingProfile(ctx.mapping, ctx.options.splProfile === 'cim' ? 'cim' : undefined);
const list = (v: unknown): string[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/** The class that would record the event: category and OS from `when`, the activity from `holds`. */
function classOf(mapping: Mapping, ev: EcsEvent): EventClass | Unrepresentable | null {
  const categories = list(ev['event.category']);
  for (const cls of mapping.classes) {
    const ok = Object.entries(cls.when).every(([f, allowed]) => {
      const have = f === 'category' ? categories : list(ev[f]);
      return list(allowed).some((a) => have.includes(a));
    });
    if (!ok) continue;
    const holds = { ...(cls.source.holds as object), ...(cls.source.synonyms as object) } as Record<string, string[]>;
    // Exact spelling: Elastic writes these values one way; a case variant is no event any source produces.
    if (Object.keys(holds).length && !Object.entries(holds).some(([f, vs]) => list(ev[f]).some((v) => vs.includes(v)))) {
      const variant = Object.entries(holds).flatMap(([f, vs]) => list(ev[f]).filter((v) => vs.some((x) => x.toLowerCase() === v.toLowerCase())))[0];
      if (variant !== undefined) return new Unrepresentable(`${JSON.stringify(variant)} is a case variant of a value Elastic writes in one spelling`);
      continue;
    }
    return cls;
  }
  return null;
}

/** What the target stores for one event, or why the event is not one the source could produce. */
function toRecord(ev: EcsEvent, ctx: InterpreterContext): SplEvent | Unrepresentable | null {
  // ECS's allowed values of event.category and event.type are lowercase (ECS categorization fields).
  const odd = ['event.category', 'event.type'].flatMap((f) => list(ev[f])).find((v) => v !== v.toLowerCase());
  if (odd !== undefined) return new Unrepresentable(`${JSON.stringify(odd)} is not one of ECS's lowercase categorization values`);
  const profile = profileOf(ctx);
  const cls = classOf(profile, ev);
  if (!cls || cls instanceof Unrepresentable) return cls;
  // Elastic writes one of the class's event.type values (`holds`) on every event the source records, also on
  // those the class took by their event.action: a rule that reads event.type never sees one with another type.
  const heldTypes = (cls.source.holds as Record<string, unknown> | undefined)?.['event.type'];
  if (heldTypes !== undefined && ctx.ruleFields?.has('event.type') && !list(ev['event.type']).some((t) => list(heldTypes).includes(t)))
    return new Unrepresentable(`an event of the ${cls.name} source has event.type ${list(heldTypes).join('/')}`);
  // Another product's log (own_fields) holds only the fields its class names.
  const mapping = cls.source.own_fields === true ? { ...profile, fields: {} } : profile;
  const src = cls.source as { source?: string; sourcetype?: string; filter?: Record<string, unknown>; node?: string; path_separator?: string; prefixes?: Record<string, string> };
  const sep = src.path_separator ?? '\\';
  const name = (f: string) => (src.node ? `${src.node}.${f}` : f);
  const rec: SplEvent = { _time: Date.parse(String(ev['@timestamp'] ?? 0)) / 1000 };
  // A wildcard source (all Windows channels) stands for one concrete channel.
  if (src.source) rec.source = src.source.replace('*', 'Security');
  if (src.sourcetype) rec.sourcetype = src.sourcetype;
  for (const [f, v] of Object.entries(src.filter ?? {})) rec[name(f)] = list(v)[0]!;
  const derived: [string, string, string, unknown][] = [];
  for (const [key, value] of Object.entries(ev)) {
    if (value === null || value === undefined || key === '@timestamp') continue;
    let m = fieldMapping(mapping, cls, key);
    if (m === undefined) for (const [from, to] of Object.entries(src.prefixes ?? {})) if (key.startsWith(from)) m = { field: to + key.slice(from.length) };
    if (!m || Array.isArray(m.field)) continue;
    // Sysmon and CIM fields hold one value; an ECS array becomes a Splunk multivalue field, which is how
    // Splunk would present the same data if a source repeated the field.
    // A field the source spells its own way (`values`) holds the first spelling; an ECS value it lists none for is
    // one the source never writes.
    const unspelled = m.values ? list(value).find((v) => m!.values![v] === undefined) : undefined;
    if (unspelled !== undefined) return new Unrepresentable(`${key} ${JSON.stringify(unspelled)} has no spelling in ${m.field}`);
    const values = list(value).map((v) => (m!.values ? list(m!.values[v])[0]! : v));
    if (m.type === 'number' && values.length > 1) return new Unrepresentable(`${key} holds several values; the number field ${m.field} holds one`);
    if (m.transform) derived.push([m.transform, name(m.field), key, value]);
    else rec[name(m.field)] = values.length === 1 ? values[0]! : values;
  }
  // Another product's events all carry the class's filter values: an event whose own field for them is missing or
  // holds another value is no event of the class (a killed-pid event without its kill syscall).
  if (cls.source.own_fields === true)
    for (const [f, allowed] of Object.entries(src.filter ?? {})) {
      const keys = Object.keys(cls.fields ?? {}).filter((k) => fieldMapping(mapping, cls, k)?.field === f);
      if (keys.length && !keys.some((k) => list(ev[k]).some((v) => list(allowed).includes(v))))
        return new Unrepresentable(`${keys.join('/')} must hold ${list(allowed).join(' or ')} in the ${cls.name} events`);
    }
  // A derived field the rule reads (process.name of Image) cannot be missing while its source is set.
  for (const [derivedName, m2] of Object.entries({ ...mapping.fields, ...cls.fields })) {
    if (ev[derivedName] != null || !ctx.ruleFields?.has(derivedName) || !m2 || typeof m2 !== 'object' || !m2.transform || m2.transform === 'cmdline-token') continue;
    const stored = rec[name(String(m2.field))];
    // A path with no extension (a directory, a file named without a dot) gives no file.extension.
    if (m2.transform === 'extension' && stored !== undefined && !list(stored).some((p) => /\.[^\\/.]+$/.test(String(p)))) continue;
    if (stored !== undefined) return new Unrepresentable(`${derivedName} is missing while ${m2.field} is set; the target derives one from the other`);
  }
  // Fields the target only holds inside another one: built into it, or checked against it.
  for (const [transform, field, key, value] of derived) {
    const have = rec[field] as string | string[] | undefined;
    const v = list(value);
    if (transform === 'cmdline-token') {
      if (have === undefined) rec[field] = v.map((a) => (/[\s"]/.test(a) || a === '' ? `"${a.replace(/"/g, '\\"')}"` : a)).join(' ');
      // A command line is made of its arguments; one that lacks an argument is no event the target records.
      // (up to the quotes that splitting it removed).
      else if (v.some((a) => !list(have).some((c) => c.includes(a) || c.replace(/"/g, '').includes(a.replace(/"/g, ''))))) return new Unrepresentable(`${key} ${JSON.stringify(value)} does not agree with ${field} ${JSON.stringify(have)}`);
      continue;
    }
    const build = (x: string) => (transform === 'basename' ? `${key === 'user.name' ? 'EQLPORT' : `C:${sep}eqlport`}${sep}${x}` : transform === 'dirname' ? `${x}${sep}file` : `C:${sep}eqlport${sep}file.${x}`);
    if (have === undefined) {
      // Only a path the rule does not read can be made up; a rule that reads it sees it missing in ECS.
      const source = Object.entries({ ...mapping.fields, ...cls.fields }).find(([n, m2]) => n !== key && (m2 === field.replace(/^.*\./, '') || (m2 && typeof m2 === 'object' && !m2.transform && name(String(m2.field)) === field)))?.[0];
      if (source && ctx.ruleFields?.has(source)) return new Unrepresentable(`${key} is set while ${source} is missing; the target derives one from the other`);
      rec[field] = v.length === 1 ? build(v[0]!) : v.map(build);
      continue;
    }
    const part = (p: string) => {
      const base = p.slice(p.lastIndexOf(sep) + 1);
      return transform === 'basename' ? base : transform === 'dirname' ? p.slice(0, p.lastIndexOf(sep)) : base.includes('.') ? base.slice(base.lastIndexOf('.') + 1) : null;
    };
    const parts = list(have).map(part);
    if (parts.length !== v.length || parts.some((p, i) => p !== v[i])) return new Unrepresentable(`${key} ${JSON.stringify(value)} does not agree with ${field} ${JSON.stringify(have)}`);
  }
  return rec;
}

export const splInterpreter: Interpreter<SplPipeline, SplEvent> = {
  target: 'spl',
  parse(output) {
    const p = parseSpl(output);
    if (!p.ok) throw new InterpreterError(`${p.error} (line ${p.line}, column ${p.column})`);
    return p.pipeline;
  },
  fromEcs: (event, ctx) => toRecord(event, ctx),
  run(program, records) {
    const events = records.flatMap((r, i) => (r ? [{ ...r, [INDEX]: String(i) }] : []));
    // One tstats row per event, so rows map back to events.
    const commands = program.commands.map((c) => (c.kind === 'tstats' ? { ...c, by: [...c.by, INDEX] } : c));
    let out: SplEvent[];
    try {
      out = runSpl({ commands }, events);
    } catch (e) {
      if (e instanceof SplEvalError) return { notChecked: e.message };
      throw e;
    }
    return { matches: out.map((r) => list(r[INDEX]).map(Number).sort((a, b) => a - b)) };
  },
  // A transaction that opens on `F==1` and closes on `F==n` groups events by the step number F the commands
  // before it give each event. `case()` gives an event the first step that fits it, yet every step whose
  // condition holds accepts it (that overlap is the transaction's declared behaviour, not a rejection): each
  // branch of the `case()` is run alone.
  stepAccepts(program, records) {
    const at = program.commands.findIndex((c) => c.kind === 'transaction');
    const tx = program.commands[at];
    if (tx?.kind !== 'transaction') return null;
    const bound = (e: EvalExpr | undefined) => (e?.kind === 'compare' && e.op === '==' && e.left.kind === 'field' && e.right.kind === 'number' ? { field: e.left.name, n: e.right.value } : null);
    const first = bound(tx.options.startswith);
    const last = bound(tx.options.endswith);
    if (!first || !last || first.field !== last.field || first.n !== 1) return null;
    const before = program.commands.slice(0, at);
    const branchRuns = before.flatMap((c, ci) => {
      if (c.kind !== 'eval') return [];
      return c.assignments.flatMap((a, ai) => {
        if (a.field !== first.field || a.expr.kind !== 'call' || a.expr.name !== 'case') return [];
        const args = a.expr.args;
        return args.flatMap((cond, k) => {
          if (k % 2 === 1 || k + 1 >= args.length) return [];
          const assignments = c.assignments.map((x, xi) => (xi === ai ? { field: x.field, expr: { kind: 'call' as const, name: 'case', args: [cond, args[k + 1]!] } } : x));
          return [before.map((y, yi) => (yi === ci ? { kind: 'eval' as const, assignments } : y))];
        });
      });
    });
    const events = records.flatMap((r, i) => (r ? [{ ...r, [INDEX]: String(i) }] : []));
    let tagged: SplEvent[];
    try {
      tagged = (branchRuns.length ? branchRuns : [before]).flatMap((commands) => runSpl({ commands }, events));
    } catch (e) {
      if (e instanceof SplEvalError) return null;
      throw e;
    }
    const out = records.map(() => new Array<boolean>(last.n).fill(false));
    for (const ev of tagged) {
      const step = Number(ev[first.field]);
      const i = Number(ev[INDEX]);
      if (Number.isInteger(step) && step >= 1 && step <= last.n && out[i]) out[i]![step - 1] = true;
    }
    return out;
  },
};
