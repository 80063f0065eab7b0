// KQL renderings of EQL functions and of nested fields without a Defender column: each output is run by the
// verifier's KQL interpreter (written from Microsoft's Kusto reference, independently of the emitter) against the
// native matcher (the reference semantics), and bound by Microsoft's Kusto parser.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseQuery } from '../../src/parse.js';
import { translateRule } from '../../src/translate/index.js';
import type { Translation } from '../../src/translate/core.js';
import { matchEvents } from '../../src/matcher/index.js';
import { loadMapping } from '../../src/translate/mapping.js';
import { defenderRecord, parseKql, runKql } from '../../src/verify/kql.js';
import { formatKustoProblems, kustoErrors } from '../helpers/kusto.js';

const mapping = loadMapping('kql');

function kql(eql: string): Translation {
  const { query, diagnostics } = parseQuery(eql);
  assert.ok(query, diagnostics.map((d) => d.message).join('; '));
  return translateRule({ query: query!, meta: {}, text: eql, path: 'test.eql' }, 'kql', {});
}
const codes = (t: Translation) => t.diagnostics.map((d) => d.code);
const wheres = (t: Translation) => (t.output ?? '').split('\n').filter((l) => l.startsWith('| where ')).map((l) => l.slice(8));

function assertBinds(t: Translation, what: string) {
  assert.ok(t.output, `${what}: ${t.diagnostics.map((d) => d.message).join('; ')}`);
  const problems = kustoErrors(t.output!);
  assert.ok(!problems.length, `${what}:\n${t.output}\n${formatKustoProblems(problems)}`);
}

