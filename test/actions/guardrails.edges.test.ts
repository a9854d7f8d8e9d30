/**
 * The guardrails at their edges: each limit one below, at and one above its value, windows that
 * slide by the millisecond, the cooldown at its exact end, and the memory bounds. Time is the
 * `now` every call takes; nothing waits on the wall clock.
 */
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { ALWAYS_PROTECTED_NAMESPACES, Guardrails, describeTarget, targetKey } from '../../src/actions/guardrails.js';
import { PROTECT_LABEL, type NodeInfo, type PodInfo } from '../../src/actions/kube-api.js';
import { defaultActionsOptions, type EngineOptions } from '../../src/actions/options.js';
import type { ActionRequest, ActionTarget, Trigger } from '../../src/actions/request.js';
import { shellAlert } from '../support/alerts.js';

const MINUTE = 60_000;
const T = Date.parse('2026-11-21T09:15:00Z');

type Limits = EngineOptions['limits'];

function guard(limits: Partial<Limits> = {}, more: Partial<EngineOptions> = {}): Guardrails {
  const base = defaultActionsOptions();
  return new Guardrails({ ...base, ...more, limits: { ...base.limits, ...limits } });
}

/** Limits far above anything a test reaches, except those it sets. */
function wide(limits: Partial<Limits> = {}): Partial<Limits> {
  return { perNode: 1_000_000, perKind: { pod: 1_000_000, node: 1_000_000, process: 1_000_000, external: 1_000_000 }, ...limits };
}

function pod(name: string, node = 'worker-1', namespace = 'shop'): ActionTarget {
  return { kind: 'pod', namespace, pod: name, node };
}

/** An automatic request; `id` tells one alert from another. */
function byAlert(target: ActionTarget, id = 'a1', action = 'quarantine'): ActionRequest {
  const alert: Alert = { ...shellAlert(), id };
  return { action, target, trigger: 'alert', alert };
}

function byPerson(target: ActionTarget, action = 'quarantine', trigger: Trigger = 'manual'): ActionRequest {
  return { action, target, trigger };
}

function reasonOf(g: Guardrails, r: ActionRequest, now: number): string | undefined {
  return g.admitRequest(r, now)?.reason;
}

function podInfo(labels: Record<string, string> = {}, nodeName: string | null = 'worker-1'): PodInfo {
  return { namespace: 'shop', name: 'checkout-7f9', uid: 'u1', nodeName, labels, annotations: {} };
}

function nodeInfo(labels: Record<string, string> = {}): NodeInfo {
  return { name: 'worker-2', uid: 'n1', labels, unschedulable: false };
}

describe('guardrails: namespaces', () => {
  it('never opens kube-system or its own namespace, whatever the allow list says', () => {
    const g = guard({}, { ownNamespace: 'security', namespaces: { allow: ['kube-system', 'security', 'shop'], deny: [] } });
    expect(ALWAYS_PROTECTED_NAMESPACES).toEqual(['kube-system']);
    expect(g.admitNamespace('kube-system')).toEqual({
      outcome: 'refused',
      reason: 'namespace_protected',
      message: "namespace kube-system is never acted on (kube-system and Lanner's own namespace are protected)",
    });
    expect(g.admitNamespace('security')?.reason).toBe('namespace_protected');
    expect(g.admitNamespace('shop')).toBeUndefined();
  });

  it('refuses a denied namespace and, with an allow list, every namespace not on it', () => {
    const denying = guard({}, { namespaces: { allow: [], deny: ['payments'] } });
    expect(denying.admitNamespace('payments')).toEqual({ outcome: 'refused', reason: 'namespace_denied', message: 'namespace payments is on actions.namespaces.deny' });
    expect(denying.admitNamespace('shop')).toBeUndefined();
    const allowing = guard({}, { namespaces: { allow: ['shop'], deny: [] } });
    expect(allowing.admitNamespace('staging')).toEqual({ outcome: 'refused', reason: 'namespace_not_allowed', message: 'namespace staging is not on actions.namespaces.allow' });
    expect(allowing.admitNamespace('shop')).toBeUndefined();
    // Deny wins over allow.
    expect(guard({}, { namespaces: { allow: ['shop'], deny: ['shop'] } }).admitNamespace('shop')?.reason).toBe('namespace_denied');
  });

  it('judges the namespace of a request that has one, and lets a target without one pass to the limits', () => {
    const g = guard(wide());
    expect(reasonOf(g, byAlert(pod('coredns-1', 'worker-1', 'kube-system')), T)).toBe('namespace_protected');
    expect(reasonOf(g, byAlert({ kind: 'node', node: 'worker-1' }), T)).toBeUndefined();
  });
});

