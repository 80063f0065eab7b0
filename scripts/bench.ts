// `npm run bench [-- section ...]`: speed, reported as ratios against a baseline measured in the same run
// (absolute numbers vary by machine; ratios say whether a change made eqlport slower). One function per
// section in SECTIONS; add replay, convert, verify, ... the same way.
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRules, parseQuery } from '../src/index.js';
import { corpusDir } from './corpus.js';

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

const SECTIONS: Record<string, (input: BenchInput) => void> = { parse: benchParse };

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in SECTIONS));
if (unknown.length) {
  console.error(`unknown bench section(s): ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
  process.exit(2);
}
const input = loadInput();
for (const [name, run] of Object.entries(SECTIONS)) if (!wanted.length || wanted.includes(name)) run(input);
