// `diff`: what changed between two versions of a rule — every target's output as a unified diff, a short
// summary of the logic change, and events that one version matches and the other does not.
import { createTwoFilesPatch } from 'diff';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { loadRules, parseRuleText, type ParsedRule } from './check.js';
import { convertRule } from './convert.js';
import type { Diagnostic } from './diagnostics.js';
import { printExpr, printFilter, printQuery } from './ir/print.js';
import type { EventFilter, Expr, Query, SequenceStep } from './ir/nodes.js';
import { conjunctsOf, type TargetId, type TranslateOptions } from './translate/core.js';
import type { EcsEvent } from './verify/generate.js';
import { referenceMatches, scenariosFor } from './verify/index.js';

export interface RuleChange {
  key: string;
  oldPath: string | null;
  newPath: string | null;
  name: string | null;
  change: 'added' | 'removed' | 'modified' | 'unchanged';
  logic: string[];
  outputs: { target: TargetId; patch: string }[];
  /** Generated events on which the two versions disagree (at most a few). */
  distinguishing: { event: EcsEvent; matchedBy: 'old' | 'new' }[];
}

export interface DiffReport {
  rules: RuleChange[];
  diagnostics: Diagnostic[];
  exitCode: 0 | 1 | 2;
}

// ---- logic summary --------------------------------------------------------------------------

/** Human summary of how the logic of `b` differs from `a`. */
export function logicChanges(a: Query, b: Query): string[] {
  const out: string[] = [];
  if (a.body.kind !== b.body.kind) {
    out.push(`query form ${kindName(a)} → ${kindName(b)}`);
    return out;
  }
  if (a.body.kind === 'EventQuery' && b.body.kind === 'EventQuery') filterChanges(a.body.filter, b.body.filter, '', out);
  if (a.body.kind === 'Sequence' && b.body.kind === 'Sequence') {
    const [x, y] = [a.body, b.body];
    const span = (s: typeof x) => (s.maxspan ? `${s.maxspan.value}${s.maxspan.unit}` : 'none');
    if (span(x) !== span(y)) out.push(`maxspan ${span(x)} → ${span(y)}`);
    listChange('sequence by', x.by, y.by, out);
    stepsChanges(x.steps, y.steps, out);
    const until = (s: typeof x) => (s.until ? printFilter(s.until.filter) : null);
    if (until(x) !== until(y))
      out.push(until(x) === null ? `until added: ${until(y)}` : until(y) === null ? `until removed: ${until(x)}` : `until changed: ${until(x)} → ${until(y)}`);
  }
  if (a.body.kind === 'Sample' && b.body.kind === 'Sample') {
    listChange('sample by', a.body.by, b.body.by, out);
    a.body.steps.forEach((s, i) => {
      const t = b.body.kind === 'Sample' ? b.body.steps[i] : undefined;
      if (t) filterChanges(s.filter, t.filter, `filter ${i + 1}: `, out);
    });
    if (a.body.steps.length !== b.body.steps.length) out.push(`filters ${a.body.steps.length} → ${b.body.steps.length}`);
  }
  const pipes = (q: Query) => q.pipes.map((p) => `${p.name} ${p.count ?? p.raw}`.trim()).join(' | ');
  if (pipes(a) !== pipes(b)) out.push(`pipes "${pipes(a) || 'none'}" → "${pipes(b) || 'none'}"`);
  if (!out.length && printQuery(a) !== printQuery(b)) out.push('the query changed in a way this summary does not describe');
  return out;
}

const kindName = (q: Query) => ({ EventQuery: 'event query', Sequence: 'sequence', Sample: 'sample' })[q.body.kind];

function stepsChanges(a: readonly SequenceStep[], b: readonly SequenceStep[], out: string[]) {
  if (a.length !== b.length) out.push(`steps ${a.length} → ${b.length}`);
  a.forEach((s, i) => {
    const t = b[i];
    if (!t) return;
    const p = `step ${i + 1}: `;
    if (s.missing !== t.missing) out.push(`${p}${t.missing ? 'now a missing event' : 'no longer a missing event'}`);
    if ((s.runs ?? 1) !== (t.runs ?? 1)) out.push(`${p}runs ${s.runs ?? 1} → ${t.runs ?? 1}`);
    listChange(`${p}by`, s.by, t.by, out);
    filterChanges(s.filter, t.filter, p, out);
  });
}

function listChange(label: string, a: readonly Expr[], b: readonly Expr[], out: string[]) {
  const x = a.map(printExpr).join(', ');
  const y = b.map(printExpr).join(', ');
  if (x !== y) out.push(`${label} ${x || 'none'} → ${y || 'none'}`);
}

