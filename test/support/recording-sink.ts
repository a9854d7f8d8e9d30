/** An ingest sink for tests: records what a source hands over; `capacity` makes it shed like a full queue. */
import type { FalcoEvent, Transport } from '../../src/core/event.js';
import type { InvalidReason } from '../../src/ingest/normalize.js';
import type { EventSink } from '../../src/ingest/source.js';

export class RecordingSink implements EventSink {
  events: FalcoEvent[] = [];
  rejects: { reason: InvalidReason; detail: string; transport: Transport }[] = [];
  shed = 0;
  constructor(public capacity = Number.POSITIVE_INFINITY) {}

  get full(): boolean {
    return this.events.length >= this.capacity;
  }

  accept(event: FalcoEvent): boolean {
    if (this.full) {
      this.shed++;
      return false;
    }
    this.events.push(event);
    return true;
  }

  reject(reason: InvalidReason, detail: string, transport: Transport): void {
    this.rejects.push({ reason, detail, transport });
  }

  clear(): void {
    this.events = [];
    this.rejects = [];
    this.shed = 0;
  }
}
