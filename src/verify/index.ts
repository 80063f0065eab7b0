// Proof by replay: the native matcher (Elasticsearch's semantics) and each target's own interpreter see the
// same events; their match sets must agree, or differ only in the direction the translation declared.
import type { ParsedRule } from '../check.js';
import { compilePred, fieldPath } from '../matcher/compile.js';
import { accessor } from '../matcher/runtime.js';
import { compileMatcher, matchEvents } from '../matcher/index.js';
import type { Expr, Query } from '../ir/nodes.js';
import { allExprs, walk } from '../ir/walk.js';
import { forRuleIndex, loadMapping, withoutProduct, type Mapping } from '../translate/mapping.js';
import { translateRule } from '../translate/index.js';
import type { Fidelity, TargetId, TranslateOptions, Translation } from '../translate/core.js';
import { explainer, type Explainer } from './explain.js';
import { generate, type EcsEvent, type Scenario } from './generate.js';
import { INTERPRETERS, InterpreterError, Unrepresentable, type Interpreter, type InterpreterContext } from './interpreter.js';
import './interpreters.js';

export { INTERPRETERS, InterpreterError, Unrepresentable, type Interpreter, type InterpreterContext, type InterpreterRun } from './interpreter.js';

export type Verdict = 'agree' | 'disagree' | 'not-checked';
/** Why a result is not checked: no output to check (unsupported, or a rule that does not parse), or a real gap of verify. */
export type NotCheckedKind = 'no-output' | 'no-interpreter' | 'no-reference' | 'interpreter' | 'no-vendor-pair' | 'no-comparison';

export interface Counterexample {
  scenario: string;
  /** The event that one side matched and the other did not (for event queries)... */
  event?: EcsEvent;
  /** ...or the scenario's events (sequences). */
  events?: EcsEvent[];
  matched_by: 'eql' | 'target';
  /** Whether the difference lies in a direction the translation declared. */
  declared: boolean;
}

export interface VerifyResult {
  path: string;
  id: string | null;
  name: string | null;
  target: TargetId;
  status: Fidelity;
  verdict: Verdict;
  events: number;
  mismatches: number;
  counterexample: Counterexample | null;
  /** Why a result was not checked, or the parse error of a broken output. */
  reason?: string;
  notChecked?: NotCheckedKind;
  /** A disagreement outside the declared direction (or on an exact translation): the translation is wrong. */
  bug: boolean;
}

export interface VerifyOptions extends TranslateOptions {
  /** Called before each rule (the CLI shows progress on a terminal). */
  onRule?: (done: number, total: number) => void;
  targets: TargetId[];
  /** Extra ECS events, evaluated as one more scenario. */
  userEvents?: EcsEvent[];
}

const key = (t: number[]) => t.join(',');

/** The native matcher's answer for one scenario, as tuples of event indexes. */
export function referenceMatches(query: Query, events: readonly EcsEvent[], categoryField?: string): number[][] {
  const index = new Map<unknown, number>(events.map((e, i) => [e, i]));
  const { results } = matchEvents(query, events, { ...(categoryField ? { categoryField } : {}), timestampField: '@timestamp', tiebreakerField: null });
  return results.map((r) => r.events.map((e) => (e === null ? -1 : (index.get(e) ?? -2))));
}

/**
 * A target that leaves a missing-event step out (declared) reports the events of the other steps: in the rule's
 * shape a match has no event (-1) at the missing step's position.
 */
function inRuleShape(query: Query, tuples: number[][]): number[][] {
  const body = query.body;
  if (body.kind !== 'Sequence' || !body.steps.some((s) => s.missing)) return tuples;
  const missing = body.steps.flatMap((s) => new Array<boolean>(s.runs ?? 1).fill(s.missing));
  const present = missing.filter((m) => !m).length;
  return tuples.map((t) => {
    if (t.length !== present) return t;
    let next = 0;
    return missing.map((m) => (m ? -1 : t[next++]!));
  });
}

