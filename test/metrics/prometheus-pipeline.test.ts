/**
 * A real Prometheus scraping a Lanner that uses every stage the dashboard shows: Falco over gRPC
 * (with a reconnect) and over HTTP, the shipped rules plus a stateful rule small enough to
 * evict, a suppression, a rate limit, deduplication, an ingest queue small enough to shed, two
 * queued outputs (one healthy, one refusing every batch), and rule files changed, broken and
 * reloaded on SIGHUP while it runs. Prometheus' HTTP API then has to return the exact counts, and
 * every PromQL expression of the dashboard has to evaluate and return data.
 *
 * prometheus.test.ts runs the plain default Lanner (HTTP ingest, stdout) beside this one.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringifyExact } from '../../src/core/exact-json.js';
import { FalcoStandIn, falcoJsonToGrpcResponse, type FalcoJsonEvent } from '../../src/demo/falco-grpc-server.js';
import { assertBuilt, startLanner, waitForLog } from '../support/cli.js';
import { falcoJson } from '../support/events.js';
import { startStandin, type Standin } from '../support/http-standin.js';
import {
  dashboardQueries,
  nextScrape,
  promQuery,
  readDashboard,
  runPromtool,
  PROMETHEUS_WAIT,
  skipWithout,
  startPrometheus,
  substituteVariables,
  type RunningPrometheus,
  sampleValues,
} from '../support/prometheus.js';
import { REPO_ROOT } from '../support/shared.js';
import { waitFor } from '../support/wait.js';

const NODE = 'lanner-pipeline-node';
const BURST_RULE = 'Burst of connections from one container';
const burstRule = (output: string): string => `
- rule: ${BURST_RULE}
  desc: many connections from one container in a minute
  condition: evt.type = connect and fd.type in (ipv4, ipv6)
  threshold: { count: 100, within: 1m, by: [container.id] }
  state: { max_keys: 2, ttl: 10m }
  output: ${output} (process=%proc.name pod=%k8s.ns.name/%k8s.pod.name container=%container.name)
  priority: NOTICE
  tags: [unexpected_egress, T1041]
`;

/** Response actions have their own integration test (prometheus.test.ts configures them). */
const ACTION_METRIC = /lanner_(action|quarantine)/;



