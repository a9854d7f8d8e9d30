/**
 * The operations server under the same hostile clients as the ingest: anyone on the node can
 * reach it, and a kubelet whose liveness probe goes unanswered restarts Lanner. Slow and idle
 * clients must not lock the probes or Prometheus out; costly requests are bounded in all and
 * per address, and answered 503 or 429 with Retry-After beyond that.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActionEngine } from '../../src/actions/action-engine.js';
import { isLannerError } from '../../src/core/errors.js';
import type { ConnectionLimits, HostPort } from '../../src/core/listen.js';
import { silentLogger } from '../../src/core/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { actionApi } from '../../src/server/action-api.js';
import { OpsServer, type ApiHandler } from '../../src/server/ops-server.js';
import { waitFor } from '../support/wait.js';
import { ATTACKER, exchange, holdRequest, rawClient, rawClients, rawStatus, type HeldRequest, type RawClient } from '../hostile/http-clients.js';

const opened: RawClient[] = [];
const servers: OpsServer[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) c.socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** An API that reads the body and echoes its size: enough to hold a request slot. */
const echoApi: ApiHandler = (req: IncomingMessage, res: ServerResponse) =>
  new Promise((resolve) => {
    let size = 0;
    req.on('data', (c: Buffer) => (size += c.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ size }));
      resolve();
    });
  });

interface Started {
  readonly address: HostPort;
  readonly logs: Record<string, unknown>[];
}

/** `api: null` serves no action API. */
async function start(limits: Partial<ConnectionLimits> = {}, api: ApiHandler | null = echoApi, ready: string | null = null): Promise<Started> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const server = new OpsServer({
    listen: '127.0.0.1:0',
    metrics: createMetrics({ processMetrics: false }),
    logger,
    health: () => null,
    ready: () => ready,
    limits,
    ...(api ? { api } : {}),
  });
  servers.push(server);
  return { address: await server.start(), logs };
}

function track<T extends RawClient | RawClient[]>(clients: T): T {
  opened.push(...(Array.isArray(clients) ? clients : [clients]));
  return clients;
}

const get = (address: HostPort, path: string, localAddress = '127.0.0.1') => exchange(address, undefined, { method: 'GET', path, localAddress });

describe('OpsServer', () => {
  it('answers the probes, /metrics, and refuses what it does not serve', async () => {
    const { address } = await start({}, null, 'no event source yet');
    const health = await get(address, '/healthz');
    expect(health.status).toBe(200);
    expect(health.status !== 'no answer' && health.body).toBe('ok\n');
    const ready = await get(address, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.status !== 'no answer' && ready.body).toBe('no event source yet\n');
    const metrics = await get(address, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.status !== 'no answer' && metrics.body).toContain('lanner_');
    expect((await exchange(address, undefined, { method: 'HEAD', path: '/metrics' })).status).toBe(200);
    expect((await get(address, '/api/v1/quarantine')).status).toBe(404);
    expect((await get(address, '/elsewhere')).status).toBe(404);
    const post = await exchange(address, 'x', { path: '/metrics' });
    expect(post.status).toBe(405);
    expect(post.status !== 'no answer' && post.headers['allow']).toBe('GET, HEAD');
  });

  it('serves the probes and /metrics while 300 connections sit on unfinished headers', async () => {
    const { address } = await start({ headerTimeoutMs: 600_000 });
    const slow = track(await rawClients(address, 300, ATTACKER, 'GET /metrics HTTP/1.1\r\nX-Slow: '));
    expect((await get(address, '/healthz')).status).toBe(200);
    expect((await get(address, '/readyz')).status).toBe(200);
    expect((await get(address, '/metrics')).status).toBe(200);
    expect(slow.filter((c) => !c.closed())).toHaveLength(300);
  });

  it('makes room past max_connections by closing the busiest address\'s oldest idle connection', async () => {
    const { address, logs } = await start({ headerTimeoutMs: 600_000, maxConnections: 20 });
    const slow = track(await rawClients(address, 60, ATTACKER, 'GET /metrics HTTP/1.1\r\n'));
    await waitFor(() => slow.filter((c) => !c.closed()).length <= 20, { what: 'connections past the limit to be closed' });
    expect((await get(address, '/healthz')).status).toBe(200);
    expect(slow[0]!.closed()).toBe(true);
    expect(logs.some((l) => l['reason'] === 'evicted')).toBe(true);
  });

  it('destroys clients that miss the header or the body timeout, without an answer, and says why', async () => {
    const { address, logs } = await start({ headerTimeoutMs: 300, bodyTimeoutMs: 300 });
    const silent = track(await rawClient(address, ATTACKER));
    const slowBody = await holdRequest(address, '{"reason":"slow"}', '/api/v1/x', ATTACKER);
    track(slowBody.client);
    await waitFor(() => silent.closed() && slowBody.client.closed(), { what: 'both slow clients to be dropped' });
    expect(silent.received()).toBe('');
    expect(rawStatus(slowBody.client)).toBe(0);
    const reasons = logs.filter((l) => l['msg'] === 'operations server closed a connection without an answer').map((l) => l['reason']);
    expect(reasons.sort()).toEqual(['body_timeout', 'header_timeout']);
    expect((await get(address, '/healthz')).status).toBe(200);
  });

  it('bounds costly requests per address at its boundary (429 above), while the probes and other addresses are served', async () => {
    const perClient = 2;
    const { address } = await start({ maxRequestsPerClient: perClient, maxRequests: 100, bodyTimeoutMs: 600_000 });
    const held: HeldRequest[] = [];
    for (let i = 0; i < perClient; i++) held.push(await holdRequest(address, '{"reason":"held"}', '/api/v1/held', ATTACKER));
    track(held.map((h) => h.client));
    const over = await exchange(address, undefined, { method: 'GET', path: '/metrics', localAddress: ATTACKER });
    expect(over.status).toBe(429);
    expect(over.status !== 'no answer' && over.headers['retry-after']).toBe('1');
    expect((await exchange(address, undefined, { method: 'GET', path: '/healthz', localAddress: ATTACKER })).status).toBe(200);
    expect((await get(address, '/metrics')).status).toBe(200);
    held[0]!.finish();
    await waitFor(() => rawStatus(held[0]!.client) === 200, { what: 'the first held request to be answered' });
    expect((await exchange(address, undefined, { method: 'GET', path: '/metrics', localAddress: ATTACKER })).status).toBe(200);
  });

  it('bounds costly requests in all at its boundary (503 above), while the probes are served', async () => {
    const max = 2;
    const { address } = await start({ maxRequests: max, maxRequestsPerClient: 100, bodyTimeoutMs: 600_000 });
    const held: HeldRequest[] = [];
    for (let i = 0; i < max; i++) held.push(await holdRequest(address, '{}', '/api/v1/held', `127.0.0.${i + 2}`));
    track(held.map((h) => h.client));
    const over = await get(address, '/metrics');
    expect(over.status).toBe(503);
    expect(over.status !== 'no answer' && over.headers['retry-after']).toBe('1');
    expect((await get(address, '/healthz')).status).toBe(200);
    for (const h of held) h.finish();
    await waitFor(() => held.every((h) => rawStatus(h.client) === 200), { what: 'the held requests to be answered' });
    expect((await get(address, '/metrics')).status).toBe(200);
  });
});

