import type { Expr, Query, EventFilter } from './nodes.js';

/** Direct sub-expressions of an expression. */
export function children(e: Expr): readonly Expr[] {
  switch (e.kind) {
    case 'Literal':
    case 'Field':
      return [];
    case 'Arith':
    case 'Compare':
      return [e.left, e.right];
    case 'Neg':
    case 'Not':
    case 'Exists':
    case 'Match':
      return [e.arg];
    case 'In':
      return [e.arg, ...e.values];
    case 'Call':
    case 'And':
    case 'Or':
      return e.args;
  }
}

/** Every expression in the tree, parents before children. */
export function* walk(e: Expr): Generator<Expr> {
  const stack: Expr[] = [e];
  while (stack.length) {
    const cur = stack.pop()!;
    yield cur;
    const kids = children(cur);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
}

/** Every event filter of a query, with the join keys that apply to it. */
export function filtersOf(q: Query): { filter: EventFilter; keys: readonly Expr[] }[] {
  const b = q.body;
  switch (b.kind) {
    case 'EventQuery':
      return [{ filter: b.filter, keys: [] }];
    case 'Sequence':
      return [...b.steps, ...(b.until ? [b.until] : [])].map((s) => ({ filter: s.filter, keys: [...b.by, ...s.by] }));
    case 'Sample':
      return b.steps.map((s) => ({ filter: s.filter, keys: [...b.by, ...s.by] }));
  }
}

/** Every expression of a query: conditions and join keys. */
export function* allExprs(q: Query): Generator<Expr> {
  for (const { filter, keys } of filtersOf(q)) {
    yield* walk(filter.where);
    for (const k of keys) yield* walk(k);
  }
}
