import { request as httpRequest, Agent, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FalcoEvent } from '../../src/core/event.js';
import { FEED_TAG } from '../../src/core/event.js';
import { isLannerError } from '../../src/core/errors.js';
import { stringifyExact } from '../../src/core/exact-json.js';
import { silentLogger } from '../../src/core/log.js';
import { HttpIngestSource, type HttpIngestOptions } from '../../src/ingest/http-receiver.js';
import type { InvalidReason } from '../../src/ingest/normalize.js';
import type { EventSink } from '../../src/ingest/source.js';
import { createMetrics, type LannerMetrics } from '../../src/metrics/metrics.js';
import { makeTestPki, opensslOrSkip, type TestPki } from '../support/certs.js';
import { falcoJson } from '../support/events.js';
import { RecordingSink } from '../support/recording-sink.js';
import { HAVE_SHARED, rawIntegerOf, sampleAlertLines, sampleTraces } from '../support/shared.js';

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly json: Record<string, unknown>;
}

interface SendInit {
  readonly method?: string;
  readonly path?: string;
  readonly body?: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly tls?: { readonly ca: Buffer; readonly cert?: Buffer; readonly key?: Buffer };
  readonly agent?: Agent;
}

function readReply(res: IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: res.statusCode ?? 0, headers: res.headers, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
    });
  });
}

/** One request on its own connection (no pooling, so tests cannot leak state through sockets). */
function send(source: HttpIngestSource, init: SendInit = {}): Promise<Reply> {
  const { host, port } = source.address!;
  const common = {
    host,
    port,
    method: init.method ?? 'POST',
    path: init.path ?? '/',
    headers: { 'content-type': 'application/json', ...init.headers },
    agent: init.agent ?? false,
  };
  return new Promise((resolve, reject) => {
    const req = init.tls
      ? httpsRequest({ ...common, ca: init.tls.ca, cert: init.tls.cert, key: init.tls.key, servername: 'localhost' })
      : httpRequest(common);
    req.on('response', (res) => readReply(res).then(resolve, reject));
    req.on('error', reject);
    req.end(init.body);
  });
}

