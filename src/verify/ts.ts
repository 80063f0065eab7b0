// Interpreter of the `ts` target: the emitted module itself, transpiled and run. It is the native
// matcher's semantics by construction, so this checks the code generator rather than a mapping.
import { createRequire } from 'node:module';
import { InterpreterError, type Interpreter } from './interpreter.js';
import type { EcsEvent } from './generate.js';

interface EmittedModule {
  matches?: (event: EcsEvent) => boolean;
  createMatcher?: (options: { timestampField?: string }) => { push(e: EcsEvent): boolean; finish(): { events: (EcsEvent | null)[] }[] };
}

const require = createRequire(import.meta.url);

export const tsInterpreter: Interpreter<EmittedModule | string, EcsEvent> = {
  target: 'ts',
  parse(output) {
    // esbuild strips the types in about a millisecond (typescript's transpileModule takes ~100 ms);
    // both are development dependencies, so an installed eqlport reports the target as not checked.
    let esbuild: typeof import('esbuild');
    try {
      esbuild = require('esbuild');
    } catch {
      return 'esbuild is not installed (it is a development dependency)';
    }
    let code: string;
    try {
      code = esbuild.transformSync(output, { loader: 'ts', format: 'cjs', target: 'es2022' }).code;
    } catch (e) {
      throw new InterpreterError((e as Error).message.split('\n')[0] ?? 'syntax error');
    }
    const module = { exports: {} as EmittedModule };
    new Function('module', 'exports', 'require', code)(module, module.exports, require);
    return module.exports;
  },
  fromEcs: (event) => event,
  run(mod, records) {
    if (typeof mod === 'string') return { notChecked: mod };
    const events = records.filter((r): r is EcsEvent => r !== null);
    const index = new Map(events.map((e, i) => [e, i]));
    if (mod.matches) return { matches: events.flatMap((e, i) => (mod.matches!(e) ? [[i]] : [])) };
    const m = mod.createMatcher!({ timestampField: '@timestamp' });
    // Feed in time order (stable for ties), as the module expects.
    const time = (e: EcsEvent) => Date.parse(String(e['@timestamp']));
    for (const e of [...events].sort((a, b) => time(a) - time(b))) m.push(e);
    return { matches: m.finish().map((r) => r.events.map((e) => (e === null ? -1 : index.get(e)!))) };
  },
};
