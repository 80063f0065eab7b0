// `npm run corpus`: what eqlport makes of the reference corpus (../shared/corpus). Each section is one
// function over the parsed rules, so backends can add their per-target conversion summaries beside `check`.
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadRules, checkParsed, type ParsedRule, type Diagnostic } from '../src/index.js';
import { CODES } from '../src/diagnostics.js';

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

const SECTIONS: ((rules: ParsedRule[], files: Diagnostic[]) => void)[] = [sectionParse, sectionCheck];

function run() {
  const dir = corpusDir();
  if (!dir) return console.log('notice: ../shared/corpus is absent; nothing to summarise');
  const { rules, files } = loadRules([dir]);
  for (const section of SECTIONS) section(rules, files);
}

// Other scripts import corpusDir; only `npm run corpus` summarises.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) run();
