/**
 * Thresholds: at least `count` matching events with the same key within a window of event time.
 * One alert per burst: a key's window starts over after it fires.
 */
import { z } from 'zod';
import type { FalcoEvent } from '../../core/event.js';
import type { Predicate, ThresholdRuleSpec } from '../../rules/compiler/detection-rule.js';
import { BoundedState, type StateLimits, type StateObserver } from './bounded-state.js';
import { keyOf, type KeyOf } from './keys.js';
import { durationOption, fieldsOption, type StatefulHit, type StatefulKindDescriptor, type StatefulMatcher } from './matcher.js';

export interface ThresholdSpec {
  /** Which events count (the rule's condition); omitted, every event fed counts. */
  readonly matches?: Predicate;
  readonly count: number;
  readonly withinMs: number;
  readonly key: KeyOf;
  /** Evidence kept: the earliest events the window counts and the one that crossed the threshold. */
  readonly maxEvidence?: number;
}

interface Window {
  readonly times: number[];
  /** Evidence: the earliest events still in the window, with their times. */
  readonly events: FalcoEvent[];
  readonly eventTimes: number[];
}

export interface ThresholdHit extends StatefulHit {
  readonly count: number;
}

const EVERY_EVENT: Predicate = () => true;

export class ThresholdCounter implements StatefulMatcher {
  readonly kind = 'threshold';
  readonly counts = 'event';
  readonly predicates: readonly Predicate[];
  private readonly windows: BoundedState<Window>;
  private readonly maxEvidence: number;

  constructor(
    private readonly spec: ThresholdSpec,
    limits: StateLimits,
    observer: StateObserver,
  ) {
    if (spec.count < 1) throw new Error('a threshold count must be at least 1');
    this.windows = new BoundedState(limits, observer);
    this.maxEvidence = Math.min(spec.maxEvidence ?? 10, spec.count);
    this.predicates = [spec.matches ?? EVERY_EVENT];
  }

  get liveKeys(): number {
    return this.windows.size;
  }

  /** Counts a matching event; returns the hit when its key reaches the threshold. */
  add(event: FalcoEvent, nowMs: number): ThresholdHit | undefined {
    const key = this.spec.key(event);
    if (key === undefined) return undefined;
    let window = this.windows.get(key);
    if (!window) window = { times: [], events: [], eventTimes: [] };
    const { times, events, eventTimes } = window;
    const from = nowMs - this.spec.withinMs;
    let drop = 0;
    while (drop < times.length && times[drop]! < from) drop++;
    if (drop > 0) times.splice(0, drop);
    // Evidence shows only events the window still counts.
    let stale = 0;
    while (stale < eventTimes.length && eventTimes[stale]! < from) stale++;
    if (stale > 0) {
      events.splice(0, stale);
      eventTimes.splice(0, stale);
    }
    times.push(nowMs);
    if (events.length < this.maxEvidence - 1) {
      events.push(event);
      eventTimes.push(nowMs);
    }
    if (times.length >= this.spec.count) {
      this.windows.delete(key);
      return { key, count: times.length, events: [...events, event], detail: `${times.length} events within the window` };
    }
    this.windows.set(key, window, nowMs);
    return undefined;
  }

  /** The one predicate is the rule's condition: an event fed here is one that counts. */
  feed(event: FalcoEvent, nowMs: number, _held: ArrayLike<number>, hits: StatefulHit[]): void {
    const hit = this.add(event, nowMs);
    if (hit !== undefined) hits.push(hit);
  }

  expire(watermarkMs: number): void {
    this.windows.expire(watermarkMs);
  }

  clear(): void {
    this.windows.clear();
  }
}

export const thresholdKind: StatefulKindDescriptor<ThresholdRuleSpec> = {
  kind: 'stateful',
  name: 'threshold',
  summary: "at least `count` events matching the rule's condition with the same key within a window; one alert per burst",
  example: `- rule: Connection burst from one container
  desc: a container opened many connections within a minute
  condition: evt.type = connect and container.id != host
  threshold:
    count: 20
    within: 1m
    by: [container.id]
  output: many connections from %container.name
  priority: WARNING
`,
  options: z
    .object({
      count: z.number().int().min(1).describe('events within the window that raise the alert; the window starts over after it'),
      within: durationOption.describe('the sliding window of event time the events must fall in'),
      by: fieldsOption.optional().describe('field(s) whose values key the count: each value counts on its own (omitted: one count for every event)'),
    })
    .strict(),
  needs: {},
  create: (spec, bounds, deps) => new ThresholdCounter({ matches: deps.condition, count: spec.count, withinMs: spec.withinMs, key: keyOf(spec.by) }, bounds, deps.observer),
};
