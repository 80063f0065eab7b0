// The native matcher: a compiled query fed events in Elasticsearch's order (timestamp, tiebreaker, input order).
import { diag, hasErrors, type Diagnostic } from '../diagnostics.js';
import type { Expr, Query } from '../ir/nodes.js';
import { parseQuery } from '../parse.js';
import type { RuleMeta } from '../rules.js';
import { compileFilter, compileKeys, type CompileContext, type Pred } from './compile.js';
import * as R from './runtime.js';
import type { Ev, Rec, Val } from './runtime.js';

export interface MatchOptions {
  /** Field holding the event category; default `event.category` (a rule's event_category_override wins). */
  categoryField?: string;
  /** Field holding the timestamp (ISO-8601 or epoch ms); default `@timestamp`; null keeps input order. */
  timestampField?: string | null;
  /** Field breaking timestamp ties; default none (input order breaks ties). */
  tiebreakerField?: string | null;
  /** Maximum number of results, like the EQL search API's `size`; default unlimited. */
  size?: number | null;
  /** Which results `size` keeps, like the API's `result_position`; default `tail` (the API's default). */
  resultPosition?: 'head' | 'tail';
  /** Pending sequences kept when a sequence has no maxspan; the oldest are dropped beyond it (with a warning). */
  maxPending?: number;
}

export interface MatchResult {
  /** Events in term order; null at a missing-event position. An event query's result has one event. */
  events: (Ev | null)[];
  /** Join-key values of a sequence or sample (empty for event queries). */
  keys: Val[];
}

export interface Matcher {
  readonly kind: Query['body']['kind'];
  /** Whether an event can take part in any result (cheap prefilter for callers that must buffer and sort). */
  relevant(ev: Ev): boolean;
  /** Sort key of an event under the options; null when it has no usable timestamp. */
  recOf(ev: Ev, seq: number): Rec | null;
  /** Feed one event; events must arrive in sort order (see compareRecs). */
  push(rec: Rec): void;
  /** End of input: results after pipes and size, plus warnings. */
  finish(): { results: MatchResult[]; warnings: Diagnostic[] };
}

export const DEFAULT_MAX_PENDING = 100_000;

