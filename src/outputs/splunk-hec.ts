/**
 * Splunk HTTP Event Collector: `POST /services/collector/event` with `Authorization: Splunk
 * <token>`, a batch being event objects written one after another (HEC's batch form, not a JSON
 * array). Each carries `time` (epoch seconds with a fraction), `host`, `source`, `sourcetype`
 * and, when set, `index`. HEC answers `{"text":"Success","code":0}`; code 9 (server busy) and
 * 503 are back-pressure and retried; token and format errors are refused for good.
 */
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import { hostOf } from '../alerts/formats/common.js';
import { ecsDocument } from '../alerts/formats/ecs.js';
import { nativeAlertObject } from '../alerts/formats/native.js';
import { ocsfFinding } from '../alerts/formats/ocsf.js';
import { jsonLine } from '../alerts/formats/text.js';
import type { Exporter, ExportResult } from './batch-queue.js';
import { HttpClient, httpFailure, networkFailure } from './http-client.js';
import { commonShape, queueOptions, readSecret, readTls, routeOf, TLS_FILES, tlsSchema } from './options.js';
import { defineOutput } from './output.js';
import { QueuedOutput } from './queued-output.js';

const DOCS = { native: nativeAlertObject, ecs: ecsDocument, ocsf: ocsfFinding } as const;

/** HEC `time`: epoch seconds with six fractional digits, as a literal so nothing rounds. */
export function hecTime(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, 6);
  return `${s}.${frac}`;
}

export interface HecOptions {
  readonly url: string;
  readonly token: string;
  readonly format: keyof typeof DOCS;
  readonly source: string;
  readonly sourcetype: string;
  readonly index?: string;
  readonly client: HttpClient;
}

export class SplunkHecExporter implements Exporter<Alert> {
  constructor(private readonly o: HecOptions) {}

  /** The HEC envelope of one alert. */
  envelope(alert: Alert): string {
    const head = [
      `"time":${hecTime(alert.timeNs)}`,
      `"host":${jsonLine(hostOf(alert))}`,
      `"source":${jsonLine(this.o.source)}`,
      `"sourcetype":${jsonLine(this.o.sourcetype)}`,
      ...(this.o.index ? [`"index":${jsonLine(this.o.index)}`] : []),
    ];
    // `time` is written as a literal with microseconds: a JS number would round them.
    return `{${head.join(',')},"event":${jsonLine(DOCS[this.o.format](alert))}}`;
  }

  async export(batch: readonly Alert[], signal: AbortSignal): Promise<ExportResult<Alert>> {
    const body = batch.map((a) => this.envelope(a)).join('\n');
    try {
      const res = await this.o.client.post('/services/collector/event', body, { authorization: `Splunk ${this.o.token}`, 'content-type': 'application/json' }, signal);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const code = hecCode(res.body);
      // Code 9 is "server is busy": back-pressure whatever the status says.
      if (code === 9) return { ok: false, reason: 'hec_busy', retryable: true, detail: res.body.slice(0, 300) };
      const failure = httpFailure<Alert>(res);
      return code === undefined || failure.ok ? failure : { ...failure, reason: `hec_code_${code}` };
    } catch (err) {
      if (signal.aborted) throw err;
      return networkFailure(err);
    }
  }

  async close(): Promise<void> {
    this.o.client.close();
  }
}

function hecCode(body: string): number | undefined {
  try {
    const parsed = JSON.parse(body) as { code?: unknown };
    return typeof parsed.code === 'number' ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}

const options = z
  .object({
    ...commonShape('splunk_hec', { batchSize: 100, interval: '1s', format: 'native', formats: ['native', 'ecs', 'ocsf'] }),
    url: z.url({ protocol: /^https?$/ }).describe('the HEC base URL (scheme, host, port, and any path prefix a proxy adds); events go to <url>/services/collector/event'),
    token: z.string().min(1).optional().describe('the HEC token; prefer token_file (one of the two is required)'),
    token_file: z.string().min(1).optional().describe('file holding the HEC token (read once at start, surrounding whitespace trimmed)'),
    index: z.string().min(1).optional().describe("the Splunk index (default: the token's default index)"),
    source: z.string().min(1).default('lanner').describe('the source field of every event'),
    sourcetype: z.string().min(1).default('lanner:alert').describe('the sourcetype field of every event'),
    tls: tlsSchema,
  })
  .strict();

export const splunkHecDescriptor = defineOutput({
  name: 'splunk_hec',
  summary: 'Sends batches of alerts to a Splunk HTTP Event Collector (/services/collector/event).',
  example: [
    '- type: splunk_hec',
    '  url: https://splunk.example.com:8088',
    '  token_file: /etc/lanner/hec-token',
    '  index: security',
    '  sourcetype: lanner:alert',
    '  format: native            # native | ecs | ocsf',
    '',
  ].join('\n'),
  options,
  needs: { ports: ['connects to url'], files: ['token_file', TLS_FILES] },
  build(c, context, problems) {
    const route = routeOf(c, context, problems);
    const token = readSecret(c.token, c.token_file, 'token', problems);
    if (!token && !problems.some((p) => p.startsWith('token'))) problems.push('token: is required (or token_file)');
    const tls = readTls(c.tls, problems);
    if (!token) return undefined;
    return (name, deps) =>
      new QueuedOutput(
        name,
        route,
        queueOptions(c),
        new SplunkHecExporter({
          url: c.url,
          token,
          format: c.format as keyof typeof DOCS,
          source: c.source,
          sourcetype: c.sourcetype,
          ...(c.index ? { index: c.index } : {}),
          client: new HttpClient(c.url, tls),
        }),
        deps,
      );
  },
});
