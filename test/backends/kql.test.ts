import { test } from 'uvu';
import { RE2JS } from 're2js';
import * as assert from 'uvu/assert';
import { translateRule } from '../../src/translate/index.js';
import { BACKENDS } from '../../src/backends/index.js';
import { kqlString } from '../../src/backends/kql.js';
import { luceneToRe2 } from '../../src/matcher/regex.js';
import type { Translation } from '../../src/translate/core.js';
import { loadRules } from '../../src/check.js';
import { goldenCases } from '../helpers/golden.js';
import { formatKustoProblems, kustoErrors } from '../helpers/kusto.js';
import { shared } from '../helpers/shared.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codes, kql, wheres } from '../helpers/kql.js';


function assertValid(t: Translation, what: string) {
  if (t.output === null) return;
  const problems = kustoErrors(t.output);
  assert.ok(!problems.length, `${what}:\n${t.output}\n${formatKustoProblems(problems)}`);
}

// ---- string literals ----

test('literals: plain, verbatim for backslashes and quotes, escaped for control characters', () => {
  assert.is(kqlString('cmd.exe'), '"cmd.exe"');
  assert.is(kqlString('C:\\Temp\\'), '@"C:\\Temp\\"');
  assert.is(kqlString('a"b'), '@"a""b"');
  assert.is(kqlString('a\nb\\"'), '"a\\nb\\\\\\""');
  assert.is(kqlString('\u0001'), '"\\u0001"');
});

test('hostile values never change the structure of the query', () => {
  const eqlString = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
  const hostile = ['x") or (1==1', 'C:\\Temp\\', '\\', '"', '""', 'a | b', 'a\nb', 'a\r\n| where true', '@"', "it's", '\\"; DROP', '😀ü', '*?', '```'];
  for (const v of hostile)
    for (const q of [
      `process where event.type == "start" and process.name == ${eqlString(v)}`,
      `process where event.type == "start" and process.name : ${eqlString(v)}`,
      `process where event.type == "start" and process.command_line : ${eqlString('*' + v + '*')}`,
      `process where event.type == "start" and process.args : ${eqlString(v + '*')}`,
      `process where event.type == "start" and process.name regex~ ${eqlString(v.replace(/[\\"*?|()@#&<>~.[\]{}+]/g, (c) => '\\' + c))}`,
    ]) {
      const t = kql(q);
      assert.ok(t.output, `${q}: ${t.diagnostics.map((d) => d.message).join('; ')}`);
      assert.is(wheres(t).length, 1, `${q}\n${t.output}`);
      assertValid(t, q);
    }
});

// ---- operators and case ----

test('cheapest operator per pattern shape, case-sensitive forms for case-sensitive EQL', () => {
  assert.equal(wheres(kql('process where event.type == "start" and process.name : "CMD.exe"')), ['FileName =~ "CMD.exe"']);
  assert.equal(wheres(kql('process where event.type == "start" and process.name == "cmd.exe"')), ['FileName == "cmd.exe"']);
  assert.equal(wheres(kql('process where event.type == "start" and process.name : "cmd*"')), ['FileName startswith "cmd"']);
  assert.equal(wheres(kql('process where event.type == "start" and process.name like "cmd*"')), ['FileName startswith_cs "cmd"']);
  assert.equal(wheres(kql('process where event.type == "start" and process.name : "*.exe"')), ['FileName endswith ".exe"']);
  assert.equal(wheres(kql('process where event.type == "start" and process.name : "*md*"')), ['FileName contains "md"']);
  assert.equal(wheres(kql('process where event.type == "start" and process.name in~ ("a", "b")')), ['FileName in~ ("a", "b")']);
  assert.equal(wheres(kql('process where event.type == "start" and process.name in ("a", "b")')), ['FileName in ("a", "b")']);
  // Real globs only become regexes; `?` is one character, `*` any run, both anchored.
  assert.equal(wheres(kql('process where event.type == "start" and process.name : "a?c*d"')), ['FileName matches regex "(?is)^a.c.*d$"']);
  // `==` and `in` take wildcards literally.
  assert.equal(wheres(kql('process where event.type == "start" and process.name == "a*"')), ['FileName == "a*"']);
});

test('non-ASCII case-insensitive matches fold with tolower (KQL folds ASCII only)', () => {
  assert.equal(wheres(kql('process where event.type == "start" and process.name : "*ÄB*"')), ['tolower(FileName) contains_cs "äb"']);
});

test('negations: negated operators, and the complement keeps events without the field', () => {
  assert.equal(wheres(kql('process where event.type == "start" and process.name != "a"')), ['FileName != "a"']);
  assert.equal(wheres(kql('process where event.type == "start" and not process.name : "a"')), ['FileName !~ "a"']);
  assert.equal(wheres(kql('process where event.type == "start" and process.name not in ("a", "b")')), ['FileName !in ("a", "b")']);
  assert.equal(wheres(kql('process where event.type == "start" and not process.name : "*a*"')), ['FileName !contains "a"']);
  // A missing number is null in KQL: a bare `!=` would drop the event, Elasticsearch keeps it.
  assert.equal(wheres(kql('process where event.type == "start" and process.pid != 4')), ['isnull(ProcessId) or ProcessId != 4']);
  assert.equal(wheres(kql('process where event.type == "start" and not process.pid > 4')), ['isnull(ProcessId) or ProcessId <= 4']);
  assert.equal(wheres(kql('process where event.type == "start" and process.pid > 4')), ['ProcessId > 4']);
});

test('missing strings are "": tests that accept "" get a presence guard and declare the empty-value case', () => {
  const t = kql('process where event.type == "start" and process.name == ""');
  assert.equal(wheres(t), ['isnotempty(FileName) and FileName == ""']);
  assert.ok(codes(t).includes('EQL3205'));
  assert.equal(wheres(kql('process where event.type == "start" and process.name == null')), ['isempty(FileName)']);
  // length("") is 0, so `length(f) > 0` needs no guard, `length(f) < 3` does.
  assert.equal(wheres(kql('process where event.type == "start" and length(process.name) > 0')), ['strlen(FileName) > 0']);
  assert.equal(wheres(kql('process where event.type == "start" and length(process.name) < 3')), ['isnotempty(FileName) and strlen(FileName) < 3']);
});

test('numeric columns are compared as numbers', () => {
  const t = kql('network where destination.port == 443 and source.port in (1, 2)');
  assert.equal(wheres(t).slice(-2), ['RemotePort == 443', 'LocalPort in (1, 2)']);
});

// ---- regex ----

