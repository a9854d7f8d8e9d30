import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchQueue, type BatchQueueOptions, type Exporter, type ExportResult } from '../../src/outputs/batch-queue.js';
import { testDeps, value } from '../support/output-metrics.js';

const BASE: BatchQueueOptions = {
  maxQueueSize: 100,
  maxBatchSize: 3,
  batchIntervalMs: 1000,
  exportTimeoutMs: 5000,
  maxRetries: 3,
  backoffInitialMs: 100,
  backoffMaxMs: 1000,
  shed: 'oldest',
  closeTimeoutMs: 200,
};

/** An exporter that records batches and answers from a script (ok when the script runs out). */
class Scripted implements Exporter<number> {
  readonly batches: number[][] = [];
  constructor(private readonly script: ((batch: readonly number[]) => ExportResult<number> | Promise<ExportResult<number>>)[] = []) {}
  async export(batch: readonly number[]): Promise<ExportResult<number>> {
    this.batches.push([...batch]);
    const next = this.script.shift();
    return next ? next(batch) : { ok: true };
  }
}

function queue(options: Partial<BatchQueueOptions>, exporter: Exporter<number>) {
  const deps = testDeps();
  const q = new BatchQueue<number>({ ...BASE, ...options }, exporter, { name: 'test', logger: deps.logger, metrics: deps.metrics, random: () => 0 });
  const m = deps.metrics;
  return {
    q,
    sent: () => value(m.outputSent, { output: 'test' }),
    dropped: (reason: string) => value(m.outputDropped, { output: 'test', reason }),
    failures: (reason: string) => value(m.outputFailures, { output: 'test', reason }),
    depth: () => value(m.outputQueueDepth, { output: 'test' }),
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BatchQueue', () => {
  it('sends full batches at once and the rest on flush, in order', async () => {
    const ex = new Scripted();
    const { q, sent } = queue({}, ex);
    for (let i = 1; i <= 7; i++) q.enqueue(i);
    await q.flush();
    expect(ex.batches).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(await sent()).toBe(7);
  });

  it('sends a partial batch when the interval passes (virtual time)', async () => {
    vi.useFakeTimers();
    const ex = new Scripted();
    const { q } = queue({ maxBatchSize: 10 }, ex);
    q.enqueue(1);
    q.enqueue(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(ex.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(ex.batches).toEqual([[1, 2]]);
  });

  it('sheds the oldest when full, and counts it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ex = new Scripted([async () => (await gate, { ok: true })]);
    const { q, dropped, sent, depth } = queue({ maxQueueSize: 4, maxBatchSize: 2 }, ex);
    for (let i = 1; i <= 8; i++) q.enqueue(i); // 1,2 in flight; queue bound 4
    expect(await depth()).toBe(4);
    release();
    await q.flush();
    expect(ex.batches.flat()).toEqual([1, 2, 5, 6, 7, 8]);
    expect(await dropped('queue_full')).toBe(2);
    expect(await sent()).toBe(6);
  });

  it('sheds the newest when so configured', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const ex = new Scripted([async () => (await gate, { ok: true })]);
    const { q, dropped } = queue({ maxQueueSize: 4, maxBatchSize: 2, shed: 'newest' }, ex);
    for (let i = 1; i <= 8; i++) q.enqueue(i);
    release();
    await q.flush();
    expect(ex.batches.flat()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await dropped('queue_full')).toBe(2);
  });

  it('retries a failed batch with exponential backoff and delivers it', async () => {
    vi.useFakeTimers();
    const fail = (): ExportResult<number> => ({ ok: false, reason: 'http_503', retryable: true });
    const ex = new Scripted([fail, fail]);
    const deps = testDeps();
    const random = vi.fn(() => 1);
    const q = new BatchQueue<number>({ ...BASE, maxBatchSize: 1 }, ex, { name: 'test', logger: deps.logger, metrics: deps.metrics, random });
    q.enqueue(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(ex.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(99); // first backoff: up to 100 ms (jitter pinned at the ceiling)
    expect(ex.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(ex.batches).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(199); // second: up to 200 ms
    expect(ex.batches).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(ex.batches).toHaveLength(3);
    expect(await value(deps.metrics.outputSent, { output: 'test' })).toBe(1);
    expect(await value(deps.metrics.outputFailures, { output: 'test', reason: 'http_503' })).toBe(2);
  });

  it('honours Retry-After as a floor for the wait', async () => {
    vi.useFakeTimers();
    const ex = new Scripted([() => ({ ok: false, reason: 'http_429', retryable: true, retryAfterMs: 700 })]);
    const { q } = queue({ maxBatchSize: 1 }, ex);
    q.enqueue(1);
    await vi.advanceTimersByTimeAsync(699);
    expect(ex.batches).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(ex.batches).toHaveLength(2);
  });

  it('drops and counts a batch refused for good, or after the last retry', async () => {
    const refused = new Scripted([() => ({ ok: false, reason: 'http_400', retryable: false })]);
    const a = queue({ maxBatchSize: 2 }, refused);
    a.q.enqueue(1);
    a.q.enqueue(2);
    await a.q.flush();
    expect(await a.dropped('rejected')).toBe(2);
    expect(refused.batches).toHaveLength(1);

    const failing = new Scripted(Array.from({ length: 10 }, () => () => ({ ok: false as const, reason: 'connect', retryable: true })));
    const b = queue({ maxBatchSize: 1, maxRetries: 2, backoffInitialMs: 1, backoffMaxMs: 1 }, failing);
    b.q.enqueue(1);
    await b.q.flush();
    expect(failing.batches).toHaveLength(3);
    expect(await b.dropped('retries_exhausted')).toBe(1);
    expect(await b.failures('connect')).toBe(3);
  });

  it('retries only the items a receiver asked to have again, and counts refused items', async () => {
    const ex = new Scripted([(batch) => ({ ok: true, retry: [batch[1]!], rejected: 1, rejectedReason: 'mapping_error' })]);
    const { q, sent, dropped } = queue({ maxBatchSize: 3, backoffInitialMs: 1 }, ex);
    q.enqueue(1);
    q.enqueue(2);
    q.enqueue(3);
    await q.flush();
    expect(ex.batches).toEqual([[1, 2, 3], [2]]);
    expect(await sent()).toBe(2);
    expect(await dropped('mapping_error')).toBe(1);
  });

  it('counts an export that throws as a retryable error', async () => {
    const ex = new Scripted([() => Promise.reject(new Error('boom'))]);
    const { q, failures, sent } = queue({ maxBatchSize: 1, backoffInitialMs: 1 }, ex);
    q.enqueue(1);
    await q.flush();
    expect(await failures('error')).toBe(1);
    expect(await sent()).toBe(1);
  });

  it('close() gives up after its grace period, aborting the export and counting what is left', async () => {
    const hung: Exporter<number> = {
      export: (_b, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    };
    vi.useFakeTimers();
    const { q, dropped } = queue({ maxBatchSize: 2, closeTimeoutMs: 50 }, hung);
    for (let i = 1; i <= 5; i++) q.enqueue(i);
    let closed = false;
    const closing = q.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(49);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await closing;
    expect(closed).toBe(true);
    expect(await dropped('shutdown')).toBe(5);
    q.enqueue(6);
    expect(await dropped('closed')).toBe(1);
  });

  it('times out an export attempt and retries it', async () => {
    let calls = 0;
    const slow: Exporter<number> = {
      export: (_b, signal) => {
        calls++;
        if (calls > 1) return Promise.resolve({ ok: true });
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
      },
    };
    const { q, failures, sent } = queue({ maxBatchSize: 1, exportTimeoutMs: 30, backoffInitialMs: 1 }, slow);
    q.enqueue(1);
    await q.flush();
    expect(await failures('timeout')).toBe(1);
    expect(await sent()).toBe(1);
  });
});
