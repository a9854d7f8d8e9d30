/** An audit record as a SIEM receives it: native JSON carries the decision, ECS files it as an event. */
import { describe, expect, it } from 'vitest';
import { ActionEngine } from '../../src/actions/action-engine.js';
import { defaultActionsOptions } from '../../src/actions/options.js';
import type { Alert } from '../../src/alerts/alert.js';
import { ecsDocument } from '../../src/alerts/formats/ecs.js';
import { nativeAlertObject } from '../../src/alerts/formats/native.js';
import { silentLogger } from '../../src/core/log.js';
import { shellAlert } from '../support/alerts.js';

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
});