describe.skipIf(skipWithout('prometheus', 'tests with a real Prometheus scraping Lanner') || skipWithout('promtool', 'promtool check metrics'))('Prometheus scraping a Lanner that uses every stage', () => {
  let dir = '';
  let rulesDir = '';
  let lanner: ChildProcessWithoutNullStreams | undefined;
  let prometheus: RunningPrometheus | undefined;
  let falco: FalcoStandIn | undefined;
  let siem: Standin | undefined;
  let refusing: Standin | undefined;
  let stderr = '';
  const logs = (): Record<string, unknown>[] =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  /** Waits until `match` has been logged `n` times in all (logs are kept from the start). */
  const logged = (what: string, match: (e: Record<string, unknown>) => boolean, n: number): Promise<true> =>
    waitFor(() => logs().filter(match).length >= n, { ...PROMETHEUS_WAIT, what });

  const scalar = async (expr: string): Promise<number | undefined> => {
    const v = sampleValues(await promQuery(prometheus!.url, expr));
    return v.length === 1 ? v[0] : undefined;
  };
  const settled = (expr: string, want: number): Promise<true> =>
    waitFor(async () => (await scalar(expr)) === want, { ...PROMETHEUS_WAIT, what: `${expr} == ${want}` });

  const now = (): bigint => BigInt(Date.now()) * 1_000_000n;
  const falcoAlert = (rule: string, priority: string, ns: string, container: string): FalcoJsonEvent =>
    falcoJson({ rule, priority, timeNs: now(), fields: { 'k8s.ns.name': ns, 'k8s.pod.name': `${container}-pod`, 'container.id': container, 'proc.pname': 'runc' } }) as FalcoJsonEvent;
  const feed = (fields: Record<string, unknown>): FalcoJsonEvent =>
    falcoJson({ rule: `Lanner feed: ${String(fields['evt.type'])}`, priority: 'Debug', tags: ['lanner_feed'], timeNs: now(), fields: { 'evt.res': 'SUCCESS', ...fields } }) as FalcoJsonEvent;
  const connect = (container: string): FalcoJsonEvent =>
    feed({ 'evt.type': 'connect', 'fd.type': 'ipv4', 'fd.sip': '10.0.0.9', 'fd.sport': 443, 'container.id': container, 'k8s.ns.name': 'shop', 'user.uid': 1000 });

  let ingestUrl = '';
  let metricsUrl = '';
  const post = async (body: string): Promise<number> => (await fetch(ingestUrl, { method: 'POST', body })).status;

  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'lanner-pipeline-'));
    rulesDir = join(dir, 'rules');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(rulesDir);
    for (const f of readdirSync(join(REPO_ROOT, 'rules'))) if (f.endsWith('.yaml')) copyFileSync(join(REPO_ROOT, 'rules', f), join(rulesDir, f));
    writeFileSync(join(rulesDir, 'zz-burst.yaml'), burstRule('burst from %container.id'));

    const address = `unix://${join(dir, 'falco.sock')}`;
    falco = new FalcoStandIn({ address, version: '0.42.1' });
    await falco.start();
    siem = await startStandin(() => ({ status: 200 }));
    refusing = await startStandin(() => ({ status: 400, body: '{"error":"schema mismatch"}' }));

    const config = join(dir, 'lanner.yaml');
    writeFileSync(
      config,
      stringifyExact({
        falco: { grpc: { address, poll_interval: '50ms', backoff: { initial: '50ms', max: '200ms', reset_after: '60s' } } },
        ingest: { queue_size: 50 },
        rules: [rulesDir],
        alerts: {
          suppress: [{ name: 'ops shells', namespaces: ['ops'] }],
          rate_limit: { rules: { 'Write below binary dir': { count: 1, per: '1m' } } },
        },
        outputs: [
          { type: 'webhook', name: 'siem', url: siem.url, batch: { max_size: 10, interval: '20ms' } },
          { type: 'webhook', name: 'refusing', url: refusing.url, batch: { max_size: 10, interval: '20ms' } },
        ],
      }),
    );
    lanner = startLanner(['run', '--config', config, '--ingest-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'], { NODE_NAME: NODE });
    lanner.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [ops, ingest] = await Promise.all([
      waitForLog(lanner, (e) => e['msg'] === 'serving /metrics, /healthz, /readyz'),
      waitForLog(lanner, (e) => e['msg'] === 'receiving Falco http_output'),
    ]);
    await logged('the connection to Falco', (e) => e['msg'] === 'connected to Falco', 1);
    ingestUrl = String(ingest['url']);
    metricsUrl = `http://${String(ops['address'])}/metrics`;

    prometheus = await startPrometheus({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      scrape_configs: [{ job_name: 'lanner', static_configs: [{ targets: [String(ops['address'])], labels: { node: NODE } }] }],
    });
    await settled('up{job="lanner"}', 1);

    // Rules change while it runs: an edit (file change), a broken edit (refused and counted),
    // the fix (file change again), then SIGHUP. Each waits for the one before, so a watcher's
    // reload cannot race the signal.
    const reloaded = (trigger: string, n: number) => logged(`reload ${n} by ${trigger}`, (e) => e['msg'] === 'rules reloaded' && e['trigger'] === trigger, n);
    writeFileSync(join(rulesDir, 'zz-burst.yaml'), burstRule('connection burst from %container.id'));
    await reloaded('file change', 1);
    // Prometheus stores each state of the rule set before the next change.
    await nextScrape(prometheus.url);
    writeFileSync(join(rulesDir, 'zz-burst.yaml'), burstRule('burst') + '\n- rule: Broken\n  condition: (evt.type = open\n  output: x\n  priority: WARNING\n');
    await logged('the refused reload', (e) => e['msg'] === 'rule reload refused: the rules in force stay in force', 1);
    await nextScrape(prometheus.url);
    writeFileSync(join(rulesDir, 'zz-burst.yaml'), burstRule('burst from %container.id'));
    await reloaded('file change', 2);
    lanner.kill('SIGHUP');
    await reloaded('SIGHUP', 1);

    // Falco's own alerts over gRPC: two suppressed, three repeats that fold, three incidents of
    // a rule limited to one a minute.
    for (const c of ['ops-1', 'ops-2']) falco.publish(falcoJsonToGrpcResponse(falcoAlert('Terminal shell in container', 'Notice', 'ops', c)));
    for (let i = 0; i < 3; i++) falco.publish(falcoJsonToGrpcResponse(falcoAlert('Terminal shell in container', 'Notice', 'shop', 'web-1')));
    for (const c of ['bin-1', 'bin-2', 'bin-3']) falco.publish(falcoJsonToGrpcResponse(falcoAlert('Write below binary dir', 'Error', 'shop', c)));
    // Feed events over gRPC: connections from four containers into a rule that keeps two keys.
    for (const c of ['c1', 'c2', 'c3', 'c4']) falco.publish(falcoJsonToGrpcResponse(connect(c)));
    await settled(`sum(lanner_events_received_total{transport="grpc"})`, 12);

    // Falco restarts: Lanner reconnects by itself.
    await falco.stop();
    await logged('the lost connection', (e) => e['msg'] === 'lost the connection to Falco', 1);
    falco = new FalcoStandIn({ address, version: '0.42.1' });
    await falco.start();
    await logged('the reconnection', (e) => e['msg'] === 'connected to Falco', 2);
    await settled('lanner_falco_connected', 1);

    // Over HTTP: a privileged container start (a shipped rule), a malformed body, and then a
    // burst of 200 feed events into the empty queue of 50: the rest is shed, and counted.
    const privileged = feed({ 'evt.type': 'container', 'evt.res': null, 'container.id': '9dbcbd0c435f', 'container.name': 'epic_cray', 'container.image.repository': 'nginx', 'container.privileged': true, 'proc.name': 'container:9dbcbd0c435f' });
    expect(await post(stringifyExact(privileged))).toBe(200);
    expect(await post('{"rule":')).toBe(400);
    await settled('lanner_alerts_total{rule="Privileged container started"}', 1);
    const burst = Array.from({ length: 200 }, (_, i) => stringifyExact(feed({ 'evt.type': 'memfd_create', 'proc.pid': 5000 + i, 'container.id': 'web-1' }))).join('\n');
    expect(await post(burst)).toBe(200);
    // The last change stored, then one more scrape, so every rate() window sees it.
    await settled('lanner_events_shed_total{transport="http"}', 150);
    await nextScrape(prometheus.url);
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    if (lanner && lanner.exitCode === null) {
      const exited = new Promise((resolve) => lanner!.once('exit', resolve));
      lanner.kill('SIGTERM');
      await exited;
    }
    await falco?.stop();
    await siem?.close();
    await refusing?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores the exact counts of every stage', async () => {
    const expected: [string, number][] = [
      [`lanner_events_received_total{transport="grpc", source="syscall"}`, 12],
      [`lanner_events_received_total{transport="http", source="syscall"}`, 51],
      [`lanner_events_shed_total{transport="http"}`, 150],
      [`lanner_events_invalid_total{reason="bad_json"}`, 1],
      [`lanner_http_ingest_requests_total{status="200"}`, 2],
      [`lanner_http_ingest_requests_total{status="400"}`, 1],
      [`lanner_alerts_suppressed_total{rule="Terminal shell in container", suppression="ops shells"}`, 2],
      [`lanner_alerts_total{rule="Terminal shell in container", priority="Notice"}`, 1],
      [`lanner_alerts_folded_total{rule="Terminal shell in container"}`, 2],
      [`lanner_alerts_total{rule="Write below binary dir", priority="Error"}`, 1],
      [`lanner_alerts_rate_limited_total{rule="Write below binary dir"}`, 2],
      [`lanner_rule_matches_total{rule="Privileged container started"}`, 1],
      [`lanner_alerts_total{rule="Privileged container started", priority="Warning", family="container_escape"}`, 1],
      [`lanner_rule_matches_total{rule="${BURST_RULE}"}`, 4],
      [`lanner_state_keys{rule="${BURST_RULE}"}`, 2],
      [`lanner_state_evictions_total{rule="${BURST_RULE}"}`, 2],
      [`lanner_rules_reloads_total`, 3],
      [`lanner_rules_reload_failures_total`, 1],
      [`lanner_rules_last_reload_successful`, 1],
      [`lanner_falco_connected`, 1],
    ];
    for (const [expr, want] of expected) await settled(expr, want);
    const alerts = (await scalar('sum(lanner_alerts_total)'))!;
    expect(alerts).toBe(3);
    expect(await scalar('lanner_output_sent_total{output="siem"}')).toBe(alerts);
    expect(await scalar('lanner_output_dropped_total{output="refusing", reason="rejected"}')).toBe(alerts);
    expect(await scalar('sum(lanner_output_failures_total{output="refusing", reason="http_400"})')).toBeGreaterThanOrEqual(1);
    expect(await scalar('lanner_output_latency_seconds_count{output="siem"}')).toBeGreaterThanOrEqual(1);
    expect(await scalar('lanner_ingest_to_alert_seconds_count')).toBe(alerts);
    expect(await scalar('lanner_event_to_alert_seconds_count')).toBe(alerts);
    // The webhook received exactly the alerts Prometheus counted.
    const received = siem!.requests.flatMap((r) => (JSON.parse(r.body) as { rule: string }[]).map((a) => a.rule));
    expect(received.sort()).toEqual(['Privileged container started', 'Terminal shell in container', 'Write below binary dir']);
  });

  it('passes promtool check metrics with the labelled series of every stage present', async () => {
    const text = await (await fetch(metricsUrl)).text();
    for (const series of [
      'lanner_events_shed_total{transport="http"}',
      'lanner_output_queue_depth{output="refusing"}',
      `lanner_state_evictions_total{rule="${BURST_RULE}"}`,
      'lanner_alerts_suppressed_total{rule="Terminal shell in container",suppression="ops shells"}',
    ]) expect(text).toContain(series);
    const r = await runPromtool(['check', 'metrics'], { stdin: text });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('evaluates every dashboard query without error, and every one returns data', async () => {
    const vars = { node: NODE, __rate_interval: '1m', __range: '5m', __interval: '15s' };
    const problems: string[] = [];
    let checked = 0;
    for (const x of dashboardQueries(readDashboard())) {
      const expr = substituteVariables(x.expr, vars);
      const r = await promQuery(prometheus!.url, expr, x.instant ? undefined : { seconds: 60, stepSeconds: 1 });
      const key = `${x.panel}/${x.refId}`;
      if (r.status === 'error') problems.push(`${key}: ${r.error}\n    ${expr}`);
      else if (ACTION_METRIC.test(x.expr)) continue;
      else if (!sampleValues(r).some((v) => Number.isFinite(v))) problems.push(`${key}: no data\n    ${expr}`);
      checked++;
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(40);
  });

  it('logged every reload with its trigger, and the refused one with the file and line of each problem', () => {
    const reloads = logs().filter((e) => e['msg'] === 'rules reloaded').map((e) => e['trigger']);
    expect(reloads).toEqual(['file change', 'file change', 'SIGHUP']);
    const refused = logs().find((e) => e['msg'] === 'rule reload refused: the rules in force stay in force')!;
    expect((refused['problems'] as string[]).join('\n')).toMatch(/zz-burst\.yaml:\d+:\d+: error: /);
  });
});
