// The S1QL interpreter: SentinelOne's documented semantics per dialect, the ECS → S1 record conversion, and
// the verifier catching bugs injected into real backend output.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRuleText, loadRules } from '../src/check.js';
import { loadMapping } from '../src/translate/mapping.js';
import { translateRule } from '../src/translate/index.js';
import type { TranslateOptions } from '../src/translate/core.js';
import { scenariosFor, Unrepresentable, verifyPairs, verifyTranslation, type InterpreterContext, type VendorPair } from '../src/verify/index.js';
import { s1qlInterpreter as s1, type S1Record } from '../src/verify/s1ql.js';
import '../src/verify/interpreters.js';
import { shared } from './helpers/shared.js';

const ctx = (d: '1' | '2'): InterpreterContext => ({ mapping: loadMapping('s1ql'), options: { s1qlDialect: d } });
/** Indexes of the records a query matches. */
const hits = (d: '1' | '2', q: string, records: S1Record[]) => (s1.run(s1.parse(q, ctx(d)), records, ctx(d)) as { matches: number[][] }).matches.map((m) => m[0]);
const one = (d: '1' | '2', q: string, r: S1Record) => hits(d, q, [r]).length === 1;

test('2.0 case rules: = and in are case-sensitive; :anycase, plain contains and matches are not', () => {
  const r = { 'tgt.process.name': 'CMD.exe' };
  assert.not.ok(one('2', "tgt.process.name = 'cmd.exe'", r));
  assert.ok(one('2', "tgt.process.name = 'CMD.exe'", r));
  assert.not.ok(one('2', "tgt.process.name in ('cmd.exe')", r));
  assert.not.ok(one('2', "tgt.process.name in:matchcase ('cmd.exe', 'x')", r));
  assert.ok(one('2', "tgt.process.name in:anycase ('x', 'cmd.EXE')", r));
  assert.ok(one('2', "tgt.process.name contains 'md.E'", r));
  assert.ok(one('2', "tgt.process.name contains:anycase ('zz', 'MD.E')", r));
  assert.not.ok(one('2', "tgt.process.name contains:matchcase 'md.e'", r));
  assert.ok(one('2', "tgt.process.name contains:matchcase 'MD.e'", r));
});

test('2.0 regex: RE2, a match anywhere, case-insensitive unless :matchcase; backslashes decoded once', () => {
  const r = { 'tgt.file.path': 'C:\\Windows\\Temp\\A.EXE' };
  // S1QL text `temp\\\\a\\.exe` is the regex `temp\\a\.exe`: unanchored and case-insensitive.
  assert.ok(one('2', String.raw`tgt.file.path matches 'temp\\\\a\\.exe'`, r));
  assert.not.ok(one('2', String.raw`tgt.file.path matches 'temp\\\\b'`, r));
  assert.not.ok(one('2', "tgt.file.path matches:matchcase 'temp'", r));
  assert.ok(one('2', String.raw`tgt.file.path matches:matchcase '^C:\\\\Windows\\\\'`, r));
  assert.not.ok(one('2', "tgt.file.path matches '^Windows'", r)); // an anchor holds
  assert.ok(one('2', "tgt.file.path matches:matchcase '(?i)^c:'", r));
});

test('2.0 exists, numbers, not over a missing field, and | limit', () => {
  const full = { 'dst.port.number': 445, 'tgt.process.name': 'a' };
  const bare = { 'tgt.process.name': 'a' };
  assert.equal(hits('2', 'dst.port.number = *', [full, bare]), [0]);
  assert.equal(hits('2', 'not (dst.port.number = *)', [full, bare]), [1]);
  assert.equal(hits('2', 'dst.port.number = 445', [full, bare]), [0]);
  assert.equal(hits('2', 'dst.port.number >= 446', [full, bare]), []);
  // A comparison on a missing field is false and `not` is its complement (the two-valued reading).
  assert.equal(hits('2', "tgt.file.path in:anycase ('x')", [bare]), []);
  assert.equal(hits('2', "not (tgt.file.path in:anycase ('x'))", [bare]), [0]);
  assert.equal(hits('2', "! (tgt.file.path contains 'x') and tgt.process.name = 'a'", [bare]), [0]);
  assert.equal(hits('2', "tgt.process.name = 'a'\n| limit 2", [bare, bare, bare]), [0, 1]);
});

