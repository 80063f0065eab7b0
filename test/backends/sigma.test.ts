import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseQuery } from '../../src/parse.js';
import { translateRule } from '../../src/translate/index.js';
import { encodeSigmaString, uuidV5 } from '../../src/backends/sigma.js';
import type { RuleMeta } from '../../src/rules.js';
import { goldenCases } from '../helpers/golden.js';
import { parseSigma, sigmaSchemaErrors } from '../helpers/sigma-schema.js';

const meta: RuleMeta = { rule_id: '00000000-0000-4000-8000-000000000001', name: 'Test rule', threat: [], metadata: {} };

function sigma(eql: string, m: RuleMeta = meta) {
  const { query, diagnostics } = parseQuery(eql);
  assert.ok(query, diagnostics.map((d) => d.message).join('; '));
  return translateRule({ query: query!, meta: m, text: eql, path: 'test.eql' }, 'sigma');
}
/** The detection of the (first) rule, parsed back from the YAML. */
function detection(eql: string): Record<string, unknown> {
  const t = sigma(eql);
  assert.ok(t.output, t.diagnostics.map((d) => d.message).join('; '));
  assert.equal(sigmaSchemaErrors(t.output!), []);
  return parseSigma(t.output!)[0]!.detection as Record<string, unknown>;
}
const win = (cond: string) => `process where host.os.type == "windows" and event.type == "start" and ${cond}`;

test('Sigma string escaping follows the specification: literal wildcards escaped, backslash doubled before wildcards and at the end', () => {
  assert.is(encodeSigmaString([{ lit: 'C:\\Windows\\System32\\cmd.exe' }]), 'C:\\Windows\\System32\\cmd.exe');
  assert.is(encodeSigmaString([{ lit: 'C:\\Windows\\' }, { wild: '*' }]), 'C:\\Windows\\\\*');
  assert.is(encodeSigmaString([{ lit: 'a*b?' }]), 'a\\*b\\?');
  assert.is(encodeSigmaString([{ lit: 'C:\\Temp\\' }]), 'C:\\Temp\\\\');
  assert.is(encodeSigmaString([{ lit: '\\\\server\\share' }]), '\\\\\\\\server\\share');
  assert.is(encodeSigmaString([{ lit: 'x\\*' }]), 'x\\\\\\*');
});

test('the example shape: process.name becomes Image|endswith with the OS separator; exclusions are filters', () => {
  const d = detection(win('process.parent.name : "svchost.exe" and not process.name : ("a.exe", "b.exe")'));
  assert.equal(d.selection, { 'ParentImage|endswith': '\\svchost.exe' });
  assert.equal(d.filter_img, { 'Image|endswith': ['\\a.exe', '\\b.exe'] });
  assert.is(d.condition, 'selection and not filter_img');
  const linux = detection('process where host.os.type == "linux" and event.type == "start" and process.name : "bash"');
  assert.equal(linux.selection, { 'Image|endswith': '/bash' });
});

test('case-sensitive comparisons get |cased; case-insensitive ones do not', () => {
  assert.equal(detection(win('process.command_line == "A b"')).selection, { 'CommandLine|cased': 'A b' });
  assert.equal(detection(win('process.command_line : "A b"')).selection, { CommandLine: 'A b' });
  assert.equal(detection(win('process.command_line like "A*"')).selection, { 'CommandLine|startswith|cased': 'A' });
  assert.equal(detection(win('process.command_line in~ ("a", "b")')).selection, { CommandLine: ['a', 'b'] });
  assert.equal(detection(win('process.command_line regex~ "a.c"')).selection, { 'CommandLine|re': '^(?:[aA][\\s\\S][cC])$' });
});

