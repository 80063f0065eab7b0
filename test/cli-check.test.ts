// `eqlport check` and `eqlport fmt` through the library entry point main(argv, io), plus one real process
// to prove the installed bin works.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { main, parseQuery, irEqual } from '../src/index.js';
import { root } from './helpers/shared.js';

const fx = (...p: string[]) => join(root, 'test', 'fixtures', ...p);

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

test('check --format json: exactly the documented shape, keys in order and types', async () => {
  const { code, out } = await run('check', '--format', 'json', fx('rules'), fx('broken', 'syntax-error.toml'));
  assert.is(code, 1);
  assert.ok(out.endsWith('\n') && !out.slice(0, -1).includes('\n'), 'one JSON document on one line');
  const doc = JSON.parse(out);
  assert.equal(Object.keys(doc), ['rules', 'summary']);
  assert.equal(Object.keys(doc.summary), ['total', 'ok', 'failed']);
  for (const r of doc.rules) {
    assert.equal(Object.keys(r), ['path', 'id', 'name', 'ok', 'diagnostics']);
    assert.type(r.path, 'string');
    assert.ok(r.id === null || typeof r.id === 'string');
    assert.ok(r.name === null || typeof r.name === 'string');
    assert.type(r.ok, 'boolean');
    for (const d of r.diagnostics) {
      assert.equal(Object.keys(d), ['code', 'severity', 'message', 'line', 'column']);
      assert.match(d.code, /^EQL\d{4}$/);
      assert.ok(['error', 'warning', 'info'].includes(d.severity), d.severity);
      assert.type(d.message, 'string');
      assert.ok(Number.isInteger(d.line) && d.line >= 1 && Number.isInteger(d.column) && d.column >= 1);
    }
  }
  // fixtures/rules: 1 TOML rule + 2 hunting queries + 2 NDJSON EQL rules + 1 bare query; plus the broken rule.
  assert.equal(doc.summary, { total: 7, ok: 6, failed: 1 });
  const bad = doc.rules.find((r: { ok: boolean }) => !r.ok);
  assert.equal(bad, {
    path: fx('broken', 'syntax-error.toml'),
    id: 'bad-syntax-0001',
    name: 'Broken Query',
    ok: false,
    diagnostics: [{ code: 'EQL1001', severity: 'error', message: bad.diagnostics[0].message, line: 13, column: 16 }],
  });
  assert.match(bad.diagnostics[0].message, /^expected .* but found ">"$/);
  const bare = doc.rules.find((r: { path: string }) => r.path.endsWith('lsass-access.eql'));
  assert.equal([bare.id, bare.name], [null, 'lsass-access']);
});

test('check: exit 0 when every rule parses, even with warnings and skipped objects', async () => {
  const { code, out } = await run('check', '--format', 'json', fx('rules', 'kibana'));
  const doc = JSON.parse(out);
  assert.ok(
    doc.rules.some((r: { diagnostics: { severity: string }[] }) => r.diagnostics.some((d) => d.severity === 'warning')),
    'the fixture has a warning',
  );
  assert.equal(doc.summary, { total: 2, ok: 2, failed: 0 });
  assert.is(code, 0);
});

test('check: exit 1 when a file cannot be read or is not valid TOML; the rest of the batch is still checked', async () => {
  const { code, out } = await run('check', '--format', 'json', fx('nope.toml'), fx('broken', 'invalid.toml'), fx('rules', 'full-fields.toml'));
  assert.is(code, 1);
  const doc = JSON.parse(out);
  assert.equal(doc.summary, { total: 3, ok: 1, failed: 2 });
  const codes = doc.rules.map((r: { path: string; ok: boolean; id: string | null; diagnostics: { code: string }[] }) => [
    r.path.slice(fx().length + 1),
    r.ok,
    r.diagnostics.filter((d) => d.code.startsWith('EQL4')).map((d) => d.code),
  ]);
  assert.equal(codes.sort(), [
    ['broken/invalid.toml', false, ['EQL4002']],
    ['nope.toml', false, ['EQL4001']],
    ['rules/full-fields.toml', true, []],
  ]);
});

test('check text output: file:line:col: severity CODE: message, the source line and a caret', async () => {
  const { code, out } = await run('check', fx('broken', 'syntax-error.toml'), fx('rules', 'kibana'));
  assert.is(code, 1);
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.includes('error EQL1001'));
  assert.ok(i >= 0, out);
  assert.match(lines[i]!, new RegExp(`^\\s*${fx('broken', 'syntax-error.toml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:13:16: error EQL1001: expected `));
  assert.is(lines[i + 1]!.trim(), 'process.pid >> 4');
  // The caret sits under the second `>`.
  assert.is(lines[i + 2]!.indexOf('^'), lines[i + 1]!.indexOf('>>') + 1);
  const w = lines.findIndex((l) => / warning EQL2102: /.test(l));
  assert.match(lines[w]!, /export\.ndjson:3:\d+: warning EQL2102: `user\.not_a_real_field` is not an ECS field$/);
  assert.is(lines[w + 2]!.indexOf('^'), lines[w + 1]!.indexOf('user.not_a_real_field'));
  // File-level notes are indented like rule diagnostics (two spaces), not more.
  assert.match(out, /^  \/\S*export\.ndjson:2:1: info EQL4003: /m);
  assert.match(lines.at(-2)!, /^3 rules: 2 ok, 1 failed$/);
});

test('check: usage errors exit 2', async () => {
  assert.is((await run('check')).code, 2);
  assert.is((await run('check', '--format', 'xml', fx('rules'))).code, 2);
});

test('fmt: canonical form of every rule, which parses back to the same tree; exit 1 on a broken rule', async () => {
  const good = await run('fmt', fx('rules', 'bare', 'deeper', 'lsass-access.eql'));
  assert.is(good.code, 0);
  assert.is(good.out, `// ${fx('rules', 'bare', 'deeper', 'lsass-access.eql')} — lsass-access\nprocess where process.name : "procdump*.exe" and\n  process.args : "*lsass*"\n\n`);
  const printed = good.out.split('\n').slice(1).join('\n');
  assert.ok(irEqual(parseQuery(printed).query, parseQuery('process where process.name : "procdump*.exe" and process.args : "*lsass*"').query));
  const bad = await run('fmt', fx('broken', 'syntax-error.toml'));
  assert.is(bad.code, 1);
  assert.match(bad.out, /^\/\/ .*error EQL1001/m);
});

test('bin/eqlport.js check examples/ runs as a process', () => {
  if (!existsSync(join(root, 'dist', 'cli.js'))) {
    console.log('notice: dist/ is not built (npm test builds it); skipping the bin test');
    return;
  }
  const r = spawnSync(process.execPath, ['bin/eqlport.js', 'check', 'examples/', '--format', 'json'], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.summary, { total: 1, ok: 1, failed: 0 });
  assert.is(doc.rules[0].id, '265db8f5-fc73-4d0d-b434-6483b56372e2');
  const text = spawnSync(process.execPath, ['bin/eqlport.js', 'check', 'examples/'], { cwd: root, encoding: 'utf8' });
  assert.is(text.status, 0);
  assert.match(text.stdout, /^1 rules: 1 ok, 0 failed$/m);
});

test.run();