describe('guardrails: repeats and the cooldown', () => {
  it('refuses the same alert on the same target once decided, and only that', () => {
    const g = guard(wide());
    const first = byAlert(pod('checkout-7f9'), 'a1');
    g.charge(first, T);
    expect(g.admitRequest(first, T + 20 * MINUTE)).toEqual({ outcome: 'refused', reason: 'duplicate', message: 'already decided for alert a1' });
    // Another action for the same alert, or the same alert on another target, is a new decision.
    expect(reasonOf(g, byAlert(pod('checkout-7f9'), 'a1', 'event'), T)).toBeUndefined();
    expect(reasonOf(g, byAlert(pod('cart-2b1'), 'a1'), T)).toBeUndefined();
    // A person acting on the alert's target is not a repeat of the automation.
    expect(reasonOf(g, { ...byPerson(pod('checkout-7f9')), alert: first.alert! }, T)).toBeUndefined();
  });

  it('holds an automatic action on the same target until the cooldown has passed, to the millisecond', () => {
    const g = guard(wide({ cooldownMs: 15 * MINUTE }));
    g.charge(byAlert(pod('checkout-7f9'), 'a1'), T);
    const next = byAlert(pod('checkout-7f9'), 'a2');
    expect(g.admitRequest(next, T + 15 * MINUTE - 1)).toEqual({
      outcome: 'refused',
      reason: 'cooldown',
      message: 'quarantine on pod shop/checkout-7f9 ran 900s ago; the cooldown is 900s',
    });
    expect(g.admitRequest(next, T + 15 * MINUTE)).toBeUndefined();
    expect(g.admitRequest(next, T + 15 * MINUTE + 1)).toBeUndefined();
  });

  it('takes the cooldown from the configuration default of fifteen minutes, not fifteen seconds', () => {
    const g = guard(wide({ cooldownMs: defaultActionsOptions().limits.cooldownMs }));
    g.charge(byAlert(pod('checkout-7f9'), 'a1'), T);
    const next = byAlert(pod('checkout-7f9'), 'a2');
    expect(reasonOf(g, next, T + 15_000)).toBe('cooldown');
    expect(reasonOf(g, next, T + 14 * MINUTE)).toBe('cooldown');
    expect(g.admitRequest(next, T + 15 * MINUTE - 1)?.message).toBe('quarantine on pod shop/checkout-7f9 ran 900s ago; the cooldown is 900s');
    expect(reasonOf(g, next, T + 15 * MINUTE)).toBeUndefined();
  });

  it('keeps one cooldown per action and target', () => {
    const g = guard(wide());
    g.charge(byAlert(pod('checkout-7f9'), 'a1'), T);
    expect(reasonOf(g, byAlert(pod('checkout-7f9'), 'a2'), T + 1)).toBe('cooldown');
    expect(reasonOf(g, byAlert(pod('checkout-7f9'), 'a2', 'event'), T + 1)).toBeUndefined();
    expect(reasonOf(g, byAlert(pod('cart-2b1'), 'a2'), T + 1)).toBeUndefined();
  });

  it('holds automation after a person acted on the target, but never holds a person', () => {
    const g = guard(wide());
    g.charge(byPerson(pod('checkout-7f9')), T);
    expect(reasonOf(g, byAlert(pod('checkout-7f9'), 'a1'), T + MINUTE)).toBe('cooldown');
    expect(reasonOf(g, byPerson(pod('checkout-7f9')), T + MINUTE)).toBeUndefined();
  });
});

