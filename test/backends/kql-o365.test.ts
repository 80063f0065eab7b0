// The Microsoft 365 audit log (o365.audit) in CloudAppEvents, and element-wise tests on lists inside RawEventData
// (transform `dynamic-each:`), in the KQL backend and in the verifier. Expectations are reasoned from the mapping's
// cited facts (mappings/kql.yaml) and Elasticsearch's any-value rule (docs/null-semantics.md): a test on a list
// field holds iff some element meets it; its negation iff none does, also when the list is missing or empty.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseQuery } from '../../src/parse.js';
import { parseRuleText } from '../../src/check.js';
import { translateRule } from '../../src/translate/index.js';
import { loadMapping } from '../../src/translate/mapping.js';
import type { Translation } from '../../src/translate/core.js';
import { scenariosFor, verifyRules } from '../../src/verify/index.js';
import { loadRules } from '../../src/check.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defenderRecord, parseKql, runKql, type KqlRecord } from '../../src/verify/kql.js';
import { withMutatedOutput } from '../helpers/mutate.js';
import { kql, assertBinds, eqlString } from '../helpers/kql.js';

const stages = (t: Translation) => (t.output ?? '').split('\n').filter((l) => l.startsWith('| '));
const declared = (t: Translation) => t.diagnostics.map((d) => [d.code, d.direction]);

const O365 = 'web where data_stream.dataset == "o365.audit" and ';
const ITEMS = 'iff(array_length(RawEventData.AffectedItems) > 0, RawEventData.AffectedItems, pack_array(RawEventData.AffectedItems))';
const mapping = loadMapping('kql');

test('o365.audit reads CloudAppEvents: Workload and Operation from the audit record; the source is declared narrower, event.action different', () => {
  const t = kql(O365 + 'event.provider == "Exchange" and event.action == "New-InboxRule" and o365.audit.ResultStatus == "Succeeded"');
  assert.ok(t.output!.startsWith('CloudAppEvents\n'), t.output!);
  assert.equal(stages(t), [
    '| where tostring(RawEventData.Workload) == "Exchange"',
    '| where tostring(RawEventData.Operation) == "New-InboxRule"',
    '| where tostring(RawEventData.ResultStatus) == "Succeeded"',
    '| project Timestamp, ReportId, AccountObjectId, RawEventData',
  ]);
  assert.equal(declared(t), [['EQL3004', 'narrower'], ['EQL3006', 'different']]);
  assertBinds(t, 'o365 basics');
});

test('a list element test: mv-apply counts the elements that meet it; the test is "some element", its negation "none"', () => {
  const t = kql(O365 + 'o365.audit.AffectedItems.Subject : "*MFA*" and not o365.audit.AffectedItems.Subject like~ ("*sign-in*", "*logon*")');
  assert.equal(stages(t), [
    // One mv-apply per list: a count per test.
    `| mv-apply Element1 = ${ITEMS} on (summarize Matching1 = countif(tostring(Element1.Subject) contains "MFA"), Matching2 = countif(tostring(Element1.Subject) contains "sign-in" or tostring(Element1.Subject) contains "logon"))`,
    '| where Matching1 > 0',
    '| where Matching2 == 0',
    '| project Timestamp, ReportId, AccountObjectId, RawEventData',
  ]);
  assert.equal(declared(t), [['EQL3004', 'narrower']]);
  assertBinds(t, 'element-wise');
});

test('!= on a list field is "no element equals", not "some element differs"; == null is "no element has a value"', () => {
  const t = kql(O365 + 'o365.audit.AffectedItems.Subject != "x" and o365.audit.AffectedItems.Subject == null');
  assert.equal(stages(t).slice(0, 3), [
    `| mv-apply Element1 = ${ITEMS} on (summarize Matching1 = countif(tostring(Element1.Subject) == "x"), Matching2 = countif(isnotempty(tostring(Element1.Subject))))`,
    '| where Matching1 == 0',
    '| where Matching2 == 0',
  ]);
  assertBinds(t, '!= and null');
});

test('a rule that names no dataset reads the datasets its index names, declared narrower (EQL3236)', () => {
  const eql = 'web where event.provider == "Exchange" and o365.audit.Parameters.ForwardTo != null';
  const { query } = parseQuery(eql);
  const meta = { rule_id: null, name: null, threat: [], metadata: {}, index: ['logs-o365.audit-*', 'filebeat-*'] };
  const t = translateRule({ query: query!, meta, text: eql, path: 'test.eql' }, 'kql', {});
  assert.ok(t.output!.startsWith('CloudAppEvents\n'), t.output!);
  assert.equal(stages(t).slice(0, 3), ['| where tostring(RawEventData.Workload) == "Exchange"', '| mv-apply Element1 = iff(array_length(RawEventData.Parameters) > 0, RawEventData.Parameters, pack_array(RawEventData.Parameters)) on (summarize Matching1 = countif(tostring(Element1.Name) == "ForwardTo" and isnotempty(tostring(Element1.Value))))', '| where Matching1 > 0']);
  assert.equal(t.diagnostics[0]!.code, 'EQL3236');
  assert.match(t.diagnostics[0]!.message, /o365\.audit.*filebeat-\*/);
  assert.is(t.diagnostics[0]!.direction, 'narrower');
  // Without the index, no table holds web events of this kind.
  assert.is(kql(eql).status, 'unsupported');
});

