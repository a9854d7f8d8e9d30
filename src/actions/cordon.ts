/**
 * Cordon: mark the node unschedulable so no new pod lands where an escape may have happened.
 * Running pods stay; draining is a person's decision. Control-plane and protected nodes are
 * never cordoned, and a cluster-wide cap bounds how many nodes can be unschedulable at once.
 */
import { z } from 'zod';
import { defineResponder, type ActionRequest, type Responder, type ResponderContext, type Verdict } from './responder.js';

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

export const cordonDescriptor = defineResponder({
  name: 'cordon',
  summary: 'Marks the node unschedulable (kubectl cordon). Never a control-plane node or one labelled lanner.dev/protect=true.',
  targetKind: 'node',
  example: ['cordon:', '  enabled: true', ''].join('\n'),
  options: z
    .object({ enabled: z.boolean().default(false).describe('cordon the node of an alert; needs nodes get/list/patch (deploy/kubernetes/rbac-cordon.yaml)') })
    .strict(),
  needs: { rbac: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'patch'] }] },
  optionsFrom: (block) => ({ enabled: block.enabled }),
  create: () => new CordonResponder(),
});
