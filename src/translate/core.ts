// Translation core: what every backend shares — the backend contract, fidelity bookkeeping and the
// facts a backend needs to choose a log source. Backends live one per file in src/backends/.
import type { DiagCode, Diagnostic, Severity } from '../diagnostics.js';
import type { EventFilter, Expr, Query, Span } from '../ir/nodes.js';
import type { RuleMeta } from '../rules.js';
import type { Mapping } from './mapping.js';

export type TargetId = 'sigma' | 'kql' | 'spl' | 's1ql' | 'ts';
export type Fidelity = 'exact' | 'approximate' | 'unsupported';
/** How an approximate rendering differs: it matches more events, fewer, or some of each. */
export type Direction = 'wider' | 'narrower' | 'different';

export interface TranslationDiagnostic extends Diagnostic {
  target?: TargetId;
  /** Set on every approximation: the direction of the difference from the rule's meaning. */
  direction?: Direction;
  /**
   * The difference lies in what the target's source collects (which events a connector forwards, how it keeps
   * a record), which replay assumes away by building the target's record from each event: it counts for
   * fidelity but explains no mismatch found by replay.
   */
  collection?: true;
  /**
   * A class-level narrowing that concerns only the events outside the class: those whose `field` holds none of
   * `values` (the source holds process creations only: event.type "start"). Replay can tell such events apart.
   */
  only?: ClassOnly;
}

/** The events a source holds, told by one field: see TranslationDiagnostic.only. */
export interface ClassOnly {
  field: string;
  values: readonly string[];
}

export interface Translation {
  target: TargetId;
  /** Variant name when the backend has several (e.g. `cim`, `1`). */
  variant?: string;
  status: Fidelity;
  output: string | null;
  diagnostics: TranslationDiagnostic[];
}

/** Options every backend may read; each backend documents the ones it uses. */
export interface TranslateOptions {
  /** User mapping files merged over the bundled ones (`--mapping`). */
  mappingFiles?: readonly string[];
  /** `--kql-args exact|fast` */
  kqlArgs?: 'exact' | 'fast';
  /** `--kql-os join|drop`: how `host.os.type` is rendered for Defender. */
  kqlOs?: 'join' | 'drop';
  /** `--kql-sentinel fallback|off`: whether a rule no Defender table reads may read Microsoft Sentinel's tables. */
  kqlSentinel?: 'fallback' | 'off';
  /** `--spl-profile sysmon|cim` */
  splProfile?: 'sysmon' | 'cim';
  /** `--s1ql-dialect 1|2` */
  s1qlDialect?: '1' | '2';
}

export interface RuleInput {
  query: Query;
  meta: RuleMeta;
  /** The query text, for diagnostics with carets. */
  text: string;
  path: string;
}

/** What a backend is given: the rule, its effective mapping, options, and the fidelity ledger. */
export class TranslateContext {
  readonly diagnostics: TranslationDiagnostic[] = [];
  private unsupportedCount = 0;

  constructor(
    readonly target: TargetId,
    readonly mapping: Mapping,
    readonly options: TranslateOptions,
  ) {}

  /** Record a difference in meaning; the output stays deployable. */
  approximate(code: DiagCode, message: string, span: Span | undefined, direction: Direction, about?: 'collection' | { only: ClassOnly }): void {
    this.push(code, 'warning', `${message} (${direction})`, span, direction, about === 'collection', typeof about === 'object' ? about.only : undefined);
  }

  /** Record something the target cannot express: the result has no output. */
  unsupported(code: DiagCode, message: string, span?: Span): void {
    this.unsupportedCount++;
    this.push(code, 'error', message, span);
  }

  /** A remark that changes nothing about the meaning (e.g. a choice made for speed). */
  note(code: DiagCode, message: string, span?: Span): void {
    this.push(code, 'info', message, span);
  }

  private push(code: DiagCode, severity: Severity, message: string, span?: Span, direction?: Direction, collection = false, only?: ClassOnly) {
    this.diagnostics.push({ code, severity, message, ...(span ? { span } : {}), target: this.target, ...(direction ? { direction } : {}), ...(collection ? { collection: true as const } : {}), ...(only ? { only } : {}) });
  }

  get failed(): boolean {
    return this.unsupportedCount > 0;
  }
}

/** Thrown inside a backend to abandon a translation after ctx.unsupported(); caught by translate(). */
export class Unsupported extends Error {}

export interface Backend {
  id: TargetId;
  title: string;
  /** Extension of files written by `convert --out`. */
  extension: string;
  /** Named option sets the golden files pin (the first is the default). */
  variants: readonly { name: string; options: TranslateOptions }[];
  /** Emit the target text, reporting every loss on ctx; return null (or throw Unsupported) when it cannot. */
  emit(rule: RuleInput, ctx: TranslateContext): string | null;
  /** The part of an output its golden file pins, when the rest is the same for every rule. */
  goldenPart?(output: string): string;
}

