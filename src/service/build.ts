/**
 * Builds a LannerService from the validated config: only the sources and outputs the config
 * names are constructed.
 */
import { ActionEngine } from '../actions/action-engine.js';
import { ClientNodeKubeApi, loadKubeConfig } from '../actions/kube.js';
import type { LannerConfig } from '../config/config.js';
import { LannerError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { FalcoGrpcSource } from '../ingest/falco-grpc.js';
import { HttpIngestSource } from '../ingest/http-receiver.js';
import { JsonLinesSource } from '../ingest/json-lines.js';
import type { Source } from '../ingest/source.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import type { Output } from '../outputs/output.js';
import { StdoutOutput } from '../outputs/stdout.js';
import { actionApi } from '../server/action-api.js';
import { parseHostPort } from '../core/listen.js';
import { LannerService } from './lanner-service.js';
import { RulesStage } from './rules-stage.js';

export interface BuildDeps {
  readonly logger: Logger;
  readonly metrics: LannerMetrics;
}

export function buildService(config: LannerConfig, deps: BuildDeps): LannerService {
  const { logger, metrics } = deps;
  const sources: Source[] = [];
  let grpc: FalcoGrpcSource | undefined;
  const g = config.falcoGrpc;
  if (g.address !== '') {
    const tls = g.tls.ca || g.tls.cert || g.tls.key ? { ca: g.tls.ca, cert: g.tls.cert, key: g.tls.key, ...(g.tls.serverName ? { serverName: g.tls.serverName } : {}) } : undefined;
    grpc = new FalcoGrpcSource({
      address: g.address,
      ...(tls ? { tls } : {}),
      mode: g.mode,
      pollIntervalMs: g.pollIntervalMs,
      keepaliveMs: g.keepaliveMs,
      backoff: g.backoff,
      logger,
      metrics,
    });
    sources.push(grpc);
  }
  const h = config.ingest.http;
  let http: HttpIngestSource | undefined;
  if (h.listen !== '') {
    const { host, port } = parseHostPort(h.listen);
    http = new HttpIngestSource({
      host,
      port,
      path: h.path,
      bodyLimitBytes: h.bodyLimitBytes,
      ...(h.token ? { token: h.token } : {}),
      ...(h.tls.cert || h.tls.key ? { tls: { cert: h.tls.cert, key: h.tls.key, ...(h.tls.ca ? { ca: h.tls.ca } : {}), requireClientCert: h.tls.clientAuth } } : {}),
      logger,
      metrics,
    });
    sources.push(http);
  }
  for (const file of config.ingest.files) sources.push(new JsonLinesSource(file, logger));
  if (sources.length === 0) {
    throw new LannerError(
      'LANNER_NO_SOURCE',
      'no event source configured: set falco.grpc.address (--falco-grpc), ingest.http.listen (--ingest-listen) or ingest.files (--input)',
    );
  }

  const outputs: Output[] =
    config.outputs.length > 0
      ? config.outputs.map((o) => o.create(o.name, deps))
      : [new StdoutOutput('stdout', { format: 'json', maxBacklogBytes: 16 * 1024 * 1024 }, deps)];

  let ingestedAt = (): number => 0;
  const rules =
    config.rules.length > 0
      ? new RulesStage({
          paths: config.rules,
          bounds: { maxKeys: config.state.maxKeys, ttlMs: config.state.ttlMs },
          stateFile: config.state.file,
          saveIntervalMs: config.state.saveIntervalMs,
          logger,
          metrics,
          ingestedAtMs: () => ingestedAt(),
        })
      : undefined;

  const actions = buildActions(config, deps);

  const service = new LannerService({
    logger,
    metrics,
    sources,
    outputs,
    detectors: rules ? [rules.detector] : [],
    stages: rules ? [rules] : [],
    queueSize: config.ingest.queueSize,
    alerts: config.alerts,
    opsListen: config.server.listen,
    context: { node: config.nodeName, cluster: config.cluster },
    // Ready when some source can deliver: Falco's stream is up, or Falco can post to us.
    sourcesReady: () => {
      if (http || config.ingest.files.length > 0) return null;
      return grpc?.connected ? null : 'not connected to Falco';
    },
    actions,
    ...(config.actions.api.enabled ? { api: actionApi(actions, config.actions.api.token, logger) } : {}),
  });
  ingestedAt = () => service.queue.currentIngestedAtMs;
  return service;
}

/**
 * The response engine. In a pod it talks to the API with the service account; elsewhere only an
 * explicit kubeconfig connects it, so a laptop's ~/.kube/config is never used by surprise.
 */
export function buildActions(config: LannerConfig, deps: BuildDeps, env: NodeJS.ProcessEnv = process.env): ActionEngine {
  const kc = loadKubeConfig({ kubeconfig: config.actions.kubeconfig, home: false }, env);
  if (!kc) deps.logger.info('no Kubernetes API configured: response actions are decided and audited without it');
  deps.logger.info({ dry_run: config.actions.dryRun }, config.actions.dryRun ? 'response actions in dry run: decided and audited, nothing sent' : 'response actions live');
  return new ActionEngine(config.actions, {
    logger: deps.logger,
    metrics: deps.metrics,
    kube: kc ? new ClientNodeKubeApi(kc) : undefined,
    node: config.nodeName,
    cluster: config.cluster,
  });
}
