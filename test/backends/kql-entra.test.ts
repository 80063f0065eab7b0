// Entra ID sign-in logs (EntraIdSignInEvents, EntraIdSpnSignInEvents) and Azure activity logs (CloudAuditEvents)
// in the KQL backend, and the verifier's rows for them. Expected tables, columns and declarations are the
// mapping's cited facts (mappings/kql.yaml), reasoned by hand: the Elastic pipeline's field, the Defender column.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRuleText } from '../../src/check.js';
import { loadMapping } from '../../src/translate/mapping.js';
import type { Translation } from '../../src/translate/core.js';
import { verifyRules } from '../../src/verify/index.js';
import { defenderRecord, parseKql, runKql } from '../../src/verify/kql.js';
import { withMutatedOutput } from '../helpers/mutate.js';
import { kql, wheres, assertBinds, eqlString } from '../helpers/kql.js';

/** [code, first word of the message, direction] of each declaration. */
const declared = (t: Translation) => t.diagnostics.map((d) => [d.code, d.message.split(' ')[0], d.direction]);

const SIGNIN = 'authentication where data_stream.dataset == "azure.signinlogs" and ';
const ACTIVITY = 'any where data_stream.dataset == "azure.activitylogs" and ';

// ---- user sign-ins (EntraIdSignInEvents) ----

test('a non-interactive user sign-in reads EntraIdSignInEvents: LogonType for the category, the sign-in columns, no Device* column', () => {
  const t = kql(SIGNIN + 'azure.signinlogs.category == "NonInteractiveUserSignInLogs" and azure.signinlogs.properties.app_id == "29d9ed98-a469-4536-ade2-f981bc1d605e" and user_agent.original : "*python*"');
  assert.is(t.status, 'approximate');
  assert.ok(t.output!.startsWith('EntraIdSignInEvents\n'), t.output!);
  assert.equal(wheres(t), ['LogonType == @"[""nonInteractiveUser""]"', 'ApplicationId == "29d9ed98-a469-4536-ade2-f981bc1d605e"', 'UserAgent contains "python"']);
  assert.match(t.output!, /\n\| project Timestamp, ReportId, AccountObjectId, LogonType, ApplicationId, UserAgent\n$/);
  assert.not.match(t.output!, /DeviceId|InitiatingProcess/);
  // Only LogonType's values (a public guide's, not the table reference's) are declared; every row is an
  // authentication event, so `authentication where` loses nothing.
  assert.equal(declared(t), [['EQL3006', 'azure.signinlogs.category', 'different']]);
  assertBinds(t, 'user sign-in');
});

test('user sign-ins: interactive and non-interactive together are the whole table (no LogonType test)', () => {
  const t = kql(SIGNIN + 'azure.signinlogs.category in ("SignInLogs", "NonInteractiveUserSignInLogs") and user.id == "u1"');
  assert.equal(wheres(t), ['AccountObjectId == "u1"']);
  assert.equal(t.diagnostics, []);
  assert.is(t.status, 'exact');
});

test('a rule that names no category reads user sign-ins, declared narrower (service principal sign-ins are elsewhere)', () => {
  const t = kql(SIGNIN + 'azure.signinlogs.properties.resource_display_name == "Microsoft Graph"');
  assert.equal(wheres(t), ['ResourceDisplayName == "Microsoft Graph"']);
  assert.equal(declared(t), [['EQL3004', 'the', 'narrower']]);
  assert.match(t.diagnostics[0]!.message, /SignInLogs.*NonInteractiveUserSignInLogs/);
});

test('token types, the authentication protocol and the result signature have no column: left out, declared wider', () => {
  const t = kql(SIGNIN + 'azure.signinlogs.properties.incoming_token_type == "primaryRefreshToken" and azure.signinlogs.properties.authentication_protocol == "deviceCode" and azure.signinlogs.result_signature == "SUCCESS" and azure.signinlogs.properties.resource_id == "00000002-0000-0000-c000-000000000000"');
  assert.equal(wheres(t), ['ResourceId == "00000002-0000-0000-c000-000000000000"']);
  assert.equal(declared(t).slice(1), [
    ['EQL3201', 'azure.signinlogs.properties.incoming_token_type', 'wider'],
    ['EQL3201', 'azure.signinlogs.properties.authentication_protocol', 'wider'],
    ['EQL3201', 'azure.signinlogs.result_signature', 'wider'],
  ]);
  // Nothing left to test: no query at all rather than every sign-in.
  const none = kql(SIGNIN + 'azure.signinlogs.properties.incoming_token_type == "refreshToken"');
  assert.is(none.status, 'unsupported');
  assert.ok(none.diagnostics.some((d) => d.code === 'EQL3209'));
});

