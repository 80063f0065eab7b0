// Hostile input gives diagnostics, never an uncaught exception or a hang; whatever parses also round-trips
// through the canonical printer. fast-check mutates project-own queries (and corpus queries when present).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQuery, printQuery, irEqual, loadRules, check } from '../src/index.js';
import { shared } from './helpers/shared.js';

/** Parse, and when it parses, print and parse again; returns why that failed, or null. */
function roundTrip(text: string): string | null {
  const r = parseQuery(text);
  if (!r.query) {
    if (!r.diagnostics.some((d) => d.severity === 'error')) return 'no query and no error diagnostic';
    return null;
  }
  const printed = printQuery(r.query);
  const again = parseQuery(printed);
  if (!again.query) return `printed form does not parse (${again.diagnostics.map((d) => d.message).join('; ')}):\n${printed}`;
  return irEqual(again.query, r.query) ? null : `printed form parses differently:\n${printed}`;
}

const QUERIES = [
  'process where process.name : "cmd.exe" and process.args : ("/c", "/k") and not process.parent.name in~ ("explorer.exe")',
  'file where file.path : """C:\\Users\\*\\AppData\\*.dll""" and file.size > 1.5e3 and ?file.Ext.entropy >= -0.5',
  'sequence by host.id, user.name with maxspan=5m\n  [process where event.type == "start"] by process.entity_id\n  ![file where true] by process.entity_id\n  [network where destination.port in (443, 8443)] by process.entity_id with runs=2\nuntil [process where event.type == "end"] by process.entity_id',
  'sample by host.id [process where process.pid == 4] [network where `source`.`ip` != null]',
  'any where length(process.command_line) > 2 * (3 + 4) % 5 and startsWith~(process.name, "a\\u{1F600}\\t\\"")',
  'registry where registry.path regex~ """HKLM\\\\.*\\\\Run[^\\\\]*""" and registry.data.strings like "*\\\\\\\\*"\n| tail 3',
  'network where cidrMatch(destination.ip, "10.0.0.0/8", "fe80::/10") and /* a /* nested */ comment */ x == null // end',
  'process where process.args[0] == "x" and @timestamp > 0 and process.name != "a*b?" and `and` == true and `1x`.y == false',
];

const TOKENS = [
  ' and ', ' or ', ' not ', ' in ', ' in~ ', ' : ', ' like~ ', ' regex ', '==', '!=', '<=', '(', ')', '[', ']', ',', '"', '"""',
  '\\', '`', '?', '*', '~', '|', '| head 1', ' by x', ' with maxspan=1s', ' with runs=3', ' until ', '![', 'sequence ',
  'sample ', 'any where ', 'null', 'true', '-', '--1', '1e999', '-0.0', '99999999999999999999', '.5', '1.', '/*', '*/', '//',
  '\n', '\r\n', '\t', '\u0000', 'é', '😀', '\u2028', '\\u{', '\\u{41}', '}', 'x.y', '@timestamp', 'length(', 'concat(',
];

const corpusDir = shared('corpus');
const corpusQueries = corpusDir ? loadRules([corpusDir]).rules.map((r) => r.source.query) : [];

type Mutation =
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; len: number }
  | { op: 'replace'; at: number; text: string }
  | { op: 'splice'; at: number; from: number; len: number };

const anyChar = fc.oneof(fc.constantFrom(...TOKENS), fc.string({ minLength: 1, maxLength: 3, unit: 'binary' }));
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: anyChar }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), text: anyChar }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
);

/** Apply mutations; positions wrap around the current text so every mutation lands somewhere. */
function mutate(text: string, muts: Mutation[], donor: string): string {
  let s = text;
  for (const m of muts) {
    const at = s.length ? m.at % (s.length + 1) : 0;
    if (m.op === 'insert') s = s.slice(0, at) + m.text + s.slice(at);
    else if (m.op === 'delete') s = s.slice(0, at) + s.slice(at + m.len);
    else if (m.op === 'replace') s = s.slice(0, at) + m.text + s.slice(at + m.text.length);
    else {
      // Copy a piece of another query (whole tokens, roughly) into this one.
      const from = m.from % Math.max(1, donor.length);
      s = s.slice(0, at) + donor.slice(from, from + m.len) + s.slice(at);
    }
  }
  return s;
}

/** EQLPORT_FUZZ_RUNS=20000 runs a longer search than the suite's bounded default. */
const FUZZ_RUNS = Number(process.env.EQLPORT_FUZZ_RUNS) || 0;

function checkProperty(pool: string[], numRuns: number) {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 6 }), (i, j, muts) => {
      const text = mutate(pool[i % pool.length]!, muts, pool[j % pool.length]!);
      let problem: string | null;
      try {
        problem = roundTrip(text);
      } catch (e) {
        problem = `threw ${(e as Error).stack}`;
      }
      if (problem) throw new Error(`${problem}\n--- input ---\n${JSON.stringify(text)}`);
    }),
    { numRuns: FUZZ_RUNS || numRuns },
  );
}

