/**
 * Grafana Loki push API: `POST /loki/api/v1/push` with `{"streams":[{"stream":{labels},
 * "values":[["<ns>","<line>"]]}]}`; 204 means stored. Labels are low-cardinality only (Loki
 * indexes them; a pod name or an alert id as a label would explode its index), chosen from a
 * fixed list; everything else is in the line. 429 is back-pressure and retried; other 400s
 * (too old, out of order, bad labels) are refused for good.
 */
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import { hostOf } from '../alerts/formats/common.js';
import { FORMATS, type FormatName } from '../alerts/formats/index.js';
import { jsonLine } from '../alerts/formats/text.js';
import type { Exporter, ExportResult } from './batch-queue.js';
import { HttpClient, httpFailure, networkFailure } from './http-client.js';
import { commonShape, queueOptions, readSecret, readTls, routeOf, TLS_FILES, tlsSchema } from './options.js';
import { defineOutput } from './output.js';
import { QueuedOutput } from './queued-output.js';

/** The only alert facts that may become labels: each has a small, bounded set of values. */
export const LABEL_SOURCES = {
  priority: (a: Alert) => a.priority,
  severity: (a: Alert) => a.severity ?? null,
  rule: (a: Alert) => a.rule,
  origin: (a: Alert) => a.origin,
  source: (a: Alert) => a.source,
  namespace: (a: Alert) => a.workload.namespace,
  node: (a: Alert) => hostOf(a),
  cluster: (a: Alert) => a.cluster ?? null,
} as const satisfies Record<string, (a: Alert) => string | null>;

export type LabelName = keyof typeof LABEL_SOURCES;

export interface LokiOptions {
  readonly format: FormatName;
  readonly labels: readonly LabelName[];
  readonly staticLabels: Readonly<Record<string, string>>;
  readonly tenant?: string;
  readonly authorization?: string;
  readonly client: HttpClient;
}

export class LokiExporter implements Exporter<Alert> {
  constructor(private readonly o: LokiOptions) {}

  /** The push body: one stream per distinct label set, entries in time order within each. */
  body(batch: readonly Alert[]): string {
    const streams = new Map<string, { stream: Record<string, string>; values: [bigint, string][] }>();
    for (const alert of batch) {
      const stream: Record<string, string> = { ...this.o.staticLabels };
      for (const name of this.o.labels) {
        const v = LABEL_SOURCES[name](alert);
        if (v !== null && v !== '') stream[name] = v;
      }
      const key = JSON.stringify(stream);
      let s = streams.get(key);
      if (!s) streams.set(key, (s = { stream, values: [] }));
      s.values.push([alert.timeNs, FORMATS[this.o.format](alert)]);
    }
    const out = [...streams.values()].map(({ stream, values }) => ({
      stream,
      // Loki wants nanosecond timestamps as strings, and each stream's entries in order.
      values: values.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([t, line]) => [t.toString(), line]),
    }));
    return jsonLine({ streams: out });
  }

  async export(batch: readonly Alert[], signal: AbortSignal): Promise<ExportResult<Alert>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.o.tenant) headers['x-scope-orgid'] = this.o.tenant;
    if (this.o.authorization) headers['authorization'] = this.o.authorization;
    try {
      const res = await this.o.client.post('/loki/api/v1/push', this.body(batch), headers, signal);
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

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const options = z
  .object({
    ...commonShape('loki', { batchSize: 200, interval: '1s', format: 'native', formats: ['native', 'ecs', 'ocsf', 'cef', 'syslog'] }),
    url: z.url({ protocol: /^https?$/ }).describe('the Loki base URL, with any path prefix a proxy adds; batches go to <url>/loki/api/v1/push'),
    labels: z
      .array(z.enum(Object.keys(LABEL_SOURCES) as [LabelName, ...LabelName[]]))
      .default(['priority', 'origin', 'source'])
      .describe('alert facts that become stream labels; only low-cardinality ones are offered, everything else stays in the line'),
    static_labels: z
      .record(z.string().regex(LABEL_NAME, 'Loki label names are letters, digits and _'), z.string().min(1))
      .default({ job: 'lanner' })
      .describe('fixed labels on every stream; a name may not also be in labels'),
    tenant: z.string().min(1).optional().describe('the X-Scope-OrgID of a multi-tenant Loki'),
    username: z.string().min(1).optional().describe('basic-auth user, with password or password_file'),
    password: z.string().optional().describe('basic-auth password; prefer password_file'),
    password_file: z.string().min(1).optional().describe('file holding the basic-auth password (read once at start, surrounding whitespace trimmed)'),
    tls: tlsSchema,
  })
  .strict();

export const lokiDescriptor = defineOutput({
  name: 'loki',
  summary: 'Pushes alerts to Grafana Loki (/loki/api/v1/push) with low-cardinality labels only.',
  example: [
    '- type: loki',
    '  url: http://loki.monitoring:3100',
    '  labels: [priority, rule, namespace]   # from: priority severity rule origin source namespace node cluster',
    '  static_labels: { job: lanner }',
    '',
  ].join('\n'),
  options,
  needs: { ports: ['connects to url'], files: ['password_file', TLS_FILES] },
  build(c, context, problems) {
    const route = routeOf(c, context, problems);
    const password = readSecret(c.password, c.password_file, 'password', problems);
    const tls = readTls(c.tls, problems);
    for (const l of c.labels) if (Object.hasOwn(c.static_labels, l)) problems.push(`static_labels.${l}: also a dynamic label in labels`);
    const authorization = c.username ? `Basic ${Buffer.from(`${c.username}:${password ?? ''}`).toString('base64')}` : undefined;
    return (name, deps) =>
      new QueuedOutput(
        name,
        route,
        queueOptions(c),
        new LokiExporter({
          format: c.format,
          labels: c.labels,
          staticLabels: c.static_labels,
          ...(c.tenant ? { tenant: c.tenant } : {}),
          ...(authorization ? { authorization } : {}),
          client: new HttpClient(c.url, tls),
        }),
        deps,
      );
  },
});
