/**
 * A real Prometheus scraping the real `lanner` binary: Falco events go in through HTTP ingest,
 * and what Prometheus stored is read back through its HTTP API, the way Grafana and the alert
 * rules will read it.
 *
 * The scrape job is the one from deploy/prometheus/scrape-example.yaml, relabel rules and all;
 * only its Kubernetes pod discovery is replaced by static targets that carry the same `__meta_*`
 * labels a pod would (Debian's Prometheus is built without Kubernetes discovery). So the `node`
 * label the dashboard and the alerts select on comes from the shipped relabeling, not from the
 * test. The shipped alert rules are loaded too.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringifyExact } from '../../src/core/exact-json.js';
import { assertBuilt, startLanner, waitForLog } from '../support/cli.js';
import { falcoJson } from '../support/events.js';
import {
  dashboardQueries,
  DEPLOY,
  nextScrape,
  promApi,
  promQuery,
  readDashboard,
  readYaml,
  runPromtool,
  PROMETHEUS_WAIT,
  skipWithout,
  startPrometheus,
  substituteVariables,
  type PromQueryResult,
  type RunningPrometheus,
  sampleValues,
} from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

const NODE = 'lanner-test-node';
const SCRAPE = '1s';

/**
 * Dashboard queries that may legitimately return nothing here, and why: this Lanner has HTTP
 * ingest only, the stdout output (no queue), no stateful rules, and nothing is shed. Every other
 * query must return data.
 */
const MAY_BE_EMPTY: Readonly<Record<string, string>> = {
  'Drops by reason/B': 'nothing is shed',
  'Drops by reason/C': 'stdout drops nothing (a labelled counter has no series before its first increment)',
  'Alerts dropped by output and reason/A': 'stdout drops nothing',
  'Alerts folded, rate-limited and suppressed/B': 'no rate limit is reached',
  'Alerts folded, rate-limited and suppressed/C': 'no suppressions configured',
  'Rule matches (top 10)/A': 'no Lanner rules loaded',
  'Falco gRPC connection per node/A': 'HTTP ingest only: no gRPC connection to show',
  'Falco gRPC reconnect attempts/A': 'HTTP ingest only',
  'Output failures by output and reason/A': 'stdout does not fail',
  'Output queue depth/A': 'stdout has no queue',
  'Output delivery latency p99/A': 'stdout has no queue',
  'State keys by rule (top 10)/A': 'no stateful rules loaded',
  'State evictions by rule (top 10)/A': 'no stateful rules loaded',
  'Rule reloads and failures/A': 'no rule files to reload',
  'Rule reloads and failures/B': 'no rule files to reload',
};

interface ScrapeJob {
  job_name: string;
  kubernetes_sd_configs?: unknown;
  relabel_configs: unknown[];
}

/** The labels Kubernetes pod discovery would give the container port `portName` of a pod of `app`. */
function podTarget(address: string, app: string, portName: string): { targets: string[]; labels: Record<string, string> } {
  return {
    targets: [address],
    labels: {
      __meta_kubernetes_namespace: 'lanner',
      __meta_kubernetes_pod_name: `${app}-x7k2p`,
      __meta_kubernetes_pod_node_name: NODE,
      __meta_kubernetes_pod_label_app_kubernetes_io_name: app,
      __meta_kubernetes_pod_container_port_name: portName,
    },
  };
}



