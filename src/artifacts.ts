// Deployable artifacts: each query wrapped with its rule's metadata by a logic-free handlebars template
// (templates/<name>.hbs, or a user's --templates DIR). Everything a template shows is computed here.
import Handlebars from 'handlebars';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuleMeta } from './rules.js';
import type { TargetId, TranslateOptions } from './translate/core.js';

export interface ArtifactKind {
  name: string;
  target: TargetId;
  /** Extension of the written file. */
  extension: string;
}

export const ARTIFACTS: Record<string, ArtifactKind> = {
  'splunk-savedsearch': { name: 'splunk-savedsearch', target: 'spl', extension: 'conf' },
  'defender-detection': { name: 'defender-detection', target: 'kql', extension: 'json' },
  'sentinel-analytics': { name: 'sentinel-analytics', target: 'kql', extension: 'json' },
  's1-star': { name: 's1-star', target: 's1ql', extension: 'json' },
  'sigma-file': { name: 'sigma-file', target: 'sigma', extension: 'yml' },
};

export class ArtifactError extends Error {}

const bundledTemplates = join(dirname(fileURLToPath(import.meta.url)), '..', 'templates');

// ---- durations -----------------------------------------------------------------------------

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Kibana's `interval` ("5m") or the offset of `from` ("now-9m") in milliseconds; null when unreadable. */
export function durationMs(text: string | undefined): number | null {
  const m = /^(?:now-)?(\d+)([smhd])$/.exec((text ?? '').trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : null;
}

/** ISO-8601 duration: PT5M, PT1H30M, P1D, P1DT2H. */
export function isoDuration(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s ? `${s}S` : ''}`;
  if (!d && !time) return 'PT0S';
  return `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
}

