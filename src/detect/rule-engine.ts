/**
 * Runs compiled rules over feed events: stateless matches, sequences, thresholds and
 * baselines, indexed by `evt.type` so an event meets only the rules that can match it.
 * Windows run on event time; the engine's clock is the newest event time it has seen.
 */
import { randomUUID } from 'node:crypto';
import type { Alert } from '../alerts/alert.js';
import { processOf, workloadOf } from '../alerts/alert.js';
import type { FalcoEvent } from '../core/event.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import type { DetectionRule, StateBounds } from './detection-rule.js';
import { BaselineLearner, type ProfileSnapshot } from './stateful/baseline.js';
import type { StateObserver } from './stateful/bounded-state.js';
import { eventTimeMs, keyOf } from './stateful/keys.js';
import { SequenceMatcher, type SequenceHit } from './stateful/sequence.js';
import { ThresholdCounter } from './stateful/threshold.js';

export const DEFAULT_BOUNDS: StateBounds = { maxKeys: 10_000, ttlMs: 10 * 60_000 };
/** How far event time advances between sweeps of expired state. */
const SWEEP_EVERY_MS = 1000;

export interface EngineDeps {
  readonly metrics: LannerMetrics;
  /** Learned profiles to start from, by rule name (from the state file). */
  readonly baselines?: ReadonlyMap<string, readonly ProfileSnapshot[]>;
  /** When the event being processed entered Lanner, for latency metrics. */
  readonly ingestedAtMs?: () => number;
}

type Matcher = SequenceMatcher | ThresholdCounter | BaselineLearner | undefined;

interface Runner {
  readonly rule: DetectionRule;
  readonly matcher: Matcher;
  readonly matched: { inc(): void };
}

export class RuleEngine {
  private readonly byType = new Map<string, Runner[]>();
  private readonly anyType: Runner[] = [];
  private readonly runners: Runner[] = [];
  private watermarkMs = -Infinity;
  private lastSweepMs = -Infinity;
  private readonly hits: SequenceHit[] = [];

  constructor(
    readonly rules: readonly DetectionRule[],
    private readonly deps: EngineDeps,
    previous?: RuleEngine,
  ) {
    for (const rule of rules) {
      const kept = previous?.runners.find((r) => r.rule.name === rule.name && r.rule.fingerprint === rule.fingerprint);
      const runner: Runner = {
        rule,
        matcher: kept ? kept.matcher : this.matcherFor(rule),
        matched: deps.metrics.ruleMatches.labels(rule.name),
      };
      this.runners.push(runner);
      if (rule.eventTypes === undefined) this.anyType.push(runner);
      else for (const type of rule.eventTypes) this.index(type, runner);
    }
    if (previous) {
      this.watermarkMs = previous.watermarkMs;
      this.lastSweepMs = previous.lastSweepMs;
      // Rules that went away take their state gauges with them.
      for (const old of previous.runners) {
        if (!this.runners.some((r) => r.matcher === old.matcher)) deps.metrics.stateKeys.remove(old.rule.name);
      }
    }
  }

  /** Feeds one event; appends the alerts it raises to `out`. */
  process(event: FalcoEvent, out: Alert[]): void {
    if (!event.feed) return;
    const nowMs = eventTimeMs(event);
    if (nowMs > this.watermarkMs) this.watermarkMs = nowMs;
    const type = event.fields['evt.type'];
    const typed = typeof type === 'string' ? this.byType.get(type) : undefined;
    if (typed) for (let i = 0; i < typed.length; i++) this.run(typed[i]!, event, nowMs, out);
    for (let i = 0; i < this.anyType.length; i++) this.run(this.anyType[i]!, event, nowMs, out);
    if (this.watermarkMs - this.lastSweepMs >= SWEEP_EVERY_MS) this.sweep(out);
  }

  /** Expires state up to the newest event time and fires absence steps that ran out. */
  sweep(out: Alert[]): void {
    this.lastSweepMs = this.watermarkMs;
    for (const runner of this.runners) {
      const m = runner.matcher;
      if (m instanceof SequenceMatcher) {
        m.expire(this.watermarkMs, this.hits);
        this.emitHits(runner, out);
      } else if (m) {
        m.expire(this.watermarkMs);
      }
    }
  }

