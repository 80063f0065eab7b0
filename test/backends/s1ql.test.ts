import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseQuery } from '../../src/parse.js';
import { translateRule } from '../../src/translate/index.js';
import { parseS1ql, type S1qlExpr } from '../../src/verify/s1ql-parse.js';
import { parseS1qlFilter } from '../helpers/s1ql.js';
import { evaluate } from '../../src/verify/s1ql.js';
import { parseRuleText } from '../../src/check.js';
import { scenariosFor, verifyTranslation } from '../../src/verify/index.js';
import '../../src/verify/interpreters.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function s1(query: string, dialect: '1' | '2' = '2') {
  const { query: q, diagnostics } = parseQuery(query);
  assert.ok(q, diagnostics.map((d) => d.message).join('; '));
  return translateRule({ query: q!, meta: { rule_id: null, name: null } as never, text: query, path: 'test.eql' }, 's1ql', { s1qlDialect: dialect });
}
const out = (query: string, dialect: '1' | '2' = '2') => {
  const t = s1(query, dialect);
  assert.ok(t.output, t.diagnostics.map((d) => d.message).join('; '));
  return t.output!;
};
const codes = (query: string, dialect: '1' | '2' = '2') => s1(query, dialect).diagnostics.map((d) => `${d.code}${d.direction ? ':' + d.direction : ''}`);
const P = 'process where event.type == "start" and ';

test('class filter lists both event.type spellings in 2.0, the DV spelling in 1.0', () => {
  assert.is(out(P + 'process.name == "a"'), "event.type in ('Process Creation', 'ProcessCreation')\nand tgt.process.name in:matchcase ('a')");
  assert.is(out(P + 'process.name == "a"', '1'), 'EventType = "Process Creation"\nAND TgtProcName = "a"');
});

test('process.* is the started process in process starts, the actor elsewhere', () => {
  assert.match(out(P + 'process.parent.name : "x"'), "src.process.name in:anycase ('x')");
  assert.match(out('file where event.type == "creation" and process.name : "x"'), "src.process.name in:anycase ('x')");
  assert.match(out('file where event.type == "creation" and process.parent.name : "x"', '1'), 'SrcProcParentName In AnyCase ("x")');
});

test('case rules per operator and dialect', () => {
  assert.match(out(P + 'process.name : "CMD.exe"'), "in:anycase ('CMD.exe')");
  assert.match(out(P + 'process.name in ("a", "b")'), "in:matchcase ('a', 'b')");
  assert.match(out(P + 'process.command_line : "*x*"'), "contains:anycase 'x'");
  assert.match(out(P + 'process.command_line like "*x*"'), "contains:matchcase 'x'");
  assert.match(out(P + 'process.command_line : "*x*"', '1'), 'ContainsCIS "x"');
  assert.match(out(P + 'process.command_line : "x*"', '1'), 'StartsWithCIS "x"');
  assert.match(out(P + 'process.command_line like "*x"', '1'), 'EndsWith "x"');
  // PowerQuery has no prefix operator: an anchored regex, case-insensitive by an explicit flag.
  assert.match(out(P + 'process.command_line : "x*"'), "tgt.process.cmdline matches '(?i)^x'");
  assert.match(out(P + 'process.command_line like "x*"'), "tgt.process.cmdline matches:matchcase '^x'");
});

test('globs become anchored regexes; wildcards in == and in are literal', () => {
  assert.match(out(P + 'process.executable : "?:\\\\W\\\\*.exe"'), "matches '(?is)^.:\\\\\\\\W\\\\\\\\.*\\\\.exe$'");
  assert.match(out(P + 'process.name == "a*b?"'), "in:matchcase ('a*b?')");
  assert.match(out(P + 'process.name == "a*b?"', '1'), 'TgtProcName = "a*b?"');
});

test('negation keeps events that lack the field, under either null reading', () => {
  assert.match(out(P + 'not process.name : "x"'), "(not (tgt.process.name = *) or not (tgt.process.name in:anycase ('x')))");
  assert.match(out(P + 'process.name != "x"', '1'), '(NOT TgtProcName EXISTS OR NOT (TgtProcName = "x"))');
  assert.match(out(P + 'process.name == null', '1'), 'AND NOT TgtProcName EXISTS');
  // De Morgan down to single predicates, each guarded.
  assert.match(out(P + 'not (process.name : "a" and process.parent.name : "b")'), "((not (tgt.process.name = *) or not (tgt.process.name in:anycase ('a'))) or (not (src.process.name = *) or not (src.process.name in:anycase ('b'))))");
});

