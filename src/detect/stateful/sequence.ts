/**
 * Sequence matching: ordered steps joined by key fields, all within a window of event time,
 * optionally ending with an absence step ("and no X within T"). One partial match is kept per
 * join key; state is bounded by BoundedState.
 */
import type { FalcoEvent } from '../../core/event.js';
import { BoundedState, type StateLimits, type StateObserver } from './bounded-state.js';
import type { KeyOf } from './keys.js';

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
  /** Index of the step this partial waits for (steps.length: waiting out the absence). */
  next: number;
  readonly startMs: number;
  /** When the absence step is satisfied, in event time. */
  deadlineMs: number;
  readonly events: FalcoEvent[];
}

export interface SequenceHit {
  readonly key: string;
  readonly events: readonly FalcoEvent[];
}

export class SequenceMatcher {
  private readonly partials: BoundedState<Partial>;
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
  }

  /** The step predicates in the order `processMatched` takes their results: steps, then absence. */
  get predicates(): readonly ((event: FalcoEvent) => boolean)[] {
    const { steps, absence } = this.spec;
    return absence ? [...steps.map((s) => s.matches), absence.matches] : steps.map((s) => s.matches);
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
    this.processMatched(event, nowMs, hits, matched);
  }

  /**
   * `process` for a caller that evaluated the steps already (the rule engine evaluates every
   * predicate of an event type in one batch): `matched[i]` is 1 when step i matches, and
   * `matched[steps.length]` when the absence step does.
   */
  processMatched(event: FalcoEvent, nowMs: number, hits: SequenceHit[], matched: ArrayLike<number>): void {
    const { steps, withinMs, absence } = this.spec;
    if (absence && matched[steps.length] === 1) {
      const key = absence.key(event);
      const partial = key === undefined ? undefined : this.partials.get(key);
      if (partial && partial.next === steps.length && nowMs <= partial.deadlineMs) this.partials.delete(key!);
    }
    // Advance before starting, so one event cannot both open a partial and complete it.
    for (let i = steps.length - 1; i >= 1; i--) {
      if (matched[i] !== 1) continue;
      const key = steps[i]!.key(event);
      if (key === undefined) continue;
      const partial = this.partials.get(key);
      if (!partial || partial.next !== i) continue;
      if (nowMs - partial.startMs > withinMs || nowMs < partial.startMs) {
        this.partials.delete(key);
        continue;
      }
      this.advance(key, partial, event, nowMs, hits);
      return;
    }
    if (matched[0] === 1) {
      const key = steps[0]!.key(event);
      if (key === undefined) return;
      const existing = this.partials.get(key);
      // A newer first step restarts the window; a partial further along keeps its progress.
      if (existing && existing.next > 1 && nowMs - existing.startMs <= withinMs) return;
      const partial: Partial = { next: 0, startMs: nowMs, deadlineMs: 0, events: [] };
      this.advance(key, partial, event, nowMs, hits);
    }
  }

  /** Completes absence steps whose time ran out and drops partials that can no longer complete. */
  expire(watermarkMs: number, hits: SequenceHit[]): void {
    const { steps, withinMs, absence } = this.spec;
    const done: string[] = [];
    for (const [key, partial] of this.partials) {
      if (absence && partial.next === steps.length) {
        if (watermarkMs > partial.deadlineMs) {
          hits.push({ key, events: partial.events });
          done.push(key);
        }
      } else if (watermarkMs - partial.startMs > withinMs) {
        done.push(key);
      }
    }
    for (const key of done) this.partials.delete(key);
    // The hard bound: nothing outlives the TTL, whatever step it is at.
    this.partials.expire(watermarkMs);
  }

  clear(): void {
    this.partials.clear();
  }

  private advance(key: string, partial: Partial, event: FalcoEvent, nowMs: number, hits: SequenceHit[]): void {
    const { steps, absence } = this.spec;
    if (partial.events.length < this.maxEvidence) partial.events.push(event);
    else partial.events[partial.events.length - 1] = event;
    partial.next++;
    if (partial.next < steps.length) {
      this.partials.set(key, partial, nowMs);
    } else if (absence) {
      partial.deadlineMs = nowMs + absence.withinMs;
      this.partials.set(key, partial, nowMs);
    } else {
      this.partials.delete(key);
      hits.push({ key, events: partial.events });
    }
  }
}
