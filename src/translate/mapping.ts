// Field and event-class mappings are data (mappings/<target>.yaml), never code. Users add or override
// entries with `--mapping FILE` in the same format.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { DATASET_FIELDS, type ClassOnly, type Direction, type FilterFacts, type TargetId } from './core.js';
import type { Expr } from '../ir/nodes.js';

/** How one ECS field appears in a target. */
export interface FieldMapping {
  /** Target field or column; a list means "any of these" (ORed). */
  field: string | string[];
  /** Target type when it is not a string (numbers are compared as numbers). */
  type?: 'string' | 'number' | 'boolean' | 'ip' | 'date';
  /** A named rendering rule the backend knows (e.g. `basename` of a path field, `cmdline-token`). */
  transform?: string;
  /** Set when the target field does not carry exactly the ECS field's meaning. */
  /** `collection`: the difference is in what the source records (see TranslationDiagnostic.collection). */
  lossy?: { direction: Direction; reason: string; collection?: boolean };
  /** Where the fact comes from. */
  source?: string;
  /**
   * How ECS values are spelled in the target (`macos` → `osx`); a list means any of these spellings.
   * For enumerations an ECS value that is not listed matches nothing.
   */
  values?: Record<string, string | string[]>;
  /**
   * The target stores no such field because the event class decides it: within the class the ECS field
   * would hold one of these values. Backends evaluate predicates on it at translation time.
   */
  constant?: string[];
  /** Columns that together identify the entity when the field is a join key (e.g. pid + start time). */
  key?: string[];
  /**
   * The ECS field is derived from the target's value (a prefix of an action name): a regular expression (RE2,
   * anchored by the author) whose first group, read from the target value, is the ECS value.
   */
  extract?: string;
  /**
   * The target holds the value, but not where a query can read it exactly (a FortiOS key inside CommonSecurityLog's
   * AdditionalExtensions text): a rule that tests the field is refused with this reason, not widened.
   */
  unreadable?: string;
}

/** A log source / table / event type of the target, chosen from a filter's category and constraints. */
export interface EventClass {
  name: string;
  /** `category`, plus classifying fields (event.type, event.action, host.os.type...) with the values this class holds. */
  when: Record<string, string | string[]>;
  /** Backend-specific description of the source (table, logsource, EventCode, data model...). */
  source: Record<string, unknown>;
  fields?: Record<string, FieldMapping | string | null>;
  source_ref?: string;
}

