// The SPL evaluator over hand-written events: Splunk's rules (case, wildcards, missing fields, multivalue,
// three-valued where), then emitted queries run against events that probe what the rule means.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRuleText } from '../../src/check.js';
import { translateRule } from '../../src/translate/index.js';
import type { TranslateOptions } from '../../src/translate/core.js';
import { parseSpl, type SplPipeline } from '../../src/verify/spl-parse.js';
import { pcreToJs, runSpl, type SplEvent } from '../../src/verify/spl-eval.js';

function pipeline(text: string): SplPipeline {
  const p = parseSpl(text);
  assert.ok(p.ok, `${!p.ok && p.error}: ${text}`);
  return (p as { ok: true; pipeline: SplPipeline }).pipeline;
}
// Literal events leave fields out (`{}` has no `a`); an absent key is what Splunk holds for a missing field.
const hits = (text: string, events: Partial<SplEvent>[]) => runSpl(pipeline(text), events as SplEvent[]).length;

function emitted(query: string, options: TranslateOptions = {}): SplPipeline {
  const [rule] = parseRuleText('t.eql', query);
  const t = translateRule({ query: rule!.query!, meta: rule!.source.meta, text: rule!.source.query, path: 't.eql' }, 'spl', options);
  assert.ok(t.output, t.diagnostics.map((d) => d.message).join('; '));
  return pipeline(t.output!);
}
const SYSMON = { source: 'XmlWinEventLog:Microsoft-Windows-Sysmon/Operational' };
const proc = (fields: Record<string, string | string[]>, t = 0): SplEvent => ({ ...SYSMON, EventCode: '1', _time: t, ...fields });
const matches = (p: SplPipeline, ev: SplEvent) => runSpl(p, [ev]).length === 1;

test('search: case-insensitive whole-value match, * wildcard, missing field, NOT vs !=', () => {
  const ev = [{ a: 'Hello World' }, { b: 'x' }, { a: ['x', 'HELLO'] }];
  assert.is(hits('a="hello*"', ev), 2);
  assert.is(hits('a="hello"', ev), 1, 'whole value, multivalue any');
  assert.is(hits('NOT a="hello"', ev), 2, 'NOT keeps the event without a');
  assert.is(hits('a!="hello"', ev), 1, '!= drops the event without a');
  assert.is(hits('a=CASE(HELLO)', ev), 1);
  assert.is(hits('a IN ("x", "nope")', ev), 1);
  assert.is(hits('ip="10.0.0.0/8"', [{ ip: '10.1.2.3' }, { ip: '11.0.0.1' }]), 1);
});

test('cidrmatch: IPv4 and IPv6 networks; an address of the other family is outside', () => {
  const ev = [{ ip: '2001:db8::1' }, { ip: '2001:db9::1' }, { ip: '10.1.2.3' }, { ip: '::ffff:10.1.2.3' }, { ip: 'fe80::1%eth0' }];
  assert.is(hits('| where cidrmatch("2001:db8::/32", ip)', ev), 1);
  assert.is(hits('| where cidrmatch("::/0", ip)', ev), 3, 'every IPv6 address, a zone id is not one');
  assert.is(hits('| where cidrmatch("10.0.0.0/8", ip)', ev), 1);
  assert.is(hits('| where cidrmatch("::ffff:10.0.0.0/104", ip)', ev), 1, 'a dotted tail is the last 32 bits');
  assert.is(hits('| where cidrmatch("fe80::/10", ip)', [{ ip: 'fe80:0:0:0:0:0:0:1' }, { ip: 'febf::' }, { ip: 'fec0::' }]), 2);
});

test('search precedence: OR binds tighter than the implicit AND', () => {
  const ev = [{ a: '1', b: '0', c: '0' }, { a: '0', b: '0', c: '1' }];
  // a=1 (b=1 OR c=1): only events with a=1 and one of b/c.
  assert.is(hits('a=1 b=1 OR c=1', ev), 0);
  assert.is(hits('(a=1 b=0) OR c=1', ev), 2);
});

test('where: case-sensitive ==, three-valued NOT over a missing field, numbers', () => {
  const ev = [{ a: 'X' }, { a: 'x' }, {}];
  assert.is(hits('| where a=="x"', ev), 1);
  assert.is(hits('| where NOT a=="x"', ev), 1, 'NOT null is null: the event without a is dropped');
  assert.is(hits('| where NOT (isnotnull(a) AND a=="x")', ev), 2, 'guarded NOT keeps it');
  assert.is(hits('| where tonumber(n)>9', [{ n: '10' }, { n: '9' }, { n: 'abc' }]), 1);
  assert.is(hits('| where match(a, "(?i)^x\\\\z")', ev), 2);
});

test('PCRE reading: \\z, $ before a final newline, \\x{..}, flags', () => {
  assert.ok(pcreToJs('^a$').test('a\n'));
  assert.not.ok(pcreToJs('^a\\z').test('a\n'));
  assert.ok(pcreToJs('\\x{60}').test('`'));
  assert.ok(pcreToJs('(?is)^a.b\\z').test('A\nb'));
  assert.throws(() => pcreToJs('(?m)a'));
});

