// Windows Security log rules through Microsoft Sentinel's SecurityEvent: the bundled classes (mappings/kql.yaml)
// read a rule on the Security log's indices when no Defender table can; every step of such a sequence reads
// SecurityEvent and carries its earlier events by time, Computer and EventID; replay builds SecurityEvent rows,
// and a wrong EventID or column in the output is caught.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRuleText } from '../../src/check.js';
import { translateRule } from '../../src/translate/index.js';
import type { TranslateOptions, Translation } from '../../src/translate/core.js';
import { verifyRules } from '../../src/verify/index.js';
import { parseXml } from '../../src/verify/kql.js';
import { assertBinds, eqlString, wheres } from '../helpers/kql.js';
import { withMutatedOutput } from '../helpers/mutate.js';

const SECURITY_LOG = ['logs-system.security*', 'logs-windows.forwarded*', 'winlogbeat-*'];
const ruleText = (eql: string, index: string[]) => `[rule]\nname = "t"\ntype = "eql"\nlanguage = "eql"\nindex = ${JSON.stringify(index)}\nquery = '''\n${eql}\n'''\n`;
const rules = (eql: string, index = SECURITY_LOG) => parseRuleText('t.toml', ruleText(eql, index));
function convert(eql: string, index = SECURITY_LOG, options: TranslateOptions = {}): Translation {
  const r = rules(eql, index)[0]!;
  assert.ok(r.query, JSON.stringify(r.diagnostics));
  return translateRule({ query: r.query!, meta: r.source.meta, text: r.source.query, path: r.source.path }, 'kql', options);
}
const verdict = (eql: string) => {
  const r = verifyRules(rules(eql), { targets: ['kql'] }).results[0]!;
  return { verdict: r.verdict, bug: r.bug, reason: r.reason ?? '' };
};

// 4624 then 4724 on one host, joined from the logon's TargetLogonId to the reset's SubjectLogonId.
const resetAfterLogon = `sequence by winlog.computer_name with maxspan=1m
  [authentication where host.os.type == "windows" and event.action == "logged-in" and event.outcome == "success" and winlog.logon.type : "Network"] by winlog.event_data.TargetLogonId
  [iam where host.os.type == "windows" and event.action == "reset-password" and winlog.event_data.TargetUserName : "*Admin*"] by winlog.event_data.SubjectLogonId`;

test('a Security-log sequence reads SecurityEvent in every step, keyed on Computer and the logon ids, carrying time, Computer and EventID', () => {
  const t = convert(resetAfterLogon);
  assert.is(t.status, 'approximate', JSON.stringify(t.diagnostics));
  const lines = t.output!.split('\n');
  // Elastic's pipeline: 4624 is logged-in (success), LogonType 3 is Network; 4724 is reset-password.
  assert.equal(lines.slice(0, 3), [
    'union',
    '  (SecurityEvent | extend Timestamp = TimeGenerated | where EventID == 4624 | where LogonType == 3 | extend SequenceStep = 1, SequenceKey1 = Computer, SequenceKey2 = TargetLogonId),',
    '  (SecurityEvent | extend Timestamp = TimeGenerated | where EventID == 4724 | where TargetUserName contains "Admin" | extend SequenceStep = 2, SequenceKey1 = Computer, SequenceKey2 = SubjectLogonId)',
  ]);
  assert.ok(lines.includes('| scan declare (Timestamp1: datetime, Computer1: string, EventID1: int) with ('), t.output!);
  assert.ok(lines.some((l) => l.endsWith('=> Timestamp1 = s1.Timestamp, Computer1 = s1.Computer, EventID1 = s1.EventID;')), t.output!);
  assert.match(lines.at(-2)!, /^\| project Timestamp, Computer, EventID, Timestamp1, Computer1, EventID1, /);
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3250' && d.message.includes("Sentinel's SecurityEvent")));
  // What the connector collects is declared, and marked as such.
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3004' && d.collection === true && d.message.includes('4724 is in its All, Common and Minimal sets')), JSON.stringify(t.diagnostics));
  assertBinds(t, 'reset after logon');
});

test('--kql-sentinel off, or a rule whose index is not the Security log: unsupported, no Sentinel note', () => {
  for (const t of [convert(resetAfterLogon, SECURITY_LOG, { kqlSentinel: 'off' }), convert(resetAfterLogon, ['logs-endpoint.events.*'])]) {
    assert.equal([t.status, t.output], ['unsupported', null]);
    assert.ok(t.diagnostics.some((d) => d.severity === 'error'));
    assert.not.ok(t.diagnostics.some((d) => d.code === 'EQL3250'));
  }
});