test('fidelity: declared approximations and unsupported constructs', () => {
  assert.equal(codes(P + 'process.args : "-x"'), ['EQL3006:wider']);
  assert.match(out(P + 'process.args : "-x"'), "tgt.process.cmdline contains:anycase '-x'");
  assert.equal(codes(P + 'process.pe.original_file_name == "x.exe"'), ['EQL3006:different']);
  assert.equal(s1(P + 'process.working_directory : "x"').status, 'unsupported');
  assert.equal(codes(P + 'process.working_directory : "x"'), ['EQL3420:wider', 'EQL3002']);
  assert.equal(codes('sequence by host.id [process where true] [file where true]', '1'), ['EQL3401']);
  assert.match(s1('sequence by host.id [process where true] [file where true]', '1').diagnostics[0]!.message, /no ordered event correlation/);
  // DV's RegExp case rule is undocumented: a case-sensitive regex is declared wider there only.
  assert.equal(codes(P + 'process.name like "a*b"', '1'), ['EQL3406:wider']);
  assert.equal(codes(P + 'process.name like "a*b"'), []);
});

test('fields the event class decides', () => {
  // Every process-start spelling: the class filter alone says it.
  assert.is(out(P + 'event.action in ("exec", "exec_event", "start", "ProcessRollup2", "executed", "process_started")'), "event.type in ('Process Creation', 'ProcessCreation')");
  assert.equal(codes(P + 'event.action == "exec" and process.name == "a"'), ['EQL3403:wider']);
  const sysmonOnly = s1(P + 'data_stream.dataset == "windows.sysmon_operational" and process.name == "a"');
  assert.is(sysmonOnly.status, 'unsupported');
  assert.equal(sysmonOnly.diagnostics.map((d) => d.code), ['EQL3407']);
  assert.is(s1(P + 'data_stream.dataset : ("windows.sysmon_operational", "sentinel_one_cloud_funnel.*") and process.name == "a"').status, 'exact');
  assert.match(out('process where host.os.type == "macos" and event.type == "start" and process.name == "a"'), "endpoint.os = 'osx'");
});

test('file.name, file.extension and dll.name are read from the path S1 stores', () => {
  assert.match(out('file where event.type == "creation" and file.extension : "exe"', '1'), 'TgtFilePath EndsWithCIS ".exe"');
  assert.match(out('file where event.type == "creation" and file.name : "a.txt"'), "tgt.file.path matches '(?i)(?:^|[\\\\\\\\/])a\\\\.txt$'");
});

test('numbers: bare in 2.0; DV equality quoted, relational bare', () => {
  assert.match(out('network where destination.port == 443 and source.port > 1024'), 'dst.port.number = 443\nand src.port.number > 1024');
  assert.match(out('network where destination.port == 443 and source.port > 1024', '1'), 'DstPort = "443"\nAND SrcPort > 1024');
});

test('cidrMatch over IPv4 becomes an exact octet regex; IPv6 is unsupported', () => {
  const o = out('network where cidrMatch(destination.ip, "172.16.0.0/12")');
  const re = /matches:matchcase '(.*)'/.exec(o)![1]!.replace(/\\\\/g, '\\');
  const r = new RegExp(re);
  for (const ip of ['172.16.0.1', '172.31.255.255']) assert.ok(r.test(ip), ip);
  for (const ip of ['172.15.0.1', '172.32.0.1', '1172.16.0.1']) assert.not.ok(r.test(ip), ip);
  // Nothing else in the rule: left out, nothing would be left, so unsupported.
  assert.equal(codes('network where cidrMatch(destination.ip, "fe80::/10")'), ['EQL3420:wider', 'EQL3405']);
  assert.equal(codes('network where destination.port == 443 and cidrMatch(destination.ip, "fe80::/10")'), ['EQL3420:wider']);
});

// ---- hostile strings: whatever the value, the query keeps its shape and the parser reads the value back ----

const HOSTILE = ['a"b', "it's", 'C:\\Temp\\', '\\\\srv\\share', 'x") or (1==1', "x') or ('1'='1", 'a | b', 'line\nbreak', 'tab\there', '*?', 'ünï😀', '\\"', 'end\\', "'", '"'];

/** The single predicate on `field` in a parsed query, with its decoded value. */
function predicateOn(where: S1qlExpr, field: string): Extract<S1qlExpr, { type: 'pred' }> {
  const found: Extract<S1qlExpr, { type: 'pred' }>[] = [];
  const visit = (e: S1qlExpr) => {
    if (e.type === 'and' || e.type === 'or') e.args.forEach(visit);
    else if (e.type === 'not') visit(e.arg);
    else if (e.type === 'pred' && e.field === field) found.push(e);
  };
  visit(where);
  assert.is(found.length, 1, `one predicate on ${field}`);
  return found[0]!;
}