/** Cron schedule for a run interval (cron has minute resolution: shorter intervals run every minute). */
export function cronFor(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes < 60) return minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`;
  const hours = Math.ceil(minutes / 60);
  if (hours < 24) return `0 */${hours} * * *`;
  return `0 0 */${Math.ceil(hours / 24)} * *`;
}

/** Defender custom detections run every 1, 3, 12 or 24 hours: the shortest period not shorter than the interval. */
export function defenderPeriod(ms: number): string {
  const hours = ms / 3_600_000;
  return `${[1, 3, 12, 24].find((h) => h >= hours) ?? 24}H`;
}

// ---- the view every template sees ----------------------------------------------------------

const SEVERITY = {
  low: { splunk: 3, defender: 'low', title: 'Low' },
  medium: { splunk: 4, defender: 'medium', title: 'Medium' },
  high: { splunk: 5, defender: 'high', title: 'High' },
  critical: { splunk: 6, defender: 'high', title: 'Critical' },
} as const;

export interface ArtifactView {
  name: string;
  ruleId: string;
  description: string;
  query: string;
  /** The query on one line, for formats whose values cannot span lines. */
  queryOneLine: string;
  severity: { splunk: number; defender: string; title: string; sentinel: string };
  riskScore: number | null;
  schedule: {
    interval: string;
    lookback: string;
    cron: string;
    splunkEarliest: string;
    defenderPeriod: string;
    intervalMinutes: number;
    lookbackMinutes: number;
  };
  tactics: string[];
  /** Sentinel spells tactics without spaces ("PrivilegeEscalation"). */
  sentinelTactics: string[];
  /** Defender's alert category: the first tactic, Sentinel-spelled. */
  category: string;
  techniques: string[];
  subtechniques: string[];
  /** Techniques and sub-techniques, as Defender's mitreTechniques lists them. */
  mitreTechniques: string[];
  references: string[];
  author: string;
  s1QueryLang: string;
  /** A query with a pipe command is deployed as a scheduled (PowerQuery) rule, not as an events rule. */
  s1Scheduled: boolean;
  /** Stable GUID-shaped name for ARM resources. */
  resourceName: string;
}

export function artifactView(meta: RuleMeta, query: string, options: TranslateOptions = {}): ArtifactView {
  const intervalMs = durationMs(meta.interval) ?? 5 * 60_000; // Kibana's default interval
  const fromMs = durationMs(meta.from) ?? 6 * 60_000; // Kibana's default `from` is now-6m
  const lookbackMs = Math.max(fromMs, intervalMs);
  const sev = SEVERITY[(meta.severity ?? 'medium').toLowerCase() as keyof typeof SEVERITY] ?? SEVERITY.medium;
  const tactics = meta.threat.map((t) => t.tactic.name).filter(Boolean);
  const sentinelTactics = [...new Set(tactics.map((t) => t.replace(/[^A-Za-z]/g, '')))];
  // Only well-formed ATT&CK ids reach the artifacts: a value from the rule file must not become an ARM expression.
  const technique = (id: string) => /^T\d{4}(?:\.\d{3})?$/.test(id);
  const techniques = [...new Set(meta.threat.flatMap((t) => t.techniques.map((x) => x.id)))].filter(technique);
  const subtechniques = [...new Set(meta.threat.flatMap((t) => t.techniques.flatMap((x) => x.subtechniques.map((s) => s.id))))].filter(technique);
  const id = meta.rule_id ?? '';
  return {
    name: meta.name || id || 'eqlport rule',
    ruleId: id,
    description: (meta.description ?? '').trim(),
    query,
    queryOneLine: query.replace(/\s*\n\s*/g, ' ').trim(),
    severity: { ...sev, sentinel: sev.title === 'Critical' ? 'High' : sev.title },
    riskScore: meta.risk_score ?? null,
    schedule: {
      interval: isoDuration(intervalMs),
      lookback: isoDuration(lookbackMs),
      cron: cronFor(intervalMs),
      splunkEarliest: `-${Math.ceil(lookbackMs / 60_000)}m`,
      defenderPeriod: defenderPeriod(intervalMs),
      intervalMinutes: Math.ceil(intervalMs / 60_000),
      // The rule's own lookback: a window longer than the interval overlaps (S1 may alert twice) but, as in
      // Elastic, does not miss late-ingested events.
      lookbackMinutes: Math.ceil(lookbackMs / 60_000),
    },
    tactics,
    sentinelTactics,
    category: sentinelTactics[0] ?? 'SuspiciousActivity',
    techniques,
    subtechniques,
    mitreTechniques: [...techniques, ...subtechniques].sort(),
    references: meta.references ?? [],
    author: (meta.author ?? []).join(', '),
    // A query with a pipe command (`| sql inner join`, `| limit`) is a PowerQuery: the cloud-detection API takes it
    // only as queryType "scheduled" + queryLang "2.0" with the query in scheduledParams.query; "events" + "2.0"
    // rejects `|` and "2.1" is not a valid queryLang (pmoses-s1/claude-skills@b6c2270,
    // sentinelone-powerquery/references/detection-rules.md, "Deploying a rule via the API").
    s1QueryLang: options.s1qlDialect === '1' ? '1.0' : '2.0',
    s1Scheduled: options.s1qlDialect !== '1' && /(^|\n)\|/.test(query),
    resourceName: /^[0-9a-f-]{36}$/i.test(id) ? id.toLowerCase() : guidFrom(id || (meta.name ?? '')),
  };
}

/** A deterministic GUID-shaped string derived from text (FNV-1a), for rules without a UUID rule_id. */
function guidFrom(text: string): string {
  let hex = '';
  for (let seed = 0; hex.length < 32; seed++) {
    let h = 0x811c9dc5 ^ seed;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    hex += h.toString(16).padStart(8, '0');
  }
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

// ---- rendering -----------------------------------------------------------------------------

const hb = Handlebars.create();
// Values are escaped for the output format by these helpers only; templates never decide semantics.
hb.registerHelper('json', (v: unknown) => JSON.stringify(v ?? null));
// In ARM templates a string that starts with `[` is an expression; `[[` makes it a literal.
hb.registerHelper('arm', (v: unknown) => JSON.stringify(typeof v === 'string' && v.startsWith('[') ? `[${v}` : (v ?? null)));
// savedsearches.conf: a line that ends in a backslash continues on the next (the line break is kept),
// so a value's own line breaks become continuations and a final backslash is kept off the line end.
// A stanza name cannot hold brackets or line breaks.
hb.registerHelper('conf', (v: unknown) =>
  String(v ?? '')
    .replace(/\r\n?/g, '\n')
    // A backslash that ends a line of the value would join it with the next: keep it off the line end.
    .replace(/\\(?=\n|$)/g, '\\ ')
    .replace(/\n/g, '\\\n'),
);
hb.registerHelper('stanza', (v: unknown) => String(v ?? '').replace(/[\[\]\r\n]/g, ' ').trim());

/** Compiled templates by source text, so an edited user template is never served stale. */
const compiled = new Map<string, HandlebarsTemplateDelegate>();

export function renderArtifact(kind: string, view: ArtifactView, templatesDir?: string): string {
  const art = ARTIFACTS[kind];
  if (!art) throw new ArtifactError(`unknown artifact "${kind}" (known: ${Object.keys(ARTIFACTS).join(', ')})`);
  if (templatesDir && !existsSync(templatesDir)) throw new ArtifactError(`--templates: ${templatesDir} does not exist`);
  const userPath = templatesDir ? join(templatesDir, `${kind}.hbs`) : null;
  const path = userPath && existsSync(userPath) ? userPath : join(bundledTemplates, `${kind}.hbs`);
  const source = readFileSync(path, 'utf8');
  let template = compiled.get(source);
  if (!template) {
    template = hb.compile(source, { strict: true, noEscape: true });
    compiled.set(source, template);
  }
  try {
    return template(view);
  } catch (e) {
    throw new ArtifactError(`template ${path}: ${(e as Error).message}`);
  }
}