test('a sequence whose steps would read SecurityEvent and a Defender table is refused (their events are identified differently)', () => {
  const t = convert(`sequence with maxspan=1m
  [any where host.os.type == "windows" and event.code == "4662"]
  [file where host.os.type == "windows" and event.type == "creation" and file.name == "x.exe"]`);
  assert.equal([t.status, t.output], ['unsupported', null]);
  assert.not.ok(t.diagnostics.some((d) => d.code === 'EQL3250'));
});

// Hostile strings through SecurityEvent columns: quotes, backslashes (one trailing), a pipe, a newline, non-ASCII.
const hostile = 'q"uo\\te|pipe\nline é end\\';
const objectRule = `any where host.os.type == "windows" and event.code == "4662" and winlog.event_data.ObjectName == ${eqlString(hostile)} and winlog.event_data.Properties : ${eqlString(`*${hostile}*`)}`;

test('4662: EventID as a number, hostile values as literals that keep the query whole, and replay agrees', () => {
  const t = convert(objectRule);
  assert.is(t.status, 'approximate', JSON.stringify(t.diagnostics));
  // `==` is case-sensitive; `:` with *...* is a case-insensitive substring test, which for a non-ASCII value is
  // written on the lowercased column (Kusto folds only ASCII). Regular literals escape the quote, backslashes
  // and the newline.
  assert.equal(wheres(t), ['EventID == 4662', 'ObjectName == "q\\"uo\\\\te|pipe\\nline é end\\\\"', 'tolower(Properties) contains_cs "q\\"uo\\\\te|pipe\\nline é end\\\\"']);
  assert.is(t.output!.split('\n').at(-2), '| project Timestamp, Computer, EventID, ObjectName, Properties');
  assertBinds(t, '4662 hostile');
  const v = verdict(objectRule);
  assert.equal([v.verdict, v.bug], ['agree', false], v.reason);
});

test("4672's PrivilegeList: Elastic's list of its words, matched word by word", () => {
  const eql = 'iam where host.os.type == "windows" and event.action == "logged-in-special" and winlog.event_data.PrivilegeList : ("SeBackupPrivilege", "Se*Debug?Privilege") and not winlog.event_data.PrivilegeList : "SeTcbPrivilege"';
  const t = convert(eql);
  // A word is a run of non-space characters: * and ? stay within one word, as within one list element.
  assert.equal(wheres(t), ['EventID == 4672', 'PrivilegeList matches regex @"(?i)(?:^|\\s)(?:SeBackupPrivilege|Se\\S*Debug\\SPrivilege)(?:\\s|$)"', 'not(PrivilegeList matches regex @"(?i)(?:^|\\s)(?:SeTcbPrivilege)(?:\\s|$)")']);
  assertBinds(t, '4672 words');
  const v = verdict(eql);
  assert.equal([v.verdict, v.bug], ['agree', false], v.reason);
});

test('hostile words: quotes, regex metacharacters, a trailing backslash and non-ASCII stay literal inside one word', () => {
  const eql = `iam where host.os.type == "windows" and event.action == "logged-in-special" and winlog.event_data.PrivilegeList : (${eqlString('a"(b)|c.d\\')}, ${eqlString('é[x]?')})`;
  const t = convert(eql);
  assert.equal(wheres(t)[1], 'PrivilegeList matches regex @"(?i)(?:^|\\s)(?:a""\\(b\\)\\|c\\.d\\\\|é\\[x\\]\\S)(?:\\s|$)"');
  assertBinds(t, 'hostile words');
  const v = verdict(eql);
  assert.equal([v.verdict, v.bug], ['agree', false], v.reason);
});

test('4624 process.name is the last part of ProcessName; 4688 is the process start of a Security-log sequence', () => {
  const eql = `sequence by winlog.computer_name with maxspan=1m
  [authentication where host.os.type == "windows" and event.action == "logged-in" and event.outcome == "success" and process.name == "svchost.exe"] by winlog.event_data.TargetLogonId
  [process where host.os.type == "windows" and event.type == "start" and process.parent.name : "cmd.exe"] by winlog.event_data.TargetLogonId`;
  const t = convert(eql);
  const lines = t.output!.split('\n');
  assert.equal(lines.slice(1, 3), [
    '  (SecurityEvent | extend Timestamp = TimeGenerated | where EventID == 4624 | where extract(@"([^\\\\]*)$", 1, ProcessName) == "svchost.exe" | extend SequenceStep = 1, SequenceKey1 = Computer, SequenceKey2 = TargetLogonId),',
    '  (SecurityEvent | extend Timestamp = TimeGenerated | where EventID == 4688 | where extract(@"([^\\\\]*)$", 1, ParentProcessName) =~ "cmd.exe" | extend SequenceStep = 2, SequenceKey1 = Computer, SequenceKey2 = TargetLogonId)',
  ]);
  assertBinds(t, '4624 then 4688');
  const v = verdict(eql);
  assert.equal([v.verdict, v.bug], ['agree', false], v.reason);
});

