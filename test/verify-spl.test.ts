// The SPL interpreter's step report for sequences (a `transaction` over the step number an `eval case()`
// gives each event) and the verifier's use of it: SPL declares every sequence as structurally different
// (EQL3304), which excuses a miss only where no step's own conditions rejected its event.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRuleText } from '../src/check.js';
import { translateRule } from '../src/translate/index.js';
import { loadMapping } from '../src/translate/mapping.js';
import { Unrepresentable, verifyRules } from '../src/verify/index.js';
import { splInterpreter } from '../src/verify/spl.js';
import type { EcsEvent } from '../src/verify/generate.js';
import { withMutatedOutput } from './helpers/mutate.js';

// No step-level declaration (the OS and event type the Sysmon source holds are in each filter), so only the
// structural EQL3304 (and the host key's) could excuse a miss.
const OVERLAP = 'sequence by host.id with maxspan=1m [process where host.os.type == "windows" and event.type == "start" and process.name == "a.exe"] [process where host.os.type == "windows" and event.type == "start" and process.name : "a*"]';

const withMutation = <T>(mutate: (text: string) => string, f: () => T): T => withMutatedOutput('spl', mutate, f);

const start = (name: string, second: number): EcsEvent => ({
  '@timestamp': `2026-01-01T00:00:0${second}.000Z`,
  'event.category': 'process',
  'event.type': 'start',
  'host.os.type': 'windows',
  'host.id': 'h1',
  'process.name': name,
  'process.executable': `C:\\Windows\\${name}`,
});

test('stepAccepts reports every step whose conditions accept an event, not only the first one case() assigns', () => {
  const rule = parseRuleText('seq.eql', OVERLAP)[0]!;
  const t = translateRule({ query: rule.query!, meta: rule.source.meta, text: rule.source.query, path: rule.source.path }, 'spl');
  assert.match(t.output!, /eqlport_step=case\(/);
  const ctx = { mapping: loadMapping('spl'), options: {}, ruleFields: new Set(['process.name', 'process.executable']) };
  const program = splInterpreter.parse(t.output!, ctx as never);
  const records = [start('a.exe', 1), start('ab.exe', 2), start('b.exe', 3)].map((e) => splInterpreter.fromEcs(e, ctx as never) as never);
  // a.exe fits both steps (case() tags it 1); ab.exe only the second; b.exe neither.
  assert.equal(splInterpreter.stepAccepts!(program, records, ctx as never), [
    [true, true],
    [false, true],
    [false, false],
  ]);
});

test('an event fitting two steps is the declared transaction behaviour: a miss, no bug', () => {
  const rule = parseRuleText('seq.eql', OVERLAP);
  // The rule pairs the two a.exe events; the transaction tags both as step 1 and never closes.
  const r = verifyRules(rule, { targets: ['spl'], userEvents: [start('a.exe', 1), start('a.exe', 2)] }).results[0]!;
  assert.is(r.status, 'approximate');
  assert.is(r.bug, false, `${r.reason ?? ''} ${JSON.stringify(r.counterexample)}`);
  assert.ok(r.mismatches >= 1, 'the overlapping pair is a miss');
});

test('the honest output of a sequence has no bug; a changed literal in a step condition is one', () => {
  const rule = parseRuleText('seq.eql', 'sequence by host.id with maxspan=1m [process where host.os.type == "windows" and event.type == "start" and process.name == "a.exe"] [network where host.os.type == "windows" and event.type == "start" and destination.port == 443]');
  const honest = verifyRules(rule, { targets: ['spl'] }).results[0]!;
  assert.equal([honest.status, honest.verdict, honest.bug], ['approximate', 'agree', false]);
  // Step 1's case() condition looks for b.exe: every a.exe event is left without a step.
  const step1 = withMutation((t) => t.replace(String.raw`\\\\a\\.exe`, String.raw`\\\\b\\.exe`), () => verifyRules(rule, { targets: ['spl'] })).results[0]!;
  assert.equal([step1.verdict, step1.bug, step1.counterexample!.matched_by], ['disagree', true, 'eql']);
  // Step 2's port, likewise.
  const step2 = withMutation((t) => t.replace('==443', '==444'), () => verifyRules(rule, { targets: ['spl'] })).results[0]!;
  assert.equal([step2.verdict, step2.bug], ['disagree', true]);
});

test('an event.action in another case than the one spelling Elastic writes is no event SPL could hold', () => {
  // lookup_requested is a value a Windows source holds (DNS); LOOKUP_REQUESTED is no event any source produces,
  // whichever class would otherwise take it.
  const ctx = { mapping: loadMapping('spl'), options: {} };
  const ev = (action: string): EcsEvent => ({ '@timestamp': '2026-01-01T00:00:00.000Z', 'event.category': 'network', 'host.os.type': 'windows', 'event.action': action });
  assert.ok(splInterpreter.fromEcs(ev('LOOKUP_REQUESTED'), ctx) instanceof Unrepresentable);
  assert.not.ok(splInterpreter.fromEcs(ev('lookup_requested'), ctx) instanceof Unrepresentable);
});

test('an event the source took by its event.action but with another event.type is no event Elastic writes', () => {
  // Sysmon for Linux process creations hold event.type start; an exec probe typed "star" (or untyped) is impossible.
  const ctx = { mapping: loadMapping('spl'), options: {}, ruleFields: new Set(['event.type', 'event.action']) };
  const ev = (type?: string): EcsEvent => ({ '@timestamp': '2026-01-01T00:00:00.000Z', 'event.category': 'process', 'host.os.type': 'linux', 'event.action': 'exec', 'process.name': 'cat', ...(type === undefined ? {} : { 'event.type': type }) });
  assert.ok(splInterpreter.fromEcs(ev('star'), ctx) instanceof Unrepresentable);
  assert.ok(splInterpreter.fromEcs(ev(), ctx) instanceof Unrepresentable);
  assert.not.ok(splInterpreter.fromEcs(ev('start'), ctx) instanceof Unrepresentable);
});

test.run();
