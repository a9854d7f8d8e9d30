/**
 * Event: a Kubernetes Event on the pod saying what Lanner saw, so `kubectl describe pod` shows
 * the alert beside the pod's own history. It changes nothing about the pod.
 */
import { z } from 'zod';
import { admittedPod, defineResponder, type ActionRequest, type Responder, type ResponderContext, type Verdict } from './responder.js';

export class PodEventResponder implements Responder {
  readonly name = 'event';
  readonly targetKind = 'pod' as const;

  async run(request: ActionRequest, ctx: ResponderContext): Promise<Verdict> {
    const t = request.target;
    const what = `pod ${t.namespace}/${t.pod}`;
    const alert = request.alert;
    const message = alert ? `${alert.priority} ${alert.rule}: ${alert.output} (lanner alert ${alert.id})` : (request.reason ?? 'recorded by lanner');
    const admitted = await admittedPod(request, ctx, `record an Event on ${what}`);
    if ('outcome' in admitted) return admitted;
    const { kube, pod } = admitted;
    if (ctx.dryRun) return { outcome: 'dry_run', message: `would record an Event LannerAlert on ${what}${alert ? ` for ${alert.rule}` : ''}` };
    await kube.createEvent({
      involved: { kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
      type: 'Warning',
      reason: 'LannerAlert',
      message,
      host: ctx.node,
    });
    return { outcome: 'executed', message: `recorded the alert as an Event on ${what}` };
  }
}

export const podEventDescriptor = defineResponder({
  name: 'event',
  summary: 'Records the alert as a Kubernetes Event on the pod, shown by kubectl describe pod.',
  targetKind: 'pod',
  example: ['event:', '  enabled: true', ''].join('\n'),
  options: z.object({ enabled: z.boolean().default(true).describe('record a Kubernetes Event with the alert on the pod') }).strict(),
  needs: {
    rbac: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ],
  },
  optionsFrom: (block) => ({ enabled: block.enabled }),
  create: () => new PodEventResponder(),
});
