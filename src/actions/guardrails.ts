/**
 * Every check that stands between an alert and a change to the cluster, in one place. The
 * engine asks `admitRequest` before a responder runs and `charge`s what ran; responders ask
 * `admitPod` / `admitNode` / the cluster-wide counts once they have read their target, since
 * a protect label or a cap can only be judged from what the API says.
 */
import { PROTECT_LABEL, type NodeInfo, type PodInfo } from './kube-api.js';
import type { EngineOptions } from './options.js';
import { refused, type ActionRequest, type ActionTarget, type Guard, type Verdict } from './request.js';

/** Namespaces no configuration can open to actions. */
export const ALWAYS_PROTECTED_NAMESPACES: readonly string[] = ['kube-system'];

/** Labels that mark a node as part of the control plane, which Lanner never cordons. */
const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

const MAX_REMEMBERED = 10_000;

export class Guardrails implements Guard {
  private readonly protectedNamespaces: ReadonlySet<string>;
  /** Times (ms) of recent actions, per limit bucket ("node:<name>", "kind:<kind>"). */
  private readonly recent = new Map<string, number[]>();
  /** Last action time per action and target, for the cooldown. */
  private readonly lastByTarget = new Map<string, number>();
  /** Alert id, action and target of everything done, so a repeated alert stacks nothing. */
  private readonly done = new Set<string>();

  constructor(private readonly options: EngineOptions) {
    this.protectedNamespaces = new Set([...ALWAYS_PROTECTED_NAMESPACES, options.ownNamespace]);
  }

  /** The namespace rules alone, for any target that has a namespace. */
  admitNamespace(namespace: string): Verdict | undefined {
    if (this.protectedNamespaces.has(namespace)) {
      return refused('namespace_protected', `namespace ${namespace} is never acted on (kube-system and Lanner's own namespace are protected)`);
    }
    if (this.options.namespaces.deny.includes(namespace)) return refused('namespace_denied', `namespace ${namespace} is on actions.namespaces.deny`);
    const allow = this.options.namespaces.allow;
    if (allow.length > 0 && !allow.includes(namespace)) return refused('namespace_not_allowed', `namespace ${namespace} is not on actions.namespaces.allow`);
    return undefined;
  }

  /** Checks a request before its responder runs: namespace, repeats, cooldown, rate limits. */
  admitRequest(request: ActionRequest, now: number): Verdict | undefined {
    const t = request.target;
    if (t.namespace !== undefined) {
      const ns = this.admitNamespace(t.namespace);
      if (ns) return ns;
    }
    if (request.trigger === 'alert' && request.alert && this.done.has(doneKey(request))) {
      return refused('duplicate', `already decided for alert ${request.alert.id}`);
    }
    // A person renewing or repeating a quarantine is not held by the automation's cooldown.
    if (request.trigger === 'alert') {
      const last = this.lastByTarget.get(targetKey(request.action, t));
      const { cooldownMs } = this.options.limits;
      if (last !== undefined && now - last < cooldownMs) {
        return refused('cooldown', `${request.action} on ${describeTarget(t)} ran ${Math.round((now - last) / 1000)}s ago; the cooldown is ${Math.round(cooldownMs / 1000)}s`);
      }
    }
    // Ending a quarantine only ever loosens things: no limit holds it back.
    if (request.trigger === 'ttl' || request.action === 'release') return undefined;
    const { windowMs, perNode, perKind } = this.options.limits;
    if (t.node !== undefined) {
      const n = this.countRecent(`node:${t.node}`, now);
      if (n >= perNode) return refused('limit_node', `${n} actions on node ${t.node} within ${Math.round(windowMs / 1000)}s: the limit is ${perNode}`);
    }
    const kindLimit = perKind[t.kind];
    const k = this.countRecent(`kind:${t.kind}`, now);
    if (k >= kindLimit) return refused('limit_kind', `${k} actions on ${t.kind} targets within ${Math.round(windowMs / 1000)}s: the limit is ${kindLimit}`);
    return undefined;
  }

