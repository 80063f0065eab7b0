// The native matcher's semantics, one test per rule of docs/null-semantics.md and eql-language.md §4-§8.
// Events are made up; expected ids are reasoned from the rule each test names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matchEvents, type MatchOptions } from '../src/matcher/index.js';

type E = Record<string, unknown>;
/** Ids of matching events (input order unless the options give a timestamp field). */
function ids(query: string, events: E[], opts: MatchOptions = {}): (number | null)[] {
  const { results, diagnostics } = matchEvents(query, events, { timestampField: null, ...opts });
  const errs = diagnostics.filter((d) => d.severity === 'error');
  if (errs.length) throw new Error(errs.map((d) => d.message).join('; '));
  return results.flatMap((r) => r.events.map((e) => (e ? (e.id as number) : null)));
}
const ev = (id: number, fields: E): E => ({ id, event: { category: 'process' }, ...fields });

// Field f: 1 = "a", 2 = missing, 3 = ["a","b"] (mixed), 4 = ["b"], 5 = explicit null, 6 = [].
const F = [ev(1, { f: 'a' }), ev(2, {}), ev(3, { f: ['a', 'b'] }), ev(4, { f: ['b'] }), ev(5, { f: null }), ev(6, { f: [] })];
const N = [ev(1, { x: 5 }), ev(2, {}), ev(3, { x: [0, 10] }), ev(4, { x: [3] })];

test('Q1/Q2: == is any-element, != is its complement (true when missing)', () => {
  assert.equal(ids('process where f == "a"', F), [1, 3]);
  assert.equal(ids('process where f != "a"', F), [2, 4, 5, 6]);
});

test('Q3/Q4: ranges are any-element, and two bounds may be met by different elements', () => {
  assert.equal(ids('process where x > 4', N), [1, 3]);
  assert.equal(ids('process where x > 1 and x < 5', N), [3, 4]);
});

test('Q5: not (x > v) is not rewritten to x <= v', () => {
  assert.equal(ids('process where not (x > 4)', N), [2, 4]);
  assert.equal(ids('process where x <= 4', N), [3, 4]);
});

test('Q6/Q7: `:` is case-insensitive any-element; `not :` is true when missing', () => {
  const E2 = [ev(1, { f: 'ABC' }), ev(2, {}), ev(3, { f: ['x', 'abc'] })];
  assert.equal(ids('process where f : "abc"', E2), [1, 3]);
  assert.equal(ids('process where f : ("zz", "a*")', E2), [1, 3]);
  assert.equal(ids('process where not f : "abc"', E2), [2]);
});

test('Q8-Q10: like is case-sensitive, like~ is not; regex anchored; negations true when missing', () => {
  const E2 = [ev(1, { f: 'ABC' }), ev(2, {}), ev(3, { f: 'abc' })];
  assert.equal(ids('process where f like "a*"', E2), [3]);
  assert.equal(ids('process where f like~ "a*"', E2), [1, 3]);
  assert.equal(ids('process where f regex "a.c"', E2), [3]);
  assert.equal(ids('process where f regex "b"', E2), []);
  assert.equal(ids('process where f regex~ "A.C"', E2), [1, 3]);
  assert.equal(ids('process where not f like "a*"', E2), [1, 2]);
  assert.equal(ids('process where not f regex "a.*"', E2), [1, 2]);
});

test('Q11-Q13: in drops null entries; not in / not in~ are complements; in~ folds case, takes * literally', () => {
  assert.equal(ids('process where f in ("a", null)', F), [1, 3]);
  assert.equal(ids('process where f not in ("a", "z")', F), [2, 4, 5, 6]);
  assert.equal(ids('process where not f in ("a")', F), [2, 4, 5, 6]);
  const E2 = [ev(1, { f: 'ABC' }), ev(2, { f: 'a*' }), ev(3, {})];
  assert.equal(ids('process where f in~ ("abc", "A*")', E2), [1, 2]);
  assert.equal(ids('process where f not in~ ("abc")', E2), [2, 3]);
  assert.equal(ids('process where f in ("abc")', E2), []);
});