describe('guardrails: per-node and per-kind limits', () => {
  it('allows exactly per_node actions on one node within the window, then refuses with limit_node', () => {
    const g = guard(wide({ perNode: 3, windowMs: 10 * MINUTE }));
    for (let i = 0; i < 3; i++) {
      expect(reasonOf(g, byAlert(pod(`p${i}`), `a${i}`), T)).toBeUndefined();
      g.charge(byAlert(pod(`p${i}`), `a${i}`), T);
    }
    expect(g.admitRequest(byAlert(pod('p3'), 'a3'), T)).toEqual({
      outcome: 'refused',
      reason: 'limit_node',
      message: '3 actions on node worker-1 within 600s: the limit is 3',
    });
    // Other nodes have their own count.
    expect(reasonOf(g, byAlert(pod('p3', 'worker-2'), 'a3'), T)).toBeUndefined();
  });

  it('allows exactly the per-kind limit, then refuses with limit_kind, across nodes', () => {
    const g = guard(wide({ perKind: { pod: 2, node: 1_000_000, process: 1_000_000, external: 1_000_000 }, windowMs: 10 * MINUTE }));
    g.charge(byAlert(pod('p0', 'worker-1'), 'a0'), T);
    expect(reasonOf(g, byAlert(pod('p1', 'worker-2'), 'a1'), T)).toBeUndefined();
    g.charge(byAlert(pod('p1', 'worker-2'), 'a1'), T);
    expect(g.admitRequest(byAlert(pod('p2', 'worker-3'), 'a2'), T)).toEqual({
      outcome: 'refused',
      reason: 'limit_kind',
      message: '2 actions on pod targets within 600s: the limit is 2',
    });
    // Each kind counts for itself.
    expect(reasonOf(g, byAlert({ kind: 'node', node: 'worker-4' }, 'a2', 'cordon'), T)).toBeUndefined();
  });

  it('refuses every action of a kind whose limit is 0, and counts targets without a node by kind alone', () => {
    const g = guard(wide({ perKind: { pod: 1_000_000, node: 1_000_000, process: 1_000_000, external: 0 } }));
    expect(g.admitRequest(byAlert({ kind: 'external' }, 'a1', 'webhook'), T)?.message).toBe('0 actions on external targets within 600s: the limit is 0');
    const h = guard(wide({ perNode: 0, perKind: { pod: 1_000_000, node: 1_000_000, process: 1_000_000, external: 1 } }));
    expect(reasonOf(h, byAlert({ kind: 'external' }, 'a1', 'webhook'), T)).toBeUndefined();
    h.charge(byAlert({ kind: 'external' }, 'a1', 'webhook'), T);
    expect(reasonOf(h, byAlert({ kind: 'external', namespace: 'shop', pod: 'cart-2b1' }, 'a2', 'webhook'), T)).toBe('limit_kind');
  });

  it('slides the window: an action stops counting exactly one window after it ran', () => {
    const g = guard(wide({ perNode: 2, windowMs: 10 * MINUTE }));
    g.charge(byAlert(pod('p0'), 'a0'), T);
    g.charge(byAlert(pod('p1'), 'a1'), T + 4 * MINUTE);
    const next = byAlert(pod('p2'), 'a2');
    expect(reasonOf(g, next, T + 10 * MINUTE - 1)).toBe('limit_node');
    // The first has left the window; the second still counts.
    expect(reasonOf(g, next, T + 10 * MINUTE)).toBeUndefined();
    g.charge(next, T + 10 * MINUTE);
    expect(g.admitRequest(byAlert(pod('p3'), 'a3'), T + 14 * MINUTE - 1)?.message).toBe('2 actions on node worker-1 within 600s: the limit is 2');
    expect(reasonOf(g, byAlert(pod('p3'), 'a3'), T + 14 * MINUTE)).toBeUndefined();
  });

  it('slides the per-kind window the same way', () => {
    const g = guard(wide({ perKind: { pod: 1, node: 1_000_000, process: 1_000_000, external: 1_000_000 }, windowMs: 10 * MINUTE }));
    g.charge(byAlert(pod('p0', 'worker-1'), 'a0'), T);
    expect(reasonOf(g, byAlert(pod('p1', 'worker-2'), 'a1'), T + 10 * MINUTE - 1)).toBe('limit_kind');
    expect(reasonOf(g, byAlert(pod('p1', 'worker-2'), 'a1'), T + 10 * MINUTE)).toBeUndefined();
  });

  it('lets the end of a quarantine through every limit and the cooldown, and does not count it', () => {
    const g = guard(wide({ perNode: 0, perKind: { pod: 0, node: 0, process: 0, external: 0 } }));
    const release = byPerson(pod('checkout-7f9'), 'release');
    const ttl = byPerson(pod('checkout-7f9'), 'release', 'ttl');
    expect(g.admitRequest(release, T)).toBeUndefined();
    expect(g.admitRequest(ttl, T)).toBeUndefined();
    // A quarantine asked by a person is held by the limits like any other.
    expect(reasonOf(g, byPerson(pod('checkout-7f9')), T)).toBe('limit_node');

    const counting = guard(wide({ perNode: 1, perKind: { pod: 1, node: 1, process: 1, external: 1 } }));
    counting.charge(release, T);
    counting.charge(ttl, T);
    counting.charge(byAlert(pod('checkout-7f9'), 'a1', 'release'), T);
    expect(reasonOf(counting, byAlert(pod('cart-2b1'), 'a2'), T)).toBeUndefined();
    // A TTL-triggered quarantine renewal is not held either, but a charged quarantine is counted.
    expect(counting.admitRequest(byPerson(pod('cart-2b1'), 'quarantine', 'ttl'), T)).toBeUndefined();
    counting.charge(byPerson(pod('cart-2b1'), 'quarantine', 'ttl'), T);
    expect(reasonOf(counting, byAlert(pod('web-1'), 'a3'), T)).toBeUndefined();
    counting.charge(byAlert(pod('web-1'), 'a3'), T);
    expect(reasonOf(counting, byAlert(pod('web-2'), 'a4'), T)).toBe('limit_node');
  });
});

