import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BACKENDS } from '../src/backends/index.js';
import { translateRule } from '../src/translate/index.js';
import { checkGolden, goldenCases, renderGolden } from './helpers/golden.js';

const cases = goldenCases();

test('there are at least 30 golden cases and every one parses', () => {
  assert.ok(cases.length >= 30, `${cases.length} cases`);
  for (const c of cases) assert.ok(c.rule.query, `golden/${c.name}: ${c.rule.diagnostics.map((d) => d.message).join('; ')}`);
});

for (const backend of Object.values(BACKENDS)) {
  backend.variants.forEach((variant, i) => {
    const suffix = i === 0 ? '' : `.${variant.name}`;
    test(`golden: ${backend.id}${suffix}`, () => {
      const problems: string[] = [];
      for (const c of cases) {
        const { source, query } = c.rule;
        const t = translateRule({ query: query!, meta: source.meta, text: source.query, path: source.path }, backend.id, variant.options, variant.name);
        const pinned = backend.goldenPart && t.output !== null ? { ...t, output: backend.goldenPart(t.output) } : t;
        const problem = checkGolden(join(c.dir, `${backend.id}${suffix}.golden`), renderGolden(pinned));
        if (problem) problems.push(problem);
      }
      assert.ok(!problems.length, problems.join('\n'));
    });
  });
}

test('no golden file belongs to a backend that does not exist', () => {
  const known = new Set(Object.values(BACKENDS).flatMap((b) => b.variants.map((v, i) => `${b.id}${i ? `.${v.name}` : ''}.golden`)));
  for (const c of cases)
    for (const f of readdirSync(c.dir).filter((f) => f.endsWith('.golden'))) assert.ok(known.has(f), `golden/${c.name}/${f} has no backend`);
});

test.run();
