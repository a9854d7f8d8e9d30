/**
 * Quarantine: cut one pod off the network and keep it running for forensics. The pod (never its
 * workload) gets the label `lanner.dev/quarantine=true`, and a NetworkPolicy `lanner-quarantine`
 * in its namespace selects that label and allows nothing in or out but what config opens (DNS to
 * the cluster resolver, forensics CIDRs). The policy is ensured before the label lands, so the
 * pod is isolated the moment it is labelled. Release removes the label and annotations and leaves
 * the policy for any other quarantined pod.
 */
import { createHash } from 'node:crypto';
import type { V1NetworkPolicy, V1NetworkPolicyEgressRule, V1NetworkPolicyIngressRule } from '@kubernetes/client-node';
import { z } from 'zod';
import { KubeApiError, QUARANTINE_LABEL, type KubeApi, type PodRef } from './kube-api.js';
import { durationOption, kubernetesName } from './option-values.js';
import { admittedPod, defineResponder, type ActionRequest, type Responder, type ResponderContext, type Verdict } from './responder.js';

const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

/** The `actions.quarantine` block. */
const quarantineOptions = z
  .object({
    enabled: z.boolean().default(true).describe('quarantine the pods that rules and people ask for'),
    ttl: durationOption('24h').describe('a quarantine is released after this unless renewed'),
    sweep_interval: durationOption('1m').describe("how often this node's expired quarantines are released"),
    allow_dns: z.boolean().default(true).describe('the quarantine policy lets DNS to the cluster resolver through'),
    dns_namespace: kubernetesName.default('kube-system').describe('the namespace of the cluster resolver pods'),
    dns_pods: z
      .string()
      .regex(/^[\w./-]+=[\w.-]*(,[\w./-]+=[\w.-]*)*$/, 'expected a label selector such as k8s-app=kube-dns')
      .default('k8s-app=kube-dns')
      .describe('label selector of the cluster resolver pods'),
    forensics_cidrs: z
      .array(z.string().regex(CIDR, 'expected a CIDR such as 10.20.0.0/24'))
      .default([])
      .describe("networks let in and out of a quarantined pod, e.g. a forensics workstation's"),
  })
  .strict();

export interface QuarantineOptions {
  readonly enabled: boolean;
  readonly ttlMs: number;
  readonly sweepIntervalMs: number;
  readonly allowDns: boolean;
  readonly dnsNamespace: string;
  readonly dnsPodLabels: Readonly<Record<string, string>>;
  readonly forensicsCidrs: readonly string[];
}

export const QUARANTINE_POLICY = 'lanner-quarantine';

/** Annotations a quarantine writes on the pod; release removes them all. */
export const QUARANTINE_ANNOTATIONS = {
  at: 'lanner.dev/quarantined-at',
  until: 'lanner.dev/quarantine-until',
  by: 'lanner.dev/quarantined-by',
  alert: 'lanner.dev/quarantine-alert-id',
  rule: 'lanner.dev/quarantine-rule',
  reason: 'lanner.dev/quarantine-reason',
} as const;

const POLICY_HASH = 'lanner.dev/policy-hash';

/** The policy for one namespace, from config alone, so every node's Lanner writes the same one. */
export function quarantinePolicy(namespace: string, q: QuarantineOptions): V1NetworkPolicy {
  const ingress: V1NetworkPolicyIngressRule[] = [];
  const egress: V1NetworkPolicyEgressRule[] = [];
  if (q.allowDns) {
    egress.push({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': q.dnsNamespace } }, podSelector: { matchLabels: { ...q.dnsPodLabels } } }],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    });
  }
  if (q.forensicsCidrs.length > 0) {
    const blocks = q.forensicsCidrs.map((cidr) => ({ ipBlock: { cidr } }));
    ingress.push({ _from: blocks });
    egress.push({ to: blocks });
  }
  const spec = { podSelector: { matchLabels: { [QUARANTINE_LABEL]: 'true' } }, policyTypes: ['Ingress', 'Egress'], ingress, egress };
  // The API server adds defaults to what it stores, so compare what we wrote, not what it shows.
  const hash = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: QUARANTINE_POLICY, namespace, labels: { 'app.kubernetes.io/managed-by': 'lanner' }, annotations: { [POLICY_HASH]: hash } },
    spec,
  };
}