/** A leaf-predicate oracle for the event generator, from the native matcher. */
export function matcherOracle(): (atom: Expr, event: EcsEvent) => boolean {
  const cache = new Map<Expr, (ev: EcsEvent) => boolean>();
  return (atom, event) => {
    let pred = cache.get(atom);
    if (!pred) {
      pred = compilePred(atom, { diagnostics: [] });
      cache.set(atom, pred);
    }
    return pred(event);
  };
}

export function scenariosFor(rule: ParsedRule, userEvents?: EcsEvent[]): Scenario[] {
  const categoryField = rule.source.meta.event_category_override ?? 'event.category';
  const scenarios = withIndexDataset(rule, generate(rule.query!, { categoryField, oracle: matcherOracle() }));
  if (userEvents?.length) scenarios.push({ name: 'user events', events: userEvents });
  return scenarios;
}

/**
 * A rule that names no dataset reads the indices of its `index`. Events of a data stream pattern there
 * (logs-<dataset>-*) all carry that data_stream.dataset, a constant of the stream: the scenarios are also run
 * with it (instead of without, when the index names nothing else).
 */
function withIndexDataset(rule: ParsedRule, scenarios: Scenario[]): Scenario[] {
  const index = rule.source.meta.index ?? [];
  const streams = index.flatMap((i) => /^logs-([a-z0-9_]+\.[a-z0-9_.]+)-\*$/.exec(i)?.[1] ?? []);
  if (streams.length !== 1 || [...allExprs(rule.query!)].some((x) => x.kind === 'Field' && (x.name === 'data_stream.dataset' || x.name === 'event.dataset'))) return scenarios;
  const stamped = scenarios.map((s) => ({ name: `${s.name} (data_stream.dataset ${streams[0]})`, events: s.events.map((e) => ({ 'data_stream.dataset': streams[0], ...e })) }));
  return index.length === 1 ? stamped : [...scenarios, ...stamped];
}

/**
 * A declaration that the target's source holds only events whose field has some values (`only`) explains misses on
 * the others: so the scenarios are also run with that field set, on the events without it, to a value the source
 * holds, or the source's events would never be compared (a rule that does not test host.os.type reading a
 * Windows log). event.type is varied by the generator itself.
 */
function withHeldValues(scenarios: Scenario[], t: Translation): Scenario[] {
  const held = new Map<string, { field: string; value: string }>();
  for (const d of t.diagnostics) if (d.only && d.only.field !== 'event.type' && d.only.values[0] !== undefined) held.set(`${d.only.field}=${d.only.values[0]}`, { field: d.only.field, value: d.only.values[0] });
  const lacks = (e: EcsEvent, field: string) => accessor(field.split('.'))(e).length === 0;
  const extra = [...held.values()].flatMap(({ field, value }) =>
    scenarios.filter((s) => s.events.some((e) => lacks(e, field))).map((s) => ({ name: `${s.name} (${field} ${value})`, events: s.events.map((e) => (lacks(e, field) ? { ...e, [field]: value } : e)) })),
  );
  return [...scenarios, ...extra];
}

/** What the translation's declarations explain (see explain.ts); an exact translation explains nothing. */
function declarations(rule: ParsedRule, t: Translation, undecided?: (atom: Expr, ev: EcsEvent) => boolean): Explainer | null {
  if (t.status !== 'approximate') return null;
  return explainer(rule.query!, t.diagnostics, rule.source.meta.event_category_override ?? 'event.category', matcherOracle(), undecided);
}

/**
 * A vendor pair's ECS side is what the ingest pipeline makes of the raw event; host.* is added by the agent
 * before it (add_host_metadata), so a pair without it cannot say what an atom on it is.
 */
function agentAdded(atom: Expr, ev: EcsEvent): boolean {
  return [...walk(atom)].some((x) => x.kind === 'Field' && x.name.startsWith('host.') && accessor(fieldPath(x))(ev).length === 0);
}

/** Why the native matcher cannot run a rule (e.g. a regex it refuses), or null: without a reference there is no verdict. */
function referenceProblem(rule: ParsedRule): string | null {
  const { matcher, diagnostics } = compileMatcher(rule.query!, {}, rule.source.meta);
  return matcher ? null : `the native matcher cannot run this rule: ${diagnostics.find((d) => d.severity === 'error')?.message ?? 'unknown reason'}`;
}

