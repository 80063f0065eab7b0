// The command line: a thin layer over the library. Commands return exit codes; nothing here decides semantics.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { check, type CheckResult } from './check.js';
import { formatDiagnostic, type Diagnostic } from './diagnostics.js';
import { formatRuleFile } from './fmt.js';
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

/** Diagnostic as the JSON contracts spell it. */
export function jsonDiagnostic(d: Diagnostic) {
  return { code: d.code, severity: d.severity, message: d.message, line: d.line ?? 1, column: d.column ?? 1 };
}

function renderDiagnostics(diags: readonly Diagnostic[], query: string | null): string {
  return diags.map((d) => formatDiagnostic(d, query ?? undefined) + '\n').join('');
}

export function renderCheckText(r: CheckResult): string {
  let out = '';
  for (const rule of r.rules) {
    out += `${rule.ok ? 'ok    ' : 'FAILED'} ${rule.path}${rule.name ? `  ${rule.name}` : ''}\n`;
    out += renderDiagnostics(rule.diagnostics, rule.query).replace(/^/gm, '  ');
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
    .command('replay')
    .description('run rules over events (NDJSON or a JSON array) with the native matcher; one JSON line per result')
    .argument('[rules...]', 'rule files or directories (or use --query)')
    .requiredOption('--events <file>', 'events file, or - for stdin')
    .option('--query <eql>', 'an EQL query instead of rule files')
    .option('--category-field <field>', 'event category field', 'event.category')
    .option('--timestamp-field <field>', 'timestamp field (ISO-8601 or epoch milliseconds)', '@timestamp')
    .option('--tiebreaker-field <field>', 'field that orders events with equal timestamps')
    .option('--size <n>', 'maximum results per rule (default: all)', sizeOption)
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
    io.err(`eqlport: ${(e as Error).stack ?? e}\n`);
    return 2;
  }
  return code;
}

export function readStdinOrFile(path: string): string {
  return readFileSync(path === '-' ? 0 : path, 'utf8');
}
