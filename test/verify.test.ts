// The verifier itself: a stand-in target whose "language" is EQL, interpreted by the native matcher, so
// any difference comes from a bug injected into the output text — which the verifier must catch.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKENDS } from '../src/backends/index.js';
import { parseRuleText } from '../src/check.js';
import { printQuery } from '../src/ir/print.js';
import type { Query } from '../src/ir/nodes.js';
import { parseQuery } from '../src/parse.js';
import type { Backend, Direction, TargetId } from '../src/translate/core.js';
import { INTERPRETERS, InterpreterError, referenceMatches, verifyPairs, verifyRules } from '../src/verify/index.js';
import { goldenCases } from './helpers/golden.js';

const FAKE = 'fake' as TargetId;
let mutate: (text: string) => string = (t) => t;
let declare: Direction | null = null;

const fakeBackend: Backend = {
  id: FAKE,
  title: 'EQL itself',
  extension: 'eql',
  variants: [{ name: 'default', options: {} }],
  emit(rule, ctx) {
    if (declare) ctx.approximate('EQL3006', 'declared for the test', rule.query.span, declare);
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
};

const rule = (q: string) => parseRuleText('case.eql', q);
const verify = (q: string) => verifyRules(rule(q), { targets: [FAKE] });

test.before.each(() => {
  mutate = (t) => t;
  declare = null;
});

test('a faithful output agrees on every golden case (events from the generator)', () => {
  for (const c of goldenCases()) {
    const r = verifyRules([c.rule], { targets: [FAKE] });
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

test('a dropped NOT is caught', () => {
  mutate = (t) => t.replace('not ', '');
  const r = verify('process where event.type == "start" and not process.name : "svchost.exe"');
  assert.is(r.results[0]!.verdict, 'disagree');
  assert.ok(r.results[0]!.bug);
});

test('a difference in the declared direction is not a bug; in the other direction it is', () => {
  const q = 'process where event.type == "start" and process.name == "cmd.exe"';
  mutate = (t) => t.replace('process.name == "cmd.exe"', 'process.name : "cmd.exe"');
  declare = 'wider';
  let r = verify(q);
  assert.equal([r.results[0]!.status, r.results[0]!.verdict, r.results[0]!.bug, r.exitCode], ['approximate', 'disagree', false, 0]);
  assert.ok(r.results[0]!.counterexample!.declared);
  declare = 'narrower';
  r = verify(q);
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug, r.exitCode], ['disagree', true, 1]);
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
  const unread = verifyPairs(rules, [{ source: 'other/source', raw: ecs, ecs }], { targets: [FAKE] });
  assert.is(unread.results[0]!.verdict, 'not-checked');
});

test.run();