test('Lucene regex to RE2: groups non-capturing, quotes literal, optional operators refused', () => {
  const re = (p: string) => luceneToRe2(p, false, { dot: '.' });
  assert.equal(re('a(b|c)+"x.y"'), { ok: true, re2: 'a(?:b|c)+(?:x\\.y)' });
  assert.equal(re('[^a-z]{2,3}.'), { ok: true, re2: '[^a-z]{2,3}.' });
  assert.is(re('a~b').ok, false);
  assert.equal(re('\\d+\\S'), { ok: true, re2: '[0-9]+[^\\x09-\\x0a\\x0d ]' });
  assert.is(re('\\n').ok, false);
  assert.equal(re('^a$'), { ok: true, re2: '\\^a\\$' });
  const t = kql('process where event.type == "start" and process.name regex "a<1-5>"');
  assert.is(t.status, 'unsupported');
  assert.ok(codes(t).includes('EQL3206'));
});

// ---- args ----

test('process.args: exact element tests by default, approximate has/contains with --kql-args fast', () => {
  const q = 'process where host.os.type == "windows" and event.type == "start" and process.args : "UsoSvc"';
  const exact = kql(q);
  assert.equal(wheres(exact), ['set_has_element(parse_command_line(tolower(ProcessCommandLine), "windows"), "usosvc")']);
  assert.is(exact.status, 'exact');
  const fast = kql(q, { kqlArgs: 'fast' });
  assert.equal(wheres(fast), ['ProcessCommandLine has "UsoSvc"']);
  assert.is(fast.status, 'approximate');
  assert.is(fast.diagnostics.find((d) => d.code === 'EQL3207')?.direction, 'wider');
  // Under a negation the fast form excludes more: narrower.
  const neg = kql('process where host.os.type == "windows" and event.type == "start" and not process.args : "-x"', { kqlArgs: 'fast' });
  assert.equal(wheres(neg), ['ProcessCommandLine !contains "-x"']);
  assert.is(neg.diagnostics.find((d) => d.code === 'EQL3207')?.direction, 'narrower');
});

test('process.args without a Windows-only filter is declared (Linux/macOS command lines are joined argv)', () => {
  const t = kql('process where event.type == "start" and process.args == "-i"');
  assert.is(t.status, 'approximate');
  assert.ok(codes(t).includes('EQL3204'));
});

// ---- host.os.type ----

test('host.os.type: semi-join with DeviceInfo, or dropped and declared with --kql-os drop', () => {
  const q = 'process where host.os.type == "linux" and event.type == "start" and process.name == "sh"';
  const join = kql(q);
  assert.ok(join.output!.includes('| join kind=leftsemi (DeviceInfo | where OSPlatform == "Linux" | distinct DeviceId) on DeviceId'));
  assert.is(join.status, 'exact');
  const drop = kql(q, { kqlOs: 'drop' });
  assert.not.ok(drop.output!.includes('DeviceInfo'));
  assert.ok(codes(drop).includes('EQL3208'));
  // Nested under `or`, the OS comes from a lookup and is tested in place.
  const nested = kql('process where event.type == "start" and (host.os.type == "windows" or process.name == "sh")');
  assert.ok(nested.output!.includes('| lookup kind=leftouter (DeviceInfo'));
  assert.equal(wheres(nested), ['OSPlatform startswith_cs "Windows" or FileName == "sh"']);
});

// ---- tables and fields ----

test('process.* is the new process in process events and the initiating process elsewhere', () => {
  assert.equal(wheres(kql('process where event.type == "start" and process.parent.name == "a"')), ['InitiatingProcessFileName == "a"']);
  assert.equal(wheres(kql('file where event.type == "creation" and process.name == "a"')).slice(-1), ['InitiatingProcessFileName == "a"']);
});

test('an ActionType that also stands for event.action values the rule rejects widens, and is declared', () => {
  // ProcessCreated is exec, start, ... and Elastic's own processcreated (mappings/kql.yaml).
  const t = kql('process where event.type == "start" and event.action in ("exec", "start") and process.name == "a"');
  assert.ok(wheres(t).includes('ActionType == "ProcessCreated"'));
  const d = t.diagnostics.find((x) => x.code === 'EQL3202');
  assert.is(d?.direction, 'wider');
  assert.is(t.status, 'approximate');
  assert.is(kql('process where event.type == "start" and not event.action == "exec"').diagnostics.find((x) => x.code === 'EQL3202')?.direction, 'narrower');
  // event.type values map one to one onto file ActionTypes: nothing is lost.
  assert.ok(!codes(kql('file where event.type == "deletion" and file.name == "a"')).includes('EQL3202'));
});

test('a field without a Defender column is left out in the widening direction, and declared', () => {
  const t = kql('process where event.type == "start" and process.name == "a" and not process.code_signature.trusted == true');
  assert.equal(wheres(t), ['FileName == "a"']);
  assert.is(t.diagnostics.find((d) => d.code === 'EQL3201')?.direction, 'wider');
  const only = kql('process where event.type == "start" and process.working_directory == "x"');
  assert.is(only.status, 'unsupported');
});

test('every query ends with the columns a custom detection needs', () => {
  const t = kql('process where event.type == "start" and process.name == "a"');
  assert.ok(t.output!.trimEnd().endsWith('| project Timestamp, DeviceId, ReportId, FileName'));
});

// ---- sequences ----

test('sequences: scan over a union, keys compared, maxspan bounded; until and missing steps declared', () => {
  const t = kql('sequence by host.id with maxspan=1m [process where event.type == "start"] [file where event.type == "creation"] until [process where event.type == "end"]');
  assert.ok(t.output!.includes('step s2: SequenceStep == 2 and SequenceKey1 == s1.SequenceKey1 and Timestamp - s1.Timestamp <= 1m and isnull(s2.Timestamp1) => '), t.output!);
  assert.is(t.diagnostics.find((d) => d.code === 'EQL3212')?.direction, 'wider');
  assert.not.ok(codes(t).includes('EQL3215'));
  assertValid(t, 'sequence');
});

test('sequences: only complete sequences are returned, one row each, carrying the earlier events\' identities', () => {
  const t = kql('sequence by host.id with maxspan=5m [process where event.type == "start" and process.name == "a"] [process where event.type == "start" and process.name == "b"]');
  assert.is(t.status, 'exact');
  assert.is(
    t.output,
    [
      'union',
      '  (DeviceProcessEvents | where FileName == "a" | extend SequenceStep = 1, SequenceKey1 = DeviceId),',
      '  (DeviceProcessEvents | where FileName == "b" | extend SequenceStep = 2, SequenceKey1 = DeviceId)',
      // Elasticsearch leaves out events without a key value.
      '| where isnotempty(SequenceKey1)',
      // One event meeting both steps is two rows at one time: the higher step first, as Elasticsearch tries it.
      '| sort by SequenceKey1 asc, Timestamp asc, SequenceStep desc',
      '| scan declare (Timestamp1: datetime, DeviceId1: string, ReportId1: long) with (',
      '    step s1 output=none: SequenceStep == 1;',
      '    step s2: SequenceStep == 2 and SequenceKey1 == s1.SequenceKey1 and Timestamp - s1.Timestamp <= 5m and isnull(s2.Timestamp1) => Timestamp1 = s1.Timestamp, DeviceId1 = s1.DeviceId, ReportId1 = s1.ReportId;',
      '  )',
      '| project Timestamp, DeviceId, ReportId, Timestamp1, DeviceId1, ReportId1, FileName',
      '',
    ].join('\n'),
  );
  assertValid(t, 'two-step sequence');
});