test('F1-F4: startsWith/endsWith/stringContains/cidrMatch are any-element; negated are true when missing', () => {
  const E2 = [ev(1, { f: 'Hello' }), ev(2, {}), ev(3, { f: ['x', 'help'] })];
  assert.equal(ids('process where startsWith(f, "He")', E2), [1]);
  assert.equal(ids('process where startsWith~(f, "he")', E2), [1, 3]);
  assert.equal(ids('process where endsWith(f, "lo")', E2), [1]);
  assert.equal(ids('process where stringContains(f, "el")', E2), [1, 3]);
  assert.equal(ids('process where not stringContains(f, "el")', E2), [2]);
  const IP = [ev(1, { ip: '10.1.2.3' }), ev(2, {}), ev(3, { ip: ['192.168.0.1', '10.0.0.1'] }), ev(4, { ip: '2001:db8::1' })];
  assert.equal(ids('process where cidrMatch(ip, "10.0.0.0/8")', IP), [1, 3]);
  assert.equal(ids('process where not cidrMatch(ip, "10.0.0.0/8")', IP), [2, 4]);
  assert.equal(ids('process where cidrMatch(ip, "2001:db8::/32", "192.168.0.0/16")', IP), [3, 4]);
  assert.equal(ids('process where cidrMatch(ip, "::ffff:10.0.0.0/104")', IP), [1, 3]);
});

test('F5: fn(...) == true / != true become fn / not fn', () => {
  const E2 = [ev(1, { f: 'Hello' }), ev(2, {})];
  assert.equal(ids('process where startsWith(f, "He") == true', E2), [1]);
  assert.equal(ids('process where startsWith(f, "He") != true', E2), [2]);
  assert.equal(ids('process where startsWith(f, "He") == false', E2), []);
});

test('S1/S1b/S1c/S1d: scripts loop over every value; a missing field is one null; occurrences loop independently', () => {
  const E2 = [ev(1, { f: ['ab', 'abcdef'] }), ev(2, {}), ev(3, { f: 'abc' })];
  assert.equal(ids('process where length(f) > 5', E2), [1]);
  assert.equal(ids('process where length(f) > 2 and length(f) < 3', E2), [1]);
  assert.equal(ids('process where concat(f, f) == "ababcdef"', E2), [1]);
  const E3 = [ev(1, { a: 'x', b: ['1', '2'] }), ev(2, { a: 'x' })];
  assert.equal(ids('process where concat(a, "-", b) == "x-2"', E3), [1]);
  assert.equal(ids('process where concat(a, "-", b) != null', E3), [1]);
});

test('S2: a negated script is true when missing and false when any element satisfies it', () => {
  const E2 = [ev(1, { f: ['ab', 'abcdef'] }), ev(2, {}), ev(3, { f: 'abc' })];
  assert.equal(ids('process where not length(f) == 2', E2), [2, 3]);
  assert.equal(ids('process where length(f) not in (2, 3)', E2), [2]);
});

test('N1-N3: == null is absence (explicit null and [] included); != null presence; not != null is == null', () => {
  assert.equal(ids('process where f == null', F), [2, 5, 6]);
  assert.equal(ids('process where f != null', F), [1, 3, 4]);
  assert.equal(ids('process where not f == null', F), [1, 3, 4]);
  assert.equal(ids('process where not f != null', F), [2, 5, 6]);
});

test('S3/S4: fn(f) == null and null == (comparison) test for a null result', () => {
  const E2 = [ev(1, { f: 'abc' }), ev(2, {}), ev(3, { f: 'xyz' })];
  assert.equal(ids('process where indexOf(f, "b") == null', E2), [2, 3]);
  assert.equal(ids('process where indexOf(f, "b") != null', E2), [1]);
  assert.equal(ids('process where null == (x > -1)', N), [2]);
});

test('L1/L2: and/or per side; not over a conjunction is the classical complement', () => {
  const E2 = [ev(1, { x: 5, g: 'x' }), ev(2, { g: 'x' }), ev(3, { x: 0, g: 'y' })];
  assert.equal(ids('process where x > 1 and g == "x"', E2), [1]);
  assert.equal(ids('process where not (x > 1 and g == "x")', E2), [2, 3]);
  assert.equal(ids('process where x > 1 or g == "y"', E2), [1, 3]);
});

test('B1: a bare boolean field means == true; not b is true when missing', () => {
  const E2 = [ev(1, { b: true }), ev(2, {}), ev(3, { b: false }), ev(4, { b: [false, true] })];
  assert.equal(ids('process where b', E2), [1, 4]);
  assert.equal(ids('process where not b', E2), [2, 3]);
});