test('hostile strings round-trip through YAML and Sigma escaping to the same value', () => {
  const hostile = ["it's", 'a"b', 'C:\\Temp\\', 'a | b', 'line\nbreak\r\tx', 'ünï😀', '*literal?', "''\\\\", 'x: y # z'];
  for (const h of hostile) {
    const eql = win(`process.command_line == ${JSON.stringify(h)}`);
    const sel = detection(eql).selection as Record<string, string>;
    const text = sel['CommandLine|cased']!;
    // Undo Sigma's escaping (pySigma's reading): `\` before `*`, `?` or `\` escapes it.
    const decoded = text.replace(/\\([*?\\])/g, '$1');
    assert.is(decoded, h, `value ${JSON.stringify(h)} encoded as ${JSON.stringify(text)}`);
    assert.ok(!/(^|[^\\])(\\\\)*[*?]/.test(text), `unescaped wildcard in ${JSON.stringify(text)}`);
  }
});

test('wildcards meant as wildcards stay unescaped, and a backslash before one is doubled', () => {
  const d = detection(win('process.executable : "?:\\\\Users\\\\*\\\\x.exe"'));
  assert.equal(d.selection, { Image: '?:\\Users\\\\*\\x.exe' });
});

test('negation is a plain complement: != and not in become filters (true for events without the field)', () => {
  const d = detection(win('process.command_line != "x" and process.parent.command_line not in ("a", "b")'));
  assert.equal(d.filter_cli, { 'CommandLine|cased': 'x' });
  assert.equal(d.filter_parent_cli, { 'ParentCommandLine|cased': ['a', 'b'] });
  assert.is(d.condition, 'not 1 of filter_*');
});

test('numbers stay numbers; cidr, exists and comparisons use their modifiers', () => {
  const d = detection('network where event.type == "start" and destination.port >= 1024 and source.port == 53 and cidrMatch(destination.ip, "10.0.0.0/8") and source.ip != null');
  assert.equal(d.selection, { 'DestinationPort|gte': 1024, SourcePort: 53, 'DestinationIp|cidr': '10.0.0.0/8', 'SourceIp|exists': true });
});

test('string functions become modifiers; same-field values join under |all', () => {
  const d = detection(win('startsWith~(process.command_line, "ab") and process.args : "-a" and process.args : "-b"'));
  assert.equal(d.selection, { 'CommandLine|startswith': 'ab', 'CommandLine|contains|all': ['-a', '-b'] });
});

test('fidelity: argv as command line is wider, and narrower under a negation', () => {
  const pos = sigma(win('process.args : "-x"'));
  assert.is(pos.status, 'approximate');
  assert.ok(pos.diagnostics.some((d) => d.direction === 'wider'));
  const neg = sigma(win('not process.args : "-x"'));
  assert.ok(neg.diagnostics.some((d) => d.code === 'EQL3006' && d.direction === 'narrower'));
});

test('a condition without a Sigma field is left out with its direction, a function without a form is unsupported', () => {
  const t = sigma(win('process.command_line : "x" and process.code_signature.trusted == false'));
  assert.is(t.status, 'approximate');
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3101' && d.direction === 'wider'));
  // One branch of an or left out narrows it; every branch left out drops the whole or from its and: wider.
  const one = sigma(win('process.command_line : "x" and (process.name : "a.exe" or process.code_signature.trusted == false)'));
  assert.equal(one.diagnostics.filter((d) => d.code === 'EQL3101').map((d) => d.direction), ['narrower']);
  const all = sigma(win('process.command_line : "x" and (process.code_signature.trusted == false or process.code_signature.exists == false)'));
  assert.equal(all.diagnostics.filter((d) => d.code === 'EQL3101').map((d) => d.direction), ['wider', 'wider']);
  const u = sigma(win('substring(process.command_line, 1) : "x"'));
  assert.is(u.status, 'unsupported');
  assert.ok(u.diagnostics.some((d) => d.code === 'EQL3105' && d.span));
});

