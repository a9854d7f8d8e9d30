/** Reads output metrics in tests. */
import { pino } from 'pino';
import type { Counter, Gauge } from 'prom-client';
import { createMetrics, type LannerMetrics } from '../../src/metrics/metrics.js';
import { silentLogger } from '../../src/core/log.js';
import type { OutputDeps } from '../../src/outputs/output.js';

export async function value(metric: Counter<string> | Gauge<string>, labels: Record<string, string>): Promise<number> {
  const data = await metric.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return hit?.value ?? 0;
}

/** Fresh metrics for one output; with `logs`, what the output logs at info and above is pushed there, parsed. */
export function testDeps(logs?: Record<string, unknown>[]): OutputDeps & { metrics: LannerMetrics } {
  const logger = logs ? pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }) : silentLogger();
  return { logger, metrics: createMetrics({ processMetrics: false }) };
}

/** What a queued output logs when close_timeout ran out before everything was delivered. */
export const ABANDONED_AT_CLOSE = 'output could not deliver everything before shutdown; the rest is counted as dropped';