/** Creates the policy, or patches it when config changed it; answers what it did. */
export async function ensurePolicy(kube: KubeApi, namespace: string, q: QuarantineOptions): Promise<'created' | 'patched' | 'unchanged'> {
  const desired = quarantinePolicy(namespace, q);
  const hash = desired.metadata!.annotations![POLICY_HASH]!;
  const patch = { metadata: { labels: desired.metadata!.labels, annotations: desired.metadata!.annotations }, spec: desired.spec };
  const existing = await kube.readNetworkPolicy(namespace, QUARANTINE_POLICY);
  if (existing === null) {
    try {
      await kube.createNetworkPolicy(namespace, desired);
      return 'created';
    } catch (err) {
      // Another node's Lanner created it between our read and our create: make it ours.
      if (!(err instanceof KubeApiError) || err.status !== 409) throw err;
      await kube.patchNetworkPolicy(namespace, QUARANTINE_POLICY, patch);
      return 'patched';
    }
  }
  if (existing.annotations[POLICY_HASH] === hash) return 'unchanged';
  await kube.patchNetworkPolicy(namespace, QUARANTINE_POLICY, patch);
  return 'patched';
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export class QuarantineResponder implements Responder {
  readonly name = 'quarantine';
  readonly targetKind = 'pod' as const;

  constructor(private readonly options: QuarantineOptions) {}

  async run(request: ActionRequest, ctx: ResponderContext): Promise<Verdict> {
    const t = request.target;
    const ref: PodRef = { namespace: t.namespace!, name: t.pod! };
    const what = `pod ${ref.namespace}/${ref.name}`;
    const ttlMs = request.ttlMs ?? this.options.ttlMs;
    const until = iso(ctx.now() + ttlMs);
    const admitted = await admittedPod(request, ctx, `quarantine ${what} until ${until}`, { until });
    if ('outcome' in admitted) return admitted;
    const { kube, pod } = admitted;
    const renewing = pod.labels[QUARANTINE_LABEL] === 'true';
    if (!renewing) {
      const cap = ctx.guard.admitQuarantineCount((await kube.listQuarantinedPods()).length);
      if (cap) return cap;
    }
    const verb = renewing ? 'renew the quarantine of' : 'quarantine';
    if (ctx.dryRun) {
      return { outcome: 'dry_run', message: `would ${verb} ${what} until ${until}: label ${QUARANTINE_LABEL}=true, NetworkPolicy ${QUARANTINE_POLICY} denying all ingress and egress${this.exceptions()}`, details: { until, renewing } };
    }
    const policy = await ensurePolicy(kube, ref.namespace, this.options);
    const a = QUARANTINE_ANNOTATIONS;
    const alert = request.alert;
    await kube.patchPodMetadata(
      ref,
      { [QUARANTINE_LABEL]: 'true' },
      {
        [a.at]: renewing ? (pod.annotations[a.at] ?? iso(ctx.now())) : iso(ctx.now()),
        [a.until]: until,
        [a.by]: request.trigger === 'manual' ? 'manual' : `lanner on ${ctx.node}`,
        [a.alert]: alert?.id ?? null,
        [a.rule]: alert?.rule ?? null,
        [a.reason]: request.reason ?? alert?.output.slice(0, 250) ?? null,
      },
    );
    return {
      outcome: 'executed',
      message: `${renewing ? 'renewed the quarantine of' : 'quarantined'} ${what} until ${until} (NetworkPolicy ${QUARANTINE_POLICY} ${policy}); the pod keeps running for forensics`,
      details: { until, policy, renewing },
    };
  }

  /** Removes the label and every quarantine annotation; the policy stays for other pods. */
  async release(request: ActionRequest, ctx: ResponderContext): Promise<Verdict> {
    const ref: PodRef = { namespace: request.target.namespace!, name: request.target.pod! };
    const what = `pod ${ref.namespace}/${ref.name}`;
    if (!ctx.kube) return { outcome: 'failed', reason: 'no_kubernetes_api', message: `cannot release ${what}: no Kubernetes API configured` };
    const pod = await ctx.kube.readPod(ref);
    if (pod.labels[QUARANTINE_LABEL] !== 'true') return { outcome: 'executed', message: `${what} was not quarantined; nothing to release`, details: { changed: false } };
    if (ctx.dryRun) return { outcome: 'dry_run', message: `would release ${what}: remove label ${QUARANTINE_LABEL} and the quarantine annotations` };
    const annotations = Object.fromEntries(Object.values(QUARANTINE_ANNOTATIONS).map((k) => [k, null]));
    await ctx.kube.patchPodMetadata(ref, { [QUARANTINE_LABEL]: null }, annotations);
    const why = request.trigger === 'ttl' ? `its quarantine ended at ${pod.annotations[QUARANTINE_ANNOTATIONS.until] ?? '?'}` : 'on request';
    return { outcome: 'executed', message: `released ${what} (${why}); NetworkPolicy ${QUARANTINE_POLICY} stays for other quarantined pods`, details: { changed: true } };
  }

  private exceptions(): string {
    const q = this.options;
    const open = [...(q.allowDns ? ['DNS'] : []), ...q.forensicsCidrs];
    return open.length > 0 ? ` except ${open.join(', ')}` : '';
  }
}

export const quarantineDescriptor = defineResponder({
  name: 'quarantine',
  summary: 'Labels the one pod lanner.dev/quarantine=true and ensures a deny-all NetworkPolicy selecting that label; the pod keeps running. Released after a TTL.',
  targetKind: 'pod',
  example: ['quarantine:', '  enabled: true', '  ttl: 24h', '  allow_dns: true', '  forensics_cidrs: [10.20.0.0/24]', ''].join('\n'),
  options: quarantineOptions,
  needs: {
    rbac: [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'patch'] },
      { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'create', 'patch'] },
    ],
  },
  optionsFrom: (q): QuarantineOptions => ({
    enabled: q.enabled,
    ttlMs: q.ttl,
    sweepIntervalMs: q.sweep_interval,
    allowDns: q.allow_dns,
    dnsNamespace: q.dns_namespace,
    dnsPodLabels: Object.fromEntries(q.dns_pods.split(',').map((term) => term.split('=') as [string, string])),
    forensicsCidrs: q.forensics_cidrs,
  }),
  create: (o) => new QuarantineResponder(o),
});
