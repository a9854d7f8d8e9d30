import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { deferredCount, deferredLevel, flushDeferred, removeDeferredSeries } from '../../src/metrics/deferred.js';

function metricsPair(): { registry: Registry; counter: Counter<'rule'>; gauge: Gauge<'rule'> } {
  const registry = new Registry();
  const counter = new Counter({ name: 't_total', help: 'h', labelNames: ['rule'], registers: [registry], collect() { flushDeferred(this); } });
  const gauge = new Gauge({ name: 't_keys', help: 'h', labelNames: ['rule'], registers: [registry], collect() { flushDeferred(this); } });
  return { registry, counter, gauge };
}

describe('deferred label children', () => {
  it('hand their counts to prom-client when the registry is scraped, and only once', async () => {
    const { registry, counter } = metricsPair();
    const a = deferredCount(counter, { rule: 'a' });
    a.inc();
    a.inc(2);
    expect(await registry.metrics()).toContain('t_total{rule="a"} 3');
    a.inc();
    expect(await registry.metrics()).toContain('t_total{rule="a"} 4');
    expect(await registry.metrics()).toContain('t_total{rule="a"} 4');
  });

  it('are shared by label set, so two engines over one registry count into one series', async () => {
    const { counter } = metricsPair();
    deferredCount(counter, { rule: 'a' }).inc();
    deferredCount(counter, { rule: 'a' }).inc();
    deferredCount(counter, { rule: 'b' }).inc();
    const values = (await counter.get()).values.map((v) => [v.labels['rule'], v.value]);
    expect(values).toEqual([['a', 2], ['b', 1]]);
  });

  it('report a gauge at its last value; a removed series stays removed until set again', async () => {
    const { registry, gauge } = metricsPair();
    const keys = deferredLevel(gauge, { rule: 'seq' });
    keys.set(5);
    keys.set(3);
    expect(await registry.metrics()).toContain('t_keys{rule="seq"} 3');
    keys.set(7);
    removeDeferredSeries(gauge, { rule: 'seq' });
    expect(await registry.metrics()).not.toContain('t_keys{rule="seq"}');
    keys.set(1);
    expect(await registry.metrics()).toContain('t_keys{rule="seq"} 1');
  });
});
