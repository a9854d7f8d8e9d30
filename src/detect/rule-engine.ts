/**
 * Runs compiled rules over feed events: stateless matches, and stateful rules through the
 * matcher their kind builds (sequences, thresholds, baselines: STATEFUL_KINDS), indexed by
 * `evt.type` so an event meets only the rules that can match it. Windows run on event time;
 * the engine's clock is the newest event time it has seen.
 */
import type { Alert } from '../alerts/alert.js';
import { detectionAlertId, processOf, workloadOf } from '../alerts/alert.js';
import type { FalcoEvent } from '../core/event.js';
import { deferredCount, deferredLevel, removeDeferredSeries, type DeferredCount } from '../metrics/deferred.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { predicateBatch, type BatchEvaluator } from '../rules/compiler/codegen.js';
import type { DetectionRule, Predicate, StateBounds } from '../rules/compiler/detection-rule.js';
import type { ProfileSnapshot } from './stateful/baseline.js';
import type { StateObserver } from './stateful/bounded-state.js';
import { eventTimeMs } from './stateful/keys.js';
import type { StatefulHit, StatefulMatcher } from './stateful/matcher.js';
import { findStatefulKind } from './stateful/registry.js';

export const DEFAULT_BOUNDS: StateBounds = { maxKeys: 10_000, ttlMs: 10 * 60_000 };
/** How far event time advances between sweeps of expired state. */
const SWEEP_EVERY_NS = 1_000_000_000n;
/**
 * A jump of the event clock larger than this is taken only when a second event confirms it:
 * one event from a skewed clock days ahead must not expire every window and profile at once.
 */
const CLOCK_JUMP_NS = 10n * 60n * 1_000_000_000n;
/**
 * How far behind the newest event time state expires: events from several sources, or a
 * source's own buffering, arrive a little out of order, and one that is late by less than this
 * still counts, the same in a replay as live. Absence alerts wait this much longer.
 */
const ALLOWED_LATENESS_MS = 2000;

export interface EngineDeps {
  readonly metrics: LannerMetrics;
  /** Learned profiles to start from, by rule name (from the state file). */
  readonly baselines?: ReadonlyMap<string, readonly ProfileSnapshot[]>;
  /** When the event being processed entered Lanner, for latency metrics. */
  readonly ingestedAtMs?: () => number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A rule as the per-event loop needs it. What the loop reads is copied here from the rule (which
 * comes in several shapes), so every read in the loop meets one object shape.
 */
interface Runner {
  readonly rule: DetectionRule;
  /** Undefined for a stateless rule: a match is an alert. */
  readonly matcher: StatefulMatcher | undefined;
  /** Whether `matched` counts every event a predicate held for, or only completed matches. */
  readonly countsEvents: boolean;
  readonly matched: DeferredCount;
  /** What the rule evaluates per event: its condition, or its matcher's predicates. */
  readonly predicates: readonly Predicate[];
}

/**
 * The rules that can match one event type of one source, with every predicate they evaluate
 * batched into one evaluator: an event costs one call per few rules, and only the rules with a
 * predicate that holds go on to their matcher. Most feed events match nothing.
 */
class Plan {
  readonly evaluate: BatchEvaluator;
  /** Per predicate: the runner it belongs to and its place among that runner's predicates. */
  private readonly owner: Int32Array;
  private readonly place: Int32Array;
  /** Scratch: predicate indexes that held, then one runner's results as its matcher takes them. */
  readonly hits: Int32Array;
  readonly matched: Uint8Array;

  constructor(
    readonly runners: readonly Runner[],
    /** The evt.type of every event the plan sees; undefined for events of other types. */
    type: string | undefined,
  ) {
    const predicates: Predicate[] = [];
    const owner: number[] = [];
    const place: number[] = [];
    let widest = 0;
    runners.forEach((r, i) => {
      r.predicates.forEach((p, j) => {
        predicates.push(p);
        owner.push(i);
        place.push(j);
      });
      widest = Math.max(widest, r.predicates.length);
    });
    this.evaluate = predicateBatch(predicates, type);
    this.owner = Int32Array.from(owner);
    this.place = Int32Array.from(place);
    this.hits = new Int32Array(predicates.length);
    this.matched = new Uint8Array(widest);
  }

  ownerOf(predicate: number): number {
    return this.owner[predicate]!;
  }

  placeOf(predicate: number): number {
    return this.place[predicate]!;
  }
}

/** The plans of one event source: by event type, and for events of any other type. */
interface SourcePlans {
  readonly byType: ReadonlyMap<string, Plan>;
  readonly anyType: Plan;
}

export class RuleEngine {
  private readonly bySource = new Map<string, SourcePlans>();
  private readonly runners: Runner[] = [];
  /**
   * The newest event time seen, kept as the event's own bigint: comparing bigints is cheap, and
   * converting every event's time to milliseconds is not (only stateful rules need them).
   */
  private watermarkNs: bigint | undefined;
  /** An event time beyond CLOCK_JUMP_NS ahead, waiting for a second event to confirm it. */
  private aheadNs: bigint | undefined;
  /** Event time at which the next sweep is due; undefined until the first. */
  private nextSweepNs: bigint | undefined;
  /** Scratch: what a matcher completed, emptied as alerts before the next matcher runs. */
  private readonly hits: StatefulHit[] = [];

