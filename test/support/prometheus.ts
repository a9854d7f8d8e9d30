/**
 * A real Prometheus and promtool for tests (Debian package `prometheus`, installed by
 * `.ci/run`), and readers for the monitoring files Lanner ships in deploy/.
 *
 * Without the programs, tests that need them skip with a loud warning on a developer's machine;
 * under CI=true they fail instead, so a CI image that lost the package cannot pass by skipping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { REPO_ROOT } from './shared.js';
import { PATIENCE_MS, waitFor } from './wait.js';

export const IN_CI = process.env['CI'] === 'true';

/**
 * How tests wait on a running Prometheus (spread into waitFor's options): its API can fail
 * while it starts, and it scrapes and evaluates on seconds-long intervals.
 */
export const PROMETHEUS_WAIT = { timeoutMs: PATIENCE_MS, intervalMs: 100, retryOnError: true } as const;

export const DEPLOY = {
  rules: join(REPO_ROOT, 'deploy', 'prometheus', 'lanner-rules.yaml'),
  rulesTest: join(REPO_ROOT, 'deploy', 'prometheus', 'lanner-rules.test.yaml'),
  scrapeExample: join(REPO_ROOT, 'deploy', 'prometheus', 'scrape-example.yaml'),
  prometheusRule: join(REPO_ROOT, 'deploy', 'kubernetes', 'prometheusrule.yaml'),
  serviceMonitor: join(REPO_ROOT, 'deploy', 'kubernetes', 'servicemonitor.yaml'),
  dashboard: join(REPO_ROOT, 'deploy', 'grafana', 'lanner.json'),
  operatingDoc: join(REPO_ROOT, 'docs', 'operating.md'),
} as const;