/** Does a parsed predicate accept a value? (regex flags as written inline; JS regex syntax covers what is emitted) */
function accepts(p: Extract<S1qlExpr, { type: 'pred' }>, value: string): boolean {
  const v = p.value;
  if (v.kind === 'list') return v.values.some((x) => (/anycase/.test(p.op) ? x.toLowerCase() === value.toLowerCase() : x === value));
  if (v.kind !== 'string') return false;
  if (/^(matches|regexp)/.test(p.op)) {
    const m = /^\(\?([is]+)\)/.exec(v.value);
    return new RegExp(m ? v.value.slice(m[0].length) : v.value, (m?.[1] ?? '') + 'u').test(value);
  }
  if (p.op === '=') return v.value === value;
  const ci = /cis|anycase/.test(p.op);
  const [a, b] = ci ? [value.toLowerCase(), v.value.toLowerCase()] : [value, v.value];
  if (p.op.startsWith('contains')) return a.includes(b);
  if (p.op.startsWith('startswith')) return a.startsWith(b);
  if (p.op.startsWith('endswith')) return a.endsWith(b);
  throw new Error(`unexpected operator ${p.op}`);
}

for (const dialect of ['2', '1'] as const) {
  test(`hostile values keep the query's structure and read back exactly (dialect ${dialect})`, () => {
    const field = dialect === '2' ? 'tgt.process.cmdline' : 'TgtProcCmdLine';
    const eql = (s: string) => JSON.stringify(s);
    for (const h of HOSTILE) {
      // `:` patterns take `*` and `?` as wildcards; only `==` takes them literally.
      const wild = /[*?]/.test(h);
      const shapes: [string, string, string[]][] = [
        [`process.command_line == ${eql(h)}`, h, [h + 'x', 'x' + h]],
        [`process.command_line : ${eql(h)}`, h.toUpperCase(), [h + 'x']],
        [`process.command_line : ${eql(h + '*')}`, h + 'tail', ['x' + h]],
        [`process.command_line : ${eql('*' + h)}`, 'head' + h, [h + 'x']],
        [`process.command_line : ${eql('*' + h + '*')}`, 'a' + h + 'b', ['ab']],
      ].slice(0, wild ? 1 : 5) as [string, string, string[]][];
      for (const [cond, yes, nos] of shapes) {
        const text = out(P + cond, dialect);
        const q = parseS1qlFilter(text, dialect);
        assert.is(q.where.type, 'and', text);
        assert.is((q.where as { args: S1qlExpr[] }).args.length, 2, `two conjuncts in ${text}`);
        const p = predicateOn(q.where, field);
        assert.ok(accepts(p, yes), `${cond} should accept ${JSON.stringify(yes)}:\n${text}`);
        for (const no of nos) if (no.toLowerCase() !== yes.toLowerCase()) assert.not.ok(accepts(p, no), `${cond} should reject ${JSON.stringify(no)}:\n${text}`);
      }
    }
  });
}

test('no DV string ever holds a quote or ends in a backslash', () => {
  for (const h of HOSTILE)
    for (const cond of [`process.command_line == ${JSON.stringify(h)}`, `process.command_line : ${JSON.stringify('*' + h)}`]) {
      const text = out(P + cond, '1');
      for (const m of text.matchAll(/"([^"]*)"/g)) assert.not.ok(m[1]!.endsWith('\\'), text);
    }
});


test('Lucene regex read as the native matcher does: ^ $ literal, \\d as [0-9], invalid escapes refused, regex~ folding spelled', () => {
  for (const dialect of ['1', '2'] as const) {
    const t = s1(P + 'process.name regex "a$b^c"', dialect);
    assert.ok(t.status !== 'unsupported', JSON.stringify(t.diagnostics));
    const q = parseS1qlFilter(t.output!, dialect);
    const p = predicateOn(q.where, dialect === '2' ? 'tgt.process.name' : 'TgtProcName');
    assert.ok(accepts(p, 'a$b^c'), JSON.stringify(p));
    assert.not.ok(accepts(p, 'abc'));
    assert.ok(!codes(P + 'process.name regex "[0-9]{3}"', dialect).some((c) => c === 'EQL3007'));
    const digits = s1(P + 'process.name regex "\\\\d+"', dialect);
    const dp = predicateOn(parseS1qlFilter(digits.output!, dialect).where, dialect === '2' ? 'tgt.process.name' : 'TgtProcName');
    assert.ok(accepts(dp, '123'));
    assert.not.ok(accepts(dp, '12a'));
    const d = s1(P + 'process.name regex "\\\\n"', dialect);
    assert.is(d.status, 'unsupported');
    assert.ok(d.diagnostics.some((x) => x.code === 'EQL3007' && /\\n/.test(x.message)));
  }
  // regex~ folds ASCII only, as Lucene 9: no `(?i)`, which would also fold `é` and take U+212A for `k`.
  const ci = s1(P + 'process.name regex~ "ék"', '2');
  assert.ok(ci.output!.includes("matches:matchcase '^(?:é[kK])$'"), ci.output!);
});