test('sequences: runs repeat a step; middle steps output nothing and mark themselves, the last carries every earlier event', () => {
  const t = kql('sequence by host.id [process where event.type == "start" and process.name == "a"] with runs=3');
  const lines = t.output!.split('\n');
  assert.ok(lines.includes('    step s1 output=none: SequenceStep == 1;'), t.output!);
  assert.ok(lines.includes('    step s2 output=none: SequenceStep == 1 and SequenceKey1 == s1.SequenceKey1 and isnull(s2.Timestamp1) => Timestamp1 = s1.Timestamp;'), t.output!);
  assert.ok(lines.includes('    step s3: SequenceStep == 1 and SequenceKey1 == s1.SequenceKey1 and isnull(s3.Timestamp1) => Timestamp1 = s1.Timestamp, DeviceId1 = s1.DeviceId, ReportId1 = s1.ReportId, Timestamp2 = s2.Timestamp, DeviceId2 = s2.DeviceId, ReportId2 = s2.ReportId;'), t.output!);
  assert.ok(t.output!.includes('| scan declare (Timestamp1: datetime, DeviceId1: string, ReportId1: long, Timestamp2: datetime, DeviceId2: string, ReportId2: long) with ('));
  assert.is(t.status, 'exact');
  assertValid(t, 'runs');
});

test('sequences: optional keys are not required; a numeric one missing on both sides is declared narrower', () => {
  const str = kql('sequence by ?user.name [process where event.type == "start" and process.name == "a"] [process where event.type == "start" and process.name == "b"]');
  assert.not.ok(str.output!.includes('isnotempty'), str.output!);
  assert.not.ok(codes(str).includes('EQL3215'));
  const num = kql('sequence by ?process.pid [process where event.type == "start" and process.name == "a"] [process where event.type == "start" and process.name == "b"]');
  assert.is(num.diagnostics.find((d) => d.code === 'EQL3215')?.direction, 'narrower');
  assertValid(str, 'optional string key');
  assertValid(num, 'optional numeric key');
});

test('sequences: a key left out merges its values\' pending sequences, which is a different result, not a wider one', () => {
  const t = kql('sequence [process where event.type == "start" and process.name == "a"] by process.working_directory [process where event.type == "start" and process.name == "b"] by process.working_directory');
  assert.is(t.diagnostics.find((d) => d.code === 'EQL3211')?.direction, 'different');
});

test('a sequence step over several tables is a union whose branches carry the same step number', () => {
  const t = kql('sequence by process.entity_id [process where event.type == "start" and process.name == "a"] [any where event.category in ("file", "library") and process.name == "b"]');
  const out = t.output!;
  assert.ok(out.includes('(DeviceFileEvents | where InitiatingProcessFileName == "b" | extend SequenceStep = 2, SequenceKey1 = DeviceId, SequenceKey2 = InitiatingProcessId, SequenceKey3 = InitiatingProcessCreationTime)'), out);
  assert.ok(out.includes('(DeviceImageLoadEvents | where InitiatingProcessFileName == "b" | extend SequenceStep = 2,'), out);
  assert.ok(out.includes('(DeviceProcessEvents | where FileName == "a" | extend SequenceStep = 1, SequenceKey1 = DeviceId, SequenceKey2 = ProcessId, SequenceKey3 = ProcessCreationTime)'), out);
  assertValid(t, 'sequence with a union step');
});

test('startsWith/endsWith/stringContains against another field: row-wise _cs operators, both values guarded', () => {
  const ci = kql('process where event.type == "start" and startsWith~(process.executable, process.parent.executable)');
  assert.equal(wheres(ci), ['isnotempty(FolderPath) and isnotempty(InitiatingProcessFolderPath) and tolower(FolderPath) startswith_cs tolower(InitiatingProcessFolderPath)']);
  // Every string starts with "": a present but empty second value is indistinguishable from a missing one.
  assert.is(ci.diagnostics.find((d) => d.code === 'EQL3205')?.direction, 'narrower');
  const neg = kql('process where event.type == "start" and not endsWith(process.executable, process.name)');
  assert.equal(wheres(neg), ['isempty(FolderPath) or isempty(FileName) or FolderPath !endswith_cs FileName']);
  assertValid(ci, 'startsWith~');
  assertValid(neg, 'not endsWith');
});

test('a filter no Defender event can match is unsupported, not `where false`; such union branches are left out', () => {
  const t = kql('file where event.action == "open" and file.name == "x"');
  assert.is(t.status, 'unsupported');
  assert.ok(codes(t).includes('EQL3216'));
  const u = kql('any where event.category in ("file", "process") and event.action == "exec" and process.name == "a"');
  assert.not.ok(/\bwhere false\b/.test(u.output!), u.output!);
  // Declared narrower: the rule's file events with action "exec", if any exist, are not matched.
  assert.is(u.diagnostics.find((d) => d.code === 'EQL3217')?.direction, 'narrower');
  assert.ok(u.output!.startsWith('DeviceProcessEvents\n'), u.output!);
});

test('a network filter on dns.question.name reads the DNS events; driver loads are DeviceEvents DriverLoad', () => {
  const dns = kql('network where dns.question.name : "*.example"');
  assert.ok(dns.output!.startsWith('DeviceEvents\n| where ActionType == "DnsQueryResponse"\n'), dns.output!);
  assert.is(dns.diagnostics.find((d) => d.code === 'EQL3004')?.direction, 'narrower');
  // An explicit event.action keeps its own class.
  assert.ok(kql('network where event.action == "connection_attempted" and destination.port == 445').output!.startsWith('DeviceNetworkEvents\n'));
  const drv = kql('driver where dll.name : "evil.sys"');
  assert.equal(wheres(drv), ['ActionType == "DriverLoad"', 'FileName =~ "evil.sys"']);
  assertValid(drv, 'driver');
  // A listed category without a Defender table is declared, not silently left out of the union.
  const u = kql('any where event.category in ("process", "iam") and process.name == "a"');
  assert.is(u.diagnostics.find((d) => d.code === 'EQL3210')?.direction, 'narrower');
});

// ---- Microsoft's parser ----

test("every golden case, in every variant, parses and binds with Microsoft's Kusto parser", () => {
  const backend = BACKENDS.kql!;
  for (const c of goldenCases())
    for (const v of backend.variants) {
      const { source, query } = c.rule;
      assertValid(translateRule({ query: query!, meta: source.meta, text: source.query, path: source.path }, 'kql', v.options, v.name), `golden/${c.name} (${v.name})`);
    }
});