describe('guardrails: what the responders ask once they have read the target', () => {
  it('refuses a pod in a protected namespace or labelled protect=true, and only "true" protects', () => {
    const g = guard();
    const req = byAlert(pod('checkout-7f9'));
    expect(g.admitPod({ ...podInfo(), namespace: 'kube-system' }, req, 'worker-1')?.reason).toBe('namespace_protected');
    expect(g.admitPod(podInfo({ [PROTECT_LABEL]: 'true' }), req, 'worker-1')).toEqual({
      outcome: 'refused',
      reason: 'pod_protected',
      message: `pod shop/checkout-7f9 is labelled ${PROTECT_LABEL}=true`,
    });
    expect(g.admitPod(podInfo({ [PROTECT_LABEL]: 'false' }), req, 'worker-1')).toBeUndefined();
  });

  it("lets an alert act only on its own node's pods; a person anywhere; an unscheduled pod is not elsewhere", () => {
    const g = guard();
    expect(g.admitPod(podInfo({}, 'worker-3'), byAlert(pod('checkout-7f9')), 'worker-1')).toEqual({
      outcome: 'refused',
      reason: 'pod_elsewhere',
      message: 'pod shop/checkout-7f9 runs on node worker-3, not on worker-1 where this Lanner and its Falco are',
    });
    expect(g.admitPod(podInfo({}, 'worker-1'), byAlert(pod('checkout-7f9')), 'worker-1')).toBeUndefined();
    expect(g.admitPod(podInfo({}, null), byAlert(pod('checkout-7f9')), 'worker-1')).toBeUndefined();
    expect(g.admitPod(podInfo({}, 'worker-3'), byPerson(pod('checkout-7f9')), 'worker-1')).toBeUndefined();
  });

  it('never cordons a protected or control-plane node, whatever the label value', () => {
    const g = guard();
    expect(g.admitNode(nodeInfo({ [PROTECT_LABEL]: 'true' }))).toEqual({ outcome: 'refused', reason: 'node_protected', message: `node worker-2 is labelled ${PROTECT_LABEL}=true` });
    expect(g.admitNode(nodeInfo({ [PROTECT_LABEL]: 'false' }))).toBeUndefined();
    expect(g.admitNode(nodeInfo({ 'node-role.kubernetes.io/control-plane': '' }))).toEqual({
      outcome: 'refused',
      reason: 'node_protected',
      message: 'node worker-2 is a control-plane node (node-role.kubernetes.io/control-plane)',
    });
    expect(g.admitNode(nodeInfo({ 'node-role.kubernetes.io/master': 'true' }))?.message).toBe('node worker-2 is a control-plane node (node-role.kubernetes.io/master)');
    expect(g.admitNode(nodeInfo({ 'node-role.kubernetes.io/worker': '' }))).toBeUndefined();
  });

  it('holds the cluster-wide caps at their value: one below passes, at the cap refuses', () => {
    const g = guard({ maxQuarantinedPods: 10, maxCordonedNodes: 1 });
    expect(g.admitQuarantineCount(9)).toBeUndefined();
    expect(g.admitQuarantineCount(10)).toEqual({ outcome: 'refused', reason: 'limit_cluster', message: '10 pods are quarantined cluster-wide: the limit is 10' });
    expect(g.admitQuarantineCount(11)?.reason).toBe('limit_cluster');
    expect(g.admitCordonCount(0)).toBeUndefined();
    expect(g.admitCordonCount(1)).toEqual({ outcome: 'refused', reason: 'limit_cluster', message: '1 nodes are unschedulable cluster-wide: the limit is 1' });
    expect(g.admitCordonCount(2)?.reason).toBe('limit_cluster');
  });
});

