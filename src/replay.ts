// `eqlport replay`: run rules over events with the native matcher and print each result as a JSON line.
// Events are streamed. Each rule sees its relevant events in Elasticsearch order; when a file turns out not to
// be sorted for a rule, that rule is run again over a second read of the file with its relevant events sorted
// (stdin cannot be read twice, so from stdin relevant events are always buffered and sorted).
import { diag, hasErrors, locate, type Diagnostic } from './diagnostics.js';
import { loadRules, parseRule, type ParsedRule } from './check.js';
import { compileMatcher, type MatchOptions, type MatchResult, type Matcher } from './matcher/index.js';
import { readEvents } from './matcher/events.js';
import { compareRecs, fieldValues, type Ev, type Rec } from './matcher/runtime.js';
import type { Readable } from 'node:stream';

export interface ReplayOptions extends MatchOptions {
  /** Events file (NDJSON or a JSON array), or `-` for stdin. */
  events: string;
  /** Print these field values per result instead of whole events. */
  ids?: string | null;
  /** Called about once a second with the number of events read so far. */
  progress?: (events: number, elapsedMs: number) => void;
  /** Replaces stdin (tests). */
  stdin?: Readable;
}

export interface ReplayRuleResult {
  path: string;
  rule: string;
  results: MatchResult[];
}

export interface ReplayOutcome {
  rules: ReplayRuleResult[];
  diagnostics: Diagnostic[];
  events: number;
  ok: boolean;
}

interface Run {
  parsed: ParsedRule;
  label: string;
  make: () => Matcher;
  matcher: Matcher;
  last: Rec | null;
  /** Relevant events held for sorting (buffered mode only). */
  held: Rec[] | null;
  unsorted: boolean;
}

/** Rules from paths, or one query given inline (`--query`). */
export function replayRules(paths: readonly string[], query?: string): { rules: ParsedRule[]; files: Diagnostic[] } {
  if (query !== undefined)
    return { rules: [parseRule({ path: '(query)', format: 'eql', meta: { rule_id: null, name: 'query', threat: [], metadata: {} }, query, origin: { line: 1, column: 1, exact: true } })], files: [] };
  return loadRules(paths);
}

/** Run every rule over the events. Rules that fail to parse or compile are reported and skipped. */
export async function replay(parsed: readonly ParsedRule[], opts: ReplayOptions): Promise<ReplayOutcome> {
  const diagnostics: Diagnostic[] = [];
  const runs: Run[] = [];
  for (const p of parsed) {
    diagnostics.push(...p.diagnostics);
    if (!p.query) continue;
    const query = p.query;
    const make = () => {
      const { matcher, diagnostics: d } = compileMatcher(query, opts, p.source.meta);
      return { matcher, d };
    };
    const first = make();
    diagnostics.push(...first.d.map((x) => locate(x, p.source.origin, p.source.path)));
    if (!first.matcher) continue;
    runs.push({
      parsed: p,
      label: p.source.meta.rule_id ?? p.source.meta.name ?? p.source.path,
      make: () => make().matcher!,
      matcher: first.matcher,
      last: null,
      held: opts.events === '-' ? [] : null,
      unsorted: false,
    });
  }
  const started = Date.now();
  let lastTick = started;
  let untimed = 0;
  const pass = async (active: Run[], input?: Readable) => {
    let seq = 0;
    let untimedHere = 0;
    const stats = await readEvents(
      opts.events,
      (ev: Ev) => {
        const n = seq++;
        for (const r of active) {
          if (r.unsorted || !r.matcher.relevant(ev)) continue;
          const rec = r.matcher.recOf(ev, n);
          if (!rec) {
            untimedHere++;
            continue;
          }
          if (r.held) r.held.push(rec);
          else if (r.last && compareRecs(r.last, rec) > 0) r.unsorted = true;
          else {
            r.last = rec;
            r.matcher.push(rec);
          }
        }
        if (opts.progress && (n & 0xfff) === 0) {
          const now = Date.now();
          if (now - lastTick >= 1000) {
            lastTick = now;
            opts.progress(n, now - started);
          }
        }
      },
      input,
    );
    for (const b of stats.bad) diagnostics.push({ ...diag('EQL6005', `${b.at}: ${b.why}; skipped`), file: opts.events });
    untimed = Math.max(untimed, untimedHere);
    return stats.events;
  };

  let events = 0;
  try {
    events = await pass(runs, opts.stdin);
    const again = runs.filter((r) => r.unsorted);
    if (again.length) {
      for (const r of again) {
        r.matcher = r.make();
        r.held = [];
        r.unsorted = false;
      }
      await pass(again);
    }
  } catch (e) {
    diagnostics.push({ ...diag('EQL6004', `cannot read events from ${opts.events}: ${(e as Error).message}`), file: opts.events });
    return { rules: [], diagnostics, events, ok: false };
  }
  if (untimed) diagnostics.push(diag('EQL6003', `events without a usable timestamp were skipped (${untimed} relevant to some rule)`));
  const rules: ReplayRuleResult[] = [];
  for (const r of runs) {
    if (r.held) {
      r.held.sort(compareRecs);
      for (const rec of r.held) r.matcher.push(rec);
      r.held = null;
    }
    const { results, warnings } = r.matcher.finish();
    diagnostics.push(...warnings.map((w) => ({ ...w, file: r.parsed.source.path })));
    rules.push({ path: r.parsed.source.path, rule: r.label, results });
  }
  return { rules, diagnostics, events, ok: !hasErrors(diagnostics) };
}

/** One output line per result: `{"path","rule","ids"}` with an id field, else `{"path","rule","events"}`. */
export function resultLine(rule: ReplayRuleResult, result: MatchResult, idField?: string | null): string {
  if (idField) {
    const path = idField.split('.');
    const ids = result.events.map((e) => (e === null ? null : (fieldValues(e, path)[0] ?? null)));
    return JSON.stringify({ path: rule.path, rule: rule.rule, ids });
  }
  return JSON.stringify({ path: rule.path, rule: rule.rule, events: result.events });
}
