/**
 * The alert lifecycle between detection and outputs: enrich, suppress, deduplicate, rate-limit.
 * One class with `process(alert)`, `tick(nowNs)` and `flush()`, each returning the alerts to
 * send now, so the service, `lanner replay` and tests drive it alike; `alertLifecycle()` wraps it
 * as an RxJS operator. Windows and cooldowns run on event time (the alert's `timeNs`), so a replay
 * behaves as the live run did; `tick` closes them when no alert arrives to move time on.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Counter } from 'prom-client';
import { nowNs } from '../../core/time.js';
import { ruleCounters, suppressedCounters } from '../../metrics/event-labels.js';
import type { LannerMetrics } from '../../metrics/metrics.js';
import type { StageErrorHandler } from '../../metrics/stage-errors.js';
import type { Alert } from '../alert.js';
import { enrichAlert, type EnrichOptions } from '../enrich.js';
import { Deduplicator, type DedupOptions } from './dedup.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';
import type { Suppression } from './suppress.js';

export interface LifecycleOptions {
  /** Undefined turns deduplication off. */
  readonly dedup?: DedupOptions;
  readonly rateLimit?: RateLimitOptions;
  readonly suppressions: readonly Suppression[];
  readonly enrich: EnrichOptions;
}

/** What the lifecycle reports as it goes; `lifecycleMetrics` binds it to Prometheus. */
export interface LifecycleMetrics {
  folded(rule: string): void;
  rateLimited(rule: string): void;
  suppressed(rule: string, suppression: string): void;
  /** Open incidents, after each change. */
  openIncidents(n: number): void;
}

export interface LifecycleStats {
  readonly received: number;
  readonly sent: number;
  readonly suppressed: number;
  readonly folded: number;
  readonly rateLimited: number;
  readonly summaries: number;
  readonly limitAlerts: number;
  readonly openIncidents: number;
  readonly incidentsEvicted: number;
}

const NONE: readonly Alert[] = Object.freeze([]);

export class AlertLifecycle {
  private readonly dedup: Deduplicator | undefined;
  private readonly limiter: RateLimiter | undefined;
  private readonly stats_ = { received: 0, sent: 0, suppressed: 0, folded: 0, rateLimited: 0, summaries: 0, limitAlerts: 0 };

  constructor(
    private readonly options: LifecycleOptions,
    private readonly metrics?: LifecycleMetrics,
  ) {
    this.dedup = options.dedup ? new Deduplicator(options.dedup) : undefined;
    this.limiter = options.rateLimit ? new RateLimiter(options.rateLimit) : undefined;
  }

  get stats(): LifecycleStats {
    return { ...this.stats_, openIncidents: this.dedup?.size ?? 0, incidentsEvicted: this.dedup?.evicted ?? 0 };
  }

  /** The alerts to send for one detected alert: itself or nothing, plus any summaries now due. */
  process(detected: Alert): readonly Alert[] {
    this.stats_.received++;
    const alert = enrichAlert(detected, this.options.enrich);
    for (const s of this.options.suppressions) {
      if (s.matches(alert)) {
        this.stats_.suppressed++;
        this.metrics?.suppressed(alert.rule, s.name);
        return NONE;
      }
    }
    const out: Alert[] = [];
    let toSend: Alert | undefined = alert;
    this.limiter?.expire(alert.timeNs, out);
    if (this.dedup) {
      this.dedup.expire(alert.timeNs, out);
      const key = this.dedup.keyOf(alert);
      // A repeat of an open incident is folded before the rate limit: it costs no budget.
      if (this.dedup.fold(key, alert, out)) {
        this.stats_.folded++;
        this.metrics?.folded(alert.rule);
        toSend = undefined;
      } else if (this.limiter && !this.limiter.admit(alert, out)) {
        // Held back: no incident is opened, so its repeats are counted as held back too.
        toSend = this.heldBack(alert);
      } else {
        toSend = this.dedup.open(key, alert, out);
      }
      this.metrics?.openIncidents(this.dedup.size);
    } else if (this.limiter && !this.limiter.admit(alert, out)) {
      toSend = this.heldBack(alert);
    }
    this.count(out);
    if (toSend) {
      out.push(toSend);
      this.stats_.sent++;
    }
    return out.length === 0 ? NONE : out;
  }

