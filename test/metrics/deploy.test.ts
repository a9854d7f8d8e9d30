/**
 * The monitoring files in deploy/ agree with each other, with the metrics Lanner exports and
 * with docs/operating.md: every name they use exists, every metric is on the dashboard and in
 * the docs, every alert has a runbook section and unit tests, and every target is identified
 * by the same `node` label and `lanner` job. No programs needed; promtool and Prometheus
 * themselves check the files in promtool.test.ts and prometheus.test.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../src/metrics/metrics.js';
import {
  allPanels,
  alertRules,
  dashboardQueries,
  DEPLOY,
  markdownAnchors,
  metricNamesIn,
  prometheusRuleManifest,
  readDashboard,
  readRuleGroups,
  readYaml,
  selectorsIn,
  type GrafanaVariable,
} from '../support/prometheus.js';

const metrics = createMetrics({ processMetrics: true });
afterAll(() => metrics.registry.clear());

/** Every series name /metrics can carry, histogram suffixes included, by family. */
async function exportedNames(): Promise<{ families: Map<string, string>; series: Set<string> }> {
  const families = new Map<string, string>();
  const series = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    families.set(m.name, String(m.type));
    series.add(m.name);
    if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) series.add(m.name + suffix);
  }
  series.add('up');
  return { families, series };
}

const lannerFamilies = async (): Promise<string[]> => [...(await exportedNames()).families.keys()].filter((n) => n.startsWith('lanner_')).sort();

/** The family a series name belongs to (lanner_x_seconds_bucket → lanner_x_seconds). */
function familyOf(name: string, families: Map<string, string>): string {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.get(base) === 'histogram' ? base : name;
}

describe('metric names', () => {
  it('follow Prometheus conventions: lanner_ prefix, _total exactly on counters, base units, only known labels', async () => {
    // Each is bounded by code or by configuration (`output` and `suppression` name config entries;
    // `action` and `outcome` are the fixed sets of responders and outcomes; `type` is a fixed list
    // of syscall names).
    const allowedLabels = new Set(['transport', 'source', 'reason', 'type', 'rule', 'priority', 'family', 'status', 'output', 'suppression', 'action', 'outcome', 'version', 'node_version', 'le', 'server', 'stage']);
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      if (!m.name.startsWith('lanner_')) continue;
      const type = String(m.type);
      expect(m.name.endsWith('_total'), `${m.name} (${type})`).toBe(type === 'counter');
      expect(m.name, 'no milliseconds or other non-base units').not.toMatch(/_(ms|milliseconds|minutes|kb|mb|percent)(_|$)/);
      if (type === 'histogram') expect(m.name).toMatch(/_seconds$/);
      expect(m.help.length, `${m.name} help`).toBeGreaterThan(10);
    }
    // Label names are not in prom-client's types but are on every metric object; reading them
    // here covers series that have no children yet.
    for (const m of metrics.registry.getMetricsAsArray()) {
      if (!m.name.startsWith('lanner_')) continue;
      const labelNames = (m as unknown as { labelNames: readonly string[] }).labelNames;
      for (const l of labelNames) expect(allowedLabels.has(l), `${m.name} label ${l}`).toBe(true);
    }
  });
});

describe('Grafana dashboard', () => {
  const dashboard = readDashboard();
  const queries = dashboardQueries(dashboard);

  it('is a Grafana dashboard with a Prometheus datasource variable and a node variable', () => {
    expect(dashboard.uid).toBe('lanner');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const vars = new Map<string, GrafanaVariable>(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const node = vars.get('node');
    expect(node).toMatchObject({ type: 'query', includeAll: true, allValue: '.*', multi: true, datasource: { uid: '${datasource}' } });
    const nodeQuery = typeof node?.query === 'string' ? node.query : node?.query?.query;
    // The same target label the scrape configs set and the alert rules report.
    expect(nodeQuery).toBe('label_values(lanner_build_info, node)');
  });

  it('takes every panel and query from the datasource variable, with unique ids inside a 24-column grid', () => {
    const panels = allPanels(dashboard);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const cells = new Set<string>();
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let dx = 0; dx < p.gridPos.w; dx++) {
        for (let dy = 0; dy < p.gridPos.h; dy++) {
          const cell = `${p.gridPos.x + dx},${p.gridPos.y + dy}`;
          expect(cells.has(cell), `${p.title} overlaps another panel at ${cell}`).toBe(false);
          cells.add(cell);
        }
      }
      if (p.type === 'row') continue;
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.description ?? '', `${p.title} says what it shows`).not.toBe('');
      expect(p.targets?.length ?? 0, `${p.title} has queries`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource?.uid, `${p.title} ${t.refId}`).toBe('${datasource}');
    }
  });

  it('filters every selector by $node, and the non-Lanner metrics by job="lanner" too', () => {
    for (const q of queries) {
      const selectors = selectorsIn(q.expr);
      expect(selectors.length, `${q.panel} ${q.refId}`).toBeGreaterThan(0);
      for (const s of selectors) {
        expect(s.matchers, `${q.panel} ${q.refId}: ${s.name}`).toContain('node=~"$node"');
        if (!s.name.startsWith('lanner_')) expect(s.matchers, `${q.panel} ${q.refId}: ${s.name}`).toContain('job="lanner"');
      }
    }
  });

  it('uses only metrics Lanner exports, and shows every lanner_ metric somewhere', async () => {
    const { families, series } = await exportedNames();
    const used = new Set<string>();
    for (const q of queries) {
      for (const name of metricNamesIn(q.expr)) {
        expect(series.has(name), `${q.panel} ${q.refId} uses ${name}, which Lanner does not export`).toBe(true);
        used.add(familyOf(name, families));
      }
    }
    const missing = (await lannerFamilies()).filter((f) => !used.has(f));
    expect(missing, 'lanner_ metrics no panel shows').toEqual([]);
  });
});

