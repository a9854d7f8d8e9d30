/**
 * The action engine at its edges: which responders an alert asks for and in what order, the
 * decision queue at its size, what is charged to the guardrails, one limit alert per limit per
 * window, how API failures are named, and the TTL sweep at the exact end of a quarantine. The
 * Kubernetes API is an in-memory stand-in and the clock is the test's own.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ActionEngine } from '../../src/actions/action-engine.js';
import { AUDIT_RULE, LIMIT_RULE } from '../../src/actions/audit.js';
import { KubeApiError, QUARANTINE_LABEL, type EventSpec, type KubeApi, type NodeInfo, type PodInfo, type PodRef, type PolicyInfo } from '../../src/actions/kube-api.js';
import { defaultActionsOptions, type ActionsOptions } from '../../src/actions/options.js';
import { QUARANTINE_ANNOTATIONS } from '../../src/actions/quarantine.js';
import type { Alert } from '../../src/alerts/alert.js';
import { silentLogger, type Logger } from '../../src/core/log.js';
import { createMetrics, type LannerMetrics } from '../../src/metrics/metrics.js';
import { shellAlert } from '../support/alerts.js';

const MINUTE = 60_000;
const T = Date.parse('2026-11-21T09:15:00Z');

/** The Kubernetes API as a few maps; `failNext` makes the next call of a method throw. */
class MemoryKube implements KubeApi {
  readonly pods = new Map<string, PodInfo>();
  readonly events: EventSpec[] = [];
  readonly calls: string[] = [];
  private readonly failures = new Map<string, Error>();

  addPod(namespace: string, name: string, init: { node?: string | null; labels?: Record<string, string>; annotations?: Record<string, string> } = {}): void {
    this.pods.set(`${namespace}/${name}`, { namespace, name, uid: `uid-${name}`, nodeName: init.node === undefined ? 'worker-1' : init.node, labels: init.labels ?? {}, annotations: init.annotations ?? {} });
  }

  failNext(method: string, err: Error): void {
    this.failures.set(method, err);
  }

  private call(method: string): void {
    this.calls.push(method);
    const err = this.failures.get(method);
    if (err) {
      this.failures.delete(method);
      throw err;
    }
  }

  async readPod(ref: PodRef): Promise<PodInfo> {
    this.call('readPod');
    const pod = this.pods.get(`${ref.namespace}/${ref.name}`);
    if (!pod) throw new KubeApiError(404, 'NotFound', `pods "${ref.name}" not found`);
    return pod;
  }

  async listQuarantinedPods(nodeName?: string): Promise<PodInfo[]> {
    this.call('listQuarantinedPods');
    return [...this.pods.values()].filter((p) => p.labels[QUARANTINE_LABEL] === 'true' && (nodeName === undefined || p.nodeName === nodeName));
  }

  async patchPodMetadata(ref: PodRef, labels: Readonly<Record<string, string | null>>, annotations: Readonly<Record<string, string | null>>): Promise<void> {
    this.call('patchPodMetadata');
    const pod = await this.readPod(ref);
    const merge = (into: Readonly<Record<string, string>>, patch: Readonly<Record<string, string | null>>): Record<string, string> => {
      const out: Record<string, string> = { ...into };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete out[k];
        else out[k] = v;
      }
      return out;
    };
    this.pods.set(`${ref.namespace}/${ref.name}`, { ...pod, labels: merge(pod.labels, labels), annotations: merge(pod.annotations, annotations) });
  }

  async deletePod(): Promise<void> {
    this.call('deletePod');
  }

  async readNetworkPolicy(): Promise<PolicyInfo | null> {
    this.call('readNetworkPolicy');
    return null;
  }

  async createNetworkPolicy(): Promise<void> {
    this.call('createNetworkPolicy');
  }

  async patchNetworkPolicy(): Promise<void> {
    this.call('patchNetworkPolicy');
  }

  async createEvent(event: EventSpec): Promise<void> {
    this.call('createEvent');
    this.events.push(event);
  }

  async readNode(name: string): Promise<NodeInfo> {
    this.call('readNode');
    return { name, uid: `uid-${name}`, labels: {}, unschedulable: false };
  }

  async countUnschedulableNodes(): Promise<number> {
    this.call('countUnschedulableNodes');
    return 0;
  }

  async setNodeUnschedulable(): Promise<void> {
    this.call('setNodeUnschedulable');
  }
}

