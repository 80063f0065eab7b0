import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactView, cronFor, defenderPeriod, durationMs, isoDuration, renderArtifact, ArtifactError } from '../src/artifacts.js';
import { loadRuleFile, type RuleMeta } from '../src/rules.js';
import { root, shared } from './helpers/shared.js';
import { checkGolden } from './helpers/golden.js';
import { sigmaSchemaErrors } from './helpers/sigma-schema.js';
import { ARTIFACTS } from '../src/artifacts.js';
import { loadRules, parseRuleText, type ParsedRule } from '../src/check.js';
import { convertRule } from '../src/convert.js';

const example = loadRuleFile(join(root, 'examples', 'persistence_via_update_orchestrator_service_hijack.toml')).rules[0]!.meta;

const hostile: RuleMeta = {
  rule_id: null,
  name: '[Test] "quoted" \\ rule]\nline two',
  description: 'ends with a backslash \\',
  severity: 'critical',
  interval: '90m',
  from: 'now-2h',
  threat: [],
  metadata: {},
};
const hostileQuery = '[search "a\\"b" | c]\nline2 \\';

test('durations: Kibana intervals and date math to ISO-8601 and cron', () => {
  assert.is(durationMs('5m'), 300_000);
  assert.is(durationMs('now-9m'), 540_000);
  assert.is(durationMs('1h'), 3_600_000);
  assert.is(durationMs('later'), null);
  assert.is(isoDuration(300_000), 'PT5M');
  assert.is(isoDuration(5_400_000), 'PT1H30M');
  assert.is(isoDuration(86_400_000), 'P1D');
  assert.is(isoDuration(93_600_000), 'P1DT2H');
  assert.is(isoDuration(30_000), 'PT30S');
  assert.is(cronFor(300_000), '*/5 * * * *');
  assert.is(cronFor(30_000), '* * * * *');
  assert.is(cronFor(7_200_000), '0 */2 * * *');
  assert.is(cronFor(2 * 86_400_000), '0 0 */2 * *');
  assert.is(defenderPeriod(300_000), '1H');
  assert.is(defenderPeriod(4 * 3_600_000), '12H');
  assert.is(defenderPeriod(48 * 3_600_000), '24H');
});

test('view of the example rule: schedule from interval and from, MITRE from the threat mapping', () => {
  const v = artifactView(example, 'Q');
  assert.equal(v.schedule, { interval: 'PT5M', lookback: 'PT9M', cron: '*/5 * * * *', splunkEarliest: '-9m', defenderPeriod: '1H', intervalMinutes: 5, lookbackMinutes: 9 });
  assert.equal(v.sentinelTactics, ['Persistence', 'PrivilegeEscalation']);
  assert.equal(v.techniques, ['T1543', 'T1574', 'T1068']);
  assert.equal(v.subtechniques, ['T1543.003', 'T1574.011']);
  assert.is(v.severity.splunk, 5);
  assert.is(v.resourceName, '265db8f5-fc73-4d0d-b434-6483b56372e2');
});

