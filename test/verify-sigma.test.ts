// The Sigma interpreter of the verifier: its own semantics on hand-written rules (expected values reasoned
// from the Sigma specification, ../shared/research/target-syntax.md §2), then the verifier over every golden
// case, an injected emitter bug, and the Sysmon vendor pairs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRules, parseRuleText } from '../src/check.js';
import { loadMapping } from '../src/translate/mapping.js';
import { INTERPRETERS, InterpreterError, Unrepresentable, verifyPairs, verifyRules, type VendorPair } from '../src/verify/index.js';
import { ecsToSigma, parseSigma, parseSigmaString, ruleMatches, windowsCommandLine, type SigmaRecord } from '../src/verify/sigma.js';
import { goldenCases } from './helpers/golden.js';
import { shared } from './helpers/shared.js';
import { withMutatedOutput } from './helpers/mutate.js';

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
  const reg = ecsToSigma({ 'event.category': 'registry', 'event.type': 'change', 'host.os.type': 'windows', 'registry.path': 'HKEY_LOCAL_MACHINE\\Software\\x', 'registry.data.strings': '1' }, m) as SigmaRecord;
  // The registry sources are Windows logs (product: windows): an event of another OS is in none of them.
  assert.is(ecsToSigma({ 'event.category': 'registry', 'event.type': 'change', 'host.os.type': 'linux', 'registry.path': 'HKLM\\x' }, m), null);
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
  // A Linux audit account record: the action is its type, result its res; the global Sysmon names are not its keys.
  const acct = ecsToSigma({ 'event.category': 'iam', 'host.os.type': 'linux', 'event.action': 'added-group-account-to', 'auditd.result': 'fail', 'process.name': 'groupadd', 'process.command_line': 'groupadd x' }, m) as SigmaRecord;
  assert.equal([acct.fields.type, acct.fields.res, acct.fields.comm, acct.fields.CommandLine], [['ADD_GROUP'], ['failed'], ['groupadd'], undefined]);
  assert.equal(acct.logsources, [{ product: 'linux', service: 'auditd' }]);
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

// ---- correlations (Sigma correlation rules specification v2.0.x, TS §2.5) ----------------------

/** A base rule matching process records whose Image ends with `suffix`. */
const base = (name: string, suffix: string) =>
  `---\ntitle: ${name}\nname: ${name}\nlogsource:\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '${suffix}'\n    condition: sel\n`;
const BASES: Record<string, string> = { a: '\\a.exe', b: '\\b.exe', exe: '.exe' };
/** A correlation over base rules named from BASES, grouped by Computer within 1m unless `body` says otherwise. */
const correlation = (type: string, rules = ['a', 'b'], body = '    group-by:\n        - Computer\n    timespan: 1m\n') =>
  parseSigma(`title: c\ncorrelation:\n    type: ${type}\n    rules:\n${rules.map((r) => `        - ${r}\n`).join('')}${body}` + Object.entries(BASES).map(([n, s]) => base(n, s)).join(''));
/** A process record of `image` on `host` at `seconds`. */
const at = (image: string, host: string, seconds: number, more: Record<string, string | number> = {}): SigmaRecord => ({
  ...rec({ Image: `C:\\x\\${image}`, Computer: host, ...more }),
  time: seconds * 1000,
});
const run = (p: ReturnType<typeof parseSigma>, records: (SigmaRecord | null)[]) => INTERPRETERS.sigma!.run(p, records, { mapping: loadMapping('sigma'), options: {} });
const alerts = (p: ReturnType<typeof parseSigma>, records: (SigmaRecord | null)[]) => {
  const r = run(p, records);
  if ('notChecked' in r) throw new Error(r.notChecked);
  return r.matches.map((t) => t.join(',')).sort();
};