describe.skipIf(skipWithout('prometheus', 'tests with a real Prometheus scraping Lanner') || skipWithout('promtool', 'promtool check metrics'))(
  'Prometheus scraping a running Lanner',
  () => {
    let lanner: ChildProcessWithoutNullStreams | undefined;
    let prometheus: RunningPrometheus | undefined;
    let metricsUrl = '';
    let ingestUrl = '';
    let configDir = '';

    const q = (expr: string): Promise<PromQueryResult> => promQuery(prometheus!.url, expr);
    const scalar = async (expr: string): Promise<number | undefined> => {
      const v = sampleValues(await q(expr));
      return v.length === 1 ? v[0] : undefined;
    };
    const post = async (body: string): Promise<number> => (await fetch(ingestUrl, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).status;

    beforeAll(async () => {
      assertBuilt();
      // Falco's shell alert asks for a quarantine: in dry run, with no cluster, it is decided and counted.
      configDir = mkdtempSync(join(tmpdir(), 'lanner-prom-'));
      const config = join(configDir, 'lanner.yaml');
      writeFileSync(config, 'actions:\n  rules:\n    Terminal shell in container: [quarantine]\n');
      lanner = startLanner(['run', '--config', config, '--ingest-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'], { NODE_NAME: NODE });
      const [ops, ingest] = await Promise.all([
        waitForLog(lanner, (e) => e['msg'] === 'serving /metrics, /healthz, /readyz'),
        waitForLog(lanner, (e) => e['msg'] === 'receiving Falco http_output'),
      ]);
      const opsAddress = String(ops['address']);
      metricsUrl = `http://${opsAddress}/metrics`;
      ingestUrl = String(ingest['url']);

      const example = readYaml(DEPLOY.scrapeExample) as { scrape_configs: ScrapeJob[] };
      const { kubernetes_sd_configs: _discovery, ...job } = example.scrape_configs.find((j) => j.job_name === 'lanner')!;
      prometheus = await startPrometheus({
        global: { scrape_interval: SCRAPE, scrape_timeout: SCRAPE, evaluation_interval: SCRAPE },
        rule_files: [DEPLOY.rules],
        scrape_configs: [
          {
            ...job,
            static_configs: [
              podTarget(opsAddress, 'lanner', 'metrics'),
              // What the relabeling must drop: the same pod's ingest port, and another app's pod.
              podTarget(opsAddress, 'lanner', 'ingest'),
              podTarget(opsAddress, 'falco', 'metrics'),
            ],
          },
        ],
      });
      // A first scrape before any event, so rate() sees the counters rise.
      await waitFor(async () => (await scalar('up{job="lanner"}')) === 1, { ...PROMETHEUS_WAIT, what: 'first scrape' });

      const now = (): bigint => BigInt(Date.now()) * 1_000_000n;
      const shell = (): string =>
        stringifyExact(falcoJson({ rule: 'Terminal shell in container', priority: 'Critical', timeNs: now(), fields: { 'k8s.ns.name': 'shop', 'k8s.pod.name': 'checkout-1' } }));
      const shadow = (): string => stringifyExact(falcoJson({ rule: 'Read sensitive file untrusted', priority: 'Warning', timeNs: now() }));
      const binDir = (): string => stringifyExact(falcoJson({ rule: 'Write below binary dir', priority: 'Error', timeNs: now() }));
      const feed = (): string => stringifyExact(falcoJson({ rule: 'Lanner feed: execve', priority: 'Debug', tags: ['lanner_feed'], timeNs: now() }));
      const noRule = { ...falcoJson({ timeNs: now() }) };
      delete noRule['rule'];
      const loud = falcoJson({ priority: 'Loud', timeNs: now() });

      // Falco posts one event per request; Falcosidekick and replays post batches. Both here.
      const statuses = [
        await post([shell(), shell(), shell(), shadow(), shadow(), feed(), feed(), feed(), feed()].join('\n')),
        await post(binDir()),
        await post(binDir()),
        await post('{"rule":'),
        await post(stringifyExact(noRule)),
        await post(`[${feed()},${stringifyExact(loud)}]`),
      ];
      expect(statuses).toEqual([200, 200, 200, 400, 400, 200]);
    }, 30_000);

    afterAll(async () => {
      await prometheus?.stop();
      if (configDir) rmSync(configDir, { recursive: true, force: true });
      if (lanner && lanner.exitCode === null) {
        const exited = new Promise((resolve) => lanner!.once('exit', resolve));
        lanner.kill('SIGTERM');
        await exited;
      }
    });

    it('promtool check metrics accepts /metrics with every labelled series present', async () => {
      // The labelled children exist only after events: check them, not an empty registry. The
      // alert is counted once detection has had the posted events, so it is awaited.
      const series = ['lanner_alerts_total{rule="Terminal shell in container",priority="Critical",family="falco"}', 'lanner_events_invalid_total{reason="unknown_priority"}'];
      const text = await waitFor(
        async () => {
          const t = await (await fetch(metricsUrl)).text();
          return series.every((x) => t.includes(x)) ? t : undefined;
        },
        { what: `/metrics to show ${series.join(' and ')}` },
      );
      const r = await runPromtool(['check', 'metrics'], { stdin: text });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.code).toBe(0);
    });

    it('labels the target with its node through the shipped relabeling, and drops other ports and apps', async () => {
      const targets = await promApi<{ activeTargets: { labels: Record<string, string>; health: string }[]; droppedTargets: unknown[] }>(
        prometheus!.url,
        '/api/v1/targets',
      );
      expect(targets.activeTargets).toHaveLength(1);
      expect(targets.activeTargets[0]!.labels).toMatchObject({ job: 'lanner', node: NODE, namespace: 'lanner', pod: 'lanner-x7k2p' });
      expect(targets.activeTargets[0]!.health).toBe('up');
      expect(targets.droppedTargets).toHaveLength(2);
      // The dashboard's Node variable: label_values(lanner_build_info, node).
      const nodes = await promApi<string[]>(prometheus!.url, `/api/v1/label/node/values?match[]=lanner_build_info`);
      expect(nodes).toEqual([NODE]);
    });

    /** What Prometheus holds once everything posted has gone through Lanner and been scraped. */
    const counts = (): [string, number][] => [
      [`sum(lanner_events_received_total{node="${NODE}", transport="http", source="syscall"})`, 12],
      [`lanner_events_invalid_total{node="${NODE}", reason="bad_json"}`, 1],
      [`lanner_events_invalid_total{node="${NODE}", reason="missing_rule"}`, 1],
      [`lanner_events_invalid_total{node="${NODE}", reason="unknown_priority"}`, 1],
      [`lanner_http_ingest_requests_total{node="${NODE}", status="200"}`, 4],
      [`lanner_http_ingest_requests_total{node="${NODE}", status="400"}`, 2],
      // Deduplication is on by default: repeats of one rule and workload fold into the first alert.
      [`lanner_alerts_total{node="${NODE}", rule="Terminal shell in container", priority="Critical"}`, 1],
      [`lanner_alerts_total{node="${NODE}", rule="Read sensitive file untrusted", priority="Warning"}`, 1],
      [`lanner_alerts_total{node="${NODE}", rule="Write below binary dir", priority="Error"}`, 1],
      [`lanner_alerts_folded_total{node="${NODE}", rule="Terminal shell in container"}`, 2],
      [`lanner_alerts_folded_total{node="${NODE}", rule="Write below binary dir"}`, 1],
      [`sum(lanner_events_shed_total{node="${NODE}"}) or vector(0)`, 0],
      [`lanner_falco_connected{node="${NODE}"}`, 0],
      [`lanner_build_info{node="${NODE}"}`, 1],
      // One alert (the repeats folded), one quarantine decision: dry run, the default.
      [`lanner_actions_total{node="${NODE}", action="quarantine", outcome="dry_run"}`, 1],
      [`lanner_action_latency_seconds_count{node="${NODE}", action="quarantine"}`, 1],
    ];
    const countsStored = async (): Promise<void> => {
      for (const [expr, want] of counts()) {
        await waitFor(async () => (await scalar(expr)) === want, { ...PROMETHEUS_WAIT, what: `${expr} == ${want}` });
      }
    };

    it('stores the counts of what was posted', async () => {
      await countsStored();
      // Every alert went out through the one output and was timed by both histograms; compared
      // with the total rather than a fixed 3 so that alerts from feed events (once rules ship by
      // default) do not break the count. The output also carried the one audit record.
      const alerts = (await scalar(`sum(lanner_alerts_total{node="${NODE}"})`))!;
      expect(alerts).toBeGreaterThanOrEqual(3);
      expect(await scalar(`sum(lanner_output_sent_total{node="${NODE}"})`)).toBe(alerts + 1);
      expect(await scalar(`lanner_ingest_to_alert_seconds_count{node="${NODE}"}`)).toBe(alerts);
      expect(await scalar(`lanner_event_to_alert_seconds_count{node="${NODE}"}`)).toBe(alerts);
    });

    it('evaluates every dashboard query without error, with data wherever this Lanner has any', async () => {
      const queries = dashboardQueries(readDashboard());
      const keys = new Set(queries.map((x) => `${x.panel}/${x.refId}`));
      for (const key of Object.keys(MAY_BE_EMPTY)) expect(keys.has(key), `stale MAY_BE_EMPTY entry ${key}`).toBe(true);
      // Every count stored, then one more scrape, so every rate() window spans the rise.
      await countsStored();
      await nextScrape(prometheus!.url);
      const vars = { node: NODE, __rate_interval: '1m', __range: '5m', __interval: '15s' };
      const problems: string[] = [];
      for (const x of queries) {
        const expr = substituteVariables(x.expr, vars);
        const r = await promQuery(prometheus!.url, expr, x.instant ? undefined : { seconds: 60, stepSeconds: 1 });
        const key = `${x.panel}/${x.refId}`;
        if (r.status === 'error') problems.push(`${key}: ${r.error}\n    ${expr}`);
        else if (!(key in MAY_BE_EMPTY) && !sampleValues(r).some((v) => Number.isFinite(v))) problems.push(`${key}: no data\n    ${expr}`);
      }
      expect(problems).toEqual([]);
    });

    it('loads the shipped alert rules, evaluates them without error, and fires none for a healthy HTTP-only Lanner', async () => {
      type Rule = { name: string; health: string; lastError?: string; state: string; type: string };
      let seen: Rule[] = [];
      const rules = await waitFor(async () => {
        const data = await promApi<{ groups: { rules: Rule[] }[] }>(prometheus!.url, '/api/v1/rules');
        seen = data.groups.flatMap((g) => g.rules);
        for (const r of seen) if (r.health === 'err') throw new Error(`${r.name}: ${r.lastError ?? 'error'}`);
        // Before the first scrape LannerDown's absent() holds for a moment: wait for it to clear.
        return seen.length > 0 && seen.every((r) => r.health === 'ok' && r.state === 'inactive') ? seen : undefined;
      }, { ...PROMETHEUS_WAIT, what: 'every rule evaluated and inactive' }).catch((err: Error) => {
        throw new Error(`${err.message}; rules seen: ${seen.map((r) => `${r.name}=${r.health}/${r.state}`).join(', ')}`);
      });
      expect(rules.map((r) => r.name).sort()).toEqual(
        ['AlertStorm', 'DetectionLatencyHigh', 'EventsShed', 'FalcoDisconnected', 'LannerDown', 'OutputDropping', 'OutputFailing', 'ResponseActionFailing', 'RuleReloadFailing'],
      );
    });
  },
);
