// Conformance over the reference material: every published EQL rule and every query of Elasticsearch's own
// EQL QA suite parses, and the canonical printer round-trips each one. Skips where ../shared is absent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { loadRules, parseQuery, printQuery, irEqual, type Query } from '../src/index.js';
import { shared } from './helpers/shared.js';

const errors = (diags: readonly { severity: string; code: string; message: string; line?: number; column?: number }[]) =>
  diags.filter((d) => d.severity === 'error').map((d) => `${d.line ?? '?'}:${d.column ?? '?'} ${d.code} ${d.message}`);

/** Why `q` does not survive print → parse unchanged, or null when it does. */
function roundTripProblem(q: Query): string | null {
  const text = printQuery(q);
  const again = parseQuery(text);
  if (!again.query) return `printed form does not parse: ${errors(again.diagnostics).join('; ')}\n${text}`;
  return irEqual(again.query, q) ? null : `printed form parses to a different tree:\n${text}`;
}

const corpus = shared('corpus');
if (corpus) {
  test('corpus: all 769 rule files parse without an error and round-trip through the printer', () => {
    const { rules, files } = loadRules([corpus]);
    assert.equal(errors(files), [], 'file-level errors');
    const ruleFiles = new Set(rules.map((r) => r.source.path));
    assert.is(ruleFiles.size, 769, 'every corpus file yields at least one rule');
    const failures: string[] = [];
    for (const r of rules) {
      if (!r.query) failures.push(`${r.source.path}: ${errors(r.diagnostics).join('; ')}`);
      else {
        const problem = roundTripProblem(r.query);
        if (problem) failures.push(`${r.source.path}: ${problem}`);
      }
    }
    assert.equal(failures.slice(0, 5), [], `${failures.length} corpus rules fail`);
  });
}

const suite = shared('eql-suite');
if (suite) {
  const specs = readdirSync(suite).filter((f) => f.endsWith('.toml')).sort();
  test('eql-suite: the spec files are present', () => {
    assert.ok(specs.length >= 2, specs.join(', '));
  });
  for (const spec of specs) {
    test(`eql-suite ${spec}: every query parses and round-trips`, () => {
      const doc = parseToml(readFileSync(join(suite, spec), 'utf8')) as { queries?: { name: string; query: string }[] };
      const queries = doc.queries ?? [];
      assert.ok(queries.length > 0, `${spec} has queries`);
      const failures: string[] = [];
      for (const { name, query } of queries) {
        const r = parseQuery(query);
        if (!r.query) failures.push(`${name}: ${errors(r.diagnostics).join('; ')}`);
        else {
          const problem = roundTripProblem(r.query);
          if (problem) failures.push(`${name}: ${problem}`);
        }
      }
      assert.equal(failures.slice(0, 5), [], `${failures.length} of ${queries.length} queries fail`);
    });
  }
}

test.run();
