import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import type { FalcoEvent } from '../../src/core/event.js';
import { IngestQueue } from '../../src/ingest/ingest-queue.js';
import { INVALID_REASONS } from '../../src/ingest/normalize.js';
import { OVERFLOW_LABEL_VALUE } from '../../src/metrics/child-cache.js';
import { createMetrics, MAX_OTHER_SOURCES } from '../../src/metrics/metrics.js';
import { falcoEvent } from '../support/events.js';

async function metricValue(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

describe('IngestQueue', () => {
  it('accepts at once and delivers in order on a later turn of the event loop', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const queue = new IngestQueue({ capacity: 10 }, metrics, silentLogger());
    const seen: bigint[] = [];
    queue.events$.subscribe((e) => seen.push(e.timeNs));
    expect(queue.accept(falcoEvent({ timeNs: 1n }))).toBe(true);
    expect(queue.accept(falcoEvent({ timeNs: 2n }))).toBe(true);
    expect(seen).toEqual([]);
    await queue.idle();
    expect(seen).toEqual([1n, 2n]);
    expect(await metricValue(metrics, 'lanner_events_received_total', { transport: 'http', source: 'syscall' })).toBe(2);
  });

  it('sheds and counts when full instead of growing', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const queue = new IngestQueue({ capacity: 3 }, metrics, silentLogger());
    const seen: FalcoEvent[] = [];
    queue.events$.subscribe((e) => seen.push(e));
    const results = [1n, 2n, 3n, 4n, 5n].map((t) => queue.accept(falcoEvent({ timeNs: t }, 'grpc')));
    expect(results).toEqual([true, true, true, false, false]);
    expect(queue.depth).toBe(3);
    expect(await metricValue(metrics, 'lanner_events_shed_total', { transport: 'grpc' })).toBe(2);
    await queue.idle();
    expect(seen.map((e) => e.timeNs)).toEqual([1n, 2n, 3n]);
    expect(queue.accept(falcoEvent({ timeNs: 6n }))).toBe(true);
  });

  it('counts events under made-up sources without a series for each, and Falco\'s own sources keep theirs', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const queue = new IngestQueue({ capacity: 1000 }, metrics, silentLogger());
    // One below the bound of other sources, at it, and one above, then a flood.
    const sent = MAX_OTHER_SOURCES + 100;
    for (let i = 0; i < sent; i++) expect(queue.accept({ ...falcoEvent({ timeNs: BigInt(i) }), source: `made-up-${i}` })).toBe(true);
    expect(queue.accept({ ...falcoEvent({ timeNs: BigInt(sent) }), source: 'syscall' })).toBe(true);
    const series = (await metrics.eventsReceived.get()).values;
    expect(series).toHaveLength(MAX_OTHER_SOURCES + 2);
    expect(series.reduce((sum, v) => sum + v.value, 0)).toBe(sent + 1);
    expect(await metricValue(metrics, 'lanner_events_received_total', { transport: 'http', source: `made-up-${MAX_OTHER_SOURCES - 1}` })).toBe(1);
    expect(await metricValue(metrics, 'lanner_events_received_total', { transport: 'http', source: `made-up-${MAX_OTHER_SOURCES}` })).toBe(0);
    expect(await metricValue(metrics, 'lanner_events_received_total', { transport: 'http', source: OVERFLOW_LABEL_VALUE })).toBe(100);
    expect(await metricValue(metrics, 'lanner_events_received_total', { transport: 'http', source: 'syscall' })).toBe(1);
  });

  it('hands over in slices so other work runs during a burst', async () => {
    const queue = new IngestQueue({ capacity: 1000, sliceSize: 100 }, createMetrics({ processMetrics: false }), silentLogger());
    let delivered = 0;
    queue.events$.subscribe(() => delivered++);
    for (let i = 0; i < 1000; i++) queue.accept(falcoEvent({ timeNs: BigInt(i) }));
    await new Promise((r) => setImmediate(r));
    expect(delivered).toBe(100);
    await queue.idle();
    expect(delivered).toBe(1000);
  });

  it('counts invalid events by reason', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const queue = new IngestQueue({ capacity: 3 }, metrics, silentLogger());
    queue.reject('bad_json', 'x', 'http');
    queue.reject('bad_json', 'y', 'http');
    queue.reject('missing_rule', 'z', 'file');
    expect(await metricValue(metrics, 'lanner_events_invalid_total', { reason: 'bad_json' })).toBe(2);
    expect(await metricValue(metrics, 'lanner_events_invalid_total', { reason: 'missing_rule' })).toBe(1);
  });

  it('completes after handing over what was queued, and refuses new events', async () => {
    const queue = new IngestQueue({ capacity: 5 }, createMetrics({ processMetrics: false }), silentLogger());
    const seen: bigint[] = [];
    let completed = false;
    queue.events$.subscribe({ next: (e) => seen.push(e.timeNs), complete: () => (completed = true) });
    queue.accept(falcoEvent({ timeNs: 7n }));
    const done = queue.complete();
    expect(queue.accept(falcoEvent({ timeNs: 8n }))).toBe(false);
    await done;
    expect(seen).toEqual([7n]);
    expect(completed).toBe(true);
  });

  it('starts the invalid-event counter at 0 for every reason', async () => {
    const metrics = createMetrics({ processMetrics: false });
    new IngestQueue({ capacity: 3 }, metrics, silentLogger());
    const values = (await metrics.eventsInvalid.get()).values;
    expect(values.map((v) => v.labels['reason']).sort()).toEqual([...INVALID_REASONS].sort());
    expect(values.every((v) => v.value === 0)).toBe(true);
  });
});