/**
 * The mapping the translation was made with: the classes of Microsoft Sentinel's tables only when it reads them
 * (EQL3250), so an event becomes the row of the table the query reads, not of a Sentinel table it does not.
 */
function replayMapping(t: Translation, mapping: Mapping, ruleIndex: readonly string[] | undefined): Mapping {
  return t.diagnostics.some((d) => d.code === 'EQL3250') ? forRuleIndex(mapping, ruleIndex) : withoutProduct(mapping, 'sentinel');
}

/** Verify one rule against one target over the given scenarios. */
export function verifyTranslation(rule: ParsedRule, t: Translation, given: Scenario[], options: TranslateOptions): VerifyResult {
  const meta = rule.source.meta;
  const base = { path: rule.source.path, id: meta.rule_id, name: meta.name, target: t.target, status: t.status };
  const scenarios = withHeldValues(given, t);
  const events = scenarios.reduce((n, s) => n + s.events.length, 0);
  const notChecked = (reason: string, kind: NotCheckedKind): VerifyResult => ({ ...base, verdict: 'not-checked', events: 0, mismatches: 0, counterexample: null, reason, notChecked: kind, bug: false });
  if (!rule.query) return notChecked('the rule does not parse', 'no-output');
  if (t.output === null) return notChecked('the translation is unsupported: there is no output to check', 'no-output');
  const interp = INTERPRETERS[t.target];
  if (!interp) return notChecked(`no interpreter for ${t.target} yet`, 'no-interpreter');
  const problem = referenceProblem(rule);
  if (problem) return notChecked(problem, 'no-reference');
  const mapping = replayMapping(t, loadMapping(t.target, options.mappingFiles), meta.index);
  const declared = declarations(rule, t);
  const categoryField = meta.event_category_override;
  let mismatches = 0;
  let counterexample: Counterexample | null = null;
  let bug = false;
  // Matches either side made on events the target can hold: with none, agreement would say nothing.
  let compared = 0;
  const ruleFields = new Set([...allExprs(rule.query)].flatMap((e) => (e.kind === 'Field' ? [e.name] : [])));
  const ctx: InterpreterContext = { mapping, options, ruleFields };
  let program: unknown;
  try {
    program = interp.parse(t.output, ctx);
  } catch (e) {
    if (e instanceof InterpreterError)
      return { ...base, verdict: 'disagree', events, mismatches: 1, counterexample: null, reason: `the ${t.target} output does not parse: ${e.message}`, bug: true };
    throw e;
  }
  for (const scenario of scenarios) {
    const records = scenario.events.map((e) => interp.fromEcs(e, ctx));
    const impossible = new Set(records.flatMap((r, i) => (r instanceof Unrepresentable ? [i] : [])));
    const stored = records.map((r) => (r instanceof Unrepresentable ? null : r));
    const run = interp.run(program, stored, ctx);
    if ('notChecked' in run) return notChecked(run.notChecked, 'interpreter');
    // Only a miss needs them (which step rejected which event); asked once per scenario, when there is one.
    let stepAccepts: boolean[][] | null | undefined;
    const accepts = () => (stepAccepts === undefined ? (stepAccepts = interp.stepAccepts?.(program, stored, ctx) ?? null) : stepAccepts);
    const skip = new Set([...impossible, ...(run.unrepresentable ?? [])]);
    const comparable = (t: number[]) => !t.some((i) => skip.has(i));
    const ref = referenceMatches(rule.query, scenario.events, categoryField);
    // Keyed by tuple, or by group where the target reports groups; each key keeps its side's first tuple.
    const ident = run.groupOf ?? key;
    const byKey = (tuples: number[][]) => {
      const m = new Map<string, number[]>();
      for (const t of tuples.filter(comparable)) if (!m.has(ident(t))) m.set(ident(t), t);
      return m;
    };
    const a = byKey(ref);
    const b = byKey(inRuleShape(rule.query, run.matches));
    compared += a.size + b.size;
    const onlyEql = [...a].filter(([k]) => !b.has(k)).map(([, t]) => t);
    const onlyTarget = [...b].filter(([k]) => !a.has(k)).map(([, t]) => t);
    for (const [side, tuples] of [['eql', onlyEql], ['target', onlyTarget]] as const) {
      for (const tuple of tuples) {
        mismatches++;
        const explained = declared?.explains(side, tuple, scenario.events, side === 'eql' && rule.query.body.kind === 'Sequence' ? accepts() : null) ?? false;
        if (!explained) bug = true;
        const candidate = counterexampleFor(scenario, tuple, side, explained, rule.query.body.kind === 'EventQuery');
        // Prefer an undeclared difference, then the smallest event.
        if (!counterexample || (counterexample.declared && !explained) || (counterexample.declared === explained && size(candidate) < size(counterexample)))
          counterexample = candidate;
      }
    }
  }
  if (!compared && scenarios.length) return notChecked(`no probe event that the ${t.target} source can hold is matched by the rule or the translation`, 'no-comparison');
  return { ...base, verdict: mismatches ? 'disagree' : 'agree', events, mismatches, counterexample, bug };
}

