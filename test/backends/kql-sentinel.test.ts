// Microsoft Sentinel's tables as a fallback of the KQL backend: a rule no Defender table reads may read a class
// marked `product: sentinel`; a rule Defender reads never changes; `--kql-sentinel off` refuses; replay builds each
// event's row in the table the query actually reads.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRuleText } from '../../src/check.js';
import { verifyRules } from '../../src/verify/index.js';
import { assertBinds, kql } from '../helpers/kql.js';
import { withMutatedOutput } from '../helpers/mutate.js';

// A user's mapping with two Sentinel classes: share access (5145) that Defender has no table for, and logons
// (4624) that Defender's DeviceLogonEvents also holds.
const dir = mkdtempSync(join(tmpdir(), 'eqlport-sentinel-'));
const mappingFile = join(dir, 'sentinel.yaml');
writeFileSync(
  mappingFile,
  `target: kql
classes:
  - name: test_share_access
    when: { event.code: "5145" }
    source: { table: SecurityEvent, product: sentinel, time_column: TimeGenerated, requires: [event.code], own_fields: true, filter: { EventID: 5145 }, project: [Timestamp, Computer, EventID] }
    fields:
      winlog.event_data.RelativeTargetName: RelativeTargetName
      winlog.computer_name: Computer
  - name: test_logon
    when: { category: authentication, event.code: "4624" }
    source: { table: SecurityEvent, product: sentinel, time_column: TimeGenerated, requires: [event.code], own_fields: true, filter: { EventID: 4624 }, project: [Timestamp, Computer, EventID] }
    fields:
      user.name: TargetUserName
`,
);
const options = { mappingFiles: [mappingFile] };
const shareRule = 'any where event.code == "5145" and winlog.event_data.RelativeTargetName : "lsarpc"';
const logonRule = 'authentication where event.code == "4624" and user.name == "alice"';

test('a rule no Defender table reads reads the Sentinel table, says so (EQL3250) and binds', () => {
  const t = kql(shareRule, options);
  assert.is(t.status, 'exact', JSON.stringify(t.diagnostics));
  assert.equal(t.output!.split('\n').slice(0, 4), ['SecurityEvent', '| extend Timestamp = TimeGenerated', '| where EventID == 5145', '| where RelativeTargetName =~ "lsarpc"']);
  const note = t.diagnostics.find((d) => d.code === 'EQL3250');
  assert.ok(note && note.severity === 'info' && note.message.includes("Sentinel's SecurityEvent"), JSON.stringify(t.diagnostics));
  assertBinds(t, shareRule);
});

test('--kql-sentinel off: the rule is unsupported with the reasons Defender gives, and no Sentinel note', () => {
  const t = kql(shareRule, { ...options, kqlSentinel: 'off' });
  assert.equal([t.status, t.output], ['unsupported', null]);
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3003' && d.severity === 'error'));
  assert.not.ok(t.diagnostics.some((d) => d.code === 'EQL3250'));
});

test('a rule Defender reads is the same with Sentinel classes in the mapping', () => {
  const plain = kql(logonRule);
  const withSentinel = kql(logonRule, options);
  assert.match(plain.output!, /^DeviceLogonEvents\n/);
  assert.equal([withSentinel.status, withSentinel.output, withSentinel.diagnostics], [plain.status, plain.output, plain.diagnostics]);
});

test('replay: events become rows of the table the query reads, and a bug in a Sentinel query is caught', () => {
  // Were the 4624 events rows of SecurityEvent (the more specific class), the DeviceLogonEvents query would miss them.
  const logon = (o: object) => {
    const r = verifyRules(parseRuleText('logon.eql', logonRule), { targets: ['kql'], ...o }).results[0]!;
    return [r.verdict, r.mismatches, r.bug, r.counterexample];
  };
  assert.equal(logon(options), logon({}));
  const share = parseRuleText('share.eql', shareRule);
  const ok = verifyRules(share, { targets: ['kql'], ...options }).results[0]!;
  assert.equal([ok.verdict, ok.bug], ['agree', false], ok.reason ?? '');
  const wrongEvent = withMutatedOutput('kql', (t) => t.replace('EventID == 5145', 'EventID == 5140'), () => verifyRules(share, { targets: ['kql'], ...options }).results[0]!);
  assert.equal([wrongEvent.verdict, wrongEvent.bug], ['disagree', true]);
});

test.run();
