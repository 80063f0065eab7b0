// The contract between the verifier and the interpreters of target languages, apart from the verifier so
// interpreters can import it without an import cycle (src/verify/interpreters.ts registers them).
import type { Mapping } from '../translate/mapping.js';
import type { TargetId, TranslateOptions } from '../translate/core.js';
import type { EcsEvent } from './generate.js';

/** What an interpreter of a target language reports for one scenario. */
export type InterpreterRun =
  /**
   * Matches as tuples of event indexes (one index per event-query match; a sequence's events in order, -1
   * where missing). `unrepresentable`: events the target cannot store as they are (an ECS array where the
   * target has one value); matches involving them are left out of the comparison on both sides.
   * `groupOf`: for a target that reports groups rather than events (Sigma correlations), the group a tuple of
   * event indexes is in; both sides' tuples are then compared by group.
   */
  | { matches: number[][]; unrepresentable?: number[]; groupOf?: (tuple: readonly number[]) => string }
  | { notChecked: string };

export interface InterpreterContext {
  mapping: Mapping;
  options: TranslateOptions;
  /**
   * ECS fields the rule names. An event lacking one that ECS derives from another field it has (process.name
   * from process.executable) is unrepresentable where the target stores only the source field.
   */
  ruleFields?: ReadonlySet<string>;
}

/**
 * An independent interpreter of one target language: it parses the emitted text (never the IR) and
 * evaluates it with the product's documented semantics over records in the target's own schema. It
 * shares no code with the target's emitter (no escaping tables, no operator maps), so a bug there
 * cannot cancel itself out here.
 */
export interface Interpreter<Program = unknown, Record = unknown> {
  target: TargetId;
  /** Parse emitted text; throws InterpreterError when it does not parse. */
  parse(output: string, ctx: InterpreterContext): Program;
  /** What the target would store for an ECS event (driven by the mapping data); null when it stores nothing. */
  fromEcs(event: EcsEvent, ctx: InterpreterContext): Record | Unrepresentable | null;
  /** A raw vendor event of a pair (../shared/vendor-pairs), when this target reads that source. */
  fromVendor?(source: string, raw: unknown, ctx: InterpreterContext): Record | null;
  /** Evaluate over records in time order (null = no record for that event). */
  run(program: Program, records: readonly (Record | null)[], ctx: InterpreterContext): InterpreterRun;
  /**
   * For a sequence: which of the program's own steps accept each record by their per-event conditions alone
   * (no keys, order or time window), read from the parsed program; one array per record (all false for a
   * null record), indexed by the program's steps in order. Null when the program is not a sequence or its
   * steps are outside what this can say. The verifier lines the steps up with the rule's only where it can
   * (see explain.ts); it lets a miss be pinned on the step whose filter rejected the event.
   */
  stepAccepts?(program: Program, records: readonly (Record | null)[], ctx: InterpreterContext): boolean[][] | null;
}

/**
 * What fromEcs gives for an ECS event the target's schema cannot hold at all (e.g. a process.name that is not
 * the last segment of process.executable, where the target stores only the path): such an event is impossible
 * in the target's world and says nothing about the translation, so the verifier leaves it out of the comparison.
 */
export class Unrepresentable {
  constructor(readonly reason: string) {}
}

/** Thrown by an interpreter when the emitted text does not parse: always a bug of the emitter. */
export class InterpreterError extends Error {}

export const INTERPRETERS: Partial<Record<TargetId, Interpreter>> = {};

