/**
 * Quarantine and its guardrails against the Kubernetes API stand-in over HTTPS: the exact
 * requests a decision sends, what dry run and each guardrail hold back, the TTL release, and
 * how the API's refusals (409, 403, 500) end up in the audit trail.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ActionEngine } from '../../src/actions/action-engine.js';
import { AUDIT_RULE, LIMIT_RULE } from '../../src/actions/audit.js';
import { QUARANTINE_LABEL } from '../../src/actions/kube.js';
import { defaultActionsOptions, type ActionsOptions } from '../../src/actions/options.js';
import { QUARANTINE_ANNOTATIONS, QUARANTINE_POLICY, quarantinePolicy } from '../../src/actions/quarantine.js';
import type { Alert } from '../../src/alerts/alert.js';
import { silentLogger } from '../../src/core/log.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { opensslOrSkip } from '../support/certs.js';
import { SECOND, shellAlert, T0 } from '../support/alerts.js';
import { cleanupPki, startKube, type KubeFixture } from '../support/kube.js';

const haveOpenssl = opensslOrSkip('response action tests against the Kubernetes API stand-in');

/** A reverse-shell alert on one pod; `timeNs` tells one alert from another (its id is derived from it). */
function attack(overrides: Partial<Alert> = {}, pod = 'checkout-7f9', namespace = 'shop', timeNs = T0): Alert {
  const a = shellAlert({ rule: 'Reverse shell', priority: 'Critical', namespace, timeNs });
  return { ...a, workload: { ...a.workload, namespace, pod }, node: 'worker-1', actions: ['quarantine'], ...overrides };
}

interface Harness {
  engine: ActionEngine;
  audit: Alert[];
  clock: { now: number };
  metrics: ReturnType<typeof createMetrics>;
}

function harness(k: KubeFixture, options: Partial<ActionsOptions> = {}): Harness {
  const audit: Alert[] = [];
  const clock = { now: Date.parse('2026-11-21T09:15:00Z') };
  const metrics = createMetrics({ processMetrics: false });
  const engine = new ActionEngine(defaultActionsOptions({ dryRun: false, ...options }), {
    logger: silentLogger(),
    metrics,
    kube: k.kube,
    node: 'worker-1',
    sink: (a) => audit.push(a),
    now: () => clock.now,
  });
  return { engine, audit, clock, metrics };
}

async function counted(metrics: Harness['metrics'], action: string, outcome: string): Promise<number> {
  const v = (await metrics.actions.get()).values.find((x) => x.labels['action'] === action && x.labels['outcome'] === outcome);
  return v?.value ?? 0;
}