// ---- cloud logs (CloudAppEvents) ----

test('CloudTrail rules read CloudAppEvents: the AWS app, RawEventData paths, Defender for Cloud Apps columns in the project', () => {
  const t = kql('iam where data_stream.dataset == "aws.cloudtrail" and event.provider == "iam.amazonaws.com" and event.action : "AttachRolePolicy" and not aws.cloudtrail.user_identity.type == "Root"');
  assert.is(t.status, 'approximate');
  assert.ok(t.output!.startsWith('CloudAppEvents\n'), t.output!);
  assert.equal(wheres(t), [
    'Application == "Amazon Web Services"',
    'tostring(RawEventData.eventSource) == "iam.amazonaws.com"',
    'tostring(RawEventData.eventName) =~ "AttachRolePolicy"',
    // "" when the record has no userIdentity.type, which `not ==` must keep (as Elasticsearch does).
    'tostring(RawEventData.userIdentity.type) != "Root"',
  ]);
  assert.match(t.output!, /\| project Timestamp, ReportId, AccountObjectId, Application, RawEventData\n$/);
  assert.not.match(t.output!, /DeviceId|InitiatingProcess/);
  // The table holds events of every category, so `iam` is not tested (wider); the connector's coverage is
  // declared narrower; nothing else is lost here.
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'wider'], ['EQL3004', 'narrower']]);
  assertValid(t, 'cloudtrail');
});

test('CloudTrail: the request_parameters text and the derived event.outcome are left out, declared wider', () => {
  const t = kql('any where event.dataset == "aws.cloudtrail" and event.action == "PutBucketPolicy" and event.outcome == "success" and stringContains(aws.cloudtrail.request_parameters, "Effect=Allow")');
  assert.is(t.status, 'approximate');
  assert.equal(wheres(t), ['Application == "Amazon Web Services"', 'tostring(RawEventData.eventName) == "PutBucketPolicy"']);
  const dropped = t.diagnostics.filter((d) => d.code === 'EQL3201');
  assert.equal(dropped.map((d) => [d.message.split(' ')[0], d.direction]), [['event.outcome', 'wider'], ['aws.cloudtrail.request_parameters', 'wider']]);
  assertValid(t, 'cloudtrail dropped');
  // Only conditions on fields without an equivalent: nothing to emit.
  assert.is(kql('any where data_stream.dataset == "aws.cloudtrail" and event.outcome == "success"').status, 'unsupported');
});

test('CloudTrail: hostile values inside a RawEventData test keep the query structure', () => {
  const eqlString = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  for (const v of ['x") or (1==1', 'C:\\Temp\\', '\\', '\\"; | where true', 'a\nb']) {
    const t = kql(`any where data_stream.dataset == "aws.cloudtrail" and user_agent.original : ${eqlString('*' + v + '*')}`);
    assert.is(wheres(t).length, 2, t.output!);
    assertValid(t, v);
  }
});

test('a cloud class is never chosen for endpoint rules, and its fields never leak into Device tables', () => {
  // iam events without a dataset: no Defender table (as before CloudAppEvents was mapped).
  assert.is(kql('iam where event.action == "user-added" and user.name == "x"').status, 'unsupported');
  const t = kql('process where event.type == "start" and user.name == "x"');
  assert.equal(wheres(t), ['AccountName == "x"']);
});

// ---- Kubernetes audit logs (CloudAuditEvents) ----

const K8S = 'any where data_stream.dataset == "kubernetes.audit_logs" and ';

test('Kubernetes audit rules read CloudAuditEvents: the verb as OperationName, the audit event in RawEventData', () => {
  const t = kql(K8S + 'kubernetes.audit.verb == "delete" and kubernetes.audit.objectRef.resource == "events" and not kubernetes.audit.objectRef.namespace == "kube-system"');
  assert.is(t.status, 'approximate');
  assert.ok(t.output!.startsWith('CloudAuditEvents\n'), t.output!);
  assert.equal(wheres(t), [
    'DataSource in ("Azure Kubernetes Service", "Kubernetes Audit")',
    'OperationName == "delete"',
    'tostring(RawEventData.ObjectRef.resource) == "events"',
    // "" when the record names no namespace, which `not ==` keeps (as Elasticsearch does).
    'tostring(RawEventData.ObjectRef.namespace) != "kube-system"',
  ]);
  // A cloud log: the custom detection columns are its own, no Device* column.
  assert.match(t.output!, /\n\| project Timestamp, ReportId, /);
  assert.not.match(t.output!, /DeviceId|InitiatingProcess/);
  // Only the undocumented DataSource of non-AKS clusters is lost.
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'narrower']]);
  assertValid(t, 'k8s');
});

test('Kubernetes audit: inferred keys are declared different, arrays and annotations are left out (wider)', () => {
  const t = kql(K8S + 'kubernetes.audit.stage == "ResponseComplete" and not kubernetes.audit.user.groups == "system:masters" and kubernetes.audit.user.username == "alice"');
  assert.equal(wheres(t).slice(1), ['tostring(RawEventData.Stage) == "ResponseComplete"', 'tostring(RawEventData.User.username) == "alice"']);
  const byCode = (c: string) => t.diagnostics.filter((d) => d.code === c).map((d) => [d.message.split(' ')[0], d.direction]);
  assert.equal(byCode('EQL3006'), [['kubernetes.audit.stage', 'different']]);
  assert.equal(byCode('EQL3201'), [['kubernetes.audit.user.groups', 'wider']]);
  assertValid(t, 'k8s inferred');
  // Endpoint rules never read the audit log, and its fields never reach Device tables.
  assert.not.match(kql('process where event.type == "start" and process.name == "kubectl"').output!, /CloudAuditEvents/);
});

test('Kubernetes audit: hostile values inside a RawEventData test keep the query structure', () => {
  const eqlString = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  for (const v of ['x") or (1==1', 'C:\\Temp\\', '\\', '\\"; | where true', 'a\nb']) {
    const t = kql(K8S + `kubernetes.audit.requestURI : ${eqlString('*' + v + '*')}`);
    assert.is(wheres(t).length, 2, t.output!);
    assertValid(t, v);
  }
});

test('Kubernetes audit sequences: a RawEventData key, ReportId carried as the string it is in cloud tables', () => {
  const t = kql(`sequence by user.name with maxspan=5m [${K8S}kubernetes.audit.objectRef.resource == "roles"] [${K8S}kubernetes.audit.objectRef.resource == "deployments"]`);
  assert.is(t.status, 'approximate');
  assert.match(t.output!, /\| extend SequenceStep = 1, SequenceKey1 = tostring\(RawEventData\.User\.username\)\)/);
  assert.match(t.output!, /\| scan declare \(Timestamp1: datetime, ReportId1: string\) with/);
  // The key reads RawEventData: the column (not the expression) is projected.
  assert.match(t.output!, /\| project Timestamp, ReportId, Timestamp1, ReportId1, DataSource, RawEventData\n$/);
  assertValid(t, 'k8s sequence');
});