/** The absolute path of `program` on PATH, if it is there and executable. */
export function which(program: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Whether tests needing `program` should be skipped: only when it is missing outside CI, after
 * saying so loudly. Under CI the tests run and fail on {@link programPath}.
 */
export function skipWithout(program: string, what: string): boolean {
  if (which(program) !== undefined || IN_CI) return false;
  console.warn(`\n*** ${program} not found on PATH: ${what} are SKIPPED. Install the Debian package \`prometheus\` (.ci/run does). ***\n`);
  return true;
}

export function programPath(program: string): string {
  const path = which(program);
  if (path === undefined) throw new Error(`${program} not found on PATH (CI=${String(process.env['CI'])}): install the Debian package \`prometheus\``);
  return path;
}

export interface ProgramResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runPromtool(args: readonly string[], options: { cwd?: string; stdin?: string } = {}): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(programPath('promtool'), args, { cwd: options.cwd ?? REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** A TCP port free on 127.0.0.1 at the time of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningPrometheus {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly pid: number;
  /** Output so far, for failure messages. */
  log(): string;
  /** Stops this Prometheus by its pid and removes its config and data directory. */
  stop(): Promise<void>;
}

/**
 * Starts Prometheus on loopback with `config` (a prometheus.yml object) in a fresh temporary
 * directory, and resolves once `GET /-/ready` answers 200.
 */
export async function startPrometheus(config: Record<string, unknown>, readyTimeoutMs = PATIENCE_MS): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'lanner-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, stringifyYaml(config));
  // Another process can take the port between freePort() and Prometheus binding it; a second
  // port is cheaper than a flaky test.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(programPath('prometheus'), [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, `data-${attempt}`)}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ]);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    const stop = async (): Promise<void> => {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      await waitReady(url, child, () => output, readyTimeoutMs);
      return { url, pid: child.pid!, log: () => output, stop };
    } catch (err) {
      await stopChild(child);
      lastError = err as Error;
      if (!/address already in use/.test(output)) break;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError ?? new Error('prometheus did not start');
}

async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const ready = async (): Promise<boolean> => {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${output()}`);
    try {
      return (await fetch(`${url}/-/ready`)).status === 200;
    } catch {
      return false; // not listening yet
    }
  };
  // A timeout says nothing of why; Prometheus's own output does.
  await waitFor(ready, { what: 'prometheus to be ready', timeoutMs, intervalMs: 100 }).catch((err: Error) => {
    throw err.message.startsWith('prometheus exited') ? err : new Error(`${err.message}:\n${output()}`);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** One sample of an instant vector, or one series of a range matrix, as the HTTP API returns it. */
export interface PromSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly value?: readonly [number, string];
  readonly values?: readonly (readonly [number, string])[];
}

export type PromQueryResult =
  | { readonly status: 'success'; readonly resultType: 'vector' | 'matrix'; readonly series: readonly PromSeries[] }
  | { readonly status: 'success'; readonly resultType: 'scalar' | 'string'; readonly series: readonly PromSeries[] }
  | { readonly status: 'error'; readonly error: string };

interface ApiAnswer {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: 'vector' | 'matrix' | 'scalar' | 'string'; result: PromSeries[] | [number, string] };
}

/** `/api/v1/query` (instant) or, with `range`, `/api/v1/query_range`, as Grafana would ask. */
export async function promQuery(url: string, expr: string, range?: { readonly seconds: number; readonly stepSeconds: number }): Promise<PromQueryResult> {
  const now = Date.now() / 1000;
  const params = new URLSearchParams({ query: expr });
  if (range) {
    params.set('start', String(now - range.seconds));
    params.set('end', String(now));
    params.set('step', String(range.stepSeconds));
  } else {
    params.set('time', String(now));
  }
  const res = await fetch(`${url}/api/v1/${range ? 'query_range' : 'query'}`, {
    method: 'POST',
    body: params,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const answer = (await res.json()) as ApiAnswer;
  if (answer.status !== 'success' || !answer.data) return { status: 'error', error: answer.error ?? `HTTP ${res.status}` };
  const { resultType, result } = answer.data;
  if (resultType === 'scalar' || resultType === 'string') {
    return { status: 'success', resultType, series: [{ metric: {}, value: result as [number, string] }] };
  }
  return { status: 'success', resultType, series: result as PromSeries[] };
}

/**
 * Waits until Prometheus holds a scrape of every target of `job` that began after this call,
 * so that what the targets expose now is stored (and every rate() window sees it).
 */
export async function nextScrape(url: string, job = 'lanner'): Promise<void> {
  const after = Date.now() / 1000;
  await waitFor(
    async () => {
      const starts = sampleValues(await promQuery(url, `timestamp(up{job="${job}"})`));
      return starts.length > 0 && starts.every((t) => t > after);
    },
    { ...PROMETHEUS_WAIT, what: `a scrape of job ${job} begun after ${after}` },
  );
}

/** GET a Prometheus API path and return its `data`, failing on an error answer. */
export async function promApi<T>(url: string, path: string): Promise<T> {
  const res = await fetch(`${url}${path}`);
  const answer = (await res.json()) as { status: string; data: T; error?: string };
  if (answer.status !== 'success') throw new Error(`${path}: ${answer.error ?? res.status}`);
  return answer.data;
}

// ---- the shipped monitoring files ----

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface RuleGroups {
  readonly groups: readonly { readonly name: string; readonly rules: readonly AlertRule[] }[];
}

export function readYaml(file: string): unknown {
  return parseYaml(readFileSync(file, 'utf8'));
}

export function readRuleGroups(): RuleGroups {
  return readYaml(DEPLOY.rules) as RuleGroups;
}

export function alertRules(): AlertRule[] {
  return readRuleGroups().groups.flatMap((g) => g.rules);
}

/**
 * deploy/kubernetes/prometheusrule.yaml as it must read: the groups of lanner-rules.yaml as
 * the spec of a PrometheusRule. Generated rather than kept by hand so the two cannot drift;
 * a test compares, and `UPDATE_DEPLOY=1` rewrites the file.
 */
export function prometheusRuleManifest(): string {
  const manifest = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'lanner', labels: { 'app.kubernetes.io/name': 'lanner' } },
    spec: readRuleGroups(),
  };
  const header = [
    '# GENERATED from deploy/prometheus/lanner-rules.yaml: edit that file, then run',
    '#   UPDATE_DEPLOY=1 npx vitest run test/metrics/deploy.test.ts',
    '# The groups of lanner-rules.yaml as a Prometheus Operator PrometheusRule. kube-prometheus-stack',
    '# only loads PrometheusRules whose labels match its ruleSelector (by default',
    '# `release: <helm release name>`): add that label if yours does not select every rule.',
    '#   kubectl apply -n lanner -f deploy/kubernetes/prometheusrule.yaml',
  ].join('\n');
  return `${header}\n${stringifyYaml(manifest, { lineWidth: 0 })}`;
}

/** A query of a dashboard panel, with where it comes from for failure messages. */
export interface DashboardQuery {
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
  readonly instant: boolean;
}

export interface GrafanaTarget {
  readonly refId: string;
  readonly expr: string;
  readonly instant?: boolean;
  readonly range?: boolean;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
}

export interface GrafanaPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly targets?: readonly GrafanaTarget[];
  readonly panels?: readonly GrafanaPanel[];
}

export interface GrafanaVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query: string };
  readonly datasource?: { readonly type?: string; readonly uid?: string };
  readonly includeAll?: boolean;
  readonly allValue?: string;
  readonly multi?: boolean;
}

export interface GrafanaDashboard {
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly GrafanaPanel[];
  readonly templating: { readonly list: readonly GrafanaVariable[] };
}

export function readDashboard(): GrafanaDashboard {
  return JSON.parse(readFileSync(DEPLOY.dashboard, 'utf8')) as GrafanaDashboard;
}

/** Every panel, rows' nested panels included (a collapsed row keeps its panels inside it). */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(dashboard: GrafanaDashboard): DashboardQuery[] {
  return allPanels(dashboard).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr, instant: t.instant === true && t.range !== true })),
  );
}

/**
 * Replaces Grafana variables in `expr` the way Grafana would before sending it to Prometheus.
 * Any variable left over is an error: it would reach Prometheus as text and fail there, or
 * worse, match nothing silently.
 */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  const out = expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = values[name];
    if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in: ${expr}`);
    return value;
  });
  return out;
}

/**
 * Metric names used in `expr`. Every metric on the dashboard and in the rules is Lanner's own
 * (`lanner_`), a process metric of prom-client (`process_`, `nodejs_`) or `up`, so matching
 * those prefixes is exact enough and cannot mistake a label name for a metric.
 */
export function metricNamesIn(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...new Set(bare.match(/\b(?:lanner|process|nodejs)_[a-zA-Z0-9_]+\b|\bup\b/g) ?? [])];
}

/** Each metric selector in `expr`: the name and its label matchers (empty when it has none). */
export function selectorsIn(expr: string): { readonly name: string; readonly matchers: string }[] {
  return [...expr.matchAll(/\b((?:lanner|process|nodejs)_[a-zA-Z0-9_]+|up)\b(\{[^}]*\})?/g)].map((m) => ({ name: m[1]!, matchers: m[2] ?? '' }));
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to dashes. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Anchors of every heading in a Markdown file. */
export function markdownAnchors(file: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (m) anchors.add(headingAnchor(m[1]!));
  }
  return anchors;
}

/** Every sample value of a query's answer, as numbers; none when the query failed. */
export function sampleValues(r: PromQueryResult): number[] {
  if (r.status !== 'success') return [];
  return r.series.flatMap((s) => [...(s.values ?? []), ...(s.value ? [s.value] : [])]).map(([, v]) => Number(v));
}