test('replay: a SecurityEvent sequence agrees; a wrong EventID or key column is caught, a wrong carried identity not trusted', () => {
  const ok = verdict(resetAfterLogon);
  assert.equal([ok.verdict, ok.bug], ['agree', false], ok.reason);
  for (const [what, mutate] of [
    ['EventID', (s: string) => s.replace('EventID == 4724', 'EventID == 4725')],
    ['key column', (s: string) => s.replace('SequenceKey2 = TargetLogonId', 'SequenceKey2 = SubjectLogonId')],
  ] as const) {
    const r = withMutatedOutput('kql', mutate, () => verdict(resetAfterLogon));
    assert.equal([r.verdict, r.bug, what], ['disagree', true, what], r.reason);
  }
  // A row carrying an identity no input event has (the reset's own EventID for the logon's) is never agreement.
  const carried = withMutatedOutput('kql', (s) => s.replace('EventID1 = s1.EventID', 'EventID1 = EventID'), () => verdict(resetAfterLogon));
  assert.equal([carried.verdict, carried.bug], ['not-checked', false]);
  assert.match(carried.reason, /Timestamp1\/Computer1\/EventID1 of a result row is no input event/);
  const wrongColumn = withMutatedOutput('kql', (s) => s.replace('ObjectName ==', 'ObjectType =='), () => verdict(objectRule));
  assert.equal([wrongColumn.verdict, wrongColumn.bug], ['disagree', true], wrongColumn.reason);
});

// A field without a SecurityEvent column is read from EventData's XML, as Microsoft's queries do (parse_xml,
// "@Name", "#text"); XML's own escapes (&lt; &amp; ...) are undone by parse_xml, so the rule's value is compared.
const attributeRule = 'any where host.os.type == "windows" and event.code == "5136" and winlog.event_data.OperationType : "%%14674" and winlog.event_data.AttributeValue == "a<b&c>\\"d"';
const dataList = 'parse_xml(EventData).EventData.Data';

test('EventData fields: one mv-apply over the Data elements, a count per test; replay builds the XML and agrees', () => {
  const t = convert(attributeRule);
  assert.is(t.status, 'approximate', JSON.stringify(t.diagnostics));
  assert.equal(t.output!.split('\n').slice(2, 6), [
    '| where EventID == 5136',
    `| mv-apply Element1 = iff(array_length(${dataList}) > 0, ${dataList}, pack_array(${dataList})) on (summarize Matching1 = countif(tostring(Element1["@Name"]) == "OperationType" and isnotempty(tostring(Element1["#text"])) and tostring(Element1["#text"]) =~ "%%14674"), Matching2 = countif(tostring(Element1["@Name"]) == "AttributeValue" and isnotempty(tostring(Element1["#text"])) and tostring(Element1["#text"]) == @"a<b&c>""d"))`,
    '| where Matching1 > 0',
    '| where Matching2 > 0',
  ]);
  assertBinds(t, 'EventData');
  const v = verdict(attributeRule);
  assert.equal([v.verdict, v.bug], ['agree', false], v.reason);
  // Reading another Data element than the rule's is caught.
  const wrong = withMutatedOutput('kql', (s) => s.replace('== "AttributeValue"', '== "AttributeSyntaxOID"'), () => verdict(attributeRule));
  assert.equal([wrong.verdict, wrong.bug], ['disagree', true], wrong.reason);
});

// 4703 (Token Right Adjusted Events): event.action is Winlogbeat's task name, `:` compares it in any case; the
// privileges enabled are EventData's EnabledPrivilegeList, one string in Elastic (not split like 4672's list);
// ProcessName and SubjectUserSid are columns; event.provider is EventSourceName.
const tokenRule = `any where host.os.type == "windows" and event.provider : "Microsoft-Windows-Security-Auditing" and event.action : "Token Right Adjusted Events" and
  winlog.event_data.EnabledPrivilegeList : "SeDebugPrivilege" and not winlog.event_data.SubjectUserSid : ("S-1-5-18", "S-1-5-19") and
  not winlog.event_data.ProcessName : ("?:\\\\Windows\\\\System32\\\\lsass.exe", "?:\\\\Program Files\\\\*")`;

