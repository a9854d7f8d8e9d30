/** Reads output metrics in tests. */
import type { Counter, Gauge } from 'prom-client';
import { createMetrics, type LannerMetrics } from '../../src/metrics/metrics.js';
import { silentLogger } from '../../src/core/log.js';
import type { OutputDeps } from '../../src/outputs/output.js';

export async function value(metric: Counter<string> | Gauge<string>, labels: Record<string, string>): Promise<number> {
  const data = await metric.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return hit?.value ?? 0;
}

export function testDeps(): OutputDeps & { metrics: LannerMetrics } {
  return { logger: silentLogger(), metrics: createMetrics({ processMetrics: false }) };
}