test('a sequence over a Device table and a cloud log makes ReportId a string in the Device branch, so the union keeps one column', () => {
  const t = kql(`sequence with maxspan=1s [process where event.type == "start" and process.name == "kubectl"] [${K8S}kubernetes.audit.verb == "create"]`);
  assert.is(t.status, 'approximate');
  const [dev, cloud] = t.output!.split('\n').filter((l) => l.startsWith('  ('));
  assert.match(dev!, /^  \(DeviceProcessEvents .*\| extend ReportId = tostring\(ReportId\) \| extend SequenceStep = 1\),$/);
  assert.not.match(cloud!, /tostring\(ReportId\)/);
  assert.match(t.output!, /declare \(Timestamp1: datetime, ReportId1: string\)/);
  assertValid(t, 'device + cloud');
});

// ---- sequence keys ----

test('scan keys: two keys on one column (host.id and an entity id both hold DeviceId) are compared once', () => {
  const t = kql('sequence by host.id [process where event.type == "start"] by process.entity_id [file where event.type == "creation"] by process.entity_id');
  assert.match(t.output!, /SequenceKey1 = DeviceId, SequenceKey2 = ProcessId, SequenceKey3 = ProcessCreationTime\)/);
  assert.match(t.output!, /SequenceKey1 = DeviceId, SequenceKey2 = InitiatingProcessId, SequenceKey3 = InitiatingProcessCreationTime\)/);
  assert.not.match(t.output!, /SequenceKey4/);
  assert.match(t.output!, /step s2: SequenceStep == 2 and SequenceKey1 == s1\.SequenceKey1 and SequenceKey2 == s1\.SequenceKey2 and SequenceKey3 == s1\.SequenceKey3 and /);
  assertValid(t, 'dedupe');
  // A column repeated in one step only is a different key in the other: both positions stay.
  const u = kql('sequence [process where event.type == "start"] by host.id, host.id [file where true] by host.id, host.name');
  assert.match(u.output!, /\(DeviceProcessEvents \| extend SequenceStep = 1, SequenceKey1 = DeviceId, SequenceKey2 = DeviceId\)/);
  assert.match(u.output!, /\(DeviceFileEvents \| extend SequenceStep = 2, SequenceKey1 = DeviceId, SequenceKey2 = DeviceName\)/);
});

// ---- DeviceEvents actions ----

test('macOS DNS results read DnsQueryResponse rows, declared different (one row per lookup is not confirmed)', () => {
  const t = kql('network where event.action == "lookup_result" and dns.question.name : "*.example.com"');
  assert.equal(wheres(t), ['ActionType == "DnsQueryResponse"', 'tostring(parse_json(AdditionalFields).DnsQueryString) endswith ".example.com"']);
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'different']]);
  assertValid(t, 'dns result');
});

test('Windows service installations read ServiceInstalled rows; the class is chosen only when the rule names the action', () => {
  const t = kql('configuration where event.action == "service-installed" and winlog.event_data.ServiceAccount == "LocalSystem" and not winlog.event_data.ServiceName : "PSEXESVC"');
  assert.ok(t.output!.startsWith('DeviceEvents\n'), t.output!);
  assert.equal(wheres(t), [
    'ActionType == "ServiceInstalled"',
    'tostring(parse_json(AdditionalFields).ServiceAccount) == "LocalSystem"',
    'tostring(parse_json(AdditionalFields).ServiceName) !~ "PSEXESVC"',
  ]);
  // The source's population and each community-sourced AdditionalFields key are declared different.
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'different'], ['EQL3006', 'different'], ['EQL3006', 'different']]);
  assertValid(t, 'service');
  // `any` with the action reads the same rows (no union of every table); that they are iam/configuration events
  // (as Elastic writes 4697) is declared.
  const any = kql('any where event.action : "service-installed"');
  assert.ok(any.output!.startsWith('DeviceEvents\n| where ActionType == "ServiceInstalled"\n'), any.output!);
  assert.ok(any.diagnostics.some((d) => d.code === 'EQL3004' && d.direction === 'narrower' && /only holds iam or configuration events/.test(d.message)));
  // Other configuration or iam events still have no Defender table: ServiceInstalled is not a fallback.
  assert.is(kql('configuration where process.name == "x"').status, 'unsupported');
  assert.is(kql('iam where event.action == "added-user-account"').status, 'unsupported');
});

test('members added to a group read UserAccountAddedToLocalGroup, narrower (local groups only)', () => {
  const t = kql('iam where event.action == "added-member-to-group" and group.name : "Administrators" and group.id : "S-1-5-32-*"');
  assert.equal(wheres(t), [
    'ActionType == "UserAccountAddedToLocalGroup"',
    'tostring(parse_json(AdditionalFields).GroupName) =~ "Administrators"',
    'tostring(parse_json(AdditionalFields).GroupSid) startswith "S-1-5-32-"',
  ]);
  // Narrower population; where the group sits in the row is unsettled between Microsoft's query and an export.
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'narrower'], ['EQL3006', 'different'], ['EQL3006', 'different']]);
  assertValid(t, 'group');
});

// ---- Active Directory changes (Defender for Identity, IdentityDirectoryEvents) ----

test('4781 account renames read SAM Account Name changed rows, FROM/TO keys indexed, no device columns', () => {
  const t = kql('iam where host.os.type == "windows" and event.action == "renamed-user-account" and winlog.event_data.OldTargetUserName : "*$" and not winlog.event_data.NewTargetUserName : "*$"');
  assert.is(t.status, 'approximate');
  assert.ok(t.output!.startsWith('IdentityDirectoryEvents\n'), t.output!);
  assert.equal(wheres(t), [
    'ActionType == "SAM Account Name changed"',
    'tostring(parse_json(AdditionalFields)["FROM SAM Account Name"]) endswith "$"',
    // A row without the key gives "", which `!endswith` keeps, as Elasticsearch keeps an event without the field.
    'tostring(parse_json(AdditionalFields)["TO SAM Account Name"]) !endswith "$"',
  ]);
  // The table has no DeviceId: host.os.type is what the class holds (domain controllers), not a DeviceInfo join.
  assert.not.match(t.output!, /DeviceId|DeviceInfo/);
  assert.match(t.output!, /\| project Timestamp, ReportId, AccountSid, ActionType, AdditionalFields\n$/);
  // Only the population differs: local accounts of member machines are not in the table.
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'narrower']]);
  assertValid(t, 'sam rename');
  // Case-sensitive EQL stays case-sensitive; the actor is declared different.
  const cs = kql('iam where host.os.type == "windows" and event.action == "renamed-user-account" and winlog.event_data.NewTargetUserName == "DC01" and winlog.event_data.SubjectUserName == "eve"');
  assert.equal(wheres(cs).slice(1), ['tostring(parse_json(AdditionalFields)["TO SAM Account Name"]) == "DC01"', 'AccountName == "eve"']);
  assert.ok(cs.diagnostics.some((d) => d.code === 'EQL3006' && d.direction === 'different' && /acting account/.test(d.message)));
  assertValid(cs, 'sam rename cs');
  // Without host.os.type the rule also reads non-Windows events, which the table does not hold.
  const anyOs = kql('iam where event.action == "renamed-user-account" and winlog.event_data.NewTargetUserName == "x"');
  assert.ok(anyOs.diagnostics.some((d) => d.code === 'EQL3004' && d.direction === 'narrower' && /host\.os\.type "windows"/.test(d.message)), JSON.stringify(anyOs.diagnostics));
});

