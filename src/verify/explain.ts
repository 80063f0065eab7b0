// Which mismatches a translation's declarations explain. A declared approximation changes the part of the
// rule its span covers, and only that part: a mismatch is declared only if making the covered leaf
// predicates (atoms) "unknown" — Kleene logic, every other atom keeping its native truth value — lets the
// rule's condition come out the way the target answered. So a backend that widens an unrelated condition
// is caught even when some other condition was declared wider.
import type { Diagnostic } from '../diagnostics.js';
import type { EventFilter, Expr, Query, Span } from '../ir/nodes.js';
import { walk } from '../ir/walk.js';
import { compileFilter } from '../matcher/compile.js';
import { CLASSIFYING_FIELDS, type Direction, type TranslationDiagnostic } from '../translate/core.js';
import type { EcsEvent } from './generate.js';

/** Which side alone matched: the EQL rule (the target is narrower) or the target (it is wider). */
export type Side = 'eql' | 'target';

const F = 0;
const U = 0.5;
const T = 1;
type K3 = typeof F | typeof U | typeof T;

/** Directions that can explain a match by one side only. */
const EXPLAINS: Record<Side, readonly Direction[]> = { target: ['wider', 'different'], eql: ['narrower', 'different'] };

/** What the declarations cover in one event filter (an event query's, or one sequence or sample step's). */
interface FilterCover {
  filter: EventFilter;
  /** Atoms of the condition, each with the declarations whose span overlaps it (direction, and the events it can concern). */
  atoms: Map<Expr, AtomCover[]>;
  /** Directions of class-level declarations: what the target's log source, table or event type holds. */
  classDirs: ClassCover[];
  category: (ev: EcsEvent) => boolean;
}

interface AtomCover {
  dir: Direction;
  /** For a declaration about particular values only: whether the event has such a value in the atom's fields. */
  concerns: ((atom: Expr, ev: EcsEvent) => boolean) | null;
}

/** The values of the fields an atom reads, in one event. */
function atomValues(atom: Expr, ev: EcsEvent): unknown[] {
  return [...walk(atom)].flatMap((x) => (x.kind === 'Field' ? [fieldValue(ev, x.name)] : []));
}

/**
 * Declarations that concern particular values only, and the test of an event's values for them. Another event
 * cannot show the difference, so the declaration does not explain a mismatch on it.
 */
