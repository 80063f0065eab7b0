import { BACKENDS, TARGET_ALIASES } from '../backends/index.js';
import { loadMapping } from './mapping.js';
import { finish, TranslateContext, Unsupported, type RuleInput, type TargetId, type Translation, type TranslateOptions } from './core.js';

export class TargetError extends Error {}

/** Parse a `--to` list: comma-separated ids or aliases, or `all` for every registered backend. */
export function parseTargets(spec: string): TargetId[] {
  const out: TargetId[] = [];
  for (const raw of spec.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const ids = raw === 'all' ? (Object.keys(BACKENDS) as TargetId[]) : [TARGET_ALIASES[raw]];
    for (const id of ids) {
      if (!id) throw new TargetError(`unknown target "${raw}" (known: ${[...new Set(Object.keys(TARGET_ALIASES))].join(', ')}, all)`);
      if (!BACKENDS[id]) throw new TargetError(`the ${id} backend is not available in this version`);
      if (!out.includes(id)) out.push(id);
    }
  }
  if (!out.length) throw new TargetError('no target given');
  return out;
}

/** Translate one parsed rule to one target. Never throws for user input. */
export function translateRule(rule: RuleInput, target: TargetId, options: TranslateOptions = {}, variant?: string): Translation {
  const backend = BACKENDS[target];
  if (!backend) throw new TargetError(`the ${target} backend is not available in this version`);
  const ctx = new TranslateContext(target, loadMapping(target, options.mappingFiles), options);
  let output: string | null = null;
  try {
    output = backend.emit(rule, ctx);
  } catch (e) {
    if (!(e instanceof Unsupported)) ctx.unsupported('EQL3001', `internal error in the ${target} backend: ${(e as Error).message}`, rule.query.span);
  }
  return finish(target, ctx, output, variant);
}
