/**
 * What every stateful matcher is to the rule engine, and what every kind of them says about
 * itself. A kind (sequence, threshold, baseline, ...) is one class implementing
 * `StatefulMatcher` plus one `StatefulKindDescriptor` registered in `STATEFUL_KINDS`
 * (registry.ts): the engine builds and runs matchers through these alone.
 */
import { z } from 'zod';
import type { FalcoEvent } from '../../core/event.js';
import type { PluginDescriptor, PluginNeeds } from '../../core/plugin.js';
import { positiveDurationMs } from '../../core/units.js';
import type { Predicate, StateBounds, StatefulKindName, StatefulSpec } from '../../rules/compiler/detection-rule.js';
import type { StateObserver } from './bounded-state.js';

/** A match a stateful matcher completed: what the engine turns into one alert. */
export interface StatefulHit {
  /** The join or workload key the match was made on. */
  readonly key: string;
  /** The evidence, oldest first; the last one is the event the alert's output is rendered for. */
  readonly events: readonly FalcoEvent[];
  /** Appended to the rendered output in parentheses: what the match adds (a count, a new value). */
  readonly detail?: string;
}

/** What a baseline learned for one workload, as the state file keeps it across restarts. */
export interface ProfileSnapshot {
  readonly workload: string;
  readonly firstMs: number;
  /** Event time of the profile's latest event. */
  readonly lastMs: number;
  readonly values: readonly string[];
}

/**
 * Keyed state over a stream of events, bounded in keys and time (BoundedState), on event time.
 * The rule engine evaluates `predicates` for every event of the rule's types in one batch and
 * calls `feed` only when one of them held: most events never reach a matcher.
 */
export interface StatefulMatcher {
  readonly kind: StatefulKindName;
  /**
   * What the engine evaluates per event for this matcher, in the order `feed` takes their
   * results. Read once when the engine is built.
   */
  readonly predicates: readonly Predicate[];
  /**
   * What the rule's match counter counts: `event` when every event a predicate held for is a
   * match of the rule (its predicate is the rule's condition), `hit` when only a completed
   * match is (a sequence's step alone is not the rule).
   */
  readonly counts: 'event' | 'hit';
  /** Live keys: what the matcher's bounded state holds now. */
  readonly liveKeys: number;
  /**
   * Feeds one event at event time `nowMs` for which at least one predicate held: `held[i]` is 1
   * when predicates[i] did. Completed matches are appended to `hits`, the caller's reused
   * array, so an event that completes nothing allocates nothing. The per-event path.
   */
  feed(event: FalcoEvent, nowMs: number, held: ArrayLike<number>, hits: StatefulHit[]): void;
  /**
   * Drops state older than its TTL before `watermarkMs` (event time, already less the allowed
   * lateness), appending to `hits` what expiry completes (an absence step that ran out).
   */
  expire(watermarkMs: number, hits: StatefulHit[]): void;
  clear(): void;
  /**
   * State that survives restarts (learned profiles), saved in the state file under the rule's
   * name. Only kinds whose state is worth keeping have these three.
   */
  snapshot?(): ProfileSnapshot[];
  /** Takes up saved state, as `snapshot` gave it, possibly from a run with other limits. */
  restore?(saved: readonly ProfileSnapshot[]): void;
  /** Forgets one key's saved state (`lanner baseline reset`): it is learned again. */
  forget?(key: string): void;
}

/** What the engine hands a kind to build a matcher for one rule. */
export interface StatefulDeps {
  /** The rule's own condition: which events count, for a kind without steps of its own. */
  readonly condition: Predicate;
  /** Where the matcher's bounded state reports live keys and evictions: its rule's state metrics. */
  readonly observer: StateObserver;
}

/**
 * A stateful kind: the YAML key a rule uses it by (`name`), the reference of that key's fields
 * (`options`, which documents what src/rules/compiler/stateful.ts accepts; the compiler checks
 * rules with file positions of its own), and the factory of its matcher.
 */
export interface StatefulKindDescriptor<S extends StatefulSpec = StatefulSpec> extends PluginDescriptor {
  readonly kind: 'stateful';
  readonly name: S['kind'];
  readonly needs: PluginNeeds;
  /** A matcher for one rule, from its compiled spec and the bounds of its state. */
  create(spec: S, bounds: StateBounds, deps: StatefulDeps): StatefulMatcher;
}

/**
 * A duration as rules write it: `500ms`, `5s`, `2m`, `24h`, or a number of milliseconds; read
 * by the same parser as the rule compiler's.
 */
export const durationOption = positiveDurationMs;

/** `by: field` or `by: [a, b]`; a field may be alternatives `a|b`, of which the first present is used. */
export const fieldsOption = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/**
 * The `state:` key every stateful rule may carry beside its kind's key. Defaults come from the
 * config's `state` section; a ttl never shorter than what the rule's window or learning period
 * needs, a week at least for a baseline.
 */
export const stateBoundsOptions = z
  .object({
    max_keys: z.number().int().min(1).optional().describe('most keys (join values, workloads) the rule keeps; beyond it the least recently touched is evicted (default: config state.max_keys)'),
    ttl: durationOption.optional().describe("how long, in event time, a key is kept after its last event; at least the rule's window or learning period (default: config state.ttl)"),
  })
  .strict()
  .describe("bounds of the rule's state");