interface Harness {
  readonly engine: ActionEngine;
  readonly kube: MemoryKube;
  /** Audit records and limit alerts, in the order they were sent. */
  readonly sent: Alert[];
  readonly clock: { now: number };
  readonly metrics: LannerMetrics;
}

interface HarnessInit {
  readonly options?: Partial<ActionsOptions>;
  readonly kube?: MemoryKube | null;
  readonly node?: string;
  readonly logger?: Logger;
}

function harness(init: HarnessInit = {}): Harness {
  const kube = init.kube === undefined ? new MemoryKube() : init.kube;
  const sent: Alert[] = [];
  const clock = { now: T };
  const metrics = createMetrics({ processMetrics: false });
  const engine = new ActionEngine(defaultActionsOptions({ dryRun: false, ...init.options }), {
    logger: init.logger ?? silentLogger(),
    metrics,
    kube: kube ?? undefined,
    node: init.node ?? 'worker-1',
    sink: (a) => sent.push(a),
    now: () => clock.now,
  });
  return { engine, kube: kube ?? new MemoryKube(), sent, clock, metrics };
}

function limits(overrides: Partial<ActionsOptions['limits']>): Partial<ActionsOptions> {
  const base = defaultActionsOptions().limits;
  return { limits: { ...base, ...overrides } };
}

/** An alert on one pod of worker-1, asking for `actions`; `id` tells alerts apart. */
function attack(pod = 'checkout-7f9', actions: readonly string[] = ['quarantine'], id = `alert-${pod}`, more: Partial<Alert> = {}): Alert {
  const a = shellAlert({ rule: 'Reverse shell', priority: 'Critical' });
  return { ...a, id, workload: { ...a.workload, namespace: 'shop', pod }, node: 'worker-1', actions, ...more };
}

function audits(h: Harness): Alert[] {
  return h.sent.filter((a) => a.rule === AUDIT_RULE);
}

function decisions(h: Harness): [string, string, string | null][] {
  return audits(h).map((a) => [a.action!.name, a.action!.outcome, a.action!.reason]);
}

function limitAlerts(h: Harness): Alert[] {
  return h.sent.filter((a) => a.rule === LIMIT_RULE);
}

async function latencyCount(metrics: LannerMetrics, action: string): Promise<number> {
  const v = (await metrics.actionLatencySeconds.get()).values.find((x) => x.metricName === 'lanner_action_latency_seconds_count' && x.labels['action'] === action);
  return v?.value ?? -1;
}