describe('IngestQueue and the wall clock', () => {
  const NOW = 1_763_990_696_000_000_000n;
  const SKEW_MS = 300_000;
  const SKEW_NS = BigInt(SKEW_MS) * 1_000_000n;

  function bounded(clock: () => bigint = () => NOW) {
    const metrics = createMetrics({ processMetrics: false });
    const queue = new IngestQueue({ capacity: 100, maxFutureSkewMs: SKEW_MS, clock }, metrics, silentLogger());
    const seen: bigint[] = [];
    queue.events$.subscribe((e) => seen.push(e.timeNs));
    return { metrics, queue, seen };
  }

  it('takes events up to the skew ahead of the clock and refuses one nanosecond more, counted by reason', async () => {
    const { metrics, queue, seen } = bounded();
    expect(queue.offer(falcoEvent({ timeNs: NOW + SKEW_NS - 1n }))).toBe('queued');
    expect(queue.offer(falcoEvent({ timeNs: NOW + SKEW_NS }))).toBe('queued');
    expect(queue.offer(falcoEvent({ timeNs: NOW + SKEW_NS + 1n }))).toBe('refused');
    expect(queue.accept(falcoEvent({ timeNs: NOW + 10n * 365n * 86_400n * 1_000_000_000n }))).toBe(false);
    await queue.idle();
    expect(seen).toEqual([NOW + SKEW_NS - 1n, NOW + SKEW_NS]);
    expect(await metricValue(metrics, 'lanner_events_invalid_total', { reason: 'time_in_future' })).toBe(2);
    // Refused is not shed: the queue had room.
    expect(await metricValue(metrics, 'lanner_events_shed_total', { transport: 'http' })).toBe(0);
    expect(await metricValue(metrics, 'lanner_events_received_total', { transport: 'http', source: 'syscall' })).toBe(2);
  });

  it('takes events from the past, however old', async () => {
    const { queue, seen } = bounded();
    expect(queue.offer(falcoEvent({ timeNs: 1n }))).toBe('queued');
    expect(queue.offer(falcoEvent({ timeNs: NOW - 10n * 365n * 86_400n * 1_000_000_000n }))).toBe('queued');
    await queue.idle();
    expect(seen).toHaveLength(2);
  });

  it('reads the clock again before refusing, so an event refused once is taken when its time has come', () => {
    let now = NOW;
    const { queue } = bounded(() => now);
    const t = NOW + SKEW_NS + 1_000_000_000n;
    expect(queue.offer(falcoEvent({ timeNs: t }))).toBe('refused');
    now += 1_000_000_000n;
    expect(queue.offer(falcoEvent({ timeNs: t }))).toBe('queued');
  });

  it('follows a clock that steps back once a slice has been drained', async () => {
    let now = NOW;
    const { queue } = bounded(() => now);
    expect(queue.offer(falcoEvent({ timeNs: NOW }))).toBe('queued');
    now -= 3_600_000_000_000n;
    await queue.idle();
    expect(queue.offer(falcoEvent({ timeNs: NOW }))).toBe('refused');
  });

  it('has no bound without a skew (a replay)', async () => {
    const queue = new IngestQueue({ capacity: 10 }, createMetrics({ processMetrics: false }), silentLogger());
    expect(queue.offer(falcoEvent({ timeNs: 253_402_300_799_999_999_999n }))).toBe('queued');
  });
});