test('the project-own seed queries parse and round-trip', () => {
  for (const q of QUERIES) {
    assert.ok(parseQuery(q).query, q + '\n' + parseQuery(q).diagnostics.map((d) => d.message).join('; '));
    assert.is(roundTrip(q), null);
  }
});

test('property: mutated project queries never throw, and what parses round-trips', () => {
  checkProperty(QUERIES, 400);
});

if (corpusQueries.length)
  test('property: mutated corpus queries never throw, and what parses round-trips', () => {
    checkProperty(corpusQueries, 300);
  });

test('property: arbitrary strings and random bytes give diagnostics, never exceptions', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200, unit: 'grapheme' }), fc.string({ maxLength: 200, unit: 'binary' })), (s) => {
      assert.is(roundTrip(s), null);
      assert.is(roundTrip('any where ' + s), null);
    }),
    { numRuns: 300 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.is(roundTrip(Buffer.from(bytes).toString('utf8')), null);
      assert.is(roundTrip(Buffer.from(bytes).toString('latin1')), null);
    }),
    { numRuns: 300 },
  );
});

test('every prefix of a few queries is either a valid query or an error diagnostic', () => {
  for (const q of [...QUERIES, ...corpusQueries.slice(0, 3)]) for (let n = 0; n <= q.length; n++) assert.is(roundTrip(q.slice(0, n)), null, q.slice(0, n));
});

test('10,000 nested parentheses, chained not, unary minus and arithmetic are refused with EQL1003', () => {
  const codes = (t: string) => parseQuery(t).diagnostics.map((d) => d.code);
  assert.equal(codes('any where ' + '('.repeat(10_000) + 'x == 1' + ')'.repeat(10_000)), ['EQL1003']);
  assert.equal(codes('any where ' + '['.repeat(10_000)), ['EQL1003']);
  assert.equal(codes('any where ' + 'not '.repeat(10_000) + 'x == 1'), ['EQL1003']);
  assert.equal(codes('any where x == ' + '-'.repeat(10_000) + '1'), ['EQL1003']);
  assert.equal(codes('any where x == ' + Array.from({ length: 10_000 }, () => '1').join(' + ')), ['EQL1003']);
  // A long flat `and` chain is one n-ary node, not deep: it parses.
  assert.ok(parseQuery('any where ' + Array.from({ length: 10_000 }, (_, i) => `x == ${i}`).join(' and ')).query);
  // Brackets inside strings and comments do not count as nesting.
  assert.ok(parseQuery(`any where x : "${'('.repeat(10_000)}" /* ${'['.repeat(10_000)} */`).query);
});

test('a 5 MB value list parses and round-trips', () => {
  const values = Array.from({ length: 300_000 }, (_, i) => `"C:\\\\dir\\\\file-${i}.exe"`).join(', ');
  const text = `process where process.executable in~ (${values})`;
  assert.ok(text.length > 5_000_000);
  const r = parseQuery(text);
  assert.ok(r.query);
  const body = r.query!.body;
  assert.is(body.kind === 'EventQuery' && body.filter.where.kind === 'In' && body.filter.where.values.length, 300_000);
  assert.is(roundTrip(text), null);
});

test('numbers out of range are EQL1007; big in-range integers keep their integer form through the printer', () => {
  const codes = (t: string) => parseQuery(t).diagnostics.map((d) => d.code);
  assert.equal(codes('any where x == 1e999'), ['EQL1007']);
  assert.equal(codes('any where x == -1e999'), ['EQL1007']);
  assert.equal(codes('any where x == 100000000000000000000'), ['EQL1007']);
  assert.equal(codes('sequence with maxspan=99999999999999999999d [any where true] [any where true]'), ['EQL1007']);
  assert.equal(codes('sequence with maxspan=0s [any where true] [any where true]'), ['EQL1007']);
  assert.equal(codes('sequence with maxspan=1ms [any where true] [any where true]'), []);
  const big = parseQuery('any where x == 18446744073709551615').query!;
  assert.match(printQuery(big), /== 18446744073709551616$/); // nearest double; still digits, still an integer
  assert.is(roundTrip('any where x == 10000000000000000000 and y == 1e21'), null);
  assert.is(roundTrip('any where x == -0 and y == -0.0 and z == 5e-324'), null);
});

test('invalid UTF-8 and binary files give EQL4001; check over them still reports every file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqlport-hostile-'));
  writeFileSync(join(dir, 'a.eql'), Buffer.from([0xc3, 0x28, 0xa0, 0xa1]));
  writeFileSync(join(dir, 'b.toml'), Buffer.from([0xff, 0xfe, 0x00, 0x5b, 0x00]));
  writeFileSync(join(dir, 'c.ndjson'), Buffer.from([0x7b, 0x80, 0x7d]));
  writeFileSync(join(dir, 'd.eql'), 'any where true');
  const r = check([dir]);
  assert.equal(r.summary, { total: 4, ok: 1, failed: 3 });
  assert.equal(r.rules.filter((x) => !x.ok).map((x) => x.diagnostics.map((d) => d.code)), [['EQL4001'], ['EQL4001'], ['EQL4001']]);
});

test.run();