describe('guardrails: bounded memory', () => {
  const REMEMBERED = 10_000;

  it('remembers the last 10000 cooldowns: the oldest target is forgotten at the 10001st', () => {
    const g = guard(wide());
    g.charge(byPerson(pod('first')), T);
    for (let i = 1; i < REMEMBERED; i++) g.charge(byPerson(pod(`p${i}`)), T);
    expect(reasonOf(g, byAlert(pod('first'), 'a1'), T + 1)).toBe('cooldown');
    g.charge(byPerson(pod(`p${REMEMBERED}`)), T);
    expect(reasonOf(g, byAlert(pod('first'), 'a1'), T + 1)).toBeUndefined();
    expect(reasonOf(g, byAlert(pod('p1'), 'a1'), T + 1)).toBe('cooldown');
  });

  it('remembers the last 10000 decided alerts: the oldest is forgotten at the 10001st', () => {
    const g = guard(wide());
    const first = byAlert(pod('first'), 'first');
    g.charge(first, T);
    // Each further alert on a target of its own, so the cooldowns age out alongside.
    for (let i = 1; i < REMEMBERED; i++) g.charge(byAlert(pod(`p${i}`), `a${i}`), T);
    expect(reasonOf(g, first, T + 1)).toBe('duplicate');
    g.charge(byAlert(pod(`p${REMEMBERED}`), `a${REMEMBERED}`), T);
    expect(reasonOf(g, first, T + 1)).toBeUndefined();
    expect(reasonOf(g, byAlert(pod('p1'), 'a1'), T + 1)).toBe('duplicate');
  });

  it('forgets a node bucket once nothing in it is within the window', () => {
    const g = guard(wide({ windowMs: 10 * MINUTE }));
    const recent = g['recent'];
    g.charge(byAlert(pod('p0', 'forged-node'), 'a0'), T);
    expect(recent.has('node:forged-node')).toBe(true);
    g.admitRequest(byAlert(pod('p1', 'forged-node'), 'a1'), T + 10 * MINUTE - 1);
    expect(recent.has('node:forged-node')).toBe(true);
    g.admitRequest(byAlert(pod('p1', 'forged-node'), 'a1'), T + 10 * MINUTE);
    expect(recent.has('node:forged-node')).toBe(false);
  });

  it('past 10000 buckets drops those with nothing left in the window before adding one', () => {
    const g = guard(wide({ windowMs: 10 * MINUTE }));
    const recent = g['recent'];
    // One bucket still in the window at the sweep, one exactly a window old, the rest older.
    g.charge(byAlert({ kind: 'node', node: 'fresh' }, 'f', 'cordon'), T + 1);
    g.charge(byAlert({ kind: 'node', node: 'edge' }, 'e', 'cordon'), T);
    for (let i = 2; i < REMEMBERED - 2; i++) g.charge(byAlert({ kind: 'node', node: `n${i}` }, `a${i}`, 'cordon'), T - MINUTE);
    // node buckets plus the kind bucket
    expect(recent.size).toBe(REMEMBERED - 1);
    g.charge(byAlert({ kind: 'node', node: 'one-more' }, 'm', 'cordon'), T + 10 * MINUTE);
    expect(recent.size).toBe(REMEMBERED);
    g.charge(byAlert({ kind: 'node', node: 'after' }, 'x', 'cordon'), T + 10 * MINUTE);
    expect([...recent.keys()].sort()).toEqual(['kind:node', 'node:after', 'node:fresh', 'node:one-more']);
  });
});

describe('guardrails: target keys and descriptions', () => {
  it('keys every part of a target, quoted, so no two targets share a cooldown', () => {
    expect(targetKey('quarantine', { kind: 'pod', namespace: 'shop', pod: 'a', node: 'w1' })).toBe('["quarantine","pod","shop","a","w1",null]');
    expect(targetKey('kill', { kind: 'process', pid: 42 })).toBe('["kill","process",null,null,null,42]');
    expect(targetKey('x', { kind: 'pod', namespace: 'a","b' })).not.toBe(targetKey('x', { kind: 'pod', namespace: 'a', pod: 'b' }));
  });

  it('describes each kind of target, with ? for what is unknown', () => {
    expect(describeTarget({ kind: 'pod', namespace: 'shop', pod: 'a' })).toBe('pod shop/a');
    expect(describeTarget({ kind: 'pod' })).toBe('pod ?/?');
    expect(describeTarget({ kind: 'node', node: 'w1' })).toBe('node w1');
    expect(describeTarget({ kind: 'node' })).toBe('node ?');
    expect(describeTarget({ kind: 'process', pid: 42, processName: 'sh', node: 'w1' })).toBe('process 42 (sh) on w1');
    expect(describeTarget({ kind: 'process' })).toBe('process ? (?) on ?');
    expect(describeTarget({ kind: 'external', namespace: 'shop', pod: 'a' })).toBe('pod shop/a');
    expect(describeTarget({ kind: 'external', pod: 'a' })).toBe('pod ?/a');
    expect(describeTarget({ kind: 'external', node: 'w1' })).toBe('node w1');
    expect(describeTarget({ kind: 'external' })).toBe('node ?');
  });
});