const temporary: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('action engine: what an alert asks for', () => {
  it('expands profiles and rule mappings, once each, in the registry order, unknown names first', () => {
    const h = harness({ options: { profiles: { contain: ['quarantine', 'delete'] }, rules: { 'Reverse shell': ['contain', 'event'] } } });
    expect(h.engine.actionsFor(attack('p', ['event', 'quarantine', 'nosuch']))).toEqual(['nosuch', 'quarantine', 'event', 'delete']);
    expect(h.engine.actionsFor({ ...attack('p', []), rule: 'Another rule' })).toEqual([]);
    expect(h.engine.actionsFor({ ...attack('p', ['event']), rule: 'Another rule' })).toEqual(['event']);
  });

  it('reads rule and profile names as data: Object.prototype answers nothing', () => {
    const h = harness();
    expect(h.engine.actionsFor({ ...attack('p', []), rule: 'constructor' })).toEqual([]);
    expect(h.engine.actionsFor({ ...attack('p', ['toString']), rule: '__proto__' })).toEqual(['toString']);
  });

  it('passes over summaries, limit alerts, audit records and alerts that ask for nothing', async () => {
    const h = harness();
    const a = attack();
    h.engine.handle({ ...a, summary_of: 'x' });
    h.engine.handle({ ...a, held_back: { rule: 'r', count: 2, scope: 'rule', limit: 1, window_ms: 1000, from: 0n, to: 0n } });
    h.engine.handle({ ...a, action: { name: 'quarantine', outcome: 'executed', reason: null, trigger: 'alert', dry_run: false, target: { kind: 'pod', namespace: 'shop', pod: 'p', node: null, pid: null }, alert_id: null, alert_rule: null } });
    h.engine.handle(attack('checkout-7f9', []));
    await h.engine.idle();
    expect(h.sent).toEqual([]);
    expect(h.kube.calls).toEqual([]);
  });

  it('names the responder that is off and the name that is nothing at all', async () => {
    const h = harness();
    h.engine.handle(attack('checkout-7f9', ['cordon', 'nosuch']));
    await h.engine.idle();
    expect(audits(h).map((a) => [a.action!.reason, a.output.split(' (alert')[0]])).toEqual([
      ['unknown_action', 'nosuch refused [unknown_action]: no responder or profile is named nosuch'],
      ['disabled', 'cordon refused [disabled]: the cordon responder is off (actions.cordon.enabled)'],
    ]);
  });
});

