// Runs every test/**/*.test.ts with uvu under tsx, then prints the line CI reads: `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;
const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.ts') && (!filter || filter.test(p))) files.push(p);
  }
};
walk(join(root, 'test'));

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of files) {
  // uvu's test.run() runs the tests registered before it: a test after it, or a second run(), silently never runs.
  const text = readFileSync(file, 'utf8');
  const runs = text.match(/^test\.run\(\);?[ \t]*$/gm) ?? [];
  if (runs.length !== 1 || text.slice(text.lastIndexOf('test.run(')).split('\n').slice(1).some((l) => l.trim())) {
    failed++;
    console.log(`FAIL ${relative(root, file)}  (test.run() must be called once, as the file's last statement)`);
    continue;
  }
  // One process per file: a crash in one file cannot hide the others' results.
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const ok = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const skip = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const crashed = r.status !== 0 && total === ok;
  passed += ok;
  skipped += skip;
  failed += total - ok - skip + (crashed ? 1 : 0);
  const mark = r.status === 0 ? 'ok  ' : 'FAIL';
  console.log(`${mark} ${relative(root, file)}  (${ok}/${total - skip}${skip ? `, ${skip} skipped` : ''})`);
  if (r.status !== 0 || process.env.VERBOSE) console.log(out.replace(/^/gm, '    '));
  else for (const line of out.split('\n')) if (/^(notice|skip):/i.test(line)) console.log(`    ${line}`);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
