/**
 * Receives Falco's `http_output` (the only network output left in Falco 0.44) and
 * Falcosidekick-style posts: one Falco JSON event per POST, or a batch as a JSON array or as
 * NDJSON. Events go to the sink, which only enqueues, so every answer is sent before detection
 * runs: Falco's HTTP output posts from its own thread and never retries, so a slow answer costs
 * Falco throughput and a lost answer costs an event.
 *
 * Status codes, and why:
 * - 200 when at least one event was queued. The body counts what happened to every event
 *   (`accepted`, `shed`, `invalid`, and the first few refusals), so a batch with a bad event
 *   in it still delivers its good ones: Falco does not retry, and refusing a whole batch for
 *   one bad event would lose the good ones for nothing.
 * - 400 when nothing was queued because the body is not JSON or every event failed
 *   validation; `error` names the (first) reason, as in `lanner_events_invalid_total{reason}`.
 * - 503 with `Retry-After: 1` when nothing was queued because the ingest queue was full (every
 *   valid event shed). The answer is still immediate. A 200 would tell the sender its events
 *   were taken when they were dropped; 503 is honest, shows up in a proxy's or Falcosidekick's
 *   error counts, and lets senders that do retry (forwarders, scripts) try again, while Falco,
 *   which does not retry, loses nothing more than it would with a 200. A batch that was partly
 *   queued gets 200 with its shed count instead, because retrying it would duplicate the part
 *   that was queued.
 * - 413 as soon as the body crosses the limit (a declared Content-Length over the limit is
 *   refused before reading; with `Expect: 100-continue` before the body is even sent).
 * - 503 with `Retry-After: 1` (`error: overloaded`) when as many requests as `max_requests`
 *   are being read already, and 429 with `Retry-After: 1` when the sender's own address holds
 *   `max_requests_per_client` of them: each buffers a body, so the slots bound memory, and the
 *   share per address keeps one sender from taking them all. The body is not read.
 * - No answer, and the connection destroyed, when the headers do not arrive within
 *   `header_timeout` or the body within `body_timeout`, or when the connection is the oldest
 *   idle one of the busiest address while every connection is taken (`max_connections`):
 *   such clients cost a socket for seconds at most (core/listen.ts), and every such close is
 *   counted by reason.
 * - 401 for a missing or wrong bearer token, 404 for other paths, 405 for other methods,
 *   415 for a Content-Encoding other than identity (Falco does not compress its posts), and
 *   400 (431 for oversized headers) for malformed HTTP.
 * Each event of a batch stands alone: one that fails, in whatever way, is refused with its
 * line (or index) and the others go on; no event can turn the answer into a 500.
 * Content-Type is not checked: Falco sends application/json, other senders text/plain or
 * application/x-ndjson, and all of them mean the same bytes.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { LannerError } from '../core/errors.js';
import { bearerCheck } from '../core/bearer.js';
import { parseJsonExact, stringifyExact, type JsonValue } from '../core/exact-json.js';
import { LogLimiter, type Logger } from '../core/log.js';
import { ChildCache } from '../metrics/child-cache.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { droppedConnectionCounters } from '../metrics/event-labels.js';
import {
  ConnectionGuard,
  connectionLimitOptions,
  limitsFromOptions,
  listenOn,
  parseHostPort,
  serverTimeouts,
  type Admission,
  type ConnectionLimits,
  type DropReason,
  type HostPort,
} from '../core/listen.js';
import { normalizeFalcoJson, type InvalidReason, type Normalized } from './normalize.js';
import { z } from 'zod';
import { readPemFileSync } from '../core/read-file.js';
import { readSecret } from '../core/secret.js';
import { listenAddress, sizeBytes } from '../core/units.js';
import { defineSource, type EventSink, type Offer, type Source } from './source.js';

/** TLS for the receiver; file paths of PEM files, read when the receiver starts. */
export interface HttpIngestTls {
  /** Server certificate (chain). */
  readonly cert: string;
  /** Server private key. */
  readonly key: string;
  /** CA that client certificates must chain to; required with `requireClientCert`. */
  readonly ca?: string;
  /** Mutual TLS: refuse the handshake of clients without a certificate from `ca`. */
  readonly requireClientCert?: boolean;
}