test('a test over two list fields at once is refused (EQL3235)', () => {
  // One list twice would pair each element with itself, which is not Elasticsearch's answer either.
  const t = kql(O365 + 'startsWith~(o365.audit.AffectedItems.Subject, o365.audit.AffectedItems.Subject)');
  assert.is(t.status, 'unsupported');
  assert.equal(t.diagnostics.map((d) => d.code), ['EQL3004', 'EQL3235']);
});

test('o365.audit.Parameters.<Name> is the Value of the Name/Value pair with that Name (Elastic turns the list into a map)', () => {
  const t = kql(O365 + 'o365.audit.Parameters.ForwardTo : "*@evil.com"');
  assert.equal(stages(t)[0], '| mv-apply Element1 = iff(array_length(RawEventData.Parameters) > 0, RawEventData.Parameters, pack_array(RawEventData.Parameters)) on (summarize Matching1 = countif(tostring(Element1.Name) == "ForwardTo" and isnotempty(tostring(Element1.Value)) and tostring(Element1.Value) endswith "@evil.com"))');
  // Several pairs with one Name: Elastic's map keeps the last Value, the query tests each.
  assert.equal(declared(t), [['EQL3004', 'narrower'], ['EQL3006', 'different']]);
  assertBinds(t, 'parameters');
});

test('a parameter Name with quotes, a bracket, a pipe, a backslash and a newline stays one string literal', () => {
  const t = kql(O365 + 'o365.audit.Parameters.`Fo"r]w|ard\\\n x` : "x"');
  assertBinds(t, 'hostile name');
  assert.is(stages(t).length, 3, t.output!);
  const run = runKql(parseKql(t.output!), [{ table: 'CloudAppEvents', row: { Timestamp: null, ReportId: '0', RawEventData: { Parameters: [{ Name: 'Fo"r]w|ard\\\n x', Value: 'X' }] } as never }, modelsDeviceInfo: true }, { table: 'CloudAppEvents', row: { Timestamp: null, ReportId: '1', RawEventData: { Parameters: [{ Name: 'Fo"r]w|ard', Value: 'x' }] } as never }, modelsDeviceInfo: true }], mapping);
  assert.equal((run as { matches: number[][] }).matches.map((m) => m[0]), [0], JSON.stringify(run));
});

test('verify: an inbox-rule-style test (a parameter that does not end with the user\'s domain) agrees with the matcher', () => {
  const q = O365 + 'event.provider == "Exchange" and event.action in ("New-InboxRule", "Set-InboxRule") and ((?o365.audit.Parameters.ForwardTo != null and not endsWith~(?o365.audit.Parameters.ForwardTo, user.domain)) or (?o365.audit.Parameters.RedirectTo != null and not endsWith~(?o365.audit.Parameters.RedirectTo, user.domain)))';
  const r = verifyRules(parseRuleText('inbox.eql', q), { targets: ['kql'] }).results[0]!;
  assert.is(r.verdict, 'agree', JSON.stringify(r));
  assertBinds(kql(q), 'inbox');
});

// ---- hostile strings in list-element comparisons ----

const HOSTILE = ['a"b', 'back\\slash', 'trailing\\', 'pi|pe', 'new\nline', "it's", 'x") or true or ("'];

test('hostile strings compared with list elements keep the query structure, bind, and match exactly that element value', () => {
  for (const h of HOSTILE) {
    const t = kql(O365 + `o365.audit.AffectedItems.Subject == ${eqlString(h)}`);
    assertBinds(t, JSON.stringify(h));
    assert.is(stages(t).length, 3, t.output!);
    const program = parseKql(t.output!);
    const rec = (subjects: string[]): KqlRecord =>
      defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', event: { category: 'web' }, data_stream: { dataset: 'o365.audit' }, o365: { audit: { AffectedItems: { Subject: subjects } } } } as never, mapping)!;
    const run = runKql(program, [rec(['other', h]), rec([h + 'x']), rec([])], mapping);
    assert.ok(!('notChecked' in run), JSON.stringify(run));
    assert.equal((run as { matches: number[][] }).matches.map((m) => m[0]), [0], `${JSON.stringify(h)}\n${t.output}`);
  }
});

// ---- the verifier ----

test('verifier rows: each ECS value of a list field is one element of the RawEventData list', () => {
  const rec = defenderRecord({ '@timestamp': '2026-01-01T00:00:00Z', event: { category: 'web', action: 'SoftDelete', provider: 'Exchange' }, data_stream: { dataset: 'o365.audit' }, o365: { audit: { AffectedItems: { Subject: ['a', 'b'] } } } } as never, mapping)!;
  assert.is(rec.table, 'CloudAppEvents');
  assert.equal(rec.row.RawEventData, { Workload: 'Exchange', Operation: 'SoftDelete', AffectedItems: [{ Subject: 'a' }, { Subject: 'b' }] });
});

