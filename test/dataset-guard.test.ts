// A rule that names its dataset (data_stream.dataset, event.dataset, event.module) reads only a source of that
// dataset: a firewall's or a packet capture's events are in no endpoint table, and one cloud log's source does not
// stand in for another's. Endpoint telemetry (mappings/datasets.yaml) is still read by every endpoint source.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseQuery } from '../src/parse.js';
import { translateRule } from '../src/translate/index.js';
import { filterFacts, type TargetId, type TranslateOptions, type Translation } from '../src/translate/core.js';
import { chooseClass, type Mapping } from '../src/translate/mapping.js';
import type { EventFilter } from '../src/ir/nodes.js';
import type { RuleMeta } from '../src/rules.js';

const meta: RuleMeta = { rule_id: '00000000-0000-4000-8000-000000000001', name: 'Test rule', threat: [], metadata: {} };
const TEXT_TARGETS: TargetId[] = ['sigma', 'kql', 'spl', 's1ql'];

function convert(eql: string, target: TargetId, options: TranslateOptions = {}): Translation {
  const { query, diagnostics } = parseQuery(eql);
  assert.ok(query, diagnostics.map((d) => d.message).join('; '));
  return translateRule({ query: query!, meta, text: eql, path: 'test.eql' }, target, options);
}

function filterOf(eql: string): EventFilter {
  const { query } = parseQuery(eql);
  assert.ok(query?.body.kind === 'EventQuery', eql);
  return query!.body.filter;
}

function refusedFor(t: Translation, dataset: string) {
  assert.is(t.status, 'unsupported');
  assert.is(t.output, null);
  const err = t.diagnostics.find((d) => d.severity === 'error');
  assert.is(err?.code, 'EQL3003');
  assert.match(err!.message, `holds ${dataset} events`);
}

test('a foreign dataset is unsupported on every text target, whatever else the filter tests', () => {
  // Fortigate's event codes are not Windows event ids, and its logins are not Defender logons. (KQL reads FortiGate
  // from Sentinel's CommonSecurityLog unless --kql-sentinel off: kql-sentinel-cloud.test.ts.)
  const own = { kqlSentinel: 'off' } as const;
  for (const target of TEXT_TARGETS) {
    refusedFor(convert('any where data_stream.dataset == "fortinet_fortigate.log" and event.code == "0100032095"', target, own), 'fortinet_fortigate.log');
    refusedFor(convert('authentication where data_stream.dataset == "fortinet_fortigate.log" and event.action == "login"', target, own), 'fortinet_fortigate.log');
    // event.dataset names the same thing as data_stream.dataset; an `or` of dataset tests is a dataset test too.
    refusedFor(convert('network where event.dataset : "network_traffic.redis" and destination.port == 6379', target), 'network_traffic.redis');
    refusedFor(
      convert('any where (data_stream.dataset == "network_traffic.flow" or event.dataset == "network_traffic.flow") and event.action == "network_flow"', target),
      'network_traffic.flow',
    );
    // event.module is the integration: every network_traffic.* dataset, none of them endpoint telemetry.
    refusedFor(convert('network where event.module == "network_traffic" and destination.port == 80', target), 'network_traffic.*');
  }
});

test('a sequence with a step of a foreign dataset is unsupported, naming that step', () => {
  const eql = 'sequence by host.id with maxspan=1m [process where event.type == "start" and process.name == "nc"] [network where event.dataset == "network_traffic.flow" and destination.port == 4444]';
  for (const target of ['kql', 'spl'] as const) {
    const t = convert(eql, target);
    refusedFor(t, 'network_traffic.flow');
    const err = t.diagnostics.find((d) => d.severity === 'error')!;
    assert.ok(err.span && eql.slice(err.span.start.offset).startsWith('network where'), `${target}: the error is on the network step`);
  }
});

test('an endpoint dataset still converts, the sensor substitution declared as before', () => {
  // Sysmon's process creations read from DeviceProcessEvents: the dataset test has no Defender column (wider).
  const t = convert('process where data_stream.dataset == "windows.sysmon_operational" and event.type == "start" and process.name == "cmd.exe"', 'kql');
  assert.is(t.status, 'approximate');
  assert.ok(t.output!.startsWith('DeviceProcessEvents'), t.output!);
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3201' && d.message.startsWith('data_stream.dataset') && d.direction === 'wider'));
  // `endpoint` as a module covers endpoint.events.*.
  const s = convert('network where event.module == "endpoint" and event.action == "connection_attempted" and destination.port == 4444', 'spl');
  assert.is.not(s.status, 'unsupported');
  assert.ok(!s.diagnostics.some((d) => d.code === 'EQL3003'));
});

