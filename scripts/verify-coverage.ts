// `node --import tsx scripts/verify-coverage.ts [targets...]`: how many probe events each target's interpreter
// compares and how many it leaves out as Unrepresentable (impossible in its world), over ../shared/corpus,
// with the verify verdict summary. Reasons are grouped with their quoted values stripped.
import { loadRules } from '../src/index.js';
import { translateRule } from '../src/translate/index.js';
import { loadMapping } from '../src/translate/mapping.js';
import type { TargetId } from '../src/translate/core.js';
import { allExprs } from '../src/ir/walk.js';
import { INTERPRETERS, Unrepresentable, scenariosFor, verifyRules, type InterpreterContext } from '../src/verify/index.js';
import { corpusDir } from './corpus.js';

const dir = corpusDir();
if (!dir) {
  console.log('notice: ../shared/corpus is absent; nothing to measure');
  process.exit(0);
}
const rules = loadRules([dir]).rules.filter((r) => r.query && (!process.env.RULES || process.env.RULES.split(',').some((x) => r.source.path.includes(x))));
const targets = (process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(INTERPRETERS)) as TargetId[];
const scen = new Map(rules.map((r) => [r, scenariosFor(r)]));
for (const target of targets) {
  const interp = INTERPRETERS[target]!;
  const mapping = loadMapping(target);
  let compared = 0, excluded = 0, none = 0;
  const reasons = new Map<string, number>();
  const samples = new Map<string, string>();
  for (const rule of rules) {
    const t = translateRule({ query: rule.query!, meta: rule.source.meta, text: rule.source.query, path: rule.source.path }, target, {});
    if (t.output === null) continue;
    const ruleFields = new Set([...allExprs(rule.query!)].flatMap((e) => (e.kind === 'Field' ? [e.name] : [])));
    const ctx: InterpreterContext = { mapping, options: {}, ruleFields };
    for (const s of scen.get(rule)!)
      for (const e of s.events) {
        const r = interp.fromEcs(e, ctx);
        if (r instanceof Unrepresentable) {
          excluded++;
          const k = r.reason.replace(/\[[^\]]*\]|"(?:[^"\\]|\\.)*"/g, '…');
          reasons.set(k, (reasons.get(k) ?? 0) + 1);
          if (process.env.SAMPLE && !samples.has(k)) samples.set(k, `${rule.source.path} (${s.name}): ${JSON.stringify(e)}`);
        } else if (r === null) none++;
        else compared++;
      }
  }
  if (process.env.SAMPLE) {
    for (const [k, v] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${v}\t${k}\n    ${samples.get(k)}`);
    continue;
  }
  const report = verifyRules(rules, { targets: [target] });
  const s = report.summary[target]!;
  const bugs = report.results.filter((r) => r.bug);
  console.log(`${target}: events compared ${compared}, excluded ${excluded} (${((100 * excluded) / (compared + excluded)).toFixed(1)}%), not stored ${none}; verdicts ${s.agree} agree, ${s.disagree} disagree, ${s['not-checked']} not checked, ${bugs.length} bugs`);
  for (const [why, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 12))) console.log(`    ${n}\t${why}`);
  for (const b of bugs.slice(0, 10)) console.log(`    BUG ${b.path}: ${b.reason ?? JSON.stringify(b.counterexample).slice(0, 600)}`);
}
