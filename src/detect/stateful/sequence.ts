/**
 * Sequence matching: ordered steps joined by key fields, all within a window of event time,
 * optionally ending with an absence step ("and no X within T"). Each join key keeps at most one
 * partial match per step it waits for, so a new first step starts over without losing a match
 * that is further along; state is bounded by BoundedState.
 */
import { z } from 'zod';
import type { FalcoEvent } from '../../core/event.js';
import type { Predicate, SequenceRuleSpec } from '../../rules/compiler/detection-rule.js';
import { BoundedState, type StateLimits, type StateObserver } from './bounded-state.js';
import { keyOf, type KeyOf } from './keys.js';
import { durationOption, fieldsOption, type StatefulHit, type StatefulKindDescriptor, type StatefulMatcher } from './matcher.js';

export interface SequenceStep {
  readonly matches: (event: FalcoEvent) => boolean;
  /** The join value of this step's event; steps join where their values are equal. */
  readonly key: KeyOf;
}

export interface SequenceSpec {
  readonly steps: readonly SequenceStep[];
  /** Every step must happen within this many milliseconds of the first. */
  readonly withinMs: number;
  /** "and no `matches` with the same key within `withinMs`" after the last step. */
  readonly absence?: SequenceStep & { readonly withinMs: number };
  /** Most evidence events kept per partial match. */
  readonly maxEvidence?: number;
}

interface Partial {
  readonly startMs: number;
  /** When the absence step is satisfied, in event time. */
  deadlineMs: number;
  readonly events: FalcoEvent[];
}

/**
 * The partial matches of one join key, by the step each waits for: slot i waits for step i
 * (slot 0 is unused), slot steps.length waits out the absence step. One match per slot: a
 * newer one at the same step has the same progress and more time left, so it takes the place.
 */
type Slots = (Partial | undefined)[];

export type SequenceHit = StatefulHit;

export class SequenceMatcher implements StatefulMatcher {
  readonly kind = 'sequence';
  readonly counts = 'hit';
  /** The step predicates in the order `feed` takes their results: steps, then absence. */
  readonly predicates: readonly Predicate[];
  private readonly partials: BoundedState<Slots>;
  private readonly maxEvidence: number;
  /** Scratch for `process`: which steps (and, last, the absence step) the event matches. */
  private readonly matched: Uint8Array;

  constructor(
    private readonly spec: SequenceSpec,
    limits: StateLimits,
    observer: StateObserver,
  ) {
    if (spec.steps.length < 2 && !spec.absence) throw new Error('a sequence needs at least two steps');
    this.partials = new BoundedState(limits, observer);
    this.maxEvidence = spec.maxEvidence ?? 16;
    this.matched = new Uint8Array(spec.steps.length + 1);
    const { steps, absence } = spec;
    this.predicates = absence ? [...steps.map((s) => s.matches), absence.matches] : steps.map((s) => s.matches);
  }

  get liveKeys(): number {
    return this.partials.size;
  }

  /**
   * Feeds one event at event time `nowMs`; returns the completed matches, if any. `hits` is
   * the caller's array, so the common case (no hit) allocates nothing.
   */
  process(event: FalcoEvent, nowMs: number, hits: SequenceHit[]): void {
    const { steps, absence } = this.spec;
    const matched = this.matched;
    for (let i = 0; i < steps.length; i++) matched[i] = steps[i]!.matches(event) ? 1 : 0;
    matched[steps.length] = absence && absence.matches(event) ? 1 : 0;
    this.feed(event, nowMs, matched, hits);
  }

  /**
   * `process` for a caller that evaluated the steps already (the rule engine evaluates every
   * predicate of an event type in one batch): `matched[i]` is 1 when step i matches, and
   * `matched[steps.length]` when the absence step does.
   */
  feed(event: FalcoEvent, nowMs: number, matched: ArrayLike<number>, hits: SequenceHit[]): void {
    const { steps, withinMs, absence } = this.spec;
    const n = steps.length;
    if (absence && matched[n] === 1) {
      const key = absence.key(event);
      const slots = key === undefined ? undefined : this.partials.get(key);
      const waiting = slots?.[n];
      if (waiting && nowMs <= waiting.deadlineMs) {
        slots![n] = undefined;
        this.store(key!, slots!, nowMs);
      }
    }
    // Advance before starting, so one event cannot both open a partial and complete it.
    for (let i = n - 1; i >= 1; i--) {
      if (matched[i] !== 1) continue;
      const key = steps[i]!.key(event);
      if (key === undefined) continue;
      const slots = this.partials.get(key);
      const partial = slots?.[i];
      // An event stamped before the first step arrived out of order: it takes no part.
      if (!partial || nowMs < partial.startMs) continue;
      slots![i] = undefined;
      if (nowMs - partial.startMs > withinMs) {
        this.store(key, slots!, nowMs);
        continue;
      }
      this.advance(key, slots!, i, partial, event, nowMs, hits);
      return;
    }
    if (matched[0] === 1) {
      const key = steps[0]!.key(event);
      if (key === undefined) return;
      // A newer first step restarts the match waiting for step 1; matches further along keep
      // their progress in their own slots.
      const slots = this.partials.get(key) ?? new Array<Partial | undefined>(n + 1).fill(undefined);
      // An older first step (a forged or late copy) never replaces a newer match: it would
      // silence the real attack's sequence.
      const waiting = slots[1];
      if (waiting && nowMs < waiting.startMs) return;
      this.advance(key, slots, 0, { startMs: nowMs, deadlineMs: 0, events: [] }, event, nowMs, hits);
    }
  }

