/**
 * Clients for tests of Lanner's HTTP servers under hostile senders: raw sockets that send
 * what a slow or broken client sends, from a chosen loopback address (all of 127/8 is
 * loopback on Linux, so 127.0.0.2 is another client to the server), and plain requests that
 * report whatever came back, an answer or the way the connection ended.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { HostPort } from '../../src/core/listen.js';
import type { LannerMetrics } from '../../src/metrics/metrics.js';
import { waitFor } from '../support/wait.js';
export { RecordingSink } from '../support/recording-sink.js';

/** The client address attackers post from in these tests; the well-behaved client uses 127.0.0.1. */
export const ATTACKER = '127.0.0.2';

/** A raw TCP connection that has finished connecting, and what it has received so far. */
export interface RawClient {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** True once the server (or anyone) closed the connection. */
  closed(): boolean;
}

export function rawClient(to: HostPort, localAddress?: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    let text = '';
    let ended = false;
    const socket = connect({ host: to.host, port: to.port, ...(localAddress ? { localAddress } : {}) }, () => {
      socket.off('error', reject);
      // Resets from a server that destroys the socket are expected; `closed()` reports them.
      socket.on('error', () => undefined);
      resolve({ socket, received: () => text, closed: () => ended });
    });
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('close', () => (ended = true));
    socket.once('error', reject);
  });
}

/**
 * Opens `count` raw clients one after the other, so the server takes them in this order (the
 * oldest first), each sending `firstBytes`.
 */
export async function rawClients(to: HostPort, count: number, localAddress?: string, firstBytes = ''): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  while (clients.length < count) {
    const client = await rawClient(to, localAddress);
    if (firstBytes !== '') client.socket.write(firstBytes);
    clients.push(client);
  }
  return clients;
}

/**
 * A kept-alive connection that has had one request answered and now sits idle, as Falco's
 * does between posts; resolves once the answer is in, so the server surely knows it.
 */
export async function idleClient(to: HostPort, localAddress?: string): Promise<RawClient> {
  const client = await rawClient(to, localAddress);
  client.socket.write(`GET /nowhere HTTP/1.1\r\nHost: ${to.host}\r\n\r\n`);
  await waitFor(() => rawStatus(client) !== 0 || client.closed(), { what: 'the answer on a new keep-alive connection' });
  if (client.closed()) throw new Error(`the connection closed instead of staying idle: ${client.received()}`);
  return client;
}

/** What came back for one request: an answer, or how the connection ended without one. */
export type Outcome =
  | { readonly status: number; readonly headers: IncomingHttpHeaders; readonly body: string }
  | { readonly status: 'no answer'; readonly error: string };

export interface PostInit {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly localAddress?: string;
}

/** One request on its own connection; never rejects, so a test can count every outcome. */
export function exchange(to: HostPort, body: string | Buffer | undefined, init: PostInit = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request({
      host: to.host,
      port: to.port,
      method: init.method ?? 'POST',
      path: init.path ?? '/',
      agent: false,
      headers: init.headers ?? {},
      ...(init.localAddress ? { localAddress: init.localAddress } : {}),
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve({ status: 'no answer', error: err.message }));
    });
    req.on('error', (err) => resolve({ status: 'no answer', error: err.message }));
    req.end(body);
  });
}

/** The answer's body as JSON (the receiver always answers JSON). */
export function jsonOf(outcome: Outcome): Record<string, unknown> {
  if (outcome.status === 'no answer') throw new Error(`no answer: ${outcome.error}`);
  return JSON.parse(outcome.body) as Record<string, unknown>;
}

export async function metricValue(metrics: LannerMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

/** The receiver's count of answers with `status`. */
export const ingestRequests = (metrics: LannerMetrics, status: number): Promise<number> =>
  metricValue(metrics, 'lanner_http_ingest_requests_total', { status: String(status) });

/** Connections `server` closed without an answer, for `reason`. */
export const droppedConnections = (metrics: LannerMetrics, reason: string, server = 'ingest'): Promise<number> =>
  metricValue(metrics, 'lanner_http_connections_dropped_total', { server, reason });

/** A request whose headers are sent and whose body is held back: it holds a slot until released. */
export interface HeldRequest {
  readonly client: RawClient;
  /** Sends the rest of the body. */
  finish(): void;
}

/**
 * Starts a POST of `body` and sends all but its last byte. It asks for `100 Continue` and
 * resolves once the server has sent it: the server has then taken the request in.
 */
export async function holdRequest(to: HostPort, body: string, path = '/', localAddress?: string): Promise<HeldRequest> {
  const client = await rawClient(to, localAddress);
  const length = Buffer.byteLength(body);
  client.socket.write(`POST ${path} HTTP/1.1\r\nHost: ${to.host}\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`);
  await waitFor(() => client.received().startsWith('HTTP/1.1 100') || client.closed() || rawStatus(client) !== 0, { what: '100 Continue' });
  if (!client.received().startsWith('HTTP/1.1 100')) throw new Error(`the request was not taken in: ${JSON.stringify(client.received())}`);
  client.socket.write(body.slice(0, -1));
  return { client, finish: () => client.socket.write(body.slice(-1)) };
}

/** The final status of a raw answer ("HTTP/1.1 429 Too Many Requests" gives 429), past any 100 Continue; 0 before it. */
export function rawStatus(client: RawClient): number {
  for (const m of client.received().matchAll(/HTTP\/1\.1 (\d{3})/g)) {
    const status = Number(m[1]);
    if (status >= 200) return status;
  }
  return 0;
}
