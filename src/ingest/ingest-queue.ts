/**
 * The bounded queue between ingest and detection. Sources offer events and learn at once
 * whether they were queued, so a transport can answer its sender without waiting for
 * detection; when detection falls behind, new events are shed and counted rather than
 * buffered without limit. Draining happens in slices on the event loop so sockets keep being
 * served while a burst is processed.
 */
import { Subject, type Observable } from 'rxjs';
import type { FalcoEvent, Transport } from '../core/event.js';
import { LogLimiter, type Logger } from '../core/log.js';
import { ChildCache } from '../metrics/child-cache.js';
import { EventTypeCounter } from '../metrics/event-types.js';
import { deferredCount, type DeferredCount } from '../metrics/deferred.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import type { InvalidReason } from './normalize.js';
import type { EventSink } from './source.js';

/**
 * Distinct (transport, Falco source) pairs counted apart. Falco has a handful of sources
 * (syscall, k8s_audit and one per plug-in), but an HTTP sender chooses `source` freely.
 */
export const MAX_SOURCE_SERIES = 64;
/** Transports are a fixed set; the bound only makes that explicit. */
const MAX_TRANSPORT_SERIES = 8;

export interface IngestQueueOptions {
  readonly capacity: number;
  /** Events handed to detection per turn of the event loop. */
  readonly sliceSize?: number;
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
    this.received = new ChildCache((transport: string, source: string) => deferredCount(metrics.eventsReceived, { transport, source }), {
      maxChildren: MAX_SOURCE_SERIES,
    });
    this.shed = new ChildCache((transport: string) => metrics.eventsShed.labels(transport), { maxChildren: MAX_TRANSPORT_SERIES });
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

  accept(event: FalcoEvent): boolean {
    if (this.completed || this.size === this.options.capacity) {
      this.shed.get(event.transport).inc();
      return false;
    }
    const tail = (this.head + this.size) % this.options.capacity;
    this.events[tail] = event;
    this.ingestedAt[tail] = performance.now();
    this.size++;
    this.received.get(event.transport, event.source).inc();
    this.types.count(event);
    this.schedule();
    return true;
  }

  reject(reason: InvalidReason, detail: string, transport: Transport): void {
    this.metrics.eventsInvalid.labels(reason).inc();
    this.logLimiter.maybe(reason, (suppressed) =>
      this.logger.warn({ reason, transport, detail, suppressed_since_last: suppressed }, 'invalid Falco event dropped'),
    );
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
