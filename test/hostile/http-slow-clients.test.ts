/**
 * The HTTP ingest under clients that connect and then send slowly, never, or all at once: one
 * container's owner must not be able to lock Falco out. Every request read gets an answer,
 * every connection closed without one is counted by reason, and a well-behaved client is
 * served whatever the others do. Real sockets throughout; waits poll, nothing is timed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { stringifyExact } from '../../src/core/exact-json.js';
import { connectionLimits, DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from '../../src/core/listen.js';
import { silentLogger } from '../../src/core/log.js';
import { HttpIngestSource } from '../../src/ingest/http-receiver.js';
import { createMetrics, type LannerMetrics } from '../../src/metrics/metrics.js';
import { falcoJson } from '../support/events.js';
import { sleep, waitFor } from '../support/wait.js';
import {
  ATTACKER,
  exchange,
  holdRequest,
  idleClient,
  droppedConnections,
  ingestRequests,
  jsonOf,
  rawClient,
  rawClients,
  rawStatus,
  RecordingSink,
  type HeldRequest,
  type Outcome,
  type RawClient,
} from './http-clients.js';

const event = (n = 1): string => stringifyExact(falcoJson({ timeNs: BigInt(n) }));

const opened: RawClient[] = [];
const sources: HttpIngestSource[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) c.socket.destroy();
  await Promise.all(sources.splice(0).map((s) => s.close()));
});

async function receiver(limits: Partial<ConnectionLimits> = {}, sink = new RecordingSink()): Promise<{ source: HttpIngestSource; metrics: LannerMetrics; sink: RecordingSink }> {
  const metrics = createMetrics({ processMetrics: false });
  const source = new HttpIngestSource({ host: '127.0.0.1', port: 0, logger: silentLogger(), metrics, limits, closeGraceMs: 100 });
  sources.push(source);
  await source.start(sink);
  return { source, metrics, sink };
}

function track<T extends RawClient | RawClient[]>(clients: T): T {
  opened.push(...(Array.isArray(clients) ? clients : [clients]));
  return clients;
}

function held(h: HeldRequest): HeldRequest {
  track(h.client);
  return h;
}

const openCount = (clients: readonly RawClient[]): number => clients.filter((c) => !c.closed()).length;

describe('slowloris: connections that never finish their headers', () => {
  it('leave a well-behaved client served while all 300 are still open', async () => {
    // A header timeout far beyond the test: only capacity, not a timeout, can let the good client in.
    const { source, sink } = await receiver({ headerTimeoutMs: 600_000 });
    const slow = track(await rawClients(source.address!, 300, ATTACKER, 'POST / HTTP/1.1\r\nHost: lanner\r\nX-Slow: '));
    const reply = await exchange(source.address!, event(), { localAddress: '127.0.0.1' });
    expect(reply.status).toBe(200);
    expect(sink.events).toHaveLength(1);
    expect(openCount(slow)).toBe(300);
  });

  it('past max_connections, the busiest address loses its oldest idle connections, and the good client is served', async () => {
    const { source, metrics, sink } = await receiver({ headerTimeoutMs: 600_000, maxConnections: 50 });
    const slow = track(await rawClients(source.address!, 120, ATTACKER, 'POST / HTTP/1.1\r\n'));
    await waitFor(() => openCount(slow) <= 50, { what: 'the server to close connections beyond max_connections' });
    const reply = await exchange(source.address!, event(), { localAddress: '127.0.0.1' });
    expect(reply.status).toBe(200);
    expect(sink.events).toHaveLength(1);
    // The newest survive: eviction takes the oldest idle first, and the good client took one more.
    await waitFor(() => openCount(slow) === 49, { what: 'the good client to have taken one slot' });
    expect(slow.slice(-49).every((c) => !c.closed())).toBe(true);
    expect(slow.every((c) => c.received() === '')).toBe(true);
    const dropped = async (): Promise<number> =>
      (await droppedConnections(metrics, 'evicted')) + (await droppedConnections(metrics, 'connection_limit'));
    expect(await droppedConnections(metrics, 'evicted')).toBeGreaterThan(0);
    expect(await dropped()).toBe(slow.length - 49);
  });

  it('holds max_connections at its boundary: one below and at it all stay open, one above evicts the oldest idle', async () => {
    const max = 5;
    const { source, metrics } = await receiver({ maxConnections: max });
    const clients: RawClient[] = [];
    for (let i = 0; i < max - 1; i++) clients.push(track(await idleClient(source.address!, ATTACKER)));
    expect(openCount(clients)).toBe(max - 1);
    clients.push(track(await idleClient(source.address!, ATTACKER)));
    expect(openCount(clients)).toBe(max);
    expect(await droppedConnections(metrics, 'evicted')).toBe(0);
    clients.push(track(await idleClient(source.address!, ATTACKER)));
    await waitFor(() => clients[0]!.closed(), { what: 'the oldest idle connection to be evicted' });
    expect(openCount(clients.slice(1))).toBe(max);
    expect(await droppedConnections(metrics, 'evicted')).toBe(1);
  });

  it('never evicts a connection with a request in progress: the newcomer is refused and counted', async () => {
    const { source, metrics } = await receiver({ bodyTimeoutMs: 600_000, maxConnections: 2 });
    const a = held(await holdRequest(source.address!, event(1), '/', ATTACKER));
    const b = held(await holdRequest(source.address!, event(2), '/', ATTACKER));
    const third = track(await rawClient(source.address!, ATTACKER));
    await waitFor(() => third.closed(), { what: 'the connection over the limit to be closed' });
    expect(third.received()).toBe('');
    expect(await droppedConnections(metrics, 'connection_limit')).toBe(1);
    expect(a.client.closed() || b.client.closed()).toBe(false);
    a.finish();
    b.finish();
    await waitFor(() => rawStatus(a.client) === 200 && rawStatus(b.client) === 200, { what: 'the held requests to be answered' });
  });

  it('drops a client that trickles its headers a byte at a time past header_timeout, and one that sends nothing', async () => {
    const { source, metrics, sink } = await receiver({ headerTimeoutMs: 600 });
    const trickler = track(await rawClient(source.address!, ATTACKER));
    const silent = track(await rawClient(source.address!, ATTACKER));
    const line = 'POST / HTTP/1.1\r\nHost: lanner\r\nX-Padding: ' + 'a'.repeat(1000);
    let at = 0;
    const drip = setInterval(() => {
      if (!trickler.closed() && at < line.length) trickler.socket.write(line[at++]!);
    }, 20);
    try {
      await waitFor(() => trickler.closed() && silent.closed(), { what: 'both slow clients to be dropped' });
    } finally {
      clearInterval(drip);
    }
    expect(trickler.received()).toBe('');
    expect(silent.received()).toBe('');
    expect(await droppedConnections(metrics, 'header_timeout')).toBe(2);
    expect(sink.events).toEqual([]);
  });

  it('serves a client whose headers come in pieces well within header_timeout', async () => {
    const { source, sink } = await receiver({ headerTimeoutMs: 5_000 });
    const client = track(await rawClient(source.address!));
    const body = event();
    client.socket.write('POST / HTTP/1.1\r\nHost: lanner\r\n');
    await sleep(50);
    client.socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await waitFor(() => rawStatus(client), { what: 'the answer' });
    expect(rawStatus(client)).toBe(200);
    expect(sink.events).toHaveLength(1);
  });

  it('drops a body trickled past body_timeout, counted, and serves a body sent in pieces within it', async () => {
    const { source, metrics, sink } = await receiver({ bodyTimeoutMs: 600 });
    const slow = held(await holdRequest(source.address!, event(1), '/', ATTACKER));
    await waitFor(() => slow.client.closed(), { what: 'the slow body to be dropped' });
    expect(rawStatus(slow.client)).toBe(0);
    expect(await droppedConnections(metrics, 'body_timeout')).toBe(1);

    const timely = held(await holdRequest(source.address!, event(2), '/', ATTACKER));
    await sleep(50);
    timely.finish();
    await waitFor(() => rawStatus(timely.client), { what: 'the answer' });
    expect(rawStatus(timely.client)).toBe(200);
    expect(sink.events.map((e) => e.timeNs)).toEqual([2n]);
    expect(await droppedConnections(metrics, 'body_timeout')).toBe(1);
  });

  it('refuses limits of zero, and takes the smallest positive ones', () => {
    for (const key of Object.keys(DEFAULT_CONNECTION_LIMITS) as (keyof ConnectionLimits)[]) {
      expect(() => connectionLimits({ [key]: 0 }), key).toThrow(/above 0/);
      expect(() => connectionLimits({ [key]: 1.5 }), key).toThrow(/whole number/);
      expect(connectionLimits({ [key]: 1 })[key], key).toBe(1);
    }
  });
});

describe('requests in progress: bounded in all and per address', () => {
  it('holds max_requests_per_client at its boundary: below and at are read, above is answered 429 with Retry-After', async () => {
    const perClient = 3;
    const { source, sink } = await receiver({ maxRequests: 100, maxRequestsPerClient: perClient, bodyTimeoutMs: 600_000 });
    const holding: HeldRequest[] = [];
    for (let i = 0; i < perClient; i++) holding.push(held(await holdRequest(source.address!, event(i + 1), '/', ATTACKER)));
    const over = await exchange(source.address!, event(9), { localAddress: ATTACKER });
    expect(over.status).toBe(429);
    expect(over.status !== 'no answer' && over.headers['retry-after']).toBe('1');
    expect(jsonOf(over)).toMatchObject({ error: 'too_many_requests' });
    // Another address is not held back by the first one's share.
    expect((await exchange(source.address!, event(10), { localAddress: '127.0.0.1' })).status).toBe(200);
    for (const h of holding) h.finish();
    await waitFor(() => holding.every((h) => rawStatus(h.client) === 200), { what: 'the held requests to be answered' });
    expect((await exchange(source.address!, event(11), { localAddress: ATTACKER })).status).toBe(200);
    expect(sink.events.map((e) => e.timeNs).sort((x, y) => (x < y ? -1 : 1))).toEqual([1n, 2n, 3n, 10n, 11n]);
  });

  it('holds max_requests at its boundary: above it, any address is answered 503 with Retry-After', async () => {
    const max = 3;
    const { source, metrics } = await receiver({ maxRequests: max, maxRequestsPerClient: 100, bodyTimeoutMs: 600_000 });
    const holding: HeldRequest[] = [];
    for (let i = 0; i < max; i++) holding.push(held(await holdRequest(source.address!, event(i + 1), '/', `127.0.0.${i + 2}`)));
    const over = await exchange(source.address!, event(9), { localAddress: '127.0.0.1' });
    expect(over.status).toBe(503);
    expect(over.status !== 'no answer' && over.headers['retry-after']).toBe('1');
    expect(jsonOf(over)).toMatchObject({ error: 'overloaded' });
    expect(await ingestRequests(metrics, 503)).toBe(1);
    holding[0]!.finish();
    await waitFor(() => rawStatus(holding[0]!.client) === 200, { what: 'the first held request to be answered' });
    expect((await exchange(source.address!, event(10), { localAddress: '127.0.0.1' })).status).toBe(200);
  });
});

describe('1000 concurrent posts', () => {
  it('every connection gets an HTTP answer, and every answer is counted', async () => {
    const { source, metrics, sink } = await receiver();
    const outcomes: Outcome[] = await Promise.all(Array.from({ length: 1000 }, (_, i) => exchange(source.address!, event(i + 1))));
    const noAnswer = outcomes.filter((o) => o.status === 'no answer');
    expect(noAnswer, JSON.stringify(noAnswer.slice(0, 3))).toEqual([]);
    const byStatus = new Map<number, number>();
    for (const o of outcomes) if (o.status !== 'no answer') byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    expect([...byStatus.keys()].every((s) => s === 200 || s === 429 || s === 503), JSON.stringify([...byStatus])).toBe(true);
    expect(byStatus.get(200) ?? 0).toBeGreaterThan(0);
    expect(sink.events).toHaveLength(byStatus.get(200) ?? 0);
    for (const [status, count] of byStatus) expect(await ingestRequests(metrics, status), String(status)).toBe(count);
    for (const reason of ['header_timeout', 'body_timeout', 'connection_limit', 'evicted']) {
      expect(await droppedConnections(metrics, reason), reason).toBe(0);
    }
    for (const o of outcomes) {
      if (o.status === 429 || o.status === 503) expect(o.headers['retry-after']).toBe('1');
    }
  }, 60_000);

  it('with limits as wide as the burst, every one of them is accepted', async () => {
    const { source, sink } = await receiver({ maxRequests: 1000, maxRequestsPerClient: 1000 });
    const outcomes = await Promise.all(Array.from({ length: 1000 }, (_, i) => exchange(source.address!, event(i + 1))));
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    expect(sink.events).toHaveLength(1000);
  }, 60_000);
});

describe('the defaults', () => {
  it('are short timeouts and thousands of connections', () => {
    expect(DEFAULT_CONNECTION_LIMITS.headerTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(DEFAULT_CONNECTION_LIMITS.bodyTimeoutMs).toBeLessThanOrEqual(30_000);
    expect(DEFAULT_CONNECTION_LIMITS.maxConnections).toBeGreaterThanOrEqual(1_000);
    expect(DEFAULT_CONNECTION_LIMITS.maxRequestsPerClient).toBeLessThan(DEFAULT_CONNECTION_LIMITS.maxRequests);
  });
});
