// KQL renderings of EQL functions and of nested fields without a Defender column: each output is run by the
// verifier's KQL interpreter (written from Microsoft's Kusto reference, independently of the emitter) against the
// native matcher (the reference semantics), and bound by Microsoft's Kusto parser.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Translation } from '../../src/translate/core.js';
import { matchEvents } from '../../src/matcher/index.js';
import { loadMapping } from '../../src/translate/mapping.js';
import { defenderRecord, parseKql, runKql } from '../../src/verify/kql.js';
import { assertBinds, codes, kql, wheres } from '../helpers/kql.js';

const mapping = loadMapping('kql');



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

test('length: strlen, declared (code points in KQL, UTF-16 units in Elasticsearch); an argument list\'s length is not', () => {
  const t = kql('process where event.type == "start" and length(process.name) > 3');
  assert.equal(wheres(t), ['strlen(FileName) > 3']);
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3245' && d.direction === 'different'));
  assert.equal(both('process where length(process.name) == 7', proc({ 'process.name': 'cmd.exe' })), { native: true, kql: true });
  const args = kql('process where event.type == "start" and length(process.args) > 3');
  assert.ok(!codes(args).includes('EQL3245'), JSON.stringify(args.diagnostics));
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



// ---- samples ----

test('KQL interpreter: summarize arg_min(Timestamp, *) keeps each group\'s earliest row whole (still its event)', () => {
  const recs = ([[3, 'a'], [1, 'a'], [2, 'b']] as const).map(([s, name]) => defenderRecord({ '@timestamp': at(s), 'event.category': 'process', 'event.type': 'start', 'process.name': name, 'host.id': 'h' }, mapping));
  const run = runKql(parseKql('DeviceProcessEvents | summarize arg_min(Timestamp, *) by FileName | project Timestamp, FileName'), recs, mapping);
  assert.ok(!('notChecked' in run), JSON.stringify(run));
  assert.equal(('matches' in run ? run.matches : []).map((m) => m[0]).sort(), [1, 2]);
  // * is no value outside an aggregation.
  const bad = runKql(parseKql('DeviceProcessEvents | where * == 1'), recs, mapping);
  assert.ok('notChecked' in bad);
});

/** The tuples (event indexes in filter order) of the native matcher and of the KQL output run by the interpreter. */
function tuples(eql: string, events: Record<string, unknown>[]): { native: number[][]; kql: number[][] | string } {
  const native = matchEvents(eql, events).results.map((r) => r.events.map((e) => events.indexOf(e as Record<string, unknown>)));
  const t = kql(eql);
  assertBinds(t, eql);
  const run = runKql(parseKql(t.output!), events.map((e) => defenderRecord(e, mapping)), mapping);
  const sort = (xs: number[][]) => [...xs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { native: sort(native), kql: 'notChecked' in run ? run.notChecked : sort(run.matches) };
}

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const start = (s: number, host: string, name: string) => ({ '@timestamp': at(s), 'event.category': 'process', 'event.type': 'start', 'host.os.type': 'windows', 'host.id': host, 'process.name': name, 'process.pid': 7 });
const conn = (s: number, host: string, name: string) => ({ '@timestamp': at(s), 'event.category': 'network', 'event.type': 'start', 'event.action': 'connection_attempted', 'host.os.type': 'windows', 'host.id': host, 'process.name': name, 'process.pid': 7, 'destination.port': 443 });

test('sample: one result per key whose every filter has an event, the earliest per filter, in filter order, in any time order', () => {
  const eql = 'sample by host.id, process.name [process where event.type == "start" and process.name == "a.exe"] [network where destination.port == 443]';
  const t = kql(eql);
  assert.ok(t.output!.includes('| summarize arg_min(Timestamp, *) by SampleKey1, SampleKey2, SampleStep'), t.output!);
  assert.ok(!codes(t).includes('EQL3246'), 'the filters read two tables: no row can fill both');
  const events = [
    conn(1, 'h1', 'a.exe'), // h1: the connection comes first; a sample has no order
    start(2, 'h1', 'a.exe'),
    start(3, 'h1', 'a.exe'), // a later start of the same key is not the sample's
    start(4, 'h2', 'a.exe'), // h2: no connection, no sample
    conn(5, 'h3', 'a.exe'), // h3: no start
    start(6, 'h4', 'a.exe'),
    conn(7, 'h4', 'b.exe'), // another key (process.name)
    conn(8, 'h4', 'a.exe'),
    conn(9, 'h4', 'a.exe'),
  ];
  // Reasoned: h1 → (start@2, conn@1); h4/a.exe → (start@6, conn@8).
  assert.equal(tuples(eql, events), { native: [[1, 0], [5, 7]], kql: [[1, 0], [5, 7]] });
});

test('sample: an event without a key value takes no part; three filters need all three', () => {
  const eql = 'sample by host.id [process where event.type == "start" and process.name == "a.exe"] [process where event.type == "start" and process.name == "b.exe"] [network where destination.port == 443]';
  const noHost = { ...conn(3, 'h1', 'x') } as Record<string, unknown>;
  delete noHost['host.id'];
  const events = [start(1, 'h1', 'a.exe'), start(2, 'h1', 'b.exe'), noHost, start(4, 'h2', 'b.exe'), start(5, 'h2', 'a.exe'), conn(6, 'h2', 'x')];
  assert.equal(tuples(eql, events), { native: [[4, 3, 5]], kql: [[4, 3, 5]] });
});

test('sample: filters over one table are declared, since one row can fill both there', () => {
  const eql = 'sample by host.id [process where event.type == "start" and process.name : "a*"] [process where event.type == "start" and process.name : "*.exe"]';
  const t = kql(eql);
  const d = t.diagnostics.find((x) => x.code === 'EQL3246');
  assert.ok(d && d.direction === 'different', JSON.stringify(t.diagnostics));
  // One event meets both filters: Elasticsearch needs a second event, the KQL fills both with it.
  assert.equal(tuples(eql, [start(1, 'h1', 'a.exe')]), { native: [], kql: [[0, 0]] });
  // Distinct events for the two filters agree.
  assert.equal(tuples(eql, [start(1, 'h1', 'ab'), start(2, 'h1', 'x.exe')]), { native: [[0, 1]], kql: [[0, 1]] });
});

test('sample: hostile key-free values stay literals in every branch', () => {
  for (const v of ['a"b', 'x\\', 'a | summarize count()', 'a\nb']) {
    const lit = `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
    const eql = `sample by host.id [process where event.type == "start" and process.name == ${lit}] [network where process.name == ${lit}]`;
    const t = kql(eql);
    assertBinds(t, eql);
    assert.is(t.output!.split('\n').filter((l) => l.startsWith('| summarize')).length, 1, t.output!);
  }
});
test('a sequence or sample none of whose keys has a Defender column is unsupported: it would join unrelated hosts', () => {
  for (const eql of [
    'sequence by host.ip [network where destination.port == 445] [process where event.type == "start" and process.name == "a.exe"]',
    'sample by host.ip [network where destination.port == 445] [process where event.type == "start" and process.name == "a.exe"]',
  ]) {
    const t = kql(eql);
    assert.is(t.status, 'unsupported', eql);
    assert.ok(codes(t).includes('EQL3248'), JSON.stringify(t.diagnostics));
  }
  // One key left: declared, still converted.
  const t = kql('sequence by host.id, host.ip [network where destination.port == 445] [process where event.type == "start" and process.name == "a.exe"]');
  assert.is(t.status, 'approximate');
  assert.ok(codes(t).includes('EQL3211') && !codes(t).includes('EQL3248'));
});

// ---- head / tail after a sequence or sample ----

test('tail/head after a sequence: the last/first sequences in completion order (each row carries its last event\'s time)', () => {
  const seq = 'sequence by host.id [process where event.type == "start" and process.name == "a.exe"] [network where destination.port == 443]';
  const events = [start(1, 'h1', 'a.exe'), start(2, 'h2', 'a.exe'), conn(3, 'h2', 'x'), conn(4, 'h1', 'x')];
  // Reasoned: h2 completes at 3, h1 at 4.
  assert.equal(tuples(seq, events), { native: [[0, 3], [1, 2]], kql: [[0, 3], [1, 2]] });
  assert.equal(tuples(`${seq} | tail 1`, events), { native: [[0, 3]], kql: [[0, 3]] });
  assert.equal(tuples(`${seq} | head 1`, events), { native: [[1, 2]], kql: [[1, 2]] });
  const t = kql(`${seq} | tail 1`);
  assert.ok(t.output!.includes('| top 1 by Timestamp desc\n| project'), t.output!);
  assert.ok(!codes(t).includes('EQL3247'));
});

test('head/tail after a sample: by key order, declared (Defender\'s key values are not the rule\'s)', () => {
  const t = kql('sample by host.id [process where event.type == "start" and process.name == "a.exe"] [network where destination.port == 443] | head 2');
  assert.ok(t.output!.includes('| sort by SampleKey1 asc\n| take 2\n'), t.output!);
  const d = t.diagnostics.find((x) => x.code === 'EQL3247');
  assert.ok(d && d.direction === 'different');
  assertBinds(t, 'sample head');
});

test.run();
