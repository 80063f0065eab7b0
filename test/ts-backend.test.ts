// The `ts` backend: emitted modules type-check under `tsc --strict` and agree with the in-process matcher.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { emitTs } from '../src/backends/ts.js';
import { parseQuery } from '../src/parse.js';
import { compileMatcher, type MatchOptions } from '../src/matcher/index.js';
import { compareRecs, type Ev } from '../src/matcher/runtime.js';
import { root, shared } from './helpers/shared.js';

const out = join(root, '.tmp', `ts-backend-${process.pid}`);
mkdirSync(out, { recursive: true });
const written: string[] = [];

interface Emitted {
  matches?: (e: Ev) => boolean;
  createMatcher?: (o: { tiebreakerField?: string | null }) => { push: (e: Ev) => boolean; finish: () => { events: (Ev | null)[] }[] };
}

async function load(name: string, query: string, categoryField: string): Promise<Emitted> {
  const q = parseQuery(query).query!;
  const file = join(out, `${name.replace(/\W/g, '_')}.ts`);
  writeFileSync(file, emitTs(q, { name }, { categoryField }));
  written.push(file);
  return (await import(pathToFileURL(file).href)) as Emitted;
}

/** Ids from the in-process matcher and from the emitted module, over events already in ES order. */
async function both(name: string, query: string, events: Ev[], opts: MatchOptions & { categoryField: string; tiebreakerField: string }, id: string) {
  const q = parseQuery(query).query!;
  const m = await load(name, query, opts.categoryField);
  const idOf = (e: Ev | null) => (e === null ? -1 : (e[id] as number));
  if (m.matches) {
    const { matcher } = compileMatcher({ ...q, pipes: [] }, opts);
    events.forEach((e, i) => matcher!.push(matcher!.recOf(e, i)!));
    const want = matcher!.finish().results.map((r) => idOf(r.events[0]!));
    return { got: events.filter((e) => m.matches!(e)).map(idOf), want };
  }
  const { matcher } = compileMatcher(q, opts);
  events.forEach((e, i) => matcher!.push(matcher!.recOf(e, i)!));
  const want = matcher!.finish().results.flatMap((r) => r.events.map(idOf));
  const em = m.createMatcher!({ tiebreakerField: opts.tiebreakerField });
  for (const e of events) em.push(e);
  return { got: em.finish().flatMap((r) => r.events.map(idOf)), want };
}

test('hand-written rules: event query, sequence with by/maxspan/until, sample, regex, cidr', async () => {
  const events: Ev[] = [
    { id: 1, '@timestamp': 1, event: { category: 'process' }, p: 'cmd.exe', u: 1, ip: '10.0.0.1' },
    { id: 2, '@timestamp': 2, event: { category: 'file' }, p: 'x"*/', u: 1 },
    { id: 3, '@timestamp': 3, event: { category: 'process' }, p: 'CMD.EXE', u: 2 },
    { id: 4, '@timestamp': 4, event: { category: 'file' }, p: 'y', u: 2 },
  ];
  const opts = { categoryField: 'event.category', tiebreakerField: 'id' };
  const cases = [
    'process where p : "cmd.*" and not p regex "c.*" and not cidrMatch(ip, "192.168.0.0/16")',
    'any where p in ("x\\"*/", "y") or length(p) > 6',
    'sequence by u with maxspan=10ms [process where true] [file where p != "nope"] until [network where true]',
    'sample by u [process where true] [file where true]',
    'process where p regex~ "CMD\\\\.EXE"',
  ];
  for (const [i, c] of cases.entries()) {
    const { got, want } = await both(`hand${i}`, c, events, opts, 'id');
    assert.equal(got, want, c);
    assert.ok(want.length > 0, `${c} should match something`);
  }
});

const dir = shared('eql-suite');
if (dir) {
  const suites = [
    { file: 'test_queries.toml', data: 'endgame-140.json', id: 'serial_event_id' },
    { file: 'test_missing_events.toml', data: 'missing-events.json', id: 'sequence' },
  ];
  for (const s of suites) {
    test(`${s.file}: emitted modules agree with the in-process matcher`, async () => {
      const specs = (parseToml(readFileSync(join(dir, s.file), 'utf8')) as { queries: { name: string; query: string }[] }).queries;
      const raw = JSON.parse(readFileSync(join(dir, 'data', s.data), 'utf8')) as Ev[];
      const opts = { categoryField: 'event_type', tiebreakerField: s.id };
      const { matcher } = compileMatcher(parseQuery('any where true').query!, opts);
      const events = raw.map((e, i) => matcher!.recOf(e, i)!).sort(compareRecs).map((r) => r.ev);
      const diffs: string[] = [];
      for (const spec of specs) {
        const { got, want } = await both(`${s.file}-${spec.name}`, spec.query, events, opts, s.id);
        if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push(`${spec.name}: module ${JSON.stringify(got)} matcher ${JSON.stringify(want)}`);
      }
      assert.equal(diffs, [], diffs.join('\n'));
    });
  }
}

test('every emitted module type-checks under tsc --strict', () => {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '--strict', '--noEmit', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--types', 'node', '--skipLibCheck', ...written], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout + r.stderr);
  rmSync(out, { recursive: true, force: true });
});

test.run();