// ---- conditions without a SentinelOne equivalent are left out, so the rule only matches more ----------

const NAME = "tgt.process.name in:anycase ('a')";
const PARENT_NOT_B = "(not (src.process.name = *) or not (src.process.name in:anycase ('b')))";
const CLASS = "event.type in ('Process Creation', 'ProcessCreation')";

test('a condition on a field S1 lacks is true where asserted and false where negated: the rule widens', () => {
  // process.working_directory has no SentinelOne field: every form of a condition on it drops out, and the
  // rest of the rule stays as it was.
  for (const cond of [
    'process.working_directory : "/tmp"',
    'not process.working_directory : "/tmp"',
    'process.working_directory != "/tmp"',
    'process.working_directory in ("/a", "/b")',
    'not process.working_directory in~ ("/a", "/b")',
    'process.working_directory : ("/a*", "*/b")',
    'startsWith(process.working_directory, "/tmp")',
    'not endsWith~(process.working_directory, "/tmp")',
    'process.working_directory != null',
    'process.working_directory == null',
    // Inside `or`, a condition taken as true makes the whole disjunction true...
    '(process.working_directory : "/tmp" or process.parent.name : "b")',
    // ...and under `not`, De Morgan turns `and` into `or`: again true as a whole.
    'not (process.working_directory : "/tmp" and process.parent.name : "b")',
  ]) {
    const t = s1(P + 'process.name : "a" and ' + cond);
    assert.is(t.output, `${CLASS}\nand ${NAME}`, cond);
    assert.equal(codes(P + 'process.name : "a" and ' + cond), ['EQL3420:wider'], cond);
    assert.match(t.diagnostics[0]!.message, /process\.working_directory has no SentinelOne equivalent; the condition is left out/);
  }
  // Under `not` an `or` becomes `and`: the dropped side is true there and the other side stays, negated.
  assert.is(out(P + 'process.name : "a" and not (process.working_directory : "/tmp" or process.parent.name : "b")'), `${CLASS}\nand ${NAME}\nand ${PARENT_NOT_B}`);
  assert.is(out(P + 'process.name : "a" and (process.args_count == 2 and process.parent.name : "b" or process.pid == 4)'), `${CLASS}\nand ${NAME}\nand (src.process.name in:anycase ('b') or tgt.process.pid = 4)`);
  assert.is(out(P + 'process.name : "a" and not process.working_directory : "/tmp"', '1'), 'EventType = "Process Creation"\nAND TgtProcName In AnyCase ("a")');
});

test('a predicate S1QL cannot express is left out the same way; what it recorded before is not kept', () => {
  // A regex Lucene refuses (a backslash before a letter that names no class), a mixed list, a function of a field, an IPv6 CIDR block.
  for (const cond of ['process.command_line regex "\\\\q+"', 'process.pid in (4, "x")', 'length(process.command_line) > 200', 'cidrMatch(process.command_line, "fe80::/10")']) {
    assert.is(out(P + 'process.name : "a" and not ' + cond), `${CLASS}\nand ${NAME}`, cond);
    assert.equal(codes(P + 'process.name : "a" and ' + cond), ['EQL3420:wider'], cond);
  }
  // The name stands in for the original file name (EQL3006), but it is no number: only the leave-out is declared.
  assert.equal(codes(P + 'process.name : "a" and process.pe.original_file_name > 3'), ['EQL3420:wider']);
});

