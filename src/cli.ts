// The command line: a thin layer over the library. Commands return exit codes; nothing here decides semantics.
import { Command, CommanderError } from 'commander';
import { existsSync, writeFileSync } from 'node:fs';
import { check, loadRules, type CheckResult } from './check.js';
import { formatDiagnostic, jsonDiagnostic, type Diagnostic } from './diagnostics.js';
import { formatRuleFile } from './fmt.js';
import { convert, convertJson, renderConvertText } from './convert.js';
import { parseTargets, TargetError } from './translate/index.js';
import type { TranslateOptions } from './translate/core.js';
import { loadMapping, MappingError } from './translate/mapping.js';
import { stringify as toYaml } from 'yaml';
import { ARTIFACTS, ArtifactError } from './artifacts.js';
import { diff, DiffError, renderDiffText } from './diff.js';
import { reportData, renderReport, type VerdictFn } from './report.js';
import { renderVerifyText, verifyJson, verifyPairs, verifyRules, type VendorPair } from './verify/index.js';
import { readEvents } from './matcher/events.js';
import { replay, replayRules, resultLine } from './replay.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  isTTY?: boolean;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTTY: process.stderr.isTTY,
};

function renderDiagnostics(diags: readonly Diagnostic[], query: string | null): string {
  return diags.map((d) => formatDiagnostic(d, query ?? undefined) + '\n').join('');
}

export function renderCheckText(r: CheckResult): string {
  let out = '';
  for (const rule of r.rules) {
    out += `${rule.ok ? 'ok    ' : 'FAILED'} ${rule.path}${rule.name ? `  ${rule.name}` : ''}\n`;
    out += renderDiagnostics(rule.diagnostics, rule.query).replace(/^(?=.)/gm, '  ');
  }
  for (const d of r.files) out += `  ${formatDiagnostic(d)}\n`;
  out += `${r.summary.total} rules: ${r.summary.ok} ok, ${r.summary.failed} failed\n`;
  return out;
}

export function checkJson(r: CheckResult) {
  return {
    rules: r.rules.map((x) => ({ path: x.path, id: x.id, name: x.name, ok: x.ok, diagnostics: x.diagnostics.map(jsonDiagnostic) })),
    summary: r.summary,
  };
}

function formatOption(value: string): 'text' | 'json' {
  if (value !== 'text' && value !== 'json') throw new CommanderError(2, 'eqlport.format', `--format must be text or json, not ${value}`);
  return value;
}

interface TargetCliOptions {
  kqlArgs: string;
  kqlOs: string;
  kqlSentinel: string;
  splProfile: string;
  s1qlDialect: string;
}

/** The per-target options `convert` and `verify` share, checked. */
function targetOptions(opts: TargetCliOptions): TranslateOptions {
  return {
    kqlArgs: choice(opts.kqlArgs, ['exact', 'fast'] as const, '--kql-args'),
    kqlOs: choice(opts.kqlOs, ['join', 'drop'] as const, '--kql-os'),
    kqlSentinel: choice(opts.kqlSentinel, ['fallback', 'off'] as const, '--kql-sentinel'),
    splProfile: choice(opts.splProfile, ['sysmon', 'cim'] as const, '--spl-profile'),
    s1qlDialect: choice(opts.s1qlDialect, ['1', '2'] as const, '--s1ql-dialect'),
  };
}

interface ConvertCliOptions extends TargetCliOptions {
  to: string;
  out?: string;
  format: 'text' | 'json';
  strict?: boolean;
  mapping: string[];
  artifact: string[];
  templates?: string;
}

class UsageError extends Error {}

/** Rule-by-rule progress on stderr, only when it is a terminal (CI logs stay clean). */
function progress(io: Io): { onRule?: (done: number, total: number) => void } {
  if (!io.isTTY) return {};
  return { onRule: (done, total) => done % 10 === 0 && io.err(`\r${done}/${total} rules`) };
}

const collect = (value: string, previous: string[]) => [...previous, value];