test('4703: EventID 4703, EnabledPrivilegeList read from EventData as one string, ProcessName and SubjectUserSid as columns', () => {
  const t = convert(tokenRule);
  assert.is(t.status, 'approximate', JSON.stringify(t.diagnostics));
  assert.equal(t.output!.trimEnd().split('\n'), [
    'SecurityEvent',
    '| extend Timestamp = TimeGenerated',
    '| where EventID == 4703',
    '| where EventSourceName =~ "Microsoft-Windows-Security-Auditing"',
    '| where SubjectUserSid !in~ ("S-1-5-18", "S-1-5-19")',
    // `?` is one character, `*` any run (newlines too: the s flag), anchored, in any case.
    '| where not(ProcessName matches regex @"(?is)^(?:.:\\\\Windows\\\\System32\\\\lsass\\.exe|.:\\\\Program Files\\\\.*)$")',
    `| mv-apply Element1 = iff(array_length(${dataList}) > 0, ${dataList}, pack_array(${dataList})) on (summarize Matching1 = countif(tostring(Element1["@Name"]) == "EnabledPrivilegeList" and isnotempty(tostring(Element1["#text"])) and tostring(Element1["#text"]) =~ "SeDebugPrivilege"))`,
    '| where Matching1 > 0',
    '| project Timestamp, Computer, EventID, EventSourceName, EventData, SubjectUserSid, ProcessName',
  ]);
  // 4703 is in none of the connector's Common and Minimal sets: declared as what it collects.
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3004' && d.collection === true && d.message.includes('4703 is only in its All set')), JSON.stringify(t.diagnostics));
  assertBinds(t, '4703');
  // The task name in another case reads the same class (`:`); == in another case names no event the log holds.
  assert.equal(convert(tokenRule.replace('event.action : "Token Right Adjusted Events"', 'event.action : "token right adjusted EVENTS"')).output, t.output);
  assert.is(convert(tokenRule.replace('event.action : "Token Right Adjusted Events"', 'event.action == "token right adjusted events"')).status, 'unsupported');
});

test('4703 replay agrees; reading the disabled list, another event id or the parent column is caught', () => {
  const ok = verdict(tokenRule);
  assert.equal([ok.verdict, ok.bug], ['agree', false], ok.reason);
  for (const [what, mutate] of [
    ['Data element', (s: string) => s.replace('== "EnabledPrivilegeList"', '== "DisabledPrivilegeList"')],
    ['EventID', (s: string) => s.replace('EventID == 4703', 'EventID == 4704')],
    ['case-sensitive privilege', (s: string) => s.replace('=~ "SeDebugPrivilege"', '== "SeDebugPrivilege"')],
    ['process column', (s: string) => s.replace('not(ProcessName matches', 'not(ParentProcessName matches')],
  ] as const) {
    const r = withMutatedOutput('kql', mutate, () => verdict(tokenRule));
    assert.equal([r.verdict, r.bug, what], ['disagree', true, what], r.reason);
  }
});

// PKINIT (4768, PreAuthType 16) then a user-to-user service ticket (4769) for the same principal: 4768's TargetSid
// (a column) against 4769's ServiceSid, which has no column and is read from EventData as a sequence key.
const pkinitU2u = `sequence by winlog.computer_name, source.ip with maxspan=5s
  [authentication where host.os.type == "windows" and event.code == "4768" and winlog.event_data.PreAuthType == "16" and winlog.event_data.Status == "0x0"] by winlog.event_data.TargetSid
  [authentication where host.os.type == "windows" and event.code == "4769" and winlog.event_data.Status == "0x0" and winlog.event_data.TicketOptions in ("0x40810008", "0x40810018")] by winlog.event_data.ServiceSid`;