test('case: ==, !=, in and ordering are case-sensitive; string order is by code point', () => {
  const E2 = [ev(1, { f: 'ABC' }), ev(2, { f: 'abc' }), ev(3, { f: 'b' })];
  assert.equal(ids('process where f == "abc"', E2), [2]);
  assert.equal(ids('process where f < "a"', E2), [1]);
  assert.equal(ids('process where f > "abd"', E2), [3]);
});

test('wildcards: anchored to the whole value, ? is one character, == takes * literally, no escapes', () => {
  const E2 = [ev(1, { f: 'C:\\Windows\\cmd.exe' }), ev(2, { f: 'xC:\\Windows\\cmd.exe' }), ev(3, { f: 'a*b' }), ev(4, { f: '😀b' })];
  assert.equal(ids('process where f : "c:\\\\windows\\\\*.exe"', E2), [1]);
  assert.equal(ids('process where f : "?b"', E2), [4]);
  assert.equal(ids('process where f == "a*b"', E2), [3]);
  assert.equal(ids('process where f : "a*b"', E2), [3]);
  assert.equal(ids('process where f like "*\\\\cmd.exe"', E2), [1, 2]);
  assert.equal(ids('process where f : "*w*d*e"', E2), [1, 2]);
});

test('types: a literal is converted to the field type; mismatches do not match', () => {
  const E2 = [ev(1, { pid: 123 }), ev(2, { pid: '123' }), ev(3, { pid: 5 }), ev(4, { pid: '5' })];
  assert.equal(ids('process where pid == "123"', E2), [1, 2]);
  assert.equal(ids('process where pid == 123', E2), [1, 2]);
  // A keyword value orders as text ("5" > "100"), a numeric one as a number.
  assert.equal(ids('process where pid > 100', E2), [1, 2, 4]);
});

test('arithmetic: integer division truncates (Java), % takes the dividend sign, float literal divides exactly, overflow is no value', () => {
  const E2 = [ev(82, { n: 82 }), ev(83, { n: 83 }), ev(-7, { n: -7 }), ev(9, { n: 9223372036854775000 })];
  assert.equal(ids('process where n / 2 == 41', E2), [82, 83]);
  assert.equal(ids('process where n / 2 == -3', E2), [-7]);
  assert.equal(ids('process where n % 2 == -1', E2), [-7]);
  assert.equal(ids('process where modulo(n, -6) == -1', E2), [-7]);
  assert.equal(ids('process where n / 2.0 == 41.5', E2), [83]);
  assert.equal(ids('process where n * 2 > 0', E2), [82, 83]);
  assert.equal(ids('process where n / 0 == 0', E2), []);
  assert.equal(ids('process where -n == 7', E2), [-7]);
});

test('functions: between, indexOf, substring, number, concat, string, length', () => {
  const E2 = [ev(1, { s: 'C:\\Windows\\System32\\cmd.exe', n: 12, h: '0x32', w: '  1337 ' })];
  const one = (cond: string) => ids(`process where ${cond}`, E2).length === 1;
  assert.ok(one('between(s, "\\\\", "\\\\") == "Windows"'));
  assert.ok(one('between(s, "\\\\", "\\\\", true) == "Windows\\\\System32"'));
  assert.ok(one('between(s, "zz", "\\\\") == ""'));
  assert.ok(one('between~(s, "windows\\\\", "\\\\") == "System32"'));
  assert.ok(one('indexOf(s, "\\\\") == 2'));
  assert.ok(one('indexOf(s, "\\\\", 3) == 10'));
  assert.ok(one('indexOf(s, "\\\\", -5) == 2'));
  assert.ok(one('indexOf(s, "zz") == null'));
  assert.ok(one('indexOf~(s, "CMD") == 20'));
  assert.ok(one('substring(s, -7) == "cmd.exe"'));
  assert.ok(one('substring(s, -7, -4) == "cmd"'));
  assert.ok(one('substring(s, 5, 2) == ""'));
  // A null offset (a missing field): the whole string for the start, to the end for the end
  // (ES SubstringFunctionProcessor.doProcess returns its input when start is null).
  assert.ok(one('substring(s, missing.field) == "C:\\\\Windows\\\\System32\\\\cmd.exe"'));
  assert.ok(one('substring(s, -7, missing.field) == "cmd.exe"'));
  assert.ok(one('number(h) == 50'));
  assert.ok(one('number(h, 16) == 50'));
  assert.ok(one('number("ff", 16) == 255'));
  assert.ok(one('number(w) == 1337'));
  assert.ok(one('number("1.5") == 1.5'));
  assert.ok(one('number("abc") == null'));
  assert.ok(one('concat("n=", n, "!") == "n=12!"'));
  assert.ok(one('concat(n, missing_field) == null'));
  assert.ok(one('string(n) == "12"'));
  assert.ok(one('length(s) == 27'));
  assert.ok(one('stringContains(s, "") == false'));
  assert.ok(one('add(n, 1) == 13 and subtract(n, 2) == 10 and multiply(n, 2) == 24 and divide(n, 5) == 2'));
});

