// The Sigma interpreter of the verifier: its own semantics on hand-written rules (expected values reasoned
// from the Sigma specification, ../shared/research/target-syntax.md §2), then the verifier over every golden
// case, an injected emitter bug, and the Sysmon vendor pairs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKENDS } from '../src/backends/index.js';
import { loadRules, parseRuleText } from '../src/check.js';
import { loadMapping } from '../src/translate/mapping.js';
import { INTERPRETERS, InterpreterError, Unrepresentable, verifyPairs, verifyRules, type VendorPair } from '../src/verify/index.js';
import { ecsToSigma, parseSigma, parseSigmaString, ruleMatches, windowsCommandLine, type SigmaRecord } from '../src/verify/sigma.js';
import { goldenCases } from './helpers/golden.js';
import { shared } from './helpers/shared.js';

const rec = (fields: Record<string, string | number | (string | number)[]>, logsource: Record<string, string> = { category: 'process_creation', product: 'windows' }): SigmaRecord => ({
  fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
  logsources: [logsource],
  time: 0,
});

/** A one-rule document with the given detection lines (indented under `detection:`). */
const rule = (detection: string, logsource = 'category: process_creation') => {
  const p = parseSigma(`title: t\nlogsource:\n    ${logsource}\ndetection:\n${detection}\n`);
  if (p.kind !== 'rules' || p.rules.length !== 1) throw new Error('not one rule');
  return p.rules[0]!;
};
const matches = (detection: string, fields: Parameters<typeof rec>[0]) => ruleMatches(rule(detection), rec(fields));

test('Sigma strings: wildcards, and backslash escapes only before *, ? and \\', () => {
  assert.equal(parseSigmaString('C:\\Windows\\*'), [{ lit: 'C:\\Windows*' }]);
  assert.equal(parseSigmaString('C:\\Windows\\\\*'), [{ lit: 'C:\\Windows\\' }, { wild: '*' }]);
  assert.equal(parseSigmaString('\\\\\\server'), [{ lit: '\\\\server' }]);
  assert.equal(parseSigmaString('abc\\'), [{ lit: 'abc\\' }]);
  assert.equal(parseSigmaString('a\\?b?'), [{ lit: 'a?b' }, { wild: '?' }]);
  const sel = (v: string) => `    selection:\n        Image: '${v}'\n    condition: selection`;
  assert.ok(matches(sel('C:\\Temp\\\\*'), { Image: 'C:\\Temp\\x.exe' }));
  assert.not.ok(matches(sel('C:\\Temp\\*'), { Image: 'C:\\Temp\\x.exe' }), '\\* is a literal star');
  assert.ok(matches(sel('C:\\Temp\\*'), { Image: 'C:\\Temp*' }));
  assert.ok(matches(sel('a?c'), { Image: 'abc' }));
  assert.not.ok(matches(sel('a?c'), { Image: 'ac' }), '? is exactly one character');
  assert.not.ok(matches(sel('a?c'), { Image: 'abbc' }));
  assert.ok(matches(sel('a.c'), { Image: 'a.c' }));
  assert.not.ok(matches(sel('a.c'), { Image: 'abc' }), 'regex characters are literal');
});

test('case: insensitive by default, |cased is exact; lists OR, |all ANDs', () => {
  assert.ok(matches(`    selection:\n        Image|endswith: '\\CMD.exe'\n    condition: selection`, { Image: 'C:\\x\\cmd.EXE' }));
  assert.not.ok(matches(`    selection:\n        Image|endswith|cased: '\\CMD.exe'\n    condition: selection`, { Image: 'C:\\x\\cmd.EXE' }));
  assert.ok(matches(`    selection:\n        Image|endswith|cased: '\\cmd.EXE'\n    condition: selection`, { Image: 'C:\\x\\cmd.EXE' }));
  assert.ok(matches(`    selection:\n        Image: 'ÄB'\n    condition: selection`, { Image: 'äb' }), 'non-ASCII folds too');
  const list = `    selection:\n        CommandLine|contains:\n            - '-a'\n            - '-b'\n    condition: selection`;
  assert.ok(matches(list, { CommandLine: 'x -b' }));
  const all = `    selection:\n        CommandLine|contains|all:\n            - '-a'\n            - '-b'\n    condition: selection`;
  assert.not.ok(matches(all, { CommandLine: 'x -b' }));
  assert.ok(matches(all, { CommandLine: '-b -a' }));
  assert.ok(matches(`    selection:\n        CommandLine|startswith: 'ab'\n    condition: selection`, { CommandLine: 'abc' }));
  assert.not.ok(matches(`    selection:\n        CommandLine|startswith: 'ab'\n    condition: selection`, { CommandLine: 'cab' }));
  assert.ok(matches(`    selection:\n        CommandLine|windash|contains: ' -enc'\n    condition: selection`, { CommandLine: 'p /enc' }));
});

