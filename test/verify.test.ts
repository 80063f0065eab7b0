// The verifier itself: a stand-in target whose "language" is EQL, interpreted by the native matcher, so
// any difference comes from a bug injected into the output text — which the verifier must catch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKENDS } from '../src/backends/index.js';
import { parseRuleText } from '../src/check.js';
import { printQuery } from '../src/ir/print.js';
import type { EventFilter, Query, Span } from '../src/ir/nodes.js';
import { compileFilter } from '../src/matcher/compile.js';
import { parseQuery } from '../src/parse.js';
import type { DiagCode } from '../src/diagnostics.js';
import type { Backend, Direction, TargetId } from '../src/translate/core.js';
import { INTERPRETERS, InterpreterError, referenceMatches, verifyPairs, verifyRules } from '../src/verify/index.js';
import { goldenCases } from './helpers/golden.js';

const FAKE = 'fake' as TargetId;
let mutate: (text: string) => string = (t) => t;
/** A declared approximation: its direction, on the span of the first occurrence of `at` in the query (else the whole query). */
let declare: { direction: Direction; at?: string; code?: DiagCode }[] = [];

const fakeBackend: Backend = {
  id: FAKE,
  title: 'EQL itself',
  extension: 'eql',
  variants: [{ name: 'default', options: {} }],
  emit(rule, ctx) {
    for (const d of declare) ctx.approximate(d.code ?? 'EQL3006', 'declared for the test', d.at ? spanOf(rule.text, d.at) : rule.query.span, d.direction);
    return mutate(printQuery(rule.query));
  },
};
(BACKENDS as Record<string, Backend>)[FAKE] = fakeBackend;
INTERPRETERS[FAKE] = {
  target: FAKE,
  parse(output) {
    const parsed = parseQuery(output);
    if (!parsed.query) throw new InterpreterError(parsed.diagnostics.map((d) => d.message).join('; '));
    return parsed.query;
  },
  fromEcs: (event) => event,
  fromVendor: (source, raw) => (source === 'test/source' ? raw : null),
  run(program, records) {
    const events = records.filter((r): r is Record<string, unknown> => r !== null);
    return { matches: referenceMatches(program as Query, events) };
  },
  // Each step's filter by the native matcher; `runs` repeats a step, as the tuple's positions do.
  stepAccepts(program, records) {
    const body = (program as Query).body;
    if (body.kind !== 'Sequence') return null;
    const filters = body.steps.flatMap((s) => new Array<EventFilter>(s.runs ?? 1).fill(s.filter)).map((f) => compileFilter(f, 'event.category', { diagnostics: [] }));
    return records.map((r) => filters.map((f) => r !== null && f(r as Record<string, unknown>)));
  },
};

function spanOf(text: string, at: string): Span {
  const offset = text.indexOf(at);
  assert.ok(offset >= 0, `${at} is in the query`);
  const pos = (o: number) => ({ offset: o, line: 1, column: o + 1 });
  return { start: pos(offset), end: pos(offset + at.length) };
}

const rule = (q: string) => parseRuleText('case.eql', q);
const verify = (q: string) => verifyRules(rule(q), { targets: [FAKE] });

test.before.each(() => {
  mutate = (t) => t;
  declare = [];
});

test('a faithful output agrees on every golden case (events from the generator)', () => {
  for (const c of goldenCases()) {
    const r = verifyRules([c.rule], { targets: [FAKE] });
    // The generator makes no event conversion-functions' function calls accept: nothing to compare, said so.
    if (c.name === 'conversion-functions') {
      assert.equal(r.results.map((x) => [x.verdict, x.notChecked]), [['not-checked', 'no-comparison']], c.name);
      continue;
    }
    assert.equal(r.results.map((x) => [x.verdict, x.bug]), [['agree', false]], c.name);
    assert.ok(r.results[0]!.events > 1, `${c.name} has probe events`);
  }
});

test('an injected case bug (== made case-insensitive) is caught on an exact translation', () => {
  mutate = (t) => t.replace('process.name == "cmd.exe"', 'process.name : "cmd.exe"');
  const r = verify('process where event.type == "start" and process.name == "cmd.exe"');
  const res = r.results[0]!;
  assert.is(res.verdict, 'disagree');
  assert.ok(res.bug);
  assert.is(r.exitCode, 1);
  assert.is(res.counterexample!.matched_by, 'target');
  assert.is((res.counterexample!.event as Record<string, unknown>)['process.name'], 'CMD.EXE');
});

test('an injected bug inside the second branch of an `or` is caught, though probes start from the first', () => {
  mutate = (t) => t.replace('process.name == "Y.exe"', 'process.name : "Y.exe"');
  const r = verify('any where (event.category == "file" and event.type == "deletion" and file.name : "x") or (event.category == "process" and event.type == "start" and process.name == "Y.exe")');
  assert.equal(r.results.map((x) => [x.status, x.verdict, x.bug]), [['exact', 'disagree', true]]);
});

test('a dropped NOT is caught', () => {
  mutate = (t) => t.replace('not ', '');
  const r = verify('process where event.type == "start" and not process.name : "svchost.exe"');
  assert.is(r.results[0]!.verdict, 'disagree');
  assert.ok(r.results[0]!.bug);
});