  /** Records an action that ran (or would have, in dry run) against the limits and cooldowns. */
  charge(request: ActionRequest, now: number): void {
    const t = request.target;
    if (request.trigger !== 'ttl' && request.action !== 'release') {
      if (t.node !== undefined) this.push(`node:${t.node}`, now);
      this.push(`kind:${t.kind}`, now);
    }
    this.lastByTarget.set(targetKey(request.action, t), now);
    if (request.alert) {
      this.done.add(doneKey(request));
      if (this.done.size > MAX_REMEMBERED) this.done.delete(this.done.values().next().value!);
    }
    if (this.lastByTarget.size > MAX_REMEMBERED) this.lastByTarget.delete(this.lastByTarget.keys().next().value!);
  }

  admitPod(pod: PodInfo, request: ActionRequest, node: string): Verdict | undefined {
    const ns = this.admitNamespace(pod.namespace);
    if (ns) return ns;
    if (pod.labels[PROTECT_LABEL] === 'true') return refused('pod_protected', `pod ${pod.namespace}/${pod.name} is labelled ${PROTECT_LABEL}=true`);
    // An alert can only speak for the node its Falco watches: a forged or misrouted event must
    // not reach a pod elsewhere in the cluster. People may act anywhere.
    if (request.trigger === 'alert' && pod.nodeName !== null && pod.nodeName !== node) {
      return refused('pod_elsewhere', `pod ${pod.namespace}/${pod.name} runs on node ${pod.nodeName}, not on ${node} where this Lanner and its Falco are`);
    }
    return undefined;
  }

  admitNode(node: NodeInfo): Verdict | undefined {
    if (node.labels[PROTECT_LABEL] === 'true') return refused('node_protected', `node ${node.name} is labelled ${PROTECT_LABEL}=true`);
    const cp = CONTROL_PLANE_LABELS.find((l) => node.labels[l] !== undefined);
    if (cp) return refused('node_protected', `node ${node.name} is a control-plane node (${cp})`);
    return undefined;
  }

  admitQuarantineCount(quarantinedNow: number): Verdict | undefined {
    const max = this.options.limits.maxQuarantinedPods;
    if (quarantinedNow >= max) return refused('limit_cluster', `${quarantinedNow} pods are quarantined cluster-wide: the limit is ${max}`);
    return undefined;
  }

  admitCordonCount(cordonedNow: number): Verdict | undefined {
    const max = this.options.limits.maxCordonedNodes;
    if (cordonedNow >= max) return refused('limit_cluster', `${cordonedNow} nodes are unschedulable cluster-wide: the limit is ${max}`);
    return undefined;
  }

  private countRecent(bucket: string, now: number): number {
    const times = this.recent.get(bucket);
    if (!times) return 0;
    const from = now - this.options.limits.windowMs;
    while (times.length > 0 && times[0]! <= from) times.shift();
    // Node names come from events: a bucket with nothing left in the window is forgotten, so
    // made-up names cannot pile up buckets.
    if (times.length === 0) this.recent.delete(bucket);
    return times.length;
  }

  private push(bucket: string, now: number): void {
    let times = this.recent.get(bucket);
    if (!times) {
      if (this.recent.size >= MAX_REMEMBERED) this.forgetStale(now);
      times = [];
      this.recent.set(bucket, times);
    }
    times.push(now);
  }

  /** Drops the buckets with nothing in the window: the limits keep the rest few. */
  private forgetStale(now: number): void {
    const from = now - this.options.limits.windowMs;
    for (const [bucket, times] of this.recent) if (times.length === 0 || times[times.length - 1]! <= from) this.recent.delete(bucket);
  }
}

/**
 * One string per action and target. The parts come from event data (a pod or node name in a
 * forged event may hold any character), so they are quoted rather than joined with a
 * separator: two different targets never share a cooldown or a record id.
 */
export function targetKey(action: string, t: ActionTarget): string {
  return JSON.stringify([action, t.kind, t.namespace ?? null, t.pod ?? null, t.node ?? null, t.pid ?? null]);
}

function doneKey(request: ActionRequest): string {
  return JSON.stringify([request.alert?.id ?? null, targetKey(request.action, request.target)]);
}

export function describeTarget(t: ActionTarget): string {
  switch (t.kind) {
    case 'pod':
      return `pod ${t.namespace ?? '?'}/${t.pod ?? '?'}`;
    case 'node':
      return `node ${t.node ?? '?'}`;
    case 'process':
      return `process ${t.pid ?? '?'} (${t.processName ?? '?'}) on ${t.node ?? '?'}`;
    case 'external':
      return t.pod ? `pod ${t.namespace ?? '?'}/${t.pod}` : `node ${t.node ?? '?'}`;
  }
}