test('missing fields, null, exists, numbers, regex and CIDR', () => {
  const sel = (line: string) => `    selection:\n        ${line}\n    condition: selection`;
  assert.not.ok(matches(sel("Image: '*'"), {}), 'a selection on a missing field does not match');
  assert.ok(matches(`${sel("Image: 'a'")}`.replace('condition: selection', 'condition: not selection'), {}), 'not is a plain complement');
  assert.ok(matches(sel('Image: null'), {}));
  assert.not.ok(matches(sel('Image: null'), { Image: 'a' }));
  assert.ok(matches(sel('Image|exists: true'), { Image: 'a' }));
  assert.ok(matches(sel('Image|exists: false'), {}));
  assert.ok(matches(sel('DestinationPort: 443'), { DestinationPort: '443' }));
  assert.ok(matches(sel('DestinationPort|gte: 1024'), { DestinationPort: 1024 }));
  assert.not.ok(matches(sel('DestinationPort|gt: 1024'), { DestinationPort: 1024 }));
  assert.not.ok(matches(sel('DestinationPort|lt: 1024'), { DestinationPort: 'abc' }));
  assert.ok(matches(sel("CommandLine|re: 'a.c'"), { CommandLine: 'xabcx' }), 're searches');
  assert.not.ok(matches(sel("CommandLine|re: '^a.c$'"), { CommandLine: 'ABC' }), 're is case-sensitive');
  assert.ok(matches(sel("CommandLine|re|i: '^a.c$'"), { CommandLine: 'ABC' }));
  assert.ok(matches(sel("DestinationIp|cidr: '10.0.0.0/8'"), { DestinationIp: '10.255.255.255' }));
  assert.not.ok(matches(sel("DestinationIp|cidr: '10.0.0.0/8'"), { DestinationIp: '11.0.0.0' }));
  assert.ok(matches(sel("DestinationIp|cidr: 'fe80::/10'"), { DestinationIp: 'febf::1' }));
  assert.not.ok(matches(sel("DestinationIp|cidr: 'fe80::/10'"), { DestinationIp: 'fec0::1' }));
  assert.not.ok(matches(sel("DestinationIp|cidr: '0.0.0.0/0'"), { DestinationIp: '::1' }), 'v4 and v6 never mix');
  assert.ok(matches(sel("Image: 'b'"), { Image: ['a', 'b'] }), 'a multi-valued field matches on any value');
});

test('conditions: precedence (or < and < not), parentheses, 1 of / all of / them', () => {
  const d = (cond: string) => `    a:\n        Image: 'a'\n    b:\n        User: 'b'\n    _c:\n        Company: 'c'\n    condition: ${cond}`;
  const r = { Image: 'a', Company: 'c' };
  assert.ok(matches(d('a or b and not a'), r), 'and binds tighter than or');
  assert.not.ok(matches(d('(a or b) and not a'), r));
  assert.ok(matches(d('not b and a'), r), 'not binds tighter than and');
  assert.ok(matches(d('1 of them'), r));
  assert.not.ok(matches(d('all of them'), r));
  assert.ok(matches(d('all of them'), { Image: 'a', User: 'b' }), 'them leaves out _c');
  assert.ok(matches(d('all of _*'), r));
  assert.not.ok(matches(d('not 1 of a*'), r));
  assert.not.ok(ruleMatches(rule(d('a'), 'category: file_event'), rec(r)), "a rule reads only its log source's records");
  assert.throws(() => rule(d('a and missing')), (e: unknown) => e instanceof InterpreterError);
  assert.throws(() => rule(d('a and (b')), (e: unknown) => e instanceof InterpreterError);
  assert.throws(() => rule(`    a:\n        Image|base65: 'a'\n    condition: a`), (e: unknown) => e instanceof InterpreterError);
});

