/** An audit record as a SIEM receives it: native JSON carries the decision, ECS files it as an event. */
import { describe, expect, it } from 'vitest';
import { ActionEngine } from '../../src/actions/action-engine.js';
import { defaultActionsOptions } from '../../src/actions/options.js';
import type { Alert } from '../../src/alerts/alert.js';
import { ecsDocument } from '../../src/alerts/formats/ecs.js';
import { nativeAlertObject } from '../../src/alerts/formats/native.js';
import { silentLogger } from '../../src/core/log.js';
import { SECOND, shellAlert, T0 } from '../support/alerts.js';

async function auditOf(alert: Alert): Promise<Alert> {
  const records: Alert[] = [];
  const engine = new ActionEngine(defaultActionsOptions(), { logger: silentLogger(), kube: undefined, node: 'worker-1', cluster: 'prod-eu', sink: (a) => records.push(a), now: () => Date.parse('2026-11-21T09:15:00Z') });
  engine.handle(alert);
  await engine.close();
  return records[0]!;
}

describe('audit records', () => {
  it('say in native JSON what was decided, for which alert, on which pod', async () => {
    const a = shellAlert({ rule: 'Reverse shell', priority: 'Critical' });
    const alert: Alert = { ...a, workload: { ...a.workload, pod: 'checkout-7f9' }, node: 'worker-1', actions: ['quarantine'] };
    const native = nativeAlertObject(await auditOf(alert));
    expect(native).toMatchObject({
      rule: 'Lanner response action',
      priority: 'Informational',
      time: '2026-11-21T09:15:00.000000000Z',
      node: 'worker-1',
      cluster: 'prod-eu',
      tags: ['lanner_audit'],
      workload: { namespace: 'shop', pod: 'checkout-7f9' },
      action: {
        name: 'quarantine',
        outcome: 'dry_run',
        reason: null,
        trigger: 'alert',
        dry_run: true,
        target: { kind: 'pod', namespace: 'shop', pod: 'checkout-7f9', node: 'worker-1', pid: null },
        alert_id: alert.id,
        alert_rule: 'Reverse shell',
      },
      evidence: [],
    });
    expect(native['output']).toBe(
      `quarantine dry run: would quarantine pod shop/checkout-7f9 until 2026-11-22T09:15:00.000Z (pod not read: no Kubernetes API configured) (alert ${alert.id}: Reverse shell)`,
    );
  });

  it('are ECS events about a change, with the action and its outcome, not alerts', async () => {
    const a = shellAlert({ rule: 'Reverse shell', priority: 'Critical', namespace: 'kube-system' });
    const doc = ecsDocument(await auditOf({ ...a, workload: { ...a.workload, pod: 'coredns-1' }, node: 'worker-1', actions: ['quarantine'] }));
    expect(doc['event']).toMatchObject({ kind: 'event', category: ['configuration'], type: ['info'], action: 'quarantine', outcome: 'unknown', reason: 'namespace_protected' });
    expect((doc['lanner'] as Record<string, unknown>)['action']).toMatchObject({ outcome: 'refused', reason: 'namespace_protected' });
    expect(ecsDocument(shellAlert())['event']).toMatchObject({ kind: 'alert' });
  });

  describe('ids', () => {
    /** Every record and limit alert an engine sends for these alerts, in order. */
    async function recordsOf(alerts: readonly Alert[], now = Date.parse('2026-11-21T09:15:00Z')): Promise<Alert[]> {
      const records: Alert[] = [];
      const base = defaultActionsOptions();
      // One action per node and window: the third alert's decision is held by the limit and raises its alert.
      const engine = new ActionEngine(defaultActionsOptions({ limits: { ...base.limits, perNode: 2, cooldownMs: 0 } }), {
        logger: silentLogger(),
        kube: undefined,
        node: 'worker-1',
        sink: (a) => records.push(a),
        now: () => now,
      });
      for (const a of alerts) engine.handle(a);
      await engine.close();
      return records;
    }

    const attack = (i: number): Alert => {
      const a = shellAlert({ rule: 'Reverse shell', timeNs: T0 + BigInt(i) * SECOND, container: `c${i}` });
      return { ...a, workload: { ...a.workload, pod: `web-${i}` }, node: 'worker-1', actions: ['quarantine'] };
    };

    it('are the same when the same alerts are decided again (a replay), at another time', async () => {
      const alerts = [attack(1), attack(2), attack(3), attack(1)];
      const first = await recordsOf(alerts);
      expect(first.map((r) => [r.rule, r.action?.outcome, r.action?.reason])).toEqual([
        ['Lanner response action', 'dry_run', null],
        ['Lanner response action', 'dry_run', null],
        ['Lanner response action', 'refused', 'limit_node'],
        ['ActionLimitReached', undefined, undefined],
        ['Lanner response action', 'refused', 'duplicate'],
      ]);
      const again = await recordsOf(alerts, Date.parse('2026-11-22T10:00:00Z'));
      expect(again.filter((r) => r.action).map((r) => r.id)).toEqual(first.filter((r) => r.action).map((r) => r.id));
    });

    it('differ for every decision: another alert, another outcome on the same alert, a limit alert', async () => {
      const records = await recordsOf([attack(1), attack(2), attack(3), attack(1)]);
      expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    });

    it('of a person\'s decisions differ by when they were made', async () => {
      const decide = async (now: number): Promise<string> => {
        const engine = new ActionEngine(defaultActionsOptions(), { logger: silentLogger(), kube: undefined, node: 'worker-1', now: () => now });
        const d = await engine.perform({ action: 'quarantine', target: { kind: 'pod', namespace: 'shop', pod: 'web-1' }, trigger: 'manual', reason: 'ticket 42' }, true);
        await engine.close();
        return d.id;
      };
      const at = Date.parse('2026-11-21T09:15:00Z');
      expect(await decide(at)).toBe(await decide(at));
      expect(await decide(at + 1)).not.toBe(await decide(at));
    });
  });
});