test('2.0 precedence: and binds tighter than or', () => {
  const r = { a: 'x', b: 'n', c: 'n' };
  assert.ok(one('2', "a = 'x' or b = 'y' and c = 'z'", r));
  assert.not.ok(one('2', "(a = 'x' or b = 'y') and c = 'z'", r));
});

test('1.0 operators and their case rules', () => {
  const r = { TgtProcImagePath: 'C:\\Windows\\System32\\CMD.exe', DstPort: 445 };
  assert.not.ok(one('1', 'TgtProcImagePath = "c:\\Windows\\System32\\CMD.exe"', r));
  assert.ok(one('1', 'TgtProcImagePath = "C:\\Windows\\System32\\CMD.exe"', r));
  assert.not.ok(one('1', 'TgtProcImagePath In ("c:\\windows\\system32\\cmd.exe")', r));
  assert.ok(one('1', 'TgtProcImagePath In AnyCase ("c:\\windows\\system32\\cmd.exe")', r));
  assert.not.ok(one('1', 'TgtProcImagePath Contains "cmd"', r));
  assert.ok(one('1', 'TgtProcImagePath ContainsCIS "cmd"', r));
  assert.ok(one('1', 'TgtProcImagePath In Contains AnyCase ("zz", "SYSTEM32")', r));
  assert.not.ok(one('1', 'TgtProcImagePath In Contains ("zz", "SYSTEM32")', r));
  assert.not.ok(one('1', 'TgtProcImagePath StartsWith "c:"', r));
  assert.ok(one('1', 'TgtProcImagePath StartsWithCIS "c:"', r));
  assert.not.ok(one('1', 'TgtProcImagePath EndsWith ".EXE"', r));
  assert.ok(one('1', 'TgtProcImagePath EndsWithCIS ".EXE"', r));
  // 1.0 strings keep backslashes as written; RegExp is read case-insensitive (undocumented, see s1ql.ts).
  assert.ok(one('1', 'TgtProcImagePath RegExp "system32\\\\cmd\\.exe$"', r));
  assert.ok(one('1', 'DstPort = "445"', r));
  assert.ok(one('1', 'DstPort > 400 AND DstPort <= 445', r));
  assert.ok(one('1', 'DstPort EXISTS AND NOT SrcPort EXISTS', r));
  assert.ok(one('1', 'NOT SrcProcName In AnyCase ("x")', r)); // missing field: the comparison is false
});

test('fromEcs: process start reads process.* as tgt.process.* and the parent as src.process.*, per dialect', () => {
  const ev = {
    '@timestamp': '2026-01-01T00:00:00Z',
    'event.category': ['process'],
    'event.type': ['start'],
    'host.os.type': 'macos',
    process: { name: 'osascript', executable: '/usr/bin/osascript', args: ['osascript', '-e', 'display dialog "pw"'], pid: 42, parent: { name: 'bash' } },
  };
  assert.equal(s1.fromEcs(ev, ctx('2')), {
    'event.type': 'Process Creation',
    'event.category': 'process',
    'endpoint.os': 'osx',
    'tgt.process.name': 'osascript',
    'tgt.process.image.path': '/usr/bin/osascript',
    'tgt.process.pid': 42,
    'src.process.name': 'bash',
    // No command_line: built from the arguments with Windows quoting.
    'tgt.process.cmdline': 'osascript -e "display dialog \\"pw\\""',
    // Nanoseconds since epoch, exact: 2026-01-01T00:00:00Z is 1767225600 s.
    timestamp: 1_767_225_600_000_000_000n,
  });
  const dv = s1.fromEcs(ev, ctx('1')) as S1Record;
  assert.equal([dv.EventType, dv.EndpointOS, dv.TgtProcName, dv.SrcProcName, dv.ObjectType], ['Process Creation', 'osx', 'osascript', 'bash', 'process']);
});

