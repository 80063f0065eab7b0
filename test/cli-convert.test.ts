// `eqlport convert` and `eqlport mappings` through the library entry point of the CLI.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { root } from './helpers/shared.js';

const example = join(root, 'examples', 'persistence_via_update_orchestrator_service_hijack.toml');

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

test('--format json prints exactly the contract: results and summary per target', async () => {
  const r = await run(['convert', example, '--to', 'sigma,defender', '--format', 'json']);
  assert.is(r.code, 0);
  const doc = JSON.parse(r.out);
  assert.equal(Object.keys(doc), ['results', 'summary']);
  assert.is(doc.results.length, 2);
  for (const res of doc.results) {
    assert.equal(Object.keys(res), ['path', 'id', 'name', 'target', 'status', 'output', 'diagnostics']);
    assert.is(res.id, '265db8f5-fc73-4d0d-b434-6483b56372e2');
    for (const d of res.diagnostics) assert.equal(Object.keys(d), ['code', 'severity', 'message', 'line', 'column']);
  }
  assert.equal(doc.results.map((x: { target: string }) => x.target), ['sigma', 'kql']);
  // The parent-args approximation is reported at its line in the file (line 57 of the example).
  const sigma = doc.results[0];
  assert.is(sigma.status, 'approximate');
  const approx = sigma.diagnostics.find((d: { severity: string }) => d.severity === 'warning');
  assert.equal([approx.line, approx.column], [57, 3]);
  assert.equal(doc.summary, { sigma: { exact: 0, approximate: 1, unsupported: 0 }, kql: { exact: 1, approximate: 0, unsupported: 0 } });
});

test('--strict turns approximate into a failure; an unsupported result fails; unknown targets are usage errors', async () => {
  const strict = await run(['convert', example, '--to', 'sigma', '--strict', '--format', 'json']);
  assert.is(strict.code, 1);
  assert.ok(JSON.parse(strict.out).results[0].diagnostics.some((d: { code: string }) => d.code === 'EQL3005'));
  const dir = mkdtempSync(join(tmpdir(), 'eqlport-conv-'));
  const seq = join(dir, 'seq.eql');
  // A keyless sequence: S1QL has no join for it.
  writeFileSync(seq, 'sequence with maxspan=1m [process where true] [file where true]\n');
  const unsupported = await run(['convert', seq, '--to', 's1ql', '--format', 'json']);
  assert.is(unsupported.code, 1);
  assert.is(JSON.parse(unsupported.out).results[0].output, null);
  assert.is((await run(['convert', example, '--to', 'nosuch'])).code, 2);
  const bad = join(dir, 'bad.eql');
  writeFileSync(bad, 'process where (\n');
  assert.is((await run(['convert', bad, '--to', 'sigma'])).code, 1);
});

test('--out mirrors the input tree, one file per rule and target; unsupported results write nothing', async () => {
  const src = mkdtempSync(join(tmpdir(), 'eqlport-src-'));
  mkdirSync(join(src, 'windows', 'deep'), { recursive: true });
  writeFileSync(join(src, 'windows', 'deep', 'a.eql'), 'process where process.name == "a.exe"\n');
  writeFileSync(join(src, 'seq.eql'), 'sequence with maxspan=1m [process where true] [file where true]\n');
  const out = mkdtempSync(join(tmpdir(), 'eqlport-out-'));
  const r = await run(['convert', src, '--to', 'kql,s1ql', '--out', out]);
  assert.is(r.code, 1, 'the keyless sequence has no S1QL form');
  assert.ok(existsSync(join(out, 'windows', 'deep', 'a.kql')));
  assert.ok(existsSync(join(out, 'windows', 'deep', 'a.s1ql')));
  assert.ok(existsSync(join(out, 'seq.kql')));
  assert.not.ok(existsSync(join(out, 'seq.s1ql')), 'no file for an unsupported result');
  assert.match(readFileSync(join(out, 'windows', 'deep', 'a.kql'), 'utf8'), /^DeviceProcessEvents/);
  // Atomic writes leave no temporary files behind.
  assert.not.ok(readdirSync(join(out, 'windows', 'deep')).some((f) => f.endsWith('.tmp')));
});

test('--artifact wraps the query; the JSON artifact parses', async () => {
  const r = await run(['convert', example, '--to', 'kql', '--artifact', 'defender-detection', '--format', 'json']);
  const res = JSON.parse(r.out).results[0];
  const body = JSON.parse(res.output);
  assert.is(body.displayName, 'Persistence via Update Orchestrator Service Hijack');
  assert.match(body.queryCondition.queryText, /^DeviceProcessEvents/);
});

test('--mapping overrides the bundled data, and `mappings` prints the effective table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqlport-map-'));
  const user = join(dir, 'sigma.yaml');
  writeFileSync(user, 'target: sigma\nclasses:\n  - name: process_creation\n    fields:\n      process.parent.executable: CustomParentImage\n');
  const r = await run(['convert', example, '--to', 'sigma', '--mapping', user]);
  assert.match(r.out, /CustomParentImage: 'C:\\Windows\\System32\\svchost\.exe'/);
  const table = await run(['mappings', '--to', 'sigma', '--mapping', user]);
  assert.is(table.code, 0);
  assert.match(table.out, /process\.parent\.executable: CustomParentImage/);
  writeFileSync(user, 'classes: []\n');
  const broken = await run(['mappings', '--to', 'sigma', '--mapping', user]);
  assert.is(broken.code, 2);
  assert.match(broken.err, /target/);
});

test('progress goes to stderr only when it is a terminal', async () => {
  const quiet = await run(['convert', join(root, 'golden'), '--to', 'sigma', '--format', 'json']);
  assert.is(quiet.err, '');
  const err: string[] = [];
  await main(['convert', join(root, 'golden'), '--to', 'sigma', '--format', 'json'], { out: () => {}, err: (t) => err.push(t), isTTY: true });
  assert.match(err.join(''), /\r0\/\d+ rules/);
});

test('error paths: missing inputs and bad options give diagnostics and exit codes, never a stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqlport-err-'));
  const missing = join(dir, 'nope.eql');
  const verify = await run(['verify', missing, '--to', 'ts']);
  assert.is(verify.code, 1);
  assert.match(verify.err, /EQL4001/);
  assert.is((await run(['verify', example, '--to', 'ts', '--events', missing])).code, 2);
  const report = await run(['report', missing, '--html', join(dir, 'r.html')]);
  assert.is(report.code, 1);
  assert.match(report.err, /EQL4001/);
  assert.is((await run(['mappings', '--to', 'all'])).code, 2);
  const diffMissing = await run(['diff', missing, example]);
  assert.equal([diffMissing.code, /does not exist/.test(diffMissing.err)], [2, true]);
  const badRev = await run(['diff', join(root, 'examples'), '--git', '--output=/tmp/x']);
  assert.is(badRev.code, 2);
  assert.match(badRev.err, /git ls-tree/);
  for (const r of [verify, report, diffMissing, badRev]) assert.not.match(r.err, /\n\s+at /, 'no stack trace');
});

test('verify takes the same target options as convert', async () => {
  const r = await run(['verify', example, '--to', 'spl', '--spl-profile', 'cim', '--format', 'json']);
  assert.ok([0, 1].includes(r.code));
  assert.is(JSON.parse(r.out).results[0].target, 'spl');
  assert.is((await run(['verify', example, '--to', 'spl', '--spl-profile', 'nope'])).code, 2);
});

test.run();