test('a rule left with nothing beyond its event class stays unsupported', () => {
  const only = s1(P + 'process.working_directory : "/tmp"');
  assert.is(only.status, 'unsupported');
  assert.is(only.diagnostics.find((d) => d.severity === 'error')!.code, 'EQL3002');
  assert.match(only.diagnostics.find((d) => d.severity === 'error')!.message, /nothing is left to filter SentinelOne "process-start" events on/);
  // Classifying fields alone (event.*, host.os.type) do not count as a condition beyond the class.
  assert.is(s1('process where host.os.type == "linux" and event.type == "start" and process.args_count == 2').status, 'unsupported');
  assert.is(s1('file where event.action in ("creation", "modification") and file.Ext.header_bytes : "4d5a*"').status, 'unsupported');
  assert.is(s1(P + '(process.working_directory : "/tmp" or process.name : "a")').status, 'unsupported');
  // A predicate rendered and then dropped (its or-sibling was left out, so the or is true) does not count either:
  // only endpoint.os is left in the output.
  const dropped = s1('process where ((process.name == "x" or process.working_directory == "y") and host.os.type == "windows") or host.os.type == "linux"');
  assert.is(dropped.status, 'unsupported');
  assert.match(dropped.diagnostics.find((d) => d.severity === 'error')!.message, /nothing is left to filter/);
  // One that stays in the output counts.
  assert.is(s1('process where ((process.name == "x" and process.working_directory == "y") and host.os.type == "windows") or host.os.type == "linux"').status, 'approximate');
  // A mapping naming an unknown transform is a mapping error, never left out.
  const dir = mkdtempSync(join(tmpdir(), 'eqlport-s1-'));
  const file = join(dir, 'user.yaml');
  writeFileSync(file, 'target: s1ql\nfields:\n  process.working_directory: { field: tgt.process.image.path, transform: dirname }\n');
  const { query: q } = parseQuery(P + 'process.name : "a" and process.working_directory : "/tmp"');
  const bad = translateRule({ query: q!, meta: { rule_id: null, name: null } as never, text: '', path: 'test.eql' }, 's1ql', { s1qlDialect: '2', mappingFiles: [file] });
  assert.is(bad.status, 'unsupported');
  assert.equal(bad.diagnostics.map((d) => d.code), ['EQL4140']);
  assert.match(bad.diagnostics[0]!.message, /process\.working_directory .*"dirname"/);
});

test('verify: a left-out condition makes only the S1 side match more, as declared', () => {
  for (const query of [
    P + 'process.name : "a" and process.working_directory : "/tmp"',
    P + 'process.name : "a" and not process.working_directory : "/tmp"',
    P + 'process.name : "a" and not (process.working_directory : "/tmp" or process.parent.name : "b")',
  ]) {
    const [rule] = parseRuleText('case.eql', query);
    for (const d of ['2', '1'] as const) {
      const t = translateRule({ query: rule!.query!, meta: rule!.source.meta, text: rule!.source.query, path: rule!.source.path }, 's1ql', { s1qlDialect: d });
      const r = verifyTranslation(rule!, t, scenariosFor(rule!), { s1qlDialect: d });
      assert.equal([r.verdict, r.bug, r.counterexample?.matched_by], ['disagree', false, 'target'], `${d}: ${query}`);
    }
  }
});

test('verify: probes a name or domain the split leaves empty (CORP\\, \\root) and finds the translation agrees', () => {
  // The ECS event with a domain but no name is stored as `corp\`; `user.name : "*"` must not match it.
  for (const query of ['file where user.domain : "corp" and user.name : "*"', 'file where user.name : "root" and user.domain : "*"']) {
    const [rule] = parseRuleText('case.eql', query);
    for (const d of ['2', '1'] as const) {
      const t = translateRule({ query: rule!.query!, meta: rule!.source.meta, text: rule!.source.query, path: rule!.source.path }, 's1ql', { s1qlDialect: d });
      assert.is(verifyTranslation(rule!, t, scenariosFor(rule!), { s1qlDialect: d }).verdict, 'agree', `${d}: ${query}`);
    }
  }
});

// ---- sequences as a PowerQuery join (dialect 2) ----------------------------------------------------

const START = 'process where event.type == "start" and process.name == "a.exe"';
const NET = 'network where destination.port == 443';

test('a 2-step sequence: one subquery per step on the key, then order and maxspan (in ns) filtered', () => {
  assert.is(
    out(`sequence by host.id with maxspan=1m [${START}] [${NET}]`),
    [
      '| sql inner join',
      '  step1 = (',
      "    event.type in ('Process Creation', 'ProcessCreation')",
      "    and tgt.process.name in:matchcase ('a.exe')",
      '    and agent.uuid = *',
      '    | columns k1 = agent.uuid, t1 = timestamp',
      '  ),',
      '  step2 = (',
      "    event.category in ('ip', 'dns')",
      '    and dst.port.number = 443',
      '    and agent.uuid = *',
      '    | columns k1 = agent.uuid, t2 = timestamp',
      '  )',
      '  on k1',
      '| filter t1 <= t2 and t2 - t1 <= 60000000000',
    ].join('\n'),
  );
  assert.equal(codes(`sequence by host.id with maxspan=1m [${START}] [${NET}]`), ['EQL3430:wider', 'EQL3431:wider', 'EQL3433', 'EQL3434']);
});

