// Embeds src/matcher/runtime.ts as text (src/generated/runtime-source.ts) so the `ts` backend can put the
// matcher's run-time library into the modules it emits: one implementation for both.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'src', 'generated');
mkdirSync(outDir, { recursive: true });
const source = readFileSync(join(root, 'src', 'matcher', 'runtime.ts'), 'utf8');
writeFileSync(
  join(outDir, 'runtime-source.ts'),
  `// Generated from src/matcher/runtime.ts by scripts/build-runtime.mjs. Do not edit.\nexport const RUNTIME_SOURCE = ${JSON.stringify(source)};\n`,
);
console.log('runtime: src/matcher/runtime.ts -> src/generated/runtime-source.ts');
