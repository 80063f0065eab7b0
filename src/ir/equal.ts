/** Structural equality of IR trees, ignoring source spans. */
export function irEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => irEqual(x, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => k !== 'span');
  const kb = Object.keys(b).filter((k) => k !== 'span');
  if (ka.length !== kb.length) return false;
  return ka.every((k) => irEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The tree as JSON without spans (golden `ir.json`, readable test failures). */
export function stripSpans(node: unknown): unknown {
  return JSON.parse(JSON.stringify(node, (k, v) => (k === 'span' ? undefined : v)));
}