/** Compile a parsed query. Diagnostics with errors mean no matcher (e.g. a regex that cannot run). */
export function compileMatcher(query: Query, options: MatchOptions = {}, meta?: Pick<RuleMeta, 'event_category_override' | 'timestamp_override' | 'tiebreaker_field'>): { matcher: Matcher | null; diagnostics: Diagnostic[] } {
  const ctx: CompileContext = { diagnostics: [] };
  const categoryField = meta?.event_category_override ?? options.categoryField ?? 'event.category';
  const tsField = options.timestampField === undefined ? (meta?.timestamp_override ?? '@timestamp') : options.timestampField;
  const tbField = options.tiebreakerField === undefined ? (meta?.tiebreaker_field ?? null) : options.tiebreakerField;
  const tsPath = tsField === null ? null : tsField.split('.');
  const tbPath = tbField === null ? null : tbField.split('.');
  const recOf = (ev: Ev, seq: number): Rec | null => {
    let ts = 0;
    if (tsPath) {
      const v = R.fieldValues(ev, tsPath);
      const t = v.length ? R.toMillis(v[0]!) : null;
      if (t === null) return null;
      ts = t;
    }
    const tb = tbPath ? (R.fieldValues(ev, tbPath)[0] ?? null) : null;
    return { ev, ts, tb, seq };
  };
  const body = query.body;
  const filter = (f: Parameters<typeof compileFilter>[0]) => compileFilter(f, categoryField, ctx);
  const keys = (k: readonly Expr[]) => compileKeys(k, ctx);
  const results: MatchResult[] = [];
  const warnings: Diagnostic[] = [];
  let engine: { relevant: Pred; push: (r: Rec) => void; finish: () => void };

  if (body.kind === 'EventQuery') {
    const pred = filter(body.filter);
    engine = { relevant: pred, push: (r) => pred(r.ev) && results.push({ events: [r.ev], keys: [] }), finish: () => {} };
  } else if (body.kind === 'Sequence') {
    const step = (s: (typeof body.steps)[number]) => ({ test: filter(s.filter), keys: keys([...body.by, ...s.by]), missing: s.missing });
    const terms = body.steps.flatMap((s) => {
      const t = step(s);
      return new Array<R.SeqTerm>(s.runs ?? 1).fill(t);
    });
    const until = body.until ? step(body.until) : null;
    const seq = new R.SequenceEngine({ terms, until, maxspan: body.maxspan?.ms ?? null, maxPending: options.maxPending ?? DEFAULT_MAX_PENDING });
    const tests = [...terms.map((t) => t.test), ...(until ? [until.test] : [])];
    engine = {
      relevant: (ev) => tests.some((t) => t(ev)),
      push: (r) => seq.push(r),
      finish: () => {
        seq.finish();
        results.push(...seq.results);
        if (seq.capped)
          warnings.push(diag('EQL6002', `more than ${options.maxPending ?? DEFAULT_MAX_PENDING} pending sequences without maxspan; the oldest were dropped, so some matches may be missing`, body.span));
      },
    };
  } else {
    const terms = body.steps.map((s) => ({ test: filter(s.filter), keys: keys([...body.by, ...s.by]) }));
    const sample = new R.SampleEngine({ terms });
    engine = {
      relevant: (ev) => terms.some((t) => t.test(ev)),
      push: (r) => sample.push(r),
      finish: () => void results.push(...sample.results()),
    };
  }
  if (hasErrors(ctx.diagnostics)) return { matcher: null, diagnostics: ctx.diagnostics };
  const matcher: Matcher = {
    kind: body.kind,
    relevant: engine.relevant,
    recOf,
    push: engine.push,
    finish: () => {
      engine.finish();
      return { results: select(results, query, options), warnings };
    },
  };
  return { matcher, diagnostics: ctx.diagnostics };
}

/** Apply `| head N` / `| tail N` in order, then the size cap. */
function select<T>(all: T[], query: Query, options: MatchOptions): T[] {
  let out = all;
  for (const p of query.pipes) {
    const n = p.count ?? 0;
    out = p.name === 'head' ? out.slice(0, n) : out.slice(Math.max(0, out.length - n));
  }
  const size = options.size;
  if (size !== undefined && size !== null && out.length > size)
    out = (options.resultPosition ?? 'tail') === 'head' ? out.slice(0, size) : out.slice(out.length - size);
  return out;
}

/**
 * Run a query over in-memory events: they are sorted by timestamp, tiebreaker and input order first.
 * Events without a usable timestamp are skipped (counted in a warning).
 */
export function matchEvents(
  query: Query | string,
  events: Iterable<Ev>,
  options: MatchOptions = {},
  meta?: Pick<RuleMeta, 'event_category_override' | 'timestamp_override' | 'tiebreaker_field'>,
): { results: MatchResult[]; diagnostics: Diagnostic[] } {
  let q: Query;
  if (typeof query === 'string') {
    const parsed = parseQuery(query);
    if (!parsed.query) return { results: [], diagnostics: parsed.diagnostics };
    q = parsed.query;
  } else q = query;
  const { matcher, diagnostics } = compileMatcher(q, options, meta);
  if (!matcher) return { results: [], diagnostics };
  const recs: Rec[] = [];
  let seq = 0;
  let untimed = 0;
  for (const ev of events) {
    const rec = matcher.recOf(ev, seq++);
    if (!rec) untimed++;
    else if (matcher.relevant(ev)) recs.push(rec);
  }
  recs.sort(R.compareRecs);
  for (const r of recs) matcher.push(r);
  const { results, warnings } = matcher.finish();
  if (untimed) warnings.push(diag('EQL6003', `${untimed} event${untimed === 1 ? '' : 's'} without a usable timestamp were skipped`));
  return { results, diagnostics: [...diagnostics, ...warnings] };
}