describe('action engine: targets', () => {
  it('aims at the pod of the alert, on the node the alert names, else its hostname, else its own', async () => {
    const h = harness({ options: { dryRun: true }, kube: null, node: 'own-node' });
    const a = attack('checkout-7f9', ['quarantine']);
    h.engine.handle({ ...a, id: 'n1' });
    h.engine.handle({ ...a, id: 'n2', node: undefined, hostname: 'falco-host' });
    h.engine.handle({ ...a, id: 'n3', node: undefined, hostname: '' });
    await h.engine.idle();
    expect(audits(h).map((r) => r.action!.target)).toEqual([
      { kind: 'pod', namespace: 'shop', pod: 'checkout-7f9', node: 'worker-1', pid: null },
      { kind: 'pod', namespace: 'shop', pod: 'checkout-7f9', node: 'falco-host', pid: null },
      { kind: 'pod', namespace: 'shop', pod: 'checkout-7f9', node: 'own-node', pid: null },
    ]);
  });

  it('refuses a pod action when the alert names no pod or no namespace, and a node action with no node', async () => {
    const h = harness({ options: { cordon: { enabled: true } }, node: '' });
    const a = attack();
    h.engine.handle({ ...a, id: 'no-pod', workload: { ...a.workload, pod: null } });
    h.engine.handle({ ...a, id: 'no-ns', workload: { ...a.workload, namespace: null } });
    h.engine.handle({ ...a, id: 'no-node', actions: ['cordon'], node: undefined, hostname: '' });
    await h.engine.idle();
    expect(decisions(h)).toEqual([
      ['quarantine', 'refused', 'no_target'],
      ['quarantine', 'refused', 'no_target'],
      ['cordon', 'refused', 'no_target'],
    ]);
    expect(audits(h).map((r) => r.output.split(' (alert')[0])).toEqual([
      'quarantine refused [no_target]: the alert names no pod to act on',
      'quarantine refused [no_target]: the alert names no pod to act on',
      'cordon refused [no_target]: the alert names no node to act on',
    ]);
    expect(h.kube.calls).toEqual([]);
  });

  it('judges a half-named pod target from a person as naming no pod', async () => {
    const h = harness();
    const onlyNs = await h.engine.perform({ action: 'quarantine', target: { kind: 'pod', namespace: 'shop' }, trigger: 'manual' }, false);
    const onlyPod = await h.engine.perform({ action: 'quarantine', target: { kind: 'pod', pod: 'checkout-7f9' }, trigger: 'manual' }, false);
    expect([onlyNs.record.reason, onlyPod.record.reason]).toEqual(['no_target', 'no_target']);
  });

  it("aims a process action at the alert's pid and name, and leaves out what the alert does not know", async () => {
    const proc = mkdtempSync(join(tmpdir(), 'lanner-proc-'));
    temporary.push(proc);
    mkdirSync(join(proc, '4242'));
    writeFileSync(join(proc, '4242', 'comm'), 'nc\n');
    const h = harness({ options: { dryRun: true, kill: { enabled: true, signal: 'SIGKILL', procRoot: proc } } });
    const a = attack('checkout-7f9', ['kill'], 'k1');
    h.engine.handle({ ...a, process: { ...a.process, pid: 4242, name: 'nc' } });
    h.engine.handle({ ...a, id: 'k2', process: { ...a.process, pid: null, name: 'nc' } });
    h.engine.handle({ ...a, id: 'k3', process: { ...a.process, pid: 4243, name: null } });
    await h.engine.idle();
    expect(audits(h).map((r) => [r.action!.target, r.action!.outcome, r.output.split(' (alert')[0]])).toEqual([
      [{ kind: 'process', namespace: 'shop', pod: 'checkout-7f9', node: 'worker-1', pid: 4242 }, 'dry_run', 'kill dry run: would send SIGKILL to process 4242 (nc)'],
      [{ kind: 'process', namespace: 'shop', pod: 'checkout-7f9', node: 'worker-1', pid: null }, 'refused', 'kill refused [no_target]: the alert names no process id and name to signal'],
      [{ kind: 'process', namespace: 'shop', pod: 'checkout-7f9', node: 'worker-1', pid: 4243 }, 'refused', 'kill refused [no_target]: the alert names no process id and name to signal'],
    ]);
  });

  it('aims an outside action at the pod and node of the alert, or the node alone', async () => {
    const h = harness({ options: { dryRun: true, webhook: { ...defaultActionsOptions().webhook, enabled: true, url: 'https://soar.example.com/hook' } } });
    const a = attack('checkout-7f9', ['webhook'], 'w1');
    h.engine.handle(a);
    h.engine.handle({ ...a, id: 'w2', workload: { ...a.workload, pod: null } });
    await h.engine.idle();
    expect(audits(h).map((r) => [r.action!.target, r.action!.outcome])).toEqual([
      [{ kind: 'external', namespace: 'shop', pod: 'checkout-7f9', node: 'worker-1', pid: null }, 'dry_run'],
      [{ kind: 'external', namespace: null, pod: null, node: 'worker-1', pid: null }, 'dry_run'],
    ]);
    await h.engine.close();
  });
});

