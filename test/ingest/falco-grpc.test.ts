import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FalcoEvent } from '../../src/core/event.js';
import { parseJsonExact } from '../../src/core/exact-json.js';
import { silentLogger } from '../../src/core/log.js';
import { falcoJsonToGrpcResponse, FalcoStandIn, type FalcoJsonEvent } from '../../src/demo/falco-grpc-server.js';
import { backoffDelay, FalcoGrpcSource, type FalcoGrpcOptions } from '../../src/ingest/falco-grpc.js';
import { normalizeFalcoJson, type GrpcResponse } from '../../src/ingest/normalize.js';
import { createMetrics, type LannerMetrics } from '../../src/metrics/metrics.js';
import { makeTestPki, opensslOrSkip, type TestPki } from '../support/certs.js';
import { HAVE_SHARED, sampleAlertLines, sampleTraces } from '../support/shared.js';
import { PATIENCE_MS, sleep, waitFor } from '../support/wait.js';
import { RecordingSink } from '../support/recording-sink.js';

/**
 * A unix-socket relay to the stand-in whose open connections can be frozen: bytes stop flowing
 * both ways and nothing is closed. New connections relay normally.
 */
async function freezableProxy(target: string, path: string): Promise<{ path: string; freeze(): void; close(): void }> {
  const pairs: { client: Socket; upstream: Socket }[] = [];
  const server = createServer((client) => {
    const upstream = connect(target);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    pairs.push({ client, upstream });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    freeze: () => {
      for (const { client, upstream } of pairs.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close: () => server.close(),
  };
}

async function gauge(metrics: LannerMetrics, name: 'falcoConnected' | 'falcoReconnects'): Promise<number> {
  return (await metrics[name].get()).values[0]?.value ?? 0;
}

const FAST = { pollIntervalMs: 20, connectTimeoutMs: 2000, backoff: { initialMs: 20, maxMs: 100 } } as const;

function response(n: number, fields: Record<string, string> = {}): GrpcResponse {
  return {
    time: { seconds: 1763990696n, nanos: 428114287 },
    priority: 5,
    rule: 'Terminal shell in container',
    output: `event ${n}`,
    output_fields: { 'evt.num': String(n), 'proc.name': 'sh', ...fields },
    hostname: 'node-1',
    tags: ['container', 'shell'],
    source: 'syscall',
  };
}

const standIns: FalcoStandIn[] = [];
const sources: FalcoGrpcSource[] = [];
let dir: string;

async function startStandIn(address: string, options: Partial<ConstructorParameters<typeof FalcoStandIn>[0]> = {}) {
  const standIn = new FalcoStandIn({ address, ...options });
  standIns.push(standIn);
  return { standIn, address: await standIn.start() };
}

async function startSource(options: Partial<FalcoGrpcOptions> & { address: string }) {
  const metrics = createMetrics({ processMetrics: false });
  const sink = new RecordingSink();
  const source = new FalcoGrpcSource({ logger: silentLogger(), metrics, ...FAST, ...options });
  sources.push(source);
  await source.start(sink);
  return { source, sink, metrics };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lanner-grpc-'));
});

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.close()));
  await Promise.all(standIns.splice(0).map((s) => s.stop()));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('backoffDelay', () => {
  const options = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };
  it('doubles up to the maximum, jittered in full or in half', () => {
    expect([0, 1, 2, 10].map((n) => backoffDelay(n, { ...options, jitter: 'full' }, () => 0.999999))).toEqual([
      expect.closeTo(500, 0), expect.closeTo(1000, 0), expect.closeTo(2000, 0), expect.closeTo(30_000, 0),
    ]);
    expect(backoffDelay(3, { ...options, jitter: 'full' }, () => 0)).toBe(0);
    expect(backoffDelay(3, { ...options, jitter: 'equal' }, () => 0)).toBe(2000);
    expect(backoffDelay(1e6, { ...options, jitter: 'equal' }, () => 0.5)).toBe(22_500);
  });
});