export interface Mapping {
  target: TargetId;
  /** Free-form settings the backend reads (e.g. index, macros). */
  settings: Record<string, unknown>;
  classes: EventClass[];
  /** Fields valid in every class unless a class overrides them; `null` means "no equivalent". */
  fields: Record<string, FieldMapping | string | null>;
  /**
   * Named alternatives to the top-level data (e.g. SPL `cim` next to the default Sysmon data). A profile
   * inherits `settings` and brings its own `classes` and `fields`; the backend picks one with mappingProfile().
   */
  profiles?: Record<string, Partial<Omit<Mapping, 'target' | 'profiles'>>>;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bundledMappingPath = (target: TargetId) => join(root, 'mappings', `${target}.yaml`);

export class MappingError extends Error {}

function asMapping(doc: unknown, where: string): Partial<Mapping> & { target: TargetId } {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new MappingError(`${where}: a mapping must be a YAML mapping`);
  const m = doc as Record<string, unknown>;
  if (typeof m.target !== 'string') throw new MappingError(`${where}: \`target\` (sigma, kql, spl, s1ql) is required`);
  if (m.classes !== undefined && !Array.isArray(m.classes)) throw new MappingError(`${where}: \`classes\` must be a list`);
  for (const [i, c] of ((m.classes as unknown[]) ?? []).entries()) {
    const cls = c as Record<string, unknown>;
    if (typeof cls?.name !== 'string') throw new MappingError(`${where}: classes[${i}] needs a \`name\``);
  }
  if (m.fields !== undefined && (typeof m.fields !== 'object' || Array.isArray(m.fields))) throw new MappingError(`${where}: \`fields\` must be a mapping`);
  if (m.profiles !== undefined && (typeof m.profiles !== 'object' || m.profiles === null || Array.isArray(m.profiles)))
    throw new MappingError(`${where}: \`profiles\` must be a mapping of profile names to mapping data`);
  for (const [name, p] of Object.entries((m.profiles as Record<string, unknown>) ?? {})) asMapping({ ...(p as object), target: m.target }, `${where}: profiles.${name}`);
  return m as Partial<Mapping> & { target: TargetId };
}

export function readMappingFile(path: string): Partial<Mapping> & { target: TargetId } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new MappingError(`cannot read mapping ${path}: ${(e as Error).message}`);
  }
  try {
    // `<<` merge keys let one class reuse another's field table (s1ql process start and end).
    return asMapping(parseYaml(text, { merge: true }), path);
  } catch (e) {
    if (e instanceof MappingError) throw e;
    throw new MappingError(`${path}: invalid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Overlay `over` on `base`: fields key by key, classes by name (a new class goes first so it wins). */
export function mergeMappings(base: Mapping, over: Partial<Mapping>): Mapping {
  const classes = base.classes.map((c) => {
    const o = over.classes?.find((x) => x.name === c.name);
    return o ? { ...c, ...o, when: o.when ?? c.when, source: { ...c.source, ...o.source }, fields: { ...c.fields, ...o.fields } } : c;
  });
  const added = (over.classes ?? []).filter((o) => !base.classes.some((c) => c.name === o.name)).map((o) => ({ ...o, when: o.when ?? {}, source: o.source ?? {} }));
  const merged: Mapping = {
    target: base.target,
    settings: { ...base.settings, ...over.settings },
    classes: [...added, ...classes],
    fields: { ...base.fields, ...over.fields },
  };
  const names = new Set([...Object.keys(base.profiles ?? {}), ...Object.keys(over.profiles ?? {})]);
  if (names.size) {
    merged.profiles = {};
    for (const name of names) {
      const b = base.profiles?.[name] ?? {};
      const m = mergeMappings({ target: base.target, settings: b.settings ?? {}, classes: b.classes ?? [], fields: b.fields ?? {} }, over.profiles?.[name] ?? {});
      merged.profiles[name] = { settings: m.settings, classes: m.classes, fields: m.fields };
    }
  }
  return merged;
}

/** The mapping data of one profile: the top-level data when the profile is not named in `profiles`. */
export function mappingProfile(mapping: Mapping, name: string | undefined): Mapping {
  const p = name === undefined ? undefined : mapping.profiles?.[name];
  if (!p) return mapping;
  return { target: mapping.target, settings: { ...mapping.settings, ...p.settings }, classes: p.classes ?? [], fields: p.fields ?? {} };
}

/**
 * The mapping without the classes of one product (a class's `source.product`, e.g. `sentinel` for the Microsoft
 * Sentinel tables Defender's advanced hunting reads only when Sentinel is onboarded to the Defender portal).
 */
export function withoutProduct(mapping: Mapping, product: string): Mapping {
  const classes = mapping.classes.filter((c) => c.source.product !== product);
  return classes.length === mapping.classes.length ? mapping : { ...mapping, classes };
}

/**
 * The mapping a rule reads with its index: a class whose source names the Elastic indices of its log (`index`,
 * e.g. the Windows Security log's) is kept only for a rule whose index overlaps one of them, and then goes first,
 * so the rule reads that log before any other source. Two index patterns overlap when the literal text before the
 * first `*` of one starts with the other's. A class whose `index` is not resolved this way is read by no rule.
 */
export function forRuleIndex(mapping: Mapping, ruleIndex: readonly string[] | undefined): Mapping {
  const gated = (c: EventClass) => Array.isArray(c.source.index);
  if (!mapping.classes.some(gated)) return mapping;
  const stem = (p: string) => p.split('*')[0]!;
  const overlaps = (a: string, b: string) => stem(a).startsWith(stem(b)) || stem(b).startsWith(stem(a));
  const reads = (c: EventClass) => (c.source.index as unknown[]).some((p) => typeof p === 'string' && (ruleIndex ?? []).some((r) => overlaps(r, p)));
  // The classes kept are this rule's: their `index` is resolved (a class still naming one is read by no rule).
  const kept = mapping.classes.filter((c) => gated(c) && reads(c)).map((c) => ({ ...c, source: Object.fromEntries(Object.entries(c.source).filter(([k]) => k !== 'index')) }));
  return { ...mapping, classes: [...kept, ...mapping.classes.filter((c) => !gated(c))] };
}

const cache = new Map<string, Mapping>();
const mtime = (f: string) => {
  try {
    return statSync(f).mtimeMs;
  } catch {
    return -1;
  }
};

/** The bundled mapping of a target, with the user's files for that target merged over it. */
export function loadMapping(target: TargetId, userFiles: readonly string[] = []): Mapping {
  // Keyed by modification time too, so an edited mapping file is read again by a long-lived process.
  const key = [target, ...userFiles.map((f) => `${f}@${mtime(f)}`)].join('\0');
  const hit = cache.get(key);
  if (hit) return hit;
  const path = bundledMappingPath(target);
  let mapping: Mapping = { target, settings: {}, classes: [], fields: {} };
  if (existsSync(path)) mapping = mergeMappings(mapping, readMappingFile(path));
  for (const f of userFiles) {
    const user = readMappingFile(f);
    if (user.target === target) mapping = mergeMappings(mapping, user);
  }
  mapping = withDatasetVariants(mapping);
  cache.set(key, mapping);
  return mapping;
}

/**
 * `when: { dataset: X }` names Elastic's dataset wherever a rule may: data_stream.dataset, or event.dataset in older
 * rules. Each such class becomes one class per field (same name, so an override by name reaches both), and
 * `dataset` in its `requires` becomes that field.
 */
function withDatasetVariants(mapping: Mapping): Mapping {
  const expand = (classes: readonly EventClass[]): EventClass[] =>
    classes.flatMap((cls) => {
      if (cls.when.dataset === undefined) return [cls];
      const { dataset, ...when } = cls.when;
      const requires = cls.source.requires;
      return (['data_stream.dataset', 'event.dataset'] as const).map((field) => {
        const rename = (r: unknown): unknown => (r === 'dataset' ? field : Array.isArray(r) ? r.map(rename) : r);
        return { ...cls, when: { ...when, [field]: dataset! }, source: requires === undefined ? cls.source : { ...cls.source, requires: rename(requires) } };
      });
    });
  const profiles = mapping.profiles && Object.fromEntries(Object.entries(mapping.profiles).map(([n, p]) => [n, p.classes ? { ...p, classes: expand(p.classes) } : p]));
  return { ...mapping, classes: expand(mapping.classes), ...(profiles ? { profiles } : {}) };
}

/**
 * The mapping of one ECS field in a class (class entries first, then the global table). A class entry whose key
 * ends in `.*` covers every field under that prefix; `*` in its target field (and transform) stands for the rest of the name.
 */
export function fieldMapping(mapping: Mapping, cls: EventClass | null, name: string): FieldMapping | null | undefined {
  let raw = cls?.fields && name in cls.fields ? cls.fields[name] : mapping.fields[name];
  let rest: string | null = null;
  if (raw === undefined && cls?.fields) {
    const covering = Object.keys(cls.fields).filter((k) => k.endsWith('.*') && name.startsWith(k.slice(0, -1)) && name.length > k.length - 1);
    const prefix = covering.sort((a, b) => b.length - a.length)[0];
    if (prefix) [raw, rest] = [cls.fields[prefix], name.slice(prefix.length - 1)];
  }
  if (raw === undefined || raw === null) return raw;
  const fm = typeof raw === 'string' ? { field: raw } : raw;
  if (rest === null) return fm;
  const field = (f: string) => f.replace('*', () => rest!);
  return { ...fm, field: Array.isArray(fm.field) ? fm.field.map(field) : field(fm.field), ...(fm.transform ? { transform: field(fm.transform) } : {}) };
}

export interface ClassChoice {
  cls: EventClass;
  /** Top-level conjuncts that the class itself guarantees; the backend need not render them. */
  implied: Set<Expr>;
  /** Ways the chosen class is narrower or wider than the filter. */
  losses: ClassLoss[];
}
/** `only`: the loss concerns just the events outside the class, told by one field (TranslationDiagnostic.only). */
export type ClassLoss = { message: string; direction: Direction; node: Expr | null; only?: ClassOnly };
/** How a backend records a class loss. */
export const lossNote = (l: ClassLoss) => (l.only ? { only: l.only } : undefined);

const lower = (s: string) => s.toLowerCase();
const listOf = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** The endpoint-telemetry datasets (mappings/datasets.yaml), read once. */
let endpointDatasets: string[] | null = null;
function endpointTelemetry(): string[] {
  if (endpointDatasets) return endpointDatasets;
  const path = join(root, 'mappings', 'datasets.yaml');
  const doc = parseYaml(readFileSync(path, 'utf8')) as { endpoint?: unknown };
  if (!Array.isArray(doc?.endpoint) || !doc.endpoint.every((d) => typeof d === 'string')) throw new MappingError(`${path}: \`endpoint\` must be a list of dataset names`);
  return (endpointDatasets = doc.endpoint.map(lower));
}