  /** Completes absence steps whose time ran out and drops partials that can no longer complete. */
  expire(watermarkMs: number, hits: SequenceHit[]): void {
    const { steps, withinMs, absence } = this.spec;
    const n = steps.length;
    const done: string[] = [];
    for (const [key, slots] of this.partials) {
      let live = false;
      for (let i = 1; i < n; i++) {
        const p = slots[i];
        if (!p) continue;
        if (watermarkMs - p.startMs > withinMs) slots[i] = undefined;
        else live = true;
      }
      const waiting = slots[n];
      if (absence && waiting) {
        if (watermarkMs > waiting.deadlineMs) {
          hits.push({ key, events: waiting.events });
          slots[n] = undefined;
        } else live = true;
      }
      if (!live) done.push(key);
    }
    for (const key of done) this.partials.delete(key);
    // The hard bound: nothing outlives the TTL, whatever step it is at.
    this.partials.expire(watermarkMs);
  }

  clear(): void {
    this.partials.clear();
  }

  /** Moves `partial`, which matched step `from` with `event`, on to the next slot. */
  private advance(key: string, slots: Slots, from: number, partial: Partial, event: FalcoEvent, nowMs: number, hits: SequenceHit[]): void {
    const { steps, absence } = this.spec;
    if (partial.events.length < this.maxEvidence) partial.events.push(event);
    else partial.events[partial.events.length - 1] = event;
    const next = from + 1;
    if (next < steps.length) {
      slots[next] = partial;
    } else if (absence) {
      // The match already waiting out the absence keeps its place and its deadline: repeating
      // the steps must not push an alert away for ever.
      if (!slots[next]) {
        partial.deadlineMs = nowMs + absence.withinMs;
        slots[next] = partial;
      }
    } else {
      hits.push({ key, events: partial.events });
    }
    this.store(key, slots, nowMs);
  }

  /** Keeps the key while one of its slots holds a match. */
  private store(key: string, slots: Slots, nowMs: number): void {
    if (slots.some((p) => p !== undefined)) this.partials.set(key, slots, nowMs);
    else this.partials.delete(key);
  }
}

const stepOptions = z
  .object({
    condition: z.string().min(1).describe("the step's condition, in the rule language; the rule's own condition, if any, narrows it"),
    by: fieldsOption.optional().describe("field(s) joining this step to the others (default: the sequence's by)"),
  })
  .strict();

export const sequenceKind: StatefulKindDescriptor<SequenceRuleSpec> = {
  kind: 'stateful',
  name: 'sequence',
  summary: 'ordered steps joined by key fields, all within a window of event time, optionally followed by the absence of an event',
  example: `- rule: Symlink planted in tmp then opened by root
  desc: a symlink created in /tmp was opened by root within five seconds
  sequence:
    within: 5s
    steps:
      - condition: evt.type in (symlink, symlinkat) and evt.arg.linkpath startswith /tmp/
        by: [evt.arg.linkpath]
      - condition: evt.type in (open, openat) and user.uid = 0
        by: [fd.name]
  state: { max_keys: 10000, ttl: 1m }
  output: root opened %fd.name after another user planted a symlink there
  priority: CRITICAL
`,
  options: z
    .object({
      within: durationOption.describe('every step must happen within this long of the first'),
      by: fieldsOption.optional().describe('join field(s) of every step that names none of its own'),
      steps: z
        .array(stepOptions)
        .min(1)
        .describe('the steps in order, each a mapping of condition and optionally by: at least two, or one followed by absent; steps join where their by values are equal'),
      absent: z
        .object({
          condition: z.string().min(1).describe('the event that must not follow the last step'),
          within: durationOption.describe('how long after the last step it must not happen; the alert comes once this has passed'),
          by: fieldsOption.optional().describe("field(s) joining it to the steps (default: the sequence's by, else the last step's)"),
        })
        .strict()
        .optional()
        .describe('"and no such event within": the sequence matches only if this does not follow'),
    })
    .strict(),
  needs: {},
  create: (spec, bounds, deps) =>
    new SequenceMatcher(
      {
        withinMs: spec.withinMs,
        steps: spec.steps.map((s) => ({ matches: s.matches, key: keyOf(s.by) })),
        ...(spec.absent ? { absence: { matches: spec.absent.matches, key: keyOf(spec.absent.by), withinMs: spec.absent.withinMs } } : {}),
      },
      bounds,
      deps.observer,
    ),
};
