/**
 * Webhook: hand the decision to a SOAR or runbook automation. The body is one JSON object (the
 * action, its target and the alert in Lanner's native shape), signed like the webhook output:
 * `X-Lanner-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body bytes.
 */
import { nativeAlertObject } from '../alerts/formats/native.js';
import { stringifyExact } from '../core/exact-json.js';
import { HttpClient } from '../outputs/http-client.js';
import { signBody } from '../outputs/webhook.js';
import type { ActionsOptions } from './options.js';
import type { ActionRequest, Responder, ResponderContext, ResponderDescriptor, Verdict } from './responder.js';

export class WebhookResponder implements Responder {
  readonly name = 'webhook';
  readonly targetKind = 'external' as const;
  private readonly client: HttpClient;

  constructor(private readonly o: ActionsOptions['webhook']) {
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

export const webhookDescriptor: ResponderDescriptor = {
  name: 'webhook',
  description: 'POSTs the decision and the alert to a SOAR or runbook automation, signed with HMAC-SHA256 like the webhook output.',
  targetKind: 'external',
  example: ['webhook:', '  enabled: true', '  url: https://soar.example.com/hooks/lanner-response', '  secret_file: /etc/lanner/response-secret', ''].join('\n'),
  permissions: [],
  enabled: (o) => o.webhook.enabled,
  create: (o) => new WebhookResponder(o.webhook),
};