/** `x.*` stands for every dataset of x: its prefix `x.`, or null for a plain name. */
const prefixOf = (d: string) => (d.endsWith('.*') ? d.slice(0, -1) : null);
/** Whether some dataset is named by both. */
function overlaps(a: string, b: string): boolean {
  const [pa, pb] = [prefixOf(a), prefixOf(b)];
  if (pa && pb) return pa.startsWith(pb) || pb.startsWith(pa);
  if (pa || pb) return (pa ? b : a).startsWith((pa ?? pb)!);
  return a === b;
}
/** Whether every dataset `a` names is named by `b`. */
function within(a: string, b: string): boolean {
  const pb = prefixOf(b);
  return pb ? (prefixOf(a) ?? a).startsWith(pb) : a === b;
}

/** The datasets a class's `when` names (data_stream.dataset, event.dataset, event.module as `m.*`). */
function classDatasets(cls: EventClass): string[] {
  return DATASET_FIELDS.flatMap((f) => (cls.when[f] === undefined ? [] : listOf(cls.when[f]!).map((v) => (f === 'event.module' ? `${lower(v)}.*` : lower(v)))));
}

/**
 * Whether a class can read the datasets the filter names. A class whose `when` names datasets reads those only;
 * one that names none is an endpoint source, which stands in for endpoint telemetry of any sensor and nothing else
 * (a firewall's or a packet capture's events are not in Sysmon or a Defender table).
 */
