// `npm run bench [-- section ...]`: speed, reported as ratios against a baseline measured in the same run
// (absolute numbers vary by machine; ratios say whether a change made eqlport slower). One function per
// section in SECTIONS; add replay, convert, verify, ... the same way.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, statSync, writeSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileMatcher, loadRules, parseQuery, readEvents, replay } from '../src/index.js';
import { corpusDir } from './corpus.js';

import { BACKENDS } from '../src/backends/index.js';
import { convertRule } from '../src/convert.js';
import type { TargetId } from '../src/translate/core.js';
import { INTERPRETERS, verifyRules } from '../src/verify/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface BenchInput {
  /** Where the rules came from (the corpus, or the project's examples when it is absent). */
  source: string;
  queries: string[];
}

/** Runs `fn` (one pass over `items` units of work) until `minMs` have passed; returns units per second. */
export function measure(items: number, fn: () => void, minMs = 1000): number {
  fn(); // warm-up: JIT and lazy tables
  let passes = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    fn();
    passes++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return (passes * items) / (elapsed / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function loadInput(): BenchInput {
  const dir = corpusDir();
  if (dir) return { source: dir, queries: loadRules([dir]).rules.map((r) => r.source.query) };
  console.log('notice: ../shared/corpus is absent; benchmarking the project examples instead');
  const examples = join(root, 'examples');
  const files = readdirSync(examples).map((f) => join(examples, f));
  return { source: examples, queries: loadRules(files).rules.map((r) => r.source.query) };
}

/** A plain lexical pass over EQL (strings, names, numbers, punctuation): the least any parser must do. */
const TOKEN = /"""[\s\S]*?"""|"(?:[^"\\\n]|\\.)*"|`(?:[^`]|``)*`|[A-Za-z_@][A-Za-z0-9_.]*|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\/\/[^\n]*|\/\*[\s\S]*?\*\/|[=!<>]=|\S/g;
function tokenize(text: string): number {
  let n = 0;
  TOKEN.lastIndex = 0;
  while (TOKEN.exec(text)) n++;
  return n;
}

function benchParse(input: BenchInput) {
  const { queries } = input;
  const bytes = queries.reduce((n, q) => n + q.length, 0);
  const failures = queries.filter((q) => !parseQuery(q).query).length;
  const asJson = queries.map((q) => JSON.stringify({ query: q }));
  const parse = measure(queries.length, () => {
    for (const q of queries) parseQuery(q);
  });
  const json = measure(queries.length, () => {
    for (const j of asJson) JSON.parse(j);
  });
  const lex = measure(queries.length, () => {
    for (const q of queries) tokenize(q);
  });
  console.log(`## parse  (${queries.length} queries, ${fmt(bytes)} characters, ${failures} failing, from ${input.source})`);
  console.log(`  parseQuery (parse + validate): ${fmt(parse)} rules/s; whole set in ${((queries.length / parse) * 1000).toFixed(1)} ms`);
  console.log(`  baseline JSON.parse of the same texts: ${fmt(json)} rules/s  -> parseQuery is ${(json / parse).toFixed(1)}x slower`);
  console.log(`  baseline regex tokenizer pass:         ${fmt(lex)} rules/s  -> parseQuery is ${(lex / parse).toFixed(1)}x slower`);
}

/** Generated ECS process/network events; every 1000th is a svchost child that the example rule matches. */
function ecsEvent(i: number): Record<string, unknown> {
  const hit = i % 1000 === 0;
  const network = i % 3 === 2;
  return {
    '@timestamp': new Date(1_700_000_000_000 + i).toISOString(),
    event: { category: [network ? 'network' : 'process'], type: [network ? 'connection' : 'start'], id: String(i), ingested: new Date(1_700_000_000_000 + i).toISOString() },
    host: { os: { type: 'windows' }, name: `host-${i % 50}` },
    process: {
      entity_id: `e${i % 10_000}`,
      name: hit ? 'evil.exe' : 'svchost.exe',
      executable: hit ? 'C:\\Users\\x\\evil.exe' : 'C:\\Windows\\System32\\svchost.exe',
      args: ['svchost.exe', '-k', 'netsvcs'],
      pid: 1000 + (i % 30_000),
      parent: { executable: 'C:\\Windows\\System32\\svchost.exe', args: hit ? ['svchost.exe', 'UsoSvc'] : ['services.exe'] },
    },
    user: { name: 'SYSTEM' },
  };
}

