// Golden files: golden/<case>/ holds the input rule (rule.eql, rule.toml, or rule.path naming a file in the
// repo) and one `<target>[.<variant>].golden` per backend variant with status, diagnostics and output.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { parseRuleText, type ParsedRule } from '../../src/check.js';
import type { Translation } from '../../src/translate/core.js';
import { root } from './shared.js';

export const goldenDir = join(root, 'golden');
export const updating = process.env.UPDATE_GOLDEN === '1';

export interface GoldenCase {
  name: string;
  dir: string;
  rule: ParsedRule;
}

export function goldenCases(): GoldenCase[] {
  return readdirSync(goldenDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const dir = join(goldenDir, name);
      const files = readdirSync(dir);
      const input = files.find((f) => /^rule\.(eql|toml|ndjson)$/.test(f));
      let path: string;
      if (input) path = join(dir, input);
      else if (files.includes('rule.path')) path = join(root, readFileSync(join(dir, 'rule.path'), 'utf8').trim());
      else throw new Error(`golden/${name} has no rule.eql, rule.toml or rule.path`);
      const rules = parseRuleText(path, readFileSync(path, 'utf8'));
      if (rules.length !== 1) throw new Error(`golden/${name} must hold exactly one rule, not ${rules.length}`);
      return { name, dir, rule: rules[0]! };
    });
}

/** The reviewed text of one translation: fidelity, then diagnostics (query positions), then the output. */
export function renderGolden(t: Translation): string {
  let out = `status: ${t.status}\n`;
  out += 'diagnostics:\n';
  for (const d of t.diagnostics) {
    const at = d.span ? `${d.span.start.line}:${d.span.start.column}` : '-';
    out += `  ${d.code} ${d.severity} ${at} ${d.message}\n`;
  }
  out += 'output:\n';
  out += t.output === null ? '(none)\n' : t.output.replace(/\n?$/, '\n');
  return out;
}

/** Compare with (or, under UPDATE_GOLDEN=1, rewrite) a golden file; returns a unified diff on mismatch. */
export function checkGolden(file: string, actual: string): string | null {
  const expected = existsSync(file) ? readFileSync(file, 'utf8') : null;
  if (expected === actual) return null;
  if (updating) {
    writeFileSync(file, actual);
    return null;
  }
  if (expected === null) return `missing golden file ${file} (run UPDATE_GOLDEN=1 npm test and review the result)`;
  return createTwoFilesPatch(file, 'actual', expected, actual, '', '', { context: 3 });
}