test('temporal_ordered: in order, within the timespan, in one group', () => {
  const p = correlation('temporal_ordered');
  assert.equal(alerts(p, [at('a.exe', 'h1', 0), at('b.exe', 'h1', 30)]), ['0,1'], 'a then b');
  assert.equal(alerts(p, [at('b.exe', 'h1', 0), at('a.exe', 'h1', 30)]), [], 'b then a is out of order');
  assert.equal(alerts(p, [at('a.exe', 'h1', 0), at('b.exe', 'h1', 60)]), ['0,1'], 'exactly 1m apart is inside a 1m frame');
  assert.equal(alerts(p, [at('a.exe', 'h1', 0), { ...at('b.exe', 'h1', 60), time: 60_001 }]), [], '1 ms more is outside');
  assert.equal(alerts(p, [at('a.exe', 'h1', 0), at('b.exe', 'h2', 30)]), [], 'another Computer is another group');
  assert.equal(alerts(p, [at('a.exe', 'h1', 0), rec({ Image: 'C:\\x\\b.exe' }), null]), [], 'a record without the group-by field is in no group');
  // b alone first on h1; a, b on h2; then a, b, b on h1: one alert per group, its earliest events.
  const mixed = [at('b.exe', 'h1', 0), at('a.exe', 'h2', 1), at('a.exe', 'h1', 2), at('b.exe', 'h2', 3), at('b.exe', 'h1', 4), at('b.exe', 'h1', 5)];
  assert.equal(alerts(p, mixed), ['1,3', '2,4']);
  // A late start within the frame still counts: a@0 is too early for b@70, a@20 is not.
  assert.equal(alerts(p, [at('a.exe', 'h1', 0), at('a.exe', 'h1', 20), at('b.exe', 'h1', 70)]), ['1,2']);
  // An event matching both rules is one event: it does not appear before itself.
  const overlap = correlation('temporal_ordered', ['a', 'exe']);
  assert.equal(alerts(overlap, [at('a.exe', 'h1', 0)]), []);
  assert.equal(alerts(overlap, [at('a.exe', 'h1', 0), at('a.exe', 'h1', 1)]), ['0,1']);
});

test('temporal (a sample): every rule within the timespan in any order; one event counts for each rule it matches', () => {
  const p = correlation('temporal');
  // The alert's events are listed in the rules' order, as a sample lists its filters' events.
  assert.equal(alerts(p, [at('b.exe', 'h1', 0), at('a.exe', 'h1', 30)]), ['1,0'], 'any order');
  assert.equal(alerts(p, [at('b.exe', 'h1', 0), at('a.exe', 'h1', 61)]), [], 'outside the timespan');
  assert.equal(alerts(p, [at('b.exe', 'h1', 0), at('a.exe', 'h2', 1)]), [], 'two groups');
  assert.equal(alerts(p, [at('a.exe', 'h1', 0), at('a.exe', 'h1', 1)]), [], 'b never matched');
  // "the count of different event types (Sigma rules matching)": a.exe is both an `a` and an `exe` event.
  assert.equal(alerts(correlation('temporal', ['a', 'exe']), [at('a.exe', 'h1', 0)]), ['0']);
  // A condition counts rules.
  const atLeast = (n: number) => correlation('temporal', ['a', 'b', 'exe'], `    group-by:\n        - Computer\n    timespan: 1m\n    condition:\n        gte: ${n}\n`);
  assert.equal(alerts(atLeast(2), [at('b.exe', 'h1', 0)]), ['0'], 'b.exe is a `b` and an `exe` event: two rules');
  assert.equal(alerts(atLeast(3), [at('b.exe', 'h1', 0)]), [], 'no `a` event');
  assert.equal(alerts(atLeast(3), [at('b.exe', 'h1', 0), at('a.exe', 'h1', 5)]), ['1,0'], 'a: a.exe; b and exe: b.exe');
});

