// `check`: parse every rule, then warn (never fail) on what a reviewer would flag.
import { diag, hasErrors, locate, type Diagnostic } from './diagnostics.js';
import { ecsField, elasticSpecific, isNumericType, isStringType } from './ecs.js';
import type { Expr, Field, Literal, Query } from './ir/nodes.js';
import { allExprs, filtersOf } from './ir/walk.js';
import { parseQuery } from './parse.js';
import { expandPaths, loadRuleFile, loadRuleText, type RuleSource } from './rules.js';

export interface ParsedRule {
  source: RuleSource;
  query: Query | null;
  /** Placed in the rule's file (line/column in the file). */
  diagnostics: Diagnostic[];
}

export interface CheckedRule {
  path: string;
  id: string | null;
  name: string | null;
  ok: boolean;
  diagnostics: Diagnostic[];
  query: string | null;
}

export interface CheckResult {
  rules: CheckedRule[];
  /** Problems with files that yielded no rule (unreadable, invalid TOML, skipped objects). */
  files: Diagnostic[];
  summary: { total: number; ok: number; failed: number };
}

/** Parse one loaded rule; diagnostics carry file positions. */
export function parseRule(source: RuleSource): ParsedRule {
  const { query, diagnostics } = parseQuery(source.query);
  return { source, query, diagnostics: diagnostics.map((d) => locate(d, source.origin, source.path)) };
}

/** Load and parse every rule under the given paths. One bad file never stops the batch. */
export function loadRules(paths: readonly string[]): { rules: ParsedRule[]; files: Diagnostic[] } {
  const { files, diagnostics } = expandPaths(paths);
  const rules: ParsedRule[] = [];
  for (const file of files) {
    const loaded = loadRuleFile(file);
    diagnostics.push(...loaded.diagnostics);
    for (const src of loaded.rules) rules.push(parseRule(src));
  }
  return { rules, files: diagnostics };
}

export function parseRuleText(path: string, text: string): ParsedRule[] {
  return loadRuleText(path, text).rules.map(parseRule);
}

/** Review warnings for a parsed query: non-ECS fields, impossible values, literal wildcards (from validate). */
export function reviewQuery(q: Query, categoryField = 'event.category'): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of allExprs(q)) {
    if (e.kind === 'Field' && !seen.has(e.name)) {
      seen.add(e.name);
      fieldNote(e, out);
    }
    typeCheck(e, out);
  }
  if (categoryField === 'event.category') {
    const allowed = ecsField('event.category')?.allowed ?? [];
    for (const { filter } of filtersOf(q))
      if (filter.category !== null && allowed.length && !allowed.includes(filter.category))
        out.push(diag('EQL2104', `"${filter.category}" is not an ECS event.category value (${allowed.join(', ')})`, filter.span));
  }
  return out;
}

function fieldNote(f: Field, out: Diagnostic[]) {
  if (f.path.some((s) => typeof s === 'number') || f.name === '@timestamp') return;
  if (ecsField(f.name)) return;
  const why = elasticSpecific(f.name);
  if (why) out.push(diag('EQL2103', `\`${f.name}\` is not in ECS; it is ${why}`, f.span));
  else out.push(diag('EQL2102', `\`${f.name}\` is not an ECS field${f.optional ? ' (it is optional, so a missing mapping is tolerated)' : ''}`, f.span));
}

const isLit = (e: Expr): e is Literal => e.kind === 'Literal';

function typeCheck(e: Expr, out: Diagnostic[]) {
  const against = (field: Expr, values: readonly Expr[]) => {
    if (field.kind !== 'Field') return;
    const def = ecsField(field.name);
    if (!def) return;
    for (const v of values) {
      if (!isLit(v) || v.value === null) continue;
      const bad =
        (isNumericType(def.type) && typeof v.value === 'string' && !/^-?\d+(\.\d+)?$/.test(v.value)) ||
        (def.type === 'boolean' && typeof v.value !== 'boolean' && v.value !== 'true' && v.value !== 'false') ||
        (isStringType(def.type) && typeof v.value === 'boolean');
      if (bad) out.push(diag('EQL2104', `${JSON.stringify(v.value)} can never match \`${field.name}\`, which is of type ${def.type}`, v.span));
      else if (def.allowed && typeof v.value === 'string' && !def.allowed.includes(v.value))
        out.push(diag('EQL2104', `${JSON.stringify(v.value)} is not an allowed value of \`${field.name}\` (${def.allowed.join(', ')})`, v.span));
    }
  };
  if (e.kind === 'Compare' && (e.op === '==' || e.op === '!=')) {
    against(e.left, [e.right]);
    against(e.right, [e.left]);
  } else if (e.kind === 'In') against(e.arg, e.values);
  else if (e.kind === 'Match' && e.arg.kind === 'Field') {
    const def = ecsField(e.arg.name);
    if (def && (isNumericType(def.type) || def.type === 'boolean'))
      out.push(diag('EQL2104', `\`${e.op}\` matches strings, but \`${e.arg.name}\` is of type ${def.type}`, e.span));
  }
}

/** `eqlport check` as a library call. */
export function check(paths: readonly string[]): CheckResult {
  const { rules, files } = loadRules(paths);
  return summarise(rules, files);
}

export function checkParsed(rules: ParsedRule[], files: Diagnostic[] = []): CheckResult {
  return summarise(rules, files);
}

function summarise(parsed: ParsedRule[], files: Diagnostic[]): CheckResult {
  const rules = parsed.map((r): CheckedRule => {
    const category = r.source.meta.event_category_override ?? 'event.category';
    const review = r.query ? reviewQuery(r.query, category).map((d) => locate(d, r.source.origin, r.source.path)) : [];
    const diagnostics = [...r.diagnostics, ...review].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    return { path: r.source.path, id: r.source.meta.rule_id, name: r.source.meta.name, ok: !hasErrors(diagnostics), diagnostics, query: r.source.query };
  });
  // A file that yields no rule because it is broken counts as a failed rule.
  const broken = files.filter((d) => d.severity === 'error');
  for (const d of broken)
    rules.push({ path: d.file ?? '', id: null, name: null, ok: false, diagnostics: [d], query: null });
  const ok = rules.filter((r) => r.ok).length;
  return { rules, files: files.filter((d) => d.severity !== 'error'), summary: { total: rules.length, ok, failed: rules.length - ok } };
}
