/**
 * Delete: remove the pod so its controller replaces it with a clean one. The evidence goes
 * first: an Event on the pod with the alert, written before the delete; the delete itself is
 * graceful. Rules that name both run quarantine before delete (see the engine's order), so the
 * quarantine annotations are recorded too.
 */
import type { ActionsOptions } from './options.js';
import type { ActionRequest, Responder, ResponderContext, ResponderDescriptor, Verdict } from './responder.js';

export class DeletePodResponder implements Responder {
  readonly name = 'delete';
  readonly targetKind = 'pod' as const;

  constructor(private readonly gracePeriodSeconds: number) {}

  async run(request: ActionRequest, ctx: ResponderContext): Promise<Verdict> {
    const t = request.target;
    const what = `pod ${t.namespace}/${t.pod}`;
    if (!ctx.kube) {
      if (ctx.dryRun) return { outcome: 'dry_run', message: `would delete ${what} (pod not read: no Kubernetes API configured)` };
      return { outcome: 'failed', reason: 'no_kubernetes_api', message: `cannot delete ${what}: no Kubernetes API configured` };
    }
    const pod = await ctx.kube.readPod({ namespace: t.namespace!, name: t.pod! });
    const no = ctx.guard.admitPod(pod, request, ctx.node);
    if (no) return no;
    if (ctx.dryRun) return { outcome: 'dry_run', message: `would record the evidence on ${what}, then delete it with a ${this.gracePeriodSeconds}s grace period` };
    const alert = request.alert;
    await ctx.kube.createEvent({
      involved: { kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
      type: 'Warning',
      reason: 'LannerDeleting',
      message: `deleting after ${alert ? `${alert.rule}: ${alert.output} (lanner alert ${alert.id})` : (request.reason ?? 'a manual request')}`,
      host: ctx.node,
    });
    await ctx.kube.deletePod({ namespace: pod.namespace, name: pod.name }, this.gracePeriodSeconds);
    return { outcome: 'executed', message: `deleted ${what} with a ${this.gracePeriodSeconds}s grace period, after recording the evidence as an Event` };
  }
}

export const deletePodDescriptor: ResponderDescriptor = {
  name: 'delete',
  description: 'Records the evidence as an Event, then deletes the pod gracefully so its controller replaces it. Off by default.',
  targetKind: 'pod',
  example: ['delete:', '  enabled: true', '  grace_period: 30s', ''].join('\n'),
  permissions: [
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'delete'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  ],
  enabled: (o) => o.delete.enabled,
  create: (o: ActionsOptions) => new DeletePodResponder(Math.round(o.delete.gracePeriodMs / 1000)),
};
