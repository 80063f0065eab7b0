import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRuleText } from '../../src/check.js';
import { translateRule } from '../../src/translate/index.js';
import type { Translation, TranslateOptions } from '../../src/translate/core.js';
import { loadMapping, mappingProfile } from '../../src/translate/mapping.js';
import { parseSpl, type Command, type EvalExpr, type SearchExpr } from '../../src/verify/spl-parse.js';
import { goldenDir } from '../helpers/golden.js';
import fc from 'fast-check';
import { printString } from '../../src/ir/print.js';
import { runSpl, type SplEvent } from '../../src/verify/spl-eval.js';
import { splInterpreter } from '../../src/verify/spl.js';
import { Unrepresentable } from '../../src/verify/interpreter.js';

function spl(query: string, options: TranslateOptions = {}): Translation {
  const [rule] = parseRuleText('t.eql', query);
  assert.ok(rule?.query, `does not parse: ${query}`);
  return translateRule({ query: rule!.query!, meta: rule!.source.meta, text: rule!.source.query, path: 't.eql' }, 'spl', options);
}
const cim = (q: string) => spl(q, { splProfile: 'cim' });

function commands(t: Translation): Command[] {
  assert.ok(t.output, `no output: ${t.diagnostics.map((d) => d.message).join('; ')}`);
  const p = parseSpl(t.output!);
  assert.ok(p.ok, `${!p.ok && p.error}\n${t.output}`);
  return (p as { ok: true; pipeline: { commands: Command[] } }).pipeline.commands;
}

/** Every `field=value` / `field IN (...)` of a search expression, with its polarity. */
function searchTerms(e: SearchExpr, negated = false, out: { field: string; values: string[]; negated: boolean }[] = []) {
  if (e.kind === 'and' || e.kind === 'or') for (const a of e.args) searchTerms(a, negated, out);
  else if (e.kind === 'not') searchTerms(e.arg, !negated, out);
  else if (e.kind === 'compare') out.push({ field: e.field, values: [e.value.text], negated });
  else if (e.kind === 'in') out.push({ field: e.field, values: e.values.map((v) => v.text), negated });
  return out;
}

/** The regex strings of every match() call in an eval expression. */
function matchRegexes(e: EvalExpr, out: { field: string; regex: string }[] = []) {
  if (e.kind === 'call' && e.name === 'match' && e.args[0]?.kind === 'field' && e.args[1]?.kind === 'string') out.push({ field: e.args[0].name, regex: e.args[1].value });
  for (const k of ['args', 'arg', 'left', 'right'] as const) {
    const v = (e as Record<string, unknown>)[k];
    if (Array.isArray(v)) for (const a of v) matchRegexes(a as EvalExpr, out);
    else if (v && typeof v === 'object') matchRegexes(v as EvalExpr, out);
  }
  return out;
}

/** PCRE as the emitter uses it (leading flags, \z, \x{..}) to a JS RegExp, written here independently. */
function pcre(re: string): RegExp {
  const m = /^\(\?([is]+)\)/.exec(re);
  const body = re.slice(m ? m[0].length : 0).replace(/\\z/g, '$').replace(/\\x\{([0-9a-f]+)\}/gi, (_, h) => `\\u{${h}}`);
  return new RegExp(body, `u${m ? m[1] : ''}`);
}

const WIN = 'process where host.os.type == "windows" and event.type == "start" and ';