test('fromEcs: a file event stores only the path; name and extension are derived from it or rebuild it', () => {
  const base = { 'event.category': 'file', 'event.type': 'creation' };
  assert.equal(s1.fromEcs({ ...base, 'file.path': 'C:\\T\\a.exe', 'file.name': 'a.exe', 'file.extension': 'exe' }, ctx('2')), {
    'event.type': 'File Creation',
    'event.category': 'file',
    'tgt.file.path': 'C:\\T\\a.exe',
  });
  assert.is((s1.fromEcs({ ...base, 'file.name': 'a.exe', 'file.directory': '/tmp/x' }, ctx('2')) as S1Record)['tgt.file.path'], '/tmp/x/a.exe');
  // No S1 event has a path whose name is not its last segment: such an ECS event is left out.
  assert.ok(s1.fromEcs({ ...base, 'file.path': 'C:\\T\\a.exe', 'file.name': 'b.exe' }, ctx('2')) instanceof Unrepresentable);
  // ECS event.type values are lowercase: another spelling comes from no source (as for KQL and Sigma).
  assert.ok(s1.fromEcs({ 'event.category': 'file', 'event.type': 'CREATION', 'file.path': 'C:\\a' }, ctx('2')) instanceof Unrepresentable);
});

test('fromEcs: an event no SentinelOne event gives is left out, judged only on the fields the rule names', () => {
  const named = (...f: string[]): InterpreterContext => ({ ...ctx('2'), ruleFields: new Set(f) });
  const start = { 'event.category': 'process', 'event.type': 'start', 'process.name': 'curl' };
  // Elastic's pipeline writes event.action "start" into every ProcessCreation [PAIRS]: none lacks it.
  assert.ok(s1.fromEcs(start, named('event.action', 'process.name')) instanceof Unrepresentable);
  assert.not.ok(s1.fromEcs(start, named('process.name')) instanceof Unrepresentable);
  assert.not.ok(s1.fromEcs({ ...start, 'event.action': 'start' }, named('event.action')) instanceof Unrepresentable);
  // A value outside the class's list, or outside an enumeration S1 spells.
  assert.ok(s1.fromEcs({ ...start, 'event.action': 'ProcessRollup2a' }, named('event.action')) instanceof Unrepresentable);
  const file = { 'event.category': 'file', 'file.path': '/etc/x' };
  assert.ok(s1.fromEcs({ ...file, 'event.type': 'file_create_event' }, named('event.type')) instanceof Unrepresentable);
  assert.ok(s1.fromEcs({ ...file, 'host.os.type': 'windowsa' }, named('host.os.type')) instanceof Unrepresentable);
  // One stored path has one extension.
  assert.ok(s1.fromEcs({ ...file, 'event.type': 'creation', 'file.extension': ['irbi', 'kirbi'] }, named('file.extension')) instanceof Unrepresentable);
  // Every S1 event has an event type, and the pipeline derives the extension of a path that has one.
  assert.ok(s1.fromEcs({ ...file, 'event.action': 'creation' }, named('event.type')) instanceof Unrepresentable);
  assert.ok(s1.fromEcs({ ...file, 'event.type': 'creation', 'file.path': 'C:\\a.dll' }, named('file.extension')) instanceof Unrepresentable);
  assert.not.ok(s1.fromEcs({ ...file, 'event.type': 'creation', 'file.path': '/x/.git/hooks/' }, named('file.extension')) instanceof Unrepresentable);
  // S1 stores DOMAIN\\user once: user.name and user.domain rebuild it, and are dissected from it.
  const actor = { 'event.category': 'file', 'event.type': 'creation', 'file.path': 'C:\\a' };
  assert.is((s1.fromEcs({ ...actor, 'user.name': 'SYSTEM', 'user.domain': 'NT AUTHORITY' }, named('user.name', 'user.domain')) as S1Record)['src.process.user'], 'NT AUTHORITY\\SYSTEM');
  assert.is((s1.fromEcs({ ...actor, 'user.name': 'root' }, named('user.name')) as S1Record)['src.process.user'], 'root');
  // Without a backslash the pipeline makes the domain the whole value too, so a name without a domain is stored
  // after an empty domain, which it dissects as none; likewise a domain without a name. A domain cannot hold one.
  assert.is((s1.fromEcs({ ...actor, 'user.name': 'root' }, named('user.name', 'user.domain')) as S1Record)['src.process.user'], '\\root');
  assert.is((s1.fromEcs({ ...actor, 'user.domain': 'CORP' }, named('user.name', 'user.domain')) as S1Record)['src.process.user'], 'CORP\\');
  assert.ok(s1.fromEcs({ ...actor, 'user.name': 'a', 'user.domain': 'b\\c' }, named('user.name', 'user.domain')) instanceof Unrepresentable);
  // An IPConnect's direction gives both network.direction and event.action: they cannot disagree.
  const accepted = { 'event.category': 'network', 'event.type': 'start', 'event.action': 'connection_accepted', 'destination.port': 22 };
  assert.ok(s1.fromEcs({ ...accepted, 'network.direction': 'egress' }, named('event.action', 'network.direction')) instanceof Unrepresentable);
  assert.is((s1.fromEcs({ ...accepted, 'network.direction': 'ingress' }, named('event.action', 'network.direction')) as S1Record)['event.network.direction'], 'INCOMING');
  assert.is((s1.fromEcs(accepted, named('event.action')) as S1Record)['event.network.direction'], 'INCOMING');
  // IPConnect gets no event.action from the pipeline [PAIRS]: an event without one is possible.
  const conn = { 'event.category': 'network', 'event.type': 'start', 'destination.port': 4444 };
  assert.not.ok(s1.fromEcs(conn, named('event.action')) instanceof Unrepresentable);
  // A false boolean is stored as no value, not as an impossible one.
  assert.not.ok(s1.fromEcs({ ...start, 'process.code_signature.trusted': false }, named('process.code_signature.trusted')) instanceof Unrepresentable);
});

