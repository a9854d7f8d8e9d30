/**
 * The running detector: sources → ingest queue → detection pipeline → outputs, with the
 * operations server beside it. Lifecycle is start, drain, close, in that order, each awaited.
 */
import type { Subscription } from 'rxjs';
import type { ActionEngine } from '../actions/action-engine.js';
import type { Alert } from '../alerts/alert.js';
import { familyOf } from '../alerts/family.js';
import { AlertLifecycle, alertLifecycle, lifecycleMetrics, type LifecycleOptions } from '../alerts/lifecycle/lifecycle.js';
import type { Logger } from '../core/log.js';
import { detectionPipeline, type Detector } from '../detect/pipeline.js';
import { IngestQueue } from '../ingest/ingest-queue.js';
import type { Source } from '../ingest/source.js';
import { alertCounters } from '../metrics/event-labels.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import type { Output } from '../outputs/output.js';
import { OpsServer, type ApiHandler } from '../server/ops-server.js';
import type { ConnectionLimits } from '../core/listen.js';
import { stageErrorHandler, type StageErrorHandler } from '../metrics/stage-errors.js';
import type { HostPort } from '../core/listen.js';

export interface ServiceParts {
  readonly logger: Logger;
  readonly metrics: LannerMetrics;
  readonly sources: readonly Source[];
  readonly outputs: readonly Output[];
  readonly detectors: readonly Detector[];
  readonly queueSize: number;
  /**
   * How far ahead of the wall clock an event may be stamped; further is refused before
   * detection. Omitted: no bound (a replay, whose clock is its events' time).
   */
  readonly maxFutureSkewMs?: number;
  /** Dedup, rate limits, suppressions and enrichment of alerts on their way out. */
  readonly alerts?: LifecycleOptions;
  /** HOST:PORT of /metrics, /healthz, /readyz; omitted to run without it (replay). */
  readonly opsListen?: string;
  /** Told of an item a stage failed on and skipped; by default counted and logged with these metrics and logger. */
  readonly onStageError?: StageErrorHandler;
  /** The limits the operations server holds its clients to; defaults in core/listen.ts. */
  readonly opsLimits?: ConnectionLimits;
  /** Parts with a life of their own (rule reloads, state saving): started last, closed first. */
  readonly stages?: readonly { start(): void; close(): void | Promise<void> }[];
  /** Where Lanner runs, stamped on every alert. */
  readonly context?: { readonly node: string; readonly cluster: string };
  /**
   * `wall`: the alert lifecycle also ticks on the wall clock, so cooldowns end while nothing
   * arrives, and latency is measured; `event`: event time alone (a replay), flushed at the end.
   */
  readonly clock?: 'wall' | 'event';
  /** Response actions for alerts that ask for them; the service sends their audit records to the outputs. */
  readonly actions?: ActionEngine;
  /** Extra routes on the operations server (the action API). */
  readonly api?: ApiHandler;
}

export interface ServiceStats {
  readonly alerts: number;
  readonly alertsByRule: ReadonlyMap<string, number>;
}

export class LannerService {
  readonly queue: IngestQueue;
  private readonly ops: OpsServer | undefined;
  private subscription: Subscription | undefined;
  private pipelineError: Error | undefined;
  private pipelineDone: Promise<void> = Promise.resolve();
  private started = false;
  private alertCount = 0;
  private readonly byRule = new Map<string, number>();
  private readonly alertListeners: ((alert: Alert) => void)[] = [];
  /** The shared alert counters: loaded rules keep their own series whatever names are forged. */
  private readonly alertCounters: ReturnType<typeof alertCounters>;
  private readonly onStageError: StageErrorHandler;

  constructor(private readonly parts: ServiceParts) {
    this.onStageError = parts.onStageError ?? stageErrorHandler(parts.metrics, parts.logger);
    this.alertCounters = alertCounters(parts.metrics);
    this.queue = new IngestQueue(
      { capacity: parts.queueSize, ...(parts.maxFutureSkewMs === undefined ? {} : { maxFutureSkewMs: parts.maxFutureSkewMs }) },
      parts.metrics,
      parts.logger,
    );
    parts.actions?.sendRecordsTo((record) => this.sendRecord(record));
    this.ops = parts.opsListen
      ? new OpsServer({
          listen: parts.opsListen,
          metrics: parts.metrics,
          logger: parts.logger,
          health: () => this.health(),
          ready: () => this.readiness(),
          ...(parts.api ? { api: parts.api } : {}),
          ...(parts.opsLimits ? { limits: parts.opsLimits } : {}),
        })
      : undefined;
  }

  /** The sources, started with the service (the demo waits on its Falco connection). */
  /** Null while the detection pipeline runs (what /healthz answers), else why it stopped. */
  health(): string | null {
    return this.pipelineError ? `detection pipeline failed: ${this.pipelineError.message}` : null;
  }

  get sources(): readonly Source[] {
    return this.parts.sources;
  }

  /** The response engine, when the service has one (the demo waits on its decisions). */
  get actions(): ActionEngine | undefined {
    return this.parts.actions;
  }

  get opsAddress(): HostPort | undefined {
    return this.ops?.address;
  }

