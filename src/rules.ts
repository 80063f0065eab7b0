// Rule files: detection-rules TOML, Kibana saved-object NDJSON exports, and bare `.eql` queries.
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { diag, type Diagnostic, type Origin } from './diagnostics.js';

export interface ThreatRef {
  id: string;
  name: string;
  reference?: string;
}
export interface Technique extends ThreatRef {
  subtechniques: ThreatRef[];
}
export interface Threat {
  framework: string;
  tactic: ThreatRef;
  techniques: Technique[];
}

/** Rule metadata in detection-rules' names; everything optional because exports and bare queries carry less. */
export interface RuleMeta {
  rule_id: string | null;
  name: string | null;
  description?: string;
  author?: string[];
  license?: string;
  severity?: string;
  risk_score?: number;
  index?: string[];
  from?: string;
  interval?: string;
  max_signals?: number;
  tags?: string[];
  references?: string[];
  note?: string;
  setup?: string;
  version?: number;
  timestamp_override?: string;
  event_category_override?: string;
  tiebreaker_field?: string;
  building_block_type?: string;
  false_positives?: string[];
  threat: Threat[];
  /** `[metadata]` of a TOML rule (creation_date, updated_date, integration, maturity, ...). */
  metadata: Record<string, unknown>;
}

export type RuleFormat = 'toml' | 'ndjson' | 'eql';

export interface RuleSource {
  path: string;
  format: RuleFormat;
  meta: RuleMeta;
  query: string;
  /** Where the query text starts in the file. */
  origin: Origin | null;
}

export interface LoadResult {
  rules: RuleSource[];
  /** File-level problems (unreadable file, invalid TOML, skipped objects), already placed in their file. */
  diagnostics: Diagnostic[];
}

const RULE_EXTENSIONS = new Set(['.toml', '.ndjson', '.eql']);

/** Expand files and directories (recursively) into the rule files they hold, in a stable order. */
export function expandPaths(paths: readonly string[]): { files: string[]; diagnostics: Diagnostic[] } {
  const files: string[] = [];
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  const visit = (p: string, explicit: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      diagnostics.push({ ...diag('EQL4001', `cannot read ${p}: ${(e as Error).message}`), file: p });
      return;
    }
    if (st.isDirectory()) {
      // A symlink back to an ancestor would otherwise be walked forever.
      const real = realpathSync(p);
      if (seen.has(real)) return;
      seen.add(real);
      let names: string[];
      try {
        names = readdirSync(p).sort();
      } catch (e) {
        diagnostics.push({ ...diag('EQL4001', `cannot read ${p}: ${(e as Error).message}`), file: p });
        return;
      }
      for (const name of names) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
        visit(join(p, name), false);
      }
    } else if (explicit || RULE_EXTENSIONS.has(extname(p).toLowerCase())) files.push(p);
  };
  for (const p of paths) visit(p, true);
  return { files, diagnostics };
}

export function loadRuleFile(path: string): LoadResult {
  let text: string;
  try {
    const bytes = readFileSync(path);
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    const why = e instanceof TypeError ? 'it is not valid UTF-8' : (e as Error).message;
    return { rules: [], diagnostics: [{ ...diag('EQL4001', `cannot read ${path}: ${why}`), file: path }] };
  }
  return loadRuleText(path, text);
}

/** Load rules from text; the format comes from the extension (`.toml`, `.ndjson`/`.json`, else bare EQL). */
export function loadRuleText(path: string, text: string): LoadResult {
  const ext = extname(path).toLowerCase();
  if (ext === '.toml') return loadToml(path, text);
  if (ext === '.ndjson' || ext === '.json') return loadNdjson(path, text);
  const stem = basename(path, extname(path));
  return {
    rules: [{ path, format: 'eql', meta: { rule_id: null, name: stem, threat: [], metadata: {} }, query: text, origin: { line: 1, column: 1, exact: true } }],
    diagnostics: [],
  };
}

// ---- TOML ------------------------------------------------------------------------------------

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined);
const strs = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : undefined);

function loadToml(path: string, text: string): LoadResult {
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (e) {
    const where = e instanceof TomlError ? { line: e.line, column: e.column } : {};
    const first = ((e as Error).message ?? '').split('\n')[0];
    return { rules: [], diagnostics: [{ ...diag('EQL4002', `invalid TOML: ${first}`), file: path, ...where }] };
  }
  if (isTable(doc.hunt)) return loadHunt(path, text, doc.hunt);
  const rule = doc.rule;
  if (!isTable(rule)) return { rules: [], diagnostics: [{ ...diag('EQL4002', 'no [rule] table'), file: path, line: 1, column: 1 }] };
  const type = str(rule.type) ?? str(rule.language);
  if (type !== undefined && type.toLowerCase() !== 'eql')
    return { rules: [], diagnostics: [{ ...diag('EQL4003', `rule type is "${type}", not eql; skipped`), file: path, line: 1, column: 1 }] };
  const query = str(rule.query);
  const meta = metaFromRule(rule, tomlThreats(rule.threat));
  meta.metadata = isTable(doc.metadata) ? doc.metadata : {};
  if (query === undefined)
    return { rules: [], diagnostics: [{ ...diag('EQL4004', 'the rule has no query'), file: path, line: 1, column: 1 }] };
  return { rules: [{ path, format: 'toml', meta, query, origin: stringOrigin(text, query, tomlQueryKeys(text)).origin }], diagnostics: [] };
}

