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

/** Polls `cond` on the event loop (not a clock): for waiting on real sockets in tests. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