test('4728 global group additions read Group Membership changed rows, declared wider; the group SID has no key', () => {
  const t = kql('iam where host.os.type == "windows" and event.code == "4728" and winlog.event_data.SubjectUserSid : "S-1-5-18" and not group.id : "S-1-5-21-*-513"');
  assert.ok(t.output!.startsWith('IdentityDirectoryEvents\n'), t.output!);
  assert.equal(wheres(t), ['ActionType == "Group Membership changed"', 'AccountSid =~ "S-1-5-18"']);
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'wider'], ['EQL3006', 'different'], ['EQL3201', 'wider']]);
  assertValid(t, '4728');
  const named = kql('iam where host.os.type == "windows" and event.code == "4728" and group.name == "Domain Admins"');
  assert.equal(wheres(named), ['ActionType == "Group Membership changed"', 'tostring(parse_json(AdditionalFields)["TO.GROUP"]) == "Domain Admins"']);
  assertValid(named, '4728 group name');
  // The action Elastic writes for 4728 is the class's ActionType, tested once; another action never holds there.
  const both = kql('iam where host.os.type == "windows" and event.action == "added-member-to-group" and event.code == "4728" and group.name == "Domain Admins"');
  assert.equal(wheres(both), wheres(named));
  assert.equal(both.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'wider']]);
  assert.ok(codes(kql('iam where host.os.type == "windows" and event.action == "removed-member-from-group" and event.code == "4728"')).includes('EQL3216'));
  // Every condition on a field without a column: nothing is left to emit (not "every group change").
  const onlySid = kql('iam where host.os.type == "windows" and event.code == "4728" and group.id : "S-1-5-21-*-512"');
  assert.is(onlySid.status, 'unsupported');
  assert.ok(codes(onlySid).includes('EQL3209'));
  // A 4738 user change has no Defender for Identity class: still no Defender table.
  assert.is(kql('any where host.os.type == "windows" and event.code == "4738" and winlog.event_data.NewUACList == "USER_DONT_REQUIRE_PREAUTH"').status, 'unsupported');
});

test('4738 never-expires: the flag being set (TO true, as Microsoft\'s queries test it); pre-authentication has no activity', () => {
  const t = kql('iam where host.os.type == "windows" and event.code == "4738" and winlog.event_data.NewUACList == "USER_DONT_EXPIRE_PASSWORD" and winlog.event_data.SubjectUserName : "admin"');
  assert.ok(t.output!.startsWith('IdentityDirectoryEvents\n'), t.output!);
  // The flag's ActionType is the class's own filter, so the NewUACList test is not repeated.
  assert.equal(wheres(t), ['ActionType == "Account Password Never Expires changed"', 'tobool(parse_json(AdditionalFields)["TO Account Password Never Expires"])', 'AccountName =~ "admin"']);
  // The NewUACList test is the class itself (its `when`): what the flag list means is in the class's declaration.
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'narrower'], ['EQL3006', 'different']]);
  assert.match(t.diagnostics[0]!.message, /NewUACList lists every flag/);
  assertValid(t, '4738');
  const preauth = kql('any where host.os.type == "windows" and event.code == "4738" and winlog.event_data.NewUACList == "USER_DONT_REQUIRE_PREAUTH"');
  assert.is(preauth.status, 'unsupported');
  // The class holds the never-expires flag only (its `when`): no Defender table reads a 4738 for this one.
  assert.ok(codes(preauth).includes('EQL3003'), JSON.stringify(preauth.diagnostics));
});

test('an or no table reads as a whole: branches naming a Defender for Identity event are rendered, the rest left out (narrower)', () => {
  const eql = 'any where host.os.type == "windows" and ((event.code == "4738" and winlog.event_data.NewUACList == "USER_DONT_EXPIRE_PASSWORD") or (event.code == "5136" and winlog.event_data.AttributeLDAPDisplayName == "userAccountControl"))';
  const t = kql(eql);
  assert.is(t.status, 'approximate');
  assert.equal(wheres(t), ['ActionType == "Account Password Never Expires changed"', 'tobool(parse_json(AdditionalFields)["TO Account Password Never Expires"])']);
  const left = t.diagnostics.filter((d) => d.code === 'EQL3240');
  assert.equal(left.map((d) => [d.direction, eql.slice(d.span!.start.offset, d.span!.start.offset + 20)]), [['narrower', 'event.code == "5136"']]);
  assert.match(t.output!, /\| project Timestamp, ReportId, AccountSid, /);
  assertValid(t, 'or split');
  // Two branches of such logs: a union with one set of identifying columns.
  const both = kql('iam where host.os.type == "windows" and ((event.code == "4738" and winlog.event_data.NewUACList == "USER_DONT_EXPIRE_PASSWORD") or (event.code == "4728" and group.name == "x\\"y"))');
  assert.ok(both.output!.startsWith('union\n  (IdentityDirectoryEvents | where ActionType == "Account Password Never Expires changed" | '), both.output!);
  assert.match(both.output!, /\(IdentityDirectoryEvents \| where ActionType == "Group Membership changed" \| where tostring\(parse_json\(AdditionalFields\)\["TO\.GROUP"\]\) == @"x""y"\)\n/);
  assert.not.ok(codes(both).includes('EQL3240'));
  assertValid(both, 'or split union');
  // An or over endpoint events is rendered whole, as before (no branch names another product's log).
  const endpoint = kql('process where event.type == "start" and (process.name == "a.exe" or process.pe.original_file_name == "b.exe")');
  assert.equal(wheres(endpoint), ['FileName == "a.exe" or ProcessVersionInfoOriginalFileName == "b.exe"']);
  assert.not.ok(codes(endpoint).includes('EQL3240'));
  // Neither branch readable: unsupported, with the whole filter's reason.
  const none = kql('any where host.os.type == "windows" and ((event.code == "5137" and winlog.event_data.ObjectDN : "DC=*") or (event.code == "5136" and winlog.event_data.AttributeValue == "x"))');
  assert.is(none.status, 'unsupported');
  assert.not.ok(codes(none).includes('EQL3240'));
});

