/**
 * The bounded, batched, isolated queue every network output sits behind, after OpenTelemetry's
 * BatchSpanProcessor: `enqueue` never blocks and never throws; a full queue sheds the oldest or
 * the newest alert and counts it; batches leave when full or when the interval passes; one
 * export at a time (so delivery keeps order) with a timeout, retried with exponential backoff
 * and full jitter; timers are unref'd so the queue never holds the process open; `flush()`
 * waits for everything accepted so far; `close()` flushes within a grace period and counts
 * and logs whatever it had to abandon. Nothing is dropped without a metric.
 */
import type { Logger } from '../core/log.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { outputSeries, type OutputSeries } from '../metrics/event-labels.js';

export type ShedPolicy = 'oldest' | 'newest';

export interface BatchQueueOptions {
  readonly maxQueueSize: number;
  readonly maxBatchSize: number;
  /** A batch smaller than maxBatchSize leaves after waiting this long. */
  readonly batchIntervalMs: number;
  /** One export attempt is abandoned (and retried) after this long. */
  readonly exportTimeoutMs: number;
  /** Retries after the first attempt; 0 gives up at the first failure. */
  readonly maxRetries: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly shed: ShedPolicy;
  /** How long `close()` keeps delivering before it abandons what is left. */
  readonly closeTimeoutMs: number;
}

/** What one export attempt achieved. */
export type ExportResult<T> =
  | {
      readonly ok: true;
      /** Items the receiver refused for good (a mapping error, an invalid event): dropped, counted. */
      readonly rejected?: number;
      readonly rejectedReason?: string;
      /** The first refusal's reason, for the log. */
      readonly detail?: string;
      /** Items the receiver asked to have again (per-item back-pressure): retried like a failure. */
      readonly retry?: readonly T[];
    }
  | {
      readonly ok: false;
      /** A short, low-cardinality metric label: `timeout`, `connect`, `http_503`, ... */
      readonly reason: string;
      readonly retryable: boolean;
      /** The receiver's Retry-After, when it gave one. */
      readonly retryAfterMs?: number;
      readonly detail?: string;
    };

export interface Exporter<T> {
  /** Sends one batch. Must honour `signal` (timeout or shutdown); may throw (counted as `error`). */
  export(batch: readonly T[], signal: AbortSignal): Promise<ExportResult<T>>;
  /** Releases connections after the last export. */
  close?(): Promise<void>;
}

export interface BatchQueueDeps {
  readonly name: string;
  readonly logger: Logger;
  readonly metrics: LannerMetrics;
  /** For jitter; injectable so tests can pin it. */
  readonly random?: () => number;
}

interface Entry<T> {
  readonly item: T;
  readonly at: number;
}

export class BatchQueue<T> {
  private readonly queue: Entry<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closing = false;
  private closed = false;
  /** Aborted when close() runs out of time: ends the in-flight export and any backoff wait. */
  private readonly shutdown = new AbortController();
  private accepted = 0;
  private settled = 0;
  private waiters: { target: number; resolve: () => void }[] = [];
  private flushRequested = false;
  private readonly m: OutputSeries;
  private readonly random: () => number;
  private lastFailureLog = 0;

  constructor(
    private readonly options: BatchQueueOptions,
    private readonly exporter: Exporter<T>,
    private readonly deps: BatchQueueDeps,
  ) {
    const { metrics, name } = deps;
    // Every known reason starts at 0: a rate() over a series that appears only with the first
    // drop misses that burst, and the shipped OutputDropping alert with it.
    this.m = outputSeries(metrics, name);
    this.random = deps.random ?? Math.random;
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Accepts an item, or sheds one (counted) when the queue is full. Never blocks. */
  enqueue(item: T): void {
    if (this.closing) {
      this.m.dropped('closed').inc();
      return;
    }
    if (this.queue.length >= this.options.maxQueueSize) {
      if (this.options.shed === 'newest') {
        this.m.dropped('queue_full').inc();
        return;
      }
      this.queue.shift();
      this.m.dropped('queue_full').inc();
      this.settle(1);
    }
    this.queue.push({ item, at: performance.now() });
    this.accepted++;
    this.m.depth.set(this.queue.length);
    if (this.queue.length >= this.options.maxBatchSize) this.kick();
    else this.armTimer();
  }

  /** Resolves once everything accepted before the call is delivered or given up on. */
  flush(): Promise<void> {
    if (this.settled >= this.accepted) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push({ target: this.accepted, resolve }));
    this.flushRequested = true;
    this.kick();
    return done;
  }

