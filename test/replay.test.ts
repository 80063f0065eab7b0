// `eqlport replay`: output lines, ordering across unsorted files and stdin, exit codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../src/cli.js';
import { replay, replayRules } from '../src/replay.js';

const dir = mkdtempSync(join(tmpdir(), 'eqlport-replay-'));
const events = [
  { id: 3, '@timestamp': '2024-01-01T00:00:03Z', event: { category: 'process' }, process: { name: 'b.exe', pid: 1 } },
  { id: 1, '@timestamp': 1704067201000, event: { category: 'process' }, process: { name: 'a.exe', pid: 1 } },
  { id: 2, '@timestamp': '1704067202000', 'event.category': 'file', 'process.pid': 1 },
];
const ndjson = join(dir, 'events.ndjson');
writeFileSync(ndjson, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
const array = join(dir, 'events.json');
writeFileSync(array, JSON.stringify(events, null, 2));
const rule = join(dir, 'r.eql');
writeFileSync(rule, 'sequence by process.pid [process where true] [file where true]');

async function run(args: string[]) {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), isTTY: false });
  return { code, lines: out.trim() ? out.trim().split('\n').map((l) => JSON.parse(l)) : [], err };
}

test('event query over an unsorted NDJSON file: results in timestamp order, ids with --ids', async () => {
  const r = await run(['replay', '--query', 'process where true', '--events', ndjson, '--ids', 'id']);
  assert.is(r.code, 0);
  assert.equal(r.lines, [
    { path: '(query)', rule: 'query', ids: [1] },
    { path: '(query)', rule: 'query', ids: [3] },
  ]);
  assert.match(r.err, /2 matches {2}query/);
});

test('JSON array input, rule file, dotted keys, whole events without --ids', async () => {
  const r = await run(['replay', rule, '--events', array]);
  assert.is(r.code, 0);
  assert.is(r.lines.length, 1);
  assert.equal(r.lines[0].events.map((e: { id: number }) => e.id), [1, 2]);
  assert.is(r.lines[0].rule, 'r');
});

test('no match still exits 0; unreadable events exit non-zero', async () => {
  const r = await run(['replay', '--query', 'network where true', '--events', ndjson]);
  assert.is(r.code, 0);
  assert.equal(r.lines, []);
  const bad = await run(['replay', '--query', 'network where true', '--events', join(dir, 'nope.json')]);
  assert.is(bad.code, 1);
  assert.match(bad.err, /EQL6004/);
});

test('stdin is buffered and sorted; invalid lines are skipped with a warning; --size keeps the last N', async () => {
  const text = events.map((e) => JSON.stringify(e)).join('\n') + '\n{not json\n';
  const { rules } = replayRules([], 'any where true');
  const out = await replay(rules, { events: '-', stdin: Readable.from([text]), size: 2 });
  assert.equal(out.rules[0]!.results.map((r) => r.events[0]!.id), [2, 3]);
  assert.ok(out.diagnostics.some((d) => d.code === 'EQL6005' && /line 4/.test(d.message)));
  assert.ok(out.ok);
});

test.run();