// ---- the verifier with this interpreter catches injected bugs ----------------------------------

function verifyMutated(query: string, options: TranslateOptions, mutate: (s: string) => string) {
  const [rule] = parseRuleText('case.eql', query);
  const t = translateRule({ query: rule!.query!, meta: rule!.source.meta, text: rule!.source.query, path: rule!.source.path }, 's1ql', options);
  assert.ok(t.output, 'the rule translates');
  const mutated = mutate(t.output!);
  assert.is.not(mutated, t.output, 'the mutation applies');
  const honest = verifyTranslation(rule!, t, scenariosFor(rule!), options);
  assert.equal([honest.verdict, honest.bug], ['agree', false], 'the real output agrees');
  return verifyTranslation(rule!, { ...t, output: mutated }, scenariosFor(rule!), options);
}

test('injected bug: in:anycase made in:matchcase is caught', () => {
  const r = verifyMutated('process where event.type == "start" and process.name : "cmd.exe"', { s1qlDialect: '2' }, (s) => s.replace('in:anycase', 'in:matchcase'));
  assert.equal([r.verdict, r.bug, r.counterexample!.matched_by], ['disagree', true, 'eql']);
});

test('injected bug: a dropped not is caught (both dialects)', () => {
  const q = 'process where event.type == "start" and process.name == "a.exe" and not process.parent.name : "b.exe"';
  const r2 = verifyMutated(q, { s1qlDialect: '2' }, (s) => s.replace('or not (src.process.name', 'or (src.process.name'));
  assert.equal([r2.verdict, r2.bug], ['disagree', true]);
  const r1 = verifyMutated(q, { s1qlDialect: '1' }, (s) => s.replace('OR NOT (SrcProcName', 'OR (SrcProcName'));
  assert.equal([r1.verdict, r1.bug], ['disagree', true]);
});