test('a 3-step sequence nests 2-way joins; without maxspan only the order is filtered', () => {
  const step = (n: number, filter: string[], ind: string) =>
    [`${ind}step${n} = (`, ...filter.map((l, i) => `${ind}  ${i ? 'and ' : ''}${l}`), `${ind}  and agent.uuid = *`, `${ind}  | columns k1 = agent.uuid, t${n} = timestamp`, `${ind})`];
  const f1 = ["event.type in ('Process Creation', 'ProcessCreation')", "tgt.process.name in:matchcase ('a.exe')"];
  const f2 = ["event.type in ('File Creation', 'FileCreation')", "tgt.file.path in:anycase ('x')"];
  const f3 = ["event.category in ('ip', 'dns')", 'dst.port.number = 443'];
  const s1a = step(1, f1, '      ');
  const s2a = step(2, f2, '      ');
  const expected = [
    '| sql inner join',
    '  steps1to2 = (',
    '    | sql inner join',
    ...s1a.slice(0, -1), s1a[s1a.length - 1] + ',',
    ...s2a,
    '      on k1',
    '  ),',
    ...step(3, f3, '  '),
    '  on k1',
    '| filter t1 <= t2 and t2 <= t3',
  ].join('\n');
  assert.is(out(`sequence by host.id [${START}] [file where event.type == "creation" and file.path : "x"] [${NET}]`), expected);
});

test('keys: sequence and per-step keys are renamed to shared columns, each required present', () => {
  const o = out(`sequence by host.id [${START}] by process.entity_id [${NET}] by process.entity_id`);
  // process.entity_id is the started process in a process start, the actor in a network event.
  assert.match(o, 'and agent.uuid = *\n    and tgt.process.uid = *\n    | columns k1 = agent.uuid, k2 = tgt.process.uid, t1 = timestamp');
  assert.match(o, 'and agent.uuid = *\n    and src.process.uid = *\n    | columns k1 = agent.uuid, k2 = src.process.uid, t2 = timestamp');
  assert.match(o, '\n  on k1, k2\n');
  // A lossy key field (the name S1 stores stands in for the original file name): equal in ECS and in S1 may differ, both ways.
  assert.ok(codes(`sequence by process.pe.original_file_name [${START}] [${NET}]`).includes('EQL3006:different'));
  // user.name is cut out of S1's DOMAIN\\user: a computed value, which a join key cannot be.
  assert.equal(codes(`sequence by user.name [${START}] [${NET}]`), ['EQL3007']);
});

test('until is declared, not enforced; with runs stays unsupported (one event would fill every repeat)', () => {
  assert.equal(codes(`sequence by host.id with maxspan=10s [${START}] with runs=3`), ['EQL3401']);
  assert.match(s1(`sequence by host.id [${START}] with runs=3`).diagnostics[0]!.message, /a single event would fill them all/);
  assert.equal(codes(`sequence by host.id [${START}] [${NET}] until [process where event.type == "end"]`), ['EQL3430:wider', 'EQL3431:wider', 'EQL3433', 'EQL3434', 'EQL3432:wider']);
});

test('sequences kept unsupported: missing steps, no keys, optional keys, more than 5 steps, dialect 1, samples', () => {
  assert.equal(codes(`sequence by host.id with maxspan=1m [${START}] ![${NET}] [${START}]`), ['EQL3401']);
  assert.equal(codes(`sequence [${START}] [${NET}]`), ['EQL3401']);
  assert.equal(codes(`sequence by ?host.id [${START}] [${NET}]`), ['EQL3401']);
  assert.equal(codes(`sequence by host.id [${START}] [${NET}] [${START}] [${NET}] [${START}] [${NET}]`), ['EQL3401']);
  assert.equal(codes(`sequence by host.id [${START}] [${NET}]`, '1'), ['EQL3401']);
  assert.equal(codes(`sample by host.id [${START}] [${NET}]`), ['EQL3401']);
  assert.equal(codes(`sequence by host.id [${START}] [${NET}] | head 5`), ['EQL3007']);
  // A step whose filter cannot be rendered makes the whole sequence unsupported.
  assert.equal(s1(`sequence by host.id [${START}] [process where process.working_directory : "x"]`).status, 'unsupported');
});

test('hostile strings in a step filter do not change the join structure', () => {
  for (const v of ["a') | columns k1 = x, t1 = y), step9 = (z", 'on k1\n| filter 1 = 1', 'tail\\', "it's \\ | ) ("]) {
    const q = `sequence by host.id [process where event.type == "start" and process.name == ${JSON.stringify(v)}] [${NET}]`;
    const parsed = parseS1ql(out(q));
    assert.is(parsed.type, 'joinquery');
    if (parsed.type !== 'joinquery') continue;
    assert.equal(parsed.join.sides.map((s) => s.name), ['step1', 'step2']);
    assert.equal(parsed.join.on, ['k1']);
    const first = parsed.join.sides[0]!.query;
    assert.ok(first.type === 'select');
    if (first.type !== 'select') continue;
    assert.equal(first.columns, [{ name: 'k1', field: 'agent.uuid' }, { name: 't1', field: 'timestamp' }]);
    // The value reaches the step's filter whole: as a literal, or as a regex matching exactly it.
    const preds: S1qlExpr[] = first.where.type === 'and' ? first.where.args : [first.where];
    const name = preds.find((p) => p.type === 'pred' && p.field === 'tgt.process.name');
    assert.ok(name && name.type === 'pred', JSON.stringify(first.where));
    if (name?.type === 'pred' && name.value.kind === 'list') assert.equal(name.value.values, [v]);
    else if (name?.type === 'pred' && name.value.kind === 'string') assert.ok(new RegExp(name.value.value.replace(/^\(\?[is]+\)/, '')).test(v));
  }
});


