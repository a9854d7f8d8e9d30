/**
 * One small HTTP(S) client for the HTTP outputs: POST a body, honour an AbortSignal, keep
 * connections alive, and classify the answer the way every receiver's retry rules agree on:
 * 2xx delivered; 408, 429 and 5xx retryable (with Retry-After); other 4xx refused for good.
 */
import http from 'node:http';
import https from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import type { ExportResult } from './batch-queue.js';

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** Bodies of error answers are read up to this size: enough for a reason, never a flood. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export class HttpClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(url: string, tls?: ConnectionOptions) {
    this.url = new URL(url);
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 2, ...(tls ?? {}) })
        : new http.Agent({ keepAlive: true, maxSockets: 2 });
  }

  /**
   * POSTs to `path` under the base URL: `/loki/api/v1/push` on `https://host/prefix/` is
   * `https://host/prefix/loki/api/v1/push`. An empty path is the base URL itself, an absolute
   * URL itself.
   */
  post(path: string, body: string | Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<HttpResponse> {
    const target = endpointUrl(this.url, path);
    const lib = target.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        target,
        { method: 'POST', agent: this.agent, signal, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:/i;

/**
 * `path` (with an optional query) appended to the base URL's own path, keeping its prefix: a
 * receiver behind a reverse proxy at `https://host/loki/` is pushed to at
 * `https://host/loki/loki/api/v1/push`, not at the host's root. The base's query, if any, comes
 * first; its fragment is never sent. An empty path is the base URL as given, an absolute URL
 * (`https://...`) itself.
 */
export function endpointUrl(base: URL, path: string): URL {
  const target = new URL(ABSOLUTE_URL.test(path) ? path : base.href);
  target.hash = '';
  if (path === '' || ABSOLUTE_URL.test(path)) return target;
  const q = path.indexOf('?');
  const pathname = q < 0 ? path : path.slice(0, q);
  target.pathname = `${base.pathname.replace(/\/+$/, '')}/${pathname.replace(/^\/+/, '')}`;
  const query = q < 0 ? '' : path.slice(q + 1);
  if (query !== '') target.search = base.search === '' ? query : `${base.search.slice(1)}&${query}`;
  return target;
}

/** Seconds or an HTTP date, as Retry-After may say; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The shared verdict on a non-2xx answer. */
export function httpFailure<T>(res: HttpResponse): ExportResult<T> {
  const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
  const after = retryAfterMs(res.headers['retry-after']);
  return {
    ok: false,
    reason: `http_${res.status}`,
    retryable,
    ...(after === undefined ? {} : { retryAfterMs: after }),
    detail: res.body.slice(0, 500),
  };
}

/** A network error (refused, reset, DNS, TLS) as a retryable failure. */
export function networkFailure<T>(err: unknown): ExportResult<T> {
  const code = (err as { code?: string }).code;
  const reason = code === 'ECONNREFUSED' ? 'connect' : typeof code === 'string' && TLS_ERROR.test(code) ? 'tls' : 'network';
  return { ok: false, reason, retryable: true, detail: (err as Error).message };
}

// Node's TLS errors: the receiver's certificate failed our checks, or the handshake failed
// (LANNER_TLS_REFUSED: a syslog receiver closed the connection right after it).
const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|LANNER_TLS_REFUSED$|UNABLE_TO_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$)/;