// A mapping of two classes, shaped like SPL's o365 audit log and a Sysmon network class.
const mapping: Mapping = {
  target: 'spl',
  settings: {},
  fields: {},
  classes: [
    { name: 'o365-audit', when: { 'data_stream.dataset': 'o365.audit' }, source: {} },
    { name: 'sysmon-network', when: { category: 'network' }, source: {} },
  ],
};

test('a class whose when names o365.audit is not chosen for network_traffic.flow, nor is an endpoint class', () => {
  assert.is(chooseClass(mapping, filterFacts(filterOf('any where event.dataset == "network_traffic.flow" and event.action == "network_flow"'))), null);
  assert.is(chooseClass(mapping, filterFacts(filterOf('network where event.dataset == "network_traffic.flow" and destination.port == 80'))), null);
});

test('event.dataset and event.module name the datasets of a class whose when says data_stream.dataset', () => {
  // Same dataset: the class holds exactly these events, the test is implied and nothing is lost.
  const f = filterFacts(filterOf('any where event.dataset == "o365.audit" and event.action == "x"'));
  const same = chooseClass(mapping, f)!;
  assert.is(same.cls.name, 'o365-audit');
  assert.equal(same.losses, []);
  assert.ok(same.implied.has(f.conjuncts[0]!));
  // The module holds more datasets than the class: chosen, narrower, the test not implied.
  const m = filterFacts(filterOf('any where event.module == "o365" and event.action == "x"'));
  const part = chooseClass(mapping, m)!;
  assert.is(part.cls.name, 'o365-audit');
  assert.equal(part.losses.map((l) => l.direction), ['narrower']);
  assert.is(part.implied.size, 0);
  // An endpoint dataset reads the endpoint class.
  assert.is(chooseClass(mapping, filterFacts(filterOf('network where data_stream.dataset == "endpoint.events.network"')))?.cls.name, 'sysmon-network');
});

test('a dataset test ORed with another condition is no dataset constraint: such rules convert as before', () => {
  const eql = 'process where (data_stream.dataset == "crowdstrike.fdr" or event.action == "ProcessRollup2") and process.name == "cmd.exe"';
  assert.equal(filterFacts(filterOf(eql)).datasets, []);
  // The same with a foreign dataset: not refused for it either (the `or` may hold through event.action).
  const foreign = eql.replace('crowdstrike.fdr', 'fortinet_fortigate.log');
  assert.equal(filterFacts(filterOf(foreign)).datasets, []);
  for (const target of ['kql', 'spl', 's1ql'] as const) {
    const t = convert(foreign, target);
    assert.ok(!t.diagnostics.some((d) => d.code === 'EQL3003'), `${target}: ${t.diagnostics.map((d) => d.message).join('; ')}`);
  }
  // A negated dataset test names no dataset the rule reads.
  assert.equal(filterFacts(filterOf('process where data_stream.dataset != "fortinet_fortigate.log" and process.name == "x"')).datasets, []);
});

test('an endpoint source read for a list that also names a foreign dataset declares what it misses', () => {
  // zeek.conn events are not in Sysmon, Defender or Sigma's network_connection: the rule's zeek matches are lost.
  for (const target of ['sigma', 'kql', 'spl'] as TargetId[]) {
    const t = convert('network where event.dataset in ("zeek.conn", "endpoint.events.network") and destination.port == 1', target);
    assert.is(t.status, 'approximate', target);
    const miss = t.diagnostics.find((d) => d.code === 'EQL3004' && /zeek\.conn/.test(d.message));
    assert.ok(miss, `${target}: ${JSON.stringify(t.diagnostics)}`);
    assert.is(miss!.direction, 'narrower');
  }
  // Endpoint telemetry alone declares no such loss.
  const t = convert('network where event.dataset == "endpoint.events.network" and destination.port == 1', 'kql');
  assert.not.ok(t.diagnostics.some((d) => /holds endpoint telemetry/.test(d.message)), JSON.stringify(t.diagnostics));
});

test.run();