function loadHunt(path: string, text: string, hunt: Table): LoadResult {
  const languages = (strs(hunt.language) ?? []).map((l) => l.toLowerCase());
  if (!languages.includes('eql'))
    return { rules: [], diagnostics: [{ ...diag('EQL4003', `hunting query language is ${languages.join(', ') || 'unset'}, not EQL; skipped`), file: path, line: 1, column: 1 }] };
  const queries = strs(hunt.query) ?? [];
  const name = str(hunt.name) ?? basename(path);
  // The queries are the strings of one array, in order: each is searched for after the previous one.
  let cursor = tomlQueryKeys(text);
  const rules = queries.map((query, i): RuleSource => {
    const found = stringOrigin(text, query, cursor);
    cursor = [found.end, ...cursor];
    return {
      path,
      format: 'toml',
      meta: {
        rule_id: str(hunt.uuid) ?? null,
        name: queries.length > 1 ? `${name} (query ${i + 1})` : name,
        description: str(hunt.description),
        author: strs(hunt.author),
        license: str(hunt.license),
        references: strs(hunt.references),
        note: (strs(hunt.notes) ?? []).join('\n'),
        threat: [],
        metadata: { integration: hunt.integration, mitre: hunt.mitre },
      },
      query,
      origin: found.origin,
    };
  });
  if (!rules.length) return { rules, diagnostics: [{ ...diag('EQL4004', 'the hunting query has no query'), file: path, line: 1, column: 1 }] };
  return { rules, diagnostics: [] };
}

function metaFromRule(rule: Table, threat: Threat[]): RuleMeta {
  return {
    rule_id: str(rule.rule_id) ?? str(rule.id) ?? null,
    name: str(rule.name) ?? null,
    description: str(rule.description),
    author: strs(rule.author),
    license: str(rule.license),
    severity: str(rule.severity),
    risk_score: num(rule.risk_score),
    index: strs(rule.index),
    from: str(rule.from),
    interval: str(rule.interval),
    max_signals: num(rule.max_signals),
    tags: strs(rule.tags),
    references: strs(rule.references),
    note: str(rule.note),
    setup: str(rule.setup),
    version: num(rule.version),
    timestamp_override: str(rule.timestamp_override),
    event_category_override: str(rule.event_category_override),
    tiebreaker_field: str(rule.tiebreaker_field),
    building_block_type: str(rule.building_block_type),
    false_positives: strs(rule.false_positives),
    threat,
    metadata: {},
  };
}

function ref(v: unknown): ThreatRef | null {
  if (!isTable(v)) return null;
  return { id: str(v.id) ?? '', name: str(v.name) ?? '', ...(str(v.reference) ? { reference: str(v.reference)! } : {}) };
}

/** Threat entries from TOML (`technique` / `subtechnique` arrays) or Kibana JSON (same keys). */
function tomlThreats(v: unknown): Threat[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isTable).flatMap((t) => {
    const tactic = ref(t.tactic);
    if (!tactic) return [];
    const techniques = (Array.isArray(t.technique) ? t.technique : []).filter(isTable).map((tech) => ({
      ...ref(tech)!,
      subtechniques: (Array.isArray(tech.subtechnique) ? tech.subtechnique : []).map(ref).filter((x): x is ThreatRef => x !== null),
    }));
    return [{ framework: str(t.framework) ?? 'MITRE ATT&CK', tactic, techniques }];
  });
}

// ---- Query positions -------------------------------------------------------------------------
// Diagnostics point into the file, not the query: each query is found as the string token it was read
// from, decoded again with the file offset of every character, so escapes and CRLF still map exactly.

interface DecodedString {
  value: string;
  /** File offset of each UTF-16 unit of `value`. */
  offsets: number[];
  /** Offset just past the closing delimiter. */
  end: number;
}

const ESCAPES: Record<string, string> = { b: '\b', t: '\t', n: '\n', f: '\f', r: '\r', e: '\x1b', '"': '"', '\\': '\\', '/': '/' };

