// Semantic checks that the grammar leaves open: what Elasticsearch would reject, and what surprises a reviewer.
import { diag, type Diagnostic } from './diagnostics.js';
import type { Expr, Query, Sequence, Sample } from './ir/nodes.js';
import { walk, allExprs } from './ir/walk.js';

interface Signature {
  min: number;
  max: number;
  /** Has a case-insensitive `~` variant. */
  ci: boolean;
}

/** Elasticsearch EQL functions (ES-FN in ../shared/research/eql-language.md §8). */
export const SIGNATURES: Record<string, Signature> = {
  add: { min: 2, max: 2, ci: false },
  between: { min: 3, max: 4, ci: true },
  cidrMatch: { min: 2, max: Infinity, ci: false },
  concat: { min: 1, max: Infinity, ci: false },
  divide: { min: 2, max: 2, ci: false },
  endsWith: { min: 2, max: 2, ci: true },
  indexOf: { min: 2, max: 3, ci: true },
  length: { min: 1, max: 1, ci: false },
  modulo: { min: 2, max: 2, ci: false },
  multiply: { min: 2, max: 2, ci: false },
  number: { min: 1, max: 2, ci: false },
  startsWith: { min: 2, max: 2, ci: true },
  string: { min: 1, max: 1, ci: false },
  stringContains: { min: 2, max: 2, ci: true },
  substring: { min: 2, max: 3, ci: false },
  subtract: { min: 2, max: 2, ci: false },
};

const LEGACY_FUNCTIONS = new Set(['wildcard', 'match', 'matchlite', 'arraycontains', 'arraysearch', 'arraycount', 'safe']);

const hasField = (e: Expr) => {
  for (const x of walk(e)) if (x.kind === 'Field') return true;
  return false;
};
const hasWildcard = (e: Expr) => e.kind === 'Literal' && typeof e.value === 'string' && /[*?]/.test(e.value);

export function validate(q: Query): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const e of allExprs(q)) checkExpr(e, out);
  if (q.body.kind === 'Sequence') checkSequence(q.body, out);
  if (q.body.kind === 'Sample') checkSample(q.body, out);
  for (const p of q.pipes) {
    if (p.name !== 'head' && p.name !== 'tail')
      out.push(diag('EQL1004', `the \`${p.name}\` pipe is not supported by Elasticsearch EQL (only \`head\` and \`tail\` are)`, p.span));
    else if (p.count === null) out.push(diag('EQL2011', `\`${p.name}\` needs a number of results, e.g. \`| ${p.name} 10\``, p.span));
  }
  return out;
}

/**
 * Elasticsearch reads integers as long or unsigned_long (up to 2^64 - 1) and rejects larger ones (QL
 * StringUtils.parseIntegral). Doubles cannot tell 2^64 - 1 from 2^64, so the bound is inclusive of 2^64.
 */
const MAX_INTEGER = 2 ** 64;