/** Options of {@link HttpIngestSource}. Durations are milliseconds, sizes bytes. */
export interface HttpIngestOptions {
  readonly host: string;
  /** 0 picks a free port; read it from `address` after `start`. */
  readonly port: number;
  /** The one path events are posted to; default `/`. */
  readonly path?: string;
  /** Largest body accepted; default 1 MiB. */
  readonly bodyLimitBytes?: number;
  /**
   * When given, requests must carry `Authorization: Bearer <token>`. Given, it must be a
   * token: empty, blank or holding whitespace (which no header can carry) is refused at
   * construction, never taken as "no authentication".
   */
  readonly token?: string;
  readonly tls?: HttpIngestTls;
  readonly logger: Logger;
  readonly metrics: LannerMetrics;
  /** Timeouts and connection limits; defaults in `DEFAULT_CONNECTION_LIMITS` (core/listen.ts). */
  readonly limits?: Partial<ConnectionLimits>;
  /** How long `close` lets requests in flight finish before cutting their connections; default 2 s. */
  readonly closeGraceMs?: number;
}

/** How many refusals a response lists; the counts cover all of them. */
const MAX_LISTED_REFUSALS = 10;
/** Longest quote of the sender's bytes an answer or a log line holds. */
const MAX_DETAIL_CHARS = 200;

const DEFAULTS = {
  path: '/',
  bodyLimitBytes: 1024 * 1024,
  closeGraceMs: 2_000,
} as const;

/** Where in a batch an event was. */
interface Position {
  /** 0-based index in a JSON array. */
  readonly index?: number;
  /** 1-based line of an NDJSON body. */
  readonly line?: number;
}

interface Refusal extends Position {
  readonly reason: InvalidReason;
  readonly detail: string;
}

/** What happened to the events of one request. */
interface Tally {
  accepted: number;
  shed: number;
  invalid: number;
  readonly refusals: Refusal[];
  readonly from: string;
}

/** Status codes (and drop reasons) are the receiver's own few; the bound only makes that explicit. */
const MAX_STATUS_SERIES = 32;

