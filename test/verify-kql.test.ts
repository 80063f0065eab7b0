// The KQL interpreter of the verifier: Kusto's own semantics on hand-written queries (expected values
// reasoned from Microsoft's Kusto reference, ../shared/research/target-syntax.md §3), then the verifier
// with it over every golden case, injected bugs, and real Defender events.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKENDS } from '../src/backends/index.js';
import { loadRules, parseRuleText } from '../src/check.js';
import { forRuleIndex, loadMapping } from '../src/translate/mapping.js';
import { INTERPRETERS, InterpreterError, Unrepresentable, verifyPairs, verifyRules, type VendorPair } from '../src/verify/index.js';
import { defenderRecord, parseKql, runKql, windowsArgv, windowsCommandLine, type KqlRecord } from '../src/verify/kql.js';
import { goldenCases } from './helpers/golden.js';
import { shared } from './helpers/shared.js';
import { withMutatedOutput } from './helpers/mutate.js';

const mapping = loadMapping('kql');

/** Indexes of the rows (all in DeviceProcessEvents unless a table is named) that a query returns. */
function rows(kql: string, ...data: (Record<string, unknown> & { $table?: string })[]): number[] | string {
  const records: KqlRecord[] = data.map(({ $table, ...row }) => ({
    table: $table ?? 'DeviceProcessEvents',
    row: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? BigInt(v) : v])) as KqlRecord['row'],
    modelsDeviceInfo: true,
  }));
  const r = runKql(parseKql(kql), records, mapping);
  return 'notChecked' in r ? r.notChecked : r.matches.map((m) => m[0]!);
}
const where = (cond: string, ...data: Record<string, unknown>[]) => rows(`DeviceProcessEvents | where ${cond}`, ...data);

test('case rules per operator: == in _cs are exact, =~ in~ contains startswith endswith has fold ASCII case', () => {
  const names = [{ FileName: 'cmd.exe' }, { FileName: 'CMD.EXE' }, { FileName: 'xcmd.exe' }];
  assert.equal(where('FileName == "cmd.exe"', ...names), [0]);
  assert.equal(where('FileName =~ "cmd.exe"', ...names), [0, 1]);
  assert.equal(where('FileName !~ "cmd.exe"', ...names), [2]);
  assert.equal(where('FileName != "cmd.exe"', ...names), [1, 2]);
  assert.equal(where('FileName in ("cmd.exe", "x")', ...names), [0]);
  assert.equal(where('FileName in~ ("CMD.exe", "x")', ...names), [0, 1]);
  assert.equal(where('FileName !in~ ("CMD.exe")', ...names), [2]);
  assert.equal(where('FileName !in ("cmd.exe")', ...names), [1, 2]);
  assert.equal(where('FileName contains "MD.e"', ...names), [0, 1, 2]);
  assert.equal(where('FileName contains_cs "MD.E"', ...names), [1]);
  assert.equal(where('FileName !contains_cs "md"', ...names), [1]);
  assert.equal(where('FileName startswith "CMD"', ...names), [0, 1]);
  assert.equal(where('FileName startswith_cs "cmd"', ...names), [0]);
  assert.equal(where('FileName endswith ".EXE"', ...names), [0, 1, 2]);
  assert.equal(where('FileName endswith_cs ".EXE"', ...names), [1]);
  assert.equal(where('FileName !startswith "x"', ...names), [0, 1]);
  // Case-insensitive operators fold ASCII only; tolower() folds everything.
  assert.equal(where('FileName =~ "ä.exe"', { FileName: 'Ä.exe' }), []);
  assert.equal(where('tolower(FileName) == "ä.exe"', { FileName: 'Ä.exe' }), [0]);
});

test('has: whole terms of ASCII letters and digits, case-insensitive; has_cs exact', () => {
  const r = { ProcessCommandLine: 'North America' };
  assert.equal(where('ProcessCommandLine has "america"', r), [0]);
  assert.equal(where('ProcessCommandLine !has "amer"', r), [0]);
  assert.equal(where('ProcessCommandLine has_cs "america"', r), []);
  const cmd = { ProcessCommandLine: 'C:\\Windows\\svchost.exe -k UsoSvc_1' };
  assert.equal(where('ProcessCommandLine has "usosvc"', cmd), [0], '_ is a delimiter: the terms are UsoSvc and 1');
  assert.equal(where('ProcessCommandLine has "usosvc"', { ProcessCommandLine: 'x -k UsoSvc1' }), [], 'digits belong to the term');
  assert.equal(where('ProcessCommandLine has "svchost"', cmd), [0]);
  assert.equal(where('ProcessCommandLine has "svc"', cmd), []);
  assert.equal(where('ProcessCommandLine has "svchost.exe"', cmd), [0], 'a phrase of terms');
  assert.equal(where('ProcessCommandLine has_any ("nope", "WINDOWS")', cmd), [0]);
});

test('literals: regular strings with escapes, verbatim @"" and @\'\' with doubled quotes, adjacent literals', () => {
  assert.equal(where('FolderPath == @"C:\\Temp\\"', { FolderPath: 'C:\\Temp\\' }), [0]);
  assert.equal(where('FolderPath == "C:\\\\Temp\\\\"', { FolderPath: 'C:\\Temp\\' }), [0]);
  assert.equal(where('FileName == @"a""b"', { FileName: 'a"b' }), [0]);
  assert.equal(where("FileName == @'it''s'", { FileName: "it's" }), [0]);
  assert.equal(where('FileName == "a\\"b\\n\\t"', { FileName: 'a"b\n\t' }), [0]);
  assert.equal(where("FileName == 'a\\'b'", { FileName: "a'b" }), [0]);
  assert.equal(where('FileName == "ab" "cd"', { FileName: 'abcd' }), [0]);
  // A verbatim literal cannot end in a lone quote-escaping backslash, and a regular one cannot hold a line break.
  for (const bad of ['FileName == "C:\\Temp\\"', 'FileName == "a\nb"', 'FileName == @"a\nb"', 'FileName == "\\q"'])
    assert.throws(() => parseKql(`DeviceProcessEvents | where ${bad}`), (e: unknown) => e instanceof InterpreterError, bad);
});