test('Defender for Identity keys: hostile values keep the query structure', () => {
  const eqlString = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  for (const v of ['x"] | where true //', 'C:\\Temp\\', '\\', '\\"; | where true', 'a\nb', '*?literal', 'é"\'']) {
    const t = kql(`iam where host.os.type == "windows" and event.action == "renamed-user-account" and winlog.event_data.NewTargetUserName == ${eqlString(v)}`);
    assert.is(wheres(t).length, 2, t.output!);
    assert.ok(wheres(t)[1]!.startsWith('tostring(parse_json(AdditionalFields)["TO SAM Account Name"]) == '), t.output!);
    assertValid(t, v);
  }
  // A key from a user's mapping is a string literal too, whatever it holds.
  const dir = mkdtempSync(join(tmpdir(), 'eqlport-kql-'));
  const file = join(dir, 'm.yaml');
  writeFileSync(file, 'target: kql\nclasses:\n  - name: ad_account_renamed\n    fields:\n      winlog.event_data.NewTargetUserName: { field: AdditionalFields, transform: \'json:x"] | where true //\' }\n');
  const t = kql('iam where host.os.type == "windows" and event.action == "renamed-user-account" and winlog.event_data.NewTargetUserName == "a"', { mappingFiles: [file] });
  assert.equal(wheres(t)[1], 'tostring(parse_json(AdditionalFields)[@"x""] | where true //"]) == "a"');
  assertValid(t, 'hostile key');
});

// The target is 90%: 695/769 (90.4%) convert, Windows Security log rules among them through Sentinel's
// SecurityEvent and Entra audit logs, Identity Protection and FortiGate through Sentinel's AuditLogs,
// AADUserRiskEvents and CommonSecurityLog (docs/kql.md). The rest have no Defender or Sentinel equivalent found:
// process end, fork, uid-change and Linux account events and file opens Defender does not record; Windows Security
// log rules whose fields Elastic derives (4738's NewUACList); a Linux-to-Windows sequence joined only on addresses;
// filters whose every condition is on a field without a column (auditd.*, Sysmon's CallTrace); sequences none of whose keys has a column (EQL3248); and logs no table holds:
// AAD Graph, Google Workspace (ASN enrichment), network_traffic, FortiOS configuration keys. A regression floor.
test('library loads: file.name and file.path are the loaded image, as dll.name and dll.path', () => {
  const t = kql('library where host.os.type == "windows" and (dll.name : "jscript.dll" or file.path : "C:\\\\Windows\\\\System32\\\\vbscript.dll")');
  assert.ok(t.output!.startsWith('DeviceImageLoadEvents\n'), t.output!);
  assert.equal(wheres(t)[0], 'FileName =~ "jscript.dll" or FolderPath =~ @"C:\\Windows\\System32\\vbscript.dll"');
  assertValid(t, 'library file fields');
});

test('corpus: at least 90.3% of the rules convert, and every output parses and binds', () => {
  const dir = shared('corpus');
  if (!dir) return;
  const { rules } = loadRules([dir]);
  let converted = 0;
  let total = 0;
  const problems: string[] = [];
  for (const r of rules) {
    if (!r.query) continue;
    total++;
    const t = translateRule({ query: r.query, meta: r.source.meta, text: r.source.query, path: r.source.path }, 'kql');
    if (t.status === 'unsupported') continue;
    converted++;
    const errs = kustoErrors(t.output!);
    if (errs.length) problems.push(`${r.source.path}\n${t.output}\n${formatKustoProblems(errs)}`);
  }
  assert.ok(!problems.length, `${problems.length} outputs rejected:\n${problems.slice(0, 5).join('\n\n')}`);
  assert.ok(converted / total >= 0.903, `${converted}/${total} converted`);
});


test('Lucene regex read as the native matcher does: ^ $ literal, \\d as [0-9], invalid escapes refused, classes exact', () => {
  const P = 'process where event.type == "start" and ';
  const t = kql(P + 'process.name regex "a$b^c"');
  assert.is(t.status, 'exact');
  const lit = /matches regex @"((?:[^"]|"")*)"/.exec(t.output!)![1]!.replace(/""/g, '"');
  const re = RE2JS.compile(lit);
  assert.ok(re.matches('a$b^c'), lit);
  assert.not.ok(re.matches('abc'));
  assert.is(kql(P + 'process.name regex "[0-9]{3}"').status, 'exact');
  const digits = kql(P + 'process.name regex "\\\\d+"');
  assert.is(digits.status, 'exact');
  const dre = RE2JS.compile(/matches regex @?"([^"\\]*)"/.exec(digits.output!)![1]!);
  assert.ok(dre.matches('123'));
  assert.not.ok(dre.matches('12a'));
  const d = kql(P + 'process.name regex "\\\\n"');
  assert.is(d.status, 'unsupported');
  assert.ok(codes(d).includes('EQL3206'));
});

test('regex~ spells its ASCII folding instead of (?i), which would fold non-ASCII letters and U+212A too', () => {
  const P = 'process where event.type == "start" and ';
  const t = kql(P + 'process.name regex~ "é[k-m]k"');
  assert.is(t.status, 'exact');
  const lit = /matches regex @?"([^"\\]*)"/.exec(t.output!)![1]!;
  assert.not.ok(lit.includes('(?i'), lit);
  const re = RE2JS.compile(lit);
  assert.ok(re.matches('élK'));
  // Lucene folds no range and, in Lucene 9, no non-ASCII letter; RE2's `(?i)` would also take U+212A for `k`.
  for (const miss of ['Élk', 'éLk', 'él\u212a']) assert.not.ok(re.matches(miss), miss);
  // Over the arguments (joined with NUL), likewise.
  const args = kql(P + 'process.args regex~ ("ak", "x+")');
  const are = RE2JS.compile(/matches regex @?"((?:[^"]|"")*)"/.exec(args.output!)![1]!.replace(/""/g, '"'));
  // `matches regex` searches.
  for (const hit of ['aK', 'run\x00AK', 'XX']) assert.ok(are.matcher(hit).find(), JSON.stringify(hit));
  assert.not.ok(are.matcher('a\u212a').find());
  // A complement class stays inside one argument: it also excludes the NUL that joins them.
  assert.ok(kql(P + 'process.args regex "\\\\D+"').output!.includes('(?:[^0-9\\x00]+)'));
});


// ---- SaaS audit logs through Defender for Cloud Apps' app connectors (CloudAppEvents) ----

const GH = 'configuration where data_stream.dataset == "github.audit" and ';
const OKTA = 'any where data_stream.dataset == "okta.system" and ';
const saasString = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

