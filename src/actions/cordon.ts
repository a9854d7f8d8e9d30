/**
 * Cordon: mark the node unschedulable so no new pod lands where an escape may have happened.
 * Running pods stay; draining is a person's decision. Control-plane and protected nodes are
 * never cordoned, and a cluster-wide cap bounds how many nodes can be unschedulable at once.
 */
import type { ActionRequest, Responder, ResponderContext, ResponderDescriptor, Verdict } from './responder.js';

export class CordonResponder implements Responder {
  readonly name = 'cordon';
  readonly targetKind = 'node' as const;

  async run(request: ActionRequest, ctx: ResponderContext): Promise<Verdict> {
    const name = request.target.node!;
    if (!ctx.kube) {
      if (ctx.dryRun) return { outcome: 'dry_run', message: `would cordon node ${name} (node not read: no Kubernetes API configured)` };
      return { outcome: 'failed', reason: 'no_kubernetes_api', message: `cannot cordon node ${name}: no Kubernetes API configured` };
    }
    const node = await ctx.kube.readNode(name);
    const no = ctx.guard.admitNode(node);
    if (no) return no;
    if (node.unschedulable) return { outcome: 'executed', message: `node ${name} was already cordoned`, details: { changed: false } };
    const cap = ctx.guard.admitCordonCount(await ctx.kube.countUnschedulableNodes());
    if (cap) return cap;
    if (ctx.dryRun) return { outcome: 'dry_run', message: `would cordon node ${name}` };
    await ctx.kube.setNodeUnschedulable(name, true);
    return { outcome: 'executed', message: `cordoned node ${name}: no new pods are scheduled there; running pods stay`, details: { changed: true } };
  }
}

export const cordonDescriptor: ResponderDescriptor = {
  name: 'cordon',
  description: 'Marks the node unschedulable (kubectl cordon). Never a control-plane node or one labelled lanner.dev/protect=true.',
  targetKind: 'node',
  example: ['cordon:', '  enabled: true', ''].join('\n'),
  permissions: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'patch'] }],
  enabled: (o) => o.cordon.enabled,
  create: () => new CordonResponder(),
};