describe('action engine: the decision queue', () => {
  it('takes exactly queue_size alerts while decisions wait, refuses and audits the next, then takes more once idle', async () => {
    const h = harness({ options: { queueSize: 2 } });
    h.kube.addPod('shop', 'a');
    h.kube.addPod('shop', 'b');
    h.kube.addPod('shop', 'c');
    h.kube.addPod('shop', 'd');
    h.engine.handle(attack('a'));
    h.engine.handle(attack('b'));
    h.engine.handle(attack('c', ['quarantine', 'event']));
    // The refusals are on record at once, before anything queued was decided.
    expect(decisions(h)).toEqual([
      ['quarantine', 'refused', 'queue_full'],
      ['event', 'refused', 'queue_full'],
    ]);
    expect(audits(h)[0]!.output).toContain('2 decisions are waiting; this one is dropped');
    await h.engine.idle();
    h.engine.handle(attack('d'));
    await h.engine.idle();
    expect(decisions(h).slice(2)).toEqual([
      ['quarantine', 'executed', null],
      ['quarantine', 'executed', null],
      ['quarantine', 'executed', null],
    ]);
    expect(audits(h).slice(2).map((r) => r.action!.target.pod)).toEqual(['a', 'b', 'd']);
  });

  it('goes on deciding after a decision that threw', async () => {
    const h = harness();
    h.kube.addPod('shop', 'a');
    let broken = true;
    h.engine.sendRecordsTo((record) => {
      if (broken) {
        broken = false;
        throw new Error('output down');
      }
      h.sent.push(record);
    });
    await expect(h.engine.perform({ action: 'event', target: { kind: 'pod', namespace: 'shop', pod: 'a' }, trigger: 'manual' }, false)).rejects.toThrow('output down');
    const next = await h.engine.perform({ action: 'event', target: { kind: 'pod', namespace: 'shop', pod: 'a' }, trigger: 'manual' }, false);
    expect(next.record.outcome).toBe('executed');
    expect(h.sent).toHaveLength(1);
  });

  it('sends records to the sink given later, and says whether it is in dry run', async () => {
    const h = harness({ options: { dryRun: true }, kube: null });
    const later: Alert[] = [];
    h.engine.sendRecordsTo((a) => later.push(a));
    h.engine.handle(attack());
    await h.engine.idle();
    expect(h.sent).toEqual([]);
    expect(later.map((a) => a.action!.outcome)).toEqual(['dry_run']);
    expect(h.engine.dryRun).toBe(true);
    expect(harness().engine.dryRun).toBe(false);
  });

  it('lets a person choose dry run either way, whatever the automation does', async () => {
    const h = harness({ options: { dryRun: true } });
    h.kube.addPod('shop', 'a');
    const real = await h.engine.perform({ action: 'quarantine', target: { kind: 'pod', namespace: 'shop', pod: 'a', node: 'worker-1' }, trigger: 'manual' }, false);
    expect(real.record).toMatchObject({ outcome: 'executed', dry_run: false });
    expect(h.kube.pods.get('shop/a')!.labels[QUARANTINE_LABEL]).toBe('true');
  });
});