  get stats(): ServiceStats {
    return { alerts: this.alertCount, alertsByRule: this.byRule };
  }

  /** Calls `listener` for every alert after the outputs have it (the demo's summary uses this). */
  onAlert(listener: (alert: Alert) => void): void {
    this.alertListeners.push(listener);
  }

  async start(): Promise<void> {
    const { logger, metrics } = this.parts;
    const wall = (this.parts.clock ?? 'wall') === 'wall';
    const onError = this.onStageError;
    const detected$ = detectionPipeline(this.queue.events$, {
      detectors: this.parts.detectors,
      ...(wall ? { ingestedAtMs: () => this.queue.currentIngestedAtMs } : {}),
      onError,
    });
    const alerts$ = this.parts.alerts
      ? detected$.pipe(alertLifecycle(new AlertLifecycle(this.parts.alerts, lifecycleMetrics(metrics, metrics.alertsSuppressed)), { tickMs: wall ? 1000 : 0, onError }))
      : detected$;
    this.pipelineDone = new Promise<void>((resolve) => {
      this.subscription = alerts$.subscribe({
        next: (alert) => this.emit(alert),
        error: (err: unknown) => {
          this.pipelineError = err instanceof Error ? err : new Error(String(err));
          logger.fatal({ err: this.pipelineError.message }, 'detection pipeline failed');
          resolve();
        },
        complete: () => resolve(),
      });
    });
    if (this.ops) await this.ops.start();
    for (const source of this.parts.sources) {
      await source.start(this.queue);
      logger.info({ source: source.name }, 'source started');
    }
    for (const stage of this.parts.stages ?? []) stage.start();
    this.parts.actions?.start();
    this.started = true;
    metrics.ingestQueueDepth.set(0);
  }

  /** Stops every source, then lets detection finish what is queued. */
  async drain(): Promise<void> {
    await Promise.all(this.parts.sources.map((s) => s.close()));
    await this.queue.complete();
    await this.pipelineDone;
  }

  /** Flushes and closes the outputs and the operations server. */
  async close(): Promise<void> {
    for (const stage of this.parts.stages ?? []) await stage.close();
    this.subscription?.unsubscribe();
    // Decisions still queued finish before the outputs close, so their audit records go out.
    await this.parts.actions?.close();
    await Promise.all(this.parts.outputs.map((o) => o.close()));
    await this.ops?.close();
    this.started = false;
  }

  /** drain then close, giving up on the rest after `graceMs` so shutdown always ends. */
  async stop(graceMs: number): Promise<'clean' | 'timed_out'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timed_out'>((resolve) => {
      timer = setTimeout(() => resolve('timed_out'), graceMs);
      timer.unref();
    });
    const stopped = (async () => {
      await this.drain();
      await this.close();
      return 'clean' as const;
    })();
    const outcome = await Promise.race([stopped, timeout]);
    clearTimeout(timer);
    if (outcome === 'timed_out') {
      this.parts.logger.warn({ grace_ms: graceMs, queued: this.queue.depth }, 'shutdown grace period ran out; remaining work abandoned');
    }
    return outcome;
  }

  private emit(detected: Alert): void {
    const { metrics, context } = this.parts;
    const alert: Alert = context ? { ...detected, node: context.node, ...(context.cluster ? { cluster: context.cluster } : {}) } : detected;
    this.alertCounters.get(alert.rule, alert.priority, familyOf(alert)).inc();
    if (alert.ingestedAtMs !== undefined) {
      metrics.ingestToAlertSeconds.observe((performance.now() - alert.ingestedAtMs) / 1000);
      // Only for live alerts: a replayed capture's event times are hours or days old.
      metrics.eventToAlertSeconds.observe(Math.max(0, Date.now() / 1000 - Number(alert.timeNs / 1_000_000n) / 1000));
    }
    this.alertCount++;
    // By the bounded rule label: forged rule names must not grow this map without end.
    const rule = this.parts.metrics.labels.rule.labelOf(alert.rule);
    this.byRule.set(rule, (this.byRule.get(rule) ?? 0) + 1);
    // Each on its own: an output that fails on one alert must not keep it from the others,
    // nor from the responders.
    for (const output of this.parts.outputs) this.guarded(alert, () => output.send(alert));
    if (this.parts.actions) this.guarded(alert, () => this.parts.actions!.handle(alert));
    for (const listener of this.alertListeners) this.guarded(alert, () => listener(alert));
  }

  private guarded(alert: Alert, deliver: () => void): void {
    try {
      deliver();
    } catch (err) {
      this.onStageError('outputs', err, { rule: alert.rule, source: alert.source });
    }
  }

  /** Sends an audit record or action-limit alert to every output, past the alert lifecycle. */
  sendRecord(record: Alert): void {
    for (const output of this.parts.outputs) output.send(record);
    for (const listener of this.alertListeners) listener(record);
  }

  private readiness(): string | null {
    if (!this.started) return 'starting';
    if (this.pipelineError) return 'detection pipeline failed';
    // Ready when some source can deliver: Falco's stream is up, or Falco can post to us.
    let reason: string | null = 'no source';
    for (const source of this.parts.sources) {
      const why = source.ready();
      if (why === null) return null;
      reason = why;
    }
    return reason;
  }
}