  constructor(
    readonly rules: readonly DetectionRule[],
    private readonly deps: EngineDeps,
    previous?: RuleEngine,
  ) {
    // The rules in force keep series of their own in every rule- and source-labelled metric,
    // however many made-up names a sender posted before this load.
    deps.metrics.labels.rule.know(rules.map((r) => r.name));
    deps.metrics.labels.source.know(rules.map((r) => r.source));
    for (const rule of rules) {
      const kept = previous?.runners.find((r) => r.rule.name === rule.name && r.rule.fingerprint === rule.fingerprint);
      const matcher = kept ? kept.matcher : this.matcherFor(rule);
      this.runners.push({
        rule,
        matcher,
        countsEvents: matcher === undefined || matcher.counts === 'event',
        matched: deferredCount(deps.metrics.ruleMatches, { rule: rule.name }),
        predicates: matcher ? matcher.predicates : [rule.matches],
      });
    }
    this.index();
    if (previous) {
      this.watermarkNs = previous.watermarkNs;
      this.nextSweepNs = previous.nextSweepNs;
      // Rules that went away take their state gauges with them.
      for (const old of previous.runners) {
        if (!this.runners.some((r) => r.matcher === old.matcher)) removeDeferredSeries(deps.metrics.stateKeys, { rule: old.rule.name });
      }
    }
  }

  /** Feeds one event; appends the alerts it raises to `out`. */
  process(event: FalcoEvent, out: Alert[]): void {
    if (!event.feed) return;
    const timeNs = event.timeNs;
    this.advanceClock(timeNs);
    const plans = this.bySource.get(event.source);
    if (plans) {
      const type = event.fields['evt.type'];
      const plan = (typeof type === 'string' ? plans.byType.get(type) : undefined) ?? plans.anyType;
      try {
        this.runPlan(plan, event, out);
      } catch (err) {
        // What a rule half-completed must not come out with the next rule's alerts.
        this.hits.length = 0;
        throw err;
      }
    }
    if (this.nextSweepNs === undefined || this.watermarkNs! >= this.nextSweepNs) this.sweep(out);
  }

  private advanceClock(timeNs: bigint): void {
    const w = this.watermarkNs;
    if (w === undefined || timeNs - w <= CLOCK_JUMP_NS) {
      if (w === undefined || timeNs > w) this.watermarkNs = timeNs;
      // An event in step with the clock: a jump waiting for confirmation was a stray.
      this.aheadNs = undefined;
      return;
    }
    // Far ahead: a skewed source, or time that really moved on (a gap in a replayed capture).
    // The second such event in a row confirms it, and the clock moves to the nearer of the two.
    if (this.aheadNs === undefined) {
      this.aheadNs = timeNs;
      return;
    }
    this.watermarkNs = timeNs < this.aheadNs ? timeNs : this.aheadNs;
    this.aheadNs = undefined;
  }

  /**
   * The end of the input: the last moment of event time. A jump no second event could confirm
   * is taken, so a replay or rule test ending with a later event fires what it passed.
   */
  end(out: Alert[]): void {
    // A waiting jump is always ahead of the clock.
    if (this.aheadNs !== undefined) this.watermarkNs = this.aheadNs;
    this.aheadNs = undefined;
    // Nothing can arrive late any more.
    this.sweep(out, 0);
  }

