/**
 * Learned baselines: per workload key, the set of values of chosen fields seen during a
 * learning period; after it, a value never seen is an anomaly (reported once, then learned).
 * Profiles survive restarts through a snapshot the caller saves and restores.
 */
import type { FalcoEvent } from '../../core/event.js';
import { BoundedState, type StateLimits, type StateObserver } from './bounded-state.js';
import type { KeyOf } from './keys.js';

export interface BaselineSpec {
  /** The workload a profile belongs to (e.g. namespace + image). */
  readonly workload: KeyOf;
  /** The learned value (e.g. proc.name, or fd.sip + fd.sport). */
  readonly value: KeyOf;
  /** How long, from a workload's first event, its profile is learned before it is enforced. */
  readonly learnMs: number;
  /** Most values a profile holds; beyond it the value seen least recently is forgotten. */
  readonly maxValues: number;
}

interface Profile {
  readonly firstMs: number;
  /** In order of last sight, oldest first. */
  readonly values: Set<string>;
}

export interface BaselineHit {
  readonly workload: string;
  readonly value: string;
  readonly learnedValues: number;
}

/** A profile as saved in the state file. */
export interface ProfileSnapshot {
  readonly workload: string;
  readonly firstMs: number;
  /** Event time of the profile's latest event. */
  readonly lastMs: number;
  readonly values: readonly string[];
}

export class BaselineLearner {
  private readonly profiles: BoundedState<Profile>;

  constructor(
    private readonly spec: BaselineSpec,
    limits: StateLimits,
    observer: StateObserver,
  ) {
    this.profiles = new BoundedState(limits, observer);
  }

  get liveKeys(): number {
    return this.profiles.size;
  }

  /** Learns or checks one matching event; returns the anomaly when a learned profile meets a new value. */
  observe(event: FalcoEvent, nowMs: number): BaselineHit | undefined {
    const workload = this.spec.workload(event);
    const value = this.spec.value(event);
    if (workload === undefined || value === undefined) return undefined;
    let profile = this.profiles.get(workload);
    if (!profile) profile = { firstMs: nowMs, values: new Set() };
    let hit: BaselineHit | undefined;
    const values = profile.values;
    if (!values.has(value)) {
      if (nowMs - profile.firstMs >= this.spec.learnMs) {
        hit = { workload, value, learnedValues: values.size };
      }
      // A full profile makes room by forgetting the value seen least recently, so a new value
      // is still reported once and then learned rather than reported on every event.
      if (values.size >= this.spec.maxValues) values.delete(values.values().next().value!);
      values.add(value);
    } else {
      // Values are kept in order of last sight, oldest first, so the one forgotten is the one
      // seen least recently.
      values.delete(value);
      values.add(value);
    }
    this.profiles.set(workload, profile, nowMs);
    return hit;
  }

  expire(watermarkMs: number): void {
    this.profiles.expire(watermarkMs);
  }

  snapshot(): ProfileSnapshot[] {
    const out: ProfileSnapshot[] = [];
    for (const [workload, p, lastMs] of this.profiles.withTouch()) out.push({ workload, firstMs: p.firstMs, lastMs, values: [...p.values] });
    return out;
  }

  /** Restores saved profiles, oldest first so the key limit keeps the newest. */
  restore(profiles: readonly ProfileSnapshot[]): void {
    const ordered = [...profiles].sort((a, b) => a.lastMs - b.lastMs);
    for (const p of ordered) {
      // Saved values are oldest first: a lower max_values keeps the ones seen last.
      const values = new Set(p.values.slice(-this.spec.maxValues));
      this.profiles.set(p.workload, { firstMs: p.firstMs, values }, p.lastMs);
    }
  }

  /** Forgets one workload's profile: it is learned again from its next event. */
  forget(workload: string): void {
    this.profiles.delete(workload);
  }

  clear(): void {
    this.profiles.clear();
  }
}
