// Conformance over Elastic's rule corpus (../shared/corpus): every Sigma output validates against the official
// schema, and the share of rules that convert (exact or approximate) is reported against the 90% goal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadRules } from '../../src/check.js';
import { translateRule } from '../../src/translate/index.js';
import { shared } from '../helpers/shared.js';
import { sigmaSchemaErrors } from '../helpers/sigma-schema.js';

const corpus = shared('corpus');

test('corpus: every Sigma output validates against the official schema; conversion rate', () => {
  if (!corpus) return;
  const { rules } = loadRules([corpus]);
  let converted = 0;
  const invalid: string[] = [];
  for (const r of rules) {
    if (!r.query) continue;
    const t = translateRule({ query: r.query, meta: r.source.meta, text: r.source.query, path: r.source.path }, 'sigma');
    if (!t.output) continue;
    converted++;
    const errors = sigmaSchemaErrors(t.output);
    if (errors.length) invalid.push(`${r.source.path}: ${errors.join('; ')}`);
  }
  assert.equal(invalid, []);
  const rate = converted / rules.length;
  console.log(`notice: sigma converts ${converted}/${rules.length} corpus rules (${(rate * 100).toFixed(1)}%)`);
  // The goal is 90%. Floor at the measured 693/769 = 90.1% (Linux audit account records and Windows
  // Security 4703 by its task name added; five rules that counted before read a firewall's or a packet capture's
  // dataset from an endpoint log source, mappings/datasets.yaml).
  assert.ok(rate >= 0.901, `only ${(rate * 100).toFixed(1)}% of the corpus converts`);
});

test.run();