/** Fidelity of a finished translation, from what the backend recorded. */
export function finish(target: TargetId, ctx: TranslateContext, output: string | null, variant?: string): Translation {
  const approximate = ctx.diagnostics.some((d) => d.direction !== undefined);
  const status: Fidelity = ctx.failed || output === null ? 'unsupported' : approximate ? 'approximate' : 'exact';
  if (status === 'unsupported' && !ctx.diagnostics.some((d) => d.severity === 'error'))
    ctx.unsupported('EQL3001', `the ${target} backend produced no output`);
  return { target, ...(variant ? { variant } : {}), status, output: status === 'unsupported' ? null : output, diagnostics: ctx.diagnostics };
}

// ---- facts about an event filter -----------------------------------------------------------

/** Constraints of an event filter that decide the target's log source, table or event type. */
export interface FilterFacts {
  category: string | null;
  /** Values the condition requires of each classifying field (top-level conjuncts only); absent = unconstrained. */
  values: Map<string, { values: string[]; caseInsensitive: boolean; node: Expr }>;
  /** The top-level conjuncts of the condition. */
  conjuncts: readonly Expr[];
  /**
   * The datasets the filter reads: per top-level conjunct that tests only dataset fields (an `or` of such tests
   * included), the names it allows, lowercased; a module `m` is written `m.*` (all of its datasets).
   */
  datasets: { names: string[]; node: Expr }[];
}

/** Fields whose top-level equality constraints classify an event. */
export const CLASSIFYING_FIELDS = ['event.type', 'event.action', 'event.category', 'host.os.type', 'event.dataset', 'data_stream.dataset', 'event.module', 'event.code', 'event.provider'];

/** Fields that name an event's dataset: ECS event.dataset mirrors data_stream.dataset, event.module is its integration. */
export const DATASET_FIELDS = ['data_stream.dataset', 'event.dataset', 'event.module'];

export function conjunctsOf(e: Expr): readonly Expr[] {
  return e.kind === 'And' ? e.args : e.kind === 'Literal' && e.value === true ? [] : [e];
}

/**
 * Read the classifying constraints of a filter: `f == "v"`, `f in (...)`, `f : "v"` / `f : (...)` without
 * wildcards, and `in~`. Only top-level conjuncts count: a constraint under `or` or `not` classifies nothing.
 * `extra`: fields that classify events of a mapping's own sources too (a log's category field named in a class's `when`).
 */
export function filterFacts(filter: EventFilter, extra: readonly string[] = []): FilterFacts {
  const values: FilterFacts['values'] = new Map();
  const conjuncts = conjunctsOf(filter.where);
  for (const c of conjuncts) {
    const hit = classifying(c, extra);
    if (hit && !values.has(hit.field)) values.set(hit.field, { values: hit.values, caseInsensitive: hit.ci, node: c });
  }
  const datasets = conjuncts.flatMap((node) => {
    const names = datasetNames(node);
    return names ? [{ names, node }] : [];
  });
  return { category: filter.category, values, conjuncts, datasets };
}

/** The datasets a positive test of dataset fields allows, or null when `e` is not only such tests. */
function datasetNames(e: Expr): string[] | null {
  if (e.kind === 'Or') {
    const parts = e.args.map(datasetNames);
    return parts.every((p) => p !== null) ? [...new Set(parts.flat() as string[])] : null;
  }
  const hit = classifying(e);
  if (!hit || !DATASET_FIELDS.includes(hit.field)) return null;
  return hit.values.map((v) => (hit.field === 'event.module' ? `${v.toLowerCase()}.*` : v.toLowerCase()));
}

function classifying(e: Expr, extra: readonly string[] = []): { field: string; values: string[]; ci: boolean } | null {
  const isClassifying = (f: string) => CLASSIFYING_FIELDS.includes(f) || extra.includes(f);
  const strings = (xs: readonly Expr[]) =>
    xs.every((x) => x.kind === 'Literal' && typeof x.value === 'string') ? xs.map((x) => (x as { value: string }).value) : null;
  if (e.kind === 'Compare' && e.op === '==' && e.left.kind === 'Field' && isClassifying(e.left.name)) {
    const v = strings([e.right]);
    return v ? { field: e.left.name, values: v, ci: false } : null;
  }
  if (e.kind === 'In' && e.arg.kind === 'Field' && isClassifying(e.arg.name)) {
    const v = strings(e.values);
    return v ? { field: e.arg.name, values: v, ci: e.caseInsensitive } : null;
  }
  if (e.kind === 'Match' && e.arg.kind === 'Field' && isClassifying(e.arg.name) && e.patterns.every((p) => p.kind === 'exact'))
    return { field: e.arg.name, values: e.patterns.map((p) => p.value), ci: e.caseInsensitive };
  return null;
}
