/**
 * Listening, and the limits every Lanner HTTP server holds its clients to. Both ports (the
 * ingest and the operations server) can be reached by whoever owns a container on the node, so
 * a client that connects and then sends slowly, or never, must cost little and not for long:
 *
 * - headers must arrive within `headerTimeoutMs` of the connection (or of the first byte of a
 *   keep-alive connection's next request), the body within `bodyTimeoutMs` of the headers;
 *   a client that misses either is disconnected at once (destroyed: ending the socket politely
 *   would wait on a peer that does not answer);
 * - thousands of open connections are allowed, and once they are all taken the oldest idle
 *   connection (no request in progress) of the client holding the most connections makes room
 *   for the newcomer, so one client's idle sockets cannot lock the others out;
 * - requests in progress are bounded in all (each may buffer a body, so this bounds memory)
 *   and per client, so one client cannot take every slot.
 * A connection closed without an answer is reported by reason (`DropReason`) for a metric.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import { z } from 'zod';
import { LannerError } from './errors.js';
import { positiveDurationMs } from './units.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Splits "HOST:PORT" ("[::1]:9376" for IPv6). */
export function parseHostPort(text: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  if (!m) throw new LannerError('LANNER_CONFIG_INVALID', `${JSON.stringify(text)} is not HOST:PORT`);
  return { host: m[1] ?? m[2]!, port: Number(m[3]) };
}