test('process.name is the basename of Image, case-insensitive in search, exact', () => {
  const t = spl(WIN + 'process.name : "cmd.exe"');
  assert.is(t.status, 'exact');
  assert.is(t.output, 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 Image="*\\\\cmd.exe"');
});

test('case-sensitive == keeps a case-insensitive prefilter and checks the case in where', () => {
  const t = spl(WIN + 'process.name == "Cmd.exe"');
  assert.is(t.status, 'exact');
  const [search, where] = commands(t);
  assert.equal(searchTerms((search as { expr: SearchExpr }).expr).find((x) => x.field === 'Image')?.values, ['*\\Cmd.exe']);
  assert.is(where!.kind, 'where');
  const [m] = matchRegexes((where as { expr: EvalExpr }).expr);
  assert.ok(pcre(m!.regex).test('C:\\Windows\\Cmd.exe'));
  assert.not.ok(pcre(m!.regex).test('C:\\Windows\\cmd.exe'), 'where must be case-sensitive');
  assert.not.ok(pcre(m!.regex).test('C:\\Windows\\xCmd.exe'), 'basename, not suffix');
});

test('plain == on a full field is where ==', () => {
  const t = spl(WIN + 'process.executable == "C:\\\\a\\\\B.exe"');
  assert.match(t.output!, /\| where Image=="C:\\\\a\\\\B\.exe"$/);
});

test('negations are NOT (keeps events without the field), never !=', () => {
  for (const q of ['not process.name : "a.exe"', 'process.name != "a.exe"', 'process.parent.name not in ("a.exe", "b.exe")', 'not process.executable : "?:\\\\x.exe"']) {
    const t = spl(WIN + q);
    assert.not.match(t.output!, /[A-Za-z]!=/, `${q}: ${t.output}`);
    assert.match(t.output!, /NOT/);
  }
  // A negated where condition is guarded so NOT sees true/false only, and a missing field satisfies it.
  const t = spl(WIN + 'process.name != "a.exe"');
  assert.match(t.output!, /\| where NOT \(isnotnull\(Image\) AND match\(Image, /);
});

test('? and shapes * cannot say go to an anchored regex, with a wider search prefilter', () => {
  const t = spl('file where host.os.type == "windows" and event.type == "creation" and file.path : "?:\\\\Users\\\\*\\\\x?.exe"');
  assert.is(t.status, 'exact');
  const [search, where] = commands(t);
  assert.equal(searchTerms((search as { expr: SearchExpr }).expr).find((x) => x.field === 'TargetFilename')?.values, ['*:\\Users\\*\\x*.exe']);
  const re = pcre(matchRegexes((where as { expr: EvalExpr }).expr)[0]!.regex);
  assert.ok(re.test('c:\\users\\bob\\X1.EXE'), 'case-insensitive like `:`');
  assert.not.ok(re.test('C:\\Users\\bob\\x12.exe'), '? is exactly one character');
  assert.not.ok(re.test('C:\\Users\\bob\\x.exe'), '? is exactly one character');
  assert.not.ok(re.test('CC:\\Users\\bob\\x1.exe'), 'anchored at the start');
  assert.not.ok(re.test('C:\\Users\\bob\\x1.exe\n'), 'anchored at the very end');
});

test('literal * in == goes to where (search would read it as a wildcard)', () => {
  const t = spl(WIN + 'process.executable == "C:\\\\a*b"');
  assert.match(t.output!, /\| where Image=="C:\\\\a\*b"/);
});

// Hostile values: each must come back from the SPL reader as exactly the literal the rule meant.
const HOSTILE = ['a"b', 'a\\b', 'trailing\\', '\\\\server\\share\\', 'x") OR (1==1', 'a | b', 'x [search index=*]', 'quote\\"', '`macro`', 'new\nline', 'tab\tcr\r', 'ünï 😀', ''];

test('hostile values in search terms parse back to the same literal', () => {
  for (const v of HOSTILE) {
    const eql = JSON.stringify(v).replace(/\\u([0-9a-f]{4})/g, (_, h) => `\\u{${h}}`);
    const t = spl(WIN + `process.command_line : ${eql}`);
    const cmds = commands(t);
    const search = searchTerms((cmds[0] as { expr: SearchExpr }).expr).find((x) => x.field === 'CommandLine');
    const where = cmds.find((c) => c.kind === 'where') as { expr: EvalExpr } | undefined;
    if (/[\x00-\x1f`]/.test(v)) {
      // Unwritable characters: a wider prefilter and an exact regex.
      const re = pcre(matchRegexes(where!.expr)[0]!.regex);
      assert.ok(re.test(v), JSON.stringify(v));
      assert.ok(re.test(v.toUpperCase()), 'case-insensitive');
      assert.not.ok(re.test(v + 'x'), 'anchored');
    } else {
      assert.equal(search?.values, [v], `${JSON.stringify(v)} → ${t.output}`);
      assert.is(where, undefined);
    }
  }
});

test('hostile values in where == and regexes parse back to the same literal', () => {
  for (const v of HOSTILE) {
    const eql = JSON.stringify(v).replace(/\\u([0-9a-f]{4})/g, (_, h) => `\\u{${h}}`);
    const t = spl(WIN + `process.command_line == ${eql} and process.name == ${eql}`);
    const where = commands(t).find((c) => c.kind === 'where') as { expr: EvalExpr };
    const res = matchRegexes(where.expr);
    const img = res.find((r) => r.field === 'Image')!;
    assert.ok(pcre(img.regex).test(`C:\\dir\\${v}`), `${JSON.stringify(v)}: ${img.regex}`);
    assert.not.ok(pcre(img.regex).test(`C:\\dir\\${v}x`), JSON.stringify(v));
    const cl = res.find((r) => r.field === 'CommandLine');
    if (cl) assert.ok(pcre(cl.regex).test(v) && !pcre(cl.regex).test(`x${v}`));
    else {
      const eq = JSON.stringify(where.expr);
      assert.ok(eq.includes(JSON.stringify({ kind: 'string', value: v })), `${JSON.stringify(v)} in ${t.output}`);
    }
  }
});

test('corrupted quoting does not survive the reader', () => {
  const t = spl(WIN + 'process.command_line : "C:\\\\Temp\\\\" and process.executable : "x\\"y"');
  const good = commands(t);
  assert.is(JSON.stringify(good).includes('C:\\\\Temp\\\\'), true);
  // Undo the backslash doubling, or the quote escape, as a buggy emitter would.
  for (const broken of [t.output!.replace(/\\\\/g, '\\'), t.output!.replace('\\"y', '"y')]) {
    const p = parseSpl(broken);
    if (p.ok) assert.not.equal(JSON.stringify(p.pipeline.commands), JSON.stringify(good), broken);
  }
  // A dropped escape before a pipe-bearing value changes the structure or fails.
  const u = spl(WIN + 'process.command_line : "a\\" | delete"');
  const p = parseSpl(u.output!.replace('\\" |', '" |'));
  assert.ok(!p.ok || JSON.stringify(p.pipeline) !== JSON.stringify(commands(u)));
});

test('search precedence: OR groups are parenthesised under the implicit AND', () => {
  const t = spl(WIN + '(process.name : "a.exe" or process.name : "b.exe") and process.parent.name : "c.exe"');
  const [search] = commands(t);
  const e = (search as { expr: SearchExpr }).expr;
  assert.is(e.kind, 'and');
  const or = (e as { args: SearchExpr[] }).args.find((a) => a.kind === 'or');
  assert.ok(or, t.output!);
});

test('lists are IN, number ranges go to where with tonumber', () => {
  assert.match(spl(WIN + 'process.name in~ ("a.exe", "b.exe")').output!, /Image IN \("\*\\\\a\.exe", "\*\\\\b\.exe"\)$/);
  const t = spl('network where host.os.type == "windows" and event.type == "start" and destination.port > 1024 and source.port == 53');
  assert.is(t.status, 'exact');
  assert.match(t.output!, /SourcePort=53\n\| where tonumber\(DestinationPort\)>1024$/);
});

test('process.args is approximate: wider asserted, narrower negated', () => {
  const pos = spl(WIN + 'process.args : "-enc"');
  assert.is(pos.status, 'approximate');
  assert.match(pos.output!, /CommandLine="\*-enc\*"/);
  assert.equal(pos.diagnostics.filter((d) => d.direction).map((d) => [d.code, d.direction]), [['EQL3006', 'wider']]);
  const neg = spl(WIN + 'not process.args : "-enc"');
  assert.match(neg.output!, /NOT CommandLine="\*-enc\*"/);
  assert.equal(neg.diagnostics.filter((d) => d.direction).map((d) => d.direction), ['narrower']);
});

test('fields without an equivalent are left out wider and said so; nothing left is unsupported', () => {
  const t = spl(WIN + 'process.name : "a.exe" and process.code_signature.trusted == false');
  assert.is(t.status, 'approximate');
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3305' && d.direction === 'wider'));
  const n = spl(WIN + 'not process.code_signature.trusted == true and process.name : "a.exe"');
  assert.ok(n.diagnostics.some((d) => d.code === 'EQL3305' && d.direction === 'wider'));
  assert.is(spl(WIN + 'process.code_signature.trusted == false').status, 'unsupported');
});

test('rules without host.os.type read a Windows-only source: narrower', () => {
  const t = spl('process where event.type == "start" and process.name : "a.exe"');
  assert.is(t.status, 'approximate');
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3004' && d.direction === 'narrower'));
  // macOS has its own source (osquery), narrower when the rule does not name the exec activity.
  assert.match(spl('process where host.os.type == "macos" and process.name : "a"').output!, /^sourcetype="osquery:results" /);
});

test('Linux rules use Sysmon for Linux with / paths', () => {
  const t = spl('process where host.os.type == "linux" and event.type == "start" and process.name : "bash"');
  assert.is(t.status, 'exact');
  assert.is(t.output, 'source="Syslog:Linux-Sysmon/Operational" sourcetype="sysmon:linux" EventCode=1 Image="*/bash"');
});

test('event.action names the class but Sysmon does not record it: declared wider', () => {
  const t = spl('process where host.os.type == "linux" and event.type == "start" and event.action in ("exec", "exec_event") and process.name : "bash"');
  assert.is(t.output, 'source="Syslog:Linux-Sysmon/Operational" sourcetype="sysmon:linux" EventCode=1 Image="*/bash"');
  assert.equal(t.diagnostics.filter((d) => d.direction).map((d) => [d.code, d.direction]), [['EQL3004', 'wider']]);
  // A case-insensitive event.type also accepts spellings the source never holds.
  assert.ok(spl('process where host.os.type == "linux" and event.type : "start" and process.name : "bash"').diagnostics.some((d) => d.direction === 'narrower'));
});

test('cim profile: tstats over Endpoint.Processes with process_name, where fields are by fields', () => {
  const t = cim(WIN + 'process.name == "cmd.exe" and process.parent.name : "x.exe"');
  const cmds = commands(t);
  const ts = cmds[0] as Extract<Command, { kind: 'tstats' }>;
  assert.is(ts.kind, 'tstats');
  assert.is(ts.datamodel, 'Endpoint.Processes');
  assert.equal(searchTerms(ts.where!).map((x) => x.field), ['Processes.process_name', 'Processes.parent_process_name']);
  assert.ok(ts.by.includes('Processes.process_name'));
  assert.equal(cmds[1], { kind: 'macro', name: 'drop_dm_object_name', args: 'Processes' });
  assert.is(cmds[2]!.kind, 'where');
  assert.match(t.output!, /\| where process_name=="cmd\.exe"$/);
  assert.is(cim('sequence by host.id [process where true] [process where true]').status, 'unsupported');
});

test('sequences use transaction with keys, maxspan and first/last steps; declared', () => {
  const t = spl('sequence by process.entity_id with maxspan=5s [process where host.os.type == "windows" and event.type == "start" and process.name : "a.exe"] [file where host.os.type == "windows" and event.type == "creation" and file.extension : "exe"]');
  assert.is(t.status, 'approximate');
  const cmds = commands(t);
  const tx = cmds.find((c) => c.kind === 'transaction') as Extract<Command, { kind: 'transaction' }>;
  assert.equal(tx.fields, ['ProcessGuid']);
  assert.is(tx.options.maxspan, '5s');
  assert.ok(tx.options.startswith && tx.options.endswith);
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3304' && /transaction/.test(d.message)));
  const ms = spl('sequence by host.id with maxspan=1500ms [process where host.os.type == "windows" and process.name : "a"] [process where host.os.type == "windows" and process.name : "b"]');
  assert.match(ms.output!, /maxspan=2s/);
  assert.ok(ms.diagnostics.some((d) => d.code === 'EQL3302' && d.direction === 'wider'));
});

test('index and macro come from the mapping data and are escaped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spl-map-'));
  const idx = join(dir, 'idx.yaml');
  writeFileSync(idx, 'target: spl\nsettings:\n  index: \'sys"mon\'\n');
  assert.match(spl(WIN + 'process.name : "a"', { mappingFiles: [idx] }).output!, /^index="sys\\"mon" source=/);
  const mac = join(dir, 'mac.yaml');
  writeFileSync(mac, 'target: spl\nsettings:\n  macro: sysmon\n');
  assert.match(spl(WIN + 'process.name : "a"', { mappingFiles: [mac] }).output!, /^`sysmon` EventCode=1 /);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'target: spl\nsettings:\n  macro: "x` | delete `"\n');
  assert.is(spl(WIN + 'process.name : "a"', { mappingFiles: [bad] }).status, 'unsupported');
  // Names from mapping files never reach the query unchecked.
  const names = join(dir, 'names.yaml');
  writeFileSync(names, 'target: spl\nclasses:\n  - name: windows-process-start\n    source:\n      filter: { "EventCode=1 | delete": 1 }\nfields:\n  process.name: "Image | delete"\n');
  const t = spl(WIN + 'process.name : "a"', { mappingFiles: [names] });
  assert.is(t.status, 'unsupported');
  assert.is(t.output, null);
  const field = join(dir, 'field.yaml');
  writeFileSync(field, 'target: spl\nfields:\n  process.name: "Image | delete"\n');
  const f = spl(WIN + 'process.executable : "b" and process.name : "a"', { mappingFiles: [field] });
  assert.is(f.status, 'unsupported', 'a bad mapping is an error, not a condition left out');
});

test('mapping profiles: cim replaces classes and fields, inherits settings; user files reach profiles', () => {
  const m = loadMapping('spl');
  const c = mappingProfile(m, 'cim');
  assert.ok(c.classes.every((k) => 'datamodel' in k.source));
  assert.is(mappingProfile(m, undefined), m);
  const dir = mkdtempSync(join(tmpdir(), 'spl-prof-'));
  const f = join(dir, 'p.yaml');
  writeFileSync(f, 'target: spl\nprofiles:\n  cim:\n    fields:\n      user.name: user_name_override\n');
  const t = spl(WIN + 'user.name : "bob"', { mappingFiles: [f], splProfile: 'cim' });
  assert.match(t.output!, /Processes\.user_name_override="bob"/);
});

test('every SPL golden output (both profiles) is accepted by the SPL reader', () => {
  let n = 0;
  for (const c of readdirSync(goldenDir)) {
    for (const f of ['spl.golden', 'spl.cim.golden']) {
      const p = join(goldenDir, c, f);
      if (!existsSync(p)) continue;
      const out = readFileSync(p, 'utf8').split('\noutput:\n')[1]!.replace(/\n$/, '');
      if (out === '(none)') continue;
      const r = parseSpl(out);
      assert.ok(r.ok, `${c}/${f}: ${!r.ok && r.error}`);
      n++;
    }
  }
  assert.ok(n >= 50, `${n} outputs`);
});

test('file.extension == null: the file name has no extension, not "the path is missing"', () => {
  const t = spl('file where host.os.type == "linux" and event.type == "creation" and file.path : "*.git/hooks/*" and file.extension == null');
  assert.is(t.status, 'exact');
  const p = parseSpl(t.output!);
  assert.ok(p.ok);
  const rec = (path: string): SplEvent => ({ source: 'Syslog:Linux-Sysmon/Operational', sourcetype: 'sysmon:linux', EventCode: '11', TargetFilename: path });
  const hits = (path: string) => runSpl(p.pipeline, [rec(path)]).length === 1;
  assert.ok(hits('/repo/.git/hooks/pre-commit'), 'a hook without an extension matches');
  assert.not.ok(hits('/repo/.git/hooks/pre-commit.sample'), 'a file with an extension does not');
});

test('any string survives: == and : on it match exactly that value, read back by the SPL reader and evaluator', () => {
  const value = fc.string({ unit: fc.oneof(fc.constantFrom('\\', '"', '|', '`', '[', ']', '*', '?', '\n', ' ', "'", '$', '('), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: 12 });
  fc.assert(
    fc.property(value, (v) => {
      const literal = printString(v);
      for (const op of ['==', ':']) {
        const t = spl(WIN + `process.command_line ${op} ${literal}`);
        const p = parseSpl(t.output!);
        if (!p.ok) return false;
        const rec = (cl: string): SplEvent => ({ source: 'XmlWinEventLog:Microsoft-Windows-Sysmon/Operational', EventCode: '1', CommandLine: cl });
        const hit = (cl: string) => runSpl(p.pipeline, [rec(cl)]).length === 1;
        // `:` reads * and ? as wildcards; == takes them literally.
        const wild = op === ':' && /[*?]/.test(v);
        if (!hit(wild ? v.replace(/\*/g, '').replace(/\?/g, 'q') : v)) return false;
        if (!wild && hit(v + 'x')) return false;
        if (!wild && op === '==' && v.toUpperCase() !== v && hit(v.toUpperCase())) return false;
      }
      return true;
    }),
    { numRuns: 300, seed: 42 },
  );
});

test('cloud logs: the vendor add-on sourcetype and the record\'s own field names, losses declared', () => {
  const t = spl('iam where data_stream.dataset == "aws.cloudtrail" and event.provider == "iam.amazonaws.com" and event.action : "AttachUserPolicy" and aws.cloudtrail.user_identity.type == "AssumedRole" and stringContains(aws.cloudtrail.request_parameters, "policyArn=x")');
  const [search] = commands(t);
  assert.is(search!.kind, 'search');
  const terms = searchTerms((search as Extract<Command, { kind: 'search' }>).expr);
  assert.equal(terms.map((x) => x.field), ['sourcetype', 'eventSource', 'eventName', 'userIdentity.type']);
  assert.equal(terms[0]!.values, ['aws:cloudtrail']);
  // Elastic's request_parameters is `{k=v}` text; Splunk has the JSON object's keys only: left out, wider.
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3305' && /request_parameters/.test(d.message) && d.direction === 'wider'));
  // CloudTrail does not tell iam events from other API calls.
  assert.ok(t.diagnostics.some((d) => d.code === 'EQL3004' && d.direction === 'wider'));
  assert.is(t.status, 'approximate');
  // The Sysmon fields do not apply to another product's log: process.name has no CloudTrail field.
  const p = spl('any where data_stream.dataset == "okta.system" and okta.event_type == "user.session.start" and process.name == "a"');
  assert.match(p.output!, /^source="Okta" sourcetype="OktaIM2:log" eventType="user.session.start"/);
  assert.ok(p.diagnostics.some((d) => d.code === 'EQL3305' && /process\.name/.test(d.message)));
  assert.not.match(p.output!, /Image/);
});

test('cloud classes are chosen only by their dataset; the Windows event-log catch-all only for Windows rules', () => {
  // No dataset: a CloudTrail field alone does not select CloudTrail, and nothing else holds it.
  const none = spl('any where event.provider == "iam.amazonaws.com" and aws.cloudtrail.user_identity.type == "Root"');
  assert.is(none.status, 'unsupported');
  assert.not.match(none.diagnostics.map((d) => d.message).join('\n'), /windows-eventlog/);
  // Another product's dataset never becomes a search of the Windows event log.
  const fgt = spl('any where data_stream.dataset == "fortinet_fortigate.log" and fortinet.firewall.action == "login"');
  assert.is(fgt.status, 'unsupported');
  assert.not.match(fgt.diagnostics.map((d) => d.message).join('\n'), /windows-eventlog/);
  // A rule reading the event log's own fields is a Windows rule even without host.os.type.
  assert.match(spl('any where winlog.event_data.ShareName == "C$"').output!, /^source="XmlWinEventLog:\*" ShareName="C\$"/);
  // The older event.dataset spelling reads the same log.
  assert.match(spl('any where event.dataset == "aws.cloudtrail" and event.action == "StopLogging"').output!, /^sourcetype="aws:cloudtrail" eventName="StopLogging"/);
});

test('`dataset` in a class names the dataset in either field; a user override by class name reaches both', () => {
  for (const field of ['data_stream.dataset', 'event.dataset'])
    assert.match(spl(`any where ${field} == "okta.system" and okta.event_type == "user.session.start"`).output!, /^source="Okta" sourcetype="OktaIM2:log" eventType="user\.session\.start"/, field);
  const dir = mkdtempSync(join(tmpdir(), 'spl-ds-'));
  const f = join(dir, 'okta.yaml');
  writeFileSync(f, 'target: spl\nclasses:\n  - name: okta-system\n    source:\n      sourcetype: "okta:custom"\n');
  for (const field of ['data_stream.dataset', 'event.dataset'])
    assert.match(spl(`any where ${field} == "okta.system" and okta.event_type == "user.session.start"`, { mappingFiles: [f] }).output!, /sourcetype="okta:custom"/, field);
  // The shorthand never leaks into what the backend reads.
  assert.ok(loadMapping('spl').classes.every((c) => !('dataset' in c.when) && !JSON.stringify(c.source.requires ?? []).includes('"dataset"')));
});

test('settings.index and macro name where the Sysmon data lives; they do not apply to cloud logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spl-map-'));
  const idx = join(dir, 'idx.yaml');
  writeFileSync(idx, 'target: spl\nsettings:\n  index: sysmon\n  macro: sysmon\n');
  assert.match(spl('any where data_stream.dataset == "github.audit" and event.action == "org.add_member"', { mappingFiles: [idx] }).output!, /^sourcetype="github:enterprise:audit" action="org.add_member"/);
});

test('Entra ID, Microsoft 365 and Linux audit classes: their sourcetypes, own names and declared losses', () => {
  // Sign-ins and audit records share azure:monitor:aad; the category tells them apart. Elastic snake-cases the keys.
  const si = spl('authentication where data_stream.dataset == "azure.signinlogs" and azure.signinlogs.properties.incoming_token_type == "refreshToken" and event.outcome == "success"');
  assert.match(si.output!, /^sourcetype="azure:monitor:aad" category IN \("SignInLogs", /);
  assert.match(si.output!, / properties\.incomingTokenType="refreshToken"/);
  // event.outcome is derived from properties.status.errorCode: left out, wider.
  assert.ok(si.diagnostics.some((d) => d.code === 'EQL3305' && /event\.outcome/.test(d.message) && d.direction === 'wider'));
  assert.match(spl('any where data_stream.dataset == "azure.auditlogs" and azure.auditlogs.operation_name == "Add device"').output!, /^sourcetype="azure:monitor:aad" category="AuditLogs" operationName="Add device"/);
  // O365: chosen by a field under o365.audit. too; a Name/Value list Elastic turns into a map has no Splunk field.
  const o = spl('web where event.provider == "Exchange" and event.action == "Set-Mailbox" and o365.audit.Parameters.ForwardTo == "x@y" and o365.audit.UserType == "2"');
  assert.match(o.output!, /^sourcetype="o365:management:activity" Workload="Exchange" Operation="Set-Mailbox" UserType="2"/);
  assert.ok(o.diagnostics.some((d) => d.code === 'EQL3305' && /Parameters\.ForwardTo/.test(d.message)));
  assert.ok(o.diagnostics.some((d) => d.code === 'EQL3006' && /Operation/.test(d.message) && d.direction === 'different'));
  // auditd: the action is the syscalls go-libaudit names it from; the SYSCALL record's fields.
  const k = spl('process where host.os.type == "linux" and event.action == "killed-pid" and auditd.data.a1 == "9" and user.id != "0"');
  assert.match(k.output!, /^sourcetype="linux:audit" type="SYSCALL" SYSCALL IN \("kill", "tkill", "tgkill"\) a1="9"\n/);
  // uid missing is uid != "0" in EQL: the where stage keeps such events.
  assert.match(k.output!, /NOT \(isnotnull\(uid\) AND uid=="0"\)/);
  assert.is(k.status, 'exact');
  // Without the action no auditd class is chosen (Sysmon for Linux process starts are not kill syscalls).
  assert.not.match(spl('process where host.os.type == "linux" and auditd.data.a1 == "9"').output ?? '', /linux:audit/);
});

test('verify: another product\'s event lacking the value its class always carries is unrepresentable', () => {
  const ctx = { mapping: loadMapping('spl'), options: {} };
  const base = { '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'process', 'host.os.type': 'linux', 'event.action': 'killed-pid' };
  // go-libaudit names an event killed-pid only from a kill/tkill/tgkill syscall record.
  assert.instance(splInterpreter.fromEcs(base, ctx), Unrepresentable);
  assert.instance(splInterpreter.fromEcs({ ...base, 'auditd.data.syscall': 'execve' }, ctx), Unrepresentable);
  const rec = splInterpreter.fromEcs({ ...base, 'auditd.data.syscall': 'tgkill', 'auditd.data.a1': '9' }, ctx) as SplEvent;
  assert.equal([rec.sourcetype, rec.type, rec.SYSCALL, rec.a1], ['linux:audit', 'SYSCALL', 'tgkill', '9']);
});


const MAC = 'process where host.os.type == "macos" and event.type == "start" and event.action == "exec" and ';

test('macOS: osquery exec events (TA-osquery), the executable\'s basename, argv searched in the command line', () => {
  const t = spl(MAC + 'process.name == "osascript" and process.args == "-e"');
  // Both pinned activity conditions are what the class holds: nothing about them is rendered or declared.
  assert.is(
    t.output,
    'sourcetype="osquery:results" columns.event_type="exec" columns.path="*/osascript" columns.cmdline="*-e*"\n' +
      '| where match(\'columns.path\', "/osascript\\\\z")',
  );
  assert.equal(
    t.diagnostics.map((d) => [d.code, d.direction]),
    [
      ['EQL3006', 'wider'],
      ['EQL3302', 'wider'],
    ],
  );
  // Without event.action the rule also accepts Elastic's fork events: the exec-only source is narrower.
  const start = spl('process where host.os.type == "macos" and event.type == "start" and process.name : "curl"');
  assert.ok(start.diagnostics.some((d) => d.code === 'EQL3004' && /event\.action "exec"/.test(d.message) && d.direction === 'narrower'));
  // No column holds the effective uid (osquery's euid column is the effective gid), nor a parent path.
  for (const f of ['user.effective.id == "0"', 'process.parent.name == "bash"']) {
    const x = spl(MAC + 'process.name : "curl" and ' + f);
    assert.ok(x.diagnostics.some((d) => d.code === 'EQL3305' && d.direction === 'wider'), f);
  }
  // The command line ends with a space and quotes arguments with blanks: == on it is declared different.
  const cl = spl(MAC + 'process.command_line == "sh -c id"');
  assert.ok(cl.diagnostics.some((d) => d.code === 'EQL3006' && /columns\.cmdline/.test(d.message) && d.direction === 'different'));
  // A rule naming neither macOS nor an activity stays on the Windows Sysmon classes.
  assert.match(spl('process where event.type == "start" and process.name : "a.exe" and process.args_count > 2').output!, /^source="XmlWinEventLog:Microsoft-Windows-Sysmon\/Operational" EventCode=1 /);
});

test('macOS files: EndpointSecurity file events by kind; a rename\'s new path is dest_filename', () => {
  const mod = spl('file where host.os.type == "macos" and event.action == "modification" and file.path : "/Library/LaunchDaemons/*" and not process.executable : "/usr/libexec/*"');
  assert.is(mod.status, 'exact', JSON.stringify(mod.diagnostics));
  assert.is(
    mod.output,
    'sourcetype="osquery:results" columns.event_type IN ("write", "truncate") columns.filename="/Library/LaunchDaemons/*" NOT columns.path="/usr/libexec/*"',
  );
  const ren = spl('file where host.os.type == "macos" and event.action == "rename" and file.name : "*.zip" and file.Ext.original.path : "/tmp/*"');
  assert.is(ren.output, 'sourcetype="osquery:results" columns.event_type="rename" columns.dest_filename="*.zip" columns.filename="/tmp/*"');
  assert.match(spl('file where host.os.type == "macos" and event.action == "open" and file.name : "Cookies"').output!, /^sourcetype="osquery:results" columns\.event_type="open" columns\.filename="\*\/Cookies"/);
  // Deletions are not recorded (osquery subscribes to no unlink): no source.
  assert.is(spl('file where host.os.type == "macos" and event.action == "deletion"').status, 'unsupported');
  // A rule that only excludes deletions reads one of the kinds: narrower, said so.
  const nd = spl('file where host.os.type == "macos" and event.type != "deletion" and file.path : "/etc/*"');
  assert.ok(nd.diagnostics.some((d) => d.code === 'EQL3004' && d.direction === 'narrower'));
});

test('macOS connections: osquery socket_events connect records', () => {
  const t = spl('network where host.os.type == "macos" and event.type == "start" and event.action == "connection_attempted" and destination.port == 443 and not cidrmatch(destination.ip, "10.0.0.0/8")');
  assert.match(t.output!, /^sourcetype="osquery:results" columns\.action="connect" columns\.remote_port=443 NOT columns\.remote_address="10\.0\.0\.0\/8"/);
  assert.is(t.status, 'exact', JSON.stringify(t.diagnostics));
  // The executable is looked up when osquery reads the record: declared different.
  const n = spl('network where host.os.type == "macos" and event.action == "connection_attempted" and process.name == "perl"');
  assert.ok(n.diagnostics.some((d) => d.code === 'EQL3006' && d.direction === 'different'));
});

test('Linux sign-ins (linux_secure, CIM Authentication) and audit account records with their own spelling of results', () => {
  const a = spl('authentication where host.os.type == "linux" and event.action == "ssh_login" and event.outcome : "failure" and user.name : "root"');
  assert.is(a.output, 'sourcetype="linux_secure" action="failure" user="root"');
  // The log does not name SSH logins apart from other sign-ins: declared wider.
  assert.equal(
    a.diagnostics.map((d) => [d.code, d.direction]),
    [['EQL3004', 'wider']],
  );
  // Only rules that name Linux read its sign-in log.
  assert.is(spl('authentication where event.outcome == "failure" and user.name : "root"').status, 'unsupported');
  // Audit records write res=success|failed; Elastic success|fail (auditd.result) and success|failure (event.outcome).
  assert.is(spl('iam where host.os.type == "linux" and event.action == "added-user-account" and auditd.result : "fail"').output, 'sourcetype="linux:audit" type="ADD_USER" res="failed"');
  const auth = spl('authentication where host.os.type == "linux" and event.action == "authenticated" and auditd.data.terminal : "ftp" and event.outcome : ("failure", "success")');
  assert.is(auth.output, 'sourcetype="linux:audit" type="USER_AUTH" terminal="ftp" res IN ("failed", "success")');
  assert.is(auth.status, 'exact');
  // The SYSCALL record spells it success=yes|no.
  assert.match(spl('process where host.os.type == "linux" and event.action == "killed-pid" and auditd.result == "fail"').output!, /^sourcetype="linux:audit" type="SYSCALL" SYSCALL IN \("kill", "tkill", "tgkill"\) success="no"\n\| where success=="no"$/);
  // A value with no spelling, or a pattern on a spelled field, is left out wider.
  for (const c of ['auditd.result == "unknown"', 'auditd.result : "succ*"']) {
    const x = spl('iam where host.os.type == "linux" and event.action == "added-user-account" and process.executable == "/usr/sbin/useradd" and ' + c);
    assert.ok(x.diagnostics.some((d) => d.code === 'EQL3305' && /res/.test(d.message) && d.direction === 'wider'), c);
  }
  // Elastic Defend's load_module is the module-load syscall of the loading process.
  const m = spl('process where host.os.type == "linux" and event.action == "load_module" and process.name == "insmod"');
  assert.match(m.output!, /^sourcetype="linux:audit" type="SYSCALL" SYSCALL IN \("init_module", "finit_module"\) comm="insmod"\n/);
  assert.ok(m.diagnostics.some((d) => d.code === 'EQL3004' && /load_module/.test(d.message) && d.direction === 'wider'));
});

test('file.extension as a sequence join key: the text after the last dot of the name, none without a dot', () => {
  const t = spl('sequence by file.extension with maxspan=1s [file where host.os.type == "windows" and event.type == "creation"] [file where host.os.type == "windows" and event.type == "deletion"]');
  // Both steps read TargetFilename: the key is one eval over it (hand-written: `\.[^.\\]*\z` tests for a dot in the
  // last segment, then the last dot-separated part of the last `\`-separated segment).
  const expr = 'if(match(TargetFilename, "\\\\.[^.\\\\\\\\]*\\\\z"), mvindex(split(mvindex(split(TargetFilename, "\\\\"), -1), "."), -1), null())';
  assert.ok(t.output!.includes(`| eval eqlport_key1=case(eqlport_step==1, ${expr}, eqlport_step==2, ${expr})`), t.output!);
  const p = parseSpl(`| eval k=${expr}`);
  assert.ok(p.ok);
  const key = (path: string) => runSpl((p as { ok: true; pipeline: { commands: Command[] } }).pipeline, [{ TargetFilename: path }])[0]!.k;
  assert.is(key('C:\\a.b\\report.tar.gz'), 'gz');
  assert.is(key('C:\\a.b\\README'), undefined);
  assert.is(key('C:\\x\\name.'), '');
});

test('verify: osquery records hold the columns; the fork events osquery logs without a command line are not exec events', () => {
  const ctx = { mapping: loadMapping('spl'), options: {} };
  const ev = { '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'process', 'event.type': 'start', 'host.os.type': 'macos', 'process.executable': '/usr/bin/curl', 'process.args': ['curl', '-s', 'a b'] };
  const rec = splInterpreter.fromEcs({ ...ev, 'event.action': 'exec' }, ctx) as SplEvent;
  assert.equal([rec.sourcetype, rec['columns.event_type'], rec['columns.path'], rec['columns.cmdline']], ['osquery:results', 'exec', '/usr/bin/curl', 'curl -s "a b"']);
  assert.is(splInterpreter.fromEcs({ ...ev, 'event.action': 'fork' }, ctx), null);
  // An ECS value the source has no spelling for is no event it writes.
  const add = { '@timestamp': '2026-01-01T00:00:00Z', 'event.category': 'iam', 'host.os.type': 'linux', 'event.action': 'added-user-account' };
  assert.is((splInterpreter.fromEcs({ ...add, 'auditd.result': 'fail' }, ctx) as SplEvent).res, 'failed');
  assert.instance(splInterpreter.fromEcs({ ...add, 'auditd.result': 'unknown' }, ctx), Unrepresentable);
});

test('Lucene regex read as the native matcher does: ^ $ literal, \\d as [0-9], invalid escapes refused, classes exact', () => {
  for (const profile of [{}, { splProfile: 'cim' as const }]) {
    const t = spl(WIN + 'process.command_line regex "a$b^c"', profile);
    assert.is(t.status, profile.splProfile ? 'approximate' : 'exact', JSON.stringify(t.diagnostics));
    const where = commands(t).find((c) => c.kind === 'where') as { expr: EvalExpr };
    const [m] = matchRegexes(where.expr);
    assert.ok(pcre(m!.regex).test('a$b^c'), m!.regex);
    assert.not.ok(pcre(m!.regex).test('a'), m!.regex);
    assert.is(spl(WIN + 'process.command_line regex "[0-9]{3}"', profile).status, t.status);
    const digits = spl(WIN + 'process.command_line regex "\\\\d+"', profile);
    assert.is(digits.status, t.status);
    const [dm] = matchRegexes((commands(digits).find((c) => c.kind === 'where') as { expr: EvalExpr }).expr);
    assert.ok(pcre(dm!.regex).test('123'), dm!.regex);
    assert.not.ok(pcre(dm!.regex).test('12a'), dm!.regex);
    const d = spl(WIN + 'process.command_line regex "\\\\n"', profile);
    assert.is(d.status, 'unsupported');
    // The refused regex is a conjunct SPL leaves out (EQL3305), with the translator's reason.
    assert.ok(d.diagnostics.some((x) => x.code === 'EQL3305' && /rejects `\\n`/.test(x.message)), JSON.stringify(d.diagnostics));
  }
  const ci = spl(WIN + 'process.command_line regex~ "ab.c"');
  const [m] = matchRegexes((commands(ci).find((c) => c.kind === 'where') as { expr: EvalExpr }).expr);
  assert.ok(pcre(m!.regex).test('AB\nC'));
});

test('any rules ORing categories: one search group per branch with its own source, one where telling the branches apart', () => {
  const SYSMON = 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"';
  // A hostile path in the file branch: quote, parenthesis, pipe, backslashes and a trailing backslash. The value is
  // `C:\x") OR (EventCode=1 | x\`; in an SPL string each `\` and `"` gains a backslash. `==` is case-sensitive, so
  // the file branch needs the where stage; the whole where is then an OR of each branch's full condition, each
  // told apart by its EventCode (both branches share the Sysmon source).
  const t = spl('any where host.os.type == "windows" and ((event.category == "file" and event.type == "creation" and file.path == "C:\\\\x\\") OR (EventCode=1 | x\\\\") or (event.category == "process" and event.type == "start" and process.name : "x.exe"))');
  const path = '"C:\\\\x\\") OR (EventCode=1 | x\\\\"';
  assert.is(
    t.output,
    `(${SYSMON} EventCode=11 TargetFilename=${path}) OR (${SYSMON} EventCode=1 Image="*\\\\x.exe")\n` +
      `| where (EventCode==11 AND TargetFilename==${path}) OR (EventCode==1 AND match(Image, "(?i)\\\\\\\\x\\\\.exe\\\\z"))`,
  );
  assert.is(t.status, 'exact');
  const p = parseSpl(t.output!);
  assert.ok(p.ok);
  const run = (ev: SplEvent) => runSpl((p as { ok: true; pipeline: { commands: Command[] } }).pipeline, [{ source: 'XmlWinEventLog:Microsoft-Windows-Sysmon/Operational', ...ev }]).length === 1;
  assert.ok(run({ EventCode: '11', TargetFilename: 'C:\\x") OR (EventCode=1 | x\\' }));
  assert.not.ok(run({ EventCode: '11', TargetFilename: 'c:\\x") or (eventcode=1 | x\\' }), 'file.path == is case-sensitive');
  assert.not.ok(run({ EventCode: '11', TargetFilename: 'C:\\x' }));
  assert.ok(run({ EventCode: '1', Image: 'C:\\w\\X.EXE' }));
  // A process start holding the file branch's value matches neither branch.
  assert.not.ok(run({ EventCode: '1', Image: 'C:\\w\\y.exe', TargetFilename: 'C:\\x") OR (EventCode=1 | x\\' }));

  // Branches of different products: the where names the source of each (Sysmon for Linux also has its sourcetype).
  const os = spl('any where (event.category == "file" and host.os.type == "linux" and event.type == "deletion" and file.name : "x") or (event.category == "process" and host.os.type == "windows" and event.type == "start" and process.name == "Y.exe")');
  const LINUX = 'source="Syslog:Linux-Sysmon/Operational" sourcetype="sysmon:linux"';
  assert.is(
    os.output,
    `(${LINUX} EventCode=23 TargetFilename="*/x") OR (${SYSMON} EventCode=1 Image="*\\\\Y.exe")\n` +
      '| where (source=="Syslog:Linux-Sysmon/Operational" AND sourcetype=="sysmon:linux" AND EventCode==23 AND match(TargetFilename, "(?i)/x\\\\z")) OR ' +
      '(source=="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" AND EventCode==1 AND match(Image, "\\\\\\\\Y\\\\.exe\\\\z"))',
  );

  // A top-level category list holding each branch's category is implied by the branch: nothing left out, no where.
  const list = spl('any where host.os.type == "windows" and event.category in ("file", "process") and ((event.category == "file" and event.type == "creation" and file.path : "C:\\\\t\\\\a.txt") or (event.category == "process" and event.type == "start" and process.name : "x.exe"))');
  assert.is(list.output, `(${SYSMON} EventCode=11 TargetFilename="C:\\\\t\\\\a.txt") OR (${SYSMON} EventCode=1 Image="*\\\\x.exe")`);
  assert.is(list.status, 'exact');
});

test('any rules ORing categories: a branch no source holds is left out, narrower, on its span', () => {
  const q = 'any where host.os.type == "linux" and ((event.category == "file" and event.type == "change" and file.path : "/etc/x") or (event.category == "process" and event.type == "start" and process.name : "cat"))';
  const t = spl(q);
  assert.is(t.output, 'source="Syslog:Linux-Sysmon/Operational" sourcetype="sysmon:linux" EventCode=1 Image="*/cat"');
  assert.is(t.status, 'approximate');
  const d = t.diagnostics.filter((x) => x.code === 'EQL3306');
  assert.is(d.length, 1);
  assert.is(d[0]!.direction, 'narrower');
  assert.is(q.slice(d[0]!.span!.start.offset, d[0]!.span!.end.offset), 'event.category == "file" and event.type == "change" and file.path : "/etc/x"');
  // No branch with a source: the rule stays unsupported. CIM tstats reads one data model: not split.
  assert.is(spl('any where host.os.type == "linux" and ((event.category == "file" and event.type == "change") or (event.category == "library" and dll.name : "x"))').status, 'unsupported');
  assert.is(cim('any where host.os.type == "windows" and ((event.category == "file" and file.name : "a") or (event.category == "process" and process.name : "b"))').status, 'unsupported');
});

test.run();