test('length(f) > n is a start-anchored regex of at least n+1 characters; a non-empty check is exact', () => {
  const nonEmpty = sigma(win('length(process.command_line) > 0'));
  assert.is(nonEmpty.status, 'exact');
  assert.equal(detection(win('length(process.command_line) > 0')).selection, { 'CommandLine|re': '^[\\s\\S]{1,}' });
  // Elasticsearch counts UTF-16 code units: a value with astral characters is longer for EQL than for the regex.
  const long = sigma(win('length(process.command_line) >= 200'));
  assert.is(long.status, 'approximate');
  assert.equal(long.diagnostics.map((d) => [d.code, d.direction]), [['EQL3117', 'narrower']]);
  assert.equal(detection(win('length(process.command_line) >= 200')).selection, { 'CommandLine|re': '^[\\s\\S]{200,}' });
  // Under `not` the regex is a filter: true for an event without the field, as EQL's plain complement.
  assert.equal(detection(win('process.command_line : "x" and not length(process.command_line) > 30')).filter_cli, { 'CommandLine|re': '^[\\s\\S]{31,}' });
  // A name inside a path cannot be measured: left out (wider); RE2 refuses repeat counts over 1000.
  assert.equal(sigma(win('process.command_line : "x" and length(process.name) > 3')).diagnostics.map((d) => [d.code, d.direction]), [['EQL3101', 'wider']]);
  assert.is(sigma(win('length(process.command_line) >= 2000')).status, 'unsupported');
});

test('Sysmon process access (event.code 10) is the process_access log source with the Source*/Target* names', () => {
  const t = sigma('process where host.os.type == "windows" and event.code == "10" and winlog.event_data.TargetImage : "*lsass.exe" and process.name : "x.exe"');
  assert.is(t.status, 'exact');
  assert.match(t.output!, /category: process_access\n\s+product: windows/);
  assert.equal(parseSigma(t.output!)[0]!.detection, {
    selection: { 'TargetImage|endswith': 'lsass.exe', 'SourceImage|endswith': '\\x.exe' },
    condition: 'selection',
  });
});

test('sequences become a temporal_ordered correlation plus base rules; runs on one step is an event_count', () => {
  const t = sigma('sequence by process.entity_id with maxspan=30s [process where event.type == "start" and process.command_line : "a"] [network where event.type == "start" and destination.port == 4444]');
  const docs = parseSigma(t.output!);
  assert.is(docs.length, 3);
  assert.equal(docs[0]!.correlation, { type: 'temporal_ordered', rules: ['test_rule_step_1', 'test_rule_step_2'], 'group-by': ['ProcessGuid'], timespan: '30s' });
  assert.equal((docs[2]!.logsource as object), { category: 'network_connection' });
  assert.equal(sigmaSchemaErrors(t.output!), []);
  const runs = sigma('sequence by process.entity_id with maxspan=10s [process where event.type == "start" and process.command_line : "a"] with runs=5');
  assert.equal(parseSigma(runs.output!)[0]!.correlation, { type: 'event_count', rules: ['test_rule_step_1'], 'group-by': ['ProcessGuid'], timespan: '10s', condition: { gte: 5 } });
});

test('per-step keys that differ become aliases', () => {
  const t = sigma('sequence with maxspan=1m [process where event.type == "start" and process.command_line : "a"] by process.entity_id [process where event.type == "start" and process.command_line : "b"] by process.parent.entity_id');
  const c = parseSigma(t.output!)[0]!.correlation as Record<string, unknown>;
  assert.equal(c['group-by'], ['process_entity_id']);
  assert.equal(c.aliases, { process_entity_id: { test_rule_step_1: 'ProcessGuid', test_rule_step_2: 'ParentProcessGuid' } });
  assert.equal(sigmaSchemaErrors(t.output!), []);
});

test('metadata: dates, tags, level and status', () => {
  const m: RuleMeta = {
    ...meta,
    severity: 'high',
    metadata: { creation_date: '2020/08/17', updated_date: '2024/01/02', maturity: 'production' },
    threat: [{ framework: 'MITRE ATT&CK', tactic: { id: 'TA0004', name: 'Privilege Escalation' }, techniques: [{ id: 'T1574', name: 'x', subtechniques: [{ id: 'T1574.011', name: 'y' }] }] }],
  };
  const doc = parseSigma(sigma(win('process.command_line : "x"'), m).output!)[0]!;
  assert.is(doc.date, '2020-08-17');
  assert.is(doc.modified, '2024-01-02');
  assert.equal(doc.tags, ['attack.privilege-escalation', 'attack.t1574', 'attack.t1574.011']);
  assert.is(doc.level, 'high');
  assert.is(doc.status, 'test');
});


