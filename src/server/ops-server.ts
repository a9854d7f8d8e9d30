/**
 * The operations endpoint: /metrics for Prometheus, /healthz (the process is alive and its
 * pipeline running) and /readyz (it is receiving events: Falco connected, or HTTP ingest open).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../core/log.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { listenOn, parseHostPort, type HostPort } from '../core/listen.js';

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
}

export class OpsServer {
  private readonly server: Server;
  private bound: HostPort | undefined;

  constructor(private readonly options: OpsServerOptions) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5_000;
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
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (this.options.api && path.startsWith('/api/')) {
      try {
        await this.options.api(req, res, path);
      } catch (err) {
        this.options.logger.error({ err: (err as Error).message, path }, 'action API request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'internal error' }));
      }
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/metrics': {
        const { registry } = this.options.metrics;
        try {
          const body = await registry.metrics();
          res.writeHead(200, { 'content-type': registry.contentType }).end(body);
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${(err as Error).message}\n`);
        }
        return;
      }
      case '/healthz':
        return probe(res, this.options.health());
      case '/readyz':
        return probe(res, this.options.ready());
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
    }
  }
}

function probe(res: ServerResponse, problem: string | null): void {
  if (problem === null) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  else res.writeHead(503, { 'content-type': 'text/plain' }).end(`${problem}\n`);
}