/** Falco's `http_output` (and Falcosidekick-style posts) as a source of events. */
export class HttpIngestSource implements Source {
  readonly name: string;
  private readonly path: string;
  private readonly limit: number;
  private readonly tokenCheck: ((header: string | undefined) => boolean) | undefined;
  private readonly statusCounters = new ChildCache((status: string) => this.options.metrics.httpIngestRequests.labels(status), {
    maxChildren: MAX_STATUS_SERIES,
  });
  private readonly droppedCounter: ReturnType<typeof droppedConnectionCounters>;
  private readonly logLimiter = new LogLimiter();
  private readonly guard: ConnectionGuard;
  private server: Server | undefined;
  private sink: EventSink | undefined;
  private bound: HostPort | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: HttpIngestOptions) {
    this.droppedCounter = droppedConnectionCounters(options.metrics, 'ingest');
    this.path = normalizePath(options.path ?? DEFAULTS.path);
    this.limit = options.bodyLimitBytes ?? DEFAULTS.bodyLimitBytes;
    this.tokenCheck = options.token === undefined ? undefined : bearerCheck(checkedToken(options.token));
    if (options.tls?.requireClientCert && !options.tls.ca) {
      // Without a CA of our own, Node would accept any client certificate a public CA signed.
      throw new LannerError('LANNER_CONFIG_INVALID', 'ingest.http.tls: client_auth needs a ca to check client certificates against');
    }
    this.guard = new ConnectionGuard(options.limits ?? {}, {
      dropped: (reason) => this.countDropped(reason),
      answeredMalformed: (status) => this.countStatus(status),
    });
    this.name = `http:${options.host}:${options.port}${this.path}`;
  }

  /** The bound address once started (the real port when `port` was 0). */
  get address(): HostPort | undefined {
    return this.bound;
  }

  /** The timeouts and connection limits in force, defaults filled in. */
  get limits(): ConnectionLimits {
    return this.guard.limits;
  }

  /** The URL to configure as Falco's `http_output.url`, once started. */
  get url(): string | undefined {
    if (!this.bound) return undefined;
    const host = this.bound.host.includes(':') ? `[${this.bound.host}]` : this.bound.host;
    return `${this.options.tls ? 'https' : 'http'}://${host}:${this.bound.port}${this.path}`;
  }

  ready(): string | null {
    return this.bound ? null : 'HTTP ingest not listening';
  }

  async start(sink: EventSink): Promise<void> {
    if (this.server) throw new Error('HttpIngestSource already started');
    this.sink = sink;
    const server = this.createServer();
    this.server = server;
    this.bound = await listenOn(server, { host: this.options.host, port: this.options.port }, 'HTTP ingest');
    this.logStarted();
  }

  /** Stops accepting connections, lets requests in flight finish briefly, then cuts the rest. */
  close(): Promise<void> {
    const server = this.server;
    if (this.closing) return this.closing;
    if (!server?.listening) return Promise.resolve();
    this.closing = new Promise<void>((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), this.options.closeGraceMs ?? DEFAULTS.closeGraceMs);
      server.close(() => {
        clearTimeout(force);
        this.options.logger.info({ source: this.name }, 'HTTP ingest closed');
        resolve();
      });
      server.closeIdleConnections();
    });
    return this.closing;
  }

  private createServer(): Server {
    const timeouts = serverTimeouts(this.guard.limits);
    const tls = this.options.tls;
    const server = tls
      ? createHttpsServer({ ...timeouts, ...readTls(tls), handshakeTimeout: this.guard.limits.headerTimeoutMs })
      : createHttpServer(timeouts);
    this.guard.attach(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, false));
    // Answering 100-continue ourselves lets a refused request (auth, size) skip sending its body.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, true));
    if (tls) {
      server.on('tlsClientError', (err: Error) => {
        this.countDropped('tls_handshake');
        this.logLimiter.maybe('tls', (suppressed) =>
          this.options.logger.warn({ err: err.message, suppressed_since_last: suppressed }, 'HTTP ingest refused a TLS handshake'),
        );
      });
    }
    return server;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    req.on('error', noop);
    try {
      this.route(req, res, expectsContinue);
    } catch (err) {
      this.internalError(res, err);
    }
  }

  private route(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    if (pathOf(req.url) !== this.path) {
      this.reply(req, res, 404, { error: 'not_found', detail: `POST Falco events to ${this.path}` });
      return;
    }
    if (req.method !== 'POST') {
      this.reply(req, res, 405, { error: 'method_not_allowed', detail: 'only POST is accepted' }, { allow: 'POST' });
      return;
    }
    if (!this.authorized(req.headers.authorization)) {
      const detail = 'a valid "Authorization: Bearer <token>" header is required';
      this.reply(req, res, 401, { error: 'unauthorized', detail }, { 'www-authenticate': 'Bearer realm="lanner"' });
      return;
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      this.reply(req, res, 415, { error: 'unsupported_encoding', detail: `Content-Encoding ${JSON.stringify(shorten(encoding))} is not supported; send identity` });
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > this.limit) {
      this.tooLarge(req, res);
      return;
    }
    const admission = this.guard.admit(req, res);
    if (admission !== 'admitted') {
      this.overloaded(req, res, admission);
      return;
    }
    if (expectsContinue) res.writeContinue();
    this.readBody(req, res);
  }

  /** Buffers the body up to the limit; past it, answers 413 at once and keeps nothing. */
  private readBody(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= this.limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd);
      chunks.length = 0;
      this.tooLarge(req, res);
    };
    const onEnd = (): void => {
      try {
        this.handleBody(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      } catch (err) {
        this.internalError(res, err);
      }
    };
    req.on('data', onData).on('end', onEnd);
  }

  private handleBody(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const tally: Tally = { accepted: 0, shed: 0, invalid: 0, refusals: [], from: req.socket.remoteAddress ?? 'unknown' };
    const text = stripBom(body.toString('utf8'));
    if (text.trim() === '') {
      this.refuse(tally, 'bad_json', 'the body is empty', {});
    } else {
      this.offerBody(text, tally);
    }
    this.answer(req, res, tally);
  }

  /** One JSON value (an event or an array of events), else NDJSON, one event per line. */
  private offerBody(text: string, tally: Tally): void {
    let whole: JsonValue;
    try {
      whole = parseJsonExact(text);
    } catch (err) {
      if (isMultiLine(text)) this.offerLines(text, tally);
      else this.refuse(tally, 'bad_json', errorText(err), {});
      return;
    }
    if (Array.isArray(whole)) {
      for (let index = 0; index < whole.length; index++) this.offer(whole[index]!, tally, { index });
    } else {
      this.offer(whole, tally, {});
    }
  }

  private offerLines(text: string, tally: Tally): void {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() === '') continue;
      let value: JsonValue;
      try {
        value = parseJsonExact(line);
      } catch (err) {
        this.refuse(tally, 'bad_json', errorText(err), { line: i + 1 });
        continue;
      }
      this.offer(value, tally, { line: i + 1 });
    }
  }

  /**
   * One event, on its own: whatever it holds, it ends up counted once, as accepted, shed or
   * refused, and the events after it go on.
   */
  private offer(value: JsonValue, tally: Tally, at: Position): void {
    let result: Normalized;
    try {
      result = normalizeFalcoJson(value, 'http');
    } catch (err) {
      // Normalization promises not to throw; should an odd event still make it, that event
      // is refused, not the batch.
      this.refuse(tally, 'bad_json', `the event could not be read: ${errorText(err)}`, at);
      return;
    }
    if (!result.ok) {
      this.refuse(tally, result.reason, result.detail, at);
      return;
    }
    let outcome: Offer;
    try {
      outcome = this.sink!.offer ? this.sink!.offer(result.event) : this.sink!.accept(result.event) ? 'queued' : 'shed';
    } catch (err) {
      // The event was valid and is not queued: for the sender that is a shed event.
      this.logLimiter.maybe('sink', (suppressed) =>
        this.options.logger.error({ err: errorText(err), suppressed_since_last: suppressed }, 'the ingest queue failed to take an event'),
      );
      outcome = 'shed';
    }
    if (outcome === 'queued') tally.accepted++;
    else if (outcome === 'shed') tally.shed++;
    else {
      // Refused by the queue, which has counted and logged it: a retry would be refused again,
      // so the sender hears "invalid", never "shed". The queue refuses only events stamped too
      // far ahead of the clock.
      tally.invalid++;
      if (tally.refusals.length < MAX_LISTED_REFUSALS) {
        tally.refusals.push({ ...at, reason: 'time_in_future', detail: 'stamped further ahead of the clock than ingest.max_future_skew allows' });
      }
    }
  }

  /** Counts a refused event with the sink, which owns invalid-event metrics and rate-limited logs. */
  private refuse(tally: Tally, reason: InvalidReason, detail: string, at: Position): void {
    const short = shorten(detail);
    tally.invalid++;
    if (tally.refusals.length < MAX_LISTED_REFUSALS) tally.refusals.push({ ...at, reason, detail: short });
    const where = at.line !== undefined ? ` line ${at.line}` : at.index !== undefined ? ` item ${at.index}` : '';
    this.sink!.reject(reason, `from ${tally.from}${where}: ${short}`, 'http');
  }

  private answer(req: IncomingMessage, res: ServerResponse, tally: Tally): void {
    const counts = { accepted: tally.accepted, shed: tally.shed, invalid: tally.invalid };
    const refused = tally.refusals.length > 0 ? { refused: tally.refusals } : {};
    if (tally.accepted > 0 || (tally.shed === 0 && tally.invalid === 0)) {
      this.reply(req, res, 200, { ...counts, ...refused });
    } else if (tally.shed > 0) {
      const detail = 'the ingest queue is full: detection is behind, events were shed';
      this.reply(req, res, 503, { error: 'queue_full', detail, ...counts, ...refused }, { 'retry-after': '1' });
    } else {
      const first = tally.refusals[0]!;
      this.reply(req, res, 400, { error: first.reason, detail: first.detail, ...counts, ...refused });
    }
  }

  /** A request refused for want of a slot: told when to come back; its body is not read. */
  private overloaded(req: IncomingMessage, res: ServerResponse, admission: Exclude<Admission, 'admitted'>): void {
    const { maxRequests, maxRequestsPerClient } = this.guard.limits;
    if (admission === 'client_over_share') {
      const detail = `this address already has ${maxRequestsPerClient} requests in progress; wait for their answers`;
      this.reply(req, res, 429, { error: 'too_many_requests', detail }, { 'retry-after': '1' });
    } else {
      const detail = `${maxRequests} requests are in progress, the most the receiver reads at once`;
      this.reply(req, res, 503, { error: 'overloaded', detail }, { 'retry-after': '1' });
    }
  }

  private tooLarge(req: IncomingMessage, res: ServerResponse): void {
    const detail = `the body exceeds the limit of ${this.limit} bytes; send fewer events per request`;
    this.reply(req, res, 413, { error: 'body_too_large', detail, limit: this.limit });
  }

  private internalError(res: ServerResponse, err: unknown): void {
    this.logLimiter.maybe('internal', (suppressed) =>
      this.options.logger.error({ err: errorText(err), suppressed_since_last: suppressed }, 'HTTP ingest failed on a request'),
    );
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.send(res, 500, { error: 'internal', detail: 'the receiver failed on this request; see the Lanner log' }, { connection: 'close' });
  }

  private reply(req: IncomingMessage, res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
    // A body we did not read (or stopped reading) would otherwise have to be drained before
    // the connection could serve another request: close it instead. Same while shutting down.
    const close = this.closing !== undefined || (!req.complete && hasBody(req));
    this.send(res, status, body, close ? { ...headers, connection: 'close' } : headers);
  }

  private send(res: ServerResponse, status: number, body: object, headers: Record<string, string>): void {
    if (res.headersSent || res.writableEnded) return;
    // Answers quote what senders wrote; stringifyExact writes a bigint where JSON.stringify throws.
    const text = stringifyExact(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
    this.countStatus(status);
  }

  private authorized(header: string | undefined): boolean {
    return this.tokenCheck ? this.tokenCheck(header) : true;
  }

  private countStatus(status: number): void {
    this.statusCounters.get(String(status)).inc();
  }

  private countDropped(reason: DropReason): void {
    this.droppedCounter(reason).inc();
  }

  private logStarted(): void {
    const { logger, tls, host } = this.options;
    const auth = this.tokenCheck ? 'bearer token' : tls?.requireClientCert ? 'client certificate' : 'none';
    const { headerTimeoutMs, bodyTimeoutMs, maxConnections, maxRequests, maxRequestsPerClient } = this.guard.limits;
    logger.info(
      {
        url: this.url,
        auth,
        tls: Boolean(tls),
        body_limit_bytes: this.limit,
        header_timeout_ms: headerTimeoutMs,
        body_timeout_ms: bodyTimeoutMs,
        max_connections: maxConnections,
        max_requests: maxRequests,
        max_requests_per_client: maxRequestsPerClient,
      },
      'receiving Falco http_output',
    );
    if (auth === 'none' && !isLoopback(host)) {
      logger.warn({ url: this.url }, 'HTTP ingest listens beyond loopback without a token or client certificates: anyone who reaches it can inject events');
    }
  }
}