/** A Windows process start with the given ECS fields. */
const proc = (fields: Record<string, unknown>) => ({ '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'process', 'event.type': 'start', 'host.os.type': 'windows', 'host.id': 'h1', ...fields });

/** Whether the native matcher and the KQL output (run by the interpreter) each match the event. */
function both(eql: string, ev: Record<string, unknown>): { native: boolean; kql: boolean | string } {
  const native = matchEvents(eql, [ev]).results.length > 0;
  const t = kql(eql);
  assertBinds(t, eql);
  const run = runKql(parseKql(t.output!), [defenderRecord(ev, mapping)], mapping);
  return { native, kql: 'notChecked' in run ? run.notChecked : run.matches.length > 0 };
}

// ---- substring ----

test('KQL interpreter: substring as documented (negative start from the end), other arguments not interpreted', () => {
  const run = (expr: string, FileName: string) => {
    const r = runKql(parseKql(`DeviceProcessEvents | where ${expr}`), [{ table: 'DeviceProcessEvents', row: { FileName }, modelsDeviceInfo: true }], mapping);
    return 'notChecked' in r ? 'not checked' : r.matches.length;
  };
  // The page's examples.
  assert.is(run('substring(FileName, 1) == "23456"', '123456'), 1);
  assert.is(run('substring(FileName, 2, 2) == "34"', '123456'), 1);
  assert.is(run('substring(FileName, -2, 2) == "56"', '123456'), 1);
  assert.is(run('substring(FileName, 0, 0) == ""', '123456'), 1);
  // Outside the page: a start past the end, a negative length, a length past the end.
  assert.is(run('substring(FileName, 7) == ""', '123456'), 'not checked');
  assert.is(run('substring(FileName, -7) == ""', '123456'), 'not checked');
  assert.is(run('substring(FileName, 1, -1) == ""', '123456'), 'not checked');
  assert.is(run('substring(FileName, 4, 3) == "56"', '123456'), 'not checked');
  // max_of / min_of ignore nulls.
  assert.is(run('max_of(strlen(FileName) - 9, 0) == 0 and min_of(3, strlen(FileName)) == 3', '123456'), 1);
});

test('substring: Python slices (negative, out of range, empty, start >= end) agree with the native matcher', () => {
  // [eql offsets, value, the slice reasoned by hand]
  const cases: [string, string, string][] = [
    ['0, -1', 'HOST$', 'HOST'],
    ['0, -1', '$', ''],
    ['-4', 'cmd.exe', '.exe'],
    ['-4, -1', 'cmd.exe', '.ex'],
    ['-100, 3', 'cmd.exe', 'cmd'],
    ['2, 100', 'cmd.exe', 'd.exe'],
    ['10', 'cmd.exe', ''],
    ['5, 2', 'cmd.exe', ''],
    ['3, 3', 'cmd.exe', ''],
    ['-100, -100', 'cmd.exe', ''],
    ['1, -1', 'ab', ''],
    ['1, -1', 'abc', 'b'],
    ['0', 'cmd.exe', 'cmd.exe'],
    ['0, length(process.name) - 4', 'cmd.exe', 'cmd'],
    ['0, length(process.name) - 40', 'cmd.exe', ''],
    ['length(process.name) - 40, 2', 'cmd.exe', 'cm'],
    ['-(length(process.name) - 4)', 'cmd.exe', 'exe'],
  ];
  for (const [offsets, value, slice] of cases) {
    const eql = `process where substring(process.name, ${offsets}) == "${slice}"`;
    assert.equal(both(eql, proc({ 'process.name': value })), { native: true, kql: true }, `${eql} on ${JSON.stringify(value)}`);
    const wrong = `process where substring(process.name, ${offsets}) == "${slice}x"`;
    assert.equal(both(wrong, proc({ 'process.name': value })), { native: false, kql: false }, `${wrong} on ${JSON.stringify(value)}`);
  }
});

test('substring of a missing value: null in Elasticsearch; compared and negated like it', () => {
  // A present but empty name cannot be told from a missing one in Defender: declared, not silently different.
  const empty = 'process where substring(process.name, 0, -1) == ""';
  assert.equal(both(empty, proc({ 'process.name': '' })), { native: true, kql: false });
  assert.ok(kql(empty).diagnostics.some((d) => d.code === 'EQL3205' && d.direction === 'narrower'));
  for (const eql of [
    'process where substring(process.name, 0, -1) == ""',
    'process where substring(process.name, 0, -1) != "x"',
    'process where not startswith~(process.executable, substring(process.name, 0, -1))',
    'process where startswith~(process.executable, substring(process.name, 0, -1))',
  ]) {
    const r = both(eql, proc({ 'process.executable': 'C:\\x.exe' }));
    assert.is(r.kql, r.native, `${eql}: native ${r.native}, kql ${r.kql}`);
  }
});

test('substring: offsets in range by construction, a code point declaration, hostile literals stay literals', () => {
  const t = kql('process where event.type == "start" and substring(process.name, 0, -1) == "cmd.ex"');
  assert.equal(wheres(t), ['iff(strlen(FileName) > 1, substring(FileName, 0, strlen(FileName) - 1), "") == "cmd.ex"']);
  assert.is(t.status, 'approximate');
  assert.equal(codes(t), ['EQL3245']);
  assert.is(t.diagnostics[0]!.direction, 'different');
  // The whole value (start 0, no end) is no slice: nothing to declare.
  const whole = kql('process where event.type == "start" and substring(process.name, 0) == "cmd.exe"');
  assert.equal(wheres(whole), ['FileName == "cmd.exe"']);
  assert.is(whole.status, 'exact');
  const eqlString = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  for (const v of ['a"b', 'C:\\', '\\', 'a | where true', 'x\nb', '") or true or ("']) {
    const eql = `process where event.type == "start" and startswith~(process.executable, concat(substring(process.name, 0, -1), ${eqlString(v)}))`;
    const out = kql(eql);
    assertBinds(out, eql);
    assert.is(wheres(out).length, 1, out.output!);
  }
});

// ---- fields without a column inside expressions ----

test('a field without a Defender column inside a function is left out with its test, in the test\'s polarity (wider)', () => {
  // host.ip: Defender's DeviceLogonEvents has no column for the host's addresses.
  const base = 'authentication where event.action == "logged-in" and source.ip != "127.0.0.1"';
  const pos = kql(`${base} and endswith(string(source.ip), string(host.ip))`);
  const neg = kql(`${base} and not endswith(string(source.ip), string(host.ip))`);
  const nul = kql(`${base} and indexOf(string(host.ip), string(source.ip)) == null`);
  for (const t of [pos, neg, nul]) {
    assertBinds(t, 'host.ip');
    assert.ok(!t.output!.includes('host'), t.output!);
    const d = t.diagnostics.find((x) => x.code === 'EQL3201' && x.message.startsWith('host.ip'));
    assert.ok(d && d.direction === 'wider', JSON.stringify(t.diagnostics));
  }
  // Left out as true under no negation, as false under one: the remaining where-lines are the same.
  assert.equal(wheres(neg), wheres(pos));
  assert.equal(wheres(nul), wheres(pos));
  // Against the native matcher: an event the rule rejects because the address is the host's is kept (wider), never
  // the other way round.
  const ev = { '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'authentication', 'event.action': 'logged-in', 'host.id': 'h1', 'source.ip': '10.0.0.5', 'host.ip': '10.0.0.5' };
  const eql = `${base} and not endswith(string(source.ip), string(host.ip))`;
  const r = both(eql, ev);
  assert.equal(r, { native: false, kql: true });
});

test.run();