test('missing values: an absent string column is "", an absent number is null (comparisons drop the row)', () => {
  assert.equal(where('FolderPath == ""', {}), [0]);
  assert.equal(where('isempty(FolderPath) and isnotnull(FolderPath)', {}), [0]);
  assert.equal(where('not(FolderPath =~ "x")', {}), [0]);
  assert.equal(where('FolderPath !contains "x"', {}), [0]);
  assert.equal(where('ProcessId != 4', {}), []);
  assert.equal(where('not(ProcessId == 4)', {}), [], 'not(null) is null');
  assert.equal(where('isnull(ProcessId) or ProcessId != 4', {}), [0]);
  assert.equal(where('ProcessId == 4 or FileName == ""', {}), [0], 'null or true is true');
});

test('matches regex: RE2, case-sensitive, a search unless anchored; (?i) and (?s) flags', () => {
  const r = { FileName: 'ARKANSAS' };
  assert.equal(where('FileName matches regex "K.*S"', r), [0]);
  assert.equal(where('FileName matches regex "^K.*S$"', r), []);
  assert.equal(where('FileName matches regex "k.*s"', r), []);
  assert.equal(where('FileName matches regex "(?i)^ark.*s$"', r), [0]);
  assert.equal(where('ProcessCommandLine matches regex "^a.b$"', { ProcessCommandLine: 'a\nb' }), []);
  assert.equal(where('ProcessCommandLine matches regex "(?s)^a.b$"', { ProcessCommandLine: 'a\nb' }), [0]);
  assert.equal(where('FolderPath matches regex @"^C:\\\\Temp\\\\"', { FolderPath: 'C:\\Temp\\x' }), [0]);
});

test('functions: parse_command_line as CommandLineToArgvW, sets, CIDR, JSON, numbers', () => {
  assert.equal(windowsArgv('"C:\\Program Files\\a.exe" -enc "a b" \\"q\\" x\\\\"y z"'), ['C:\\Program Files\\a.exe', '-enc', 'a b', '"q"', 'x\\y z']);
  assert.equal(windowsArgv('C:\\a\\b.exe'), ['C:\\a\\b.exe']);
  for (const args of [['a.exe', ''], ['C:\\x y\\b.exe', 'a"b', 'c\\', 'd\\\\"e', 'tab\there']]) assert.equal(windowsArgv(windowsCommandLine(args)), args);
  const cmd = { ProcessCommandLine: 'a.exe -NoP "x y"' };
  assert.equal(where('set_has_element(parse_command_line(ProcessCommandLine, "windows"), "x y")', cmd), [0]);
  assert.equal(where('set_has_element(parse_command_line(ProcessCommandLine, "windows"), "-nop")', cmd), []);
  assert.equal(where('set_has_element(parse_command_line(tolower(ProcessCommandLine), "windows"), "-nop")', cmd), [0]);
  assert.equal(where('array_length(parse_command_line(ProcessCommandLine, "windows")) == 3', cmd), [0]);
  assert.equal(where('array_length(set_intersect(parse_command_line(ProcessCommandLine, "windows"), pack_array("-NoP", "z"))) > 0', cmd), [0]);
  const ip = (RemoteIP: string) => ({ RemoteIP, $table: 'DeviceNetworkEvents' });
  const cidr = 'DeviceNetworkEvents | where coalesce(ipv4_is_in_any_range(RemoteIP, "10.0.0.0/8", "192.168.0.0/16"), false) or coalesce(ipv6_is_in_any_range(RemoteIP, "fe80::/10"), false)';
  assert.equal(rows(cidr, ip('10.255.255.255'), ip('11.0.0.0'), ip('fe80::1'), ip('fec0::1'), ip(''), ip('192.168.1.1')), [0, 2, 5]);
  const dns = 'DeviceEvents | where tostring(parse_json(AdditionalFields).DnsQueryString) endswith ".onion"';
  assert.equal(rows(dns, { $table: 'DeviceEvents', AdditionalFields: '{"DnsQueryString":"x.ONION"}' }, { $table: 'DeviceEvents', AdditionalFields: '' }), [0]);
  assert.equal(where('ProcessId / 2 == 2 and ProcessId % 4 == 1', { ProcessId: 5 }), [0], 'long division truncates');
  assert.equal(where('strcat(FileName, ":", tostring(ProcessId)) == "a:1"', { FileName: 'a', ProcessId: 1 }), [0]);
  assert.equal(where('indexof(FileName, "z") == -1 and substring(FileName, 1, 2) == "bc"', { FileName: 'abcd' }), [0]);
});

test('tables: union, leftsemi join with DeviceInfo, extend, top, project keep rows traced to events', () => {
  const q = `union (DeviceProcessEvents | where FileName == "a"), (DeviceFileEvents | where FileName == "a")
| join kind=leftsemi (DeviceInfo | where OSPlatform startswith_cs "Windows" | distinct DeviceId) on DeviceId
| project Timestamp, DeviceId`;
  const got = rows(
    q,
    { FileName: 'a', DeviceId: 'w' },
    { $table: 'DeviceFileEvents', FileName: 'a', DeviceId: 'l' },
    { $table: 'DeviceInfo', DeviceId: 'w', OSPlatform: 'Windows10' },
    { $table: 'DeviceInfo', DeviceId: 'l', OSPlatform: 'Linux' },
  );
  assert.equal(got, [0]);
});

/** The sequences a scan query reports: the rows of each match id, as row indexes. */
function seqs(kql: string, ...data: Record<string, unknown>[]): number[][] | string {
  const records: KqlRecord[] = data.map((row) => ({
    table: 'DeviceProcessEvents',
    row: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? BigInt(v) : v])) as KqlRecord['row'],
    modelsDeviceInfo: true,
  }));
  const r = runKql(parseKql(kql), records, mapping);
  return 'notChecked' in r ? r.notChecked : r.matches;
}
const steps = (...s: string[]) => `DeviceProcessEvents | scan with_match_id = M with (\n${s.map((x) => `  step ${x};`).join('\n')}\n)`;

