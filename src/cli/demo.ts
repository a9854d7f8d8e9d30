/**
 * `lanner demo`: the real service, end to end, against a built-in Falco stand-in that speaks
 * Falco's gRPC API on a temporary unix socket and replays the demo scenario.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { filter, firstValueFrom } from 'rxjs';
import { ActionEngine } from '../actions/action-engine.js';
import { ClientNodeKubeApi } from '../actions/kube.js';
import { defaultActionsOptions } from '../actions/options.js';
import type { ActionRecord } from '../alerts/alert.js';
import { familyOf } from '../alerts/family.js';
import { isLannerError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import { nowNs } from '../core/time.js';
import { version } from '../core/version.js';
import { FalcoStandIn, falcoJsonToGrpcResponse, type FalcoJsonEvent } from '../demo/falco-grpc-server.js';
import { KubeApiStandIn } from '../demo/kube-api-standin.js';
import { buildScenario, type ScenarioEvent } from '../demo/scenario.js';
import { FalcoGrpcSource } from '../ingest/falco-grpc.js';
import { createMetrics, type LannerMetrics } from '../metrics/metrics.js';
import { StdoutOutput } from '../outputs/stdout.js';
import { LannerService } from '../service/lanner-service.js';
import { assemble } from '../service/assemble.js';
import { loadConfig } from '../config/config.js';
import { parseFlags } from './args.js';
import { DEMO_HELP } from './usage.js';

const DEFAULT_METRICS_LISTEN = '127.0.0.1:9376';

export async function runDemo(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('demo', argv, {
    follow: { type: 'boolean' },
    fast: { type: 'boolean' },
    'metrics-listen': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(DEMO_HELP);
    return 0;
  }
  // The terminal is the demo's stage: only warnings and errors reach it unless asked for more.
  const logger = createLogger(process.env['LANNER_LOG_LEVEL'] ?? 'warn');
  const metrics = createMetrics({ version: version() });
  const dir = mkdtempSync(join(tmpdir(), 'lanner-demo-'));
  const address = `unix://${join(dir, 'falco.sock')}`;
  const falco = new FalcoStandIn({ address, version: '0.43.0' });
  await falco.start();
  const kube = await demoCluster();
  const human = process.stdout.isTTY === true;
  const say = (text: string): void => void (human ? process.stdout : process.stderr).write(text + '\n');

  let service: LannerService | undefined;
  try {
    service = await startService(address, logger, metrics, values['metrics-listen'], kube);
    const source = falcoSource(service);
    const ops = service.opsAddress;
    say(`Lanner ${version()} demo: a Falco stand-in (Falco 0.43.0 gRPC API) on ${address}`);
    if (ops) say(`metrics: http://${ops.host}:${ops.port}/metrics`);
    await firstValueFrom(source.connection$.pipe(filter((up) => up)));
    say(`connected to Falco ${source.falcoVersion?.version ?? '?'}; replaying the scenario: a web shop's checkout pod is attacked among benign noise\n`);

    const seen = new Map<string, { origin: string; family: string; count: number }>();
    const decisions: { record: ActionRecord; output: string }[] = [];
    service.onAlert((alert) => {
      if (alert.action) {
        decisions.push({ record: alert.action, output: alert.output });
        return;
      }
      const family = familyOf(alert);
      const entry = seen.get(alert.rule) ?? { origin: alert.origin, family: family === 'falco' || family === 'other' ? '' : family, count: 0 };
      entry.count++;
      seen.set(alert.rule, entry);
    });
    const scenario = buildScenario(nowNs());
    await play(falco, scenario, values.fast === true);
    await delivered(metrics, scenario.length);
    await service.queue.idle();
    await service.actions?.idle();
    say(summary(service, scenario, seen));
    say(responses(decisions));
    if (values.follow) {
      say(`\nfollowing: the service keeps running${ops ? ` with metrics at http://${ops.host}:${ops.port}/metrics` : ''}; Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
  } finally {
    await service?.stop(5000);
    await falco.stop();
    await kube.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

/** The shipped rules directory, found from both src/ and the compiled dist/src/. */
function shippedRules(): string {
  for (const rel of ['../../rules', '../../../rules']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  throw new Error('the shipped rules directory was not found');
}

const DEMO_TOKEN = 'demo-service-account-token';

/** The cluster the scenario happens in, as far as the responders can see it: the pods on worker-2. */
async function demoCluster(): Promise<KubeApiStandIn> {
  const api = new KubeApiStandIn({ token: DEMO_TOKEN });
  await api.start();
  api.addNode('worker-2');
  api.addPod('shop', 'checkout-6d8f9c7b5-x2lqp', { node: 'worker-2', labels: { app: 'checkout' } });
  api.addPod('shop', 'frontend-5b7c9d-9qk2m', { node: 'worker-2', labels: { app: 'frontend' } });
  return api;
}

/** Dry run, as a fresh install is: the decisions are made and shown, nothing is sent. */
function demoActions(kube: KubeApiStandIn, logger: Logger, metrics: LannerMetrics): ActionEngine {
  const kc = new KubeConfig();
  // Plain HTTP on loopback to the demo's own stand-in; a real cluster is reached over verified TLS.
  kc.loadFromOptions({
    clusters: [{ name: 'demo', server: kube.url, skipTLSVerify: true }],
    users: [{ name: 'lanner', token: DEMO_TOKEN }],
    contexts: [{ name: 'demo', cluster: 'demo', user: 'lanner' }],
    currentContext: 'demo',
  });
  return new ActionEngine(defaultActionsOptions({ dryRun: true }), { logger, metrics, kube: new ClientNodeKubeApi(kc), node: 'worker-2', cluster: 'demo' });
}

/**
 * The service `lanner run` would start with the shipped rules and a Falco gRPC source, from a
 * config of the demo's own (environment overrides do not leak into a demo), with the demo's
 * responders. Assembled as every mode is, so the demo shows the pipeline that runs in a cluster.
 */
async function startService(address: string, logger: Logger, metrics: LannerMetrics, listen: string | undefined, kube: KubeApiStandIn): Promise<LannerService> {
  const make = (opsListen: string): Promise<LannerService> => {
    const config = loadConfig({
      env: {},
      overrides: {
        'falco.grpc.address': address,
        'falco.grpc.poll_interval': '100ms',
        'falco.grpc.backoff.initial': '100ms',
        'falco.grpc.backoff.max': '1s',
        rules: [shippedRules()],
        // The stand-in plays Falco on node worker-2; Lanner runs beside it there.
        node_name: 'worker-2',
        cluster: 'demo',
      },
    });
    return assemble(config, {
      mode: 'live',
      logger,
      metrics,
      opsListen,
      outputs: [new StdoutOutput('stdout', { format: 'auto', maxBacklogBytes: 16 * 1024 * 1024 }, { logger, metrics })],
      actions: demoActions(kube, logger, metrics),
    });
  };
  const first = await make(listen ?? DEFAULT_METRICS_LISTEN);
  try {
    await first.start();
    return first;
  } catch (err) {
    // A second demo, or a running Lanner, may hold the default port: any free port serves a demo.
    if (listen !== undefined || !isLannerError(err) || err.code !== 'LANNER_LISTEN') throw err;
    await first.close();
    const fallback = await make('127.0.0.1:0');
    await fallback.start();
    return fallback;
  }
}

/** The service's Falco gRPC source, whose connection the demo waits for. */
function falcoSource(service: LannerService): FalcoGrpcSource {
  const source = service.sources.find((s): s is FalcoGrpcSource => s instanceof FalcoGrpcSource);
  if (!source) throw new Error('the demo service has no Falco gRPC source');
  return source;
}

async function play(falco: FalcoStandIn, scenario: readonly ScenarioEvent[], fast: boolean): Promise<void> {
  const started = Date.now();
  for (const event of scenario) {
    const wait = fast ? 0 : event.at - (Date.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    falco.publish(falcoJsonToGrpcResponse(event.json as FalcoJsonEvent));
  }
}

/** Waits until Lanner has taken in `count` events (or refused them), at most ten seconds. */
async function delivered(metrics: LannerMetrics, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const received = (await metrics.eventsReceived.get()).values.reduce((n, v) => n + v.value, 0);
    const invalid = (await metrics.eventsInvalid.get()).values.reduce((n, v) => n + v.value, 0);
    if (received + invalid >= count || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What the responders decided, and that nothing reached the cluster. */
function responses(decisions: readonly { record: ActionRecord; output: string }[]): string {
  if (decisions.length === 0) return '';
  const lines = decisions.map(({ record: r }) => {
    const what = r.outcome === 'refused' ? `refused (${r.reason ?? '?'})` : r.outcome === 'dry_run' ? 'would run' : r.outcome;
    return `  ${r.name.padEnd(10)}  ${what.padEnd(18)}  pod ${r.target.namespace ?? '-'}/${r.target.pod ?? '-'}  for ${r.alert_rule ?? 'a manual request'}`;
  });
  const first = decisions.find((d) => d.record.outcome === 'dry_run');
  return [
    '',
    'response (dry run: decided and audited, nothing sent to the cluster; set actions.dry_run: false to act):',
    ...lines,
    ...(first ? [`  -> ${first.output}`] : []),
  ].join('\n');
}


function summary(service: LannerService, scenario: readonly ScenarioEvent[], seen: ReadonlyMap<string, { origin: string; family: string; count: number }>): string {
  const feed = scenario.filter((e) => (e.json['tags'] as string[]).includes('lanner_feed')).length;
  const { alerts } = service.stats;
  const rows = [...seen].sort((a, b) => (a[1].origin === b[1].origin ? 0 : a[1].origin === 'lanner' ? -1 : 1));
  const lines = [
    '',
    `summary: ${scenario.length} events in over gRPC (${feed} raw syscall events from the feed rules, ${scenario.length - feed} Falco alerts), ${alerts} alerts out`,
    ...rows.map(([rule, e]) => `  ${String(e.count).padStart(3)}  ${e.origin.padEnd(6)}  ${(e.family || '-').padEnd(17)}  ${rule}`),
  ];
  return lines.join('\n');
}
