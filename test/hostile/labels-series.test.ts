/**
 * Forged rule names and sources cannot grow the series count: every label whose value comes
 * from an event goes through its registry's bound (the loaded rules and a fixed number of
 * others, then one overflow value). Tested at the bound (one below, at, one above) and with
 * 20,000 made-up names, and with the loaded rules keeping their own series after the flood.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { familyOf } from '../../src/alerts/family.js';
import { lifecycleMetrics } from '../../src/alerts/lifecycle/lifecycle.js';
import { DEFAULT_BOUNDS, RuleEngine } from '../../src/detect/rule-engine.js';
import { OVERFLOW_LABEL_VALUE } from '../../src/metrics/child-cache.js';
import { alertCounters, receivedCounters } from '../../src/metrics/event-labels.js';
import { createMetrics, MAX_OTHER_SOURCES, MAX_RULE_SERIES, type LannerMetrics } from '../../src/metrics/metrics.js';
import { loadDetectionRules } from '../../src/rules/compiler/stateful.js';
import { shellAlert } from '../support/alerts.js';

const LOADED_RULE = 'Shell in container';

/** A registry whose rule engine has loaded one rule, as a running service's has. */
function withLoadedRule(): LannerMetrics {
  const metrics = createMetrics({ processMetrics: false });
  const dir = mkdtempSync(join(tmpdir(), 'lanner-labels-'));
  writeFileSync(join(dir, 'r.yaml'), `- rule: ${LOADED_RULE}\n  condition: evt.type = execve and proc.name = sh\n  output: shell\n  priority: WARNING\n  tags: [shell_spawn]\n`);
  const { rules } = loadDetectionRules([dir], DEFAULT_BOUNDS);
  expect(rules.map((r) => r.name)).toEqual([LOADED_RULE]);
  new RuleEngine(rules, { metrics });
  return metrics;
}

/** Series of a metric, by the value of one label. */
async function seriesBy<L extends string>(counter: Counter<L>, label: NoInfer<L>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await counter.get()).values) {
    const value = String(v.labels[label]);
    out.set(value, (out.get(value) ?? 0) + v.value);
  }
  return out;
}

const forged = (n: number): string[] => Array.from({ length: n }, (_, i) => `forged rule ${i}`);

/**
 * What a sender posting `names` as rule names makes Lanner count, with one alert of the loaded
 * rule after them: each alert counted as sent, and reported folded, held back and suppressed by
 * the lifecycle's metrics (test/metrics/lifecycle-metrics.test.ts shows the lifecycle reporting there).
 */
function flood(names: readonly string[]): LannerMetrics {
  const metrics = withLoadedRule();
  const alerts = alertCounters(metrics);
  const lifecycle = lifecycleMetrics(metrics, metrics.alertsSuppressed);
  const base = shellAlert();
  for (const rule of [...names, LOADED_RULE]) {
    const alert: Alert = { ...base, rule };
    alerts.get(alert.rule, alert.priority, familyOf(alert)).inc();
    lifecycle.folded(alert.rule);
    lifecycle.rateLimited(alert.rule);
    lifecycle.suppressed(alert.rule, 'shop noise');
  }
  return metrics;
}

describe('series of rule-labelled metrics under forged rule names', () => {
  const cases: [what: string, names: number, series: number, overflow: number][] = [
    ['one below the bound', MAX_RULE_SERIES - 1, MAX_RULE_SERIES - 1, 0],
    ['at the bound', MAX_RULE_SERIES, MAX_RULE_SERIES, 0],
    ['one above the bound', MAX_RULE_SERIES + 1, MAX_RULE_SERIES, 1],
    ['20,000 names', 20_000, MAX_RULE_SERIES, 20_000 - MAX_RULE_SERIES],
  ];

  for (const [what, n, own, overflow] of cases) {
    it(`${what}: ${n} forged names give ${own} series of their own${overflow ? ' and one overflow series' : ''}, and the loaded rule keeps its own`, async () => {
      const metrics = flood(forged(n));
      const counters: [name: string, series: Promise<Map<string, number>>][] = [
        ['lanner_alerts_total', seriesBy(metrics.alerts, 'rule')],
        ['lanner_alerts_folded_total', seriesBy(metrics.alertsFolded, 'rule')],
        ['lanner_alerts_rate_limited_total', seriesBy(metrics.alertsRateLimited, 'rule')],
        ['lanner_alerts_suppressed_total', seriesBy(metrics.alertsSuppressed, 'rule')],
      ];
      // One of each per alert: counted once, folded once, held back once, suppressed once.
      const perAlert = 1;
      for (const [name, pending] of counters) {
        const series = await pending;
        // The forged names that fit, the loaded rule, and the overflow value once a name did not fit.
        expect(series.size, name).toBe(own + 1 + (overflow > 0 ? 1 : 0));
        expect(series.get(LOADED_RULE), name).toBe(perAlert);
        expect(series.get(OVERFLOW_LABEL_VALUE), name).toBe(overflow > 0 ? overflow * perAlert : undefined);
        // Nothing is lost: every alert is counted, under its name or the overflow value.
        expect([...series.values()].reduce((a, b) => a + b, 0), name).toBe((n + 1) * perAlert);
      }
    });
  }

  it('keeps series for rules loaded after the flood, by a reload', async () => {
    const metrics = flood(forged(MAX_RULE_SERIES + 10));
    metrics.labels.rule.know(['Rule of the next load']);
    alertCounters(metrics).get('Rule of the next load', 'Warning', 'other').inc();
    alertCounters(metrics).get('yet another forged rule', 'Warning', 'other').inc();
    const series = await seriesBy(metrics.alerts, 'rule');
    expect(series.get('Rule of the next load')).toBe(1);
    expect(series.has('yet another forged rule')).toBe(false);
    expect(series.get(OVERFLOW_LABEL_VALUE)).toBe(11);
  });
});

describe('series of lanner_events_received_total under forged sources', () => {
  const cases: [what: string, sources: number, own: number, overflow: number][] = [
    ['one below the bound', MAX_OTHER_SOURCES - 1, MAX_OTHER_SOURCES - 1, 0],
    ['at the bound', MAX_OTHER_SOURCES, MAX_OTHER_SOURCES, 0],
    ['one above the bound', MAX_OTHER_SOURCES + 1, MAX_OTHER_SOURCES, 1],
    ['20,000 sources', 20_000, MAX_OTHER_SOURCES, 20_000 - MAX_OTHER_SOURCES],
  ];

  for (const [what, n, own, overflow] of cases) {
    it(`${what}: ${n} forged sources over two transports stay within ${own} sources of their own and the overflow`, async () => {
      const metrics = withLoadedRule();
      const received = receivedCounters(metrics);
      for (let i = 0; i < n; i++) received.get(i % 2 === 0 ? 'http' : 'grpc', `forged-source-${i}`).inc();
      // Falco's own sources were known before any of them.
      received.get('http', 'syscall').inc();
      received.get('grpc', 'k8s_audit').inc();
      const series = await seriesBy(metrics.eventsReceived, 'source');
      expect(series.size).toBe(own + 2 + (overflow > 0 ? 1 : 0));
      expect(series.get('syscall')).toBe(1);
      expect(series.get('k8s_audit')).toBe(1);
      expect(series.get(OVERFLOW_LABEL_VALUE)).toBe(overflow > 0 ? overflow : undefined);
      const all = (await metrics.eventsReceived.get()).values;
      // Per source, at most one series per transport.
      expect(all.length).toBeLessThanOrEqual(2 * series.size);
      expect(all.reduce((a, v) => a + v.value, 0)).toBe(n + 2);
    });
  }
});