test('scan: the documentation\'s walkthrough (Start, events within 5, Stop) gives its output and match ids', () => {
  // scan-operator.md "Events between Start and Stop": records 2-5 are match 0, records 7-9 match 1.
  const ev = ['A', 'Start', 'B', 'D', 'Stop', 'C', 'Start', 'E', 'Stop'];
  const ts = [0, 1, 2, 3, 4, 6, 8, 11, 12];
  const data = ev.map((e, i) => ({ FileName: e, ProcessId: ts[i] }));
  const q = steps('s1: FileName == "Start"', 's2: FileName != "Start" and FileName != "Stop" and ProcessId - s1.ProcessId <= 5', 's3: FileName == "Stop" and ProcessId - s1.ProcessId <= 5');
  assert.equal(seqs(q, ...data), [[1, 2, 3, 4], [6, 7, 8]]);
});

test('scan: check 1 moves the previous step\'s sequence on and empties it; check 2 replaces a step\'s record', () => {
  const two = steps('s1: FileName == "a"', 's2: FileName == "b" and AccountName == s1.AccountName');
  const a = (u: string) => ({ FileName: 'a', AccountName: u });
  const b = (u: string) => ({ FileName: 'b', AccountName: u });
  // A newer first-step record begins a new sequence (new match id); the older one is left incomplete.
  assert.equal(seqs(two, a('u'), a('u'), b('u')), [[0], [1, 2]]);
  // After b completes the sequence, s1 is empty: a later b matches the last step again by check 2 (same match id).
  assert.equal(seqs(two, a('u'), b('u'), b('u')), [[0, 1, 2]]);
  // Check 2 needs the condition under the step's own state: another account's b does not join.
  assert.equal(seqs(two, a('u'), b('u'), b('v')), [[0, 1]]);
  // On a middle step, check 2 replaces the step's record within the same sequence.
  const three = steps('s1: FileName == "a"', 's2: FileName == "b"', 's3: FileName == "c"');
  assert.equal(seqs(three, { FileName: 'a' }, { FileName: 'b' }, { FileName: 'b' }, { FileName: 'c' }), [[0, 1, 2, 3]]);
  assert.equal(seqs(three, { FileName: 'b' }, { FileName: 'c' }), [], 'later steps need an active sequence');
});

test('scan: steps are tried last to first, so one record advances a sequence and starts the next', () => {
  const x = { FileName: 'x' };
  assert.equal(seqs(steps('s1: FileName == "x"', 's2: FileName == "x"'), x, x, x), [[0, 1], [1, 2], [2]]);
  // Runs of three: overlapping windows, each record in up to three sequences.
  const q = steps('s1: FileName == "x"', 's2: FileName == "x"', 's3: FileName == "x"');
  assert.equal(seqs(q, x, x, x, x), [[0, 1, 2], [1, 2, 3], [2, 3], [3]]);
});

test('scan: declare defaults, => assignments reading s1.Column, output=none', () => {
  // scan-operator.md "Cumulative sum": the state of s1 carries the running total.
  const cum = 'DeviceProcessEvents | scan declare (Total: long = 0) with (\n step s1: true => Total = ProcessId + s1.Total;\n) | where Total == 6';
  assert.equal(rows(cum, { ProcessId: 1 }, { ProcessId: 2 }, { ProcessId: 3 }, { ProcessId: 4 }), [2]);
  const none = 'DeviceProcessEvents | scan with_match_id = M with (\n step s1 output=none: FileName == "a";\n step s2: FileName == "b";\n)';
  assert.equal(seqs(none, { FileName: 'a' }, { FileName: 'b' }), [[1]]);
  assert.match(String(seqs('DeviceProcessEvents | scan with (\n step s1 output=last: true;\n)', {})), /output=last/);
});

// The shape the backend emits for sequences, written out by hand: complete sequences only, one row each, the
// earlier events named by Timestamp<j>/DeviceId<j>/ReportId<j>. Steps: a name starting with "a", ending with
// "b", equal to "c"; keyed by account, within 1m.
const threeSteps = `union
  (DeviceProcessEvents | where FileName startswith "a" | extend Step = 1),
  (DeviceProcessEvents | where FileName endswith "b" | extend Step = 2),
  (DeviceProcessEvents | where FileName == "c" | extend Step = 3)
| where isnotempty(AccountName)
| sort by AccountName asc, Timestamp asc, Step desc
| scan declare (Timestamp1: datetime, DeviceId1: string, ReportId1: long, Timestamp2: datetime, DeviceId2: string, ReportId2: long) with (
    step s1 output=none: Step == 1;
    step s2 output=none: Step == 2 and AccountName == s1.AccountName and Timestamp - s1.Timestamp <= 1m and isnull(s2.Timestamp1) => Timestamp1 = s1.Timestamp;
    step s3: Step == 3 and AccountName == s1.AccountName and Timestamp - s1.Timestamp <= 1m and isnull(s3.Timestamp1) => Timestamp1 = s1.Timestamp, DeviceId1 = s1.DeviceId, ReportId1 = s1.ReportId, Timestamp2 = s2.Timestamp, DeviceId2 = s2.DeviceId, ReportId2 = s2.ReportId;
  )
| project Timestamp, DeviceId, ReportId, Timestamp1, DeviceId1, ReportId1, Timestamp2, DeviceId2, ReportId2`;

/** Process starts on one host: [name, second, account]; the matches as event indexes. */
function traced(kql: string, ...evs: [string, number, string?][]): number[][] | string {
  const records = evs.map(([name, t, user]) =>
    defenderRecord({ '@timestamp': new Date(Date.UTC(2026, 0, 1, 0, 0, t)).toISOString(), 'event.category': 'process', 'event.type': 'start', 'process.name': name, 'host.id': 'h', 'user.name': user ?? 'u' }, mapping),
  );
  const r = runKql(parseKql(kql), records, mapping);
  return 'notChecked' in r ? r.notChecked : r.matches;
}

