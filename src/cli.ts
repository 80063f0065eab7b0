// The command line: a thin layer over the library. Commands return exit codes; nothing here decides semantics.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { check, type CheckResult } from './check.js';
import { formatDiagnostic, type Diagnostic } from './diagnostics.js';
import { formatRuleFile } from './fmt.js';

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