test('event_count, aliases, and the group a tuple is compared by', () => {
  const count = correlation('event_count', ['a'], '    group-by:\n        - Computer\n    timespan: 1m\n    condition:\n        gte: 3\n');
  assert.equal(alerts(count, [at('a.exe', 'h1', 0), at('a.exe', 'h1', 10), at('a.exe', 'h1', 60)]), ['0,1,2']);
  assert.equal(alerts(count, [at('a.exe', 'h1', 0), at('a.exe', 'h1', 10), at('a.exe', 'h1', 61)]), [], 'not three within a minute');
  assert.equal(alerts(count, [at('a.exe', 'h1', 0), at('a.exe', 'h2', 10), at('a.exe', 'h1', 20)]), [], 'two on h1, one on h2');
  // "Field Name Aliases": the group-by name is read through each rule's own field.
  const aliased = correlation('temporal_ordered', ['a', 'b'], '    group-by:\n        - proc\n    timespan: 1m\n    aliases:\n        proc:\n            a: ProcessId\n            b: ParentProcessId\n');
  assert.equal(alerts(aliased, [at('a.exe', 'h1', 0, { ProcessId: 7 }), at('b.exe', 'h1', 1, { ParentProcessId: 7 })]), ['0,1']);
  assert.equal(alerts(aliased, [at('a.exe', 'h1', 0, { ProcessId: 7 }), at('b.exe', 'h1', 1, { ProcessId: 7 })]), [], "b's ProcessId is not its key");
  // In any order, each event is keyed through its own rule's field.
  const anyOrder = correlation('temporal', ['a', 'b'], '    group-by:\n        - proc\n    timespan: 1m\n    aliases:\n        proc:\n            a: ProcessId\n            b: ParentProcessId\n');
  const flipped = run(anyOrder, [at('b.exe', 'h1', 0, { ParentProcessId: 7, ProcessId: 8 }), at('a.exe', 'h1', 1, { ProcessId: 7 })]);
  if ('notChecked' in flipped) throw new Error(flipped.notChecked);
  assert.equal(flipped.matches, [[1, 0]]);
  assert.is.not(flipped.groupOf!([1, 0]), flipped.groupOf!([0, 1]), 'the sample tuple (a, b) is grouped on 7; (b as a, a as b) has no common key');
  // Matches are compared by group: any tuple of one group's events is the same alert; a tuple across groups is none.
  const p = correlation('temporal_ordered');
  const records = [at('a.exe', 'h1', 0), at('b.exe', 'h1', 1), at('b.exe', 'h1', 2), at('b.exe', 'h2', 3)];
  const r = run(p, records);
  if ('notChecked' in r || !r.groupOf) throw new Error('a correlation run compares by group');
  assert.equal(r.matches, [[0, 1]]);
  assert.is(r.groupOf([0, 2]), r.groupOf([0, 1]), 'EQL may pick another b of the same group');
  assert.is(r.groupOf([0, -1, 2]), r.groupOf([0, 1]), 'a missing-event position is no event');
  assert.is.not(r.groupOf([0, 3]), r.groupOf([0, 1]));
  assert.is.not(r.groupOf([0, 3]), r.groupOf([1, 3]), 'tuples in no group meet nothing');
});