function checkExpr(e: Expr, out: Diagnostic[]): void {
  switch (e.kind) {
    case 'Literal':
      // Elasticsearch rejects a decimal that overflows a double ("Number [...] is too large").
      if (typeof e.value === 'number' && (!Number.isFinite(e.value) || (e.type === 'integer' && Math.abs(e.value) > MAX_INTEGER)))
        out.push(diag('EQL1007', 'the number is too large', e.span));
      return;
    case 'Call': {
      const sig = SIGNATURES[e.name];
      if (!sig) {
        out.push(
          LEGACY_FUNCTIONS.has(e.name.toLowerCase())
            ? diag('EQL2010', `\`${e.name}\` belongs to the legacy Python EQL dialect; Elasticsearch does not support it`, e.span)
            : diag('EQL2001', `unknown function \`${e.name}\``, e.span),
        );
        return;
      }
      if (e.args.length < sig.min || e.args.length > sig.max) {
        const want = sig.min === sig.max ? `${sig.min}` : sig.max === Infinity ? `at least ${sig.min}` : `${sig.min} to ${sig.max}`;
        out.push(diag('EQL2002', `\`${e.name}\` takes ${want} argument${want === '1' ? '' : 's'}, not ${e.args.length}`, e.span));
      }
      if (e.caseInsensitive && !sig.ci) out.push(diag('EQL2003', `\`${e.name}\` has no case-insensitive \`~\` variant`, e.span));
      if (e.name === 'cidrMatch')
        for (const a of e.args.slice(1))
          if (!(a.kind === 'Literal' && typeof a.value === 'string')) out.push(diag('EQL2012', 'cidrMatch blocks must be string literals', a.span));
          else if (!isCidr(a.value)) out.push(diag('EQL2014', `"${a.value}" is not a CIDR block`, a.span));
      return;
    }
    case 'Compare':
      if (hasField(e.left) && hasField(e.right))
        out.push(diag('EQL2004', 'Elasticsearch EQL cannot compare a field with another field', e.span));
      if ((e.op === '==' || e.op === '!=') && (hasWildcard(e.right) || hasWildcard(e.left)))
        out.push(
          diag('EQL2101', `\`${e.op}\` takes \`*\` and \`?\` literally; use \`:\` or \`like\` if a wildcard is meant`, (hasWildcard(e.right) ? e.right : e.left).span),
        );
      return;
    case 'In':
      for (const v of e.values) {
        if (hasField(v) && hasField(e.arg)) out.push(diag('EQL2004', 'Elasticsearch EQL cannot compare a field with another field', v.span));
        if (hasWildcard(v))
          out.push(diag('EQL2101', `\`in${e.caseInsensitive ? '~' : ''}\` takes \`*\` and \`?\` literally; use \`:\` or \`like\` with a list if a wildcard is meant`, v.span));
      }
      return;
    case 'Match':
      if (!hasField(e.arg)) out.push(diag('EQL2012', `the left side of \`${e.op}\` must be a field or an expression over a field`, e.arg.span));
      return;
    default:
      return;
  }
}

function isCidr(s: string): boolean {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(s);
  if (!m) return false;
  const [, addr, bits] = m;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr!);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255) && (bits === undefined || Number(bits) <= 32);
  return /^[0-9a-fA-F:.]+$/.test(addr!) && addr!.includes(':') && (bits === undefined || Number(bits) <= 128);
}

function checkKeyCounts(keys: { n: number; span: import('./ir/nodes.js').Span }[], out: Diagnostic[]) {
  const first = keys[0];
  for (const k of keys.slice(1))
    if (first && k.n !== first.n)
      out.push(diag('EQL2006', `every term must have the same number of join keys (the first has ${first.n}, this one ${k.n})`, k.span));
}

function checkSequence(s: Sequence, out: Diagnostic[]) {
  const positives = s.steps.filter((t) => !t.missing);
  const slots = s.steps.reduce((n, t) => n + (t.runs ?? 1), 0);
  if (!positives.length) out.push(diag('EQL2005', 'a sequence needs at least one term that is not a missing event', s.span));
  else if (slots < 2) out.push(diag('EQL2005', 'a sequence needs at least two terms (or `with runs=N` on one)', s.span));
  if (s.maxspan && !Number.isSafeInteger(s.maxspan.ms)) out.push(diag('EQL1007', 'maxspan is too large', s.maxspan.span));
  // Elasticsearch refuses it ("A positive maxspan value is required", EQL LogicalPlanBuilder).
  if (s.maxspan && s.maxspan.value <= 0) out.push(diag('EQL1007', 'maxspan must be positive', s.maxspan.span));
  if (s.steps.some((t) => t.missing) && !s.maxspan)
    out.push(diag('EQL2007', 'a sequence with missing events `![...]` needs `with maxspan`', s.span));
  for (const t of s.steps)
    if (t.runs !== null && (t.runs < 1 || t.runs > 100)) out.push(diag('EQL2008', `runs must be between 1 and 100, not ${t.runs}`, t.span));
  checkKeyCounts([...s.steps, ...(s.until ? [s.until] : [])].map((t) => ({ n: t.by.length, span: t.span })), out);
}

function checkSample(s: Sample, out: Diagnostic[]) {
  if (s.steps.length < 2) out.push(diag('EQL2009', 'a sample needs at least two filters', s.span));
  checkKeyCounts(s.steps.map((t) => ({ n: t.by.length, span: t.span })), out);
}
