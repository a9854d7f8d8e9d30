/**
 * Delete: remove the pod so its controller replaces it with a clean one. The evidence goes
 * first: an Event on the pod with the alert, written before the delete; the delete itself is
 * graceful. Rules that name both run quarantine before delete (see the engine's order), so the
 * quarantine annotations are recorded too.
 */
import { z } from 'zod';
import { durationOption } from './option-values.js';
import { admittedPod, defineResponder, type ActionRequest, type Responder, type ResponderContext, type Verdict } from './responder.js';

export interface DeletePodOptions {
  readonly enabled: boolean;
  readonly gracePeriodMs: number;
}

export class DeletePodResponder implements Responder {
  readonly name = 'delete';
  readonly targetKind = 'pod' as const;

  constructor(private readonly gracePeriodSeconds: number) {}

  async run(request: ActionRequest, ctx: ResponderContext): Promise<Verdict> {
    const t = request.target;
    const what = `pod ${t.namespace}/${t.pod}`;
    const admitted = await admittedPod(request, ctx, `delete ${what}`);
    if ('outcome' in admitted) return admitted;
    const { kube, pod } = admitted;
    if (ctx.dryRun) return { outcome: 'dry_run', message: `would record the evidence on ${what}, then delete it with a ${this.gracePeriodSeconds}s grace period` };
    const alert = request.alert;
    await kube.createEvent({
      involved: { kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
      type: 'Warning',
      reason: 'LannerDeleting',
      message: `deleting after ${alert ? `${alert.rule}: ${alert.output} (lanner alert ${alert.id})` : (request.reason ?? 'a manual request')}`,
      host: ctx.node,
    });
    await kube.deletePod({ namespace: pod.namespace, name: pod.name }, this.gracePeriodSeconds);
    return { outcome: 'executed', message: `deleted ${what} with a ${this.gracePeriodSeconds}s grace period, after recording the evidence as an Event` };
  }
}

export const deletePodDescriptor = defineResponder({
  name: 'delete',
  summary: 'Records the evidence as an Event, then deletes the pod gracefully so its controller replaces it. Off by default.',
  targetKind: 'pod',
  example: ['delete:', '  enabled: true', '  grace_period: 30s', ''].join('\n'),
  options: z
    .object({
      enabled: z.boolean().default(false).describe('delete the pod of an alert; needs pods delete (deploy/kubernetes/rbac-delete.yaml)'),
      grace_period: durationOption('30s').describe('how long the pod is given to stop, as kubectl delete --grace-period'),
    })
    .strict(),
  needs: {
    rbac: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'delete'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ],
  },
  optionsFrom: (block): DeletePodOptions => ({ enabled: block.enabled, gracePeriodMs: block.grace_period }),
  create: (o) => new DeletePodResponder(Math.round(o.gracePeriodMs / 1000)),
});