function readTls(tls: HttpIngestTls): { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } {
  const mutual = tls.requireClientCert === true;
  return {
    cert: readTlsFile(tls.cert, 'certificate'),
    key: readTlsFile(tls.key, 'key'),
    ...(tls.ca ? { ca: readTlsFile(tls.ca, 'CA') } : {}),
    requestCert: mutual,
    rejectUnauthorized: mutual,
  };
}

function readTlsFile(path: string, what: string): Buffer {
  try {
    return readPemFileSync(path);
  } catch (err) {
    throw new LannerError('LANNER_TLS_FILES', `cannot read the HTTP ingest ${what} ${path}: ${errorText(err)}`);
  }
}


/** The path of a request target, without query; a trailing slash does not make another path. */
function pathOf(url: string | undefined): string {
  let target = url ?? '/';
  if (!target.startsWith('/')) {
    // Absolute form ("http://host/path"), as some proxies send it.
    try {
      target = new URL(target).pathname;
    } catch {
      return '';
    }
  }
  const q = target.indexOf('?');
  return normalizePath(q < 0 ? target : target.slice(0, q));
}

function normalizePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** True when non-blank text continues after the first line break. */
function isMultiLine(text: string): boolean {
  const nl = text.indexOf('\n', text.search(/\S/));
  return nl >= 0 && text.slice(nl).trim() !== '';
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Parser messages and header values can quote the sender's bytes; keep what we echo and log short. */
function shorten(text: string): string {
  return text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS)}...` : text;
}

/** A token asked for must be one a header can carry: never empty, which would mean no authentication. */
function checkedToken(token: string): string {
  if (token.trim() === '') {
    throw new LannerError('LANNER_CONFIG_INVALID', 'ingest.http.token: a token was asked for but it is empty: refusing to take posts without authentication');
  }
  if (/\s/.test(token)) {
    throw new LannerError('LANNER_CONFIG_INVALID', 'ingest.http.token: holds whitespace, which no "Authorization: Bearer" header can carry');
  }
  return token;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function noop(): void {}

/** `ingest.http` in lanner.yaml: Falco 0.44 and later, through its http_output. */
export const httpIngestDescriptor = defineSource({
  name: 'http',
  path: ['ingest', 'http'],
  summary: "Receives Falco's http_output (Falco 0.44 and later) and Falcosidekick-style posts: one event, a JSON array or NDJSON per POST",
  example: 'ingest:\n  http:\n    listen: 127.0.0.1:9377\n',
  options: z
    .object({
      listen: listenAddress.default('').describe('HOST:PORT to listen on for posted events; empty: off'),
      path: z.string().startsWith('/').default('/').describe('The one path events are posted to'),
      body_limit: sizeBytes('1MiB').describe('Largest request body; reading stops at the limit with 413'),
      ...connectionLimitOptions,
      max_requests: connectionLimitOptions.max_requests.describe(
        'Requests read at once, all senders together (memory is bounded by this times body_limit); more are answered 503 with Retry-After',
      ),
      token: z.string().default('').describe('Bearer token posts must carry (Falco itself cannot send one: use mutual TLS with Falco)'),
      token_file: z.string().default('').describe('File holding the bearer token, read at start'),
      tls: z
        .object({
          cert: z.string().default('').describe('Server certificate file: set with key to serve HTTPS'),
          key: z.string().default('').describe('Server key file'),
          ca: z.string().default('').describe('CA file client certificates must chain to'),
          client_auth: z.boolean().default(false).describe('Mutual TLS: refuse clients without a certificate from ca'),
        })
        .strict()
        .prefault({})
        .describe('HTTPS and mutual TLS'),
    })
    .strict(),
  needs: { ports: ['listens on listen (HTTP or HTTPS)'], files: ['token_file, tls.cert, tls.key, tls.ca'] },
  plan(h) {
    const problems: string[] = [];
    const t = h.tls;
    if ((t.cert === '') !== (t.key === '')) problems.push('tls: cert and key go together: set both to serve HTTPS, or neither');
    if (t.client_auth && t.ca === '') problems.push('tls.ca: is required when client_auth is true: without our own CA any publicly signed client certificate would pass');
    if (t.client_auth && t.cert === '') problems.push('tls.client_auth: needs HTTPS: set ingest.http.tls.cert and key');
    if (h.token !== '' && h.token_file !== '') problems.push('token_file: set token or token_file, not both');
    if (problems.length > 0) return { ok: false, problems };
    if (h.listen === '') return { ok: true, sources: [] };
    const { host, port } = parseHostPort(h.listen);
    return {
      ok: true,
      sources: [
        {
          label: `HTTP ingest on ${h.listen}${h.path}${t.cert ? ' (HTTPS' + (t.client_auth ? ', mutual TLS)' : ')') : ''}`,
          create: (deps) => {
            // Asked for, a token is always handed on: the receiver refuses an empty one
            // rather than running without authentication.
            const tokenAskedFor = h.token !== '' || h.token_file !== '';
            const token = readSecret(h.token, h.token_file, 'ingest.http.token_file');
            return new HttpIngestSource({
              host,
              port,
              path: h.path,
              bodyLimitBytes: h.body_limit,
              limits: limitsFromOptions(h),
              ...(tokenAskedFor ? { token } : {}),
              ...(t.cert || t.key ? { tls: { cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca } : {}), requireClientCert: t.client_auth } } : {}),
              logger: deps.logger,
              metrics: deps.metrics,
            });
          },
        },
      ],
    };
  },
});
