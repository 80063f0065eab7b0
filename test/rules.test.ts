// Rule files: detection-rules TOML, hunting TOML, Kibana NDJSON exports, bare .eql, directories, and the
// mapping of query diagnostics to positions in the file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, mkdirSync, symlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuleFile, loadRuleText, expandPaths, parseRule, check, type Diagnostic } from '../src/index.js';
import { root } from './helpers/shared.js';

const fx = (...p: string[]) => join(root, 'test', 'fixtures', ...p);
const brief = (d: Diagnostic) => `${d.code}@${d.line}:${d.column}`;
/** 1-based column of `needle` on 1-based `line` of a file, found by hand-readable search. */
const columnOf = (file: string, line: number, needle: string) => readFileSync(file, 'utf8').split('\n')[line - 1]!.indexOf(needle) + 1;

test('detection-rules TOML: every [rule] field, [[rule.threat]] and [metadata]', () => {
  const { rules, diagnostics } = loadRuleFile(fx('rules', 'full-fields.toml'));
  assert.equal(diagnostics, []);
  assert.is(rules.length, 1);
  const r = rules[0]!;
  assert.is(r.format, 'toml');
  assert.ok(r.query.startsWith('process where host.os.type == "windows" and\n'));
  const { threat, metadata, ...meta } = r.meta;
  assert.equal(meta, {
    rule_id: '0f5c1b2e-6a7d-4e8f-9a0b-1c2d3e4f5a6b',
    name: 'Certutil Decoding a Downloaded File',
    description: 'certutil.exe started with -decode, a common way to unpack a payload that arrived encoded.',
    author: ['eqlport tests', 'Second Author'],
    license: 'Apache-2.0',
    severity: 'medium',
    risk_score: 47,
    index: ['logs-endpoint.events.process-*', 'winlogbeat-*'],
    from: 'now-9m',
    interval: '5m',
    max_signals: 50,
    tags: ['OS: Windows', 'Tactic: Defense Evasion'],
    references: ['https://example.org/certutil'],
    note: '## Triage\nLook at the decoded file.',
    setup: 'Requires process events.',
    version: 3,
    timestamp_override: 'event.ingested',
    event_category_override: 'event.type',
    tiebreaker_field: 'event.sequence',
    building_block_type: 'default',
    false_positives: ['Administrators decoding certificates.'],
  });
  assert.equal({ ...metadata }, { creation_date: '2024/01/15', updated_date: '2024/02/01', integration: ['endpoint'], maturity: 'production', min_stack_version: '8.13.0' });
  assert.equal(threat, [
    {
      framework: 'MITRE ATT&CK',
      tactic: { id: 'TA0005', name: 'Defense Evasion', reference: 'https://attack.mitre.org/tactics/TA0005/' },
      techniques: [{ id: 'T1140', name: 'Deobfuscate/Decode Files or Information', reference: 'https://attack.mitre.org/techniques/T1140/', subtechniques: [] }],
    },
    {
      framework: 'MITRE ATT&CK',
      tactic: { id: 'TA0011', name: 'Command and Control', reference: 'https://attack.mitre.org/tactics/TA0011/' },
      techniques: [
        {
          id: 'T1105',
          name: 'Ingress Tool Transfer',
          reference: 'https://attack.mitre.org/techniques/T1105/',
          subtechniques: [{ id: 'T1105.001', name: 'Example Subtechnique', reference: 'https://attack.mitre.org/techniques/T1105/001/' }],
        },
      ],
    },
  ]);
  // The ''' string starts on the line after `query = '''` (TOML drops that first newline).
  assert.equal({ line: r.origin!.line, column: r.origin!.column }, { line: 36, column: 1 });
});

test('hunting TOML: one rule per query of the [hunt] array, each placed where it is written', () => {
  const { rules, diagnostics } = loadRuleFile(fx('rules', 'hunt', 'two-queries.toml'));
  assert.equal(diagnostics, []);
  assert.equal(
    rules.map((r) => [r.meta.rule_id, r.meta.name, r.origin?.line, r.origin?.column]),
    [
      ['7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6', 'Shells Spawned by Web Servers (query 1)', 14, 1],
      ['7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6', 'Shells Spawned by Web Servers (query 2)', 17, 1],
    ],
  );
  assert.equal(rules[0]!.meta.author, ['eqlport tests']);
  assert.is(rules[1]!.meta.note, 'Expect noise from CGI scripts.\nCompare with the server\'s access log.');
  assert.ok(rules.every((r) => parseRule(r).query), 'both hunting queries parse');
});