test('a loss under a negation is declared in the rule direction: a wider predicate narrows the rule', () => {
  // Arguments matched as substrings of the command line: wider, but `not` of a wider test is narrower.
  assert.equal(codes(P + 'process.args : "*.mof"'), ['EQL3006:wider']);
  assert.equal(codes(P + 'not process.args : "*.mof"'), ['EQL3006:narrower']);
  assert.equal(codes(P + 'process.name == "x" and not process.parent.args == "y"'), ['EQL3006:narrower']);
  // An argument holding a quote is escaped in a Windows command line: the substring may miss it.
  assert.equal(codes(P + 'process.args == "\\"sh\\";"'), ['EQL3006:wider', 'EQL3006:narrower']);
  // A field the class decides only in part is decided in the rule's favour: satisfied where asserted, failed
  // under a negation; either way the rule widens.
  assert.equal(codes(P + 'process.name == "x" and event.action == "exec"'), ['EQL3403:wider']);
  assert.equal(codes(P + 'process.name == "x" and not event.action == "exec"'), ['EQL3403:wider']);
  assert.is(out(P + 'process.name == "x" and not event.action == "exec"'), `${CLASS}\nand tgt.process.name in:matchcase ('x')`);
  // A value the class never holds stays false: negated, it is true for every event, exactly.
  assert.equal(codes(P + 'process.name == "x" and not event.action == "fork"'), []);
});

test('a field derived from the stored path exists when the path has it, not when the path exists', () => {
  const F = 'file where event.type == "creation" and ';
  // file.extension == null: the path has no extension (its existence guarded as every negation is).
  assert.match(out(F + 'file.extension == null'), "(not (tgt.file.path = *) or not (tgt.file.path matches:matchcase '\\\\.[^\\\\\\\\/.]+$'))");
  assert.match(out(F + 'file.name != null'), "tgt.file.path matches:matchcase '[^\\\\\\\\/]$'");
  assert.equal(codes(F + 'file.extension == null', '1'), []);
});

test('an IPConnect\'s event.action is read from its direction, as Elastic\'s pipeline sets it', () => {
  assert.is(out('network where event.action == "connection_accepted" and destination.port == 22'), "event.type in ('IP Connect', 'IPConnect')\nand event.network.direction = 'INCOMING'\nand dst.port.number = 22");
  assert.equal(codes('network where event.type == "start" and event.action in ("connection_attempted", "connection_accepted") and destination.port == 22'), []);
  assert.is(out('network where event.type == "start" and event.action == "connection_attempted" and destination.port == 22', '1'), 'EventType = "IP Connect"\nAND NetEventDirection = "OUTGOING"\nAND DstPort = "22"');
});

test('process end events: the terminated process is tgt.process, as in process starts', () => {
  const q = 'process where event.type == "end" and process.name == "vmx" and process.parent.name == "kill"';
  assert.is(out(q), "event.type in ('Process Termination', 'ProcessTermination', 'Process Exit', 'ProcessExit')\nand tgt.process.name in:matchcase ('vmx')\nand src.process.name in:matchcase ('kill')");
  assert.is(out(q, '1'), 'EventType In ("Process Termination", "Process Exit")\nAND TgtProcName = "vmx"\nAND SrcProcName = "kill"');
  // The pipeline writes event.action "end" into every such event.
  assert.equal(codes(q + ' and event.action == "end"'), []);
});