/** Listens and resolves with the bound address; a refusal becomes a LANNER_LISTEN error naming it. */
export function listenOn(server: Server, where: HostPort, what: string): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new LannerError('LANNER_LISTEN', `${what} cannot listen on ${where.host}:${where.port}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen(where.port, where.host, () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : where);
    });
  });
}

/** Limits of an HTTP server towards its clients. Durations are milliseconds. */
export interface ConnectionLimits {
  /** Time from connecting (or from the first byte of a keep-alive request) to the end of the headers. */
  readonly headerTimeoutMs: number;
  /** Time from the end of the headers to the end of the body. */
  readonly bodyTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  readonly keepAliveTimeoutMs: number;
  /** Open connections, idle ones included. */
  readonly maxConnections: number;
  /** Requests in progress at once, all clients together. */
  readonly maxRequests: number;
  /** Requests in progress at once from one client address. */
  readonly maxRequestsPerClient: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headerTimeoutMs: 5_000,
  // A full 1 MiB body takes under a second on any link Falco posts over; ten leave room for a
  // loaded node without letting a trickling client hold a request slot for long.
  bodyTimeoutMs: 10_000,
  // Longer than the idle time after which clients stop reusing a connection, so a client
  // rarely sends into a connection the server is closing (curl reuses for up to 118 s, but
  // checks a pooled connection is still open before it sends).
  keepAliveTimeoutMs: 65_000,
  // An idle connection costs a socket and a parser, a few KiB: thousands are cheap.
  maxConnections: 4_096,
  maxRequests: 64,
  maxRequestsPerClient: 16,
};

/**
 * The config keys of a server's limits, the same for every server that has clients on the
 * network (the ingest's `ingest.http`, the operations server's `server`), with their defaults.
 */
export const connectionLimitOptions = {
  header_timeout: positiveDurationMs
    .prefault(`${DEFAULT_CONNECTION_LIMITS.headerTimeoutMs / 1000}s`)
    .describe('Time a client has to send its request headers, from connecting (or from the first byte of its next request on a kept-alive connection); past it the connection is destroyed without an answer and counted'),
  body_timeout: positiveDurationMs
    .prefault(`${DEFAULT_CONNECTION_LIMITS.bodyTimeoutMs / 1000}s`)
    .describe('Time a client has to send its whole body once its headers are in; past it the connection is destroyed without an answer and counted'),
  max_connections: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_CONNECTION_LIMITS.maxConnections)
    .describe('Open connections, idle ones included; when all are taken, the oldest idle connection of the address holding the most is closed to make room'),
  max_requests: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_CONNECTION_LIMITS.maxRequests)
    .describe('Requests served at once, all clients together; more are answered 503 with Retry-After'),
  max_requests_per_client: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_CONNECTION_LIMITS.maxRequestsPerClient)
    .describe('Requests served at once for one address; more are answered 429 with Retry-After, so one client cannot take every slot'),
};

/** The parsed values of {@link connectionLimitOptions}. */
export type ConnectionLimitValues = { readonly [K in keyof typeof connectionLimitOptions]: z.output<(typeof connectionLimitOptions)[K]> };

/** The limits a server's config block asks for. */
export function limitsFromOptions(o: ConnectionLimitValues): ConnectionLimits {
  return {
    headerTimeoutMs: o.header_timeout,
    bodyTimeoutMs: o.body_timeout,
    keepAliveTimeoutMs: DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs,
    maxConnections: o.max_connections,
    maxRequests: o.max_requests,
    maxRequestsPerClient: o.max_requests_per_client,
  };
}

/** Why a connection was closed without an HTTP answer; the label value of the metric counting them. */
export type DropReason = 'header_timeout' | 'body_timeout' | 'connection_limit' | 'evicted' | 'tls_handshake';

export const DROP_REASONS: readonly DropReason[] = ['header_timeout', 'body_timeout', 'connection_limit', 'evicted', 'tls_handshake'];

/** Whether a request may go on: `overloaded` answers 503, `client_over_share` answers 429. */
export type Admission = 'admitted' | 'overloaded' | 'client_over_share';

/** The limits with defaults filled in; a zero, negative or fractional limit is a programming error. */
export function connectionLimits(partial: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...definedOnly(partial) };
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new LannerError('LANNER_CONFIG_INVALID', `${key}: expected a whole number above 0, got ${String(value)}`);
  }
  return limits;
}

/**
 * The options to create an `http`/`https` server with so it enforces the header timeout
 * (the body timeout is the guard's own: Node's request timeout counts the headers too).
 */
export function serverTimeouts(limits: ConnectionLimits): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number; keepAliveTimeout: number } {
  return {
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: 0,
    // Node checks header timeouts on this tick only; a quarter keeps a short timeout honest.
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headerTimeoutMs / 4))),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
  };
}

/** One open connection, as the guard tracks it. */
interface Connection {
  readonly socket: Socket;
  readonly client: string;
  readonly key: string;
  /** Requests of this connection in progress (more than one when a client pipelines). */
  busy: number;
  closed: boolean;
}

/** What the guard tells its server about. */
export interface GuardEvents {
  /** A connection was closed without an answer. */
  dropped(reason: DropReason): void;
  /**
   * Malformed HTTP was answered (400, or 431 for oversized headers) before any request
   * reached the server's handler.
   */
  answeredMalformed?(status: number): void;
}

/**
 * Holds one server to its {@link ConnectionLimits}. Create the server with
 * {@link serverTimeouts}, `attach` the guard before it listens, and ask `admit` before a
 * request buffers a body or does costly work.
 */
export class ConnectionGuard {
  readonly limits: ConnectionLimits;
  /** Open connections by client address, each set oldest first. */
  private readonly byClient = new Map<string, Set<Connection>>();
  /** Open connections by remote address and port, which a TLS socket shares with its TCP socket. */
  private readonly byRemote = new Map<string, Connection>();
  /** Requests holding a slot, by client address. */
  private readonly slotsByClient = new Map<string, number>();
  /** Requests already tracked (a 100-continue request is seen twice: as checkContinue, then as request). */
  private readonly seen = new WeakSet<IncomingMessage>();
  private open = 0;
  private slots = 0;

  constructor(
    limits: Partial<ConnectionLimits>,
    private readonly events: GuardEvents,
  ) {
    this.limits = connectionLimits(limits);
  }

  /** Open connections now (for tests and logs). */
  get connections(): number {
    return this.open;
  }

  /** Requests holding a slot now. */
  get requestsInProgress(): number {
    return this.slots;
  }

  attach(server: HttpServer): void {
    // One above the limit: the newcomer is let in, and an idle connection makes room for it.
    // Node refuses any connection past that before anyone sees it; count it here.
    server.maxConnections = this.limits.maxConnections + 1;
    server.on('drop', () => this.events.dropped('connection_limit'));
    // Before the http (or tls) listener, so the connection is known when its request arrives.
    server.prependListener('connection', (socket: Socket) => this.onConnection(socket));
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    server.prependListener('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      this.onRequest(req, res);
      // Node answers `Expect: 100-continue` itself only while nobody listens for it: a server
      // that does not, keeps that behaviour.
      if (server.listenerCount('checkContinue') === 1) {
        res.writeContinue();
        server.emit('request', req, res);
      }
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => this.onClientError(err, socket as Socket));
  }

  /**
   * Takes a request slot for `req` until its response closes, or says why not. A refused
   * request should be answered at once (503 or 429 with Retry-After) and its connection closed.
   */
  admit(req: IncomingMessage, res: ServerResponse): Admission {
    if (this.slots >= this.limits.maxRequests) return 'overloaded';
    const client = clientOf(req.socket);
    const held = this.slotsByClient.get(client) ?? 0;
    if (held >= this.limits.maxRequestsPerClient) return 'client_over_share';
    this.slots++;
    this.slotsByClient.set(client, held + 1);
    res.once('close', () => {
      this.slots--;
      const left = (this.slotsByClient.get(client) ?? 1) - 1;
      if (left > 0) this.slotsByClient.set(client, left);
      else this.slotsByClient.delete(client);
    });
    return 'admitted';
  }

  private onConnection(socket: Socket): void {
    const client = clientOf(socket);
    const conn: Connection = { socket, client, key: remoteKey(socket), busy: 0, closed: false };
    let mine = this.byClient.get(client);
    if (!mine) this.byClient.set(client, (mine = new Set()));
    mine.add(conn);
    this.byRemote.set(conn.key, conn);
    this.open++;
    socket.once('close', () => this.forget(conn));
    if (this.open > this.limits.maxConnections && !this.evictFor(conn)) {
      // Every other connection has a request in progress: the newcomer is the one to go.
      this.forget(conn);
      this.events.dropped('connection_limit');
      // After the http (or tls) listener has taken the socket, which expects a live one.
      process.nextTick(() => socket.destroy());
    }
  }

  private forget(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.open--;
    const mine = this.byClient.get(conn.client);
    mine?.delete(conn);
    if (mine?.size === 0) this.byClient.delete(conn.client);
    if (this.byRemote.get(conn.key) === conn) this.byRemote.delete(conn.key);
  }

  /**
   * Closes the oldest idle connection of the client holding the most (never `newcomer`);
   * false when every connection has a request in progress.
   */
  private evictFor(newcomer: Connection): boolean {
    const heaviestFirst = [...this.byClient.values()].sort((a, b) => b.size - a.size);
    for (const conns of heaviestFirst) {
      for (const conn of conns) {
        if (conn === newcomer || conn.busy > 0) continue;
        this.forget(conn);
        conn.socket.destroy();
        this.events.dropped('evicted');
        return true;
      }
    }
    return false;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.seen.has(req)) return;
    this.seen.add(req);
    const conn = this.byRemote.get(remoteKey(req.socket));
    if (conn) {
      conn.busy++;
      res.once('close', () => conn.busy--);
    }
    if (req.complete) return;
    const timer = setTimeout(() => {
      if (req.complete) return;
      if (!res.headersSent) this.events.dropped('body_timeout');
      req.socket.destroy();
    }, this.limits.bodyTimeoutMs);
    timer.unref();
    const clear = (): void => clearTimeout(timer);
    req.once('end', clear).once('close', clear);
    res.once('close', clear);
  }

  /** Malformed HTTP and header timeouts never reach a request handler. */
  private onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      this.events.dropped('header_timeout');
      socket.destroy();
      return;
    }
    // A reset peer, or one that has already had (part of) an answer, gets nothing more.
    if (err.code === 'ECONNRESET' || !socket.writable || socket.bytesWritten > 0) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    this.events.answeredMalformed?.(status);
    const reason = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    // Destroyed once written: waiting for the peer to close too would let it hold the socket.
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
  }
}

/** The client a socket belongs to: its address, all ports together. */
function clientOf(socket: Socket): string {
  return socket.remoteAddress ?? '';
}

function remoteKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

function definedOnly<T extends object>(partial: T): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<T>;
}
