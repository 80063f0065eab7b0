// ECS field facts from Elastic's own definitions (@elastic/ecs), loaded on first use: the table is large.
import { createRequire } from 'node:module';

export interface EcsField {
  type: string;
  array: boolean;
  allowed?: string[];
  expected?: string[];
}

let table: Map<string, EcsField> | null = null;
export let ecsVersion = '';

export function ecsFields(): Map<string, EcsField> {
  if (table) return table;
  const require = createRequire(import.meta.url);
  const { EcsFlat, EcsVersion } = require('@elastic/ecs') as {
    EcsFlat: Record<string, { type: string; normalize?: string[]; allowed_values?: { name: string }[]; expected_values?: string[] }>;
    EcsVersion: string;
  };
  ecsVersion = EcsVersion;
  table = new Map();
  for (const [name, f] of Object.entries(EcsFlat))
    table.set(name, {
      type: f.type,
      array: (f.normalize ?? []).includes('array'),
      ...(f.allowed_values ? { allowed: f.allowed_values.map((v) => v.name) } : {}),
      ...(f.expected_values ? { expected: f.expected_values } : {}),
    });
  return table;
}

let eventTypes: Map<string, string[]> | null = null;
/** The event.type values ECS expects with an event.category value (its allowed value's expected_event_types). */
export function expectedEventTypes(category: string): string[] {
  if (!eventTypes) {
    const require = createRequire(import.meta.url);
    const { EcsFlat } = require('@elastic/ecs') as { EcsFlat: Record<string, { allowed_values?: { name: string; expected_event_types?: string[] }[] }> };
    eventTypes = new Map((EcsFlat['event.category']?.allowed_values ?? []).map((v) => [v.name, v.expected_event_types ?? []]));
  }
  return eventTypes.get(category) ?? [];
}

export function ecsField(name: string): EcsField | undefined {
  return ecsFields().get(name);
}

const NUMERIC = new Set(['long', 'integer', 'short', 'byte', 'float', 'double', 'scaled_float', 'half_float', 'unsigned_long']);
export const isNumericType = (t: string) => NUMERIC.has(t);
export const isStringType = (t: string) => ['keyword', 'wildcard', 'constant_keyword', 'match_only_text', 'text', 'flattened'].includes(t);

/**
 * Namespaces Elastic's integrations and Elastic Defend add on top of ECS: fields there are expected in
 * Elastic rules, so `check` notes them instead of warning.
 */
const ELASTIC_NAMESPACES = [
  'winlog', 'powershell', 'endgame', 'aws', 'azure', 'gcp', 'okta', 'o365', 'github', 'google_workspace',
  'kubernetes', 'm365_defender', 'microsoft', 'sentinel_one', 'sentinel_one_cloud_funnel', 'crowdstrike',
  'system', 'auditd', 'file.Ext', 'cloud_defend', 'problemchild', 'blocklist', 'ml_is_dga', 'Endpoint',
  'Target', 'Effective_process', 'Persistence', 'Memory_protection', 'Ransomware', 'Responses', 'elastic',
  'o365audit', 'azuread', 'auditd_manager', 'osquery', 'journald', 'cisco', 'fortinet', 'panw', 'zeek',
  'suricata', 'network_traffic', 'apm', 'kibana', 'gitlab', 'slack', 'teams', 'entityanalytics', 'threat_intel',
  // Seen in Elastic's published rules (npm run corpus -- --fields): legacy alert documents (`signal.*`), APM
  // (`processor.*`), Packetbeat flows (`flow.*`) and the ML models' top-level inference label.
  'signal', 'processor', 'flow', 'blocklist_label',
];

/** Why a non-ECS field is still expected in Elastic rules, or null when it is simply unknown. */
export function elasticSpecific(name: string): string | null {
  const segs = name.split('.');
  if (segs.includes('Ext')) return 'an Elastic Defend extension field (`Ext`)';
  for (const ns of ELASTIC_NAMESPACES) if (name === ns || name.startsWith(ns + '.')) return `a field of Elastic's \`${ns}\` integration namespace`;
  if (segs[0] === 'data_stream' || segs[0] === 'labels' || segs[0] === 'tags') return 'an Elastic data-stream or label field';
  return null;
}
