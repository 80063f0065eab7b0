// Done-when of verification: every golden case, every target with an interpreter, zero bugs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BACKENDS } from '../src/backends/index.js';
import type { TargetId } from '../src/translate/core.js';
import { INTERPRETERS, verifyRules } from '../src/verify/index.js';
import { goldenCases } from './helpers/golden.js';

const cases = goldenCases();

for (const target of Object.keys(BACKENDS) as TargetId[]) {
  if (!INTERPRETERS[target]) {
    console.log(`notice: no interpreter for ${target} yet; its golden cases are not verified`);
    continue;
  }
  for (const variant of BACKENDS[target]!.variants) {
    test(`verify golden cases: ${target} (${variant.name})`, () => {
      const report = verifyRules(cases.map((c) => c.rule), { targets: [target], ...variant.options });
      const bugs = report.results.filter((r) => r.bug);
      assert.ok(!bugs.length, bugs.map((b) => `${b.path}: ${b.reason ?? ''} ${JSON.stringify(b.counterexample)}`).join('\n'));
      const checked = report.results.filter((r) => r.verdict !== 'not-checked').length;
      console.log(`notice: ${target} (${variant.name}): ${JSON.stringify(report.summary[target])}`);
      assert.ok(checked > 0, 'at least one golden case is checked');
    });
  }
}

test.run();