test('JSON artifacts are valid JSON that carry hostile values unchanged', () => {
  for (const kind of ['defender-detection', 's1-star']) {
    const doc = JSON.parse(renderArtifact(kind, artifactView(hostile, hostileQuery)));
    const text = JSON.stringify(doc);
    assert.ok(text.includes(JSON.stringify(hostileQuery)), `${kind} keeps the query verbatim`);
    assert.ok(text.includes(JSON.stringify(hostile.name)), `${kind} keeps the name verbatim`);
  }
  const d = JSON.parse(renderArtifact('defender-detection', artifactView(example, 'DeviceProcessEvents')));
  assert.is(d.queryCondition.queryText, 'DeviceProcessEvents');
  assert.is(d.detectionAction.alertTemplate.category, 'Persistence');
  assert.equal(d.detectionAction.alertTemplate.mitreTechniques, ['T1068', 'T1543', 'T1543.003', 'T1574', 'T1574.011']);
  const s1 = JSON.parse(renderArtifact('s1-star', artifactView(example, 'q', { s1qlDialect: '1' })));
  assert.is(s1.data.queryLang, '1.0');
  assert.is(s1.data.queryType, 'events');
  // A filter is an events rule in S1QL 2.0 with the query in s1ql.
  const plain = JSON.parse(renderArtifact('s1-star', artifactView(example, "a = 'x|y'", { s1qlDialect: '2' }))).data;
  assert.equal([plain.queryType, plain.queryLang, plain.s1ql, plain.scheduledParams], ['events', '2.0', "a = 'x|y'", undefined]);
  // A query with a pipe command is a PowerQuery: a scheduled rule, "2.0", query in scheduledParams (events + "2.0"
  // rejects `|`, "2.1" is not a valid queryLang: pmoses-s1/claude-skills@b6c2270 detection-rules.md).
  // The example rule runs every 5m and looks back 9m; threshold "more than 0 rows" alerts on any joined row.
  const piped = "| sql inner join\n  a = (x)\n| filter t1 <= t2";
  const sched = JSON.parse(renderArtifact('s1-star', artifactView(example, piped, { s1qlDialect: '2' }))).data;
  assert.equal([sched.queryType, sched.queryLang, sched.s1ql], ['scheduled', '2.0', undefined]);
  assert.equal(sched.scheduledParams, {
    query: piped,
    runIntervalMinutes: 5,
    lookbackWindowMinutes: 9,
    threshold: { value: 0, operator: 'Greater' },
  });
  assert.is(s1.data.severity, 'High');
});

test('Sentinel ARM template: strings that start with [ are escaped so ARM does not evaluate them', () => {
  const doc = JSON.parse(renderArtifact('sentinel-analytics', artifactView(hostile, hostileQuery)));
  const p = doc.resources[0].properties;
  assert.is(p.displayName, `[${hostile.name}`);
  assert.is(p.query, `[${hostileQuery}`);
  assert.is(p.queryFrequency, 'PT1H30M');
  assert.is(p.queryPeriod, 'PT2H');
  assert.is(p.severity, 'High');
  const ex = JSON.parse(renderArtifact('sentinel-analytics', artifactView(example, 'DeviceProcessEvents | take 1')));
  assert.is(ex.resources[0].properties.query, 'DeviceProcessEvents | take 1');
  assert.equal(ex.resources[0].properties.tactics, ['Persistence', 'PrivilegeEscalation']);
});

test('savedsearches.conf: one stanza; line breaks become continuations; a final backslash stays literal', () => {
  const conf = renderArtifact('splunk-savedsearch', artifactView(hostile, hostileQuery));
  const lines = conf.split('\n');
  assert.is(lines[0], '[Test  "quoted" \\ rule  line two]');
  assert.is(lines.filter((l) => l.startsWith('[')).length, 1, 'exactly one stanza header');
  // Joining continuation lines (Splunk keeps the line break) gives back the query.
  const search = /^search = ([\s\S]*?)\nenableSched/m.exec(conf)![1]!;
  assert.is(search.replace(/\\\n/g, '\n'), hostileQuery + ' ');
  assert.match(conf, /^cron_schedule = 0 \*\/2 \* \* \*$/m);
  assert.match(conf, /^dispatch\.earliest_time = -120m$/m);
  assert.match(conf, /^alert\.severity = 6$/m);
});

test('savedsearches.conf: a backslash at the end of an inner line or a bare \\r cannot join or split lines', () => {
  const view = artifactView({ ...hostile, description: 'one \\\ntwo\rthree' }, 'q');
  const conf = renderArtifact('splunk-savedsearch', view);
  const lines = conf.split('\n');
  // description is three lines: the first two end in the continuation backslash after a kept-apart literal one.
  const at = lines.findIndex((l) => l.startsWith('description = '));
  assert.equal(lines.slice(at, at + 3), ['description = one \\ \\', 'two\\', 'three']);
  assert.is(lines[at + 3], 'search = q');
  assert.not.ok(conf.includes('\r'));
});