test('boolean fields: IsManaged is an int (1/0), IsGuestUser a boolean; negations keep the rows without a value', () => {
  const t = kql(SIGNIN + 'azure.signinlogs.properties.device_detail.is_managed != true and azure.signinlogs.properties.user_type == "Member"');
  // Elasticsearch: `!= true` holds when is_managed is missing; Kusto's missing int is null, so isnull keeps it.
  assert.equal(wheres(t), ['isnull(IsManaged) or IsManaged != 1', 'IsGuestUser == false']);
  assert.equal(declared(t).slice(1).map((d) => d[1]), ['azure.signinlogs.properties.device_detail.is_managed', 'azure.signinlogs.properties.user_type']);
  assertBinds(t, 'booleans');
  const u = kql(SIGNIN + 'azure.signinlogs.properties.device_detail.is_managed == false and not azure.signinlogs.properties.user_type == "Guest"');
  assert.equal(wheres(u), ['IsManaged == 0', 'isnull(IsGuestUser) or IsGuestUser != true']);
  assertBinds(u, 'booleans 2');
});

test("trust type: both Graph's spelling and the sign-in record's are tested, declared different", () => {
  const t = kql(SIGNIN + 'azure.signinlogs.properties.device_detail.trust_type == "Azure AD joined"');
  assert.equal(wheres(t), ['DeviceTrustType in ("AzureAd", "Azure AD joined")']);
  assert.equal(declared(t).slice(1), [['EQL3006', 'azure.signinlogs.properties.device_detail.trust_type', 'different']]);
  // A spelling Entra does not write matches no row.
  assert.is(kql(SIGNIN + 'azure.signinlogs.properties.device_detail.trust_type == "Workplace joined"').status, 'unsupported');
});

test('hostile values in sign-in string columns keep the query structure and bind', () => {
  for (const v of ['x") or (1==1', 'C:\\Temp\\', '\\', '"', '\\"; | where true', 'a\nb', 'a\r\n| take 1', '😀ü', '@"']) {
    for (const q of [SIGNIN + `user_agent.original : ${eqlString('*' + v + '*')}`, SIGNIN + `azure.signinlogs.properties.app_display_name == ${eqlString(v)}`]) {
      const t = kql(q);
      assert.is(wheres(t).length, 1, t.output!);
      assertBinds(t, q);
    }
  }
});

// ---- service principal and managed identity sign-ins (EntraIdSpnSignInEvents) ----

test('service principal sign-ins read EntraIdSpnSignInEvents without managed identities; the category is the table', () => {
  const t = kql(SIGNIN + 'azure.signinlogs.category == "ServicePrincipalSignInLogs" and azure.signinlogs.properties.status.error_code == 0 and azure.signinlogs.properties.service_principal_name : "deploy*"');
  assert.ok(t.output!.startsWith('EntraIdSpnSignInEvents\n'), t.output!);
  assert.equal(wheres(t), ['IsManagedIdentity == false', 'ErrorCode == 0', 'ServicePrincipalName startswith "deploy"']);
  assert.match(t.output!, /\n\| project Timestamp, ReportId, ServicePrincipalId, IsManagedIdentity, ErrorCode, ServicePrincipalName\n$/);
  assert.is(t.status, 'exact');
  assertBinds(t, 'spn');
  // Older rules name the dataset in event.dataset: the same table.
  const ev = kql('authentication where event.dataset == "azure.signinlogs" and azure.signinlogs.category == "ServicePrincipalSignInLogs" and azure.signinlogs.properties.app_id == "a"');
  assert.equal([ev.status, wheres(ev)], ['exact', ['IsManagedIdentity == false', 'ApplicationId == "a"']]);
  const mi = kql(SIGNIN + 'azure.signinlogs.category == "ManagedIdentitySignInLogs" and azure.signinlogs.properties.app_id == "a"');
  assert.equal(wheres(mi), ['IsManagedIdentity == true', 'ApplicationId == "a"']);
  // The service principal table has no user agent: left out.
  const ua = kql(SIGNIN + 'azure.signinlogs.category == "ServicePrincipalSignInLogs" and azure.signinlogs.properties.app_id == "a" and user_agent.original == "x"');
  assert.equal(declared(ua), [['EQL3201', 'user_agent.original', 'wider']]);
});

