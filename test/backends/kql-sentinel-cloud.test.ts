// Entra ID audit logs and Identity Protection risk detections through Microsoft Sentinel's AuditLogs and
// AADUserRiskEvents (bundled mapping, `product: sentinel`): dynamic paths with list indexes, a list column read
// element-wise, sequences over tables without ReportId (their `row_id` carried as ReportId), and replay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRuleText } from '../../src/check.js';
import { loadMapping } from '../../src/translate/mapping.js';
import { verifyRules } from '../../src/verify/index.js';
import { defenderRecord, parseKql, runKql, type KqlRecord } from '../../src/verify/kql.js';
import { assertBinds, codes, eqlString, kql, wheres } from '../helpers/kql.js';
import { withMutatedOutput } from '../helpers/mutate.js';

const AUDIT = 'any where data_stream.dataset == "azure.auditlogs" and ';
const mapping = loadMapping('kql');

test('an audit-log test reads AuditLogs with TimeGenerated as Timestamp, indexes into TargetResources, says it reads Sentinel and binds', () => {
  const t = kql(AUDIT + 'azure.auditlogs.operation_name == "Add device" and `azure.auditlogs.properties.target_resources.0.modified_properties.1.new_value` == "[true]"');
  assert.is(t.status, 'approximate', JSON.stringify(t.diagnostics));
  assert.equal(t.output!.split('\n'), [
    'AuditLogs',
    '| extend Timestamp = TimeGenerated',
    '| where OperationName == "Add device"',
    '| where tostring(TargetResources[0].modifiedProperties[1].newValue) == "[true]"',
    '| project Timestamp, Id, CorrelationId, OperationName, TargetResources',
    '',
  ]);
  assert.ok(codes(t).includes('EQL3250'));
  // The only declared loss: what the connector collects.
  assert.equal(t.diagnostics.filter((d) => d.severity === 'warning').map((d) => [d.code, d.direction, d.collection]), [['EQL3004', 'narrower', true]]);
  assertBinds(t, 'audit');
});

test('additional_details.value is tested on any element of the AdditionalDetails list', () => {
  const t = kql(AUDIT + 'azure.auditlogs.properties.additional_details.value like "Dsreg/*"');
  assert.equal(t.output!.split('\n').slice(2, 4), [
    '| mv-apply Element1 = iff(array_length(AdditionalDetails) > 0, AdditionalDetails, pack_array(AdditionalDetails)) on (summarize Matching1 = countif(tostring(Element1.value) startswith_cs "Dsreg/"))',
    '| where Matching1 > 0',
  ]);
  assertBinds(t, 'additional details');
  const program = parseKql(t.output!);
  // ECS flattens the list of objects: additional_details.value holds every element's value.
  const rec = (value: string[]) => defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', data_stream: { dataset: 'azure.auditlogs' }, azure: { auditlogs: { properties: { additional_details: { value } } } } } as never, mapping)!;
  const run = runKql(program, [rec(['x', 'Dsreg/10.0']), rec(['dsreg/10.0']), rec([])], mapping);
  assert.equal((run as { matches: number[][] }).matches, [[0]], JSON.stringify(run));
});

test('hostile strings through a dynamic path and a plain column keep the query structure, bind, and match only that value', () => {
  for (const h of ['a"b', 'back\\slash', 'trailing\\', 'pi|pe', 'new\nline', "it's", 'x") or true or ("', 'DESKTOP-*?', 'ünï']) {
    const t = kql(AUDIT + `azure.auditlogs.properties.target_resources.\`0\`.display_name == ${eqlString(h)} and azure.auditlogs.identity == ${eqlString(h)}`);
    assertBinds(t, JSON.stringify(h));
    assert.is(wheres(t).length, 2, t.output!);
    const rec = (name: string, identity: string): KqlRecord =>
      defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', data_stream: { dataset: 'azure.auditlogs' }, azure: { auditlogs: { identity, properties: { target_resources: { 0: { display_name: name } } } } } } as never, mapping)!;
    const run = runKql(parseKql(t.output!), [rec(h, h), rec(h + 'x', h), rec(h, 'other'), rec('x', 'x')], mapping);
    assert.equal((run as { matches: number[][] }).matches, [[0]], `${JSON.stringify(h)}\n${t.output}`);
  }
});

