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
    const alerts = r.stdout.trim().split('\n').map((l) => parseJsonExact(l) as Record<string, unknown>);
    // Every Falco alert of the scenario arrives once, in order; feed events never become alerts by themselves.
    expect(alerts.map((a) => a['rule'])).toEqual(falcoAlerts.map((e) => e.json['rule']));
    expect(alerts.every((a) => a['hostname'] === 'worker-2')).toBe(true);
    expect(r.stderr).toContain(`summary: ${scenario.length} events in over gRPC`);
    expect(r.stderr).toContain('connected to Falco 0.43.0');
  });
});