// ---- Azure activity logs (CloudAuditEvents) ----

test('activity logs read CloudAuditEvents (DataSource Azure): OperationName, the claims in RawEventData, declared', () => {
  const t = kql(ACTIVITY + 'azure.activitylogs.operation_name : "MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/LISTCLUSTERUSERCREDENTIAL/ACTION" and event.outcome : "success" and azure.activitylogs.identity.claims.appid == "app-1"');
  assert.ok(t.output!.startsWith('CloudAuditEvents\n'), t.output!);
  assert.equal(wheres(t), ['DataSource == "Azure"', 'OperationName =~ "MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/LISTCLUSTERUSERCREDENTIAL/ACTION"', 'tostring(RawEventData.claims.appid) == "app-1"']);
  assert.equal(declared(t), [
    ['EQL3004', 'CloudAuditEvents:', 'narrower'],
    ['EQL3006', 'azure.activitylogs.operation_name', 'different'],
    ['EQL3201', 'event.outcome', 'wider'],
    ['EQL3006', 'azure.activitylogs.identity.claims.appid', 'different'],
  ]);
  assertBinds(t, 'activity');
  for (const v of ['x") or (1==1', '\\', '\\"; | where true', 'a\nb']) {
    const h = kql(ACTIVITY + `azure.activitylogs.identity.claims.appid == ${eqlString(v)}`);
    assert.is(wheres(h).length, 2, h.output!);
    assertBinds(h, v);
  }
});

// ---- sequences and dataset lists ----

test('a service principal sign-in followed by an activity: one scan over both tables, keyed by the app id', () => {
  const t = kql(`sequence with maxspan=30m [${SIGNIN}azure.signinlogs.category == "ServicePrincipalSignInLogs"] by azure.signinlogs.properties.app_id [${ACTIVITY}azure.activitylogs.operation_name : "x"] by azure.activitylogs.identity.claims.appid`);
  assert.is(t.status, 'approximate');
  const [spn, act] = t.output!.split('\n').filter((l) => l.startsWith('  ('));
  assert.match(spn!, /^  \(EntraIdSpnSignInEvents \| where IsManagedIdentity == false \| extend SequenceStep = 1, SequenceKey1 = ApplicationId\),$/);
  assert.match(act!, /^  \(CloudAuditEvents \| where DataSource == "Azure" .*\| extend SequenceStep = 2, SequenceKey1 = tostring\(RawEventData\.claims\.appid\)\)$/);
  // Both tables hold ReportId as a string: carried as one, no conversion.
  assert.match(t.output!, /\| scan declare \(Timestamp1: datetime, ReportId1: string\) with/);
  assert.not.match(t.output!, /tostring\(ReportId\)/);
  assertBinds(t, 'spn + activity');
});

test('a dataset list naming logs Defender lacks reads the sign-ins, declared narrower on the dataset test', () => {
  const t = kql('any where data_stream.dataset : ("azure.signinlogs", "azure.auditlogs") and user_agent.original regex~ "(azure|blood)hound/.*"');
  assert.ok(t.output!.startsWith('EntraIdSignInEvents\n'), t.output!);
  assert.equal(wheres(t), ['UserAgent matches regex "(?s)^(?:[aA][zZ][uU][rR][eE]|[bB][lL][oO][oO][dD])[hH][oO][uU][nN][dD]/.*$"']);
  assert.equal(declared(t).map((d) => [d[0], d[2]]), [['EQL3004', 'narrower'], ['EQL3004', 'narrower']]);
  assertBinds(t, 'dataset list');
  // Entra audit logs alone: no Defender table (Sentinel's AuditLogs reads them: kql-sentinel-cloud.test.ts).
  assert.is(kql('any where data_stream.dataset == "azure.auditlogs" and azure.auditlogs.operation_name == "Register device"', { kqlSentinel: 'off' }).status, 'unsupported');
});

