import { beforeAll, describe, expect, it } from 'vitest';
import { parseJsonExact } from '../../src/core/exact-json.js';
import { buildScenario } from '../../src/demo/scenario.js';
import { assertBuilt, lanner } from '../support/cli.js';

beforeAll(assertBuilt);

describe('lanner demo', () => {
  it('runs the service end to end over gRPC and prints JSON alerts when piped', async () => {
    const r = await lanner(['demo', '--fast', '--metrics-listen', '127.0.0.1:0']);
    expect(r.code, r.stderr).toBe(0);
    const scenario = buildScenario(0n);
    const falcoAlerts = scenario.filter((e) => !(e.json['tags'] as string[]).includes('lanner_feed'));
    const lines = r.stdout.trim().split('\n').map((l) => parseJsonExact(l) as Record<string, unknown>);
    // Audit records of response decisions go out beside the alerts; they are not alerts.
    const alerts = lines.filter((a) => a['action'] === undefined);
    const decisions = lines.filter((a) => a['action'] !== undefined).map((a) => a['action'] as Record<string, unknown>);
    // Every Falco alert of the scenario passes through once, in order.
    expect(alerts.filter((a) => a['origin'] === 'falco').map((a) => a['rule'])).toEqual(falcoAlerts.map((e) => e.json['rule']));
    // Lanner's shipped rules find each family of the attack exactly once from the feed events.
    const families = ['shell_spawn', 'setuid', 'container_escape', 'unexpected_egress', 'tmp_race', 'drift'];
    const ours = alerts.filter((a) => a['origin'] === 'lanner');
    for (const family of families) {
      expect(ours.filter((a) => (a['tags'] as string[]).includes(family)).map((a) => a['rule']), family).toHaveLength(1);
    }
    expect(ours).toHaveLength(families.length);
    expect(alerts.every((a) => a['hostname'] === 'worker-2')).toBe(true);
    expect(r.stderr).toContain(`summary: ${scenario.length} events in over gRPC`);
    expect(r.stderr).toContain('connected to Falco 0.43.0');
    // The critical container escape asks for a quarantine: in dry run it is decided, not sent.
    expect(decisions[0]).toMatchObject({
      name: 'quarantine',
      outcome: 'dry_run',
      dry_run: true,
      trigger: 'alert',
      target: { kind: 'pod', namespace: 'shop', pod: 'checkout-6d8f9c7b5-x2lqp', node: 'worker-2' },
      alert_rule: 'Container runtime socket reached from container',
    });
    // One incident, one quarantine: the next critical alert on the pod is held by the cooldown.
    expect(decisions.filter((d) => d['name'] === 'quarantine').map((d) => d['outcome'])).toEqual(['dry_run', 'refused']);
    expect(r.stderr).toContain('would quarantine pod shop/checkout-6d8f9c7b5-x2lqp');
  });
});
