import { formatDiagnostic } from './diagnostics.js';
import { printQuery } from './ir/print.js';
import { loadRules } from './check.js';

/** Canonical form of every rule's query, each preceded by a comment naming its rule. */
export function formatRuleFile(paths: readonly string[]): { text: string; failed: number } {
  const { rules, files } = loadRules(paths);
  let text = '';
  let failed = files.filter((d) => d.severity === 'error').length;
  for (const d of files) text += `// ${formatDiagnostic(d)}\n`;
  for (const r of rules) {
    text += `// ${r.source.path}${r.source.meta.name ? ` — ${r.source.meta.name}` : ''}\n`;
    if (r.query) text += printQuery(r.query) + '\n\n';
    else {
      failed++;
      text += r.diagnostics.map((d) => formatDiagnostic(d, r.source.query).replace(/^/gm, '// ')).join('\n') + '\n\n';
    }
  }
  return { text, failed };
}
