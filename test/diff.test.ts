import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { logicChanges, diff } from '../src/diff.js';
import { parseQuery } from '../src/parse.js';
import { main } from '../src/cli.js';

const q = (s: string) => parseQuery(s).query!;

test('logic summary: exclusion added, values added and removed, condition removed', () => {
  const a = q('process where process.name : ("a.exe", "b.exe") and user.name == "x"');
  const b = q('process where process.name : ("a.exe", "c.exe") and not process.parent.name : "svchost.exe"');
  assert.equal(logicChanges(a, b), [
    'process.name : list: value added "c.exe"',
    'process.name : list: value removed "b.exe"',
    'exclusion added: not process.parent.name : "svchost.exe"',
    'condition removed: user.name == "x"',
  ]);
});

test('logic summary: sequence maxspan, keys, runs and until', () => {
  const a = q('sequence by host.id with maxspan=1m [process where true] [file where true]');
  const b = q('sequence by host.id, user.id with maxspan=5m [process where true] with runs=2 [file where file.name == "x"] until [process where true]');
  assert.equal(logicChanges(a, b), [
    'maxspan 1m → 5m',
    'sequence by host.id → host.id, user.id',
    'step 1: runs 1 → 2',
    'step 2: condition added: file.name == "x"',
    'until added: process where true',
  ]);
  assert.equal(logicChanges(a, a), []);
  assert.equal(logicChanges(a, q('process where true')), ['query form sequence → event query']);
});

function write(dir: string, name: string, body: string) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), body);
}
const toml = (id: string, query: string) => `[rule]\nrule_id = "${id}"\nname = "Rule ${id}"\ntype = "eql"\nquery = '''\n${query}\n'''\n`;

test('directories are matched by rule_id; exit 0 identical, 1 different', () => {
  const root = mkdtempSync(join(tmpdir(), 'eqlport-diff-'));
  write(join(root, 'old'), 'one.toml', toml('r1', 'process where process.name == "a.exe"'));
  write(join(root, 'old'), 'two.toml', toml('r2', 'process where process.name == "b.exe"'));
  // Renamed file, same rule_id: still the same rule.
  write(join(root, 'new'), 'renamed.toml', toml('r1', 'process where process.name == "a.exe"'));
  write(join(root, 'new'), 'two.toml', toml('r2', 'process where process.name == "b.exe" and not user.name == "svc"'));
  write(join(root, 'new'), 'three.toml', toml('r3', 'file where true'));
  const report = diff(join(root, 'old'), join(root, 'new'), { targets: [] });
  assert.equal(report.rules.map((r) => [r.key, r.change]), [
    ['r1', 'unchanged'],
    ['r2', 'modified'],
    ['r3', 'added'],
  ]);
  assert.equal(report.rules[1]!.logic, ['exclusion added: not user.name == "svc"']);
  // A generated event tells the versions apart: the old one matches it, the new one excludes it.
  const d = report.rules[1]!.distinguishing[0]!;
  assert.is(d.matchedBy, 'old');
  assert.is(d.event['user.name'], 'svc');
  assert.is(d.event['process.name'], 'b.exe');
  assert.is(report.exitCode, 1);
  assert.is(diff(join(root, 'old'), join(root, 'old'), { targets: [] }).exitCode, 0);
});

test('--git compares a path with its version at a revision', async () => {
  const root = mkdtempSync(join(tmpdir(), 'eqlport-git-'));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: root });
  git('init', '-q');
  write(join(root, 'rules'), 'r.toml', toml('r1', 'sequence by host.id with maxspan=1m [process where true] [file where true]'));
  git('add', '.');
  git('commit', '-qm', 'v1');
  write(join(root, 'rules'), 'r.toml', toml('r1', 'sequence by host.id with maxspan=5m [process where true] [file where true]'));
  const out: string[] = [];
  const code = await main(['diff', join(root, 'rules'), '--git', 'HEAD', '--format', 'json'], { out: (t) => out.push(t), err: (t) => out.push(t) });
  assert.is(code, 1);
  const report = JSON.parse(out.join(''));
  assert.equal(report.rules[0].logic, ['maxspan 1m → 5m']);
  // Events 61 s apart complete the new sequence only.
  const ev = report.rules[0].distinguishing.find((x: { event: { scenario?: string } }) => x.event.scenario === 'beyond maxspan');
  assert.ok(ev, JSON.stringify(report.rules[0].distinguishing));
  assert.is(ev.matchedBy, 'new');
  const same: string[] = [];
  git('commit', '-qam', 'v2');
  assert.is(await main(['diff', join(root, 'rules'), '--git', 'HEAD'], { out: (t) => same.push(t), err: (t) => same.push(t) }), 0);
});

test('text output shows the logic summary, a distinguishing event and each target\'s unified diff', async () => {
  const root = mkdtempSync(join(tmpdir(), 'eqlport-difftext-'));
  write(join(root, 'a'), 'r.eql', 'process where process.name : "a.exe"\n');
  write(join(root, 'b'), 'r.eql', 'process where process.name : "a.exe" and not process.parent.name : "svchost.exe"\n');
  const out: string[] = [];
  const code = await main(['diff', join(root, 'a', 'r.eql'), join(root, 'b', 'r.eql'), '--to', 'sigma,kql'], { out: (t) => out.push(t), err: (t) => out.push(t) });
  const text = out.join('');
  assert.is(code, 1);
  assert.match(text, /exclusion added: not process.parent.name : "svchost.exe"/);
  assert.match(text, /event matched only by the old version: .*"process.parent.name":"svchost.exe"/);
  assert.match(text, /^\s*\+\| where InitiatingProcessFileName !~ "svchost.exe"$/m);
  assert.match(text, /^\s*\+\s+filter_parent:$/m);
  assert.match(text, /--- .*\(kql, approximate\)/);
});

test.run();
