/** `lanner run`: the detector as a long-running service. */
import { loadConfig, type ConfigOverrides } from '../config/config.js';
import { createLogger } from '../core/log.js';
import { createMetrics } from '../metrics/metrics.js';
import { assemble } from '../service/assemble.js';
import { parseFlags } from './args.js';
import { configFileFrom } from './config-file.js';
import { version } from '../core/version.js';
import { RUN_HELP } from './usage.js';

export async function runService(argv: readonly string[]): Promise<number> {
  const { values } = parseFlags('run', argv, {
    config: { type: 'string' },
    'falco-grpc': { type: 'string' },
    'ingest-listen': { type: 'string' },
    'metrics-listen': { type: 'string' },
    rules: { type: 'string', multiple: true },
    input: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const overrides: Record<string, ConfigOverrides[string]> = {};
  if (values['falco-grpc'] !== undefined) overrides['falco.grpc.address'] = values['falco-grpc'];
  if (values['ingest-listen'] !== undefined) overrides['ingest.http.listen'] = values['ingest-listen'];
  if (values['metrics-listen'] !== undefined) overrides['server.listen'] = values['metrics-listen'];
  if (values.rules !== undefined) overrides['rules'] = values.rules;
  if (values.input !== undefined) overrides['ingest.files'] = values.input;
  const config = loadConfig({ file: configFileFrom(values.config), overrides });

  const logger = createLogger(config.logLevel);
  const metrics = createMetrics({ version: version() });
  const service = await assemble(config, { mode: 'live', logger, metrics });
  logger.info({ version: version(), node: config.nodeName }, 'lanner starting');
  try {
    await service.start();
  } catch (err) {
    // A port in use or a TLS file missing: stop what did start (the ops server would keep the
    // process alive, not ready, for ever) and exit non-zero with the reason.
    logger.fatal({ err: (err as Error).message }, 'lanner cannot start');
    await service.stop(config.shutdownGraceMs);
    throw err;
  }

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'stopping: draining events and flushing outputs');
  const outcome = await service.stop(config.shutdownGraceMs);
  logger.info({ outcome }, 'lanner stopped');
  return 0;
}
