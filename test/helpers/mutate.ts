// Injected emitter bugs: while `f` runs, a backend's output text passes through `mutate`, so a test can
// check that verify catches the bug (the backend is restored afterwards, also when `f` throws).
import { BACKENDS } from '../../src/backends/index.js';
import type { Backend, TargetId } from '../../src/translate/core.js';

export function withMutatedOutput<T>(target: TargetId, mutate: (text: string) => string, f: () => T): T {
  const backend = BACKENDS[target] as Backend;
  const emit = backend.emit;
  backend.emit = (rule, ctx) => {
    const out = emit.call(backend, rule, ctx);
    return out === null ? null : mutate(out);
  };
  try {
    return f();
  } finally {
    backend.emit = emit;
  }
}