test('a difference in the declared direction is not a bug; in the other direction it is', () => {
  const q = 'process where event.type == "start" and process.name == "cmd.exe"';
  mutate = (t) => t.replace('process.name == "cmd.exe"', 'process.name : "cmd.exe"');
  declare = [{ direction: 'wider', at: 'process.name == "cmd.exe"' }];
  let r = verify(q);
  assert.equal([r.results[0]!.status, r.results[0]!.verdict, r.results[0]!.bug, r.exitCode], ['approximate', 'disagree', false, 0]);
  assert.ok(r.results[0]!.counterexample!.declared);
  declare = [{ direction: 'narrower', at: 'process.name == "cmd.exe"' }];
  r = verify(q);
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug, r.exitCode], ['disagree', true, 1]);
});

test('a widened condition is a bug when only another condition was declared wider', () => {
  const q = 'process where event.type == "start" and process.name == "cmd.exe" and process.args : "/c"';
  mutate = (t) => t.replace('process.name == "cmd.exe"', 'process.name : "cmd.exe"');
  declare = [{ direction: 'wider', at: 'process.args : "/c"' }];
  let r = verify(q);
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
  assert.is(r.results[0]!.counterexample!.declared, false);
  // The field alone is span enough: a declaration on `process.name` covers the atom that tests it.
  declare = [{ direction: 'wider', at: 'process.args : "/c"' }, { direction: 'different', at: 'process.name' }];
  r = verify(q);
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', false]);
});

test('a declaration on a negated condition explains a difference through the negation, in its direction', () => {
  // A case-insensitive test under `not` excludes more events: the rule is narrower.
  const q = 'process where event.type == "start" and not process.name == "svchost.exe"';
  mutate = (t) => t.replace('process.name == "svchost.exe"', 'process.name : "svchost.exe"');
  declare = [{ direction: 'narrower', at: 'process.name == "svchost.exe"' }];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', false]]);
  declare = [{ direction: 'wider', at: 'process.name == "svchost.exe"' }];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
});

test('a narrower declaration explains a missed event only where its condition decides the outcome', () => {
  // An event with process.name "CMD.EXE" matches through the first branch whatever process.pid == 4 is.
  const q = 'process where process.name : "cmd.exe" or process.pid == 4';
  mutate = (t) => t.replace('process.name : "cmd.exe"', 'process.name == "cmd.exe"');
  declare = [{ direction: 'narrower', at: 'process.pid == 4' }];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
  declare = [{ direction: 'narrower', at: 'process.name' }];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', false]]);
});

test('a declaration on the whole event query covers its event class, not every condition', () => {
  const q = 'process where event.type == "start" and process.name == "cmd.exe"';
  declare = [{ direction: 'wider' }];
  // The target's log source holds other categories and event types: declared.
  mutate = (t) => t.replace('process where event.type == "start" and\n ', 'any where');
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', false]]);
  // A widened process.name is not what a log source explains.
  mutate = (t) => t.replace('process.name == "cmd.exe"', 'process.name : "cmd.exe"');
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
  // A narrower log source may miss any event of the rule.
  declare = [{ direction: 'narrower' }];
  mutate = (t) => t.replace('process.name == "cmd.exe"', 'process.name == "cmd.exe" and process.pid == 4');
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', false]]);
});

test('a log-source declaration (EQL3004) on a classifying condition stands for the event class', () => {
  // The source takes its events by event.action as well: an event without event.type "start" gets in.
  const q = 'process where event.type == "start" and event.action == "exec" and process.name == "sh"';
  mutate = (t) => t.replace('event.type == "start" and\n ', '');
  declare = [{ direction: 'wider', at: 'event.action == "exec"' }];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
  declare = [{ direction: 'wider', at: 'event.action == "exec"', code: 'EQL3004' }];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', false]]);
  // It does not cover the rule's other conditions.
  mutate = (t) => t.replace('process.name == "sh"', 'process.name : "sh"');
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
});

test('sequences: a declaration inside one step covers that step only; one on maxspan covers the structure, not the steps', () => {
  const q = 'sequence by host.id with maxspan=1m [process where process.name == "a.exe"] [network where destination.port == 443 and process.name == "b.exe"]';
  mutate = (t) => t.replace('process.name == "b.exe"', 'process.name : "b.exe"');
  declare = [{ direction: 'wider', at: 'process.name == "a.exe"' }];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
  declare = [{ direction: 'wider', at: 'process.name == "b.exe"' }];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', false]]);
  // A structural widening explains tuples whose events pass their steps, not an event its step rejects.
  declare = [{ direction: 'wider', at: 'maxspan=1m' }];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
  mutate = (t) => t.replace('maxspan=1m', 'maxspan=2m');
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', false]]);
  declare = [];
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
});

