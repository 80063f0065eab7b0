// Locates ../shared (reference material). Tests that need it skip with a notice when it is absent.
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// A git worktree of the project sits one level deeper (e.g. wt/<branch>) than the main checkout.
export const sharedDir =
  process.env.EQLPORT_SHARED ?? [join(root, '..', 'shared'), join(root, '..', '..', 'shared')].find((p) => existsSync(p)) ?? join(root, '..', 'shared');

export function shared(...parts: string[]): string | null {
  const p = join(sharedDir, ...parts);
  if (existsSync(p)) return p;
  console.log(`notice: ${p} is absent; skipping the tests that need it`);
  return null;
}