test('endpoint rules never read the sign-in tables', () => {
  const t = kql('authentication where event.outcome == "success" and user.id == "S-1-5-18"');
  assert.ok(t.output!.startsWith('DeviceLogonEvents\n'), t.output!);
});

// ---- the verifier's rows ----

const mapping = loadMapping('kql');

test('verifier rows: a sign-in event becomes an EntraIdSignInEvents row (LogonType spelled, booleans typed), a service principal one an EntraIdSpnSignInEvents row', () => {
  const user = defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', data_stream: { dataset: 'azure.signinlogs' }, azure: { signinlogs: { category: 'NonInteractiveUserSignInLogs', properties: { user_id: 'u1', user_type: 'Member', device_detail: { is_managed: false } } } } }, mapping)!;
  assert.is(user.table, 'EntraIdSignInEvents');
  assert.equal([user.row.LogonType, user.row.AccountObjectId, user.row.IsGuestUser, user.row.IsManaged], ['["nonInteractiveUser"]', 'u1', false, 0n]);
  const spn = defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', data_stream: { dataset: 'azure.signinlogs' }, azure: { signinlogs: { category: 'ServicePrincipalSignInLogs', properties: { app_id: 'a', status: { error_code: 0 } } } } }, mapping)!;
  assert.is(spn.table, 'EntraIdSpnSignInEvents');
  assert.equal([spn.row.IsManagedIdentity, spn.row.ApplicationId, spn.row.ErrorCode], [false, 'a', 0n]);
  // A missing boolean column is null, as in Kusto, so the negation's isnull holds.
  const r = runKql(parseKql('EntraIdSignInEvents | where isnull(IsGuestUser) or IsGuestUser != true'), [{ table: 'EntraIdSignInEvents', row: { Timestamp: null }, modelsDeviceInfo: true }], mapping);
  assert.ok(!('notChecked' in r) && r.matches.length === 1, JSON.stringify(r));
});

test('verify: sign-in and activity rules agree with the matcher; a wrong column is caught', () => {
  const rule = parseRuleText('spn.eql', `sequence with maxspan=30m [${SIGNIN}azure.signinlogs.category == "ServicePrincipalSignInLogs" and azure.signinlogs.properties.status.error_code == 0] by azure.signinlogs.properties.app_id [${ACTIVITY}azure.activitylogs.operation_name : "MICROSOFT.KUBERNETES/CONNECTEDCLUSTERS/LISTCLUSTERUSERCREDENTIAL/ACTION"] by azure.activitylogs.identity.claims.appid`);
  assert.equal(verifyRules(rule, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  const user = parseRuleText('user.eql', SIGNIN + 'azure.signinlogs.category == "SignInLogs" and azure.signinlogs.properties.app_id == "a" and not azure.signinlogs.properties.resource_display_name == "Device Registration Service"');
  assert.equal(verifyRules(user, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  // Both user categories: the whole table, nothing declared, so an injected wrong column is a bug. (Naming one
  // category declares LogonType's values different, which leaves the filter's answer open to the verifier.)
  const both = parseRuleText('both.eql', SIGNIN + 'azure.signinlogs.category in ("SignInLogs", "NonInteractiveUserSignInLogs") and azure.signinlogs.properties.app_id == "a" and not azure.signinlogs.properties.resource_display_name == "Device Registration Service"');
  assert.equal(verifyRules(both, { targets: ['kql'] }).results[0]!.verdict, 'agree');
  const r = withMutatedOutput('kql', (t) => t.replace('ApplicationId ==', 'ResourceId =='), () => verifyRules(both, { targets: ['kql'] })).results[0]!;
  assert.equal([r.verdict, r.bug], ['disagree', true]);
  // Elastic's pipeline makes every sign-in an authentication event: one of another category is no Defender row.
  const other = defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', event: { category: 'iam' }, data_stream: { dataset: 'azure.signinlogs' }, azure: { signinlogs: { category: 'SignInLogs' } } }, mapping)!;
  assert.match(other.unrepresentable ?? '', /authentication/);
});

test.run();