test('a sequence over AuditLogs carries each earlier row by Timestamp and Id (as ReportId)', () => {
  const t = kql(
    'sequence by azure.correlation_id with maxspan=5m ' +
      `[${AUDIT}azure.auditlogs.operation_name == "Add device"] [${AUDIT}azure.auditlogs.operation_name == "Add registered owner to device"]`,
  );
  assert.is(t.status, 'approximate', JSON.stringify(t.diagnostics));
  const lines = t.output!.split('\n');
  assert.equal(lines.slice(0, 3), [
    'union',
    '  (AuditLogs | extend Timestamp = TimeGenerated | where OperationName == "Add device" | extend ReportId = Id | extend SequenceStep = 1, SequenceKey1 = CorrelationId),',
    '  (AuditLogs | extend Timestamp = TimeGenerated | where OperationName == "Add registered owner to device" | extend ReportId = Id | extend SequenceStep = 2, SequenceKey1 = CorrelationId)',
  ]);
  assert.ok(lines.includes('| scan declare (Timestamp1: datetime, ReportId1: string) with ('), t.output!);
  assert.ok(lines.includes('    step s2: SequenceStep == 2 and SequenceKey1 == s1.SequenceKey1 and Timestamp - s1.Timestamp <= 5m and isnull(s2.Timestamp1) => Timestamp1 = s1.Timestamp, ReportId1 = s1.ReportId;'), t.output!);
  assertBinds(t, 'audit sequence');
});

test('a risk detection followed by a device registration: AADUserRiskEvents then AuditLogs, a rule naming no category declared narrower', () => {
  const t = kql(
    'sequence with maxspan=5m [any where data_stream.dataset == "azure.identity_protection"] by azure.identityprotection.properties.user_principal_name ' +
      `[${AUDIT}event.action == "Register device"] by azure.auditlogs.properties.initiated_by.user.userPrincipalName`,
  );
  assert.equal(t.output!.split('\n').slice(1, 3), [
    '  (AADUserRiskEvents | extend Timestamp = TimeGenerated | extend ReportId = Id | extend SequenceStep = 1, SequenceKey1 = UserPrincipalName),',
    '  (AuditLogs | extend Timestamp = TimeGenerated | where OperationName == "Register device" | extend ReportId = Id | extend SequenceStep = 2, SequenceKey1 = tostring(InitiatedBy.user.userPrincipalName))',
  ]);
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3004' && d.direction === 'narrower' && d.message.includes('UserRiskEvents')), JSON.stringify(t.diagnostics));
  assert.ok(t.diagnostics.find((d) => d.code === 'EQL3250')!.message.includes('AuditLogs, AADUserRiskEvents'));
  assertBinds(t, 'risk + registration');
});

test('--kql-sentinel off: audit-log rules are unsupported', () => {
  assert.is(kql(AUDIT + 'azure.auditlogs.operation_name == "Add device"', { kqlSentinel: 'off' }).status, 'unsupported');
});

// ---- FortiGate through CommonSecurityLog ----

const FORTIGATE = 'any where data_stream.dataset == "fortinet_fortigate.log" and ';

test('a FortiGate log id and action read CommonSecurityLog: the full logid from AdditionalExtensions, act as DeviceAction', () => {
  const t = kql(FORTIGATE + 'event.code == "0100032095" and fortinet.firewall.action == "download"');
  assert.is(t.status, 'approximate', JSON.stringify(t.diagnostics));
  assert.equal(t.output!.split('\n'), [
    'CommonSecurityLog',
    '| extend Timestamp = TimeGenerated',
    '| where DeviceVendor == "Fortinet"',
    '| where DeviceProduct == "Fortigate"',
    '| where extract(@"\\bFTNTFGTlogid=([0-9]+)", 1, AdditionalExtensions) == "0100032095"',
    '| where DeviceAction == "download"',
    '| project Timestamp, DeviceName, DeviceEventClassID, DeviceAction, DeviceVendor, DeviceProduct, AdditionalExtensions',
    '',
  ]);
  assert.equal(t.diagnostics.filter((d) => d.severity === 'warning').map((d) => [d.code, d.direction]), [['EQL3004', 'narrower'], ['EQL3006', 'different']]);
  assertBinds(t, 'fortigate');
});

