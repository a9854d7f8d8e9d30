/**
 * Webhook: alerts POSTed as a JSON array per batch, for SOAR platforms and chat bridges.
 * With a secret, `X-Lanner-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body bytes,
 * so the receiver can check the sender and the content before parsing (compare in constant time).
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import { ecsDocument } from '../alerts/formats/ecs.js';
import { nativeAlertObject } from '../alerts/formats/native.js';
import { ocsfFinding } from '../alerts/formats/ocsf.js';
import { jsonLine } from '../alerts/formats/text.js';
import type { Exporter, ExportResult } from './batch-queue.js';
import { HttpClient, httpFailure, networkFailure } from './http-client.js';
import { commonShape, queueOptions, readSecret, readTls, routeOf, TLS_FILES, tlsSchema } from './options.js';
import { defineOutput } from './output.js';
import { QueuedOutput } from './queued-output.js';

const JSON_DOCS = { native: nativeAlertObject, ecs: ecsDocument, ocsf: ocsfFinding } as const;

export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface WebhookExporterOptions {
  readonly url: string;
  readonly format: keyof typeof JSON_DOCS;
  readonly headers: Readonly<Record<string, string>>;
  readonly secret?: string;
  readonly signatureHeader: string;
  readonly client: HttpClient;
}

export class WebhookExporter implements Exporter<Alert> {
  constructor(private readonly o: WebhookExporterOptions) {}

  async export(batch: readonly Alert[], signal: AbortSignal): Promise<ExportResult<Alert>> {
    const body = jsonLine(batch.map(JSON_DOCS[this.o.format]));
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.o.headers };
    if (this.o.secret) headers[this.o.signatureHeader] = signBody(this.o.secret, body);
    try {
      // The URL is the endpoint, exactly as configured.
      const res = await this.o.client.post('', body, headers, signal);
      return res.status >= 200 && res.status < 300 ? { ok: true } : httpFailure(res);
    } catch (err) {
      if (signal.aborted) throw err;
      return networkFailure(err);
    }
  }

  async close(): Promise<void> {
    this.o.client.close();
  }
}

const options = z
  .object({
    ...commonShape('webhook', { batchSize: 50, interval: '1s', format: 'native', formats: ['native', 'ecs', 'ocsf'] }),
    url: z.url({ protocol: /^https?$/ }).describe('the http:// or https:// URL each batch is POSTed to'),
    headers: z.record(z.string(), z.string()).default({}).describe('extra HTTP headers sent with every POST'),
    secret: z.string().min(1).optional().describe('HMAC-SHA256 key that signs each body; prefer secret_file'),
    secret_file: z.string().min(1).optional().describe('file holding the signing secret (read once at start, surrounding whitespace trimmed)'),
    signature_header: z.string().min(1).default('X-Lanner-Signature').describe('the header carrying sha256=<hex HMAC of the exact body bytes>'),
    tls: tlsSchema,
  })
  .strict();

export const webhookDescriptor = defineOutput({
  name: 'webhook',
  summary: 'POSTs batches of alerts as a JSON array to a URL, optionally signed with HMAC-SHA256 over the body.',
  example: [
    '- type: webhook',
    '  url: https://soar.example.com/hooks/lanner',
    '  format: native            # native | ecs | ocsf',
    '  secret_file: /etc/lanner/webhook-secret   # X-Lanner-Signature: sha256=<hmac of the body>',
    '  headers: { X-Team: secops }',
    '  min_priority: Warning',
    '',
  ].join('\n'),
  options,
  needs: { ports: ['connects to url'], files: ['secret_file', TLS_FILES] },
  build(c, context, problems) {
    const route = routeOf(c, context, problems);
    const secret = readSecret(c.secret, c.secret_file, 'secret', problems);
    const tls = readTls(c.tls, problems);
    const format = c.format as keyof typeof JSON_DOCS;
    return (name, deps) =>
      new QueuedOutput(
        name,
        route,
        queueOptions(c),
        new WebhookExporter({ url: c.url, format, headers: c.headers, ...(secret ? { secret } : {}), signatureHeader: c.signature_header, client: new HttpClient(c.url, tls) }),
        deps,
      );
  },
});