  /** Every baseline rule's learned profiles, for the state file. */
  baselineSnapshots(): Map<string, ProfileSnapshot[]> {
    const out = new Map<string, ProfileSnapshot[]>();
    for (const r of this.runners) if (r.matcher instanceof BaselineLearner) out.set(r.rule.name, r.matcher.snapshot());
    return out;
  }

  private run(runner: Runner, event: FalcoEvent, nowMs: number, out: Alert[]): void {
    const { rule, matcher } = runner;
    if (event.source !== rule.source) return;
    if (matcher instanceof SequenceMatcher) {
      matcher.process(event, nowMs, this.hits);
      this.emitHits(runner, out);
      return;
    }
    if (!rule.matches(event)) return;
    runner.matched.inc();
    if (matcher === undefined) {
      out.push(this.alert(rule, [event], rule.render(event)));
    } else if (matcher instanceof ThresholdCounter) {
      const hit = matcher.add(event, nowMs);
      if (hit) out.push(this.alert(rule, hit.events, `${rule.render(event)} (${hit.count} events within the window)`));
    } else {
      const hit = matcher.observe(event, nowMs);
      if (hit) out.push(this.alert(rule, [event], `${rule.render(event)} (never seen for this workload: ${hit.value.replaceAll('\u001f', ' ')})`));
    }
  }

  private emitHits(runner: Runner, out: Alert[]): void {
    if (this.hits.length === 0) return;
    for (const hit of this.hits) {
      runner.matched.inc();
      const last = hit.events[hit.events.length - 1]!;
      out.push(this.alert(runner.rule, hit.events, runner.rule.render(last)));
    }
    this.hits.length = 0;
  }

  private alert(rule: DetectionRule, evidence: readonly FalcoEvent[], output: string): Alert {
    const last = evidence[evidence.length - 1]!;
    const ingestedAtMs = this.deps.ingestedAtMs?.();
    return {
      id: randomUUID(),
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
      ...(rule.runbook ? { runbook: rule.runbook } : {}),
      ...(rule.actions && rule.actions.length > 0 ? { actions: rule.actions } : {}),
      ...(ingestedAtMs === undefined ? {} : { ingestedAtMs }),
    };
  }

  private matcherFor(rule: DetectionRule): Matcher {
    const spec = rule.stateful;
    if (!spec) return undefined;
    const bounds = rule.bounds ?? DEFAULT_BOUNDS;
    const observer = this.observerFor(rule.name);
    switch (spec.kind) {
      case 'sequence':
        return new SequenceMatcher(
          {
            withinMs: spec.withinMs,
            steps: spec.steps.map((s) => ({ matches: s.matches, key: keyOf(s.by) })),
            ...(spec.absent ? { absence: { matches: spec.absent.matches, key: keyOf(spec.absent.by), withinMs: spec.absent.withinMs } } : {}),
          },
          bounds,
          observer,
        );
      case 'threshold':
        return new ThresholdCounter({ count: spec.count, withinMs: spec.withinMs, key: keyOf(spec.by) }, bounds, observer);
      case 'baseline': {
        const learner = new BaselineLearner({ workload: keyOf(spec.by), value: keyOf(spec.learn), learnMs: spec.learnMs, maxValues: spec.maxValues }, bounds, observer);
        const saved = this.deps.baselines?.get(rule.name);
        if (saved) learner.restore(saved);
        return learner;
      }
    }
  }

  private observerFor(rule: string): StateObserver {
    const evictions = this.deps.metrics.stateEvictions.labels(rule);
    const keys = this.deps.metrics.stateKeys.labels(rule);
    return { evicted: (n) => evictions.inc(n), size: (n) => keys.set(n) };
  }

  private index(type: string, runner: Runner): void {
    const list = this.byType.get(type);
    if (list) list.push(runner);
    else this.byType.set(type, [runner]);
  }
}