function choice<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not ${value}`);
  return value as T;
}

function sizeOption(value: string): number {
  if (!/^\d+$/.test(value)) throw new CommanderError(2, 'eqlport.size', `--size must be a whole number, not ${value}`);
  return Number(value);
}

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code = 0;
  const program = new Command('eqlport')
    .description('Port Elastic EQL detection rules to other SIEMs and prove each translation by replay')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  program
    .command('check')
    .description('parse rules (TOML, Kibana NDJSON, .eql, directories) and report problems; exit 1 if any rule fails to parse')
    .argument('<paths...>', 'rule files or directories')
    .option('--format <format>', 'text or json', formatOption, 'text')
    .action((paths: string[], opts: { format: 'text' | 'json' }) => {
      const result = check(paths);
      io.out(opts.format === 'json' ? JSON.stringify(checkJson(result)) + '\n' : renderCheckText(result));
      code = result.summary.failed ? 1 : 0;
    });

  program
    .command('fmt')
    .description('print each rule query in canonical EQL form')
    .argument('<paths...>', 'rule files or directories')
    .action((paths: string[]) => {
      const { text, failed } = formatRuleFile(paths);
      io.out(text);
      code = failed ? 1 : 0;
    });

  program
    .command('convert')
    .description('translate rules to other query languages, each result with its fidelity (exact, approximate, unsupported)')
    .argument('<paths...>', 'rule files or directories')
    .requiredOption('--to <targets>', 'comma list of sigma, kql, spl, s1ql, ts, or all (aliases: defender, splunk, sentinelone, matcher)')
    .option('--out <dir>', 'write one file per rule and target, mirroring the input tree')
    .option('--format <format>', 'text or json', formatOption, 'text')
    .option('--strict', 'treat approximate translations as failures')
    .option('--mapping <file>', 'mapping file merged over the bundled one (repeatable)', collect, [])
    .option('--artifact <name>', `wrap queries in a deployable artifact (repeatable): ${Object.keys(ARTIFACTS).join(', ')}`, collect, [])
    .option('--templates <dir>', 'directory of handlebars templates that replace the bundled ones of the same name')
    .option('--kql-args <mode>', 'process.args in KQL: exact (parse_command_line) or fast (has)', 'exact')
    .option('--kql-os <mode>', 'host.os.type in KQL: join (DeviceInfo) or drop (approximate)', 'join')
    .option('--kql-sentinel <mode>', 'KQL: fallback (a rule no Defender table reads may read Microsoft Sentinel tables) or off', 'fallback')
    .option('--spl-profile <profile>', 'Splunk field profile: sysmon or cim', 'sysmon')
    .option('--s1ql-dialect <dialect>', 'SentinelOne dialect: 1 (Deep Visibility) or 2 (PowerQuery)', '2')
    .action((paths: string[], opts: ConvertCliOptions) => {
      const targets = parseTargets(opts.to);
      // An artifact brings its target along.
      for (const a of opts.artifact) {
        const t = ARTIFACTS[a]?.target;
        if (!t) throw new ArtifactError(`unknown artifact "${a}" (known: ${Object.keys(ARTIFACTS).join(', ')})`);
        if (!targets.includes(t)) targets.push(...parseTargets(t));
      }
      const report = convert(paths, {
        targets,
        strict: !!opts.strict,
        ...(opts.out ? { outDir: opts.out } : {}),
        artifacts: opts.artifact,
        ...(opts.templates ? { templatesDir: opts.templates } : {}),
        mappingFiles: opts.mapping,
        ...targetOptions(opts),
        ...progress(io),
      });
      if (io.isTTY) io.err('\r\x1b[K');
      io.out(opts.format === 'json' ? JSON.stringify(convertJson(report)) + '\n' : renderConvertText(report));
      code = report.exitCode;
    });

  program
    .command('diff')
    .description('compare two versions of rules (files, directories matched by rule_id, or a path against a git revision)')
    .argument('<old>', 'old rule file or directory (with --git: the path to compare with its revision)')
    .argument('[new]', 'new rule file or directory')
    .option('--to <targets>', 'targets whose outputs to compare', 'all')
    .option('--git <rev>', 'compare <old> with its version at this git revision')
    .option('--format <format>', 'text or json', formatOption, 'text')
    .action((oldPath: string, newPath: string | undefined, opts: { to: string; git?: string; format: 'text' | 'json' }) => {
      if (!newPath && !opts.git) throw new UsageError('diff needs two paths, or one path and --git REV');
      for (const p of [oldPath, newPath].filter((x): x is string => !!x)) if (!existsSync(p)) throw new UsageError(`${p} does not exist`);
      const report = diff(oldPath, opts.git ? oldPath : newPath!, { targets: parseTargets(opts.to), ...(opts.git ? { gitRev: opts.git } : {}) });
      io.out(opts.format === 'json' ? JSON.stringify(report) + '\n' : renderDiffText(report));
      code = report.exitCode;
    });

  program
    .command('report')
    .description('write one self-contained HTML page: rules × targets coloured by fidelity, each cell with its query and diagnostics')
    .argument('<paths...>', 'rule files or directories')
    .requiredOption('--html <file>', 'where to write the page')
    .option('--to <targets>', 'targets to include', 'all')
    .option('--verify', "run eqlport verify too and show each cell's verdict")
    .option('--mapping <file>', 'mapping file merged over the bundled one (repeatable)', collect, [])
    .action((paths: string[], opts: { html: string; to: string; verify?: boolean; mapping: string[] }) => {
      const targets = parseTargets(opts.to);
      const options = { mappingFiles: opts.mapping };
      let verdicts: VerdictFn | undefined;
      if (opts.verify) {
        const byRule = new Map(verifyRules(loadRules(paths).rules, { targets, ...options, ...progress(io) }).results.map((r) => [`${r.path}\0${r.id}\0${r.target}`, r]));
        if (io.isTTY) io.err('\r\x1b[K');
        verdicts = (row, target) => {
          const r = byRule.get(`${row.path}\0${row.id}\0${target}`);
          return r ? { verdict: r.bug ? `${r.verdict} (bug)` : r.verdict, detail: r.reason ?? (r.counterexample ? `${r.mismatches} mismatching events, e.g. ${JSON.stringify(r.counterexample.event ?? r.counterexample.scenario)}` : `${r.events} events`) } : null;
        };
      }
      const data = reportData(paths, targets, options, verdicts);
      writeFileSync(opts.html, renderReport(data));
      for (const d of data.files) io.err(`${formatDiagnostic(d)}\n`);
      io.err(`eqlport: wrote ${opts.html} (${data.rows.length} rules × ${targets.length} targets)\n`);
      code = data.files.some((d) => d.severity === 'error') ? 1 : 0;
    });

  program
    .command('verify')
    .description("check each translation by replay: the native matcher and the target's interpreter over the same events")
    .argument('<paths...>', 'rule files or directories')
    .option('--to <targets>', 'targets to verify', 'all')
    .option('--events <file>', 'extra ECS events (NDJSON or a JSON array), evaluated with the generated ones')
    .option('--pairs <file>', 'vendor event pairs (NDJSON of {source, raw, ecs}): matcher on ecs, target interpreter on raw')
    .option('--format <format>', 'text or json', formatOption, 'text')
    .option('--mapping <file>', 'mapping file merged over the bundled one (repeatable)', collect, [])
    .option('--kql-args <mode>', 'process.args in KQL: exact (parse_command_line) or fast (has)', 'exact')
    .option('--kql-os <mode>', 'host.os.type in KQL: join (DeviceInfo) or drop (approximate)', 'join')
    .option('--kql-sentinel <mode>', 'KQL: fallback (a rule no Defender table reads may read Microsoft Sentinel tables) or off', 'fallback')
    .option('--spl-profile <profile>', 'Splunk field profile: sysmon or cim', 'sysmon')
    .option('--s1ql-dialect <dialect>', 'SentinelOne dialect: 1 (Deep Visibility) or 2 (PowerQuery)', '2')
    .action(async (paths: string[], opts: { to: string; events?: string; pairs?: string; format: 'text' | 'json'; mapping: string[] } & TargetCliOptions) => {
      const userEvents: Record<string, unknown>[] = [];
      for (const f of [opts.events, opts.pairs]) if (f && f !== '-' && !existsSync(f)) throw new UsageError(`${f} does not exist`);
      if (opts.events) {
        const stats = await readEvents(opts.events, (ev) => userEvents.push(ev));
        for (const b of stats.bad) io.err(`eqlport: ${opts.events}: ${b.at}: ${b.why}\n`);
      }
      const { rules, files } = loadRules(paths);
      for (const d of files) io.err(`${formatDiagnostic(d)}\n`);
      const options = { targets: parseTargets(opts.to), userEvents, mappingFiles: opts.mapping, ...targetOptions(opts), ...progress(io) };
      let report;
      if (opts.pairs) {
        const pairs: VendorPair[] = [];
        await readEvents(opts.pairs, (ev) => pairs.push(ev as unknown as VendorPair));
        report = verifyPairs(rules, pairs, options);
      } else report = verifyRules(rules, options);
      if (io.isTTY) io.err('\r\x1b[K');
      io.out(opts.format === 'json' ? JSON.stringify(verifyJson(report)) + '\n' : renderVerifyText(report));
      code = report.exitCode || (files.some((d) => d.severity === 'error') ? 1 : 0);
    });

  program
    .command('mappings')
    .description('print the effective field and event-class mapping of a target (bundled data plus --mapping files)')
    .requiredOption('--to <target>', 'sigma, kql, spl or s1ql')
    .option('--mapping <file>', 'mapping file merged over the bundled one (repeatable)', collect, [])
    .action((opts: { to: string; mapping: string[] }) => {
      const targets = parseTargets(opts.to);
      if (targets.length !== 1) throw new UsageError('mappings prints one target at a time');
      const target = targets[0];
      io.out(toYaml(loadMapping(target!, opts.mapping), { lineWidth: 0 }));
    });

  program
    .command('replay')
    .description('run rules over events (NDJSON or a JSON array) with the native matcher; one JSON line per result')
    .argument('[rules...]', 'rule files or directories (or use --query)')
    .requiredOption('--events <file>', 'events file, or - for stdin')
    .option('--query <eql>', 'an EQL query instead of rule files')
    .option('--category-field <field>', 'event category field', 'event.category')
    .option('--timestamp-field <field>', 'timestamp field (ISO-8601 or epoch milliseconds)', '@timestamp')
    .option('--tiebreaker-field <field>', 'field that orders events with equal timestamps')
    // Without `size` the Elasticsearch EQL search API returns 10 results, events or sequences (size "Defaults to 10",
    // elastic/elasticsearch-specification specification/eql/search/EqlSearchRequest.ts; "basic EQL queries return the
    // 10 most recent matching events", elastic/elasticsearch docs/reference/eql/eql.asciidoc); replay keeps all.
    .option('--size <n>', 'maximum results per rule (default: all, where the Elasticsearch EQL search API returns 10)', sizeOption)
    .option('--ids <field>', 'print this field of each result event instead of whole events')
    .action(async (paths: string[], opts: { events: string; query?: string; categoryField: string; timestampField: string; tiebreakerField?: string; size?: number; ids?: string }) => {
      if (!paths.length && opts.query === undefined) throw new CommanderError(2, 'eqlport.replay', 'give rule files or --query');
      const { rules, files } = replayRules(paths, opts.query);
      const started = Date.now();
      const outcome = await replay(rules, {
        events: opts.events,
        categoryField: opts.categoryField,
        timestampField: opts.timestampField,
        tiebreakerField: opts.tiebreakerField ?? null,
        size: opts.size ?? null,
        ids: opts.ids ?? null,
        progress: io.isTTY ? (n, ms) => io.err(`\r${n} events, ${Math.round((n / ms) * 1000)} events/s`) : undefined,
      });
      for (const rule of outcome.rules) for (const r of rule.results) io.out(resultLine(rule, r, opts.ids) + '\n');
      if (io.isTTY && outcome.events) io.err('\r\x1b[K');
      for (const d of [...files, ...outcome.diagnostics]) io.err(formatDiagnostic(d) + '\n');
      const secs = (Date.now() - started) / 1000;
      for (const rule of outcome.rules) io.err(`${rule.results.length} match${rule.results.length === 1 ? '' : 'es'}  ${rule.rule}  ${rule.path}\n`);
      io.err(`${outcome.events} events in ${secs.toFixed(1)}s\n`);
      code = outcome.ok && !files.some((d) => d.severity === 'error') ? 0 : 1;
    });

  try {
    await program.parseAsync(['node', 'eqlport', ...argv]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof TargetError || e instanceof MappingError || e instanceof UsageError || e instanceof ArtifactError || e instanceof DiffError) {
      io.err(`eqlport: ${e.message}\n`);
      return 2;
    }
    io.err(`eqlport: ${(e as Error).stack ?? e}\n`);
    return 2;
  }
  return code;
}
