/**
 * The operations endpoint: /metrics for Prometheus, /healthz (the process is alive and its
 * pipeline running) and /readyz (it is receiving events: Falco connected, or HTTP ingest open).
 *
 * Anyone on the node may reach this port, so it holds its clients to the same limits as the
 * ingest (core/listen.ts): short header and body timeouts, thousands of cheap idle connections
 * with the busiest address's oldest idle one closed when they run out, and a bounded number of
 * costly requests (/metrics, /api/) in progress, in all and per address, beyond which the
 * answer is 503 or 429 with `Retry-After`. The probes are answered at once, without a slot, so
 * a flood of scrapes cannot fail the kubelet's liveness probe.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { LogLimiter, type Logger } from '../core/log.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { droppedConnectionCounters } from '../metrics/event-labels.js';
import { ConnectionGuard, listenOn, parseHostPort, serverTimeouts, type ConnectionLimits, type DropReason, type HostPort } from '../core/listen.js';

export interface Probe {
  /** Null when healthy/ready, else the reason it is not. */
  (): string | null;
}

/** Routes under /api/ (the action API); resolves once it has answered. */
export interface ApiHandler {
  (req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
}

export interface OpsServerOptions {
  readonly listen: string;
  readonly metrics: LannerMetrics;
  readonly logger: Logger;
  readonly health: Probe;
  readonly ready: Probe;
  /** Off unless configured: without it /api/ is not found. */
  readonly api?: ApiHandler;
  /** Timeouts and connection limits; defaults in `DEFAULT_CONNECTION_LIMITS` (core/listen.ts). */
  readonly limits?: Partial<ConnectionLimits>;
}

export class OpsServer {
  private readonly server: Server;
  private readonly guard: ConnectionGuard;
  private readonly droppedCounter: ReturnType<typeof droppedConnectionCounters>;
  private readonly logLimiter = new LogLimiter();
  private bound: HostPort | undefined;

  constructor(private readonly options: OpsServerOptions) {
    this.droppedCounter = droppedConnectionCounters(options.metrics, 'ops');
    this.guard = new ConnectionGuard(options.limits ?? {}, { dropped: (reason) => this.dropped(reason) });
    this.server = createServer(serverTimeouts(this.guard.limits), (req, res) => void this.handle(req, res));
    this.guard.attach(this.server);
  }

  async start(): Promise<HostPort> {
    this.bound = await listenOn(this.server, parseHostPort(this.options.listen), 'metrics server');
    this.options.logger.info({ address: `${this.bound.host}:${this.bound.port}` }, 'serving /metrics, /healthz, /readyz');
    return this.bound;
  }

  get address(): HostPort | undefined {
    return this.bound;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.on('error', noop);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    // The probes cost nothing and must answer even while costly requests have every slot.
    if (path === '/healthz' || path === '/readyz') {
      if (!this.readOnly(req, res)) return;
      return probe(req, res, path === '/healthz' ? this.options.health() : this.options.ready());
    }
    const api = this.options.api && path.startsWith('/api/') ? this.options.api : undefined;
    if (path !== '/metrics' && !api) {
      text(req, res, 404, 'not found: try /metrics, /healthz or /readyz\n');
      return;
    }
    if (!api && !this.readOnly(req, res)) return;
    const admission = this.guard.admit(req, res);
    if (admission !== 'admitted') {
      const why = admission === 'overloaded' ? 'too many requests in progress' : 'too many requests in progress from this address';
      text(req, res, admission === 'overloaded' ? 503 : 429, `${why}; retry shortly\n`, { 'retry-after': '1' });
      return;
    }
    if (api) await this.callApi(api, req, res, path);
    else await this.serveMetrics(req, res);
  }

  /** True for GET and HEAD; answers 405 to anything else. */
  private readOnly(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method === 'GET' || req.method === 'HEAD') return true;
    text(req, res, 405, 'only GET and HEAD\n', { allow: 'GET, HEAD' });
    return false;
  }

  private async callApi(api: ApiHandler, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    try {
      await api(req, res, path);
    } catch (err) {
      this.options.logger.error({ err: errorText(err), path }, 'action API request failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json', ...closeIfUnread(req) }).end('{"error":"internal error"}\n');
      }
    }
  }

  private async serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { registry } = this.options.metrics;
    try {
      const body = await registry.metrics();
      if (!res.writableEnded) res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      text(req, res, 500, `metrics collection failed: ${errorText(err)}\n`);
    }
  }

  /** A connection closed without an answer: counted, and logged at most once a minute per reason. */
  private dropped(reason: DropReason): void {
    this.droppedCounter(reason).inc();
    this.logLimiter.maybe(reason, (suppressed) =>
      this.options.logger.warn({ reason, suppressed_since_last: suppressed }, 'operations server closed a connection without an answer'),
    );
  }
}

function probe(req: IncomingMessage, res: ServerResponse, problem: string | null): void {
  if (problem === null) text(req, res, 200, 'ok\n');
  else text(req, res, 503, `${problem}\n`);
}

function text(req: IncomingMessage, res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'text/plain', ...headers, ...closeIfUnread(req) }).end(req.method === 'HEAD' ? undefined : body);
}

/**
 * A body left unread would have to be drained before the connection could serve another
 * request: close the connection instead.
 */
function closeIfUnread(req: IncomingMessage): Record<string, string> {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  return hasBody && !req.complete ? { connection: 'close' } : {};
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function noop(): void {}