test('scan with carried identities: each row is one complete sequence, traced back to its events', () => {
  assert.equal(traced(threeSteps, ['a', 0], ['b', 1], ['c', 2]), [[0, 1, 2]]);
  // Incomplete sequences return nothing.
  assert.equal(traced(threeSteps, ['a', 0], ['b', 1]), []);
  // A newer first event replaces the pending one (check 2 on the first step), as in Elasticsearch.
  assert.equal(traced(threeSteps, ['a', 0], ['a', 1], ['b', 2], ['c', 3]), [[1, 2, 3]]);
  // isnull(s_k.Timestamp1) blocks check 2 on later steps: a second b does not replace the held one, a second c
  // does not join the completed sequence (without it the scan gives [0, 2, 3], and [0, 1, 3] as a second row).
  assert.equal(traced(threeSteps, ['a', 0], ['b', 1], ['b', 2], ['c', 3]), [[0, 1, 3]]);
  assert.equal(traced(threeSteps, ['a', 0], ['b', 1], ['c', 2], ['c', 3]), [[0, 1, 2]]);
  // Sorting by the key makes each account's events contiguous: the one state per step serves each in turn.
  assert.equal(traced(threeSteps, ['a', 0, 'u'], ['a', 1, 'v'], ['b', 2, 'u'], ['b', 3, 'v'], ['c', 4, 'u'], ['c', 5, 'v']), [[0, 2, 4], [1, 3, 5]]);
  // One event meeting two steps is two rows at one time; the higher step's comes first, so "ab" advances a's
  // sequence (and also begins one of its own), as Elasticsearch tries the highest stage first.
  assert.equal(traced(threeSteps, ['a', 0], ['ab', 1], ['c', 2]), [[0, 1, 2]]);
  // maxspan is inclusive, measured from the first event.
  assert.equal(traced(threeSteps, ['a', 0], ['b', 1], ['c', 60]), [[0, 1, 2]]);
  assert.equal(traced(threeSteps, ['a', 0], ['b', 1], ['c', 61]), []);
});

test('scan with carried identities: an identity that names no input event is not checked', () => {
  const q = 'DeviceProcessEvents | extend Timestamp1 = Timestamp + 1s, DeviceId1 = DeviceId, ReportId1 = ReportId';
  assert.match(String(traced(q, ['a', 0])), /Timestamp1\/DeviceId1\/ReportId1 of a result row is no input event/);
});

test('events of one host that disagree about its OS are not Defender rows (DeviceInfo has one OS per device)', () => {
  const ev = (os?: string) => ({ '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'process', 'event.type': 'start', 'process.name': 'a', 'host.id': 'h', ...(os ? { 'host.os.type': os } : {}) });
  const r = runKql(parseKql('DeviceProcessEvents'), [defenderRecord(ev('windows'), mapping), defenderRecord(ev(), mapping), defenderRecord(ev('windows'), mapping)], mapping);
  assert.equal('matches' in r && r.unrepresentable, [0, 1, 2]);
  const same = runKql(parseKql('DeviceProcessEvents'), [defenderRecord(ev('windows'), mapping), defenderRecord(ev('windows'), mapping)], mapping);
  assert.is('matches' in same && same.unrepresentable, undefined);
});

test('ECS -> Defender: a process entity id gives one process id and creation time per entity', () => {
  const ev = (id: string, extra: Record<string, unknown> = {}) =>
    defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'file', 'event.type': 'creation', 'process.entity_id': id, ...extra }, mapping)!.row;
  const [a, a2, b] = [ev('abc'), ev('abc'), ev('abd')];
  assert.ok(a.InitiatingProcessId !== null && a.InitiatingProcessCreationTime !== null);
  assert.equal([a.InitiatingProcessId, a.InitiatingProcessCreationTime], [a2.InitiatingProcessId, a2.InitiatingProcessCreationTime]);
  assert.is.not(String(a.InitiatingProcessId) + String(a.InitiatingProcessCreationTime), String(b.InitiatingProcessId) + String(b.InitiatingProcessCreationTime));
  assert.is(ev('abc', { 'process.pid': 42 }).InitiatingProcessId, 42n, 'a pid the event has wins');
});

test('ECS -> Defender rows from the mapping: classes, columns, command lines from args, "" for absent strings', () => {
  const r = defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'process', 'event.type': 'start', 'host.os.type': 'windows', process: { executable: 'C:\\a b\\x.exe', args: ['C:\\a b\\x.exe', '-c', 'y z'], parent: { name: 'p.exe' } } }, mapping)!;
  assert.is(r.table, 'DeviceProcessEvents');
  assert.equal([r.row.FolderPath, r.row.ProcessCommandLine, r.row.InitiatingProcessFileName, r.row.ActionType], ['C:\\a b\\x.exe', '"C:\\a b\\x.exe" -c "y z"', 'p.exe', 'ProcessCreated']);
  assert.is(r.deviceInfo!.OSPlatform, 'Windows10');
  assert.is(defenderRecord({ 'event.category': 'process', 'event.type': 'end' }, mapping), null, 'Defender keeps process creations only');
  const file = defenderRecord({ 'event.category': 'file', 'event.type': 'creation', 'file.path': 'C:\\t\\a.exe', 'process.name': 'w.exe' }, mapping)!;
  assert.equal([file.table, file.row.ActionType, file.row.InitiatingProcessFileName], ['DeviceFileEvents', 'FileCreated', 'w.exe']);
  const reg = defenderRecord({ 'event.category': 'registry', 'registry.path': 'HKLM\\SOFTWARE\\Run\\evil', 'registry.value': 'evil' }, mapping)!;
  assert.equal([reg.row.RegistryKey, reg.row.RegistryValueName], ['HKEY_LOCAL_MACHINE\\SOFTWARE\\Run', 'evil']);
  const net = defenderRecord({ 'event.category': 'network', 'event.action': 'lookup_requested', 'dns.question.name': 'x.onion' }, mapping)!;
  assert.equal([net.table, net.row.AdditionalFields, net.row.ActionType], ['DeviceEvents', '{"DnsQueryString":"x.onion"}', 'DnsQueryResponse']);
  assert.ok(defenderRecord({ 'event.category': 'process', 'event.type': 'start', 'process.name': ['a', 'b'] }, mapping)!.unrepresentable);
});