test('emitted Sysmon SPL means the rule: example rule events', () => {
  const q = `process where host.os.type == "windows" and event.type == "start" and
    process.parent.executable : "C:\\\\Windows\\\\System32\\\\svchost.exe" and process.parent.args : "UsoSvc" and
    not process.executable : ("?:\\\\Windows\\\\System32\\\\UsoClient.exe", "?:\\\\ProgramData\\\\Microsoft\\\\*\\\\x.exe") and
    not process.name : "MoUsoCoreWorker.exe"`;
  const p = emitted(q);
  const base = { ParentImage: 'c:\\windows\\system32\\SVCHOST.exe', ParentCommandLine: 'svchost.exe -k netsvcs -s UsoSvc' };
  assert.ok(matches(p, proc({ ...base, Image: 'C:\\Users\\Public\\evil.exe' })));
  assert.not.ok(matches(p, proc({ ...base, Image: 'D:\\Windows\\System32\\usoclient.exe' })), '? is any drive, : is case-insensitive');
  assert.ok(matches(p, proc({ ...base, Image: 'DD:\\Windows\\System32\\UsoClient.exe' })), '? is exactly one character');
  assert.not.ok(matches(p, proc({ ...base, Image: 'C:\\ProgramData\\Microsoft\\a\\b\\x.exe' })));
  assert.not.ok(matches(p, proc({ ...base, Image: 'C:\\Program Files\\MoUsoCoreWorker.exe' })));
  assert.ok(matches(p, proc({ ...base })), 'an event without Image passes both exclusions, as in EQL');
  assert.not.ok(matches(p, { ...proc({ ...base, Image: 'C:\\x.exe' }), EventCode: '3' }));
});

test('emitted SPL: case-sensitive ==, != and hostile literals', () => {
  const p = emitted('process where host.os.type == "windows" and event.type == "start" and process.name == "Cmd.exe" and process.command_line != "a\\"b\\\\"');
  assert.ok(matches(p, proc({ Image: 'C:\\x\\Cmd.exe', CommandLine: 'other' })));
  assert.ok(matches(p, proc({ Image: 'C:\\x\\Cmd.exe' })), '!= is true without the field');
  assert.not.ok(matches(p, proc({ Image: 'C:\\x\\cmd.exe' })), 'case-sensitive');
  assert.not.ok(matches(p, proc({ Image: 'C:\\x\\Cmd.exe', CommandLine: 'a"b\\' })));
  for (const v of ['a"b', 'x\\', 'p | q', 'n\nl', 'back`tick', '[search *]']) {
    const eql = JSON.stringify(v);
    const h = emitted(`process where host.os.type == "windows" and event.type == "start" and process.command_line == ${eql}`);
    assert.ok(matches(h, proc({ CommandLine: v })), JSON.stringify(v));
    assert.not.ok(matches(h, proc({ CommandLine: v.toUpperCase() === v ? `${v}x` : v.toUpperCase() })), JSON.stringify(v));
    assert.not.ok(matches(h, proc({ CommandLine: `${v} ` })), JSON.stringify(v));
  }
});

test('emitted SPL: sequences by key within maxspan, in order', () => {
  const p = emitted('sequence by host.id with maxspan=1m [process where host.os.type == "windows" and event.type == "start" and process.name : "a.exe"] [process where host.os.type == "windows" and event.type == "start" and process.name : "b.exe"]');
  const a = proc({ host: 'h1', Image: 'C:\\a.exe' }, 100);
  const b = proc({ host: 'h1', Image: 'C:\\b.exe' }, 130);
  assert.is(runSpl(p, [a, b]).length, 1);
  assert.is(runSpl(p, [a, { ...b, _time: 90 }]).length, 0, 'order');
  assert.is(runSpl(p, [a, { ...b, _time: 200 }]).length, 0, 'maxspan');
  assert.is(runSpl(p, [a, { ...b, host: 'h2' }]).length, 0, 'join key');
});

test('emitted CIM SPL: tstats rows, drop_dm_object_name, fillnull in where', () => {
  const p = emitted('process where host.os.type == "windows" and event.type == "start" and process.name == "cmd.exe" and not process.parent.name : "explorer.exe"', { splProfile: 'cim' });
  const row = (f: Record<string, string>): SplEvent => Object.fromEntries(Object.entries(f).map(([k, v]) => [`Processes.${k}`, v]));
  assert.ok(matches(p, row({ process_name: 'cmd.exe', parent_process_name: 'winword.exe', dest: 'h' })));
  assert.ok(matches(p, row({ process_name: 'cmd.exe', dest: 'h' })), 'missing parent: the NOT holds');
  assert.not.ok(matches(p, row({ process_name: 'CMD.exe', dest: 'h' })));
  assert.not.ok(matches(p, row({ process_name: 'cmd.exe', parent_process_name: 'Explorer.EXE' })));
});

test.run();