test('ATT&CK ids that are not technique ids never reach an artifact (no ARM expression from a rule file)', () => {
  const meta: RuleMeta = { ...hostile, threat: [{ framework: 'MITRE ATT&CK', tactic: { id: 'TA0001', name: 'Initial Access' }, techniques: [{ id: "[concat('x')]", name: 'x', subtechniques: [{ id: 'T1566.001', name: 'y' }] }, { id: 'T1566', name: 'z', subtechniques: [] }] }] };
  const v = artifactView(meta, 'q');
  assert.equal(v.techniques, ['T1566']);
  assert.equal(v.subtechniques, ['T1566.001']);
  assert.is(artifactView({ rule_id: null, name: null, threat: [], metadata: {} }, 'q').name, 'eqlport rule');
});

test('templates are strict and user templates replace bundled ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqlport-tpl-'));
  writeFileSync(join(dir, 's1-star.hbs'), '{{name}}|{{nope}}');
  assert.throws(() => renderArtifact('s1-star', artifactView(example, 'q'), dir), (e: Error) => e instanceof ArtifactError && /nope/.test(e.message));
  writeFileSync(join(dir, 's1-star.hbs'), 'custom {{json name}}');
  assert.is(renderArtifact('s1-star', artifactView(example, 'q'), dir), 'custom "Persistence via Update Orchestrator Service Hijack"');
  assert.throws(() => renderArtifact('nonexistent', artifactView(example, 'q')), (e: Error) => e instanceof ArtifactError);
  assert.throws(() => renderArtifact('s1-star', artifactView(example, 'q'), join(dir, 'missing')), (e: Error) => e instanceof ArtifactError && /does not exist/.test(e.message));
});

// ---- real artifacts: the example rule (golden) and the whole corpus (valid files)

const artifactFor = (rule: ParsedRule, kind: string) => {
  const [res] = convertRule(rule, [ARTIFACTS[kind]!.target]);
  return res!.output === null ? null : renderArtifact(kind, artifactView(rule.source.meta, res!.output));
};

/** Problems of one artifact file as its consumer would read it; empty when it is valid. */
function artifactProblems(kind: string, text: string): string[] {
  if (ARTIFACTS[kind]!.extension === 'json') {
    try {
      JSON.parse(text);
      return [];
    } catch (e) {
      return [(e as Error).message];
    }
  }
  if (kind === 'sigma-file') return sigmaSchemaErrors(text);
  // savedsearches.conf: one stanza, then `key = value` lines or continuations of a line ending in `\`.
  const lines = text.replace(/\n$/, '').split('\n');
  const problems: string[] = [];
  if (!/^\[[^\[\]]+\]$/.test(lines[0]!)) problems.push(`bad stanza ${lines[0]}`);
  let continued = false;
  for (const l of lines.slice(1)) {
    if (!continued && !/^[A-Za-z_.]+ = /.test(l)) problems.push(`not a key = value line: ${l.slice(0, 80)}`);
    continued = l.endsWith('\\');
  }
  return problems;
}

test('artifacts of the example rule match their golden files', () => {
  const rule = parseRuleText(join(root, 'examples', 'persistence_via_update_orchestrator_service_hijack.toml'), readFileSync(join(root, 'examples', 'persistence_via_update_orchestrator_service_hijack.toml'), 'utf8'))[0]!;
  const dir = join(root, 'golden', 'example', 'artifacts');
  mkdirSync(dir, { recursive: true });
  const problems: string[] = [];
  for (const kind of Object.keys(ARTIFACTS)) {
    const text = artifactFor(rule, kind);
    assert.ok(text, `${kind} has output`);
    assert.equal(artifactProblems(kind, text!), [], kind);
    const problem = checkGolden(join(dir, `${kind}.${ARTIFACTS[kind]!.extension}`), text!);
    if (problem) problems.push(problem);
  }
  assert.ok(!problems.length, problems.join('\n'));
});

const corpus = shared('corpus');
if (corpus)
  test('every artifact of every corpus rule is a valid file', () => {
    const { rules } = loadRules([corpus]);
    const bad: string[] = [];
    let made = 0;
    for (const rule of rules.filter((r) => r.query))
      for (const kind of Object.keys(ARTIFACTS)) {
        const text = artifactFor(rule, kind);
        if (text === null) continue;
        made++;
        for (const p of artifactProblems(kind, text)) bad.push(`${rule.source.path} ${kind}: ${p}`);
      }
    assert.ok(made > 2000, `${made} artifacts`);
    assert.equal(bad.slice(0, 10), []);
  });

test.run();
