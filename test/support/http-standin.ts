/**
 * A real local HTTP server for output tests: records every request (method, path, headers,
 * body) and answers with whatever the test's handler says, so each stand-in follows its real
 * API's paths, status codes and bodies (Loki push, Splunk HEC, Elasticsearch _bulk, webhooks).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface Answer {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

export interface Standin {
  readonly url: string;
  readonly requests: RecordedRequest[];
  handler: (req: RecordedRequest) => Answer | Promise<Answer>;
  close(): Promise<void>;
}

export async function startStandin(handler: Standin['handler']): Promise<Standin> {
  const requests: RecordedRequest[] = [];
  const standin = { requests, handler } as Standin & { url: string };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      void Promise.resolve(standin.handler(recorded)).then((answer) => {
        res.writeHead(answer.status, { ...(answer.body ? { 'content-type': 'application/json' } : {}), ...answer.headers });
        res.end(answer.body ?? '');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (standin as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standin.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return standin;
}