test('fields: dotted keys and nested objects both work, arrays of objects flatten, optional fields', () => {
  const E2 = [
    ev(1, { process: { name: 'a.exe' } }),
    ev(2, { 'process.name': 'a.exe' }),
    ev(3, { process: [{ name: 'b.exe' }, { name: 'a.exe' }] }),
    ev(4, { 'process.parent': { name: 'a.exe' } }),
  ];
  assert.equal(ids('process where process.name == "a.exe"', E2), [1, 2, 3]);
  assert.equal(ids('process where process.parent.name == "a.exe"', E2), [4]);
  assert.equal(ids('process where ?process.parent.name == null', E2), [1, 2, 3]);
  assert.equal(ids('process where `process.name` == "a.exe"', E2), [1, 2, 3]);
});

test('category: exact and case-sensitive, any element of an array, `any` matches all, field configurable', () => {
  const E2 = [{ id: 1, event: { category: 'process' } }, { id: 2, event: { category: ['network', 'process'] } }, { id: 3, event: { category: 'Process' } }, { id: 4 }];
  assert.equal(ids('process where true', E2), [1, 2]);
  assert.equal(ids('any where true', E2), [1, 2, 3, 4]);
  const E3 = [{ id: 1, event_type: 'file' }, { id: 2, event_type: 'process' }];
  assert.equal(ids('file where true', E3, { categoryField: 'event_type' }), [1]);
  const { results } = matchEvents('file where true', E3, { timestampField: null }, { event_category_override: 'event_type' });
  assert.equal(results.length, 1);
});

test('regex: Lucene syntax translated (quotes, ^ literal, # empty, @ any); untranslatable refused with a diagnostic', () => {
  const E2 = [ev(1, { f: 'a^b' }), ev(2, { f: 'a.b' }), ev(3, { f: 'line1\nline2' })];
  assert.equal(ids('process where f regex "a^b"', E2), [1]);
  assert.equal(ids('process where f regex "a\\\\.b"', E2), [2]);
  assert.equal(ids('process where f regex "a\\".\\"b"', E2), [2]);
  assert.equal(ids('process where f regex "line1.line2"', E2), [3]);
  assert.equal(ids('process where f regex "a@"', E2), [1, 2]);
  assert.equal(ids('process where f regex "#|a[.^]b"', E2), [1, 2]);
  assert.equal(ids('process where f regex~ "A[A-C^]B"', E2), [1]);
  for (const bad of ['a&b', '~a', '<1-5>', '\\\\n', '[\\\\t]', '[\\\\.-z]', '[a-]']) {
    const { diagnostics } = matchEvents(`process where f regex "${bad}"`, E2);
    assert.ok(diagnostics.some((d) => d.code === 'EQL2013'), bad);
  }
});

test('regex: predefined classes read as Lucene 9+ does (ASCII sets, \\s only space \\t \\n \\r), also inside classes', () => {
  const hits = (re: string, values: string[]) => {
    const E2 = values.map((f, i) => ev(i + 1, { f }));
    return ids(`process where f regex ${JSON.stringify(re)}`, E2).map((i) => values[i! - 1]);
  };
  assert.equal(hits('\\d+', ['123', '12a', '\u0661']), ['123']);
  assert.equal(hits('\\s', [' ', '\t', '\n', '\r', '\f', '\v', '\u00a0', 'a']), [' ', '\t', '\n', '\r']);
  assert.equal(hits('\\w+', ['a_Z9', 'é', 'a-b']), ['a_Z9']);
  assert.equal(hits('\\W', ['é', '-', '\n', '_', 'a']), ['é', '-', '\n']);
  assert.equal(hits('\\S', ['é', '\f', ' ', '\t']), ['é', '\f']);
  assert.equal(hits('\\D', ['x', '\n', '5']), ['x', '\n']);
  assert.equal(hits('[\\d.]+', ['1.2', '1,2']), ['1.2']);
  assert.equal(hits('[^\\s]+', ['a\fb', 'a b']), ['a\fb']);
  assert.equal(hits('[^a\\D]', ['a', '7', 'x']), ['7']);
  assert.equal(hits('[\\w\\W]', ['\n', 'é', 'ab']), ['\n', 'é']);
  // `\\` in a class ends no range: `[\\-a]` is backslash, dash or `a`, not the range 0x5C-0x61.
  assert.equal(hits('[\\\\-a]', ['\\', '-', 'a', '_']), ['\\', '-', 'a']);
});