const CONCERNS: Partial<Record<string, (atom: Expr, ev: EcsEvent) => boolean>> = {
  // KQL: a missing string is "" there, so a present but empty value counts as missing (and the reverse).
  EQL3205: (atom, ev) => atomValues(atom, ev).some((v) => v === undefined || v === null || v === '' || (Array.isArray(v) && (v.length === 0 || v.includes('')))),
  // KQL parses argv from the command line by Windows rules; off Windows Defender's command line is argv joined with
  // spaces, which parses back to the same argv unless an argument is empty or holds a blank, quote or backslash.
  EQL3204: (atom, ev) =>
    ![fieldValue(ev, 'host.os.type')].flat().includes('windows') &&
    [...walk(atom)].some((x) => x.kind === 'Field' && [fieldValue(ev, x.name.replace(/_count$/, ''))].flat().some((a) => typeof a === 'string' && (a === '' || /[\s"\\]/.test(a)))),
  // KQL counts code points, Elasticsearch UTF-16 units: they differ only on characters outside the BMP.
  EQL3245: (atom, ev) => atomValues(atom, ev).some((v) => [v].flat().some((x) => typeof x === 'string' && /[\uD800-\uDBFF]/.test(x))),
};

interface ClassCover {
  dir: Direction;
  /** For a class declaration about particular events only: whether the event is one. */
  concerns: ((ev: EcsEvent) => boolean) | null;
}

const CLASS_CONCERNS: Partial<Record<string, (ev: EcsEvent) => boolean>> = {
  // KQL read the datasets the rule's index names: what it leaves out is events without a dataset (other indices).
  EQL3236: (ev) => [fieldValue(ev, 'data_stream.dataset'), fieldValue(ev, 'event.dataset')].every((v) => v === undefined || v === null),
};

/**
 * What a class-level declaration concerns: with `only` (the source holds just the events whose field has one of
 * the values), the events outside the class; the target cannot differ on the others through it.
 */
function classConcerns(d: TranslationDiagnostic): ((ev: EcsEvent) => boolean) | null {
  const only = d.only;
  if (!only) return CLASS_CONCERNS[d.code] ?? null;
  return (ev) => ![fieldValue(ev, only.field)].flat().some((v) => typeof v === 'string' && only.values.includes(v));
}

export interface Explainer {
  /**
   * Whether the declarations explain a match (a tuple of event indexes) that only `side` made. `stepAccepts`:
   * the target's own report of which of its steps accept each event (Interpreter.stepAccepts), when it has one.
   */
  explains(side: Side, tuple: readonly number[], events: readonly EcsEvent[], stepAccepts?: readonly (readonly boolean[])[] | null): boolean;
}

const inside = (s: Span, outer: Span) => s.start.offset >= outer.start.offset && s.end.offset <= outer.end.offset;
/** Whether a span lies inside an `or` or `not` of the condition (not on the condition's top-level conjunction). */
function nestedIn(span: Span, where: Expr): boolean {
  if (where.kind === 'And') return where.args.some((a) => inside(span, a.span) && nestedIn(span, a));
  return (where.kind === 'Or' || where.kind === 'Not') && inside(span, where.span) && !(span.start.offset <= where.span.start.offset && span.end.offset >= where.span.end.offset);
}

const overlaps = (a: Span, b: Span) => a.start.offset < b.end.offset && b.start.offset < a.end.offset;

/** Leaf predicates: what compilePred evaluates to one truth value (and/or/not are two-valued over them). */
function atomsOf(e: Expr, out: Expr[] = []): Expr[] {
  if (e.kind === 'And' || e.kind === 'Or') for (const a of e.args) atomsOf(a, out);
  else if (e.kind === 'Not') atomsOf(e.arg, out);
  else out.push(e);
  return out;
}

/**
 * Build the explainer of a translation. Where a declaration's span lies decides what it covers:
 * - inside a filter's condition: the atoms its span overlaps (a field, a pattern, an atom, or a whole
 *   and/or/not subtree);
 * - on a filter but not inside its condition (the filter's span, its category token, or — for an event
 *   query — the whole query, which is the filter's span): the class of events, conservatively: the target's
 *   log source may hold any set of events, so the category test, every atom on a classifying field
 *   (event.type, event.action, ... and the category field) and the event's membership of the target's class
 *   all become unknown. For a narrower declaration that explains every match the target misses on that
 *   filter; for a wider one only events the rule rejects through its category or classifying fields;
 * - anywhere else (sequence keys, maxspan, until, a step's `with runs`, a whole sequence or sample, pipes) or
 *   no span at all: the structure of the query, which no single event decides. Such a declaration explains
 *   every miss by the target, and an extra match by the target only when each event passes its own step and
 *   the tuple keeps the sequence's order, maxspan and keys (keepsStructure).
 */
export function explainer(
  query: Query,
  diagnostics: readonly Diagnostic[],
  categoryField: string,
  atomValue: (atom: Expr, ev: EcsEvent) => boolean,
  /** Atoms the events cannot decide (a vendor pair's ECS side lacks what the agent adds): unknown on both sides. */
  undecided: (atom: Expr, ev: EcsEvent) => boolean = () => false,
): Explainer {
  const body = query.body;
  const steps: EventFilter[] = body.kind === 'EventQuery' ? [body.filter] : body.steps.map((s) => s.filter);
  const covers: FilterCover[] = steps.map((filter) => ({
    filter,
    atoms: new Map(atomsOf(filter.where).map((a) => [a, []])),
    classDirs: [],
    category: compileFilter({ ...filter, where: { kind: 'Literal', type: 'boolean', value: true, span: filter.span } }, categoryField, { diagnostics: [] }),
  }));
  // One cover per event of a match: a step `with runs=n` answers n events in a row, as the matcher does.
  const perEvent = body.kind === 'EventQuery' ? covers : body.steps.flatMap((s, i) => new Array<FilterCover>(s.kind === 'SequenceStep' ? (s.runs ?? 1) : 1).fill(covers[i]!));
  const global = new Set<Direction>();
  for (const d of diagnostics as readonly TranslationDiagnostic[]) {
    // A difference in what the source collects is assumed away by replay (each event gets its record).
    if (!d.direction || d.collection) continue;
    const span = d.span;
    const hit = span ? covers.find((c) => inside(span, c.filter.where.span)) : undefined;
    if (span && hit) {
      for (const [atom, covers] of hit.atoms) if (overlaps(span, atom.span) || inside(span, atom.span)) covers.push({ dir: d.direction, concerns: CONCERNS[d.code] ?? null });
      // A log-source declaration on one of the conditions that chose the source (the source does not record
      // event.action and takes all its events for "exec") is about which events the source holds: class-level.
      // Only on a top-level condition: on one branch of an `or` it covers that branch (its atoms, above), not
      // the other branches, which another source reads.
      if (d.code === 'EQL3004' && !nestedIn(span, hit.filter.where)) hit.classDirs.push({ dir: d.direction, concerns: classConcerns(d) });
      continue;
    }
    const onFilter = span ? covers.filter((c) => overlaps(span, c.filter.span)) : [];
    // An event query's filter is the whole query: a declaration on the query is one on its event class.
    if (span && onFilter.length === 1 && (body.kind === 'EventQuery' || inside(span, onFilter[0]!.filter.span))) onFilter[0]!.classDirs.push({ dir: d.direction, concerns: classConcerns(d) });
    else global.add(d.direction);
  }
  const classifying = new Set([...CLASSIFYING_FIELDS, categoryField]);
  const onClassField = (atom: Expr) => [...walk(atom)].some((x) => x.kind === 'Field' && classifying.has(x.name));

  /** The filter's value on one event, with the atoms (and class) covered in the given directions unknown. */
  const value = (c: FilterCover, ev: EcsEvent, unknown: readonly Direction[] | null): K3 => {
    const classUnknown = unknown !== null && c.classDirs.some((d) => unknown.includes(d.dir) && (d.concerns === null || d.concerns(ev)));
    const evalExpr = (e: Expr): K3 => {
      if (e.kind === 'And') return e.args.reduce<K3>((v, a) => (v === F ? F : (Math.min(v, evalExpr(a)) as K3)), T);
      if (e.kind === 'Or') return e.args.reduce<K3>((v, a) => (v === T ? T : (Math.max(v, evalExpr(a)) as K3)), F);
      if (e.kind === 'Not') return (1 - evalExpr(e.arg)) as K3;
      const covered = unknown !== null && c.atoms.get(e)!.some((a) => unknown.includes(a.dir) && (a.concerns === null || a.concerns(e, ev)));
      if (covered || (classUnknown && onClassField(e)) || undecided(e, ev)) return U;
      return atomValue(e, ev) ? T : F;
    };
    const membership: K3 = classUnknown ? U : T;
    const category: K3 = classUnknown ? U : c.category(ev) ? T : F;
    return Math.min(membership, category, evalExpr(c.filter.where)) as K3;
  };

  // What a sequence promises beyond its steps: time order, maxspan and equal keys. A declaration relaxes
  // maxspan or the keys only with its span on them; one on the whole sequence (which tuples are reported,
  // ties, until) relaxes none of the three.
  const seq = body.kind === 'Sequence' ? body : null;
  // On a key or maxspan: within it, or around it without reaching into a step's filter or over the whole sequence.
  const on = (d: Span, s: Span) =>
    inside(d, s) || (inside(s, d) && !inside(seq!.span, d) && !steps.some((f) => overlaps(d, f.span)));
  const dirsOn = (spans: readonly Span[]) =>
    new Set((diagnostics as readonly TranslationDiagnostic[]).flatMap((d) => (d.direction && !d.collection && d.span && spans.some((s) => on(d.span!, s)) ? [d.direction] : [])));
  const maxspanDirs = seq?.maxspan ? dirsOn([seq.maxspan.span]) : new Set<Direction>();
  // Per key position (the sequence's `by`, then each step's own): a declaration on one key relaxes that key only.
  const keyDirs = seq ? Array.from({ length: seq.by.length + Math.max(0, ...seq.steps.map((s) => s.by.length)) }, (_, j) => dirsOn((j < seq.by.length ? [seq.by[j]!] : seq.steps.flatMap((s) => s.by[j - seq.by.length] ?? [])).map((k) => k.span))) : [];
  const stepOf = seq ? seq.steps.flatMap((s, i) => new Array<number>(s.runs ?? 1).fill(i)) : [];
  const keysOf = (step: number, ev: EcsEvent): unknown[] | null => {
    const keys = [...seq!.by, ...seq!.steps[step]!.by];
    return keys.every((k) => k.kind === 'Field') ? keys.map((k) => JSON.stringify(fieldValue(ev, (k as { name: string }).name))) : null;
  };
  const keepsStructure = (tuple: readonly number[], events: readonly EcsEvent[], dirs: readonly Direction[]): boolean => {
    if (!seq) return true;
    const present = tuple.flatMap((i, pos) => (i >= 0 && i < events.length ? [{ ev: events[i]!, step: stepOf[pos]! }] : []));
    const times = present.map(({ ev }) => Date.parse(String(fieldValue(ev, '@timestamp'))));
    // Events without a readable time (a user's) leave order and maxspan unchecked.
    if (!times.some(Number.isNaN)) {
      if (times.some((t, i) => i > 0 && t < times[i - 1]!)) return false;
      if (seq.maxspan && !dirs.some((d) => maxspanDirs.has(d)) && times.length > 1 && times[times.length - 1]! - times[0]! > seq.maxspan.ms) return false;
    }
    const relaxed = keyDirs.map((at) => dirs.some((d) => at.has(d)));
    const keys = present.map(({ ev, step }) => keysOf(step, ev)?.filter((_, j) => !relaxed[j]) ?? null);
    if (keys.every((k) => k !== null) && keys.some((k) => JSON.stringify(k) !== JSON.stringify(keys[0]))) return false;
    return true;
  };

  // The target's steps line up with the tuple's positions only where each position is one step: no until
  // step and no missing-event step, which targets build differently (an extra step, an anti-join); `runs`
  // counts once per event in both (checked by the number of steps the target reports). Other shapes keep the
  // rule that any step a declaration may have narrowed explains the miss.
  const alignable = seq !== null && seq.until === null && seq.steps.every((s) => !s.missing);

  return {
    explains(side, tuple, events, stepAccepts) {
      const dirs = EXPLAINS[side];
      const structural = dirs.some((d) => global.has(d));
      if (tuple.length !== perEvent.length) return structural;
      // A missing-event step has no event in a match (-1): only the steps that have one are evaluated.
      const present = perEvent.flatMap((c, i) => (tuple[i]! >= 0 && tuple[i]! < events.length ? [{ c, ev: events[tuple[i]!]! }] : []));
      const native = present.map(({ c, ev }) => value(c, ev, null));
      const relaxed = present.map(({ c, ev }) => value(c, ev, dirs));
      // The target matched what the rule rejects: every step the rule rejects must be one a declaration
      // may have widened. A structural widening (keys, order, maxspan, until) explains tuples whose events
      // each pass their step; an event its step rejects is a filter difference, which only a declaration
      // on that filter explains. Without one, at least one step must not be accepted (else the structure
      // differs, undeclared).
      if (side === 'target') return (structural || native.some((v) => v !== T)) && !relaxed.includes(F) && keepsStructure(tuple, events, dirs);
      // The rule matched what the target missed. Where the target says which of its steps rejected which
      // event, the miss is explained only by a step that rejected its event and that a declaration may have
      // narrowed (a narrowing on another step does not excuse it). All steps accepting their events leaves
      // the keys, order or time window, which only a structural declaration explains (a default time window,
      // a row limit, how a transaction groups events).
      const verdicts = alignable ? tuple.map((i) => stepAccepts?.[i]) : [];
      if (alignable && verdicts.every((v) => v?.length === perEvent.length)) {
        const rejected = tuple.flatMap((_, pos) => (verdicts[pos]![pos] ? [] : [pos]));
        return (structural && rejected.length === 0) || rejected.some((pos) => relaxed[pos] === U);
      }
      // Otherwise a structural declaration, or some step a declaration may have narrowed.
      return structural || relaxed.includes(U);
    },
  };
}

/** A field's value in an ECS event, whether its keys are dotted (`process.name`) or nested. */
function fieldValue(ev: EcsEvent, name: string): unknown {
  const flat = (ev as Record<string, unknown>)[name];
  if (flat !== undefined) return flat;
  let at: unknown = ev;
  for (const part of name.split('.')) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[part] : undefined;
  return at;
}