async function metricValue(metrics: LannerMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

const requestsWith = (metrics: LannerMetrics, status: number): Promise<number> =>
  metricValue(metrics, 'lanner_http_ingest_requests_total', { status: String(status) });

const droppedWith = (metrics: LannerMetrics, reason: string): Promise<number> =>
  metricValue(metrics, 'lanner_http_connections_dropped_total', { server: 'ingest', reason });

async function startReceiver(
  sink: EventSink,
  options: Partial<HttpIngestOptions> = {},
): Promise<{ source: HttpIngestSource; metrics: LannerMetrics }> {
  const metrics = createMetrics({ processMetrics: false });
  const source = new HttpIngestSource({ host: '127.0.0.1', port: 0, logger: silentLogger(), metrics, ...options });
  await source.start(sink);
  return { source, metrics };
}

function goodEvent(init: Parameters<typeof falcoJson>[0] = {}): string {
  return stringifyExact(falcoJson(init));
}

/** The nine fractional digits of an RFC 3339 time string, and its whole seconds since the epoch. */
function timeDigits(time: string): { seconds: bigint; nanos: bigint } {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(time);
  if (!m) throw new Error(`unexpected time ${time}`);
  return { seconds: BigInt(Date.parse(`${m[1]}Z`) / 1000), nanos: BigInt((m[2] ?? '').padEnd(9, '0')) };
}

function expectExactTimes(event: FalcoEvent, rawLine: string): void {
  const { time } = JSON.parse(rawLine) as { time: string };
  const { seconds, nanos } = timeDigits(time);
  expect(event.timeNs / 1_000_000_000n).toBe(seconds);
  expect(event.timeNs % 1_000_000_000n).toBe(nanos);
  const evtTime = rawIntegerOf(rawLine, 'evt.time');
  if (evtTime !== undefined) {
    // 19 digits: JSON.parse would round them; the receiver must not.
    expect(typeof event.fields['evt.time']).toBe('bigint');
    expect(event.fields['evt.time']).toBe(BigInt(evtTime));
  }
}

function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

describe('HttpIngestSource', () => {
  const sink = new RecordingSink();
  let source: HttpIngestSource;
  let metrics: LannerMetrics;

  beforeAll(async () => {
    ({ source, metrics } = await startReceiver(sink));
  });
  afterAll(() => source.close());
  beforeEach(() => sink.clear());

  it('exposes the bound port and the URL to give Falco', () => {
    expect(source.address?.port).toBeGreaterThan(0);
    expect(source.url).toBe(`http://127.0.0.1:${source.address!.port}/`);
  });

  describe.skipIf(!HAVE_SHARED)('real Falco output from ../shared/falco-samples', () => {
    it('accepts every alert posted one per request, with exact nanosecond times', async () => {
      const lines = sampleAlertLines();
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) {
        const reply = await send(source, { body: line });
        expect(reply.status, line.slice(0, 120)).toBe(200);
        expect(reply.json).toEqual({ accepted: 1, shed: 0, invalid: 0 });
      }
      expect(sink.rejects).toEqual([]);
      expect(sink.events).toHaveLength(lines.length);
      sink.events.forEach((event, i) => {
        expect(event.transport).toBe('http');
        expectExactTimes(event, lines[i]!);
      });
      // Several sample alerts carry evt.time; the exactness check above must have run on them.
      expect(sink.events.filter((e) => typeof e.fields['evt.time'] === 'bigint').length).toBeGreaterThanOrEqual(4);
    });

    it("keeps the uuid of Falcosidekick's body", async () => {
      const line = sampleAlertLines().find((l) => l.includes('"uuid"'));
      expect(line, 'alerts.jsonl should hold a Falcosidekick body with a uuid').toBeDefined();
      const reply = await send(source, { body: line! });
      expect(reply.status).toBe(200);
      expect(sink.events[0]?.uuid).toBe((JSON.parse(line!) as { uuid: string }).uuid);
    });

    for (const format of ['NDJSON', 'JSON array'] as const) {
      it(`accepts every trace event posted in ${format} batches, as feed events with exact times`, async () => {
        const traces = sampleTraces();
        expect(traces.length).toBeGreaterThan(0);
        for (const { name, lines } of traces) {
          sink.clear();
          for (const batch of chunksOf(lines, 200)) {
            const body = format === 'NDJSON' ? `${batch.join('\n')}\n` : `[${batch.join(',')}]`;
            const reply = await send(source, { body, headers: { 'content-type': format === 'NDJSON' ? 'application/x-ndjson' : 'application/json' } });
            expect(reply.status, name).toBe(200);
            expect(reply.json, name).toEqual({ accepted: batch.length, shed: 0, invalid: 0 });
          }
          expect(sink.rejects, name).toEqual([]);
          expect(sink.events, name).toHaveLength(lines.length);
          sink.events.forEach((event, i) => {
            expect(event.feed, name).toBe(true);
            expect(event.tags).toContain(FEED_TAG);
            expectExactTimes(event, lines[i]!);
          });
        }
      });
    }
  });

  it('accepts a pretty-printed event spread over several lines as one event', async () => {
    const body = JSON.stringify(JSON.parse(goodEvent()), null, 2);
    const reply = await send(source, { body, headers: { 'content-type': 'text/plain' } });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ accepted: 1, shed: 0, invalid: 0 });
    expect(sink.events).toHaveLength(1);
  });

  it('accepts a path with a query string, a body with a BOM, and any Content-Type', async () => {
    expect((await send(source, { path: '/?falco=1', body: goodEvent() })).status).toBe(200);
    expect((await send(source, { body: `\ufeff${goodEvent()}`, headers: { 'content-type': 'application/octet-stream' } })).status).toBe(200);
    expect(sink.events).toHaveLength(2);
  });

  it('answers 400 bad_json for malformed JSON, counts it with the sink and in the request metric', async () => {
    const before = await requestsWith(metrics, 400);
    const reply = await send(source, { body: '{"rule": "x", "priority": ' });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: 'bad_json', accepted: 0, invalid: 1 });
    expect(typeof reply.json['detail']).toBe('string');
    expect(sink.rejects).toEqual([expect.objectContaining({ reason: 'bad_json', transport: 'http' })]);
    expect(await requestsWith(metrics, 400)).toBe(before + 1);
    expect(sink.events).toEqual([]);
  });

  const requiredKeys: [string, InvalidReason][] = [
    ['rule', 'missing_rule'],
    ['priority', 'missing_priority'],
    ['time', 'missing_time'],
    ['output_fields', 'missing_output_fields'],
  ];
  for (const [key, reason] of requiredKeys) {
    it(`answers 400 ${reason} for an event without "${key}"`, async () => {
      const event = falcoJson();
      delete event[key];
      const reply = await send(source, { body: stringifyExact(event) });
      expect(reply.status).toBe(400);
      expect(reply.json).toMatchObject({ error: reason, accepted: 0, shed: 0, invalid: 1 });
      expect(sink.rejects.map((r) => r.reason)).toEqual([reason]);
      expect(sink.events).toEqual([]);
    });
  }

  it('keeps the good events of a batch with bad ones and says which were refused', async () => {
    const lines = [goodEvent({ timeNs: 1n }), '{not json', stringifyExact({ ...falcoJson(), rule: undefined }), '', goodEvent({ timeNs: 2n })];
    const reply = await send(source, { body: lines.join('\n') });
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      accepted: 2,
      shed: 0,
      invalid: 2,
      refused: [expect.objectContaining({ line: 2, reason: 'bad_json' }), expect.objectContaining({ line: 3, reason: 'missing_rule' })],
    });
    expect(sink.events.map((e) => e.timeNs)).toEqual([1n, 2n]);
    expect(sink.rejects.map((r) => r.reason)).toEqual(['bad_json', 'missing_rule']);
  });

  it('answers 400 for a batch in which no event is valid, naming the first reason', async () => {
    const body = JSON.stringify([{ rule: 'x' }, 'not an event']);
    const reply = await send(source, { body });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ error: 'missing_priority', accepted: 0, invalid: 2 });
    expect(reply.json['refused']).toEqual([
      expect.objectContaining({ index: 0, reason: 'missing_priority' }),
      expect.objectContaining({ index: 1, reason: 'not_an_object' }),
    ]);
  });

  it('answers 200 with nothing accepted for an empty batch', async () => {
    const reply = await send(source, { body: '[]' });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ accepted: 0, shed: 0, invalid: 0 });
  });

  it('survives hostile bodies and still answers a good event afterwards', async () => {
    const nested = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    const bodies: (string | Buffer)[] = [
      '',
      '   \n  ',
      'null',
      '"just a string"',
      '12345678901234567890123',
      Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28]),
      nested,
      '{"rule":"x","priority":"Critical","time":"yesterday","output_fields":{}}',
      '{"rule":"x","priority":"Loud","time":"2024-01-01T00:00:00Z","output_fields":{}}',
      '{"rule":"x","priority":"Debug","time":"2024-01-01T00:00:00Z","output_fields":{"a":{"b":1}}}',
      '{"rule":"x","priority":"Debug","time":"2024-01-01T00:00:00Z","output_fields":[]}',
      '{"rule":"x","priority":"Debug","time":"2024-01-01T00:00:00Z","output_fields":{},"tags":"a"}',
      '{"__proto__":{"polluted":true},"rule":"x"}',
    ];
    for (const body of bodies) {
      const reply = await send(source, { body });
      expect(reply.status, String(body).slice(0, 40)).toBe(400);
      expect(typeof reply.json['error']).toBe('string');
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(sink.events).toEqual([]);
    expect(sink.rejects).toHaveLength(bodies.length);
    const reply = await send(source, { body: goodEvent() });
    expect(reply.status).toBe(200);
    expect(sink.events).toHaveLength(1);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    const before = await requestsWith(metrics, 404);
    expect((await send(source, { path: '/other', body: goodEvent() })).status).toBe(404);
    expect(await requestsWith(metrics, 404)).toBe(before + 1);
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const reply = await send(source, { method, body: method === 'GET' ? undefined : goodEvent() });
      expect(reply.status, method).toBe(405);
      expect(reply.headers['allow']).toBe('POST');
    }
    expect(sink.events).toEqual([]);
  });

  it('answers 415 for a compressed body rather than misreading it', async () => {
    const reply = await send(source, { body: goodEvent(), headers: { 'content-encoding': 'gzip' } });
    expect(reply.status).toBe(415);
    expect(sink.events).toEqual([]);
  });

  it('serves many requests on one keep-alive connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 20; i++) expect((await send(source, { body: goodEvent({ timeNs: BigInt(i) }), agent })).status).toBe(200);
    } finally {
      agent.destroy();
    }
    expect(sink.events.map((e) => e.timeNs)).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i)));
  });
});