describe('action engine: guardrail charges and limit alerts', () => {
  it('charges only what was not refused: a refused action leaves the limits untouched', async () => {
    const h = harness({ options: { ...limits({ perKind: { pod: 1, node: 1, process: 1, external: 1 } }), namespaces: { allow: [], deny: ['payments'] } } });
    h.kube.addPod('shop', 'a');
    h.engine.handle({ ...attack('x'), workload: { ...attack('x').workload, namespace: 'payments' } });
    h.engine.handle(attack('a'));
    h.engine.handle(attack('missing'));
    await h.engine.idle();
    expect(decisions(h)).toEqual([
      ['quarantine', 'refused', 'namespace_denied'],
      ['quarantine', 'executed', null],
      ['quarantine', 'refused', 'limit_kind'],
    ]);
  });

  it('charges a failed action: the API was asked, so it counts against the limits', async () => {
    const h = harness({ options: limits({ perKind: { pod: 1, node: 1, process: 1, external: 1 } }) });
    h.kube.addPod('shop', 'b');
    h.engine.handle(attack('missing'));
    h.engine.handle(attack('b'));
    await h.engine.idle();
    expect(decisions(h)).toEqual([
      ['quarantine', 'failed', 'not_found'],
      ['quarantine', 'refused', 'limit_kind'],
    ]);
  });

  it('raises one limit alert per limit per window, and another once the window has passed', async () => {
    const h = harness({ options: limits({ maxQuarantinedPods: 1, windowMs: 10 * MINUTE }) });
    h.kube.addPod('shop', 'old', { labels: { [QUARANTINE_LABEL]: 'true' } });
    for (const p of ['a', 'b', 'c', 'd']) h.kube.addPod('shop', p);
    h.engine.handle(attack('a'));
    h.engine.handle(attack('b'));
    await h.engine.idle();
    h.clock.now = T + 10 * MINUTE - 1;
    h.engine.handle(attack('c'));
    await h.engine.idle();
    expect(limitAlerts(h)).toHaveLength(1);
    h.clock.now = T + 10 * MINUTE;
    h.engine.handle(attack('d'));
    await h.engine.idle();
    expect(decisions(h).map(([, , reason]) => reason)).toEqual(['limit_cluster', 'limit_cluster', 'limit_cluster', 'limit_cluster']);
    const raised = limitAlerts(h);
    expect(raised.map((a) => [a.timeNs, a.priority])).toEqual([
      [BigInt(T) * 1_000_000n, 'Error'],
      [BigInt(T + 10 * MINUTE) * 1_000_000n, 'Error'],
    ]);
    expect(raised[0]!.output).toContain('1 pods are quarantined cluster-wide: the limit is 1');
  });

  it('keeps a limit alert per node for the per-node limit, and one per kind for the per-kind limit', async () => {
    const byNode = harness({ options: limits({ perNode: 0 }) });
    byNode.engine.handle(attack('a', ['quarantine'], 'a1', { node: 'worker-1' }));
    byNode.engine.handle(attack('b', ['quarantine'], 'a2', { node: 'worker-2' }));
    byNode.engine.handle(attack('c', ['quarantine'], 'a3', { node: 'worker-2' }));
    await byNode.engine.idle();
    expect(decisions(byNode).map(([, , r]) => r)).toEqual(['limit_node', 'limit_node', 'limit_node']);
    expect(limitAlerts(byNode).map((a) => a.output.match(/on node (\S+)/)?.[1])).toEqual(['worker-1', 'worker-2']);

    const byKind = harness({ options: limits({ perKind: { pod: 0, node: 1, process: 1, external: 1 } }) });
    byKind.engine.handle(attack('a', ['quarantine'], 'a1', { node: 'worker-1' }));
    byKind.engine.handle(attack('b', ['quarantine'], 'a2', { node: 'worker-2' }));
    byKind.engine.handle(attack('c', ['event'], 'a3', { node: 'worker-3' }));
    await byKind.engine.idle();
    expect(decisions(byKind).map(([, , r]) => r)).toEqual(['limit_kind', 'limit_kind', 'limit_kind']);
    expect(limitAlerts(byKind)).toHaveLength(1);
  });

  it('raises no limit alert for refusals that are not limits', async () => {
    const h = harness();
    h.kube.addPod('shop', 'a');
    h.engine.handle(attack('a', ['quarantine'], 'first'));
    h.engine.handle(attack('a', ['quarantine'], 'second'));
    h.engine.handle(attack('x', ['quarantine', 'cordon', 'nosuch'], 'third', { workload: { ...attack().workload, namespace: 'kube-system' } }));
    await h.engine.idle();
    expect(decisions(h).map(([, , r]) => r)).toEqual([null, 'cooldown', 'unknown_action', 'namespace_protected', 'disabled']);
    expect(limitAlerts(h)).toEqual([]);
  });
});

describe('action engine: latency', () => {
  it('observes the alert-to-action latency for automatic actions that were not refused, from zero', async () => {
    const h = harness({ options: { ...limits({ perKind: { pod: 1, node: 1, process: 1, external: 1 } }) } });
    h.kube.addPod('shop', 'a');
    expect(await latencyCount(h.metrics, 'quarantine')).toBe(0);
    expect(await latencyCount(h.metrics, 'event')).toBe(0);
    expect(await latencyCount(h.metrics, 'release')).toBe(0);
    // Off by default: no series.
    expect(await latencyCount(h.metrics, 'cordon')).toBe(-1);
    h.engine.handle(attack('a'));
    h.engine.handle(attack('b'));
    await h.engine.idle();
    // A person's action has no alert to measure from.
    await h.engine.release({ namespace: 'shop', name: 'a' }, 'manual');
    expect(decisions(h).map(([, o]) => o)).toEqual(['executed', 'refused', 'executed']);
    expect(await latencyCount(h.metrics, 'quarantine')).toBe(1);
    expect(await latencyCount(h.metrics, 'release')).toBe(0);
  });
});