describe('the action API under hostile callers', () => {
  const logger = silentLogger();
  // Never reached: every request here is refused before a decision is asked for.
  const engine = {} as ActionEngine;

  it('refuses to exist with an empty or blank token', () => {
    for (const token of ['', '  ']) {
      let caught: unknown;
      try {
        actionApi(engine, token, logger);
      } catch (err) {
        caught = err;
      }
      expect(isLannerError(caught) && caught.code, JSON.stringify(token)).toBe('LANNER_CONFIG_INVALID');
    }
  });

  it('answers 413 as soon as a body passes 64 KiB, without waiting for the rest', async () => {
    const { address } = await start({ bodyTimeoutMs: 600_000 }, actionApi(engine, 'tok', logger));
    const client = track(await rawClient(address));
    // Declares far more than it sends: only an answer at the limit settles this.
    client.socket.write(
      `POST /api/v1/quarantine/shop/web-1 HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer tok\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`,
    );
    client.socket.write('x'.repeat(64 * 1024 + 1));
    await waitFor(() => rawStatus(client), { what: 'the answer' });
    expect(rawStatus(client)).toBe(413);
  });

  it('refuses a reason that is not a string or longer than 1024 characters, at the boundary', async () => {
    const reasons: (string | undefined)[] = [];
    const deciding = {
      perform: (request: { reason?: string }) => {
        reasons.push(request.reason);
        return Promise.resolve({ id: 'd', verdict: { outcome: 'dry_run', message: 'would quarantine' }, record: {} });
      },
    } as unknown as ActionEngine;
    const { address } = await start({}, actionApi(deciding, 'tok', logger));
    const post = (body: unknown) =>
      exchange(address, JSON.stringify(body), { path: '/api/v1/quarantine/shop/web-1', headers: { authorization: 'Bearer tok', 'content-type': 'application/json' } });
    expect((await post({ reason: 1 })).status).toBe(400);
    expect((await post({ reason: { toString: 'x' } })).status).toBe(400);
    const tooLong = await post({ reason: 'r'.repeat(1025) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.status !== 'no answer' && tooLong.body).toContain('1024');
    expect((await post({ reason: 'r'.repeat(1023) })).status).toBe(200);
    expect((await post({ reason: 'r'.repeat(1024) })).status).toBe(200);
    expect(reasons.map((r) => r?.length)).toEqual([1023, 1024]);
  });
});