function counterexampleFor(s: Scenario, idx: number[], side: 'eql' | 'target', declared: boolean, single: boolean): Counterexample {
  if (single && idx.length === 1 && idx[0]! >= 0) return { scenario: s.name, event: s.events[idx[0]!]!, matched_by: side, declared };
  return { scenario: s.name, events: s.events, matched_by: side, declared };
}

const size = (c: Counterexample) => JSON.stringify(c.event ?? c.events).length;

export interface VerifyReport {
  results: VerifyResult[];
  summary: Partial<Record<TargetId, Record<Verdict, number>>>;
  exitCode: number;
}

export function verifyRules(rules: ParsedRule[], options: VerifyOptions): VerifyReport {
  const results: VerifyResult[] = [];
  const summary: VerifyReport['summary'] = {};
  for (const t of options.targets) summary[t] = { agree: 0, disagree: 0, 'not-checked': 0 };
  for (const [n, rule] of rules.entries()) {
    options.onRule?.(n, rules.length);
    const scenarios = rule.query ? scenariosFor(rule, options.userEvents) : [];
    for (const target of options.targets) {
      const t: Translation = rule.query
        ? translateRule({ query: rule.query, meta: rule.source.meta, text: rule.source.query, path: rule.source.path }, target, options)
        : { target, status: 'unsupported', output: null, diagnostics: [] };
      const r = verifyTranslation(rule, t, scenarios, options);
      summary[target]![r.verdict]++;
      results.push(r);
    }
  }
  return { results, summary, exitCode: results.some((r) => r.bug) ? 1 : 0 };
}

export function verifyJson(report: VerifyReport) {
  return {
    results: report.results.map((r) => ({
      path: r.path,
      id: r.id,
      target: r.target,
      status: r.status,
      verdict: r.verdict,
      events: r.events,
      mismatches: r.mismatches,
      counterexample: r.counterexample,
    })),
    summary: report.summary,
  };
}

export function renderVerifyText(report: VerifyReport): string {
  let out = '';
  for (const r of report.results) {
    out += `${r.bug ? 'BUG ' : ''}${r.verdict.padEnd(11)} ${r.target.padEnd(5)} ${r.status.padEnd(11)} ${r.path}${r.name ? `  ${r.name}` : ''}\n`;
    if (r.reason) out += `    ${r.reason}\n`;
    if (r.counterexample) {
      const c = r.counterexample;
      out += `    ${r.mismatches} mismatch${r.mismatches === 1 ? '' : 'es'} over ${r.events} events; matched only by ${c.matched_by === 'eql' ? 'the EQL rule' : `the ${r.target} query`}${c.declared ? ' (declared)' : ''} in "${c.scenario}":\n`;
      out += `    ${JSON.stringify(c.event ?? c.events)}\n`;
    }
  }
  out += Object.entries(report.summary)
    .map(([t, s]) => `${t}: ${s.agree} agree, ${s.disagree} disagree, ${s['not-checked']} not checked`)
    .join('\n') + '\n';
  return out;
}