async function benchReplay() {
  const n = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  const dir = join(root, '.tmp');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-events-${n}.ndjson`);
  if (!existsSync(file)) {
    const fd = openSync(file, 'w');
    let chunk = '';
    for (let i = 0; i < n; i++) {
      chunk += JSON.stringify(ecsEvent(i)) + '\n';
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
    closeSync(fd);
  }
  const mb = statSync(file).size / 1e6;
  let t = performance.now();
  await readEvents(file, () => {});
  const parseMs = performance.now() - t;
  const { rules } = loadRules([join(root, 'examples')]);
  t = performance.now();
  const outcome = await replay(rules, { events: file });
  const replayMs = performance.now() - t;
  const matches = outcome.rules.reduce((k, r) => k + r.results.length, 0);
  const rate = (ms: number) => fmt((n / ms) * 1000);
  console.log(`## replay  (example rule over ${fmt(n)} generated ECS events, ${mb.toFixed(0)} MB NDJSON, ${matches} matches)`);
  console.log(`  baseline read + JSON.parse only: ${rate(parseMs)} events/s`);
  console.log(`  eqlport replay:                  ${rate(replayMs)} events/s  -> ${((parseMs / replayMs) * 100).toFixed(0)}% of the bare parse rate (goal >= 80%)`);
}

/** A two-step sequence with `by` and maxspan over n in-memory events: time and retained heap. */
function runSequence(n: number): { ms: number; heapMb: number; results: number } {
  const q = parseQuery('sequence by process.entity_id with maxspan=30s [process where event.type == "start"] [network where event.id : "*000"]').query!;
  const { matcher } = compileMatcher(q);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const t = performance.now();
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const ev = ecsEvent(i);
    if (matcher!.relevant(ev)) matcher!.push(matcher!.recOf(ev, i)!);
    if (i % 500_000 === 499_999) {
      gc?.();
      peak = Math.max(peak, process.memoryUsage().heapUsed - before);
    }
  }
  const ms = performance.now() - t;
  const results = matcher!.finish().results.length;
  return { ms, heapMb: peak / 1e6, results };
}

function benchSequence() {
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: () => void }).gc = runInNewContext('gc') as () => void;
  console.log('## sequence  (by process.entity_id, maxspan=30s, 10,000 keys, events generated in memory)');
  const rows = [1_000_000, 4_000_000].map((n) => ({ n, ...runSequence(n) }));
  for (const r of rows)
    console.log(`  ${fmt(r.n)} events: ${(r.ms / 1000).toFixed(1)} s (${fmt((r.n / r.ms) * 1000)} events/s), retained heap after GC <= ${r.heapMb.toFixed(1)} MB, ${fmt(r.results)} sequences`);
  const [a, b] = rows;
  console.log(`  time ratio 4M/1M: ${(b!.ms / a!.ms).toFixed(2)} (linear = 4.00); heap ratio: ${(b!.heapMb / Math.max(a!.heapMb, 0.1)).toFixed(2)} (bounded ~ 1)`);
}

/** Conversions per second per target, against the parse rate of the same rules measured in this run. */
function benchConvert() {
  const dir = corpusDir();
  const { rules } = loadRules([dir ?? join(root, 'golden')]);
  const parsed = rules.filter((r) => r.query);
  const parse = measure(parsed.length, () => {
    for (const r of parsed) parseQuery(r.source.query);
  });
  console.log(`## convert  (${parsed.length} rules from ${dir ?? 'golden/'})`);
  console.log(`  baseline parseQuery: ${fmt(parse)} rules/s`);
  for (const target of Object.keys(BACKENDS) as TargetId[]) {
    const rate = measure(parsed.length, () => {
      for (const r of parsed) convertRule(r, [target]);
    }, 2000);
    console.log(`  ${target.padEnd(5)}: ${fmt(rate)} conversions/s; whole set in ${((parsed.length / rate) * 1000).toFixed(0)} ms (${(parse / rate).toFixed(1)}x the parse time)`);
  }
}

/** Verifying the whole corpus against every target with an interpreter (goal: under 5 minutes on 2 cores). */
function benchVerify() {
  const dir = corpusDir();
  const { rules } = loadRules([dir ?? join(root, 'golden')]);
  const parsed = rules.filter((r) => r.query);
  const targets = (Object.keys(BACKENDS) as TargetId[]).filter((t) => INTERPRETERS[t]);
  const t0 = performance.now();
  for (const r of parsed) convertRule(r, targets);
  const convertMs = performance.now() - t0;
  console.log(`## verify  (${parsed.length} rules × ${targets.join(', ')})`);
  let total = 0;
  for (const target of targets) {
    const start = performance.now();
    const report = verifyRules(parsed, { targets: [target] });
    const ms = performance.now() - start;
    total += ms;
    const s = report.summary[target]!;
    console.log(`  ${target.padEnd(5)}: ${(ms / 1000).toFixed(1)} s (${s.agree} agree, ${s.disagree} disagree, ${s['not-checked']} not checked)`);
  }
  console.log(`  all targets: ${(total / 1000).toFixed(1)} s (goal < 300 s); ${(total / convertMs).toFixed(0)}x the time to only convert them`);
}

const SECTIONS: Record<string, (input: BenchInput) => void | Promise<void>> = {
  parse: benchParse,
  replay: benchReplay,
  sequence: benchSequence,
  convert: benchConvert,
  verify: benchVerify,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in SECTIONS));
if (unknown.length) {
  console.error(`unknown bench section(s): ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
const input = loadInput();
for (const [name, run] of Object.entries(SECTIONS)) if (!wanted.length || wanted.includes(name)) await run(input);