describe('alert rules', () => {
  const rules = alertRules();
  const anchors = markdownAnchors(DEPLOY.operatingDoc);

  it('ship the alerts an SRE needs, each with for, severity, summary, description and a runbook section', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      ['AlertStorm', 'DetectionLatencyHigh', 'EventsShed', 'FalcoDisconnected', 'LannerDown', 'OutputDropping', 'OutputFailing', 'ResponseActionFailing', 'RuleReloadFailing'].sort(),
    );
    for (const r of rules) {
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.['severity']);
      expect(r.annotations?.['summary'], r.alert).toBeTruthy();
      expect(r.annotations?.['description'], r.alert).toBeTruthy();
      const url = r.annotations?.['runbook_url'] ?? '';
      const m = /\/docs\/operating\.md#([\w-]+)$/.exec(url);
      expect(m, `${r.alert} runbook_url ${url}`).not.toBeNull();
      expect(m![1], r.alert).toBe(r.alert.toLowerCase());
      expect(anchors.has(m![1]!), `docs/operating.md has no heading for #${m![1]}`).toBe(true);
    }
  });

  it('use only metrics Lanner exports', async () => {
    const { series } = await exportedNames();
    for (const r of rules) for (const name of metricNamesIn(r.expr)) expect(series.has(name), `${r.alert} uses ${name}`).toBe(true);
  });

  it('have promtool unit tests where each alert fires and where it must not', () => {
    const tests = (readYaml(DEPLOY.rulesTest) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] }).tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const r of rules) {
      const mine = cases.filter((c) => c.alertname === r.alert);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${r.alert} firing case`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${r.alert} not-firing case`).toBe(true);
    }
  });

  it('are the same groups in the PrometheusRule manifest', () => {
    const expected = prometheusRuleManifest();
    if (process.env['UPDATE_DEPLOY'] === '1') writeFileSync(DEPLOY.prometheusRule, expected);
    const shipped = readYaml(DEPLOY.prometheusRule) as { kind: string; spec: unknown };
    expect(shipped.kind).toBe('PrometheusRule');
    expect(shipped.spec, 'deploy/kubernetes/prometheusrule.yaml is stale: UPDATE_DEPLOY=1 npx vitest run test/metrics/deploy.test.ts').toEqual(readRuleGroups());
    expect(readFileSync(DEPLOY.prometheusRule, 'utf8')).toBe(expected);
  });
});

describe('scrape configs', () => {
  interface Relabel {
    source_labels?: string[];
    sourceLabels?: string[];
    target_label?: string;
    targetLabel?: string;
  }
  const nodeRelabel = (r: Relabel): boolean =>
    (r.source_labels ?? r.sourceLabels ?? []).join() === '__meta_kubernetes_pod_node_name' && (r.target_label ?? r.targetLabel) === 'node';

  it('the plain example scrapes job lanner and labels each target with its node', () => {
    const config = readYaml(DEPLOY.scrapeExample) as { rule_files: string[]; scrape_configs: { job_name: string; relabel_configs: Relabel[] }[] };
    const job = config.scrape_configs.find((j) => j.job_name === 'lanner');
    expect(job).toBeDefined();
    expect(job!.relabel_configs.some(nodeRelabel)).toBe(true);
    expect(config.rule_files).toContain('lanner-rules.yaml');
  });

  it('the ServiceMonitor gives the same job and node labels through a Service on the metrics port', () => {
    const docs = readFileSync(DEPLOY.serviceMonitor, 'utf8')
      .split(/^---$/m)
      .map((d) => readYamlText(d));
    const service = docs.find((d) => d['kind'] === 'Service') as { metadata: { labels: Record<string, string> }; spec: { ports: { name: string; port: number }[] } };
    const monitor = docs.find((d) => d['kind'] === 'ServiceMonitor') as {
      spec: { jobLabel: string; selector: { matchLabels: Record<string, string> }; endpoints: { port: string; relabelings: Relabel[] }[] };
    };
    // job = the value of the Service label named by jobLabel.
    expect(service.metadata.labels[monitor.spec.jobLabel]).toBe('lanner');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) expect(service.metadata.labels[k]).toBe(v);
    expect(service.spec.ports.map((p) => p.name)).toContain(monitor.spec.endpoints[0]!.port);
    expect(service.spec.ports.find((p) => p.name === 'metrics')?.port).toBe(9376);
    expect(monitor.spec.endpoints[0]!.relabelings.some(nodeRelabel)).toBe(true);
  });

  it('and the rules and dashboard select that job', () => {
    const up = alertRules().find((r) => r.alert === 'LannerDown')!.expr;
    expect(up).toContain('up{job="lanner"}');
    const upPanels = dashboardQueries(readDashboard()).filter((q) => q.expr.includes('up{'));
    expect(upPanels.length).toBeGreaterThan(0);
    for (const q of upPanels) expect(q.expr).toContain('job="lanner"');
  });
});

describe('docs/operating.md', () => {
  it('explains every lanner_ metric', async () => {
    const text = readFileSync(DEPLOY.operatingDoc, 'utf8');
    const missing = (await lannerFamilies()).filter((f) => !text.includes(f));
    expect(missing).toEqual([]);
  });
});

function readYamlText(text: string): Record<string, unknown> {
  return (parseYaml(text) ?? {}) as Record<string, unknown>;
}