test('ECS → Sigma records follow mappings/sigma.yaml and show what the target cannot store', () => {
  const m = loadMapping('sigma');
  const r = ecsToSigma({ 'event.category': 'process', 'event.type': 'start', 'host.os.type': 'windows', 'process.executable': 'C:\\x\\a.exe', 'process.args': ['a.exe', 'b c', 'd"e'], 'host.name': 'h1', 'process.pid': '42' }, m) as SigmaRecord;
  assert.equal(r.fields.Image, ['C:\\x\\a.exe']);
  assert.equal(r.fields.CommandLine, ['a.exe "b c" "d\\"e"'], 'argv quoted as CommandLineToArgvW reads it');
  assert.equal(r.fields.Computer, ['h1']);
  assert.equal(r.fields.ProcessId, [42]);
  assert.ok(r.logsources.some((l) => l.category === 'process_creation' && l.product === 'windows'));
  assert.equal(windowsCommandLine(['a\\b\\', 'x y\\']), 'a\\b\\ "x y\\\\"');
  // A registry set event is also found under registry_event; long hive names are stored short.
  const reg = ecsToSigma({ 'event.category': 'registry', 'event.type': 'change', 'registry.path': 'HKEY_LOCAL_MACHINE\\Software\\x', 'registry.data.strings': '1' }, m) as SigmaRecord;
  assert.equal(reg.fields.TargetObject, ['HKLM\\Software\\x']);
  assert.equal(reg.fields.Details, ['DWORD (0x00000001)']);
  assert.equal(reg.logsources.map((l) => l.category), ['registry_set', 'registry_event']);
  // A name that is not the path's last segment cannot be stored.
  assert.instance(ecsToSigma({ 'event.category': 'process', 'event.type': 'start', 'process.executable': 'C:\\x\\a.exe', 'process.name': 'b.exe' }, m), Unrepresentable);
  assert.is(ecsToSigma({ 'event.category': 'other' }, m), null);
  // A `.*` mapping covers every field under it, flat or nested; the longer prefix wins.
  const k8s = ecsToSigma({ 'data_stream.dataset': 'kubernetes.audit_logs', kubernetes: { audit: { verb: 'delete', objectRef: { resource: 'pods' } } }, 'kubernetes.audit.annotations.a_b': 'x' }, m) as SigmaRecord;
  assert.equal(k8s.fields.verb, ['delete']);
  assert.equal(k8s.fields['objectRef.resource'], ['pods']);
  assert.equal(k8s.fields['annotations.a_b'], ['x']);
  // Elastic leaves some Security event ids without a category; the log still holds them (an `any where` rule reads them).
  const sec = ecsToSigma({ 'host.os.type': 'windows', 'event.code': '5137', 'winlog.event_data.ObjectDN': 'DC=*,x' }, m) as SigmaRecord;
  assert.equal(sec.fields.EventID, [5137]);
  assert.equal(sec.fields.ObjectDN, ['DC=*,x']);
  // Elastic's names of Security event ids and logon types are stored as the log's numbers.
  const logon = ecsToSigma({ 'event.category': 'authentication', 'host.os.type': 'windows', 'event.action': 'logged-in', 'winlog.logon.type': 'Network' }, m) as SigmaRecord;
  assert.equal(logon.fields.EventID, [4624]);
  assert.equal(logon.fields.LogonType, [3]);
  // argv is split from the command line: a rule reading both cannot see an event with argv alone.
  const argv = { 'event.category': 'process', 'event.type': 'start', 'process.args': ['a', 'b'] };
  assert.instance(ecsToSigma(argv, m, new Set(['process.args', 'process.command_line'])), Unrepresentable);
  assert.equal((ecsToSigma(argv, m, new Set(['process.args'])) as SigmaRecord).fields.CommandLine, ['a b']);
  // A name without the path it is the last segment of cannot exist when the rule reads the path.
  const named = { 'event.category': 'process', 'event.type': 'start', 'process.name': 'route.exe' };
  assert.instance(ecsToSigma(named, m, new Set(['process.name', 'process.executable'])), Unrepresentable);
  assert.equal((ecsToSigma(named, m, new Set(['process.name'])) as SigmaRecord).fields.Image, ['Z:\\eqlport\\route.exe']);
  // GitHub's category is grokked from the action: without a matching action the event cannot exist.
  const gh = { 'event.category': 'configuration', 'data_stream.dataset': 'github.audit' };
  assert.instance(ecsToSigma({ ...gh, 'github.category': 'repo' }, m), Unrepresentable);
  assert.instance(ecsToSigma({ ...gh, 'github.category': 'repo', 'event.action': 'org.add_member' }, m), Unrepresentable);
  assert.equal((ecsToSigma({ ...gh, 'github.category': 'org', 'event.action': 'org.add_member' }, m) as SigmaRecord).fields.action, ['org.add_member']);
  assert.is(ecsToSigma({ ...gh, 'event.category': 'process', 'event.action': 'org.add_member' }, m), null, 'no GitHub record is a process event');
  // Elastic fills dll.path and file.path from one ImageLoaded (vendor pair, Sysmon EID 7): only one of them cannot exist.
  const load = { 'event.category': 'library', 'host.os.type': 'windows', 'file.path': 'C:\\x\\a.dll' };
  assert.instance(ecsToSigma(load, m, new Set(['dll.path', 'file.path'])), Unrepresentable);
  assert.equal((ecsToSigma(load, m, new Set(['file.path'])) as SigmaRecord).fields.ImageLoaded, ['C:\\x\\a.dll']);
  // Every Sysmon process start has an Image, so ECS always has process.executable when the rule reads it.
  const start = { 'event.category': 'process', 'event.type': 'start', 'host.os.type': 'windows', 'process.command_line': 'x' };
  assert.instance(ecsToSigma(start, m, new Set(['process.executable'])), Unrepresentable);
  assert.equal((ecsToSigma(start, m, new Set(['process.command_line'])) as SigmaRecord).fields.Image, ['eqlport-synthetic']);
  // Elastic's Windows Security script writes its actions in lowercase; another spelling comes from no such log.
  assert.instance(ecsToSigma({ 'host.os.type': 'windows', 'event.action': 'SERVICE-INSTALLED' }, m), Unrepresentable);
  assert.equal((ecsToSigma({ 'host.os.type': 'windows', 'event.action': 'service-installed' }, m) as SigmaRecord).fields.EventID, [4697]);
});