test('regex~: listed characters fold (ASCII only), ranges and predefined classes do not', () => {
  const hits = (re: string, values: string[]) => {
    const E2 = values.map((f, i) => ev(i + 1, { f }));
    return ids(`process where f regex~ ${JSON.stringify(re)}`, E2).map((i) => values[i! - 1]);
  };
  assert.equal(hits('[a-c]x', ['bx', 'bX', 'Bx']), ['bx', 'bX']);
  assert.equal(hits('[ab]', ['B', 'c']), ['B']);
  assert.equal(hits('[^a]', ['A', 'b']), ['b']);
  assert.equal(hits('é"k"', ['ék', 'éK', 'Ék', 'é\u212a']), ['ék', 'éK']);
});

test('pathological 100 KB values match correctly (globs and regex run without backtracking)', () => {
  const long = 'a'.repeat(100_000);
  const E2 = [ev(1, { f: long }), ev(2, { f: long + 'b' })];
  assert.equal(ids('process where f : "*a*a*a*a*a*a*a*a*a*a*a*b"', E2), [2]);
  assert.equal(ids('process where f : "*a?a?a?a?a?a?a*b"', E2), [2]);
  assert.equal(ids('process where f regex "(a+)+b"', E2), [2]);
  assert.equal(ids('process where f regex "(a|aa)*c"', E2), []);
});

// ---------------------------------------------------------------- sequences and samples

const t = (id: number, ts: number, fields: E, cat = 'process'): E => ({ id, '@timestamp': ts, event: { category: cat }, ...fields });
const seq = (q: string, events: E[], opts: MatchOptions = {}) => ids(q, events, { timestampField: '@timestamp', ...opts });

test('sequence: one pending per stage per key (A1 A2 B1 gives only A2,B1); results in completion order', () => {
  const E2 = [t(1, 1, { k: 'A' }), t(2, 2, { k: 'A' }), t(3, 3, { k: 'B' })];
  assert.equal(seq('sequence [process where k == "A"] [process where k == "B"]', E2), [2, 3]);
  const E3 = [t(1, 1, { u: 1, k: 'A' }), t(2, 2, { u: 2, k: 'A' }), t(3, 3, { u: 2, k: 'B' }), t(4, 4, { u: 1, k: 'B' })];
  assert.equal(seq('sequence by u [process where k == "A"] [process where k == "B"]', E3), [2, 3, 1, 4]);
});

test('sequence: an event fills one stage of a sequence only; events sorted by timestamp then tiebreaker', () => {
  const E2 = [t(1, 1, {}), t(2, 2, {}), t(3, 3, {})];
  assert.equal(seq('sequence [process where true] [process where true]', E2), [1, 2, 2, 3]);
  const E3 = [t(3, 5, { n: 1 }), t(2, 5, { n: 0 }), t(1, 9, { n: 2 })];
  assert.equal(seq('sequence [process where n == 0] [process where n == 1]', E3, { tiebreakerField: 'n' }), [2, 3]);
  assert.equal(seq('sequence [process where n == 1] [process where n == 2]', E3, { tiebreakerField: 'n' }), [3, 1]);
});

test('sequence: maxspan is inclusive, from the first event', () => {
  const E2 = [t(1, 1000, { s: 1 }), t(2, 1500, { s: 2 }), t(3, 2000, { s: 3 })];
  const q = (span: string) => `sequence with maxspan=${span} [process where s == 1] [process where s == 2] [process where s == 3]`;
  assert.equal(seq(q('1s'), E2), [1, 2, 3]);
  assert.equal(seq(q('999ms'), E2), []);
});

