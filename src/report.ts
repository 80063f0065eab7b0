// `report`: one self-contained HTML page (no external assets) with a rules × targets matrix coloured by
// fidelity; every cell opens the query, its diagnostics and its verify verdict.
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRules } from './check.js';
import { convertRule } from './convert.js';
import { filtersOf } from './ir/walk.js';
import { jsonDiagnostic, type Diagnostic } from './diagnostics.js';
import type { Fidelity, TargetId, TranslateOptions } from './translate/core.js';
import { filterFacts } from './translate/core.js';

export interface ReportCell {
  status: Fidelity;
  output: string | null;
  diagnostics: { code: string; severity: string; message: string; line: number; column: number }[];
  verdict: { verdict: string; detail: string };
}

export interface ReportRow {
  path: string;
  id: string | null;
  name: string;
  tactics: string[];
  os: string[];
  query: string;
  cells: Partial<Record<TargetId, ReportCell>>;
}

export interface ReportData {
  generated: string;
  targets: TargetId[];
  rows: ReportRow[];
  /** Problems with files that yielded no rule (not shown on the page; the CLI prints them). */
  files: Diagnostic[];
}

/** Verdict of verify for one rule and target, when the caller ran it. */
export type VerdictFn = (row: { path: string; id: string | null }, target: TargetId) => { verdict: string; detail: string } | null;

export function reportData(paths: readonly string[], targets: TargetId[], options: TranslateOptions = {}, verdicts?: VerdictFn): ReportData {
  const { rules, files } = loadRules(paths);
  const rows = rules.map((rule): ReportRow => {
    const meta = rule.source.meta;
    const os = new Set<string>();
    for (const t of meta.tags ?? []) if (/^OS: /i.test(t)) os.add(t.slice(4).toLowerCase());
    if (rule.query)
      for (const { filter } of filtersOf(rule.query)) for (const v of filterFacts(filter).values.get('host.os.type')?.values ?? []) os.add(v.toLowerCase());
    const row: ReportRow = {
      path: rule.source.path,
      id: meta.rule_id,
      name: meta.name ?? rule.source.path,
      tactics: [...new Set(meta.threat.map((t) => t.tactic.name))],
      os: [...os].sort(),
      query: rule.source.query.trim(),
      cells: {},
    };
    for (const r of convertRule(rule, targets, options)) {
      row.cells[r.target] = {
        status: r.status,
        output: r.output,
        diagnostics: r.diagnostics.map(jsonDiagnostic),
        verdict: verdicts?.(row, r.target) ?? { verdict: 'not-checked', detail: 'verify was not run for this report' },
      };
    }
    return row;
  });
  return { generated: new Date().toISOString(), targets, rows, files };
}

const template = join(dirname(fileURLToPath(import.meta.url)), '..', 'templates', 'report.html.hbs');

export function renderReport(data: ReportData): string {
  const hb = Handlebars.create();
  // The data travels as JSON inside a <script> element: `<` is escaped so no value can close it.
  hb.registerHelper('scriptJson', (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029'));
  return hb.compile(readFileSync(template, 'utf8'), { strict: true, noEscape: true })({ data: { ...data, files: undefined }, title: `eqlport report — ${data.rows.length} rules` });
}
