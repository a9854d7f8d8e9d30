/**
 * What every ingest source shares. A source turns a transport into normalized events and
 * hands each to the sink; the sink says whether the event was queued (false: shed, full queue).
 */
import type { FalcoEvent } from '../core/event.js';
import type { InvalidReason } from './normalize.js';

export interface EventSink {
  /** Offers a valid event; false when the ingest queue is full and the event was shed. */
  accept(event: FalcoEvent): boolean;
  /** Reports an event that failed validation; counted by reason, logged at most once a minute per reason. */
  reject(reason: InvalidReason, detail: string, transport: FalcoEvent['transport']): void;
  /**
   * For sources that can wait (a file, unlike Falco's fire-and-forget HTTP posts): resolves
   * when the queue has room again, so reading a large file never sheds.
   */
  whenRoom?(): Promise<void>;
  /** True when `accept` would shed right now. */
  readonly full?: boolean;
}

export interface Source {
  readonly name: string;
  start(sink: EventSink): Promise<void>;
  /** Stops taking new events; resolves once the transport is closed. */
  close(): Promise<void>;
}