const logsource = (eql: string) => parseSigma(sigma(eql).output!)[0]!.logsource;
const lossCodes = (eql: string) => sigma(eql).diagnostics.filter((d) => d.direction).map((d) => `${d.code} ${d.direction}`);

test('Windows Security: event.code picks product windows / service security, EventID is a number, winlog.event_data.X is X', () => {
  const eql = 'any where host.os.type == "windows" and event.code == "4662" and winlog.event_data.AccessMask == "0x100" and not winlog.event_data.SubjectUserSid : "S-1-5-18"';
  assert.equal(logsource(eql), { product: 'windows', service: 'security' });
  const d = detection(eql);
  assert.equal(d.selection, { EventID: 4662, 'AccessMask|cased': '0x100' });
  assert.equal(d.filter_subject_user_sid, { SubjectUserSid: 'S-1-5-18' });
  assert.is(sigma(eql).status, 'exact');
  // Two Security ids are one list; a non-Security id (Sysmon 10) does not pick the Security log.
  assert.equal(detection('iam where event.code in ("4728", "4732") and winlog.event_data.SubjectUserSid : "S-1-5-18"').selection, { EventID: [4728, 4732], SubjectUserSid: 'S-1-5-18' });
  assert.is(sigma('any where event.code == "10" and winlog.event_data.CallTrace : "x"').status, 'unsupported');
  // An id without a pipeline action keeps Winlogbeat's task name as event.action: Token Right Adjusted Events is 4703.
  const token = 'any where host.os.type == "windows" and event.action : "Token Right Adjusted Events" and winlog.event_data.EnabledPrivilegeList : "SeDebugPrivilege"';
  assert.equal(logsource(token), { product: 'windows', service: 'security' });
  assert.equal(detection(token).selection, { EventID: 4703, EnabledPrivilegeList: 'SeDebugPrivilege' });
  assert.is(sigma(token).status, 'exact');
  // user.name is TargetUserName or SubjectUserName depending on the event: declared different.
  assert.equal(lossCodes('authentication where event.code == "4624" and user.name : "bob"'), ['EQL3006 different']);
});

test('vendor sources are chosen only when the rule names their dataset, never as a fallback', () => {
  const aws = 'iam where data_stream.dataset == "aws.cloudtrail" and event.provider == "iam.amazonaws.com" and event.action == "AttachUserPolicy" and event.outcome == "success"';
  assert.equal(logsource(aws), { product: 'aws', service: 'cloudtrail' });
  assert.equal(detection(aws).selection, { 'eventSource|cased': 'iam.amazonaws.com', 'eventName|cased': 'AttachUserPolicy' });
  // CloudTrail records of every category are taken for iam events, and event.outcome has no CloudTrail field: both wider.
  assert.equal(lossCodes(aws), ['EQL3004 wider', 'EQL3101 wider']);
  // The Java-map text of request_parameters is not the recorded JSON: declared different.
  assert.equal(lossCodes('info where event.dataset == "aws.cloudtrail" and aws.cloudtrail.request_parameters : "*x=y*"'), ['EQL3004 wider', 'EQL3006 different']);
  // Without a dataset an iam event has no Sigma log source (no vendor class is a lossy fallback).
  assert.is(sigma('iam where event.action == "AttachUserPolicy"').status, 'unsupported');
});

test('GitHub audit: github.category is the action before its first dot; Kubernetes audit keeps the audit names', () => {
  const gh = 'configuration where data_stream.dataset == "github.audit" and github.category == "protected_branch" and event.action != "protected_branch.create"';
  assert.equal(logsource(gh), { product: 'github', service: 'audit' });
  const d = detection(gh);
  assert.equal(d.selection, { 'action|startswith|cased': 'protected_branch.' });
  assert.equal(d.filter_action, { 'action|cased': 'protected_branch.create' });
  // A wildcard category cannot be moved onto the action prefix: left out (wider), never guessed.
  assert.ok(lossCodes('configuration where data_stream.dataset == "github.audit" and github.category : "prot*" and event.action : "x"').includes('EQL3101 wider'));
  const k8s = 'any where data_stream.dataset == "kubernetes.audit_logs" and kubernetes.audit.verb == "create" and kubernetes.audit.objectRef.subresource == "exec"';
  assert.equal(logsource(k8s), { product: 'kubernetes', service: 'audit' });
  assert.equal(detection(k8s).selection, { 'verb|cased': 'create', 'objectRef.subresource|cased': 'exec' });
});