describe('FalcoGrpcSource over a unix socket', () => {
  it('asks Falco for its version on connect and logs it', async () => {
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
    const { standIn, address } = await startStandIn(`unix://${dir}/version.sock`, { version: '0.43.0' });
    const { source, metrics } = await startSource({ address, logger });
    await waitFor(() => source.connected, { what: 'the connection' });
    expect(standIn.versionCalls).toBe(1);
    expect(source.falcoVersion).toEqual({ version: '0.43.0', major: 0, minor: 43, patch: 0, prerelease: '', build: '' });
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'connected to Falco', falcoVersion: '0.43.0' }));
    expect(await gauge(metrics, 'falcoConnected')).toBe(1);
  });

  it('writes a request on every tick, since Falco only answers requests', async () => {
    const { standIn, address } = await startStandIn(`unix://${dir}/tick.sock`);
    const { metrics } = await startSource({ address });
    await waitFor(() => standIn.subRequests >= 1, { what: 'the first request' });
    const first = standIn.subRequests;
    await waitFor(() => standIn.subRequests >= first + 3, { what: 'three more ticks' });
    // Each tick is a request written on the one open stream, not a new subscription.
    expect(standIn.subscribers).toBe(1);
    expect(await gauge(metrics, 'falcoReconnects')).toBe(0);
  });

  it('delivers published events normalized: typed numbers, nulls, exact nanoseconds', async () => {
    const { standIn, address } = await startStandIn(`unix://${dir}/events.sock`);
    const { sink } = await startSource({ address });
    standIn.publish(
      response(1, {
        'evt.time': '1763990696428114287',
        'proc.pid': '4242',
        'user.loginuid': '-1',
        'container.privileged': 'true',
        'k8s.ns.name': '<NA>',
        'k8s.pod.name': 'null',
      }),
    );
    await waitFor(() => sink.events.length === 1, { what: 'the event' });
    const event = sink.events[0]!;
    expect(event).toMatchObject({
      timeNs: 1763990696428114287n,
      rule: 'Terminal shell in container',
      priority: 'Notice',
      source: 'syscall',
      hostname: 'node-1',
      tags: ['container', 'shell'],
      output: 'event 1',
      transport: 'grpc',
      feed: false,
    });
    expect(event.fields).toEqual({
      'evt.num': 1,
      'evt.time': 1763990696428114287n,
      'proc.name': 'sh',
      'proc.pid': 4242,
      'user.loginuid': -1,
      'container.privileged': true,
      'k8s.ns.name': null,
      'k8s.pod.name': null,
    });
  });

  it('reports a response it cannot normalize to the sink instead of accepting it', async () => {
    const { standIn, address } = await startStandIn(`unix://${dir}/reject.sock`);
    const { sink } = await startSource({ address });
    standIn.publish({ ...response(1), rule: '' });
    standIn.publish(response(2));
    await waitFor(() => sink.events.length + sink.rejects.length === 2, { what: 'both responses' });
    expect(sink.rejects).toEqual([{ reason: 'missing_rule', detail: expect.any(String), transport: 'grpc' }]);
    expect(sink.events.map((e) => e.fields['evt.num'])).toEqual([2]);
  });

  it('reconnects after Falco is killed mid-stream and restarted; later events arrive exactly once', async () => {
    const address = `unix://${dir}/restart.sock`;
    const first = await startStandIn(address);
    const { source, sink, metrics } = await startSource({ address });
    first.standIn.publish(response(0));
    await waitFor(() => sink.events.length === 1, { what: 'the first event' });

    await first.standIn.stop();
    await waitFor(() => !source.connected, { what: 'the disconnect' });
    expect(await gauge(metrics, 'falcoConnected')).toBe(0);

    const second = await startStandIn(address);
    await waitFor(() => source.connected, { what: 'the reconnect' });
    expect(await gauge(metrics, 'falcoConnected')).toBe(1);
    expect(await gauge(metrics, 'falcoReconnects')).toBeGreaterThanOrEqual(1);
    // Spread over several ticks, so batches and single events both cross the wire.
    for (let n = 1; n <= 60; n++) {
      second.standIn.publish(response(n));
      if (n % 20 === 0) await waitFor(() => second.standIn.queued === 0, { what: `batch up to ${n}` });
    }
    await waitFor(() => sink.events.length >= 61, { what: 'all 60 events' });
    // A few more ticks: a duplicate would show up here.
    const requests = second.standIn.subRequests;
    await waitFor(() => second.standIn.subRequests >= requests + 3, { what: 'more ticks' });
    expect(sink.events.map((e) => e.fields['evt.num'])).toEqual(Array.from({ length: 61 }, (_, n) => n));
  });

  it('finds a Falco that stopped answering without closing the socket, by keepalive pings, and reconnects', async () => {
    const { standIn, address: falcoAddress } = await startStandIn(`unix://${dir}/hung.sock`);
    const proxy = await freezableProxy(falcoAddress.slice('unix://'.length), `${dir}/hung-proxy.sock`);
    try {
      const { source, sink, metrics } = await startSource({ address: `unix://${proxy.path}`, keepaliveMs: 200, keepaliveTimeoutMs: 1000 });
      await waitFor(() => source.connected, { what: 'the connection' });
      standIn.publish(response(1));
      await waitFor(() => sink.events.length === 1, { what: 'the first event' });
      // Healthy pings are answered: no reconnect while the connection only idles. A sleep, as
      // this asserts that nothing happens over a few keepalive periods (200 ms each).
      await sleep(500);
      expect(await gauge(metrics, 'falcoReconnects')).toBe(0);

      // The path goes silent, as a hung Falco or a dropped network path does: no FIN, no RST.
      proxy.freeze();
      await waitFor(() => !source.connected, { what: 'the dead connection noticed' });
      await waitFor(() => source.connected, { what: 'the reconnect' });
      expect(await gauge(metrics, 'falcoReconnects')).toBeGreaterThanOrEqual(1);
      standIn.publish(response(2));
      await waitFor(() => sink.events.some((e) => e.fields['evt.num'] === 2), { what: 'an event after the reconnect' });
    } finally {
      proxy.close();
    }
  });

  it('keeps retrying while Falco is down, without throwing, and connects once it is up', async () => {
    const address = `unix://${dir}/late.sock`;
    const { source, sink, metrics } = await startSource({ address });
    await expect.poll(() => gauge(metrics, 'falcoReconnects'), { timeout: PATIENCE_MS, interval: 10 }).toBeGreaterThanOrEqual(2);
    const states: boolean[] = [];
    source.connection$.subscribe((up) => states.push(up));
    const { standIn } = await startStandIn(address);
    await waitFor(() => source.connected, { what: 'the connection' });
    standIn.publish(response(7));
    await waitFor(() => sink.events.length === 1, { what: 'the event' });
    expect(states).toEqual([false, true]);
  });

  it('backs off further after a short-lived connection and starts over after a healthy one', async () => {
    const logs: { msg: string; retryInMs?: number }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logs.push(JSON.parse(line)) });
    const lost = () => logs.filter((l) => l.msg === 'lost the connection to Falco');
    const address = `unix://${dir}/backoff.sock`;
    const { source, metrics } = await startSource({
      address,
      logger,
      random: () => 0.999,
      backoff: { initialMs: 20, maxMs: 10_000, resetAfterMs: 250 },
    });
    await expect.poll(() => gauge(metrics, 'falcoReconnects'), { timeout: PATIENCE_MS, interval: 10 }).toBeGreaterThanOrEqual(3);

    const brief = await startStandIn(address);
    await waitFor(() => source.connected, { what: 'the first connection' });
    await brief.standIn.stop();
    await waitFor(() => lost().length === 1, { what: 'the first loss' });
    // At least three failures before it: 20 ms doubled three times.
    expect(lost()[0]!.retryInMs).toBeGreaterThanOrEqual(160);

    const healthy = await startStandIn(address);
    await waitFor(() => source.connected, { what: 'the second connection' });
    // Not a wait for an event: the input here is a connection that lived longer than
    // reset_after (250 ms), on the source's own clock.
    await sleep(300);
    await healthy.standIn.stop();
    await waitFor(() => lost().length === 2, { what: 'the second loss' });
    expect(lost()[1]!.retryInMs).toBe(20);
  });

  it('polls with get in get mode', async () => {
    const { standIn, address } = await startStandIn(`unix://${dir}/get.sock`);
    const { sink } = await startSource({ address, mode: 'get' });
    standIn.publish(response(1));
    standIn.publish(response(2));
    await waitFor(() => sink.events.length === 2, { what: 'two events' });
    const calls = standIn.getCalls;
    standIn.publish(response(3));
    await waitFor(() => sink.events.length === 3 && standIn.getCalls > calls, { what: 'the next poll' });
    expect(sink.events.map((e) => e.fields['evt.num'])).toEqual([1, 2, 3]);
    expect(standIn.subRequests).toBe(0);
  });

  it('close() resolves, stops timers, closes its socket and never reconnects', async () => {
    const { standIn, address } = await startStandIn(`unix://${dir}/close.sock`);
    // Earlier tests' sockets may still be closing; measure from a quiet point.
    const baseline = await settledSocketCounts();
    const { source, metrics } = await startSource({ address });
    await waitFor(() => source.connected && standIn.subRequests >= 2, { what: 'a few ticks' });
    expect(exceeds(socketCounts(), baseline)).not.toEqual([]);
    let completed = false;
    source.connection$.subscribe({ complete: () => (completed = true) });
    await source.close();
    expect(source.connected).toBe(false);
    expect(completed).toBe(true);
    expect(await gauge(metrics, 'falcoConnected')).toBe(0);
    // With Falco still up, our socket (and Falco's end of it) must go away.
    await waitFor(() => exceeds(socketCounts(), baseline).length === 0, { what: 'sockets back to the baseline' });
    const requests = standIn.subRequests;
    await standIn.stop();
    // A sleep, as nothing is to happen: a source that leaked its stream or reconnect timer
    // would tick or retry within five poll intervals.
    await sleep(5 * FAST.pollIntervalMs);
    expect(standIn.subRequests).toBe(requests);
    expect(standIn.subscribers).toBe(0);
    expect(await gauge(metrics, 'falcoReconnects')).toBe(0);
  });
});

