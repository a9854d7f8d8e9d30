/**
 * The one assembly of Lanner's pipeline, for `run`, `replay`, `demo` and the tests:
 * sources → ingest queue → normalize → detect → alert lifecycle → outputs and actions.
 * What differs between them is a parameter here, never a copy of the wiring, so a stage added
 * to the pipeline is in every mode, and a replay gives the alerts the live stream gave.
 */
import type { ActionEngine } from '../actions/action-engine.js';
import type { LannerConfig } from '../config/config.js';
import { LannerError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Source } from '../ingest/source.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { stageErrorHandler } from '../metrics/stage-errors.js';
import type { Output } from '../outputs/output.js';
import { StdoutOutput } from '../outputs/stdout.js';
import { actionApi } from '../server/action-api.js';
import { LannerService } from './lanner-service.js';
import { RulesStage } from './rules-stage.js';

/**
 * - `live`: the wall clock ticks the alert lifecycle (cooldowns end while nothing arrives), and
 *   bounds event time: an event stamped more than `ingest.max_future_skew` ahead of it is
 *   refused at the ingest queue, whatever its transport; rules reload on change, learned
 *   baselines are restored and saved, /metrics is served, alerts are stamped with the node and
 *   cluster, and the config's responders act.
 * - `replay`: event time alone drives windows and cooldowns, flushed when the input ends, and a
 *   capture's times are taken as they are (a replay is never "in the future"); it starts with
 *   no learned state and saves none, so the same input gives the same alerts; no server, no
 *   responders, and no stamp of the machine that happens to run the replay.
 */
export type PipelineMode = 'live' | 'replay';

export interface AssembleOptions {
  readonly mode: PipelineMode;
  readonly logger: Logger;
  readonly metrics: LannerMetrics;
  /** Sources to run instead of those the config turns on (a replay's one input, a stand-in). */
  readonly sources?: readonly Source[];
  /** Outputs instead of the config's (the config's, or native JSON lines on stdout, by default). */
  readonly outputs?: readonly Output[];
  /** The response engine instead of the one the config describes (live mode only). */
  readonly actions?: ActionEngine;
  /** HOST:PORT of the operations server instead of `server.listen` (live mode only). */
  readonly opsListen?: string;
}

export async function assemble(config: LannerConfig, options: AssembleOptions): Promise<LannerService> {
  const { logger, metrics, mode } = options;
  const live = mode === 'live';
  const deps = { logger, metrics };
  const sources = options.sources ?? config.sources.map((s) => s.create(deps));
  if (sources.length === 0) {
    throw new LannerError(
      'LANNER_NO_SOURCE',
      'no event source configured: set falco.grpc.address (--falco-grpc), ingest.http.listen (--ingest-listen) or ingest.files (--input)',
    );
  }
  const outputs =
    options.outputs ??
    (config.outputs.length > 0
      ? config.outputs.map((o) => o.create(o.name, deps))
      : [new StdoutOutput('stdout', { format: 'json', maxBacklogBytes: 16 * 1024 * 1024 }, deps)]);

  // One handler for every stage, so each stage's failures are logged at most once a minute.
  const onStageError = stageErrorHandler(metrics, logger);
  let ingestedAt = (): number => 0;
  const rules =
    config.rules.length > 0
      ? new RulesStage({
          paths: config.rules,
          bounds: { maxKeys: config.state.maxKeys, ttlMs: config.state.ttlMs },
          stateFile: live ? config.state.file : '',
          saveIntervalMs: config.state.saveIntervalMs,
          logger,
          metrics,
          onError: onStageError,
          ...(live ? { ingestedAtMs: () => ingestedAt() } : {}),
        })
      : undefined;

  const actions = live ? (options.actions ?? (await buildActions(config, deps))) : undefined;
  const service = new LannerService({
    logger,
    metrics,
    onStageError,
    sources,
    outputs,
    detectors: rules ? [rules.detector] : [],
    // Reloading and saving belong to a running service; a replay's rules stay as loaded.
    stages: rules && live ? [rules] : [],
    queueSize: config.ingest.queueSize,
    ...(live ? { maxFutureSkewMs: config.ingest.maxFutureSkewMs } : {}),
    alerts: config.alerts,
    clock: live ? 'wall' : 'event',
    ...(live ? { opsListen: options.opsListen ?? config.server.listen, opsLimits: config.server.limits, context: { node: config.nodeName, cluster: config.cluster } } : {}),
    ...(actions ? { actions } : {}),
    ...(actions && config.actions.api.enabled ? { api: actionApi(actions, config.actions.api.token, logger) } : {}),
  });
  ingestedAt = () => service.queue.currentIngestedAtMs;
  return service;
}

/**
 * The response engine. In a pod it talks to the API with the service account; elsewhere only an
 * explicit kubeconfig connects it, so a laptop's ~/.kube/config is never used by surprise. The
 * Kubernetes client is loaded here, when a live service needs it, so a replay starts without it.
 */
async function buildActions(config: LannerConfig, deps: { readonly logger: Logger; readonly metrics: LannerMetrics }): Promise<ActionEngine> {
  const [{ ActionEngine }, { ClientNodeKubeApi, loadKubeConfig }] = await Promise.all([import('../actions/action-engine.js'), import('../actions/kube.js')]);
  const kc = loadKubeConfig({ kubeconfig: config.actions.kubeconfig, home: false });
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