describe('HttpIngestSource body limit', () => {
  const sink = new RecordingSink();
  let source: HttpIngestSource;
  let metrics: LannerMetrics;
  const big = `[${Array.from({ length: 8 }, () => goodEvent()).join(',')}]`;

  beforeAll(async () => {
    ({ source, metrics } = await startReceiver(sink, { bodyLimitBytes: 1024 }));
  });
  afterAll(() => source.close());
  beforeEach(() => sink.clear());

  it('answers 413 for a declared Content-Length over the limit, and counts it', async () => {
    expect(big.length).toBeGreaterThan(1024);
    const before = await requestsWith(metrics, 413);
    const reply = await send(source, { body: big });
    expect(reply.status).toBe(413);
    expect(reply.json).toMatchObject({ error: 'body_too_large', limit: 1024 });
    expect(sink.events).toEqual([]);
    expect(await requestsWith(metrics, 413)).toBe(before + 1);
  });

  it('answers 413 as soon as a chunked body crosses the limit, without waiting for its end', async () => {
    const before = await requestsWith(metrics, 413);
    const { host, port } = source.address!;
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = httpRequest({ host, port, method: 'POST', path: '/', agent: false });
      req.on('response', (res) => readReply(res).then(resolve, reject));
      req.on('error', reject);
      // The body never ends: only an answer given at the limit can settle this promise.
      req.write('x'.repeat(2048));
    });
    expect(reply.status).toBe(413);
    expect(reply.headers['connection']).toBe('close');
    expect(sink.events).toEqual([]);
    expect(await requestsWith(metrics, 413)).toBe(before + 1);
  });

  it('refuses an oversize body before it is sent when the client expects 100-continue', async () => {
    const before = await requestsWith(metrics, 413);
    const { host, port } = source.address!;
    let continued = false;
    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = httpRequest({
        host,
        port,
        method: 'POST',
        path: '/',
        agent: false,
        headers: { expect: '100-continue', 'content-length': String(Buffer.byteLength(big)) },
      });
      req.on('continue', () => {
        continued = true;
        req.end(big);
      });
      req.on('response', (res) => readReply(res).then(resolve, reject));
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(reply.status).toBe(413);
    expect(continued).toBe(false);
    expect(await requestsWith(metrics, 413)).toBe(before + 1);
  });

  it('still takes a small event after refusing a large one', async () => {
    const [refused, taken] = [await requestsWith(metrics, 413), await requestsWith(metrics, 200)];
    expect((await send(source, { body: big })).status).toBe(413);
    const reply = await send(source, { body: goodEvent() });
    expect(reply.status).toBe(200);
    expect(sink.events).toHaveLength(1);
    expect(await requestsWith(metrics, 413)).toBe(refused + 1);
    expect(await requestsWith(metrics, 200)).toBe(taken + 1);
  });
});