/** Open sockets by kind: what a client that was not closed would leave behind. */
function socketCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (/Pipe|TCP/.test(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

async function settledSocketCounts(): Promise<Map<string, number>> {
  let last = socketCounts();
  for (let i = 0; i < 50; i++) {
    await sleep(20);
    const now = socketCounts();
    if (exceeds(now, last).length === 0 && exceeds(last, now).length === 0) return now;
    last = now;
  }
  return last;
}

function exceeds(now: Map<string, number>, baseline: Map<string, number>): string[] {
  return [...now].filter(([kind, n]) => n > (baseline.get(kind) ?? 0)).map(([kind, n]) => `${kind}: ${n}`);
}

describe('FalcoGrpcSource over TCP with mutual TLS', () => {
  const haveOpenssl = opensslOrSkip('mutual TLS tests of the Falco gRPC source');
  let pki: TestPki;

  beforeAll(() => {
    if (haveOpenssl) pki = makeTestPki();
  });
  afterAll(() => pki?.cleanup());

  const serverTls = () => ({ ca: pki.caCert, cert: pki.serverCert, key: pki.serverKey });

  it('refuses to dial TCP without TLS', () => {
    expect(() => new FalcoGrpcSource({ address: '127.0.0.1:5060', logger: silentLogger() })).toThrow(
      expect.objectContaining({ code: 'LANNER_CONFIG_INVALID' }),
    );
  });

  it.skipIf(!haveOpenssl)('streams with a client certificate from the trusted CA', async () => {
    const { standIn, address } = await startStandIn('127.0.0.1:0', { tls: serverTls() });
    const { source, sink } = await startSource({
      address,
      tls: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey },
    });
    await waitFor(() => source.connected, { what: 'the connection' });
    standIn.publish(response(1));
    await waitFor(() => sink.events.length === 1, { what: 'the event' });
    expect(sink.events[0]!.fields['evt.num']).toBe(1);
  });

  it.skipIf(!haveOpenssl)('verifies the server against serverName', async () => {
    const { standIn, address } = await startStandIn('127.0.0.1:0', { tls: serverTls() });
    const tls = { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey };
    const good = await startSource({ address, tls: { ...tls, serverName: 'localhost' } });
    const bad = await startSource({ address, tls: { ...tls, serverName: 'falco.example.com' } });
    await waitFor(() => good.source.connected, { what: 'the good connection' });
    await expect.poll(() => gauge(bad.metrics, 'falcoReconnects'), { timeout: PATIENCE_MS, interval: 10 }).toBeGreaterThanOrEqual(2);
    expect(bad.source.connected).toBe(false);
    expect(standIn.versionCalls).toBe(1);
  });

  it.skipIf(!haveOpenssl)('is refused with a client certificate from another CA', async () => {
    const { standIn, address } = await startStandIn('127.0.0.1:0', { tls: serverTls() });
    const { source, sink, metrics } = await startSource({
      address,
      tls: { ca: pki.caCert, cert: pki.rogueClientCert, key: pki.rogueClientKey },
    });
    standIn.publish(response(1));
    await expect.poll(() => gauge(metrics, 'falcoReconnects'), { timeout: PATIENCE_MS, interval: 10 }).toBeGreaterThanOrEqual(3);
    expect(source.connected).toBe(false);
    expect(await gauge(metrics, 'falcoConnected')).toBe(0);
    expect(sink.events).toEqual([]);
    expect(standIn.versionCalls).toBe(0);
    expect(standIn.queued).toBe(1);
  });

  it.skipIf(!haveOpenssl)('reports unreadable TLS files as LANNER_TLS_FILES', async () => {
    const source = new FalcoGrpcSource({
      address: '127.0.0.1:5060',
      tls: { ca: join(dir, 'missing-ca.crt'), cert: pki.clientCert, key: pki.clientKey },
      logger: silentLogger(),
    });
    await expect(source.start(new RecordingSink())).rejects.toMatchObject({ code: 'LANNER_TLS_FILES' });
  });
});

function withoutTransport(event: FalcoEvent): Omit<FalcoEvent, 'transport' | 'uuid'> {
  // uuid is Falcosidekick's, added after Falco: Falco's gRPC output never had one.
  const { transport: _transport, uuid: _uuid, ...rest } = event;
  return rest;
}

describe.skipIf(!HAVE_SHARED)('the same Falco event over gRPC and over JSON', () => {
  const lines = HAVE_SHARED ? [...sampleAlertLines(), ...sampleTraces().flatMap((t) => t.lines)] : [];

  it(`normalizes identically for all ${lines.length} sample lines`, async () => {
    const { standIn, address } = await startStandIn(`unix://${dir}/samples.sock`);
    const { sink } = await startSource({ address });
    const expected = lines.map((line) => {
      const json = parseJsonExact(line) as FalcoJsonEvent;
      const viaJson = normalizeFalcoJson(json, 'http');
      if (!viaJson.ok) throw new Error(`sample does not normalize: ${viaJson.detail}`);
      standIn.publish(falcoJsonToGrpcResponse(json));
      return withoutTransport(viaJson.event);
    });
    await waitFor(() => sink.events.length + sink.rejects.length >= lines.length, { what: 'every sample', timeoutMs: 10_000 });
    expect(sink.rejects).toEqual([]);
    for (let i = 0; i < lines.length; i++) {
      expect(withoutTransport(sink.events[i]!), `line ${i + 1}: ${lines[i]!.slice(0, 120)}`).toEqual(expected[i]);
    }
  });
});