describe.skipIf(!haveOpenssl)('quarantine against the Kubernetes API', () => {
  let k: KubeFixture;

  beforeEach(async () => {
    k = await startKube();
    k.api.addPod('shop', 'checkout-7f9', { node: 'worker-1', labels: { app: 'checkout' } });
    k.api.addPod('shop', 'cart-2b1', { node: 'worker-1', labels: { app: 'cart' } });
    k.api.addPod('kube-system', 'coredns-1', { node: 'worker-1' });
    k.api.addPod('shop', 'vault-0', { node: 'worker-1', labels: { [String('lanner.dev/protect')]: 'true' } });
  });
  afterEach(async () => k.close());
  afterAll(() => cleanupPki());

  it('is one policy create, one label patch and one event, and the pod keeps running', async () => {
    const h = harness(k);
    const alert = attack();
    h.engine.handle(alert);
    await h.engine.idle();

    const sent = k.api.mutating().map((r) => `${r.method} ${r.path}`);
    expect(sent).toEqual([
      'POST /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies',
      'PATCH /api/v1/namespaces/shop/pods/checkout-7f9',
      'POST /api/v1/namespaces/shop/events',
    ]);
    const [create, patch, event] = k.api.mutating();
    expect(patch!.contentType).toBe('application/strategic-merge-patch+json');
    expect(patch!.body).toEqual({
      metadata: {
        labels: { [QUARANTINE_LABEL]: 'true' },
        annotations: {
          [QUARANTINE_ANNOTATIONS.at]: '2026-11-21T09:15:00.000Z',
          [QUARANTINE_ANNOTATIONS.until]: '2026-11-22T09:15:00.000Z',
          [QUARANTINE_ANNOTATIONS.by]: 'lanner on worker-1',
          [QUARANTINE_ANNOTATIONS.alert]: alert.id,
          [QUARANTINE_ANNOTATIONS.rule]: 'Reverse shell',
          [QUARANTINE_ANNOTATIONS.reason]: alert.output,
        },
      },
    });
    // Deny-all both ways, DNS to the cluster resolver only, selecting the label alone.
    const policy = create!.body as { metadata: { name: string }; spec: Record<string, unknown> };
    expect(policy.metadata.name).toBe(QUARANTINE_POLICY);
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { [QUARANTINE_LABEL]: 'true' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    });
    const ev = event!.body as Record<string, Record<string, unknown> | string>;
    expect(ev['involvedObject']).toMatchObject({ kind: 'Pod', namespace: 'shop', name: 'checkout-7f9' });
    expect(ev['reason']).toBe('LannerQuarantine');
    expect(ev['message']).toContain(alert.id);

    const pod = k.api.pod('shop', 'checkout-7f9')!;
    expect((pod.metadata['labels'] as Record<string, string>)[QUARANTINE_LABEL]).toBe('true');
    expect((pod.metadata['labels'] as Record<string, string>)['app']).toBe('checkout');
    expect(k.api.pod('shop', 'cart-2b1')!.metadata['labels']).toEqual({ app: 'cart' });

    expect(h.audit).toHaveLength(1);
    expect(h.audit[0]!.rule).toBe(AUDIT_RULE);
    expect(h.audit[0]!.action).toMatchObject({ name: 'quarantine', outcome: 'executed', reason: null, dry_run: false, alert_id: alert.id, alert_rule: 'Reverse shell' });
    expect(await counted(h.metrics, 'quarantine', 'executed')).toBe(1);
    expect((await h.metrics.actionLatencySeconds.get()).values.find((v) => v.metricName === 'lanner_action_latency_seconds_count')?.value).toBe(1);
  });

  it('in dry run decides, audits and counts, and sends no mutating request', async () => {
    const h = harness(k, { dryRun: true });
    h.engine.handle(attack());
    await h.engine.idle();
    expect(k.api.mutating()).toEqual([]);
    expect(k.api.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v1/namespaces/shop/pods/checkout-7f9', 'GET /api/v1/pods']);
    expect(h.audit[0]!.action).toMatchObject({ name: 'quarantine', outcome: 'dry_run', dry_run: true });
    expect(h.audit[0]!.output).toContain('would quarantine pod shop/checkout-7f9');
    expect(await counted(h.metrics, 'quarantine', 'dry_run')).toBe(1);
  });

  it('never acts in kube-system, its own namespace or a denied namespace, nor on a protected pod', async () => {
    const h = harness(k, { namespaces: { allow: [], deny: ['payments'] }, ownNamespace: 'security' });
    k.api.addPod('security', 'lanner-x', { node: 'worker-1' });
    k.api.addPod('payments', 'api-1', { node: 'worker-1' });
    for (const [ns, pod] of [['kube-system', 'coredns-1'], ['security', 'lanner-x'], ['payments', 'api-1'], ['shop', 'vault-0']] as const) {
      h.engine.handle(attack({}, pod, ns));
    }
    await h.engine.idle();
    expect(k.api.mutating()).toEqual([]);
    expect(h.audit.map((a) => [a.action!.outcome, a.action!.reason])).toEqual([
      ['refused', 'namespace_protected'],
      ['refused', 'namespace_protected'],
      ['refused', 'namespace_denied'],
      ['refused', 'pod_protected'],
    ]);
    // Only the protected pod had to be read to be judged; the namespaces were refused unread.
    expect(k.api.requests.map((r) => r.path)).toEqual(['/api/v1/namespaces/shop/pods/vault-0']);
    expect(await counted(h.metrics, 'quarantine', 'refused')).toBe(4);
  });

  it('acts on alerts only for pods on its own node, so a forged event cannot reach the cluster', async () => {
    k.api.addPod('shop', 'payments-api-0', { node: 'worker-3' });
    const h = harness(k);
    h.engine.handle(attack({}, 'payments-api-0'));
    await h.engine.idle();
    expect(h.audit[0]!.action).toMatchObject({ outcome: 'refused', reason: 'pod_elsewhere' });
    expect(h.audit[0]!.output).toContain('runs on node worker-3, not on worker-1');
    expect(k.api.mutating()).toEqual([]);
    // A person may: the CLI and the API act cluster-wide.
    const manual = await h.engine.perform({ action: 'quarantine', target: { kind: 'pod', namespace: 'shop', pod: 'payments-api-0' }, trigger: 'manual' }, false);
    expect(manual.record.outcome).toBe('executed');
  });

  it('with an allow list acts only inside it', async () => {
    const h = harness(k, { namespaces: { allow: ['staging'], deny: [] } });
    h.engine.handle(attack());
    await h.engine.idle();
    expect(h.audit[0]!.action).toMatchObject({ outcome: 'refused', reason: 'namespace_not_allowed' });
    expect(k.api.requests).toEqual([]);
  });

  it('refuses past the per-node limit and raises one alert saying so', async () => {
    const base = defaultActionsOptions();
    const h = harness(k, { limits: { ...base.limits, perNode: 1 } });
    h.engine.handle(attack({}, 'checkout-7f9'));
    h.engine.handle(attack({}, 'cart-2b1'));
    h.engine.handle(attack({ rule: 'Another' }, 'cart-2b1'));
    await h.engine.idle();
    const decisions = h.audit.filter((a) => a.rule === AUDIT_RULE).map((a) => [a.action!.outcome, a.action!.reason]);
    expect(decisions).toEqual([
      ['executed', null],
      ['refused', 'limit_node'],
      ['refused', 'limit_node'],
    ]);
    const limit = h.audit.filter((a) => a.rule === LIMIT_RULE);
    expect(limit).toHaveLength(1);
    expect(limit[0]!.output).toContain('1 actions on node worker-1');
    expect(limit[0]!.priority).toBe('Error');
    // The refusal is on record where a responder looks: the pod's events.
    expect(k.api.events.map((e) => e['reason'])).toEqual(['LannerQuarantine', 'LannerActionRefused', 'LannerActionRefused']);
    expect(k.api.pod('shop', 'cart-2b1')!.metadata['labels']).toEqual({ app: 'cart' });
  });

  it('holds the cluster-wide cap of quarantined pods, counted from the API', async () => {
    const base = defaultActionsOptions();
    k.api.addPod('shop', 'old-1', { node: 'worker-9', labels: { [QUARANTINE_LABEL]: 'true' } });
    const h = harness(k, { limits: { ...base.limits, maxQuarantinedPods: 1 } });
    h.engine.handle(attack());
    await h.engine.idle();
    expect(h.audit[0]!.action).toMatchObject({ outcome: 'refused', reason: 'limit_cluster' });
    expect(k.api.mutating().map((r) => r.path)).toEqual(['/api/v1/namespaces/shop/events']);
    expect(h.audit.some((a) => a.rule === LIMIT_RULE)).toBe(true);
  });

  it('does not stack actions for the same alert twice, and holds repeats within the cooldown', async () => {
    const h = harness(k);
    const alert = attack();
    h.engine.handle(alert);
    h.engine.handle(alert);
    h.clock.now += 60_000;
    // A later alert of the same rule on the same pod: a new alert, held by the cooldown.
    h.engine.handle(attack({}, 'checkout-7f9', 'shop', T0 + 60n * SECOND));
    await h.engine.idle();
    expect(h.audit.map((a) => [a.action!.outcome, a.action!.reason])).toEqual([
      ['executed', null],
      ['refused', 'duplicate'],
      ['refused', 'cooldown'],
    ]);
    expect(k.api.mutating().filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('releases after the TTL: label and annotations removed, the policy kept for other pods', async () => {
    const h = harness(k);
    h.engine.handle(attack({}, 'checkout-7f9'));
    await h.engine.idle();
    await h.engine.perform({ action: 'quarantine', target: { kind: 'pod', namespace: 'shop', pod: 'cart-2b1', node: 'worker-1' }, trigger: 'manual', reason: 'triage', ttlMs: 48 * 3600_000 }, false);
    k.api.clearRequests();

    h.clock.now += 23 * 3600_000;
    expect(await h.engine.sweep()).toEqual([]);
    h.clock.now += 2 * 3600_000;
    const released = await h.engine.sweep();
    expect(released.map((d) => [d.record.name, d.record.trigger, d.record.target.pod, d.record.outcome])).toEqual([['release', 'ttl', 'checkout-7f9', 'executed']]);

    const patch = k.api.mutating().find((r) => r.method === 'PATCH')!;
    expect(patch.path).toBe('/api/v1/namespaces/shop/pods/checkout-7f9');
    expect(patch.body).toEqual({
      metadata: {
        labels: { [QUARANTINE_LABEL]: null },
        annotations: Object.fromEntries(Object.values(QUARANTINE_ANNOTATIONS).map((a) => [a, null])),
      },
    });
    expect(k.api.pod('shop', 'checkout-7f9')!.metadata['labels']).toEqual({ app: 'checkout' });
    expect(k.api.pod('shop', 'checkout-7f9')!.metadata['annotations']).toEqual({});
    expect(k.api.pod('shop', 'cart-2b1')!.metadata['labels']).toMatchObject({ [QUARANTINE_LABEL]: 'true' });
    expect(k.api.policy('shop', QUARANTINE_POLICY)).toBeDefined();
    expect((await h.metrics.quarantinedPods.get()).values[0]!.value).toBe(1);
  });

  it('patches the policy when another node created it first (409) and leaves an unchanged one alone', async () => {
    const h = harness(k);
    k.api.addPod('shop', 'web-1', { node: 'worker-1' });
    await h.engine.perform({ action: 'quarantine', target: { kind: 'pod', namespace: 'shop', pod: 'cart-2b1', node: 'worker-1' }, trigger: 'manual' }, false);
    k.api.clearRequests();
    // Our read saw no policy, then another node's Lanner created it before our create.
    k.api.failNext('GET', /networkpolicies\/lanner-quarantine$/, 404, 'NotFound', 'networkpolicies.networking.k8s.io "lanner-quarantine" not found');
    h.engine.handle(attack({}, 'checkout-7f9'));
    await h.engine.idle();
    const policyCalls = k.api.requests.filter((r) => r.path.includes('networkpolicies')).map((r) => `${r.method} ${r.contentType ?? ''}`);
    expect(policyCalls).toEqual(['GET ', 'POST application/json', 'PATCH application/merge-patch+json']);
    expect(h.audit[1]!.action).toMatchObject({ outcome: 'executed', details: { policy: 'patched' } });

    // The policy exists as ours: a further quarantine in the namespace reads it and moves on.
    k.api.clearRequests();
    await h.engine.perform({ action: 'quarantine', target: { kind: 'pod', namespace: 'shop', pod: 'web-1', node: 'worker-1' }, trigger: 'manual' }, false);
    expect(k.api.requests.filter((r) => r.path.includes('networkpolicies')).map((r) => r.method)).toEqual(['GET']);
  });

  it('fails and audits when the API refuses (403) or breaks (500), without retrying into a loop', async () => {
    const h = harness(k);
    k.api.failNext('PATCH', /pods\/checkout-7f9$/, 403, 'Forbidden', 'pods "checkout-7f9" is forbidden: User "system:serviceaccount:lanner:lanner" cannot patch resource "pods"');
    h.engine.handle(attack({}, 'checkout-7f9'));
    k.api.failNext('GET', /pods\/cart-2b1$/, 500, 'InternalError', 'etcdserver: request timed out');
    h.engine.handle(attack({}, 'cart-2b1'));
    await h.engine.idle();
    expect(h.audit.map((a) => [a.action!.outcome, a.action!.reason])).toEqual([
      ['failed', 'forbidden'],
      ['failed', 'api_error'],
    ]);
    expect(h.audit[0]!.output).toContain('cannot patch resource "pods"');
    expect(h.audit[0]!.output).toContain('ClusterRole');
    expect(h.audit[1]!.output).toContain('etcdserver: request timed out');
    expect(k.api.events.map((e) => e['reason'])).toEqual(['LannerActionFailed', 'LannerActionFailed']);
    expect(await counted(h.metrics, 'quarantine', 'failed')).toBe(2);
  });

  it('opens forensics CIDRs both ways when configured', () => {
    const q = { ...defaultActionsOptions().quarantine, allowDns: false, forensicsCidrs: ['10.20.0.0/24'] };
    const p = quarantinePolicy('shop', q);
    expect(p.spec!.ingress).toEqual([{ _from: [{ ipBlock: { cidr: '10.20.0.0/24' } }] }]);
    expect(p.spec!.egress).toEqual([{ to: [{ ipBlock: { cidr: '10.20.0.0/24' } }] }]);
  });
});