describe('HttpIngestSource bearer token', () => {
  const sink = new RecordingSink();
  const token = 'c2VjcmV0LXRva2VuLWZvci1sYW5uZXI';
  let source: HttpIngestSource;
  let metrics: LannerMetrics;

  beforeAll(async () => {
    ({ source, metrics } = await startReceiver(sink, { token }));
  });
  afterAll(() => source.close());

  it('answers 401 without the right token and 200 with it', async () => {
    const refused: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: `Bearer ${token.slice(0, -1)}X` },
      { authorization: 'Bearer short' },
      { authorization: `Basic ${Buffer.from(`user:${token}`).toString('base64')}` },
      { authorization: token },
      { authorization: `Bearer ${token} extra` },
    ];
    for (const headers of refused) {
      const reply = await send(source, { body: goodEvent(), headers });
      expect(reply.status, JSON.stringify(headers)).toBe(401);
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect(sink.events).toEqual([]);
    expect(await requestsWith(metrics, 401)).toBe(refused.length);

    expect((await send(source, { body: goodEvent(), headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await send(source, { body: goodEvent(), headers: { authorization: `bearer  ${token}` } })).status).toBe(200);
    expect(sink.events).toHaveLength(2);
  });
});

describe('HttpIngestSource when the ingest queue is full', () => {
  it('sheds, says so at once with 503, and queues what fits of a batch with 200', async () => {
    const sink = new RecordingSink(0);
    const { source, metrics } = await startReceiver(sink);
    try {
      // The sink never makes room: a receiver that waited for it would never answer.
      const reply = await send(source, { body: goodEvent() });
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('1');
      expect(reply.json).toMatchObject({ error: 'queue_full', accepted: 0, shed: 1 });
      expect(sink.shed).toBe(1);
      expect(await requestsWith(metrics, 503)).toBe(1);

      sink.capacity = 2;
      const batch = `[${[1n, 2n, 3n].map((t) => goodEvent({ timeNs: t })).join(',')}]`;
      const partial = await send(source, { body: batch });
      expect(partial.status).toBe(200);
      expect(partial.json).toEqual({ accepted: 2, shed: 1, invalid: 0 });
      expect(sink.events.map((e) => e.timeNs)).toEqual([1n, 2n]);
    } finally {
      await source.close();
    }
  });
});

describe('HttpIngestSource slow clients and shutdown', () => {
  function rawSocket(source: HttpIngestSource): Promise<Socket> {
    const { host, port } = source.address!;
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(socket));
      socket.on('error', reject);
    });
  }

  function closedWithin(socket: Socket, ms: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let received = '';
      const timer = setTimeout(() => reject(new Error(`socket still open after ${ms} ms`)), ms);
      socket.on('data', (d: Buffer) => (received += d.toString()));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(received);
      });
    });
  }

  it('destroys a client that never finishes its headers or its body, and counts each by reason', async () => {
    const sink = new RecordingSink();
    const { source, metrics } = await startReceiver(sink, { limits: { headerTimeoutMs: 200, bodyTimeoutMs: 400 } });
    try {
      const slowHeaders = await rawSocket(source);
      slowHeaders.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const slowBody = await rawSocket(source);
      slowBody.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{"rule":');
      const [a, b] = await Promise.all([closedWithin(slowHeaders, 5_000), closedWithin(slowBody, 5_000)]);
      // No answer: a client too slow to send is not waited on to read one.
      expect(a).toBe('');
      expect(b).toBe('');
      expect(await droppedWith(metrics, 'header_timeout')).toBe(1);
      expect(await droppedWith(metrics, 'body_timeout')).toBe(1);
      expect(sink.events).toEqual([]);
      expect((await send(source, { body: goodEvent() })).status).toBe(200);
    } finally {
      await source.close();
    }
  });

  it('answers malformed HTTP with 400 and keeps serving', async () => {
    const sink = new RecordingSink();
    const { source, metrics } = await startReceiver(sink);
    try {
      const socket = await rawSocket(source);
      socket.write('THIS IS NOT HTTP\r\n\r\n');
      expect(await closedWithin(socket, 5_000)).toMatch(/^HTTP\/1\.1 400/);
      expect(await requestsWith(metrics, 400)).toBe(1);
      expect((await send(source, { body: goodEvent() })).status).toBe(200);
    } finally {
      await source.close();
    }
  });

  it('closes promptly with an idle keep-alive connection open, and refuses connections after', async () => {
    const sink = new RecordingSink();
    // A grace of an hour: a close that waited it out for an idle connection would never end.
    const { source } = await startReceiver(sink, { closeGraceMs: 3_600_000 });
    const agent = new Agent({ keepAlive: true });
    try {
      expect((await send(source, { body: goodEvent(), agent })).status).toBe(200);
      // Idle connections are closed at once; only requests in flight get the grace period.
      await source.close();
      await expect(send(source, { body: goodEvent() })).rejects.toThrow(/ECONNREFUSED/);
      await source.close();
    } finally {
      agent.destroy();
    }
  });
});