/** The TOML or JSON string token that starts at `start`, decoded; null when there is none. */
function decodeStringAt(text: string, start: number): DecodedString | null {
  const delim = ['"""', "'''", '"', "'"].find((d) => text.startsWith(d, start));
  if (!delim) return null;
  const literal = delim[0] === "'";
  const multi = delim.length === 3;
  let i = start + delim.length;
  // A newline right after an opening triple quote is not part of the string.
  if (multi) i += text.startsWith('\r\n', i) ? 2 : text[i] === '\n' ? 1 : 0;
  let value = '';
  const offsets: number[] = [];
  const push = (s: string, at: number) => {
    value += s;
    for (let k = 0; k < s.length; k++) offsets.push(at);
  };
  while (i < text.length) {
    if (text.startsWith(delim, i)) {
      if (!multi) return { value, offsets, end: i + 1 };
      // Up to two quotes right before the closing triple quote belong to the string.
      let extra = 0;
      while (extra < 2 && text[i + 3 + extra] === delim[0]) extra++;
      for (let k = 0; k < extra; k++) push(delim[0]!, i + k);
      return { value, offsets, end: i + 3 + extra };
    }
    const c = text[i]!;
    if (!multi && c === '\n') return null;
    if (c !== '\\' || literal) {
      push(c, i++);
      continue;
    }
    const e = text[i + 1] ?? '';
    if (multi && /[ \t\r\n]/.test(e)) {
      // Line-ending backslash: the newline and the whitespace after it are dropped.
      i++;
      while (i < text.length && /[ \t\r\n]/.test(text[i]!)) i++;
      continue;
    }
    if (ESCAPES[e] !== undefined) {
      push(ESCAPES[e], i);
      i += 2;
      continue;
    }
    const digits = e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const hex = text.slice(i + 2, i + 2 + digits);
    if (!digits || !/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits || parseInt(hex, 16) > 0x10ffff) return null;
    push(String.fromCodePoint(parseInt(hex, 16)), i);
    i += 2 + digits;
  }
  return null;
}

/**
 * Where `query` sits in the file: the first candidate position (skipping whitespace, commas and an array
 * bracket) where a string token decodes to exactly the query. Falls back to the first candidate, inexact.
 */
function stringOrigin(text: string, query: string, candidates: number[]): { origin: Origin; end: number } {
  for (const c of candidates) {
    let i = c;
    while (i < text.length && /[\s,[]/.test(text[i]!)) i++;
    const s = decodeStringAt(text, i);
    if (s === null || s.value !== query) continue;
    const at = (offset: number) => lineCol(text, s.offsets[offset] ?? s.end - 1);
    return { origin: { ...at(0), exact: true, at }, end: s.end };
  }
  return { origin: { ...lineCol(text, candidates[0] ?? 0), exact: false }, end: candidates[0] ?? 0 };
}

/** Offsets right after each `query =` key of a TOML file. */
function tomlQueryKeys(text: string): number[] {
  return [...text.matchAll(/^[ \t]*query[ \t]*=[ \t]*/gm)].map((m) => m.index + m[0].length);
}

function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: offset - last };
}

// ---- Kibana NDJSON export --------------------------------------------------------------------

function loadNdjson(path: string, text: string): LoadResult {
  const rules: RuleSource[] = [];
  const diagnostics: Diagnostic[] = [];
  const lines = text.split('\n');
  let lineStart = 0;
  lines.forEach((raw, i) => {
    const from = lineStart;
    lineStart += raw.length + 1;
    const line = raw.trim();
    if (!line) return;
    const at = { file: path, line: i + 1, column: 1 };
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      diagnostics.push({ ...diag('EQL4002', `line ${i + 1} is not valid JSON: ${(e as Error).message}`), ...at });
      return;
    }
    if (!isTable(obj)) {
      diagnostics.push({ ...diag('EQL4003', 'not a saved object; skipped'), ...at });
      return;
    }
    // Saved-object wrappers keep the rule under `attributes`; rule exports are flat.
    const rule = isTable(obj.attributes) && (obj.type === 'alert' || obj.type === 'security-rule') ? flattenAlert(obj.attributes) : obj;
    if (typeof rule.query !== 'string' || (typeof rule.type !== 'string' && typeof rule.language !== 'string')) {
      const what = 'exported_count' in obj ? 'export summary' : typeof obj.type === 'string' ? `object of type "${obj.type}"` : 'object that is not a rule';
      diagnostics.push({ ...diag('EQL4003', `${what}; skipped`), ...at });
      return;
    }
    const type = String(rule.type ?? rule.language).toLowerCase();
    const language = String(rule.language ?? rule.type).toLowerCase();
    if (type !== 'eql' && language !== 'eql') {
      diagnostics.push({ ...diag('EQL4003', `rule "${String(rule.name ?? '?')}" is of type "${type}", not eql; skipped`), ...at });
      return;
    }
    const meta = metaFromRule(rule, tomlThreats(rule.threat));
    if (isTable(rule.meta)) meta.metadata = rule.meta;
    const keys = [...raw.matchAll(/"query"\s*:\s*/g)].map((m) => from + m.index + m[0].length);
    rules.push({ path, format: 'ndjson', meta, query: rule.query, origin: stringOrigin(text, rule.query, keys.length ? keys : [from]).origin });
  });
  return { rules, diagnostics };
}

/** Alerting-framework saved objects nest the rule's own fields under `params`. */
function flattenAlert(attrs: Table): Table {
  const params = isTable(attrs.params) ? attrs.params : {};
  return { ...params, name: attrs.name, tags: attrs.tags, rule_id: params.ruleId ?? params.rule_id, type: params.type, interval: isTable(attrs.schedule) ? attrs.schedule.interval : undefined };
}