test('interpreter: mv-apply with summarize countif gives one row per record; a missing list, an empty one and a non-matching one have no matching element', () => {
  const program = parseKql(`CloudAppEvents | mv-apply E = ${ITEMS} on (summarize M = countif(tostring(E.Subject) == "x")) | where M == 0`);
  const rows = [{}, { AffectedItems: [] }, { AffectedItems: [{ Subject: 'y' }] }, { AffectedItems: [{ Subject: 'y' }, { Subject: 'x' }] }, { AffectedItems: { Subject: 'x' } }];
  const records = rows.map((r, i): KqlRecord => ({ table: 'CloudAppEvents', row: { Timestamp: null, ReportId: String(i), RawEventData: r as never }, modelsDeviceInfo: true }));
  const run = runKql(program, records, mapping);
  assert.ok(!('notChecked' in run), JSON.stringify(run));
  // A single object (no list) is one element by the iff/pack_array wrapping: its Subject is x.
  assert.equal((run as { matches: number[][] }).matches.map((m) => m[0]), [0, 1, 2]);
});

test('verify: the MFA-style rule agrees with the matcher; an injected wrong count test is caught', () => {
  const rule = parseRuleText('mfa.eql', O365 + 'o365.audit.AffectedItems.Subject : ("*mfa*", "*2fa*") and not o365.audit.AffectedItems.Subject : "*sign-in*"');
  const ok = verifyRules(rule, { targets: ['kql'] }).results[0]!;
  assert.is(ok.verdict, 'agree', JSON.stringify(ok));
  const bad = withMutatedOutput('kql', (t) => t.replace('Matching1 > 0', 'Matching1 >= 0'), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
  assert.equal([bad.verdict, bad.bug], ['disagree', true]);
});

test('a negated element test declares its differences in the negated direction (the count is of the positive test)', () => {
  // The count is of elements meeting the positive test (Subject == "" / Subject has a value); the rule keeps rows
  // where it is 0. The narrowing EQL3205 declares for the positive test is a widening of its negation, and
  // replay agrees: the KQL side keeps events Elasticsearch rejects, never the reverse.
  for (const cond of ['o365.audit.AffectedItems.Subject != ""', 'o365.audit.AffectedItems.Subject == null']) {
    const eql = O365 + 'event.provider == "Exchange" and ' + cond;
    const t = kql(eql);
    assert.equal(t.diagnostics.filter((d) => d.code === 'EQL3205').map((d) => d.direction), ['wider'], cond);
    const r = verifyRules(parseRuleText('neg.eql', eql), { targets: ['kql'] }).results[0]!;
    assert.is(r.bug, false, `${cond}: ${JSON.stringify(r.counterexample)}`);
  }
});

test('field declarations replay does not model (renamed operations, repeated parameter names) excuse no mismatch: a wrong parameter name is caught', () => {
  const eql = O365 + 'event.action == "New-InboxRule" and o365.audit.Parameters.ForwardTo != null';
  const rule = parseRuleText('fwd.eql', eql);
  assert.is(verifyRules(rule, { targets: ['kql'] }).results[0]!.bug, false);
  // Both declarations are kept on the translation; they are marked as about what the source records.
  assert.ok(kql(eql).diagnostics.filter((d) => d.code === 'EQL3006').every((d) => d.collection === true));
  const r = withMutatedOutput('kql', (t) => t.replace('== "ForwardTo"', '== "ForwardTO"'), () => verifyRules(rule, { targets: ['kql'] })).results[0]!;
  assert.equal([r.verdict, r.bug], ['disagree', true]);
});

test('a rule naming no dataset is replayed with its index\'s data stream too, so the EQL3236 fallback is checked', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kql-o365-'));
  const file = join(dir, 'fwd.toml');
  const query = 'web where event.provider == "Exchange" and event.action == "New-InboxRule" and o365.audit.Parameters.ForwardTo != null';
  const toml = ['[rule]', 'name = "fwd"', 'rule_id = "00000000-0000-4000-8000-000000000002"', 'type = "eql"', 'language = "eql"', 'index = ["logs-o365.audit-*", "filebeat-*"]', `query = ${JSON.stringify(query)}`, ''];
  writeFileSync(file, toml.join('\n'));
  const { rules } = loadRules([file]);
  assert.ok(scenariosFor(rules[0]!).some((sc) => sc.name.endsWith('(data_stream.dataset o365.audit)') && sc.events.every((e) => e['data_stream.dataset'] === 'o365.audit')));
  assert.is(verifyRules(rules, { targets: ['kql'] }).results[0]!.bug, false);
  // EQL3236 excuses only events without a dataset (the other index): a wrong parameter name shows on the others.
  const r = withMutatedOutput('kql', (t) => t.replace('== "ForwardTo"', '== "ForwardTO"'), () => verifyRules(rules, { targets: ['kql'] })).results[0]!;
  assert.equal([r.verdict, r.bug, (r.counterexample!.event as Record<string, unknown>)?.['data_stream.dataset']], ['disagree', true, 'o365.audit']);
});

test.run();