function readsDatasets(cls: EventClass, facts: FilterFacts): boolean {
  if (!facts.datasets.length) return true;
  const own = classDatasets(cls);
  const known = own.length ? own : endpointTelemetry();
  return facts.datasets.every((t) => t.names.some((n) => known.some((k) => overlaps(n, k))));
}

/** The message of the EQL3003 refusing a filter whose datasets no class of the mapping reads, or null. */
export function unreadDatasets(mapping: Mapping, facts: FilterFacts): string | null {
  if (!facts.datasets.length || mapping.classes.some((cls) => readsDatasets(cls, facts))) return null;
  const names = [...new Set(facts.datasets.flatMap((t) => t.names))];
  return `no ${mapping.target} source in the mapping holds ${names.join(' or ')} events`;
}

/**
 * Choose the class for a filter: the first whose category matches and whose values contain every value
 * the filter allows for that field. A class that constrains a field the filter leaves open is narrower,
 * and is chosen only when no class fits exactly. A filter that names datasets reads only classes of those
 * datasets (readsDatasets).
 */
export function chooseClass(mapping: Mapping, facts: FilterFacts): ClassChoice | null {
  let fallback: ClassChoice | null = null;
  for (const cls of mapping.classes) {
    const cat = cls.when.category;
    if (cat !== undefined && !listOf(cat).includes(facts.category ?? 'any')) continue;
    if (!readsDatasets(cls, facts)) continue;
    const implied = new Set<Expr>();
    const losses: ClassChoice['losses'] = [];
    const own = classDatasets(cls);
    if (own.length)
      for (const t of facts.datasets) {
        if (!t.names.every((n) => own.some((o) => within(n, o))))
          losses.push({ message: `the ${mapping.target} source "${cls.name}" holds only some of the datasets the rule allows (${own.join(', ')})`, direction: 'narrower', node: t.node });
        else if (own.every((o) => t.names.some((n) => within(o, n)))) implied.add(t.node);
      }
    else
      // An endpoint source stands in for endpoint telemetry only: other datasets the rule also allows
      // (a packet capture's, a firewall's) are not in it.
      for (const t of facts.datasets) {
        const foreign = t.names.filter((n) => !endpointTelemetry().some((k) => within(n, k)));
        if (foreign.length)
          losses.push({ message: `the ${mapping.target} source "${cls.name}" holds endpoint telemetry, not the rule's ${foreign.join(', ')} events`, direction: 'narrower', node: t.node });
      }
    let fits = true;
    for (const [field, allowed] of Object.entries(cls.when)) {
      // Dataset fields are one name for the same thing (above) once the filter names a dataset.
      if (field === 'category' || (facts.datasets.length && DATASET_FIELDS.includes(field))) continue;
      const have = facts.values.get(field);
      const allow = listOf(allowed);
      if (!have) {
        losses.push({ message: `the ${mapping.target} source "${cls.name}" only holds events with ${field} ${allow.map((a) => JSON.stringify(a)).join(' or ')}`, direction: 'narrower', node: null, only: { field, values: allow } });
        continue;
      }
      const inClass = (v: string) => allow.some((a) => (have.caseInsensitive ? lower(a) === lower(v) : a === v));
      if (!have.values.every(inClass)) {
        if (have.values.some(inClass)) losses.push({ message: `the ${mapping.target} source "${cls.name}" holds only some of the ${field} values the rule allows`, direction: 'narrower', node: have.node });
        else fits = false;
        continue;
      }
      // Implied only when the class holds exactly the values asked for.
      if (allow.every((a) => have.values.some((v) => (have.caseInsensitive ? lower(a) === lower(v) : a === v)))) implied.add(have.node);
    }
    if (!fits) continue;
    const choice = { cls, implied, losses };
    if (!losses.length) return choice;
    fallback ??= choice;
  }
  return fallback;
}