test('user.name and user.domain are read from DOMAIN\\user as Elastic\'s pipeline dissects it', () => {
  const check = (cond: string, yes: string[], no: string[]) => {
    const q = parseS1qlFilter(out('file where ' + cond), '2');
    const p = predicateOn(q.where, 'src.process.user');
    for (const v of yes) assert.ok(accepts(p, v), `${cond} should accept ${JSON.stringify(v)}`);
    for (const v of no) assert.not.ok(accepts(p, v), `${cond} should reject ${JSON.stringify(v)}`);
  };
  // The name is what follows the first backslash, or the whole value when there is none.
  check('user.name : "root"', ['root', 'ROOT', 'NT\\root', 'D\\ROOT'], ['root\\x', 'A\\B\\root', 'xroot', 'D\\xroot']);
  check('user.name : "adm*"', ['adm1', 'D\\adm\\x', 'D\\adm'], ['adm\\x', 'D\\x', 'x\\y\\adm']);
  check('user.name == "a\\\\b"', ['D\\a\\b'], ['a\\b', 'D\\A\\b']);
  // The domain is what precedes it, or again the whole value.
  check('user.domain == "NT AUTHORITY"', ['NT AUTHORITY\\SYSTEM', 'NT AUTHORITY'], ['nt authority\\SYSTEM', 'X\\NT AUTHORITY', 'NT AUTHORITYX\\a']);
  check('user.domain : "*corp"', ['CORP\\a', 'megacorp'], ['x\\corp', 'corpx']);
  check('user.name != null', ['a', 'D\\a'], ['D\\']);
  assert.equal(codes('file where user.name : "root" and user.domain : "corp"'), []);
});

test('in process starts user.* is the started process\'s user, declared different: the pipeline reads the actor\'s', () => {
  // Elastic's Cloud Funnel pipeline (default.yml) dissects user.* from src.process.user in every event; the backend
  // reads tgt.process.user for a process start, so the two can name different users.
  assert.match(out(P + 'user.name : "root"'), 'tgt.process.user matches');
  assert.equal(codes(P + 'user.name : "root"'), ['EQL3006:different']);
  assert.equal(codes(P + 'user.domain : "corp"'), ['EQL3006:different']);
  // Elsewhere the actor's user is what the pipeline reads: exact.
  assert.equal(codes('file where user.name : "root"'), []);
});

test('a derived part left empty by the split (CORP\\, \\u, C:\\dir\\) is absent: `: "*"` and `== ""` do not match it', () => {
  // Elastic's pipeline gives no user.name for `D\` and no user.domain for `\u`; a path ending in a separator has
  // no file.name. Checked with the verify interpreter over the stored S1 value, in both dialects.
  const check = (cond: string, field: string, yes: string[], no: string[]) => {
    for (const d of ['1', '2'] as const) {
      const q = parseS1ql(out('file where ' + cond, d), d);
      assert.is(q.type, 'query');
      const where = (q as Extract<typeof q, { type: 'query' }>).where;
      const rec = (v: string) => (d === '2' ? { 'event.category': 'file', [field]: v } : { ObjectType: 'File', [field === 'src.process.user' ? 'SrcProcUser' : 'TgtFilePath']: v });
      for (const v of yes) assert.ok(evaluate(where, rec(v), d), `${d}: ${cond} should accept ${JSON.stringify(v)}`);
      for (const v of no) assert.not.ok(evaluate(where, rec(v), d), `${d}: ${cond} should reject ${JSON.stringify(v)}`);
    }
  };
  check('user.name : "*"', 'src.process.user', ['D\\u', '\\u', 'u'], ['D\\', '']);
  check('user.domain : "*"', 'src.process.user', ['D\\u', 'D\\', 'u'], ['\\u', '']);
  check('user.name == ""', 'src.process.user', [], ['D\\', '', '\\', 'u']);
  check('user.name : ("", "a*")', 'src.process.user', ['D\\a', 'ab'], ['D\\', '', 'D\\b']);
  check('not user.name : "*"', 'src.process.user', ['D\\'], ['D\\u', 'u']);
  check('file.name : "*"', 'tgt.file.path', ['C:\\dir\\a', 'a'], ['C:\\dir\\', '/tmp/']);
  // `: "*"` on a derived field asks only that the part exists.
  assert.is(out('file where user.name : "*"'), "event.category = 'file'\nand src.process.user matches:matchcase '(?s)^[^\\\\\\\\]+$|\\\\\\\\.'");
});

test('container.id is read from k8sCluster.containerId; `: "*"` asks only that it exists', () => {
  assert.match(out(P + 'process.name : "a" and container.id : "*"'), '\nand k8sCluster.containerId = *');
  assert.match(out(P + 'process.name : "a" and not container.id like "*"', '1'), '\nAND NOT ContainerId EXISTS');
  assert.match(out(P + 'process.name : "a" and container.id == "abc"'), "k8sCluster.containerId in:matchcase ('abc')");
});

test('RegistryValueCreate is a registry creation, as Elastic\'s pipeline reads it', () => {
  assert.match(out('registry where event.type == "creation" and registry.path : "x"'), "'Registry Value Create', 'RegistryValueCreate'");
  assert.not.match(out('registry where event.type == "change" and registry.path : "x"'), 'Create');
});

test.run();
