/**
 * Keyed state with two bounds: a time to live on event time, and a maximum number of keys.
 * Entries are kept in the order they were last touched (a Map keeps insertion order, and a
 * touch re-inserts), so both evictions take from the front: the least recently touched key is
 * the one over the limit, and the first to outlive its TTL. Event times from several sources
 * are not perfectly ordered, so TTL eviction is approximate by the width of that disorder.
 */

export interface StateLimits {
  readonly maxKeys: number;
  /** Milliseconds of event time after its last touch that a key is kept. */
  readonly ttlMs: number;
}

export interface StateObserver {
  /** Called with how many keys were evicted (by TTL or by the key limit). */
  evicted(count: number): void;
  /** Called with the live key count after it changed. */
  size(count: number): void;
}

interface Entry<V> {
  readonly key: string;
  value: V;
  touchedMs: number;
  prev: Entry<V> | undefined;
  next: Entry<V> | undefined;
}

// A Map alone would keep touch order, but taking its oldest entry walks past every key deleted
// before it until the table is rebuilt, which turns a churning key space quadratic. A linked
// list over the Map's entries takes the oldest in constant time.
export class BoundedState<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private head: Entry<V> | undefined;
  private tail: Entry<V> | undefined;

  constructor(
    readonly limits: StateLimits,
    private readonly observer: StateObserver,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** Stores `value` as touched at `nowMs`, evicting the least recently touched key if over the limit. */
  set(key: string, value: V, nowMs: number): void {
    const existing = this.entries.get(key);
    if (existing) {
      existing.value = value;
      // An out-of-order (or forged far-past) event must not age a key others keep alive.
      existing.touchedMs = Math.max(existing.touchedMs, nowMs);
      this.unlink(existing);
      this.append(existing);
      return;
    }
    const entry: Entry<V> = { key, value, touchedMs: nowMs, prev: undefined, next: undefined };
    this.entries.set(key, entry);
    this.append(entry);
    if (this.entries.size > this.limits.maxKeys) {
      this.remove(this.head!);
      this.observer.evicted(1);
    }
    this.observer.size(this.entries.size);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.remove(entry);
    this.observer.size(this.entries.size);
  }

  /** Drops keys not touched within the TTL before `watermarkMs`; returns how many. */
  expire(watermarkMs: number, onExpired?: (key: string, value: V) => void): number {
    const cutoff = watermarkMs - this.limits.ttlMs;
    let dropped = 0;
    while (this.head && this.head.touchedMs < cutoff) {
      const entry = this.head;
      this.remove(entry);
      onExpired?.(entry.key, entry.value);
      dropped++;
    }
    if (dropped > 0) {
      this.observer.evicted(dropped);
      this.observer.size(this.entries.size);
    }
    return dropped;
  }

  /** Every live entry with the event time it was last touched, least recently touched first. */
  *withTouch(): IterableIterator<[string, V, number]> {
    for (let e = this.head; e; e = e.next) yield [e.key, e.value, e.touchedMs];
  }

  /** Every live entry, least recently touched first. */
  *[Symbol.iterator](): IterableIterator<[string, V]> {
    for (let e = this.head; e; e = e.next) yield [e.key, e.value];
  }

  clear(): void {
    this.entries.clear();
    this.head = this.tail = undefined;
    this.observer.size(0);
  }

  private append(entry: Entry<V>): void {
    entry.prev = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
  }

  private unlink(entry: Entry<V>): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = undefined;
  }

  private remove(entry: Entry<V>): void {
    this.unlink(entry);
    this.entries.delete(entry.key);
  }
}