// ---- vendor pairs ---------------------------------------------------------------------------

/** One line of ../shared/vendor-pairs/*.ndjson: a raw vendor event and the ECS document Elastic makes of it. */
export interface VendorPair {
  source: string;
  raw: unknown;
  ecs: EcsEvent;
}

/**
 * Verify against real vendor events: the native matcher reads each pair's ECS side, the target's
 * interpreter its raw side, with no conversion in between. Pairs a target does not read are skipped.
 */
export function verifyPairs(rules: ParsedRule[], pairs: VendorPair[], options: VerifyOptions): VerifyReport {
  const results: VerifyResult[] = [];
  const summary: VerifyReport['summary'] = {};
  for (const t of options.targets) summary[t] = { agree: 0, disagree: 0, 'not-checked': 0 };
  for (const rule of rules) {
    for (const target of options.targets) {
      const interp = INTERPRETERS[target];
      const ctx: InterpreterContext = { mapping: loadMapping(target, options.mappingFiles), options };
      const readable = interp?.fromVendor ? pairs.map((p) => ({ pair: p, record: interp.fromVendor!(p.source, p.raw, ctx) })).filter((x) => x.record !== null) : [];
      const t: Translation = rule.query
        ? translateRule({ query: rule.query, meta: rule.source.meta, text: rule.source.query, path: rule.source.path }, target, options)
        : { target, status: 'unsupported', output: null, diagnostics: [] };
      let r: VerifyResult;
      if (!readable.length && t.output !== null && interp && rule.query)
        r = { ...verifyTranslation(rule, t, [], options), verdict: 'not-checked', reason: `no vendor pair is read by the ${target} interpreter`, notChecked: 'no-vendor-pair' };
      else if (!rule.query || rule.query.body.kind !== 'EventQuery' || t.output === null || !interp || referenceProblem(rule))
        r = verifyTranslation(rule, t, [], options);
      else r = comparePairs(rule, t, interp, readable, ctx);
      summary[target]![r.verdict]++;
      results.push(r);
    }
  }
  return { results, summary, exitCode: results.some((r) => r.bug) ? 1 : 0 };
}

function comparePairs(rule: ParsedRule, t: Translation, interp: Interpreter, readable: { pair: VendorPair; record: unknown }[], ctx: InterpreterContext): VerifyResult {
  const meta = rule.source.meta;
  const base = { path: rule.source.path, id: meta.rule_id, name: meta.name, target: t.target, status: t.status };
  let program: unknown;
  try {
    program = interp.parse(t.output!, ctx);
  } catch (e) {
    if (e instanceof InterpreterError)
      return { ...base, verdict: 'disagree', events: readable.length, mismatches: 1, counterexample: null, reason: `the ${t.target} output does not parse: ${e.message}`, bug: true };
    throw e;
  }
  const declared = declarations(rule, t, agentAdded);
  let mismatches = 0;
  let bug = false;
  let counterexample: Counterexample | null = null;
  for (const { pair, record } of readable) {
    const eql = referenceMatches(rule.query!, [pair.ecs], meta.event_category_override).length > 0;
    const run = interp.run(program, [record], ctx);
    if ('notChecked' in run) return { ...base, verdict: 'not-checked', events: 0, mismatches: 0, counterexample: null, reason: run.notChecked, notChecked: 'interpreter', bug: false };
    const target = run.matches.length > 0;
    if (eql === target) continue;
    mismatches++;
    const side = eql ? 'eql' : 'target';
    const explained = declared?.explains(side, [0], [pair.ecs]) ?? false;
    if (!explained) bug = true;
    if (!counterexample || (counterexample.declared && !explained)) counterexample = { scenario: `vendor pair (${pair.source})`, event: pair.ecs, matched_by: side, declared: explained };
  }
  return { ...base, verdict: mismatches ? 'disagree' : 'agree', events: readable.length, mismatches, counterexample, bug };
}
