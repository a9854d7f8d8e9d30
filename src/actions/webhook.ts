/**
 * Webhook: hand the decision to a SOAR or runbook automation. The body is one JSON object (the
 * action, its target and the alert in Lanner's native shape), signed like the webhook output:
 * `X-Lanner-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body bytes.
 */
import { z } from 'zod';
import { nativeAlertObject } from '../alerts/formats/native.js';
import { stringifyExact } from '../core/exact-json.js';
import { HttpClient } from '../outputs/http-client.js';
import { signBody } from '../outputs/webhook.js';
import { durationOption } from './option-values.js';
import { defineResponder, type ActionRequest, type Responder, type ResponderContext, type Verdict } from './responder.js';

export interface WebhookOptions {
  readonly enabled: boolean;
  readonly url: string;
  /** The HMAC key, read from `secret` or `secret_file`; empty: the body goes unsigned. */
  readonly secret: string;
  readonly signatureHeader: string;
  readonly timeoutMs: number;
}

export class WebhookResponder implements Responder {
  readonly name = 'webhook';
  readonly targetKind = 'external' as const;
  private readonly client: HttpClient;

  constructor(private readonly o: WebhookOptions) {
    this.client = new HttpClient(o.url);
  }

  async run(request: ActionRequest, ctx: ResponderContext): Promise<Verdict> {
    const host = new URL(this.o.url).host;
    if (ctx.dryRun) return { outcome: 'dry_run', message: `would notify ${host}` };
    const body = stringifyExact({
      action: 'webhook',
      trigger: request.trigger,
      node: ctx.node,
      target: request.target,
      time: new Date(ctx.now()).toISOString(),
      ...(request.reason ? { reason: request.reason } : {}),
      alert: request.alert ? nativeAlertObject(request.alert) : null,
    });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.o.secret) headers[this.o.signatureHeader] = signBody(this.o.secret, body);
    try {
      const res = await this.client.post(this.o.url, body, headers, AbortSignal.timeout(this.o.timeoutMs));
      if (res.status >= 200 && res.status < 300) return { outcome: 'executed', message: `notified ${host} (HTTP ${res.status})` };
      return { outcome: 'failed', reason: 'webhook_error', message: `${host} answered HTTP ${res.status}: ${res.body.slice(0, 200)}` };
    } catch (err) {
      return { outcome: 'failed', reason: 'webhook_error', message: `${host} unreachable: ${(err as Error).message}` };
    }
  }

  close(): void {
    this.client.close();
  }
}

export const webhookDescriptor = defineResponder({
  name: 'webhook',
  summary: 'POSTs the decision and the alert to a SOAR or runbook automation, signed with HMAC-SHA256 like the webhook output.',
  targetKind: 'external',
  example: ['webhook:', '  enabled: true', '  url: https://soar.example.com/hooks/lanner-response', '  secret_file: /etc/lanner/response-secret', ''].join('\n'),
  options: z
    .object({
      enabled: z.boolean().default(false).describe('POST each decision and its alert to url'),
      url: z
        .union([z.literal(''), z.url({ protocol: /^https?$/ })])
        .default('')
        .describe('the http(s) URL of the SOAR or runbook automation; required when enabled'),
      secret: z.string().default('').describe('the HMAC-SHA256 key the body is signed with; empty: unsigned'),
      secret_file: z.string().default('').describe('a file holding the key instead (a mounted Secret), read once at start'),
      signature_header: z.string().min(1).default('X-Lanner-Signature').describe('the header carrying sha256=<hex> of the body'),
      timeout: durationOption('5s').describe('a POST is abandoned, and the decision failed, after this long'),
    })
    .strict(),
  needs: { rbac: [], ports: ['actions.webhook.url'], files: ['actions.webhook.secret_file'] },
  problems(block, path) {
    const problems: string[] = [];
    if (block.enabled && block.url === '') problems.push(`${path}.url: is required when ${path}.enabled is true`);
    if (block.secret !== '' && block.secret_file !== '') problems.push(`${path}: set secret or secret_file, not both`);
    return problems;
  },
  optionsFrom: (block, secret): WebhookOptions => ({ enabled: block.enabled, url: block.url, secret, signatureHeader: block.signature_header, timeoutMs: block.timeout }),
  create: (o) => new WebhookResponder(o),
});