test('hunting TOML in another language is skipped with EQL4003', () => {
  const { rules, diagnostics } = loadRuleText('h.toml', '[hunt]\nname = "x"\nlanguage = ["ES|QL"]\nquery = ["FROM logs-*"]\n');
  assert.is(rules.length, 0);
  assert.equal(diagnostics.map((d) => [d.code, d.severity]), [['EQL4003', 'info']]);
});

test('TOML rule of another type is skipped; TOML without [rule] or without query is an error', () => {
  assert.equal(loadRuleText('k.toml', '[rule]\ntype = "query"\nlanguage = "kuery"\nquery = "a:b"\n').diagnostics.map((d) => d.code), ['EQL4003']);
  assert.equal(loadRuleText('n.toml', '[metadata]\nmaturity = "x"\n').diagnostics.map((d) => d.code), ['EQL4002']);
  assert.equal(loadRuleText('q.toml', '[rule]\ntype = "eql"\nname = "no query"\n').diagnostics.map((d) => d.code), ['EQL4004']);
});

test('Kibana NDJSON export: EQL rules loaded, KQL rule, exception list and export summary skipped with EQL4003', () => {
  const file = fx('rules', 'kibana', 'export.ndjson');
  const { rules, diagnostics } = loadRuleFile(file);
  assert.equal(
    rules.map((r) => [r.format, r.meta.rule_id, r.meta.name]),
    [
      ['ndjson', '11111111-2222-4333-8444-555555555555', 'Export: Regsvr32 Scriptlet'],
      ['ndjson', 'abababab-cdcd-4efe-8a8a-121212121212', 'Export: Escaped Query'],
    ],
  );
  assert.is(rules[0]!.query, 'process where process.name : "regsvr32.exe" and\n  process.args : "/i:http*"');
  assert.equal(rules[0]!.meta.threat[0]!.techniques[0]!.subtechniques.map((s) => s.id), ['T1218.010']);
  assert.equal(rules[0]!.meta.risk_score, 73);
  assert.equal(diagnostics.map((d) => [d.code, d.severity, d.line]), [
    ['EQL4003', 'info', 2],
    ['EQL4003', 'info', 4],
    ['EQL4003', 'info', 5],
  ]);
  assert.match(diagnostics[0]!.message, /not eql/);
  assert.match(diagnostics[2]!.message, /export summary/);
});

test('NDJSON: an invalid JSON line is EQL4002 and the other lines still load', () => {
  const { rules, diagnostics } = loadRuleFile(fx('broken', 'bad-lines.ndjson'));
  assert.equal(rules.map((r) => r.meta.rule_id), ['r-ok']);
  assert.equal(diagnostics.map((d) => [d.code, d.line]), [
    ['EQL4002', 2],
    ['EQL4003', 4],
  ]);
});

test('NDJSON: a diagnostic in an escaped JSON query points at its place on the line', () => {
  const file = fx('rules', 'kibana', 'export.ndjson');
  const res = check([file]);
  const escaped = res.rules.find((r) => r.id === 'abababab-cdcd-4efe-8a8a-121212121212')!;
  const warning = escaped.diagnostics.find((d) => d.code === 'EQL2102');
  assert.ok(warning, 'user.not_a_real_field is not ECS');
  assert.is(brief(warning!), `EQL2102@3:${columnOf(file, 3, 'user.not_a_real_field')}`);
});

test('bare .eql: the whole file is the query, named after the file', () => {
  const { rules } = loadRuleFile(fx('rules', 'bare', 'deeper', 'lsass-access.eql'));
  assert.equal(rules.map((r) => [r.format, r.meta.name, r.meta.rule_id]), [['eql', 'lsass-access', null]]);
  assert.ok(parseRule(rules[0]!).query);
});

test('directories are searched recursively for .toml/.ndjson/.eql in a stable order; other files ignored', () => {
  const { files, diagnostics } = expandPaths([fx('rules')]);
  assert.equal(diagnostics, []);
  assert.equal(
    files.map((f) => f.slice(fx('rules').length + 1)),
    ['bare/deeper/lsass-access.eql', 'full-fields.toml', 'hunt/two-queries.toml', 'kibana/export.ndjson'],
  );
});