describe('action engine: API failures', () => {
  const cases: [number, string, string][] = [
    [404, 'not_found', 'quarantine on pod shop/a failed: the Kubernetes API answered 404 NotFound: no such pod'],
    [403, 'forbidden', 'quarantine on pod shop/a failed: the Kubernetes API answered 403 Forbidden: no such pod (check the ClusterRole in deploy/kubernetes/rbac.yaml)'],
    [409, 'conflict', 'quarantine on pod shop/a failed: the Kubernetes API answered 409 Conflict: no such pod'],
    [0, 'unreachable', 'quarantine on pod shop/a failed: the Kubernetes API answered nothing Unreachable: no such pod'],
    [500, 'api_error', 'quarantine on pod shop/a failed: the Kubernetes API answered 500 InternalError: no such pod'],
  ];
  for (const [status, reason, message] of cases) {
    it(`names an API answer of ${status} ${reason}`, async () => {
      const h = harness();
      const name = { 404: 'NotFound', 403: 'Forbidden', 409: 'Conflict', 0: 'Unreachable', 500: 'InternalError' }[status]!;
      h.kube.failNext('readPod', new KubeApiError(status, name, 'no such pod'));
      const d = await h.engine.perform({ action: 'quarantine', target: { kind: 'pod', namespace: 'shop', pod: 'a' }, trigger: 'manual' }, false);
      expect(d.verdict).toEqual({ outcome: 'failed', reason, message });
    });
  }

  it('names any other error an api_error with its message', async () => {
    const h = harness();
    h.kube.failNext('readPod', new Error('socket hang up'));
    const d = await h.engine.perform({ action: 'quarantine', target: { kind: 'pod', namespace: 'shop', pod: 'a' }, trigger: 'manual' }, false);
    expect(d.verdict).toEqual({ outcome: 'failed', reason: 'api_error', message: 'quarantine on pod shop/a failed: socket hang up' });
  });
});

