// `convert`: rules in, one translation per rule and target out, each with its fidelity.
import { mkdirSync, renameSync, writeFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { BACKENDS } from './backends/index.js';
import { loadRules, type ParsedRule } from './check.js';
import { formatDiagnostic, jsonDiagnostic, locate, type Diagnostic } from './diagnostics.js';
import type { Fidelity, TargetId, Translation, TranslateOptions } from './translate/core.js';
import { translateRule } from './translate/index.js';
import { ARTIFACTS, ArtifactError, artifactView, renderArtifact } from './artifacts.js';

export interface ConvertOptions extends TranslateOptions {
  targets: TargetId[];
  strict?: boolean;
  /** Write one file per rule and target under this directory, mirroring the input tree. */
  outDir?: string;
  /** Wrap each query of the artifact's target in a deployable artifact (templates/<name>.hbs). */
  artifacts?: readonly string[];
  /** Directory of user templates that replace the bundled ones of the same name. */
  templatesDir?: string;
  /** Called after each rule (the CLI shows progress on a terminal). */
  onRule?: (done: number, total: number) => void;
}

export interface ConvertResult {
  path: string;
  id: string | null;
  name: string | null;
  target: TargetId;
  status: Fidelity;
  output: string | null;
  diagnostics: Diagnostic[];
  /** Query text, for caret rendering. */
  query: string;
  /** Where --out wrote the output. */
  written?: string;
  /** Set when `output` is a deployable artifact rather than the bare query. */
  artifact?: string;
}

export interface ConvertReport {
  results: ConvertResult[];
  /** Problems with files that yielded no rule. */
  files: Diagnostic[];
  summary: Partial<Record<TargetId, Record<Fidelity, number>>>;
  exitCode: number;
}

export function convertRule(rule: ParsedRule, targets: readonly TargetId[], options: TranslateOptions = {}): ConvertResult[] {
  const { source } = rule;
  const base = { path: source.path, id: source.meta.rule_id, name: source.meta.name, query: source.query };
  return targets.map((target): ConvertResult => {
    if (!rule.query) return { ...base, target, status: 'unsupported', output: null, diagnostics: rule.diagnostics };
    const t: Translation = translateRule({ query: rule.query, meta: source.meta, text: source.query, path: source.path }, target, options);
    const placed = t.diagnostics.map((d) => locate(d, source.origin, source.path));
    // Review warnings of the front end travel with every result.
    return { ...base, target, status: t.status, output: t.output, diagnostics: [...rule.diagnostics, ...placed] };
  });
}

export function convert(paths: readonly string[], options: ConvertOptions): ConvertReport {
  for (const a of options.artifacts ?? []) if (!ARTIFACTS[a]) throw new ArtifactError(`unknown artifact "${a}" (known: ${Object.keys(ARTIFACTS).join(', ')})`);
  const { rules, files } = loadRules(paths);
  const results: ConvertResult[] = [];
  const summary: ConvertReport['summary'] = {};
  for (const t of options.targets) summary[t] = { exact: 0, approximate: 0, unsupported: 0 };
  const perFile = new Map<string, number>();
  for (const [n, rule] of rules.entries()) {
    options.onRule?.(n, rules.length);
    const index = perFile.get(rule.source.path) ?? 0;
    perFile.set(rule.source.path, index + 1);
    for (const r of convertRule(rule, options.targets, options)) {
      const refused = !!options.strict && r.status === 'approximate';
      if (refused) r.diagnostics.push({ code: 'EQL3005', severity: 'error', message: 'approximate translation refused by --strict', file: r.path });
      summary[r.target]![r.status]++;
      for (const out of withArtifacts(r, rule, options)) {
        if (options.outDir && out.output !== null && !refused) {
          out.written = outputPath(options.outDir, paths, rule, index, out);
          writeAtomic(out.written, out.output.endsWith('\n') ? out.output : out.output + '\n');
        }
        results.push(out);
      }
    }
  }
  const failed =
    files.some((d) => d.severity === 'error') ||
    results.some((r) => r.status === 'unsupported' || (options.strict && r.status === 'approximate'));
  return { results, files, summary, exitCode: failed ? 1 : 0 };
}

/** The result itself, or one result per requested artifact of its target. */
function withArtifacts(r: ConvertResult, rule: ParsedRule, options: ConvertOptions): ConvertResult[] {
  const kinds = (options.artifacts ?? []).filter((a) => ARTIFACTS[a]!.target === r.target);
  if (!kinds.length) return [r];
  return kinds.map((artifact) => ({
    ...r,
    artifact,
    output: r.output === null ? null : renderArtifact(artifact, artifactView(rule.source.meta, r.output, options), options.templatesDir),
  }));
}

/** Mirror the input tree: the rule file's path relative to the argument it was found under. */
function outputPath(outDir: string, inputs: readonly string[], rule: ParsedRule, index: number, r: ConvertResult): string {
  const file = resolve(rule.source.path);
  const root = inputs.map((p) => resolve(p)).find((p) => file === p || file.startsWith(p + '/'));
  const rel = root && root !== file && statSync(root).isDirectory() ? relative(root, file) : basename(file);
  let stem = rel.slice(0, rel.length - extname(rel).length);
  // Exports hold many rules in one file: one output per rule, named by rule_id (or position).
  if (rule.source.format === 'ndjson') stem = join(stem, safeName(rule.source.meta.rule_id ?? String(index + 1)));
  if (!r.artifact) return join(outDir, `${stem}.${BACKENDS[r.target]!.extension}`);
  const art = ARTIFACTS[r.artifact]!;
  // A Sigma rule file is named after the rule, as SigmaHQ names its files.
  if (art.name === 'sigma-file') return join(outDir, dirname(stem), `${slug(rule.source.meta.name ?? basename(stem))}.${art.extension}`);
  return join(outDir, `${stem}.${art.name}.${art.extension}`);
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '') || 'rule';
const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

function writeAtomic(path: string, text: string) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function renderConvertText(report: ConvertReport): string {
  let out = '';
  let last = '';
  for (const r of report.results) {
    const head = `${r.path}${r.name ? ` — ${r.name}` : ''}`;
    if (head !== last) out += `== ${head}\n`;
    last = head;
    out += `-- ${r.target}${r.artifact ? ` (${r.artifact})` : ''}: ${r.status}${r.written ? ` → ${r.written}` : ''}\n`;
    for (const d of r.diagnostics) out += formatDiagnostic(d, r.query).replace(/^/gm, '   ') + '\n';
    if (r.output !== null && !r.written) out += r.output.replace(/\n?$/, '\n');
  }
  for (const d of report.files) out += formatDiagnostic(d) + '\n';
  out += Object.entries(report.summary)
    .map(([t, s]) => `${t}: ${s.exact} exact, ${s.approximate} approximate, ${s.unsupported} unsupported`)
    .join('\n') + '\n';
  return out;
}

export function convertJson(report: ConvertReport) {
  return {
    results: report.results.map((r) => ({
      ...(r.artifact ? { artifact: r.artifact } : {}),
      path: r.path,
      id: r.id,
      name: r.name,
      target: r.target,
      status: r.status,
      output: r.output,
      diagnostics: r.diagnostics.map(jsonDiagnostic),
    })),
    summary: report.summary,
  };
}