describe('HttpIngestSource over TLS', () => {
  const haveOpenssl = opensslOrSkip('HTTP ingest TLS tests');
  let pki: TestPki;
  let ca: Buffer;

  beforeAll(() => {
    if (!haveOpenssl) return;
    pki = makeTestPki();
    ca = readFileSync(pki.caCert);
  });
  afterAll(() => pki?.cleanup());

  it('refuses client_auth without a CA to check client certificates against', () => {
    const metrics = createMetrics({ processMetrics: false });
    let caught: unknown;
    try {
      new HttpIngestSource({ host: '127.0.0.1', port: 0, logger: silentLogger(), metrics, tls: { cert: 'c', key: 'k', requireClientCert: true } });
    } catch (err) {
      caught = err;
    }
    expect(isLannerError(caught) && caught.code).toBe('LANNER_CONFIG_INVALID');
  });

  it('fails to start with LANNER_TLS_FILES when a file is missing', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const source = new HttpIngestSource({ host: '127.0.0.1', port: 0, logger: silentLogger(), metrics, tls: { cert: '/nonexistent/server.crt', key: '/nonexistent/server.key' } });
    const err: unknown = await source.start(new RecordingSink()).catch((e: unknown) => e);
    expect(isLannerError(err) && err.code).toBe('LANNER_TLS_FILES');
  });

  it.skipIf(!haveOpenssl)('takes events from a client with a certificate of our CA and refuses others (mutual TLS)', async () => {
    const sink = new RecordingSink();
    const { source } = await startReceiver(sink, {
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requireClientCert: true },
    });
    try {
      expect(source.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
      const client = { ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) };
      const reply = await send(source, { body: goodEvent(), tls: client });
      expect(reply.status).toBe(200);
      expect(sink.events).toHaveLength(1);

      await expect(send(source, { body: goodEvent(), tls: { ca } })).rejects.toThrow();
      const rogue = { ca, cert: readFileSync(pki.rogueClientCert), key: readFileSync(pki.rogueClientKey) };
      await expect(send(source, { body: goodEvent(), tls: rogue })).rejects.toThrow();
      expect(sink.events).toHaveLength(1);

      // Plain HTTP to the TLS port gets nowhere near the sink.
      await send(source, { body: goodEvent() }).catch(() => undefined);
      expect(sink.events).toHaveLength(1);
      expect((await send(source, { body: goodEvent(), tls: client })).status).toBe(200);
    } finally {
      await source.close();
    }
  });

  it.skipIf(!haveOpenssl)('combines server-only TLS with a bearer token', async () => {
    const sink = new RecordingSink();
    const { source } = await startReceiver(sink, { tls: { cert: pki.serverCert, key: pki.serverKey }, token: 'tok' });
    try {
      expect((await send(source, { body: goodEvent(), tls: { ca } })).status).toBe(401);
      expect((await send(source, { body: goodEvent(), tls: { ca }, headers: { authorization: 'Bearer tok' } })).status).toBe(200);
      expect(sink.events).toHaveLength(1);
    } finally {
      await source.close();
    }
  });
});