describe('action engine: quarantine list, release and the TTL sweep', () => {
  function quarantined(until: string | undefined, more: Record<string, string> = {}): { labels: Record<string, string>; annotations: Record<string, string> } {
    return { labels: { [QUARANTINE_LABEL]: 'true' }, annotations: { ...(until === undefined ? {} : { [QUARANTINE_ANNOTATIONS.until]: until }), ...more } };
  }

  it('lists quarantines with every annotation, expired exactly when the end date is reached', async () => {
    const h = harness();
    const now = new Date(T).toISOString();
    const a = QUARANTINE_ANNOTATIONS;
    h.kube.addPod('shop', 'at-end', quarantined(now, { [a.at]: '2026-11-20T09:15:00.000Z', [a.by]: 'lanner on worker-1', [a.rule]: 'Reverse shell', [a.alert]: 'a1', [a.reason]: 'shell' }));
    h.kube.addPod('shop', 'one-ms-left', quarantined(new Date(T + 1).toISOString()));
    h.kube.addPod('shop', 'no-end', quarantined(undefined));
    h.kube.addPod('shop', 'bad-end', quarantined('soon'));
    h.kube.addPod('shop', 'elsewhere', { node: 'worker-2', ...quarantined(now) });
    const entries = await h.engine.list();
    expect(entries[0]).toEqual({
      namespace: 'shop',
      pod: 'at-end',
      node: 'worker-1',
      since: '2026-11-20T09:15:00.000Z',
      until: now,
      by: 'lanner on worker-1',
      rule: 'Reverse shell',
      alert: 'a1',
      reason: 'shell',
      expired: true,
    });
    expect(entries.map((e) => [e.pod, e.expired])).toEqual([
      ['at-end', true],
      ['one-ms-left', false],
      ['no-end', false],
      ['bad-end', false],
      ['elsewhere', true],
    ]);
    expect(entries[2]).toMatchObject({ since: null, until: null, by: null, rule: null, alert: null, reason: null });
    expect((await h.engine.list('worker-2')).map((e) => e.pod)).toEqual(['elsewhere']);
  });

  it('refuses to list without a Kubernetes API', async () => {
    const h = harness({ kube: null });
    await expect(h.engine.list()).rejects.toMatchObject({ name: 'KubeApiError', status: 0, reason: 'NoKubernetesApi' });
  });

  it("sweeps this node's quarantines whose end is reached, by TTL, and gauges those left", async () => {
    const h = harness();
    h.kube.addPod('shop', 'ended', quarantined(new Date(T).toISOString()));
    h.kube.addPod('shop', 'running', quarantined(new Date(T + 1).toISOString()));
    h.kube.addPod('shop', 'other-node', { node: 'worker-2', ...quarantined(new Date(T - MINUTE).toISOString()) });
    const released = await h.engine.sweep();
    expect(released.map((d) => [d.record.name, d.record.trigger, d.record.target.pod, d.record.outcome])).toEqual([['release', 'ttl', 'ended', 'executed']]);
    expect(h.kube.pods.get('shop/ended')!.labels).toEqual({});
    expect(h.kube.pods.get('shop/other-node')!.labels[QUARANTINE_LABEL]).toBe('true');
    expect((await h.metrics.quarantinedPods.get()).values[0]!.value).toBe(1);
  });

  it('sweeps nothing without an API, and logs and moves on when the list fails', async () => {
    expect(await harness({ kube: null }).engine.sweep()).toEqual([]);
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const h = harness({ logger });
    h.kube.addPod('shop', 'ended', quarantined(new Date(T).toISOString()));
    h.kube.failNext('listQuarantinedPods', new KubeApiError(0, 'Unreachable', 'connect ECONNREFUSED'));
    expect(await h.engine.sweep()).toEqual([]);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([{ err: 'connect ECONNREFUSED', msg: 'cannot list quarantined pods for the TTL sweep' }]);
    expect(h.kube.calls).toEqual(['listQuarantinedPods']);
  });

  it('releases even with the quarantine responder off, with the reason a person gave', async () => {
    const h = harness({ options: { quarantine: { ...defaultActionsOptions().quarantine, enabled: false } } });
    h.kube.addPod('shop', 'a', quarantined(new Date(T + MINUTE).toISOString()));
    const d = await h.engine.release({ namespace: 'shop', name: 'a' }, 'manual', 'false positive');
    expect(d.record).toMatchObject({ name: 'release', outcome: 'executed', trigger: 'manual' });
    expect(d.request.reason).toBe('false positive');
    expect(audits(h)[0]!.output).toContain('(reason: false positive)');
    const bare = await h.engine.release({ namespace: 'shop', name: 'a' }, 'manual');
    expect('reason' in bare.request).toBe(false);
  });

  it('sweeps at start and then every sweep interval until closed; without an API it never starts', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const none = harness({ kube: null });
    none.engine.start();
    expect(vi.getTimerCount()).toBe(0);

    const h = harness();
    const every = defaultActionsOptions().quarantine.sweepIntervalMs;
    h.engine.start();
    h.engine.start();
    expect(vi.getTimerCount()).toBe(1);
    expect(h.kube.calls).toEqual(['listQuarantinedPods']);
    await vi.advanceTimersByTimeAsync(every - 1);
    expect(h.kube.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.kube.calls).toHaveLength(2);
    await h.engine.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(every * 3);
    expect(h.kube.calls).toHaveLength(2);
    // Started again after closing: a new timer.
    h.engine.start();
    expect(vi.getTimerCount()).toBe(1);
    await h.engine.close();
  });

  it('is idle only when decisions queued while waiting are made too', async () => {
    const h = harness();
    for (const p of ['a', 'b']) h.kube.addPod('shop', p);
    h.engine.handle(attack('a'));
    const waiting = h.engine.idle();
    h.engine.handle(attack('b', ['quarantine'], 'late', { timeNs: attack().timeNs + 1n }));
    await waiting;
    expect(decisions(h)).toEqual([
      ['quarantine', 'executed', null],
      ['quarantine', 'executed', null],
    ]);
  });
});