test('events no Defender row can be: derived fields that disagree, values without a Defender spelling', () => {
  const named = (...f: string[]) => new Set(f);
  const base = { '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'process', 'event.type': 'start' };
  const why = (ev: Record<string, unknown>, ...f: string[]) => defenderRecord({ ...base, ...ev }, mapping, named(...f))?.unrepresentable;
  assert.match(String(why({ 'process.name': 'a', 'process.executable': 'C:\\x\\b' }, 'process.name')), /does not end with/);
  assert.is(why({ 'process.name': 'b', 'process.executable': 'C:\\x\\b' }, 'process.name'), undefined);
  assert.is(why({ 'process.name': 'a', 'process.executable': 'C:\\x\\b' }, 'user.id'), undefined, 'only fields the rule names');
  assert.match(String(why({ 'process.command_line': 'a +h' }, 'process.args')), /no process.args/);
  assert.match(String(why({ 'process.args': ['a', '+h'] }, 'process.command_line')), /no process.command_line/);
  assert.is(why({ 'process.args': ['a', 'b c'], 'process.command_line': 'a "b c"' }, 'process.args'), undefined);
  assert.match(String(why({ 'process.args': ['a'], 'process.command_line': 'b' }, 'process.args')), /not the parse/);
  assert.match(String(why({ 'process.args': ['a'] }, 'process.args_count')), /args_count/);
  const file = { 'event.category': 'file', 'event.type': 'creation' };
  assert.match(String(why({ ...file, 'file.name': 'sed', 'file.extension': 'swp' }, 'file.extension')), /extension/);
  assert.match(String(why({ ...file, 'event.type': 'file_create_event' }, 'event.type')), /no value for event.type/);
  assert.ok(INTERPRETERS.kql!.fromEcs({ ...base, 'event.type': 'START' }, { mapping, options: {} }) instanceof Unrepresentable);
});

// ---- the verifier with this interpreter -----------------------------------------------------------

test('registered as the kql interpreter', () => {
  assert.ok(INTERPRETERS.kql);
});

test('every golden case, every KQL variant: no bug, and every supported output checked', () => {
  for (const v of BACKENDS.kql!.variants)
    for (const c of goldenCases()) {
      const r = verifyRules([c.rule], { targets: ['kql'], ...v.options }).results[0]!;
      assert.not.ok(r.bug, `${c.name} (${v.name}): ${r.reason ?? ''} ${JSON.stringify(r.counterexample)}`);
      // No probe compares these (see test/verify-golden.test.ts): said so rather than reported as agreement.
      if (['conversion-functions', 'hostile-backslash', 'non-ascii'].includes(c.name)) assert.is(r.notChecked, 'no-comparison', c.name);
      else if (r.status !== 'unsupported') assert.is.not(r.verdict, 'not-checked', `${c.name} (${v.name}): ${r.reason}`);
    }
});

const withMutation = <T>(mutate: (text: string) => string, f: () => T): T => withMutatedOutput('kql', mutate, f);

test('an injected case bug (=~ swapped for ==) is caught', () => {
  const rule = parseRuleText('case.eql', 'process where event.type == "start" and process.name : "cmd.exe"');
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  const r = withMutation((t) => t.replace('=~', '=='), () => verifyRules(rule, { targets: ['kql'] }));
  const res = r.results[0]!;
  assert.equal([res.verdict, res.bug, r.exitCode, res.counterexample!.matched_by], ['disagree', true, 1, 'eql']);
  assert.is((res.counterexample!.event as Record<string, unknown>)['process.name'], 'CMD.EXE');
});

test('sequences: a miss in step 1 is not excused by the declaration on step 2\'s table (DeviceNetworkEvents)', () => {
  const rule = parseRuleText(
    'seq.eql',
    'sequence by host.name with maxspan=1m [process where host.os.type == "windows" and event.type == "start" and process.name == "a.exe"] [network where host.os.type == "windows" and event.type == "start" and destination.port == 443]',
  );
  const r0 = verifyRules(rule, { targets: ['kql'] }).results[0]!;
  // Step 2 reads DeviceNetworkEvents, declared at class level (EQL3004): the translation is approximate.
  assert.equal([r0.status, r0.verdict, r0.bug], ['approximate', 'agree', false]);
  const step1 = withMutation((t) => t.replace('FileName == "a.exe"', 'FileName == "b.exe"'), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
  assert.equal([step1.verdict, step1.bug, step1.counterexample!.matched_by], ['disagree', true, 'eql']);
  // The same narrowing on step 2 lies within what its table's declaration covers.
  const step2 = withMutation((t) => t.replace('RemotePort == 443', 'RemotePort == 444'), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
  assert.equal([step2.verdict, step2.bug], ['disagree', false]);
});

test('sequences: an injected bug that joins events without a key value (Defender stores "" for it) is caught by the key-missing scenario', () => {
  const rule = parseRuleText('seq.eql', 'sequence by user.name with maxspan=1m [process where event.type == "start" and process.name == "a.exe"] [process where event.type == "start" and process.name == "b.exe"]');
  const ok = verifyRules(rule, { targets: ['kql'] }).results[0]!;
  assert.equal([ok.status, ok.verdict], ['exact', 'agree']);
  const r = withMutation((t) => t.replace('| where isnotempty(SequenceKey1)\n', ''), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
  assert.equal([r.verdict, r.bug, r.counterexample!.scenario, r.counterexample!.matched_by], ['disagree', true, 'key 1 missing', 'target']);
});

test('CloudTrail rows: the verifier builds CloudAppEvents rows whose RawEventData is the record; a wrong path is caught', () => {
  const rule = parseRuleText('ct.eql', 'any where data_stream.dataset == "aws.cloudtrail" and event.action == "AttachRolePolicy" and not aws.cloudtrail.user_identity.type : "root"');
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  const r = withMutation((t) => t.replace('userIdentity.type', 'userIdentity.arn'), () => verifyRules(rule, { targets: ['kql'] }));
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
});

test('Kubernetes audit rows: the verifier builds CloudAuditEvents rows (verb in OperationName, the event in RawEventData); a wrong path is caught', () => {
  const rule = parseRuleText('k8s.eql', 'any where data_stream.dataset == "kubernetes.audit_logs" and kubernetes.audit.verb == "delete" and kubernetes.audit.objectRef.resource == "events" and not kubernetes.audit.user.username : "system:*"');
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  // Under the negation a wrong path is true on every row: wider than declared (the source is only narrower).
  const r = withMutation((t) => t.replace('User.username', 'User.uid'), () => verifyRules(rule, { targets: ['kql'] }));
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
});

test('Active Directory rows: the verifier builds IdentityDirectoryEvents rows with FROM/TO keys; a swapped key is caught', () => {
  const rec = defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'iam', 'event.action': 'renamed-user-account', 'host.os.type': 'windows', winlog: { event_data: { OldTargetUserName: 'pc01$', NewTargetUserName: 'DC01' } } }, mapping)!;
  assert.is(rec.table, 'IdentityDirectoryEvents');
  assert.equal([rec.row.ActionType, JSON.parse(rec.row.AdditionalFields as string)], ['SAM Account Name changed', { 'FROM SAM Account Name': 'pc01$', 'TO SAM Account Name': 'DC01' }]);
  const rule = parseRuleText('sam.eql', 'iam where host.os.type == "windows" and event.action == "renamed-user-account" and winlog.event_data.OldTargetUserName : "*$" and not winlog.event_data.NewTargetUserName : "*$"');
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  // Reading the old name where the new one is keeps renames to a machine-like name: wider, while the source is
  // only declared narrower.
  const r = withMutation((t) => t.replace('["TO SAM Account Name"]) !endswith', '["FROM SAM Account Name"]) endswith'), () => verifyRules(rule, { targets: ['kql'] }));
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
});

test('tobool: booleans, "true"/"false" in any case, numbers by zero-ness; other text is null (false in where)', () => {
  assert.equal(where('tobool(X)', { X: 'True' }, { X: 'false' }, { X: 'yes' }, { X: '' }, { X: 2 }, { X: 0 }, {}), [0, 4]);
  assert.equal(rows('DeviceEvents | where tobool(parse_json(AdditionalFields)["TO x"])', { $table: 'DeviceEvents', AdditionalFields: '{"TO x":true}' }, { $table: 'DeviceEvents', AdditionalFields: '{"TO x":false}' }, { $table: 'DeviceEvents', AdditionalFields: '{}' }), [0]);
});

test('4738 never-expires rows hold the TO key as true; an or whose other branch Defender does not hold is checked', () => {
  const rec = defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'iam', 'event.code': '4738', 'host.os.type': 'windows', 'winlog.event_data.NewUACList': 'USER_DONT_EXPIRE_PASSWORD' }, mapping)!;
  assert.equal([rec.table, rec.row.ActionType, JSON.parse(rec.row.AdditionalFields as string)], ['IdentityDirectoryEvents', 'Account Password Never Expires changed', { 'TO Account Password Never Expires': true }]);
  const rule = parseRuleText('uac.eql', 'iam where host.os.type == "windows" and ((event.code == "4738" and winlog.event_data.NewUACList == "USER_DONT_EXPIRE_PASSWORD") or (event.code == "5136" and winlog.event_data.AttributeValue == "66048"))');
  const r = verifyRules(rule, { targets: ['kql'] }).results[0]!;
  assert.equal([r.status, r.bug], ['approximate', false]);
  // Which flag changed is not in the event (a `collection` declaration): a wrong ActionType or an inverted TO test is a bug.
  for (const [from, to] of [['"Account Password Never Expires changed"', '"Account Password Never Expires Changed"'], ['| where tobool(', '| where not(tobool(']]) {
    const bad = withMutation((t) => t.replace(from, to).replace(/(not\(tobool\(.*\)\))$/m, '$1)'), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
    assert.equal([bad.verdict, bad.bug], ['disagree', true], to);
  }
});

test('a sequence over a cloud log (no DeviceId) is checked: carried events are found by Timestamp and ReportId', () => {
  const k8s = 'any where data_stream.dataset == "kubernetes.audit_logs" and ';
  const rule = parseRuleText('k8s-seq.eql', `sequence by user.name with maxspan=5m [${k8s}kubernetes.audit.verb == "create" and kubernetes.audit.objectRef.resource == "roles"] [${k8s}kubernetes.audit.verb == "patch"]`);
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
});

test('an injected dropped not() is caught', () => {
  const rule = parseRuleText('not.eql', 'process where event.type == "start" and process.name : "a.exe" and not (process.parent.name : "c.exe" and user.name == "SYSTEM")');
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  const r = withMutation((t) => t.replace('not(', '('), () => verifyRules(rule, { targets: ['kql'] }));
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
});

test('an output the interpreter cannot parse is a bug', () => {
  const rule = parseRuleText('x.eql', 'process where event.type == "start" and process.name : "a.exe"');
  const r = withMutation((t) => t.replace('"a.exe"', '"a.exe'), () => verifyRules(rule, { targets: ['kql'] }));
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
  assert.match(r.results[0]!.reason!, /does not parse/);
});

test('vendor pairs: every corpus rule against real Defender rows (OS test dropped, DeviceInfo is not in the pairs), no undeclared disagreement', () => {
  const pairsFile = shared('vendor-pairs', 'm365_defender.ndjson');
  const corpus = shared('corpus');
  if (!pairsFile || !corpus) return;
  const pairs = readFileSync(pairsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as VendorPair);
  const { rules } = loadRules([corpus]);
  const r = verifyPairs(rules, pairs, { targets: ['kql'], kqlOs: 'drop' });
  const bugs = r.results.filter((x) => x.bug);
  assert.equal(bugs.map((b) => `${b.path}: ${b.reason ?? JSON.stringify(b.counterexample)}`), []);
  console.log(`kql vendor pairs: ${JSON.stringify(r.summary.kql)}`);
  assert.ok(r.summary.kql!.agree > 500, 'most corpus rules are checked against the pairs');
});

test('a process.args_count without argv or command line is no event Defender could hold', () => {
  const ctx = { mapping: loadMapping('kql'), options: {}, ruleFields: new Set(['process.args_count']) };
  const base = { '@timestamp': '2026-01-01T00:00:00.000Z', 'event.category': 'process', 'event.type': 'start', 'host.os.type': 'windows', 'process.name': 'dllhost.exe' };
  // The record is kept (other events may need its device) and flagged, so the run leaves it out of the comparison.
  const flag = (ev: Record<string, unknown>) => (INTERPRETERS.kql!.fromEcs(ev, ctx) as KqlRecord).unrepresentable;
  assert.match(flag({ ...base, 'process.args_count': 1 }) ?? '', /process\.args_count but no process\.args/);
  assert.is(flag({ ...base, 'process.args_count': 1, 'process.args': ['dllhost.exe'], 'process.command_line': 'dllhost.exe' }), undefined);
});


test('GitHub rows: CloudAppEvents rows of the app GitHub whose RawEventData is the audit entry; a wrong key is caught', () => {
  const rule = parseRuleText('gh.eql', 'iam where data_stream.dataset == "github.audit" and event.action == "org.add_member" and github.permission == "admin"');
  const r0 = verifyRules(rule, { targets: ['kql'] }).results[0]!;
  assert.equal([r0.status, r0.bug], ['approximate', false]);
  const r = withMutation((t) => t.replace('RawEventData.permission', 'RawEventData.visibility'), () => verifyRules(rule, { targets: ['kql'] }));
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
  const row = defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', 'data_stream.dataset': 'github.audit', 'event.category': ['configuration', 'web'], 'event.action': 'repo.access', 'github.visibility': 'public', 'user.name': 'mona' }, mapping)!;
  assert.equal([row.table, row.row.Application, row.row.RawEventData], ['CloudAppEvents', 'GitHub', { action: 'repo.access', visibility: 'public', actor: 'mona' }]);
});

test('GitHub category: an event whose github.category is not the head of its action is no entry GitHub and Elastic write', () => {
  const ev = (extra: Record<string, unknown>) => ({ '@timestamp': '2026-01-01T00:00:00Z', 'data_stream.dataset': 'github.audit', 'event.category': 'configuration', ...extra });
  const why = (extra: Record<string, unknown>) => defenderRecord(ev(extra), mapping, new Set(['github.category']))?.unrepresentable;
  assert.is(why({ 'event.action': 'repo.access', 'github.category': 'repo' }), undefined);
  assert.is(why({ 'event.action': 'Repo' }), undefined, 'no category where the action has no [a-z_]+ head');
  assert.match(String(why({ 'event.action': 'repo.access', 'github.category': 'org' })), /not what the source derives/);
  // A category without an action: the rule does not read the action, so one the category is the head of is made
  // up (any such event stands for all of them); a rule that reads the action sees it missing.
  assert.is(why({ 'github.category': 'repo' }), undefined, 'a category without an action the rule does not read');
  assert.match(String(defenderRecord(ev({ 'github.category': 'repo' }), mapping, new Set(['github.category', 'event.action']))?.unrepresentable), /not what the source derives/, 'a category without an action the rule reads');
  assert.match(String(why({ 'event.action': 'org.add_member' })), /not what the source derives/, 'an action whose category is missing');
  // The category never writes the action it is derived from.
  assert.equal(defenderRecord(ev({ 'github.category': 'repo' }), mapping)!.row.RawEventData, undefined);
  // Over the rule: the derived field's probes are compared where they are possible, and a wrong regex is caught.
  const rule = parseRuleText('ghc.eql', 'configuration where data_stream.dataset == "github.audit" and github.category == "protected_branch" and event.action != "protected_branch.destroy"');
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.bug, false);
  const r = withMutation((t) => t.replace('[a-z_]+', '[a-z]+'), () => verifyRules(rule, { targets: ['kql'] }));
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
});