test('sequence: until drops pending sequences of its key; completed ones stay', () => {
  const E2 = [t(1, 1, { u: 1, s: 'a' }), t(2, 2, { u: 1, s: 'stop' }), t(3, 3, { u: 1, s: 'b' }), t(4, 4, { u: 2, s: 'a' }), t(5, 5, { u: 1, s: 'stop' }), t(6, 6, { u: 2, s: 'b' })];
  assert.equal(seq('sequence by u [process where s == "a"] [process where s == "b"] until [process where s == "stop"]', E2), [4, 6]);
});

test('sequence: runs expand to N steps; array join keys expand (cartesian); null keys only for optional keys', () => {
  const E2 = [t(1, 1, { k: 'x' }), t(2, 2, { k: 'x' }), t(3, 3, { k: 'x' })];
  assert.equal(seq('sequence [process where k == "x"] with runs=3', E2), [1, 2, 3]);
  const E3 = [t(1, 1, { a: ['p', 'q'], s: 1 }), t(2, 2, { a: 'q', s: 2 }), t(3, 3, { s: 1 }), t(4, 4, { s: 2 })];
  assert.equal(seq('sequence by a [process where s == 1] [process where s == 2]', E3), [1, 2]);
  assert.equal(seq('sequence by ?a [process where s == 1] [process where s == 2]', E3), [1, 2, 3, 4]);
  const { results } = matchEvents('sequence by ?a [process where s == 1] [process where s == 2]', E3);
  assert.equal(results.map((r) => r.keys), [['q'], [null]]);
});

test('sequence: per-step keys join positionally; missing events reject candidates', () => {
  const E2 = [t(1, 1, { pid: 7, s: 'a' }), t(2, 2, { ppid: 7, s: 'b' }), t(3, 3, { pid: 8, s: 'a' }), t(4, 4, { ppid: 9, s: 'b' })];
  assert.equal(seq('sequence [process where s == "a"] by pid [process where s == "b"] by ppid', E2), [1, 2]);
  const E3 = [t(1, 1, { s: 'a' }), t(2, 2, { s: 'm' }), t(3, 3, { s: 'b' }), t(4, 4, { s: 'a' }), t(5, 5, { s: 'b' })];
  assert.equal(seq('sequence with maxspan=1m [process where s == "a"] ![process where s == "m"] [process where s == "b"]', E3), [4, null, 5]);
});

test('sequence: without maxspan pending state is capped, with a warning', () => {
  const E2 = Array.from({ length: 50 }, (_, i) => t(i, i, { u: i, s: 'a' }));
  E2.push(t(100, 100, { u: 0, s: 'b' }), t(101, 101, { u: 49, s: 'b' }));
  const { results, diagnostics } = matchEvents('sequence by u [process where s == "a"] [process where s == "b"]', E2, { maxPending: 10 });
  assert.equal(results.map((r) => r.events.map((e) => e!.id)), [[49, 101]]);
  assert.ok(diagnostics.some((d) => d.code === 'EQL6002'));
});

test('head/tail keep the first/last N in order; size caps (tail by default, like result_position)', () => {
  const E2 = [t(1, 1, {}), t(2, 2, {}), t(3, 3, {}), t(4, 4, {})];
  assert.equal(seq('process where true | head 2', E2), [1, 2]);
  assert.equal(seq('process where true | tail 2', E2), [3, 4]);
  assert.equal(seq('process where true | head 3 | tail 2', E2), [2, 3]);
  assert.equal(seq('process where true', E2, { size: 1 }), [4]);
  assert.equal(seq('process where true', E2, { size: 1, resultPosition: 'head' }), [1]);
});

test('sample: one sample per key, distinct events per filter, sorted by key', () => {
  const E2 = [t(1, 1, { h: 'b', s: 1 }), t(2, 2, { h: 'a', s: 1 }), t(3, 3, { h: 'b', s: 2 }), t(4, 4, { h: 'a', s: 2 }), t(5, 5, { h: 'c', s: 1 })];
  assert.equal(seq('sample by h [process where s == 1] [process where s == 2]', E2), [2, 4, 1, 3]);
  const E3 = [t(1, 1, { h: 'a' }), t(2, 2, { h: 'a' })];
  assert.equal(seq('sample by h [process where true] [process where true]', E3), [1, 2]);
});

test.run();