test('correlations not interpreted, and ones that are not valid', () => {
  const reason = (p: ReturnType<typeof parseSigma>) => {
    const r = run(p, [at('a.exe', 'h1', 0)]);
    return 'notChecked' in r ? r.notChecked : null;
  };
  assert.match(reason(correlation('temporal', ['a', 'b'], '    generate: true\n    group-by:\n        - Computer\n    timespan: 1m\n')) ?? '', /generate: true/);
  assert.match(reason(correlation('value_count', ['a'], '    group-by:\n        - Computer\n    timespan: 1m\n    condition:\n        field: User\n        gte: 2\n')) ?? '', /value_count/);
  assert.match(reason(correlation('temporal_ordered', ['a', 'b'], '    group-by:\n        - Computer\n    timespan: 1m\n    condition:\n        gte: 1\n')) ?? '', /fewer than all/);
  assert.is(reason(correlation('temporal_ordered', ['a', 'b'], '    group-by:\n        - Computer\n    timespan: 1m\n    condition:\n        eq: 2\n')), null, 'eq 2 of 2 is all of them');
  const invalid = (type: string, body: string) => assert.throws(() => correlation(type, ['a', 'b'], body), (e: unknown) => e instanceof InterpreterError);
  invalid('temporal', '    group-by:\n        - Computer\n    timespan: 0m\n');
  invalid('temporal', '    group-by:\n        - Computer\n    timespan: 1H\n');
  invalid('sequence', '    group-by:\n        - Computer\n    timespan: 1m\n');
  invalid('event_count', '    group-by:\n        - Computer\n    timespan: 1m\n');
  invalid('temporal', '    group-by:\n        - Computer\n    timespan: 1m\n    condition:\n        most: 2\n');
  assert.throws(() => correlation('temporal', ['a', 'nope']), (e: unknown) => e instanceof InterpreterError);
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

const withMutation = (mutate: (s: string) => string, fn: () => void) => withMutatedOutput('sigma', mutate, fn);
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

test('correlations against the native matcher: a sequence agrees, a swapped rule order or a longer timespan is caught', () => {
  const seq = 'sequence by process.entity_id with maxspan=1m\n  [process where event.type == "start" and process.executable : "C:\\\\x\\\\a.exe"]\n  [process where event.type == "start" and process.executable : "C:\\\\x\\\\b.exe"]';
  const ok = verifyOne(seq);
  assert.equal([ok.status, ok.verdict, ok.bug], ['exact', 'agree', false]);
  withMutation(
    (s) => s.replace(/- (\w+)_step_1\n(\s+)- \1_step_2\n/, '- $1_step_2\n$2- $1_step_1\n'),
    () => {
      const r = verifyOne(seq);
      // "in order" is now EQL's alone, "reversed" the correlation's alone.
      assert.equal([r.verdict, r.bug], ['disagree', true]);
      assert.ok(r.mismatches >= 2, String(r.mismatches));
    },
  );
  withMutation(
    (s) => s.replace('timespan: 1m', 'timespan: 2m'),
    () => {
      const r = verifyOne(seq);
      assert.equal([r.verdict, r.bug, r.counterexample?.matched_by, r.counterexample?.scenario], ['disagree', true, 'target', 'beyond maxspan']);
    },
  );
});

test('samples as temporal correlations: disjoint filters agree; overlapping ones differ only as declared', () => {
  const sample = (second: string) => `sample by process.entity_id\n  [process where event.type == "start" and process.executable : "C:\\\\x\\\\a.exe"]\n  [process where event.type == "start" and process.executable : "${second}"]`;
  const disjoint = verifyOne(sample('C:\\\\x\\\\b.exe'));
  assert.equal([disjoint.verdict, disjoint.bug], ['agree', false]);
  // a.exe also fills the second filter: Sigma counts it for both rules, EQL needs another event (declared wider).
  const overlapping = verifyOne(sample('C:\\\\x\\\\*.exe'));
  assert.equal([overlapping.verdict, overlapping.bug, overlapping.counterexample?.matched_by, overlapping.counterexample?.declared], ['disagree', false, 'target', true]);
});

test('an optional join key joins events without it; the Sigma group-by does not (declared narrower)', () => {
  const q = 'sequence by ?process.entity_id with maxspan=1m\n  [process where event.type == "start" and process.executable : "C:\\\\x\\\\a.exe"]\n  [process where event.type == "start" and process.executable : "C:\\\\x\\\\b.exe"]';
  const keyless = (exe: string, t: string) => ({ '@timestamp': t, 'event.category': 'process', 'event.type': 'start', 'process.executable': `C:\\x\\${exe}` });
  const userEvents = [keyless('a.exe', '2026-01-01T00:00:00Z'), keyless('b.exe', '2026-01-01T00:00:10Z')];
  const r = verifyRules(parseRuleText('case.eql', q), { targets: ['sigma'], userEvents }).results[0]!;
  assert.equal([r.status, r.verdict, r.bug, r.counterexample?.scenario, r.counterexample?.matched_by, r.counterexample?.declared], ['approximate', 'disagree', false, 'user events', 'eql', true]);
});

test('host.id joined as Computer: one host under two names is split (declared, as is the merge of hosts sharing a name)', () => {
  const q = 'sequence by host.id with maxspan=1m\n  [process where event.type == "start" and process.executable : "C:\\\\x\\\\a.exe"]\n  [process where event.type == "start" and process.executable : "C:\\\\x\\\\b.exe"]';
  const on = (name: string, exe: string, t: string) => ({ '@timestamp': t, 'event.category': 'process', 'event.type': 'start', 'host.os.type': 'windows', 'host.id': 'H', 'host.name': name, 'process.executable': `C:\\x\\${exe}` });
  const userEvents = [on('one', 'a.exe', '2026-01-01T00:00:00Z'), on('two', 'b.exe', '2026-01-01T00:00:10Z')];
  const r = verifyRules(parseRuleText('case.eql', q), { targets: ['sigma'], userEvents }).results[0]!;
  assert.equal([r.verdict, r.bug], ['disagree', false]);
  // The generator makes the same case on its own (one host id, two names per step).
  const g = verifyRules(parseRuleText('case.eql', q), { targets: ['sigma'] }).results[0]!;
  assert.equal([g.verdict, g.bug, g.counterexample?.scenario, g.counterexample?.matched_by, g.counterexample?.declared], ['disagree', false, 'host.id kept, host.name differs', 'eql', true]);
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

test('a correlation the Sigma side misses is explained by the narrowing declared on the step that decided it', () => {
  // process.code_signature.trusted has no Sigma field: left out of an `or`, the first step narrows (EQL3101).
  // An event that starts the sequence only through that condition is a declared miss, not a bug, although
  // the Sigma side reports groups rather than event tuples.
  const q = 'sequence by process.entity_id with maxspan=1m [process where event.type == "start" and (process.code_signature.trusted == false or process.name : "x.exe")] [library where dll.name : "v.dll"]';
  const r = verifyOne(q);
  assert.equal([r.verdict, r.bug, r.counterexample?.matched_by, r.counterexample?.declared], ['disagree', false, 'eql', true]);
});

test.run();
