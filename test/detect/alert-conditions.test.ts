import { describe, expect, it } from 'vitest';
import { AlertLifecycle } from '../../src/alerts/lifecycle/lifecycle.js';
import { parseAlertsConfig } from '../../src/alerts/lifecycle/config.js';
import { alertConditionCompiler } from '../../src/detect/alert-conditions.js';
import { SECOND, T0, shellAlert } from '../support/alerts.js';

describe('rule-language conditions in alert suppressions', () => {
  it('suppress by a Falco condition over the alert and its evidence', () => {
    const parsed = parseAlertsConfig(
      {
        dedup: { enabled: false, cooldown: '5m', max_keys: 100, keys: {} },
        suppress: [{ name: 'debug shells in ops', condition: 'k8s.ns.name = ops and proc.pname = runc and falco.rule = "Terminal shell in container"' }],
      },
      alertConditionCompiler(),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const suppressed: string[] = [];
    const lifecycle = new AlertLifecycle(parsed.options, {
      folded: () => undefined,
      rateLimited: () => undefined,
      suppressed: (rule, name) => void suppressed.push(`${rule}: ${name}`),
      openIncidents: () => undefined,
    });
    const out = [
      ...lifecycle.process(shellAlert({ namespace: 'ops', timeNs: T0 })),
      ...lifecycle.process(shellAlert({ namespace: 'shop', timeNs: T0 + SECOND })),
      ...lifecycle.process(shellAlert({ namespace: 'ops', rule: 'Read sensitive file untrusted', timeNs: T0 + 2n * SECOND })),
    ];
    expect(out.map((a) => `${a.workload.namespace}/${a.rule}`)).toEqual(['shop/Terminal shell in container', 'ops/Read sensitive file untrusted']);
    expect(suppressed).toEqual(['Terminal shell in container: debug shells in ops']);
  });

  it('refuses a condition that does not parse, naming where', () => {
    const parsed = parseAlertsConfig({ suppress: [{ condition: 'k8s.ns.name = = ops' }] }, alertConditionCompiler());
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems[0]).toMatch(/^alerts\.suppress\.0\.condition: /);
  });
});