test('Okta rows: a sequence keyed by the actor over CloudAppEvents rows of the app Okta is checked; a wrong key path is caught', () => {
  const okta = 'any where data_stream.dataset == "okta.system" and ';
  const rule = parseRuleText('okta.eql', `sequence by okta.actor.id with maxspan=10m [${okta}okta.event_type == "user.mfa.okta_verify.deny_push"] [${okta}okta.event_type == "user.session.start" and okta.outcome.result == "SUCCESS"]`);
  const r0 = verifyRules(rule, { targets: ['kql'] }).results[0]!;
  assert.equal([r0.verdict, r0.bug], ['agree', false]);
  const r = withMutation((t) => t.replace('outcome.result', 'outcome.reason'), () => verifyRules(rule, { targets: ['kql'] }));
  assert.equal([r.results[0]!.verdict, r.results[0]!.bug], ['disagree', true]);
});

test('a declaration about particular values (code points, "" for missing) explains no mismatch on events without them', () => {
  // length() is declared different (EQL3245: UTF-16 units vs code points), which only characters outside the BMP
  // can show: a wrong bound in the emitted strlen test is a bug on the plain ASCII probes.
  const rule = parseRuleText('len.eql', 'process where event.type == "start" and length(process.name) > 5 and process.name : "a*"');
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  for (const bound of ['> 50', '> 0']) {
    const r = withMutation((t) => t.replace('> 5', bound), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
    assert.equal([r.verdict, r.bug], ['disagree', true], bound);
  }
});

test('argv read by Windows rules off Windows (EQL3204) explains only events with an empty argument or one holding a blank, quote or backslash', () => {
  // On Linux Defender's command line is argv joined with spaces: an argument with a blank splits in two there,
  // a declared difference; any other miss (a wrong value in the element test) is a bug.
  const rule = parseRuleText('args.eql', 'process where host.os.type == "linux" and event.type == "start" and process.args == "-c"');
  const ok = verifyRules(rule, { targets: ['kql'] }).results[0]!;
  assert.not.ok(ok.bug, ok.reason ?? '');
  const r = withMutation((t) => t.replace('"-c"', '"-d"'), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
  assert.equal([r.verdict, r.bug], ['disagree', true]);
});

test('a source that holds only some events of the class (event.type start) explains misses on the other events only', () => {
  // DeviceProcessEvents holds process creations: a rule without event.type is declared narrower, which excuses
  // missing a process end, not a creation the query rejects.
  const rule = parseRuleText('start.eql', 'process where process.name : "a.exe"');
  const ok = verifyRules(rule, { targets: ['kql'] }).results[0]!;
  assert.not.ok(ok.bug, ok.reason ?? '');
  const r = withMutation((t) => t.replace('"a.exe"', '"b.exe"'), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
  assert.equal([r.verdict, r.bug], ['disagree', true]);
  assert.equal((r.counterexample!.event as Record<string, unknown>)['event.type'], 'start');
});

test('mv-apply with take_anyif: the text of the Data element of a name, "" without one, one row per input row', () => {
  const data = 'parse_xml(EventData).EventData.Data';
  const q = (cond: string) => `SecurityEvent | mv-apply E = iff(array_length(${data}) > 0, ${data}, pack_array(${data})) on (summarize K = take_anyif(tostring(E["#text"]), tostring(E["@Name"]) == "ServiceSid")) | where ${cond}`;
  const ev = (xml: string) => ({ $table: 'SecurityEvent', EventData: xml });
  const events = [
    ev('<EventData><Data Name="TargetSid">S-1-5-21-9</Data><Data Name="ServiceSid">S-1-5-21-1</Data></EventData>'),
    ev('<EventData><Data Name="TargetSid">S-1-5-21-1</Data></EventData>'),
    // One Data element parses to an object, not a list: pack_array wraps it.
    ev('<EventData><Data Name="ServiceSid">S-1-5-21-1</Data></EventData>'),
    ev(''),
  ];
  assert.equal(rows(q('K == "S-1-5-21-1"'), ...events), [0, 2]);
  assert.equal(rows(q('isempty(K)'), ...events), [1, 3]);
  assert.equal(rows(q('true'), ...events), [0, 1, 2, 3]);
});

test('a classifying value in another case than the source writes it is no event of that source', () => {
  const ev = { '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'iam', 'winlog.event_data.ServiceName': 'svc' };
  assert.equal(defenderRecord({ ...ev, 'event.action': 'service-installed' }, mapping)!.table, 'DeviceEvents');
  const other = defenderRecord({ ...ev, 'event.action': 'Service-Installed' }, mapping)!;
  assert.ok(other.unrepresentable?.includes('another case'), JSON.stringify(other));
});

test('Security log through SecurityEvent: spelling declarations replay cannot show excuse no wrong condition', () => {
  // source.ip → IpAddress ("-", ::ffff:) and user.name → TargetUserName (@) are about the record's spelling, which
  // replay does not reproduce (collection): an inverted address test or a wrong LogonType is a bug.
  const query =
    'sequence by winlog.logon.id, winlog.computer_name with maxspan=1m [authentication where host.os.type == "windows" and event.action == "logged-in" and winlog.logon.type : "Network" and event.outcome == "success" and source.ip != null and source.ip != "127.0.0.1"] [iam where host.os.type == "windows" and event.action == "service-installed" and not winlog.event_data.SubjectLogonId : "0x3e7"]';
  const rule = parseRuleText('t.toml', `[rule]\nname = "t"\ntype = "eql"\nlanguage = "eql"\nindex = ["logs-system.security*"]\nquery = '''\n${query}\n'''\n`);
  const ok = verifyRules(rule, { targets: ['kql'] }).results[0]!;
  assert.ok(ok.status !== 'unsupported' && !ok.bug, JSON.stringify(ok));
  for (const [from, to] of [['IpAddress != "127.0.0.1"', 'IpAddress == "127.0.0.1"'], ['LogonType == 3', 'LogonType == 10']]) {
    const r = withMutation((t) => t.replace(from, to), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
    assert.equal([r.verdict, r.bug], ['disagree', true], to);
  }
});

test('a source that holds only events with some value (host.os.type windows) is compared on such events too', () => {
  // The rule does not test host.os.type; SecurityEvent holds Windows events only (declared with `only`), so the
  // probes are also replayed as Windows events, and a wrong value in the query is a bug, not an excused miss.
  const query = 'file where event.action == "network-share-object-access-checked" and winlog.event_data.RelativeTargetName : "srvsvc"';
  const rule = parseRuleText('t.toml', `[rule]\nname = "t"\ntype = "eql"\nlanguage = "eql"\nindex = ["logs-system.security*"]\nquery = '''\n${query}\n'''\n`);
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  const r = withMutation((t) => t.replace('"srvsvc"', '"srvsvcx"'), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
  assert.equal([r.verdict, r.bug, r.counterexample?.scenario], ['disagree', true, 'probes (host.os.type windows)']);
});

test('a derived field the rule tests gets a source value made up when the rule does not read the source', () => {
  // Elastic names a process by the last part of its executable; a probe naming only the process stands for every
  // executable ending in that name, so replay writes one (ProcessName) instead of leaving the event out.
  const m = forRuleIndex(mapping, ['logs-system.security*']);
  const ev = { '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'authentication', 'event.action': 'logged-in', 'event.outcome': 'success', 'host.os.type': 'windows', 'event.code': '4624', 'process.name': 'svchost.exe' };
  const rec = defenderRecord(ev, m, new Set(['process.name']))!;
  assert.equal([rec.table, rec.row.ProcessName, rec.unrepresentable], ['SecurityEvent', 'svchost.exe', undefined]);
  // A rule that also reads the executable sees it missing: no such event.
  assert.match(String(defenderRecord(ev, m, new Set(['process.name', 'process.executable']))!.unrepresentable), /not what the source derives/);
});

test('sequences with two keys: a scan that drops one key comparison is caught by the one-key mismatch scenario', () => {
  const rule = parseRuleText('k2.eql', 'sequence by user.name, process.parent.name with maxspan=1m [process where event.type == "start" and process.name == "a.exe"] [process where event.type == "start" and process.name == "b.exe"]');
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  const r = withMutation((t) => t.replace(' and SequenceKey2 == s1.SequenceKey2', ''), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
  assert.equal([r.verdict, r.bug, r.counterexample!.scenario], ['disagree', true, 'key 2 mismatch']);
});

test.run();