  /** Closes cooldowns and rate windows that ended by `now` (ns); returns summaries and limit alerts. */
  tick(now: bigint): readonly Alert[] {
    const out: Alert[] = [];
    this.dedup?.expire(now, out);
    this.limiter?.expire(now, out);
    if (this.dedup) this.metrics?.openIncidents(this.dedup.size);
    this.count(out);
    return out.length === 0 ? NONE : out;
  }

  /** Closes everything open (shutdown, end of replay); returns what is due. */
  flush(): readonly Alert[] {
    const out: Alert[] = [];
    this.dedup?.flush(out);
    this.limiter?.flush(out);
    if (this.dedup) this.metrics?.openIncidents(0);
    this.count(out);
    return out;
  }

  private heldBack(alert: Alert): undefined {
    this.stats_.rateLimited++;
    this.metrics?.rateLimited(alert.rule);
    return undefined;
  }

  private count(out: readonly Alert[]): void {
    for (const a of out) {
      if (a.held_back) this.stats_.limitAlerts++;
      else this.stats_.summaries++;
    }
  }
}

export interface LifecycleOperatorOptions {
  /** How often to close ended cooldowns by wall-clock time; 0 for replays (event time only). */
  readonly tickMs: number;
  /** Wall clock in ns, for ticks. */
  readonly clock?: () => bigint;
  /** Told of an alert the lifecycle failed on, which is then skipped; without it, the stream errors. */
  readonly onError?: StageErrorHandler;
}

/**
 * The lifecycle as an RxJS operator: alerts in, alerts to send out. On completion it flushes,
 * so a replay ends with every summary and limit alert. The tick timer is unref'd: it never
 * keeps the process alive on its own.
 */
export function alertLifecycle(lifecycle: AlertLifecycle, options: LifecycleOperatorOptions): OperatorFunction<Alert, Alert> {
  const clock = options.clock ?? nowNs;
  return (source) =>
    new Observable<Alert>((subscriber) => {
      const emit = (alerts: readonly Alert[]): void => {
        for (const a of alerts) subscriber.next(a);
      };
      const guarded = (step: () => readonly Alert[], about: { rule?: string; source?: string }): void => {
        let out: readonly Alert[];
        try {
          out = step();
        } catch (err) {
          if (!options.onError) {
            subscriber.error(err);
            return;
          }
          options.onError('lifecycle', err, about);
          return;
        }
        emit(out);
      };
      const timer = options.tickMs > 0 ? setInterval(() => guarded(() => lifecycle.tick(clock()), {}), options.tickMs) : undefined;
      timer?.unref();
      const sub = source.subscribe({
        next: (alert) => guarded(() => lifecycle.process(alert), { rule: alert.rule, source: alert.source }),
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          guarded(() => lifecycle.flush(), {});
          subscriber.complete();
        },
      });
      return () => {
        if (timer) clearInterval(timer);
        sub.unsubscribe();
      };
    });
}

/**
 * Binds lifecycle reports to Lanner's metrics, resolving each label child once. Rule names
 * come from alerts (Falco's own, or forged ones, included), so they go through the registry's
 * rule bound: the loaded rules and a fixed number of others, then one overflow value.
 */
export function lifecycleMetrics(metrics: LannerMetrics, suppressed?: Counter<'rule' | 'suppression'>): LifecycleMetrics {
  const folded = ruleCounters(metrics, metrics.alertsFolded);
  const limited = ruleCounters(metrics, metrics.alertsRateLimited);
  const suppressedBy = suppressed && suppressedCounters(metrics, suppressed);
  return {
    folded: (rule) => folded.get(rule).inc(),
    rateLimited: (rule) => limited.get(rule).inc(),
    suppressed: (rule, name) => suppressedBy?.get(rule, name).inc(),
    openIncidents: () => {},
  };
}