test('injected bug: a 1.0 ContainsCIS made Contains is caught', () => {
  const r = verifyMutated('process where event.type == "start" and process.command_line : "*-enc*"', { s1qlDialect: '1' }, (s) => s.replace('ContainsCIS', 'Contains'));
  assert.equal([r.verdict, r.bug], ['disagree', true]);
});

// Every golden case in both dialects with zero bugs: test/verify-golden.test.ts (one test per variant).

// ---- real Cloud Funnel events -----------------------------------------------------------------

const pairsFile = shared('vendor-pairs', 'sentinel_one_cloud_funnel.ndjson');
const corpus = shared('corpus');
if (pairsFile && corpus) {
  test('vendor pairs: every corpus rule, both dialects, no undeclared disagreement', () => {
    const pairs: VendorPair[] = readFileSync(pairsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const { rules } = loadRules([corpus]);
    for (const d of ['2', '1'] as const) {
      const report = verifyPairs(rules, pairs, { targets: ['s1ql'], s1qlDialect: d });
      const bugs = report.results.filter((r) => r.bug);
      assert.ok(!bugs.length, bugs.map((b) => `${b.path}: ${b.reason ?? ''} ${JSON.stringify(b.counterexample)}`).join('\n'));
      const s = report.summary.s1ql!;
      console.log(`notice: s1ql (${d}) over ${pairs.length} Cloud Funnel pairs: ${JSON.stringify(s)}`);
      assert.ok(s.agree > 0);
    }
  });

  test('vendor pairs: a Cloud Funnel record reads as the dialect stores it', () => {
    const pairs: VendorPair[] = readFileSync(pairsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const proc = pairs.find((p) => (p.raw as Record<string, unknown>)['event.type'] === 'ProcessCreation')!;
    const two = s1.fromVendor!(proc.source, proc.raw, ctx('2')) as S1Record;
    assert.is(two['tgt.process.name'], (proc.raw as Record<string, unknown>)['tgt.process.name']);
    const one1 = s1.fromVendor!(proc.source, proc.raw, ctx('1')) as S1Record;
    assert.equal([one1.EventType, one1.TgtProcName], ['Process Creation', two['tgt.process.name']]);
    assert.is(s1.fromVendor!('m365_defender/event', proc.raw, ctx('2')), null);
  });
}


// ---- PowerQuery joins (sequences, dialect 2) ----------------------------------------------------

const SEQ = 'sequence by host.id with maxspan=1m [process where event.type == "start" and process.name == "a.exe"] [network where destination.port == 443]';

function verifySeq(mutate: (s: string) => string) {
  const options: TranslateOptions = { s1qlDialect: '2' };
  const [rule] = parseRuleText('seq.eql', SEQ);
  const t = translateRule({ query: rule!.query!, meta: rule!.source.meta, text: rule!.source.query, path: rule!.source.path }, 's1ql', options);
  assert.is(t.status, 'approximate');
  const scenarios = scenariosFor(rule!);
  const honest = verifyTranslation(rule!, t, scenarios, options);
  assert.is(honest.bug, false, 'the real output holds');
  const mutated = mutate(t.output!);
  assert.is.not(mutated, t.output, 'the mutation applies');
  /** Whether every tuple the output reports is in time order, over every probe scenario. */
  const ordered = (output: string) =>
    scenarios.every((s) => {
      const c = { ...ctx('2'), ruleFields: new Set(['host.id', 'event.type', 'process.name', 'destination.port', 'event.category']) };
      const recs = s.events.map((e) => s1.fromEcs(e, c));
      const run = s1.run(s1.parse(output, c), recs.map((r) => (r instanceof Unrepresentable ? null : r)), c) as { matches: number[][] };
      const at = (i: number) => Date.parse(String(s.events[i]!['@timestamp']));
      return run.matches.every((m) => m.every((e, j) => j === 0 || at(m[j - 1]!) <= at(e)));
    });
  return { verdict: verifyTranslation(rule!, { ...t, output: mutated }, scenarios, options), honestOrdered: ordered(t.output!), mutatedOrdered: ordered(mutated) };
}

test('injected bug: steps ordered the wrong way round are caught', () => {
  const { verdict } = verifySeq((s) => s.replace('t1 <= t2', 't2 <= t1'));
  assert.equal([verdict.verdict, verdict.bug, verdict.counterexample!.matched_by], ['disagree', true, 'eql']);
});

test('injected bug: maxspan in milliseconds instead of nanoseconds is caught', () => {
  const { verdict } = verifySeq((s) => s.replace('t2 - t1 <= 60000000000', 't2 - t1 <= 60000'));
  assert.equal([verdict.verdict, verdict.bug, verdict.counterexample!.matched_by], ['disagree', true, 'eql']);
});

test('injected bugs: a dropped order filter or maxspan bound reports tuples no declaration allows', () => {
  // The join is declared wider as a whole (more tuples than EQL's earliest completions), but no declaration
  // relaxes the order or maxspan, so verify calls such tuples bugs.
  const r = verifySeq((s) => s.replace('t1 <= t2 and ', ''));
  assert.equal([r.verdict.verdict, r.verdict.bug, r.verdict.counterexample!.matched_by], ['disagree', true, 'target']);
  const span = verifySeq((s) => s.replace(' and t2 - t1 <= 60000000000', ''));
  assert.equal([span.verdict.verdict, span.verdict.bug, span.verdict.counterexample!.matched_by], ['disagree', true, 'target']);
  assert.ok(r.honestOrdered, 'the real output reports tuples in time order only');
  assert.not.ok(r.mutatedOrdered, 'without the filter a tuple out of order is reported');
});

test('join semantics: all matching pairs, null keys match, columns only as named, exact ns arithmetic', () => {
  const q = [
    '| sql inner join',
    "  a = (x = 'a' | columns k1 = key, t1 = timestamp),",
    "  b = (x = 'b' | columns k1 = key, t2 = timestamp)",
    '  on k1',
    '| filter t1 <= t2 and t2 - t1 <= 1000000',
  ].join('\n');
  const ns = (ms: number) => BigInt(ms) * 1_000_000n + 1_700_000_000_000_000_000n;
  const recs: S1Record[] = [
    { x: 'a', key: 'h1', timestamp: ns(0) },
    { x: 'a', key: 'h1', timestamp: ns(1) },
    { x: 'b', key: 'h1', timestamp: ns(1) },
    { x: 'b', key: 'h2', timestamp: ns(1) },
    { x: 'b', key: 'h1', timestamp: ns(2) },
    { x: 'a', timestamp: ns(0) },
    { x: 'b', timestamp: ns(1) },
  ];
  const m = (s1.run(s1.parse(q, ctx('2')), recs, ctx('2')) as { matches: number[][] }).matches;
  // Every pair with equal keys within 1 ms in order (0→2, 1→2, 1→4 (1 ms apart, inclusive); 0→4 is 2 ms);
  // the two keyless records match each other ("Null allowed as match").
  assert.equal(m.map((x) => x.join('-')).sort(), ['0-2', '1-2', '1-4', '5-6']);
  assert.throws(() => s1.run(s1.parse(q.replace('on k1', 'on k2'), ctx('2')), recs, ctx('2')), /join key k2/);
  assert.throws(() => s1.run(s1.parse(q.replace('t2 = timestamp', 't1 = timestamp'), ctx('2')), recs, ctx('2')), /t1 is on both sides/);
  assert.throws(() => s1.parse(q, ctx('1')), /does not parse|Expected|S1QL/);
});

test.run();