test('a symlink loop in a directory is walked once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eqlport-loop-'));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'q.eql'), 'any where true');
  symlinkSync(dir, join(dir, 'sub', 'back'));
  const { files } = expandPaths([dir]);
  assert.equal(files, [join(dir, 'sub', 'q.eql')]);
});

test('unreadable paths and invalid UTF-8 are EQL4001 with the file named', () => {
  const missing = fx('does-not-exist.toml');
  assert.equal(expandPaths([missing]).diagnostics.map((d) => [d.code, d.file]), [['EQL4001', missing]]);
  assert.equal(loadRuleFile(fx('rules')).diagnostics.map((d) => d.code), ['EQL4001']);
  const dir = mkdtempSync(join(tmpdir(), 'eqlport-utf8-'));
  const bad = join(dir, 'latin1.eql');
  writeFileSync(bad, Buffer.from([0x70, 0x72, 0x6f, 0x63, 0x65, 0x73, 0x73, 0x20, 0xe9, 0xff, 0xfe]));
  const { rules, diagnostics } = loadRuleFile(bad);
  assert.is(rules.length, 0);
  assert.equal(diagnostics.map((d) => [d.code, d.file]), [['EQL4001', bad]]);
  assert.match(diagnostics[0]!.message, /UTF-8/);
});

test('invalid TOML is EQL4002 with the line and column of the problem', () => {
  const { rules, diagnostics } = loadRuleFile(fx('broken', 'invalid.toml'));
  assert.is(rules.length, 0);
  assert.is(diagnostics.length, 1);
  const d = diagnostics[0]!;
  assert.is(d.code, 'EQL4002');
  assert.is(d.line, 4, 'the unterminated string is on line 4');
  // The string opens at column 8 of `name = "unterminated`; the parser may report its start or the line end.
  assert.ok(d.column! >= 8 && d.column! <= 21, `column ${d.column}`);
});

test('TOML: a syntax error in a \'\'\' query is reported at its line and column in the file', () => {
  const { rules } = loadRuleFile(fx('broken', 'syntax-error.toml'));
  const parsed = parseRule(rules[0]!);
  assert.is(parsed.query, null);
  // Query line 3 is `  process.pid >> 4` (file line 13); the second `>` (column 16) is where a value was expected.
  assert.equal(parsed.diagnostics.map(brief), ['EQL1001@13:16']);
  assert.is(parsed.diagnostics[0]!.file, fx('broken', 'syntax-error.toml'));
});

test('TOML: a diagnostic in an escaped basic-string query maps through the escapes', () => {
  const file = fx('broken', 'escaped-basic-string.toml');
  const parsed = parseRule(loadRuleFile(file).rules[0]!);
  // `nosuchfn` is on the query's second line, but the query is one line (6) of the file.
  assert.equal(parsed.diagnostics.map(brief), [`EQL2001@6:${columnOf(file, 6, 'nosuchfn')}`]);
});

test('TOML: review warnings in a valid rule point at the field in the file', () => {
  const file = fx('rules', 'full-fields.toml');
  const [rule] = check([file]).rules;
  const ext = rule!.diagnostics.find((d) => d.code === 'EQL2103');
  assert.ok(ext, 'process.Ext.* is noted as Elastic-specific');
  assert.is(brief(ext!), `EQL2103@38:${columnOf(file, 38, 'process.Ext.relative_file_creation_time')}`);
});

test('TOML: CRLF line endings and a query text repeated earlier in the file still map to the query', () => {
  const text = '[rule]\r\ndescription = "any where x"\r\ntype = "eql"\r\nquery = \'\'\'\r\nany where\r\n  x ==\r\n'.concat("'''\r\n");
  const [r] = loadRuleText('crlf.toml', text).rules;
  const parsed = parseRule(r!);
  // `x ==` ends the query: the error is after the query's last line (file line 6 is `  x ==`).
  assert.is(parsed.query, null);
  assert.equal({ line: r!.origin!.line, column: r!.origin!.column }, { line: 5, column: 1 });
  assert.ok(parsed.diagnostics[0]!.line! >= 6, brief(parsed.diagnostics[0]!));
});

test('one bad file never stops the batch', () => {
  const res = check([fx('broken'), fx('rules')]);
  assert.ok(res.rules.some((r) => r.ok) && res.rules.some((r) => !r.ok));
  assert.ok(res.rules.some((r) => r.id === '0f5c1b2e-6a7d-4e8f-9a0b-1c2d3e4f5a6b' && r.ok));
});

test.run();
