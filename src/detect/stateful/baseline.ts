/**
 * Learned baselines: per workload key, the set of values of chosen fields seen during a
 * learning period; after it, a value never seen is an anomaly (reported once, then learned).
 * Profiles survive restarts through a snapshot the caller saves and restores.
 */
import { z } from 'zod';
import type { FalcoEvent } from '../../core/event.js';
import type { BaselineRuleSpec, Predicate } from '../../rules/compiler/detection-rule.js';
import { BoundedState, type StateLimits, type StateObserver } from './bounded-state.js';
import { keyOf, type KeyOf } from './keys.js';
import { durationOption, fieldsOption, type ProfileSnapshot, type StatefulHit, type StatefulKindDescriptor, type StatefulMatcher } from './matcher.js';

export interface BaselineSpec {
  /** Which events are learned and checked (the rule's condition); omitted, every event fed. */
  readonly matches?: Predicate;
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
export type { ProfileSnapshot } from './matcher.js';

const EVERY_EVENT: Predicate = () => true;

export class BaselineLearner implements StatefulMatcher {
  readonly kind = 'baseline';
  readonly counts = 'event';
  readonly predicates: readonly Predicate[];
  private readonly profiles: BoundedState<Profile>;

  constructor(
    private readonly spec: BaselineSpec,
    limits: StateLimits,
    observer: StateObserver,
  ) {
    this.profiles = new BoundedState(limits, observer);
    this.predicates = [spec.matches ?? EVERY_EVENT];
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

  /** The one predicate is the rule's condition: an event fed here is one to learn or check. */
  feed(event: FalcoEvent, nowMs: number, _held: ArrayLike<number>, hits: StatefulHit[]): void {
    const hit = this.observe(event, nowMs);
    if (hit !== undefined) hits.push({ key: hit.workload, events: [event], detail: `never seen for this workload: ${hit.value.replaceAll('\u001f', ' ')}` });
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

export const baselineKind: StatefulKindDescriptor<BaselineRuleSpec> = {
  kind: 'stateful',
  name: 'baseline',
  summary: "learns, per workload, the values of some fields in the events matching the rule's condition, then reports each value never seen once",
  example: `- rule: Unexpected process in workload
  desc: a workload ran a process it did not run while its baseline was learned
  condition: evt.type = execve and container.id != host
  baseline:
    by: [k8s.ns.name, container.image.repository]
    learn: [proc.name]
    period: 24h
    max_values: 1000
  state: { ttl: 168h }
  output: unexpected process %proc.name in %container.image.repository
  priority: NOTICE
`,
  options: z
    .object({
      by: fieldsOption.describe('field(s) naming the workload a profile belongs to, e.g. namespace and image'),
      learn: fieldsOption.describe('field(s) whose combined value is learned, e.g. proc.name, or fd.sip and fd.sport'),
      period: durationOption.describe("how long, from a workload's first event, its profile is learned before a new value is reported"),
      max_values: z.number().int().min(1).default(1000).describe('most values a profile holds; beyond it the value seen least recently is forgotten'),
    })
    .strict(),
  // Learned profiles survive restarts in the state file.
  needs: { files: ['state.file'] },
  create: (spec, bounds, deps) =>
    new BaselineLearner({ matches: deps.condition, workload: keyOf(spec.by), value: keyOf(spec.learn), learnMs: spec.learnMs, maxValues: spec.maxValues }, bounds, deps.observer),
};