// ---- the verifier with the real backend --------------------------------------------------------

test('every golden case verifies against the Sigma interpreter without a bug', () => {
  let agree = 0;
  for (const c of goldenCases()) {
    const r = verifyRules([c.rule], { targets: ['sigma'] });
    const res = r.results[0]!;
    assert.not.ok(res.bug, `${c.name}: ${res.reason ?? ''} ${JSON.stringify(res.counterexample)}`);
    if (res.verdict === 'agree') agree++;
  }
  assert.ok(agree >= 20, `${agree} golden cases agree`);
  assert.ok(INTERPRETERS.sigma, 'registered by importing src/verify/index.js');
});

const sigma = BACKENDS.sigma!;
const emit = sigma.emit;
const withMutation = (mutate: (s: string) => string, fn: () => void) => {
  sigma.emit = (r, ctx) => mutate(emit(r, ctx));
  try {
    fn();
  } finally {
    sigma.emit = emit;
  }
};
const verifyOne = (q: string) => verifyRules(parseRuleText('case.eql', q), { targets: ['sigma'] }).results[0]!;

test('injected emitter bugs are caught: a dropped not, a stripped |cased', () => {
  const q = 'process where event.type == "start" and process.executable : "C:\\\\x\\\\a.exe" and not process.command_line : "*-safe*"';
  assert.is(verifyOne(q).verdict, 'agree');
  withMutation(
    (s) => s.replace('and not filter', 'and filter'),
    () => {
      const r = verifyOne(q);
      assert.equal([r.verdict, r.bug], ['disagree', true]);
    },
  );
  const cased = 'process where event.type == "start" and process.executable == "C:\\\\x\\\\a.exe"';
  assert.is(verifyOne(cased).verdict, 'agree');
  withMutation(
    (s) => s.replace('|cased', ''),
    () => {
      const r = verifyOne(cased);
      assert.equal([r.verdict, r.bug, r.counterexample!.matched_by], ['disagree', true, 'target']);
    },
  );
  // A broken escape: a literal star (`\\\*`) left as `\\*` becomes a wildcard.
  const star = 'process where event.type == "start" and process.executable == "C:\\\\x\\\\*"';
  assert.is(verifyOne(star).verdict, 'agree');
  withMutation(
    (s) => s.replace("'C:\\x\\\\\\*'", "'C:\\x\\\\*'"),
    () => assert.equal([verifyOne(star).bug, verifyOne(star).counterexample?.matched_by], [true, 'target']),
  );
});

// ---- Sysmon vendor pairs -----------------------------------------------------------------------

const pairsFile = shared('vendor-pairs', 'sysmon_operational.ndjson');
const corpus = shared('corpus');
if (pairsFile && corpus) {
  test('vendor pairs: every corpus rule on the Sysmon events has no undeclared disagreement', () => {
    const pairs = readFileSync(pairsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as VendorPair);
    const { rules } = loadRules([join(corpus, 'rules'), join(corpus, 'rules_building_block')]);
    const r = verifyPairs(rules, pairs, { targets: ['sigma'] });
    const bugs = r.results.filter((x) => x.bug).map((x) => `${x.path}: ${x.reason ?? JSON.stringify(x.counterexample)}`);
    assert.equal(bugs, []);
    assert.ok(r.summary.sigma!.agree > 400, JSON.stringify(r.summary));
    // The raw side is read: the process-creation pair is found under its Sysmon log source.
    const one = INTERPRETERS.sigma!.fromVendor!(pairs[0]!.source, pairs[0]!.raw, { mapping: loadMapping('sigma'), options: {} }) as SigmaRecord;
    assert.equal(one.fields.Image, ['C:\\Windows\\Sysmon.exe']);
    assert.ok(one.logsources.some((l) => l.category === 'process_creation'));
  });
}

test.run();
