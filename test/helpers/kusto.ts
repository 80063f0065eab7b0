// Parse and bind KQL with Microsoft's own Kusto.Language (npm @kusto/language-service-next) against the
// Defender Advanced Hunting tables in test/fixtures/defender-schema.json. The package is a Bridge.NET script
// bundle that registers globals, so it is loaded once for its side effects.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './shared.js';

export interface KustoProblem {
  code: string;
  severity: string;
  message: string;
  at: number;
  /** The query text around the problem. */
  near: string;
}

// The bundle has no types we can import from ESM; this is the small surface used here.
interface KustoList<T> {
  Count: number;
  getItem(i: number): T;
}
interface KustoDiagnostic {
  Code: string;
  Severity: string;
  Message: string;
  Start: number;
  Length: number;
}

let globals: unknown = null;

function kusto(): any {
  if (!globals) {
    const require = createRequire(import.meta.url);
    require('@kusto/language-service-next/bridge.min.js');
    require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');
    const K = (globalThis as any).Kusto.Language;
    const schema = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'defender-schema.json'), 'utf8')) as { tables: Record<string, Record<string, string>> };
    const tables = Object.entries(schema.tables).map(([name, cols]) => {
      const text = `(${Object.entries(cols).map(([c, t]) => `['${c}']:${t}`).join(', ')})`;
      return new K.Symbols.TableSymbol.$ctor7(name, text, null);
    });
    const db = new K.Symbols.DatabaseSymbol.ctor('AdvancedHunting', tables);
    globals = K.GlobalState.Default.WithDatabase(db);
  }
  return (globalThis as any).Kusto.Language;
}

/** Every error Kusto.Language reports for the query (syntax, unknown tables/columns, operand types). */
export function kustoErrors(query: string): KustoProblem[] {
  const K = kusto();
  const code = K.KustoCode.ParseAndAnalyze(query, globals);
  const list = code.GetDiagnostics() as KustoList<KustoDiagnostic>;
  const out: KustoProblem[] = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    if (d.Severity !== 'Error') continue;
    // KS245 is a limit of the language service (very deep or long expressions), not a Defender error.
    if (d.Code === 'KS245') continue;
    out.push({ code: d.Code, severity: d.Severity, message: d.Message, at: d.Start, near: query.slice(Math.max(0, d.Start - 30), d.Start + Math.max(d.Length, 1) + 30) });
  }
  return out;
}

export const formatKustoProblems = (ps: readonly KustoProblem[]) => ps.map((p) => `${p.code} @${p.at}: ${p.message} near ${JSON.stringify(p.near)}`).join('\n');