test('a FortiOS key that only AdditionalExtensions holds refuses the rule (EQL3255), not a wider query', () => {
  const t = kql(FORTIGATE + 'event.code == "0100044547" and fortinet.firewall.action == "Add" and fortinet.firewall.cfgattr like~ "*accprofile[super_admin]*"');
  assert.is(t.status, 'unsupported');
  const errors = t.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errors.map((d) => d.code), ['EQL3255']);
  assert.match(errors[0]!.message, /^fortinet\.firewall\.cfgattr: FortiOS writes a key without a CEF name as FTNTFGT<key> in CommonSecurityLog's AdditionalExtensions/);
});

test('hostile strings compared with DeviceAction keep the query structure, bind, and match only that value', () => {
  for (const h of ['a"b', 'trailing\\', 'pi|pe', 'new\nline', 'x") or true or ("']) {
    const t = kql(FORTIGATE + `fortinet.firewall.action == ${eqlString(h)}`);
    assertBinds(t, JSON.stringify(h));
    assert.is(wheres(t).length, 3, t.output!);
    const rec = (action: string) => defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', data_stream: { dataset: 'fortinet_fortigate.log' }, fortinet: { firewall: { action } } } as never, mapping)!;
    const run = runKql(parseKql(t.output!), [rec(h), rec(h + 'x'), rec('download')], mapping);
    assert.equal((run as { matches: number[][] }).matches, [[0]], `${JSON.stringify(h)}\n${t.output}`);
  }
});

// ---- the verifier ----

test('verifier rows: target_resources.<i> become TargetResources list elements (earlier ones empty), additional_details a list', () => {
  const rec = defenderRecord(
    {
      '@timestamp': '2026-01-01T00:00:00Z',
      data_stream: { dataset: 'azure.auditlogs' },
      event: { action: 'Add device' },
      azure: { correlation_id: 'c1', auditlogs: { properties: { target_resources: { 0: { display_name: 'DESKTOP-1', modified_properties: { 1: { new_value: '[true]' } } } }, additional_details: { key: ['k1', 'k2'], value: ['v1', 'v2'] } } } },
    } as never,
    mapping,
  )!;
  assert.is(rec.table, 'AuditLogs');
  assert.is(rec.rowId, 'Id');
  assert.equal(rec.row.TargetResources, [{ displayName: 'DESKTOP-1', modifiedProperties: [{}, { newValue: '[true]' }] }]);
  assert.equal(rec.row.AdditionalDetails, [{ value: 'v1', key: 'k1' }, { value: 'v2', key: 'k2' }]);
  assert.equal([rec.row.OperationName, rec.row.CorrelationId], ['Add device', 'c1']);
  assert.ok(rec.row.TimeGenerated && rec.row.Timestamp === undefined);
});

const SEQUENCE =
  'sequence by azure.correlation_id with maxspan=5m ' +
  `[${AUDIT}azure.auditlogs.operation_name == "Add device" and \`azure.auditlogs.properties.target_resources.0.modified_properties.1.display_name\` == "CloudAccountEnabled"] ` +
  `[${AUDIT}azure.auditlogs.operation_name == "Add registered owner to device"]`;

test('replay: the AuditLogs sequence agrees with the matcher; a wrong list index or a wrong value is caught', () => {
  const rule = parseRuleText('audit.eql', SEQUENCE);
  const run = () => verifyRules(rule, { targets: ['kql'] }).results[0]!;
  const ok = run();
  assert.equal([ok.verdict, ok.bug], ['agree', false], ok.reason ?? JSON.stringify(ok));
  const wrongIndex = withMutatedOutput('kql', (t) => t.replace('modifiedProperties[1]', 'modifiedProperties[0]'), run);
  assert.equal([wrongIndex.verdict, wrongIndex.bug], ['disagree', true]);
  const wrongValue = withMutatedOutput('kql', (t) => t.replace('"CloudAccountEnabled"', '"CloudAccountEnabled2"'), run);
  assert.equal([wrongValue.verdict, wrongValue.bug], ['disagree', true]);
  // Carrying the wrong earlier row (the last one's own id) names no event before it: replay refuses to guess.
  const wrongRow = withMutatedOutput('kql', (t) => t.replace('ReportId1 = s1.ReportId', 'ReportId1 = ReportId'), run);
  assert.is(wrongRow.verdict, 'not-checked');
  assert.match(wrongRow.reason ?? '', /Timestamp1\/DeviceId1\/ReportId1 of a result row is no input event/);
});

test.run();