test('sequences: a class-level narrowing on one step explains a miss there, not one caused by another step', () => {
  const q = 'sequence by host.id with maxspan=1m [process where event.type == "start" and process.name == "a.exe"] [network where event.type == "start" and destination.port == 443]';
  // The target's table for step 2 holds fewer events (a log-source declaration on the step's filter).
  declare = [{ direction: 'narrower', at: 'event.type == "start" and destination.port == 443', code: 'EQL3004' }];
  // Narrower only (the generated events have no pid or source port): step 1 now rejects every event.
  mutate = (t) => t.replace('process.name == "a.exe"', 'process.name == "a.exe" and process.pid == 0');
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
  mutate = (t) => t.replace('destination.port == 443', 'destination.port == 443 and source.port == 0');
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', false]]);
  // Every step accepting its event leaves the structure (here the time window): undeclared, so a bug.
  mutate = (t) => t.replace('maxspan=1m', 'maxspan=10s');
  assert.equal(verify(q).results.map((x) => [x.verdict, x.bug]), [['disagree', true]]);
});

test('a log-source declaration on one branch of an `or` covers that branch, not the others', () => {
  const q = 'any where (event.category == "file" and event.type == "deletion" and file.name : "x") or (event.category == "process" and event.type == "start" and process.name == "Y.exe")';
  // An event only the process branch accepts (the generated probes start from one that the file branch accepts).
  const userEvents = [{ '@timestamp': '2026-01-01T00:00:00.000Z', 'event.category': 'process', 'event.type': 'start', 'process.name': 'Y.exe' }];
  const run = () => verifyRules(rule(q), { targets: [FAKE], userEvents }).results.map((x) => [x.verdict, x.bug]);
  mutate = (t) => t.replace('process.name == "Y.exe"', 'process.name == "Z.exe"');
  declare = [{ direction: 'narrower', at: 'event.category == "file" and event.type == "deletion" and file.name : "x"', code: 'EQL3004' }];
  assert.equal(run(), [['disagree', true]]);
  // The same declaration does explain a miss in its own branch.
  mutate = (t) => t.replace('file.name : "x"', 'file.name : "w"');
  assert.equal(run(), [['disagree', false]]);
});

test('sequences: a changed maxspan is caught by the timing scenarios', () => {
  mutate = (t) => t.replace('maxspan=1m', 'maxspan=2m');
  const r = verify('sequence by host.id with maxspan=1m [process where process.name == "a.exe"] [network where destination.port == 443]');
  assert.is(r.results[0]!.verdict, 'disagree');
  assert.is(r.results[0]!.counterexample!.scenario, 'beyond maxspan');
});

test('an output that does not parse is a bug', () => {
  mutate = (t) => t + ' and (';
  const r = verify('process where process.name == "x"');
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
});

test('a rule the native matcher cannot run has no reference: not checked, never a bug', () => {
  const r = verify('process where process.name regex "a&b"');
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['not-checked', false]);
  assert.match(r.results[0]!.reason!, /native matcher cannot run/);
});

test('user events join the generated ones', () => {
  mutate = (t) => t.replace('"x"', '"y"');
  const r = verifyRules(rule('process where process.name == "x"'), { targets: [FAKE], userEvents: [{ '@timestamp': 1, 'event.category': 'process', 'process.name': 'y' }] });
  assert.ok(r.results[0]!.mismatches >= 2);
});

test('vendor pairs: matcher on the ECS side, interpreter on the raw side, no conversion between', () => {
  const ecs = { '@timestamp': '2026-01-01T00:00:00Z', event: { category: 'process' }, process: { name: 'cmd.exe' } };
  const rules = rule('process where process.name == "cmd.exe"');
  const same = verifyPairs(rules, [{ source: 'test/source', raw: { ...ecs }, ecs }], { targets: [FAKE] });
  assert.equal([same.results[0]!.verdict, same.results[0]!.events], ['agree', 1]);
  // The vendor stores the name in upper case: an exact translation must flag it.
  const upper = { ...ecs, process: { name: 'CMD.EXE' } };
  const bad = verifyPairs(rules, [{ source: 'test/source', raw: upper, ecs }], { targets: [FAKE] });
  assert.equal([bad.results[0]!.verdict, bad.results[0]!.bug, bad.results[0]!.counterexample!.matched_by], ['disagree', true, 'eql']);
  // Declared narrower, but on a condition that does not decide this event: still a bug.
  const two = rule('process where process.name == "cmd.exe" or process.pid == 4');
  declare = [{ direction: 'narrower', at: 'process.pid == 4' }];
  const other = verifyPairs(two, [{ source: 'test/source', raw: upper, ecs }], { targets: [FAKE] });
  assert.equal([other.results[0]!.verdict, other.results[0]!.bug], ['disagree', true]);
  declare = [{ direction: 'narrower', at: 'process.name == "cmd.exe"' }];
  const own = verifyPairs(two, [{ source: 'test/source', raw: upper, ecs }], { targets: [FAKE] });
  assert.equal([own.results[0]!.verdict, own.results[0]!.bug], ['disagree', false]);
  const unread = verifyPairs(rules, [{ source: 'other/source', raw: ecs, ecs }], { targets: [FAKE] });
  assert.is(unread.results[0]!.verdict, 'not-checked');
});

test.run();
