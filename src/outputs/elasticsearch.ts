/**
 * Elasticsearch / OpenSearch `_bulk`: ECS documents as NDJSON. Into an index each alert is an
 * `index` action with `_id` = alert id, so a retried batch overwrites rather than duplicates;
 * into a data stream (append-only) it is a `create` action, and a 409 on retry means the first
 * attempt landed. `_bulk` answers 200 even when items fail: each item's status is read; 429
 * items are retried, other failures (mapping errors) are dropped, counted and logged.
 */
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import { ecsDocument } from '../alerts/formats/ecs.js';
import { jsonLine } from '../alerts/formats/text.js';
import type { Exporter, ExportResult } from './batch-queue.js';
import { HttpClient, httpFailure, networkFailure } from './http-client.js';
import { commonShape, queueOptions, readSecret, readTls, routeOf, TLS_FILES, tlsSchema } from './options.js';
import { defineOutput } from './output.js';
import { QueuedOutput } from './queued-output.js';

export interface ElasticsearchOptions {
  /** Exactly one of index and dataStream. */
  readonly index?: string;
  readonly dataStream?: string;
  readonly authorization?: string;
  readonly pipeline?: string;
  readonly client: HttpClient;
}

interface BulkItem {
  readonly status?: number;
  readonly error?: { readonly type?: string; readonly reason?: string };
}

export class ElasticsearchExporter implements Exporter<Alert> {
  private readonly op: 'index' | 'create';
  private readonly target: string;

  constructor(private readonly o: ElasticsearchOptions) {
    this.op = o.dataStream ? 'create' : 'index';
    this.target = o.dataStream ?? o.index ?? 'lanner-alerts';
  }

  body(batch: readonly Alert[]): string {
    let out = '';
    for (const alert of batch) {
      out += `${jsonLine({ [this.op]: { _index: this.target, _id: alert.id } })}\n${jsonLine(ecsDocument(alert))}\n`;
    }
    return out;
  }

  async export(batch: readonly Alert[], signal: AbortSignal): Promise<ExportResult<Alert>> {
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (this.o.authorization) headers['authorization'] = this.o.authorization;
    const path = this.o.pipeline ? `/_bulk?pipeline=${encodeURIComponent(this.o.pipeline)}` : '/_bulk';
    let res;
    try {
      res = await this.o.client.post(path, this.body(batch), headers, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      return networkFailure(err);
    }
    if (res.status < 200 || res.status >= 300) return httpFailure(res);
    let parsed: { errors?: boolean; items?: Record<string, BulkItem>[] };
    try {
      parsed = JSON.parse(res.body) as typeof parsed;
    } catch {
      return { ok: false, reason: 'bad_response', retryable: true, detail: res.body.slice(0, 300) };
    }
    if (!parsed.errors) return { ok: true };
    const retry: Alert[] = [];
    let rejected = 0;
    let firstError: string | undefined;
    (parsed.items ?? []).forEach((entry, i) => {
      const item = Object.values(entry)[0];
      const alert = batch[i];
      if (!item || !alert || item.status === undefined || (item.status >= 200 && item.status < 300)) return;
      // A create that conflicts was written by an earlier attempt of this same batch.
      if (this.op === 'create' && item.status === 409) return;
      if (item.status === 429 || item.status >= 500) retry.push(alert);
      else {
        rejected++;
        firstError ??= `${item.error?.type ?? item.status}: ${item.error?.reason ?? ''}`;
      }
    });
    return { ok: true, retry, rejected, rejectedReason: 'mapping_error', ...(firstError ? { detail: firstError } : {}) };
  }

  async close(): Promise<void> {
    this.o.client.close();
  }
}

const options = z
  .object({
    ...commonShape('elasticsearch', { batchSize: 500, interval: '2s', format: 'ecs', formats: ['ecs'] }),
    url: z.url({ protocol: /^https?$/ }).describe('the Elasticsearch or OpenSearch base URL, with any path prefix a proxy adds; batches go to <url>/_bulk'),
    index: z.string().min(1).optional().describe('the index each alert is written to with _id = alert id (lanner-alerts when neither index nor data_stream is set)'),
    data_stream: z.string().min(1).optional().describe('a data stream to append alerts to (create actions) instead of an index'),
    pipeline: z.string().min(1).optional().describe('an ingest pipeline every document goes through'),
    username: z.string().min(1).optional().describe('basic-auth user, with password or password_file'),
    password: z.string().optional().describe('basic-auth password; prefer password_file'),
    password_file: z.string().min(1).optional().describe('file holding the basic-auth password (read once at start, surrounding whitespace trimmed)'),
    api_key: z.string().min(1).optional().describe('an API key (the base64 id:key), instead of username and password; prefer api_key_file'),
    api_key_file: z.string().min(1).optional().describe('file holding the API key (read once at start, surrounding whitespace trimmed)'),
    tls: tlsSchema,
  })
  .strict();

export const elasticsearchDescriptor = defineOutput({
  name: 'elasticsearch',
  summary: 'Indexes alerts as ECS documents through the _bulk API of Elasticsearch or OpenSearch (an index or a data stream).',
  example: [
    '- type: elasticsearch',
    '  url: https://es.example.com:9200',
    '  data_stream: logs-lanner.alert-default   # or index: lanner-alerts',
    '  api_key_file: /etc/lanner/es-api-key     # or username + password_file',
    '',
  ].join('\n'),
  options,
  needs: { ports: ['connects to url'], files: ['api_key_file', 'password_file', TLS_FILES] },
  build(c, context, problems) {
    const route = routeOf(c, context, problems);
    if (c.index && c.data_stream) problems.push('data_stream: set index or data_stream, not both');
    const apiKey = readSecret(c.api_key, c.api_key_file, 'api_key', problems);
    const password = readSecret(c.password, c.password_file, 'password', problems);
    if (apiKey && c.username) problems.push('api_key: set api_key or username/password, not both');
    const tls = readTls(c.tls, problems);
    const authorization = apiKey
      ? `ApiKey ${apiKey}`
      : c.username
        ? `Basic ${Buffer.from(`${c.username}:${password ?? ''}`).toString('base64')}`
        : undefined;
    return (name, deps) =>
      new QueuedOutput(
        name,
        route,
        queueOptions(c),
        new ElasticsearchExporter({
          ...(c.data_stream ? { dataStream: c.data_stream } : { index: c.index ?? 'lanner-alerts' }),
          ...(authorization ? { authorization } : {}),
          ...(c.pipeline ? { pipeline: c.pipeline } : {}),
          client: new HttpClient(c.url, tls),
        }),
        deps,
      );
  },
});