test('GitHub audit rules read CloudAppEvents rows of the app GitHub; the category is the head of the action; the record layout is declared different', () => {
  const t = kql(GH + 'github.category == "protected_branch" and event.type == "change"');
  assert.is(t.status, 'approximate');
  assert.ok(t.output!.startsWith('CloudAppEvents\n'), t.output!);
  // Elastic groks github.category out of the action (^[a-z_]+ before the first dot); "" where it has none.
  assert.equal(wheres(t), ['Application == "GitHub"', 'extract(@"^([a-z_]+)\\.", 1, tostring(RawEventData.action)) == "protected_branch"']);
  assert.match(t.output!, /\| project Timestamp, ReportId, AccountObjectId, Application, RawEventData\n$/);
  // Every GitHub entry is a configuration event (the pipeline's category): not tested, nothing lost. The
  // undocumented RawEventData layout is declared on the class; event.type (derived from words of the action) is
  // left out, wider.
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'different'], ['EQL3201', 'wider']]);
  assert.match(t.diagnostics[0]!.message, /GitHub connector/);
  assertValid(t, 'github');
});

test('GitHub: event.dataset names the log too; an iam rule reads every entry (declared wider); plain RawEventData keys', () => {
  const t = kql('iam where event.dataset == "github.audit" and event.action == "org.add_member" and github.permission == "admin" and not user.name : "bot*"');
  assert.equal(wheres(t), [
    'Application == "GitHub"',
    'tostring(RawEventData.action) == "org.add_member"',
    'tostring(RawEventData.permission) == "admin"',
    // The negated operator keeps an entry without an actor ("" does not start with "bot"), as Elasticsearch
    // does for a missing user.name.
    'tostring(RawEventData.actor) !startswith "bot"',
  ]);
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]).sort(), [['EQL3004', 'different'], ['EQL3004', 'wider']]);
  assertValid(t, 'github iam');
  // A negated category test keeps entries whose action has no category ("" != "repo"), as Elasticsearch keeps
  // events without github.category.
  assert.equal(wheres(kql(GH + 'not github.category == "repo"')).slice(1), ['extract(@"^([a-z_]+)\\.", 1, tostring(RawEventData.action)) != "repo"']);
});

test('GitHub and Okta: hostile values inside RawEventData tests keep the query structure', () => {
  for (const v of ['x") or (1==1', 'C:\\Temp\\', '\\', '\\"; | where true', 'a\nb', 'a | project x', '""', "it's"])
    for (const q of [
      GH + `github.repo == ${saasString(v)}`,
      GH + `github.repo : ${saasString('*' + v + '*')}`,
      GH + `github.category in (${saasString(v)}, "repo")`,
      OKTA + `okta.outcome.reason != ${saasString(v)}`,
      OKTA + `okta.debug_context.debug_data.factor like~ ${saasString(v + '*')}`,
    ]) {
      const t = kql(q);
      assert.ok(t.output, `${q}: ${t.diagnostics.map((d) => d.message).join('; ')}`);
      assert.is(wheres(t).length, 2, `${q}\n${t.output}`);
      assertValid(t, q);
    }
});

test('Okta System Log rules read CloudAppEvents rows of the app Okta; sequence keys are RawEventData paths; target lists are left out', () => {
  const t = kql(`sequence by okta.actor.id with maxspan=10m [${OKTA}okta.event_type == "user.mfa.okta_verify.deny_push"] [${OKTA}okta.event_type == "user.session.start" and okta.outcome.result == "SUCCESS"]`);
  assert.is(t.status, 'approximate');
  assert.match(t.output!, /\(CloudAppEvents \| where Application == "Okta" \| where tostring\(RawEventData\.eventType\) == "user\.mfa\.okta_verify\.deny_push" \| extend SequenceStep = 1, SequenceKey1 = tostring\(RawEventData\.actor\.id\)\)/);
  assert.match(t.output!, /tostring\(RawEventData\.outcome\.result\) == "SUCCESS"/);
  assert.match(t.output!, /\| scan declare \(Timestamp1: datetime, ReportId1: string\) with/);
  // One class-level declaration per step: the connector's coverage and record layout are not documented.
  assert.equal(t.diagnostics.map((d) => [d.code, d.direction]), [['EQL3004', 'different'], ['EQL3004', 'different']]);
  assertValid(t, 'okta sequence');
  // okta.target is a list of objects: a RawEventData path would not test it element-wise, so it is left out.
  const target = kql(OKTA + 'okta.event_type == "user.mfa.factor.deactivate" and okta.target.id == "u1"');
  assert.equal(wheres(target), ['Application == "Okta"', 'tostring(RawEventData.eventType) == "user.mfa.factor.deactivate"']);
  assert.ok(target.diagnostics.some((d) => d.code === 'EQL3201' && d.direction === 'wider' && d.message.startsWith('okta.target.id')));
});

test('SaaS classes are never chosen without their dataset, and their fields never reach Device tables', () => {
  assert.not.match(kql('configuration where event.action == "org.add_member"').output ?? '', /GitHub|RawEventData/);
  assert.not.match(kql('process where event.type == "start" and user.name == "x"').output!, /CloudAppEvents/);
  // Another vendor's dataset is no GitHub or Okta log.
  assert.is(kql('any where data_stream.dataset == "github.code_scanning" and event.action == "x"').status, 'unsupported');
});

test('a mapping file naming a table or column that is no Kusto identifier is refused, never emitted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kql-names-'));
  const hostile = [
    'classes:\n  - name: process_start\n    fields: { process.name: \'FileName == "x" or true or FileName\' }\n',
    'classes:\n  - name: process_start\n    source: { table: "DeviceProcessEvents | where true" }\n',
    'classes:\n  - name: github_audit\n    source: { filter: { "Application == 1 or Application": GitHub } }\n',
    'classes:\n  - name: github_audit\n    source: { project: [Timestamp, "ReportId | take 1"] }\n',
    'classes:\n  - name: process_start\n    source: { time_column: "TimeGenerated | where true" }\n',
    'classes:\n  - name: process_start\n    source: { row_id: "Id; drop" }\n',
    'classes:\n  - name: process_start\n    source: { identity: [Timestamp, "Computer)"] }\n',
    'classes:\n  - name: process_start\n    source: { column_types: { ReportId: "string) with (step s1: true;) | take 1 //" } }\n',
  ];
  for (const [i, body] of hostile.entries()) {
    const file = join(dir, `m${i}.yaml`);
    writeFileSync(file, `target: kql\n${body}`);
    const t = kql('process where event.type == "start" and process.name == "a.exe"', { mappingFiles: [file] });
    assert.equal([t.status, t.output, t.diagnostics.map((d) => d.code)], ['unsupported', null, ['EQL4101']], body);
  }
  // A well-formed override still works.
  const ok = join(dir, 'ok.yaml');
  writeFileSync(ok, 'target: kql\nclasses:\n  - name: process_start\n    fields: { process.name: ProcessVersionInfoOriginalFileName }\n');
  assert.match(kql('process where event.type == "start" and process.name == "a.exe"', { mappingFiles: [ok] }).output!, /ProcessVersionInfoOriginalFileName == "a\.exe"/);
});

test.run();