/** Conjunct-level comparison: exclusions and conditions added or removed, value lists grown or shrunk. */
function filterChanges(a: EventFilter, b: EventFilter, prefix: string, out: string[]) {
  if (a.category !== b.category) out.push(`${prefix}category ${a.category ?? 'any'} → ${b.category ?? 'any'}`);
  const xs = conjunctsOf(a.where);
  const ys = conjunctsOf(b.where);
  const printedX = new Map(xs.map((e) => [printExpr(e), e]));
  const printedY = new Map(ys.map((e) => [printExpr(e), e]));
  const removed = [...printedX].filter(([t]) => !printedY.has(t)).map(([, e]) => e);
  const added = [...printedY].filter(([t]) => !printedX.has(t)).map(([, e]) => e);
  // A conjunct whose operator and field stay the same but whose values change is reported as such.
  for (const r of [...removed]) {
    const key = listKey(r);
    const partner = key && added.find((x) => listKey(x) === key);
    if (!partner) continue;
    removed.splice(removed.indexOf(r), 1);
    added.splice(added.indexOf(partner), 1);
    const before = listValues(r);
    const after = listValues(partner);
    const plus = after.filter((v) => !before.includes(v));
    const minus = before.filter((v) => !after.includes(v));
    const what = `${prefix}${key} list`;
    if (plus.length) out.push(`${what}: value${plus.length > 1 ? 's' : ''} added ${plus.join(', ')}`);
    if (minus.length) out.push(`${what}: value${minus.length > 1 ? 's' : ''} removed ${minus.join(', ')}`);
  }
  for (const e of added) out.push(`${prefix}${isExclusion(e) ? 'exclusion' : 'condition'} added: ${printExpr(e)}`);
  for (const e of removed) out.push(`${prefix}${isExclusion(e) ? 'exclusion' : 'condition'} removed: ${printExpr(e)}`);
}

const isExclusion = (e: Expr) => e.kind === 'Not' || (e.kind === 'Compare' && e.op === '!=');

/** `[not] field op` of a list-valued conjunct, used to pair its old and new versions. */
function listKey(e: Expr): string | null {
  const neg = e.kind === 'Not' ? 'not ' : '';
  const inner = e.kind === 'Not' ? e.arg : e;
  if (inner.kind === 'Match') return `${neg}${printExpr(inner.arg)} ${inner.op}`;
  if (inner.kind === 'In') return `${neg}${printExpr(inner.arg)} in${inner.caseInsensitive ? '~' : ''}`;
  return null;
}

function listValues(e: Expr): string[] {
  const inner = e.kind === 'Not' ? e.arg : e;
  if (inner.kind === 'Match') return inner.patterns.map((p) => JSON.stringify(p.value));
  if (inner.kind === 'In') return inner.values.map(printExpr);
  return [];
}

// ---- pairing rules and computing the report -------------------------------------------------

function keyOf(r: ParsedRule, root: string): string {
  return r.source.meta.rule_id ?? relative(root, resolve(r.source.path));
}

export interface DiffOptions extends TranslateOptions {
  targets: TargetId[];
  /** Compare `newPath` with its version at this git revision. */
  gitRev?: string;
  /** Skip the semantic comparison (generated events run through the native matcher). */
  noEvents?: boolean;
}

export class DiffError extends Error {}

function git(args: string[], cwd: string): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim().split('\n')[0];
    throw new DiffError(`git ${args[0]}: ${stderr || (e as Error).message}`);
  }
}

/** Rules of a path as they were at a git revision (files under the path, read with `git show`). */
export function rulesAtRevision(path: string, rev: string): ParsedRule[] {
  const abs = resolve(path);
  const top = git(['rev-parse', '--show-toplevel'], statSync(abs).isDirectory() ? abs : resolve(abs, '..')).trim();
  const rel = relative(top, abs);
  // --end-of-options: a revision that starts with `-` is a revision, not an option.
  const files = git(['ls-tree', '-r', '--name-only', '--end-of-options', rev, '--', rel || '.'], top)
    .split('\n')
    .filter((f) => /\.(toml|ndjson|eql)$/i.test(f));
  return files.flatMap((f) => parseRuleText(resolve(top, f), git(['show', '--end-of-options', `${rev}:${f}`], top)));
}

export function diffRules(oldRules: ParsedRule[], newRules: ParsedRule[], roots: [string, string], options: DiffOptions): RuleChange[] {
  const olds = new Map(oldRules.map((r) => [keyOf(r, roots[0]), r]));
  const news = new Map(newRules.map((r) => [keyOf(r, roots[1]), r]));
  const keys = [...new Set([...olds.keys(), ...news.keys()])].sort();
  return keys.map((key) => compareRule(key, olds.get(key) ?? null, news.get(key) ?? null, options));
}

