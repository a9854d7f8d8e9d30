/**
 * The bounded queue between ingest and detection. Sources offer events and learn at once
 * whether they were queued, so a transport can answer its sender without waiting for
 * detection; when detection falls behind, new events are shed and counted rather than
 * buffered without limit. Draining happens in slices on the event loop so sockets keep being
 * served while a burst is processed.
 *
 * Every source offers its events here, whatever the transport, so this is where event time is
 * bounded against the wall clock: an event stamped further ahead than the allowed skew is
 * refused (`time_in_future`) before any stateful stage sees it, because one such event would
 * move the rule engine's clock and the alert lifecycle's cooldowns forward for everyone.
 */
import { Subject, type Observable } from 'rxjs';
import type { FalcoEvent, Transport } from '../core/event.js';
import { LogLimiter, type Logger } from '../core/log.js';
import { ChildCache } from '../metrics/child-cache.js';
import { invalidCounters, receivedCounters } from '../metrics/event-labels.js';
import { EventTypeCounter } from '../metrics/event-types.js';
import { deferredCount, type DeferredCount } from '../metrics/deferred.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { formatRfc3339Ns, nowNs } from '../core/time.js';
import { INVALID_REASONS, type InvalidReason } from './normalize.js';
import type { EventSink, Offer } from './source.js';

/** Transports are a fixed set; the bound only makes that explicit. */
const MAX_TRANSPORT_SERIES = 8;

export interface IngestQueueOptions {
  readonly capacity: number;
  /** Events handed to detection per turn of the event loop. */
  readonly sliceSize?: number;
  /**
   * How far ahead of the wall clock an event may be stamped (`ingest.max_future_skew`); one
   * further ahead is refused as `time_in_future`. Omitted: no bound, for a replay, whose events
   * are its clock.
   */
  readonly maxFutureSkewMs?: number;
  /** The wall clock in nanoseconds (tests pass their own). */
  readonly clock?: () => bigint;
}

export class IngestQueue implements EventSink {
  private readonly events: (FalcoEvent | undefined)[];
  private readonly ingestedAt: Float64Array;
  private head = 0;
  private size = 0;
  private scheduled = false;
  private completed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly subject = new Subject<FalcoEvent>();
  private readonly received: ChildCache<[transport: string, source: string], DeferredCount>;
  private readonly types: EventTypeCounter;
  private readonly shed: ChildCache<[transport: string], { inc(): void }>;
  private readonly logLimiter = new LogLimiter();
  private readonly sliceSize: number;
  private current = 0;
  private readonly invalid: ChildCache<[reason: string], { inc(): void }>;
  private readonly skewNs: bigint | undefined;
  private readonly clock: () => bigint;
  /**
   * The latest event time taken, as of the last look at the clock. Looking costs a BigInt per
   * event, so the bound is refreshed only when an event passes it and once per drained slice: a
   * stale bound is lower than the true one, so it can only send an event to a fresh look.
   */
  private horizonNs = 0n;

  /** Events in arrival order; completes after `complete()` once the queue is empty. */
  readonly events$: Observable<FalcoEvent> = this.subject.asObservable();

  constructor(
    private readonly options: IngestQueueOptions,
    private readonly metrics: LannerMetrics,
    private readonly logger: Logger,
  ) {
    this.events = new Array<FalcoEvent | undefined>(options.capacity);
    this.ingestedAt = new Float64Array(options.capacity);
    this.sliceSize = options.sliceSize ?? 512;
    this.types = new EventTypeCounter(metrics.eventsByType);
    // Through the registry's source bound: Falco's and the loaded rules' sources keep their
    // series whatever sources a sender makes up.
    this.received = receivedCounters(metrics);
    this.shed = new ChildCache((transport: string) => metrics.eventsShed.labels(transport), { maxChildren: MAX_TRANSPORT_SERIES });
    // Every reason is known in advance: each series starts at 0, so a rate() or an alert on the
    // counter sees the first refusal rather than a series appearing.
    this.invalid = invalidCounters(metrics, INVALID_REASONS);
    this.skewNs = options.maxFutureSkewMs === undefined ? undefined : BigInt(Math.round(options.maxFutureSkewMs)) * 1_000_000n;
    this.clock = options.clock ?? nowNs;
    this.refreshHorizon();
  }

  get depth(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.options.capacity;
  }

  whenRoom(): Promise<void> {
    return this.full ? this.idle() : Promise.resolve();
  }

  /**
   * When the event now being processed by detection entered the queue (performance.now() ms).
   * Detection runs synchronously inside the drain, so this is exact for alerts raised by the
   * event at hand, without carrying a timestamp on every event.
   */
  get currentIngestedAtMs(): number {
    return this.current;
  }

  /** Offers an event; true when it was queued (false: shed, or refused and counted as invalid). */
  accept(event: FalcoEvent): boolean {
    return this.offer(event) === 'queued';
  }

  /**
   * Offers an event and says what became of it: queued; shed because the queue is full (or
   * closing), counted by transport; or refused as invalid (stamped too far in the future),
   * counted by reason like a malformed event.
   */
  offer(event: FalcoEvent): Offer {
    if (this.skewNs !== undefined && event.timeNs > this.horizonNs && this.inFuture(event)) return 'refused';
    if (this.completed || this.size === this.options.capacity) {
      this.shed.get(event.transport).inc();
      return 'shed';
    }
    const tail = (this.head + this.size) % this.options.capacity;
    this.events[tail] = event;
    this.ingestedAt[tail] = performance.now();
    this.size++;
    this.received.get(event.transport, event.source).inc();
    this.types.count(event);
    this.schedule();
    return 'queued';
  }

  reject(reason: InvalidReason, detail: string, transport: Transport): void {
    this.invalid.get(reason).inc();
    this.logLimiter.maybe(reason, (suppressed) =>
      this.logger.warn({ reason, transport, detail, suppressed_since_last: suppressed }, 'invalid Falco event dropped'),
    );
  }

  /** Whether `event` lies beyond the skew ahead of the clock just read; refuses it if so. */
  private inFuture(event: FalcoEvent): boolean {
    this.refreshHorizon();
    if (event.timeNs <= this.horizonNs) return false;
    const aheadMs = (event.timeNs - this.horizonNs + this.skewNs!) / 1_000_000n;
    this.reject(
      'time_in_future',
      `${event.transport} event of rule ${JSON.stringify(event.rule.slice(0, 200))} stamped ${formatRfc3339Ns(event.timeNs)}, ${aheadMs} ms ahead of the clock (limit ${this.skewNs! / 1_000_000n} ms)`,
      event.transport,
    );
    return true;
  }

  private refreshHorizon(): void {
    if (this.skewNs !== undefined) this.horizonNs = this.clock() + this.skewNs;
  }

  /** Resolves once every queued event has been handed to detection. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new events, hands over what is queued, then completes `events$`. */
  async complete(): Promise<void> {
    this.completed = true;
    await this.idle();
    this.subject.complete();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drainSlice());
  }

  private drainSlice(): void {
    this.scheduled = false;
    this.refreshHorizon();
    const cap = this.options.capacity;
    for (let n = 0; n < this.sliceSize && this.size > 0; n++) {
      const event = this.events[this.head]!;
      this.current = this.ingestedAt[this.head]!;
      this.events[this.head] = undefined;
      this.head = (this.head + 1) % cap;
      this.size--;
      this.subject.next(event);
    }
    this.metrics.ingestQueueDepth.set(this.size);
    if (this.size > 0) {
      this.schedule();
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