test('Linux audit account records: the action is the record type, a rule listing every action still tests it, other fields are not the record\'s', () => {
  const eql = 'iam where host.os.type == "linux" and event.action in ("added-user-account", "changed-password") and auditd.result == "success" and process.name != null';
  assert.equal(logsource(eql), { product: 'linux', service: 'auditd' });
  // go-libaudit's record types for the actions; res spells Elastic's success as success; comm is process.name.
  assert.equal(detection(eql).selection, { 'type|cased': ['ADD_USER', 'USER_CHAUTHTOK'], 'res|cased': 'success', 'comm|exists': true });
  assert.is(sigma(eql).status, 'exact');
  // Elastic's "fail" is the record's "failed".
  assert.equal(detection('iam where host.os.type == "linux" and event.action == "deleted-user-account" and auditd.result == "fail"').selection, { 'type|cased': 'DEL_USER', 'res|cased': 'failed' });
  // The log holds every audit record: even a rule asking for every action the class lists names the record types.
  const all = ['added-user-account', 'added-group-account-to', 'deleted-user-account', 'deleted-group-account-from', 'modified-user-account', 'modified-group-account', 'changed-password', 'changed-group-password', 'locked-account', 'unlocked-account'];
  const every = detection(`iam where host.os.type == "linux" and event.action in (${all.map((a) => JSON.stringify(a)).join(', ')})`);
  assert.equal(every.selection, { 'type|cased': ['ADD_USER', 'ADD_GROUP', 'DEL_USER', 'DEL_GROUP', 'USER_MGMT', 'GRP_MGMT', 'USER_CHAUTHTOK', 'GRP_CHAUTHTOK', 'ACCT_LOCK', 'ACCT_UNLOCK'] });
  // A global Sysmon name (process.command_line is CommandLine elsewhere) is no key of an audit record: left out, wider.
  assert.equal(lossCodes('iam where host.os.type == "linux" and event.action == "added-user-account" and process.command_line : "x"'), ['EQL3101 wider']);
  // Without the OS or with another action, no audit class: the rule stays unsupported.
  assert.is(sigma('iam where event.action == "added-user-account"').status, 'unsupported');
  assert.is(sigma('iam where host.os.type == "linux" and event.action == "logged-in"').status, 'unsupported');
});

test('every golden Sigma output validates against the official schema', () => {
  for (const c of goldenCases()) {
    const { source, query } = c.rule;
    const t = translateRule({ query: query!, meta: source.meta, text: source.query, path: source.path }, 'sigma');
    if (t.output) assert.equal(sigmaSchemaErrors(t.output), [], `golden/${c.name}`);
  }
});