test('4768 then 4769: an EventData field as a sequence key, taken by one mv-apply (take_anyif) before the key columns', () => {
  const t = convert(pkinitU2u);
  assert.is(t.status, 'approximate', JSON.stringify(t.diagnostics));
  const lines = t.output!.split('\n');
  const elements = (v: string) => `mv-apply ${v} = iff(array_length(${dataList}) > 0, ${dataList}, pack_array(${dataList}))`;
  assert.equal(lines.slice(0, 4), [
    'union',
    `  (SecurityEvent | extend Timestamp = TimeGenerated | where EventID == 4768 | where Status == "0x0" | ${elements('Element1')} on (summarize Matching1 = countif(tostring(Element1["@Name"]) == "PreAuthType" and isnotempty(tostring(Element1["#text"])) and tostring(Element1["#text"]) == "16")) | where Matching1 > 0 | extend SequenceStep = 1, SequenceKey1 = Computer, SequenceKey2 = IpAddress, SequenceKey3 = TargetSid),`,
    // The third key is 4769's ServiceSid: the text of its Data element, "" (left out below) when it has none.
    `  (SecurityEvent | extend Timestamp = TimeGenerated | where EventID == 4769 | where Status == "0x0" | ${elements('Element1')} on (summarize Matching1 = countif(tostring(Element1["@Name"]) == "TicketOptions" and isnotempty(tostring(Element1["#text"])) and tostring(Element1["#text"]) in ("0x40810008", "0x40810018"))) | where Matching1 > 0 | ${elements('KeyElement3')} on (summarize EventDataKey3 = take_anyif(tostring(KeyElement3["#text"]), tostring(KeyElement3["@Name"]) == "ServiceSid")) | extend SequenceStep = 2, SequenceKey1 = Computer, SequenceKey2 = IpAddress, SequenceKey3 = EventDataKey3)`,
    '| where isnotempty(SequenceKey1) and isnotempty(SequenceKey2) and isnotempty(SequenceKey3)',
  ]);
  assert.ok(lines.includes('    step s2: SequenceStep == 2 and SequenceKey1 == s1.SequenceKey1 and SequenceKey2 == s1.SequenceKey2 and SequenceKey3 == s1.SequenceKey3 and Timestamp - s1.Timestamp <= 5s and isnull(s2.Timestamp1) => Timestamp1 = s1.Timestamp, Computer1 = s1.Computer, EventID1 = s1.EventID;'), t.output!);
  // source.ip as IpAddress: "-" and the ::ffff: prefix Elastic removes, declared; what the connector collects, declared.
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3006' && d.message.startsWith('source.ip → IpAddress') && d.direction === 'different'), JSON.stringify(t.diagnostics));
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3004' && d.collection === true && d.message.includes('4769 is only in its All set')), JSON.stringify(t.diagnostics));
  assertBinds(t, 'pkinit u2u');
});

test('4768 then 4769 replay agrees; the wrong Data element or column as the key, a dropped key comparison, a wrong event are caught', () => {
  const ok = verdict(pkinitU2u);
  assert.equal([ok.verdict, ok.bug], ['agree', false], ok.reason);
  for (const [what, mutate] of [
    ['key Data element', (s: string) => s.replace('== "ServiceSid"', '== "TargetSid"')],
    ['key column', (s: string) => s.replace('SequenceKey3 = EventDataKey3', 'SequenceKey3 = TargetSid')],
    // source.ip's declared difference is on key 2: it does not excuse a scan that ignores key 3.
    ['key comparison', (s: string) => s.replace(' and SequenceKey3 == s1.SequenceKey3', '')],
    ['PreAuthType value', (s: string) => s.replace('== "16"', '== "15"')],
    ['EventID', (s: string) => s.replace('EventID == 4769', 'EventID == 4770')],
  ] as const) {
    const r = withMutatedOutput('kql', mutate, () => verdict(pkinitU2u));
    assert.equal([r.verdict, r.bug, what], ['disagree', true, what], r.reason);
  }
});

test("the interpreter's parse_xml: attributes as @name, text as #text, repeated elements as an array, entities undone", () => {
  assert.equal(parseXml('<EventData xmlns="x"><Data Name="A">a&amp;b&lt;&#233;</Data><Data Name="B" /></EventData>'), { EventData: { '@xmlns': 'x', Data: [{ '@Name': 'A', '#text': 'a&b<é' }, { '@Name': 'B' }] } });
  // One Data element is an object, not an array: the emitted mv-apply wraps it (pack_array).
  assert.equal(parseXml('<EventData><Data Name="A">x</Data></EventData>'), { EventData: { Data: { '@Name': 'A', '#text': 'x' } } });
  assert.equal(parseXml('<a><b>t</b><c/></a>'), { a: { b: 't', c: null } });
  assert.equal([parseXml(''), parseXml('<a>'), parseXml('<a></b>')], [null, null, null]);
});

test.run();