  /** Expires state up to the newest event time and fires absence steps that ran out. */
  sweep(out: Alert[], lateMs = ALLOWED_LATENESS_MS): void {
    if (this.watermarkNs === undefined) return;
    this.nextSweepNs = this.watermarkNs + SWEEP_EVERY_NS;
    const watermarkMs = Number(this.watermarkNs) / 1e6 - lateMs;
    let failure: unknown;
    for (const runner of this.runners) {
      if (runner.matcher === undefined) continue;
      try {
        runner.matcher.expire(watermarkMs, this.hits);
        this.emitHits(runner, out);
      } catch (err) {
        // One matcher failing to expire must not leave every other rule's state to grow.
        this.hits.length = 0;
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /** Forgets the given workloads' profiles, by baseline rule name. */
  forgetBaselines(workloads: ReadonlyMap<string, ReadonlySet<string>>): void {
    for (const r of this.runners) {
      const forget = workloads.get(r.rule.name);
      const m = r.matcher;
      if (forget && m?.forget) for (const w of forget) m.forget(w);
    }
  }

  /** Whether any rule is a baseline (a matcher with saved state), whose profiles the state file keeps. */
  hasBaselines(): boolean {
    return this.runners.some((r) => r.matcher?.snapshot !== undefined);
  }

  /** Every baseline rule's learned profiles, for the state file. */
  baselineSnapshots(): Map<string, ProfileSnapshot[]> {
    const out = new Map<string, ProfileSnapshot[]>();
    for (const r of this.runners) if (r.matcher?.snapshot) out.set(r.rule.name, r.matcher.snapshot());
    return out;
  }

  /** Evaluates the plan's predicates and runs each rule that had one hold, in rule order. */
  private runPlan(plan: Plan, event: FalcoEvent, out: Alert[]): void {
    const { hits, matched } = plan;
    const n = plan.evaluate(event, hits);
    if (n === 0) return;
    const nowMs = eventTimeMs(event);
    let i = 0;
    while (i < n) {
      const r = plan.ownerOf(hits[i]!);
      const runner = plan.runners[r]!;
      const matcher = runner.matcher;
      if (matcher === undefined) {
        runner.matched.inc();
        out.push(this.alert(runner.rule, [event], runner.rule.render(event)));
        i++;
        continue;
      }
      // A matcher takes all its predicates' results at once: their hits are consecutive.
      for (let j = 0; j < runner.predicates.length; j++) matched[j] = 0;
      for (; i < n && plan.ownerOf(hits[i]!) === r; i++) matched[plan.placeOf(hits[i]!)] = 1;
      if (runner.countsEvents) runner.matched.inc();
      // One call site for every kind: polymorphic over the few registered matcher classes (V8
      // keeps up to four receiver shapes inline, not megamorphic), and reached only by events
      // one of the rule's predicates held for; most feed events never get here.
      matcher.feed(event, nowMs, matched, this.hits);
      this.emitHits(runner, out);
    }
  }

  /** Turns what the runner's matcher completed into alerts, in the order it completed them. */
  private emitHits(runner: Runner, out: Alert[]): void {
    if (this.hits.length === 0) return;
    const { rule } = runner;
    for (const hit of this.hits) {
      if (!runner.countsEvents) runner.matched.inc();
      const last = hit.events[hit.events.length - 1]!;
      const output = hit.detail === undefined ? rule.render(last) : `${rule.render(last)} (${hit.detail})`;
      out.push(this.alert(rule, hit.events, output));
    }
    this.hits.length = 0;
  }

  private alert(rule: DetectionRule, evidence: readonly FalcoEvent[], output: string): Alert {
    const last = evidence[evidence.length - 1]!;
    const ingestedAtMs = this.deps.ingestedAtMs?.();
    const alert: Mutable<Alert> = {
      // Set below, from the alert's identity.
      id: '',
      timeNs: last.timeNs,
      rule: rule.name,
      priority: rule.priority,
      source: last.source,
      hostname: last.hostname,
      output,
      tags: rule.tags,
      origin: 'lanner',
      workload: workloadOf(last.fields),
      process: processOf(last.fields),
      evidence,
      count: 1,
    };
    // Optional keys are set rather than spread in: each spread costs a copy per alert.
    if (rule.runbook) alert.runbook = rule.runbook;
    if (rule.actions && rule.actions.length > 0) alert.actions = rule.actions;
    if (ingestedAtMs !== undefined) alert.ingestedAtMs = ingestedAtMs;
    alert.id = detectionAlertId(alert);
    return alert;
  }

  private matcherFor(rule: DetectionRule): StatefulMatcher | undefined {
    const spec = rule.stateful;
    if (!spec) return undefined;
    const kind = findStatefulKind(spec.kind);
    // The compiler makes specs only of kinds it knows: a missing one is a kind left unregistered.
    if (!kind) throw new Error(`rule '${rule.name}': no stateful kind '${spec.kind}' is registered`);
    const matcher = kind.create(spec, rule.bounds ?? DEFAULT_BOUNDS, { condition: rule.matches, observer: this.observerFor(rule.name) });
    const saved = this.deps.baselines?.get(rule.name);
    if (saved && matcher.restore) matcher.restore(saved);
    return matcher;
  }

  private observerFor(rule: string): StateObserver {
    const evictions = deferredCount(this.deps.metrics.stateEvictions, { rule });
    const keys = deferredLevel(this.deps.metrics.stateKeys, { rule });
    return { evicted: (n) => evictions.inc(n), size: (n) => keys.set(n) };
  }

  /**
   * Plans per source and event type. Each type's plan holds its typed rules, then the rules of
   * any type, each group in definition order: the order alerts come out in.
   */
  private index(): void {
    for (const source of new Set(this.runners.map((r) => r.rule.source))) {
      const own = this.runners.filter((r) => r.rule.source === source);
      const anyType = own.filter((r) => r.rule.eventTypes === undefined);
      const types = new Set(own.flatMap((r) => (r.rule.eventTypes ? [...r.rule.eventTypes] : [])));
      const byType = new Map<string, Plan>();
      for (const t of types) byType.set(t, new Plan([...own.filter((r) => r.rule.eventTypes?.has(t)), ...anyType], t));
      this.bySource.set(source, { byType, anyType: new Plan(anyType, undefined) });
    }
  }
}
