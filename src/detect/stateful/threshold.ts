/**
 * Thresholds: at least `count` matching events with the same key within a window of event time.
 * One alert per burst: a key's window starts over after it fires.
 */
import type { FalcoEvent } from '../../core/event.js';
import { BoundedState, type StateLimits, type StateObserver } from './bounded-state.js';
import type { KeyOf } from './keys.js';

export interface ThresholdSpec {
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

export interface ThresholdHit {
  readonly key: string;
  readonly count: number;
  readonly events: readonly FalcoEvent[];
}

export class ThresholdCounter {
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
      return { key, count: times.length, events: [...events, event] };
    }
    this.windows.set(key, window, nowMs);
    return undefined;
  }

  expire(watermarkMs: number): void {
    this.windows.expire(watermarkMs);
  }

  clear(): void {
    this.windows.clear();
  }
}
