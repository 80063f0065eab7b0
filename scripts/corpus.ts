// `npm run corpus`: what eqlport makes of the reference corpus (../shared/corpus). Each section is one
// function over the parsed rules, so backends can add their per-target conversion summaries beside `check`.
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadRules, checkParsed, type ParsedRule, type Diagnostic } from '../src/index.js';
import { CODES } from '../src/diagnostics.js';
import { BACKENDS } from '../src/backends/index.js';
import { convertRule } from '../src/convert.js';
import type { TargetId } from '../src/translate/core.js';
import { INTERPRETERS, verifyRules } from '../src/verify/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** ../shared/corpus from the main checkout or a worktree one level deeper; EQLPORT_SHARED overrides. */
export function corpusDir(): string | null {
  const candidates = process.env.EQLPORT_SHARED ? [process.env.EQLPORT_SHARED] : [join(root, '..', 'shared'), join(root, '..', '..', 'shared')];
  for (const c of candidates) if (existsSync(join(c, 'corpus'))) return join(c, 'corpus');
  return null;
}

function countBy<T>(items: readonly T[], key: (x: T) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const x of items) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function sectionParse(rules: ParsedRule[], files: Diagnostic[]) {
  const ok = rules.filter((r) => r.query).length;
  console.log(`## parse\n${rules.length} rules from ${new Set(rules.map((r) => r.source.path)).size} files: ${ok} parse, ${rules.length - ok} fail`);
  for (const r of rules.filter((x) => !x.query)) console.log(`  ${r.diagnostics.find((d) => d.severity === 'error')?.code} ${r.source.path}`);
  for (const d of files) console.log(`  ${d.code} ${d.file}: ${d.message}`);
}

function sectionCheck(rules: ParsedRule[]) {
  const result = checkParsed(rules);
  const diags = result.rules.flatMap((r) => r.diagnostics.map((d) => ({ ...d, rule: r.path })));
  console.log(`\n## check\n${diags.length} diagnostics; by code (diagnostics / rules):`);
  for (const [code, n] of countBy(diags, (d) => d.code)) {
    const inRules = new Set(diags.filter((d) => d.code === code).map((d) => d.rule)).size;
    console.log(`  ${code} ${CODES[code as keyof typeof CODES]?.title ?? ''}: ${n} / ${inRules}`);
  }
  if (process.argv.includes('--fields')) {
    // Which names drive the field warnings, to review the namespace list in src/ecs.ts.
    const fieldNotes = diags.filter((d) => d.code === 'EQL2102' || d.code === 'EQL2103');
    console.log('\n  most frequent fields behind EQL2102 / EQL2103:');
    for (const [name, n] of countBy(fieldNotes, (d) => `${d.code} ${/`([^`]+)`/.exec(d.message)?.[1] ?? '?'}`).slice(0, 60)) console.log(`    ${n}\t${name}`);
  }
}

/** Per target and variant: how many rules convert exactly, approximately or not at all, and why not. */
function sectionConvert(rules: ParsedRule[]) {
  console.log('\n## convert');
  for (const backend of Object.values(BACKENDS)) {
    for (const variant of backend.variants) {
      const results = rules.flatMap((r) => convertRule(r, [backend.id], variant.options));
      const by = (s: string) => results.filter((r) => r.status === s).length;
      const converted = by('exact') + by('approximate');
      const label = `${backend.id}${backend.variants.length > 1 ? ` (${variant.name})` : ''}`;
      console.log(`${label}: ${by('exact')} exact, ${by('approximate')} approximate, ${by('unsupported')} unsupported — ${((100 * converted) / results.length).toFixed(1)}% convert`);
      const reasons = results
        .filter((r) => r.status === 'unsupported')
        .map((r) => r.diagnostics.find((d) => d.severity === 'error'))
        .filter((d): d is Diagnostic => !!d);
      for (const [why, n] of countBy(reasons, (d) => `${d.code} ${CODES[d.code as keyof typeof CODES]?.title ?? d.message}`).slice(0, 8)) console.log(`    ${n}\t${why}`);
      const approx = results.flatMap((r) => (r.status === 'approximate' ? r.diagnostics.filter((d) => d.severity === 'warning' && d.code.startsWith('EQL3')) : []));
      for (const [why, n] of countBy(approx, (d) => `${d.code} ${CODES[d.code as keyof typeof CODES]?.title ?? ''}`).slice(0, 5)) console.log(`    ~${n}\t${why}`);
      // Notes on converted rules that change where they can run (KQL: rules that read Microsoft Sentinel's tables).
      const notes = results.flatMap((r) => (r.status !== 'unsupported' ? [...new Set(r.diagnostics.filter((d) => d.severity === 'info').map((d) => d.code))] : []));
      for (const [code, n] of countBy(notes, (c) => c).slice(0, 3)) console.log(`    i${n}\t${code} ${CODES[code as keyof typeof CODES]?.title ?? ''}`);
    }
  }
}

/** Verify every rule against every target with an interpreter: agreement with the native matcher. */
function sectionVerify(rules: ParsedRule[]) {
  if (process.argv.includes('--no-verify')) return;
  console.log('\n## verify');
  for (const target of Object.keys(BACKENDS) as TargetId[]) {
    if (!INTERPRETERS[target]) {
      console.log(`${target}: no interpreter yet`);
      continue;
    }
    const started = Date.now();
    const report = verifyRules(rules.filter((r) => r.query), { targets: [target] });
    const s = report.summary[target]!;
    const bugs = report.results.filter((r) => r.bug);
    const exactDisagree = report.results.filter((r) => r.status === 'exact' && r.verdict === 'disagree').length;
    const notChecked = report.results.filter((r) => r.verdict === 'not-checked');
    const noOutput = notChecked.filter((r) => r.notChecked === 'no-output').length;
    const gaps = notChecked.length - noOutput;
    const withOutput = report.results.length - noOutput;
    console.log(`${target}: ${s.agree} agree, ${s.disagree} disagree (${exactDisagree} on exact results, ${bugs.length} bugs), ${s['not-checked']} not checked — ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const pct = (n: number, of: number) => `${((100 * n) / Math.max(1, of)).toFixed(1)}%`;
    console.log(`    not checked: ${noOutput} unsupported, no output to check (${pct(noOutput, report.results.length)} of rules); ${gaps} outputs verify could not check (${pct(gaps, withOutput)} of outputs)`);
    for (const b of bugs.slice(0, 10)) console.log(`    BUG ${b.path}: ${b.reason ?? JSON.stringify(b.counterexample).slice(0, 300)}`);
    for (const [why, n] of countBy(notChecked.filter((r) => r.notChecked !== 'no-output'), (r) => `${r.notChecked}: ${r.reason ?? '?'}`).slice(0, 8)) console.log(`    not checked ${n}\t${why}`);
  }
}

const SECTIONS: ((rules: ParsedRule[], files: Diagnostic[]) => void)[] = [sectionParse, sectionCheck, sectionConvert, sectionVerify];

function run() {
  const dir = corpusDir();
  if (!dir) return console.log('notice: ../shared/corpus is absent; nothing to summarise');
  const { rules, files } = loadRules([dir]);
  for (const section of SECTIONS) section(rules, files);
}

// Other scripts import corpusDir; only `npm run corpus` summarises.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) run();
