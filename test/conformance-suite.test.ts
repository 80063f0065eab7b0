// Elasticsearch's own EQL QA specs (../shared/eql-suite) run through the native matcher: exact ids, in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { matchEvents, type MatchOptions } from '../src/matcher/index.js';
import { shared } from './helpers/shared.js';

interface Spec {
  name: string;
  query: string;
  expected_event_ids: number[] | number[][];
  join_keys?: string[];
  size?: number;
}

/** The flat id list the ES QA harness compares (README "How results are compared"). */
export function runSpec(spec: Spec, events: Record<string, unknown>[], opts: MatchOptions, idField: string) {
  const { results, diagnostics } = matchEvents(spec.query, events, { ...opts, size: spec.size ?? 50 });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const ids = results.flatMap((r) => r.events.map((e) => (e === null ? -1 : (e[idField] as number))));
  const keys = results.flatMap((r) => r.keys.map((k) => String(k)));
  return { ids, keys, errors };
}

const suites = [
  { file: 'test_queries.toml', data: 'endgame-140.json', id: 'serial_event_id', opts: { categoryField: 'event_type', timestampField: '@timestamp', tiebreakerField: 'serial_event_id' } },
  { file: 'test_missing_events.toml', data: 'missing-events.json', id: 'sequence', opts: { categoryField: 'event_type', timestampField: '@timestamp', tiebreakerField: 'sequence' } },
];

const dir = shared('eql-suite');
if (dir) {
  for (const s of suites) {
    const specs = (parseToml(readFileSync(join(dir, s.file), 'utf8')) as unknown as { queries: Spec[] }).queries;
    const events = JSON.parse(readFileSync(join(dir, 'data', s.data), 'utf8')) as Record<string, unknown>[];
    test(`${s.file}: ${specs.length} specs`, () => {
      const failures: string[] = [];
      for (const spec of specs) {
        const { ids, keys, errors } = runSpec(spec, events, s.opts, s.id);
        const expected = spec.expected_event_ids;
        const alternatives = Array.isArray(expected[0]) ? (expected as number[][]) : [expected as number[]];
        const okIds = alternatives.some((alt) => JSON.stringify(alt) === JSON.stringify(ids));
        const okKeys = !spec.join_keys || JSON.stringify(spec.join_keys) === JSON.stringify(keys);
        if (errors.length || !okIds || !okKeys)
          failures.push(`${spec.name}: got ${JSON.stringify(ids)}${okKeys ? '' : ` keys ${JSON.stringify(keys)}`} want ${JSON.stringify(expected)}${errors.map((e) => ' ' + e.message).join('')}`);
      }
      assert.equal(failures, [], failures.join('\n'));
    });
  }
}
test.run();
