/** The alert lifecycle's reports, as Prometheus counters by rule. */
import type { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { lifecycleMetrics } from '../../src/alerts/lifecycle/lifecycle.js';
import { createMetrics } from '../../src/metrics/metrics.js';

async function byLabels<L extends string>(counter: Counter<L>): Promise<Record<string, number>> {
  const { values } = await counter.get();
  return Object.fromEntries(values.map((v) => [Object.values(v.labels).join(' / '), v.value]));
}

describe('lifecycleMetrics', () => {
  it('counts folded, rate-limited and suppressed alerts by rule (and suppression)', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const report = lifecycleMetrics(metrics, metrics.alertsSuppressed);
    report.folded('Shell');
    report.folded('Shell');
    report.folded('Drift');
    report.rateLimited('Shell');
    report.suppressed('Shell', 'ci-runners');
    report.suppressed('Shell', 'ci-runners');
    report.suppressed('Drift', 'ci-runners');
    expect(await byLabels(metrics.alertsFolded)).toEqual({ Shell: 2, Drift: 1 });
    expect(await byLabels(metrics.alertsRateLimited)).toEqual({ Shell: 1 });
    expect(await byLabels(metrics.alertsSuppressed)).toEqual({ 'Shell / ci-runners': 2, 'Drift / ci-runners': 1 });
  });

  it('counts nothing for suppressions when given no counter for them', async () => {
    const metrics = createMetrics({ processMetrics: false });
    lifecycleMetrics(metrics).suppressed('Shell', 'ci-runners');
    expect(await byLabels(metrics.alertsSuppressed)).toEqual({});
  });
});