test('UUIDv5 follows RFC 9562 (the DNS-namespace example)', () => {
  assert.is(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
});

test('a query that ORs two log sources becomes two valid rules; the second has a derived id linked to the first', () => {
  const eql = 'any where host.os.type == "windows" and ((event.category == "file" and event.type == "creation" and file.name : "a.txt") or (event.category == "process" and event.type == "start" and process.name : "b.exe"))';
  const t = sigma(eql);
  assert.is(t.status, 'exact');
  assert.equal(sigmaSchemaErrors(t.output!), []);
  const docs = parseSigma(t.output!);
  assert.is(docs.length, 2);
  assert.equal(docs[0]!.logsource, { category: 'file_event', product: 'windows' });
  assert.equal((docs[0]!.detection as Record<string, unknown>).selection, { 'TargetFilename|endswith': '\\a.txt' });
  assert.equal(docs[1]!.logsource, { category: 'process_creation', product: 'windows' });
  assert.equal((docs[1]!.detection as Record<string, unknown>).selection, { 'Image|endswith': '\\b.exe' });
  assert.is(docs[0]!.id, meta.rule_id);
  assert.is(docs[1]!.id, uuidV5(meta.rule_id!, 'eqlport/sigma/part/2'));
  assert.equal(docs[1]!.related, [{ id: meta.rule_id, type: 'derived' }]);
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3115' && d.severity === 'info'));
});

test('split branches of one log source share a detection; a branch without an exact source is left out (narrower)', () => {
  const eql = 'any where host.os.type == "windows" and (event.category : ("library", "process") and dll.name : "x.dll")';
  const wrapped = 'any where host.os.type == "windows" and event.category : ("library", "process") and dll.name : "x.dll"';
  for (const q of [eql, wrapped]) {
    const t = sigma(q);
    const docs = parseSigma(t.output!);
    assert.is(docs.length, 1, q);
    assert.equal(docs[0]!.logsource, { category: 'image_load', product: 'windows' });
    const left = t.diagnostics.find((d) => d.code === 'EQL3116');
    assert.ok(left && left.direction === 'narrower', q);
    assert.is(t.status, 'approximate');
  }
  // Two Security event ids: one rule, one condition per branch, no `1 of` glob reaching across branches.
  const two = sigma('any where (event.code == "4738" and not user.name : "a") or (event.code == "5136" and not winlog.event_data.ObjectDN : "b")');
  const docs = parseSigma(two.output!);
  assert.is(docs.length, 1);
  assert.equal(sigmaSchemaErrors(two.output!), []);
  const d = docs[0]!.detection as Record<string, unknown>;
  assert.is(d.condition, '(selection_1 and not filter_subject_user_name) or (selection_2 and not filter_object_dn)');
});

test('Windows Security chosen by event.action on Windows: actions and logon types become EventID and LogonType numbers', () => {
  const t = sigma('authentication where host.os.type == "windows" and event.action == "logged-in" and winlog.logon.type : "network"');
  const doc = parseSigma(t.output!)[0]!;
  assert.equal(doc.logsource, { product: 'windows', service: 'security' });
  assert.equal((doc.detection as Record<string, unknown>).selection, { EventID: 4624, LogonType: 3 });
  assert.is(t.status, 'exact');
  // An action several event ids share lists them all.
  const group = parseSigma(sigma('iam where host.os.type == "windows" and event.action == "added-member-to-group" and group.name : "x"').output ?? 'x: 1')[0]!;
  assert.equal(((group.detection ?? {}) as Record<string, Record<string, unknown>>).selection?.EventID, [4728, 4732, 4756]);
  // "logged-in" is also a Linux auditd action: without a Windows host there is no Security log.
  assert.is(sigma('authentication where event.action == "logged-in"').status, 'unsupported');
});


test('Lucene regex read as the native matcher does: ^ $ literal, \\d as [0-9], invalid escapes refused, classes exact', () => {
  const det = detection(win('process.command_line regex "a$b^c"'));
  const re = String(JSON.stringify(det).match(/"(\^\(\?:[^"]*)"/)?.[1]);
  const js = new RegExp(JSON.parse(`"${re}"`));
  assert.ok(js.test('a$b^c'), js.source);
  assert.not.ok(js.test('abc'));
  assert.is(sigma(win('process.command_line regex "[0-9]{3}"')).status, 'exact');
  const digits = sigma(win('process.command_line regex "\\\\d+\\\\s"'));
  assert.is(digits.status, 'exact');
  const dre = String(JSON.stringify(detection(win('process.command_line regex "\\\\d+\\\\s"'))).match(/"(\^\(\?:[^"]*)"/)?.[1]);
  const djs = new RegExp(JSON.parse(`"${dre}"`));
  assert.ok(djs.test('12\t'), djs.source);
  assert.not.ok(djs.test('12\f'), djs.source);
  const d = sigma(win('process.command_line regex "\\\\n"'));
  assert.is(d.status, 'unsupported');
  assert.ok(d.diagnostics.some((x) => x.code === 'EQL3110' && /\\n/.test(x.message)));
  const ci = JSON.stringify(detection(win('process.command_line regex~ "ab"')));
  assert.ok(ci.includes('[aA][bB]') && !ci.includes('|i'), ci);
});

test.run();