function compareRule(key: string, a: ParsedRule | null, b: ParsedRule | null, options: DiffOptions): RuleChange {
  const name = (b ?? a)!.source.meta.name;
  const base = { key, oldPath: a?.source.path ?? null, newPath: b?.source.path ?? null, name };
  if (!a || !b) return { ...base, change: a ? 'removed' : 'added', logic: [], outputs: [], distinguishing: [] };
  const logic = a.query && b.query ? logicChanges(a.query, b.query) : a.source.query === b.source.query ? [] : ['the query text changed (one version does not parse)'];
  const outA = convertRule(a, options.targets, options);
  const outB = convertRule(b, options.targets, options);
  const outputs = options.targets.flatMap((target, i) => {
    const x = outA[i]!;
    const y = outB[i]!;
    const text = (r: typeof x) => `${r.output ?? `(no output: ${r.status})`}\n`;
    if (text(x) === text(y) && x.status === y.status) return [];
    return [{ target, patch: createTwoFilesPatch(`${a.source.path} (${target}, ${x.status})`, `${b.source.path} (${target}, ${y.status})`, text(x), text(y), '', '', { context: 3 }) }];
  });
  const distinguishing: RuleChange['distinguishing'] = [];
  if (a.query && b.query && !options.noEvents && logic.length) {
    // Probe events of both versions; a scenario whose results differ tells the versions apart.
    const key = (r: number[][]) => JSON.stringify(r);
    for (const s of [...scenariosFor(a), ...scenariosFor(b)]) {
      const ra = referenceMatches(a.query, s.events, a.source.meta.event_category_override);
      const rb = referenceMatches(b.query, s.events, b.source.meta.event_category_override);
      if (key(ra) === key(rb)) continue;
      if (a.query.body.kind === 'EventQuery' && b.query.body.kind === 'EventQuery') {
        const inA = new Set(ra.map((t) => t[0]));
        const inB = new Set(rb.map((t) => t[0]));
        s.events.forEach((event, i) => {
          if (inA.has(i) !== inB.has(i) && distinguishing.length < 3) distinguishing.push({ event, matchedBy: inA.has(i) ? 'old' : 'new' });
        });
      } else if (distinguishing.length < 3) distinguishing.push({ event: { scenario: s.name, events: s.events }, matchedBy: ra.length > rb.length ? 'old' : 'new' });
      if (distinguishing.length >= 3) break;
    }
  }
  const change = logic.length || outputs.length ? 'modified' : 'unchanged';
  return { ...base, change, logic, outputs, distinguishing };
}

export function diff(oldPath: string, newPath: string, options: DiffOptions): DiffReport {
  const older = options.gitRev ? { rules: rulesAtRevision(newPath, options.gitRev), files: [] } : loadRules([oldPath]);
  const newer = loadRules([newPath]);
  const diagnostics = [...older.files, ...newer.files].filter((d) => d.severity === 'error');
  const single = (p: string) => !statSync(p).isDirectory();
  // Two single files are one rule whatever their ids say.
  if (!options.gitRev && single(oldPath) && single(newPath) && older.rules.length === 1 && newer.rules.length === 1) {
    const change = compareRule(newer.rules[0]!.source.meta.rule_id ?? newPath, older.rules[0]!, newer.rules[0]!, options);
    return { rules: [change], diagnostics, exitCode: diagnostics.length ? 2 : change.change === 'unchanged' ? 0 : 1 };
  }
  const roots: [string, string] = [resolve(options.gitRev ? newPath : oldPath), resolve(newPath)];
  const rules = diffRules(older.rules, newer.rules, roots, options);
  const different = rules.some((r) => r.change !== 'unchanged');
  return { rules, diagnostics, exitCode: diagnostics.length ? 2 : different ? 1 : 0 };
}

export function renderDiffText(report: DiffReport): string {
  let out = '';
  for (const r of report.rules) {
    if (r.change === 'unchanged') continue;
    out += `== ${r.name ?? r.key} (${r.change})\n`;
    for (const l of r.logic) out += `  - ${l}\n`;
    for (const d of r.distinguishing) out += `  event matched only by the ${d.matchedBy} version: ${JSON.stringify(d.event)}\n`;
    for (const o of r.outputs) out += o.patch.replace(/^/gm, '  ').replace(/ +$/gm, '') + '\n';
  }
  for (const d of report.diagnostics) out += `${d.file ?? ''}: ${d.severity} ${d.code}: ${d.message}\n`;
  const changed = report.rules.filter((r) => r.change !== 'unchanged').length;
  out += `${changed} of ${report.rules.length} rules changed\n`;
  return out;
}