  /**
   * Stops accepting, delivers what it can within closeTimeoutMs, then abandons the rest:
   * counted as dropped (`shutdown`) and logged, never lost silently.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.options.closeTimeoutMs);
      timer.unref();
    });
    const outcome = await Promise.race([this.flush().then(() => false), timedOut]);
    clearTimeout(timer);
    if (outcome) {
      // What was never delivered: the queue, and the batch in flight (which settles itself, as
      // dropped, when its export sees the abort). The log line gives the total the operator lost.
      const unsettled = this.accepted - this.settled;
      this.shutdown.abort();
      const left = this.queue.length;
      this.queue.length = 0;
      if (left > 0) {
        this.m.dropped('shutdown').inc(left);
        this.settle(left);
      }
      this.m.depth.set(0);
      await this.flush();
      this.deps.logger.warn(
        { output: this.deps.name, abandoned: unsettled, queued: left, in_flight: unsettled - left, close_timeout_ms: this.options.closeTimeoutMs },
        'output could not deliver everything before shutdown; the rest is counted as dropped',
      );
    }
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.exporter.close?.();
  }

  private armTimer(): void {
    if (this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick(true);
    }, this.options.batchIntervalMs);
    this.timer.unref();
  }

  private kick(intervalElapsed = false): void {
    if (this.running) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    void this.run(intervalElapsed);
  }

  private async run(intervalElapsed: boolean): Promise<void> {
    this.running = true;
    let drainAll = intervalElapsed;
    try {
      while (this.queue.length > 0) {
        const full = this.queue.length >= this.options.maxBatchSize;
        if (!full && !drainAll && !this.flushRequested && !this.closing) break;
        const batch = this.queue.splice(0, this.options.maxBatchSize);
        this.m.depth.set(this.queue.length);
        await this.deliver(batch);
        // Once the interval has passed, what queued meanwhile is also overdue: keep going.
        drainAll = true;
        if (this.shutdown.signal.aborted) break;
      }
    } finally {
      this.running = false;
      if (this.settled >= this.accepted) this.flushRequested = false;
      if (this.queue.length > 0) this.armTimer();
    }
  }

  /** Exports one batch with retries; every item ends up sent or dropped, and counted. */
  private async deliver(entries: Entry<T>[]): Promise<void> {
    let pending = entries;
    for (let attempt = 0; ; attempt++) {
      const result = await this.attempt(pending.map((e) => e.item));
      if (result.ok) {
        const retry = result.retry ? new Set(result.retry) : undefined;
        const rejected = result.rejected ?? 0;
        const again = retry ? pending.filter((e) => retry.has(e.item)) : [];
        const delivered = pending.length - again.length - rejected;
        if (delivered > 0) {
          this.m.sent.inc(delivered);
          const now = performance.now();
          for (const e of pending) if (!retry?.has(e.item)) this.m.latency.observe((now - e.at) / 1000);
        }
        if (rejected > 0) {
          this.m.dropped(result.rejectedReason ?? 'rejected').inc(rejected);
          this.logFailure('receiver rejected alerts', { rejected, reason: result.rejectedReason ?? 'rejected', detail: result.detail });
        }
        this.settle(pending.length - again.length);
        if (again.length === 0) return;
        this.m.failures('partial').inc();
        pending = again;
        if (!(await this.backoff(attempt, pending, undefined))) {
          this.drop(pending, this.shutdown.signal.aborted ? 'shutdown' : 'retries_exhausted', { ok: false, reason: 'partial', retryable: true });
          return;
        }
        continue;
      }
      this.m.failures(result.reason).inc();
      if (!result.retryable) {
        this.drop(pending, result.reason === 'shutdown' ? 'shutdown' : 'rejected', result);
        return;
      }
      if (!(await this.backoff(attempt, pending, result.retryAfterMs))) {
        this.drop(pending, this.shutdown.signal.aborted ? 'shutdown' : 'retries_exhausted', result);
        return;
      }
    }
  }

  /** Waits before retry `attempt + 1`; false when no retry is left or shutdown cut it short. */
  private async backoff(attempt: number, pending: readonly Entry<T>[], retryAfterMs: number | undefined): Promise<boolean> {
    if (attempt >= this.options.maxRetries || this.shutdown.signal.aborted || pending.length === 0) return false;
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffInitialMs * 2 ** attempt);
    // Full jitter spreads retries of many nodes after a shared outage; Retry-After is a floor.
    const delay = Math.min(this.options.backoffMaxMs, Math.max(retryAfterMs ?? 0, this.random() * ceiling));
    return new Promise<boolean>((resolve) => {
      const signal = this.shutdown.signal;
      const onAbort = (): void => {
        clearTimeout(t);
        resolve(false);
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, delay);
      t.unref();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async attempt(batch: readonly T[]): Promise<ExportResult<T>> {
    if (this.shutdown.signal.aborted) return { ok: false, reason: 'shutdown', retryable: false };
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.options.exportTimeoutMs)]);
    try {
      const result = await this.exporter.export(batch, signal);
      if (!result.ok && signal.aborted) return { ...result, reason: this.shutdown.signal.aborted ? 'shutdown' : 'timeout' };
      return result;
    } catch (err) {
      if (signal.aborted) return { ok: false, reason: this.shutdown.signal.aborted ? 'shutdown' : 'timeout', retryable: !this.shutdown.signal.aborted };
      return { ok: false, reason: 'error', retryable: true, detail: (err as Error).message };
    }
  }

  private drop(entries: readonly Entry<T>[], reason: string, result: ExportResult<T>): void {
    this.m.dropped(reason).inc(entries.length);
    this.settle(entries.length);
    this.logFailure('output gave up on a batch', { dropped: entries.length, reason, ...(result.ok ? {} : { failure: result.reason, detail: result.detail }) });
  }

  private logFailure(msg: string, fields: Record<string, unknown>): void {
    // At most one line a second per output: a dead receiver must not flood the logs.
    const now = performance.now();
    if (now - this.lastFailureLog < 1000) return;
    this.lastFailureLog = now;
    this.deps.logger.warn({ output: this.deps.name, ...fields }, msg);
  }

  private settle(n: number): void {
    this.settled += n;
    if (this.waiters.length === 0) return;
    const due = this.waiters.filter((w) => this.settled >= w.target);
    this.waiters = this.waiters.filter((w) => this.settled < w.target);
    for (const w of due) w.resolve();
  }
}
