/**
 * Counters whose label values are known at start exist at 0 from the start: a `rate()` or
 * `increase()` needs a sample before the first event to see it, so the shipped alerts
 * (LannerOutputDropping, LannerOutputFailing, LannerEventsShed, LannerActionFailing) would
 * otherwise miss the first burst after every restart.
 */
import type { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ActionEngine } from '../../src/actions/action-engine.js';
import { defaultActionsOptions } from '../../src/actions/options.js';
import { silentLogger } from '../../src/core/log.js';
import { ACTION_OUTCOMES, invalidCounters, OUTPUT_DROP_REASONS, OUTPUT_FAILURE_REASONS, outputSeries } from '../../src/metrics/event-labels.js';
import { createMetrics, TRANSPORTS } from '../../src/metrics/metrics.js';

/** Every series of a counter, as `label=value,...` → value. */
async function seriesOf<L extends string>(counter: Counter<L>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await counter.get()).values) {
    out.set(Object.entries(v.labels).map(([k, x]) => `${k}=${String(x)}`).join(','), v.value);
  }
  return out;
}

describe('series at 0 on a fresh registry', () => {
  it('events shed, for every transport', async () => {
    const metrics = createMetrics({ processMetrics: false });
    expect(TRANSPORTS).toEqual(['grpc', 'http', 'file']);
    expect(await seriesOf(metrics.eventsShed)).toEqual(new Map(TRANSPORTS.map((t) => [`transport=${t}`, 0])));
  });

  it('each output: sent, latency, every drop reason and every failure reason, its own added', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const siem = outputSeries(metrics, 'siem', { dropped: ['mapping_error'], failures: ['http_429', 'http_503'] });
    outputSeries(metrics, 'archive');
    const dropped = await seriesOf(metrics.outputDropped);
    for (const reason of [...OUTPUT_DROP_REASONS, 'mapping_error']) expect(dropped.get(`output=siem,reason=${reason}`), reason).toBe(0);
    for (const reason of OUTPUT_DROP_REASONS) expect(dropped.get(`output=archive,reason=${reason}`), reason).toBe(0);
    expect(dropped.size).toBe(OUTPUT_DROP_REASONS.length * 2 + 1);
    const failures = await seriesOf(metrics.outputFailures);
    for (const reason of [...OUTPUT_FAILURE_REASONS, 'http_429', 'http_503']) expect(failures.get(`output=siem,reason=${reason}`), reason).toBe(0);
    expect(failures.size).toBe(OUTPUT_FAILURE_REASONS.length * 2 + 2);
    expect(await seriesOf(metrics.outputSent)).toEqual(new Map([['output=siem', 0], ['output=archive', 0]]));
    const text = await metrics.registry.metrics();
    expect(text).toContain('lanner_output_latency_seconds_count{output="siem"} 0');
    expect(text).toContain('lanner_output_queue_depth{output="siem"} 0');

    // Counting goes to the same series; a reason no one listed is counted too.
    siem.dropped('queue_full').inc();
    siem.failures('http_418').inc();
    expect((await seriesOf(metrics.outputDropped)).get('output=siem,reason=queue_full')).toBe(1);
    expect((await seriesOf(metrics.outputFailures)).get('output=siem,reason=http_418')).toBe(1);
  });

  it('every invalid reason the ingest names', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const reasons = ['bad_json', 'missing_rule', 'line_too_long'];
    const invalid = invalidCounters(metrics, reasons);
    expect(await seriesOf(metrics.eventsInvalid)).toEqual(new Map(reasons.map((r) => [`reason=${r}`, 0])));
    invalid.get('bad_json').inc();
    expect((await seriesOf(metrics.eventsInvalid)).get('reason=bad_json')).toBe(1);
  });

  it('every outcome of every enabled responder and of release', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const engine = new ActionEngine(defaultActionsOptions(), { logger: silentLogger(), metrics, kube: undefined, node: 'worker-1' });
    const actions = await seriesOf(metrics.actions);
    // quarantine and event are on by default; the others are off and ask for nothing.
    const expected = ['quarantine', 'event', 'release'].flatMap((action) => ACTION_OUTCOMES.map((outcome): [string, number] => [`action=${action},outcome=${outcome}`, 0]));
    expect(actions).toEqual(new Map(expected));
    await engine.close();
  });
});
