/**
 * `lanner replay FILE|-`: Falco JSON lines through the same pipeline `lanner run` assembles, in
 * replay mode (event time alone, no learned state): alerts on stdout, a summary on stderr.
 */
import { LannerError } from '../core/errors.js';
import type { FalcoEvent } from '../core/event.js';
import { createLogger, type Logger } from '../core/log.js';
import { loadConfig } from '../config/config.js';
import { JsonLinesSource } from '../ingest/json-lines.js';
import type { InvalidReason } from '../ingest/normalize.js';
import type { EventSink, Source } from '../ingest/source.js';
import { createMetrics } from '../metrics/metrics.js';
import { StdoutOutput } from '../outputs/stdout.js';
import { FORMAT_NAMES, isFormatName } from '../alerts/formats/index.js';
import { assemble } from '../service/assemble.js';
import { parseFlags } from './args.js';
import { configFileFrom } from './config-file.js';
import { REPLAY_HELP } from './usage.js';

/** What a replay read, for its summary. */
interface Tally {
  read: number;
  feed: number;
  readonly invalid: Map<InvalidReason, number>;
}

/** The input as a source whose sink counts what it reads, and names the first bad lines of each kind. */
function counted(input: JsonLinesSource, tally: Tally, logger: Logger): Source {
  return {
    name: input.name,
    ready: () => input.ready(),
    close: () => input.close(),
    start: (sink: EventSink) =>
      input.start({
        accept(event: FalcoEvent): boolean {
          tally.read++;
          if (event.feed) tally.feed++;
          return sink.accept(event);
        },
        reject(reason, detail, transport) {
          const n = (tally.invalid.get(reason) ?? 0) + 1;
          tally.invalid.set(reason, n);
          if (n <= 3) logger.warn({ reason, detail }, 'invalid event skipped');
          sink.reject(reason, detail, transport);
        },
        whenRoom: () => sink.whenRoom?.() ?? Promise.resolve(),
        get full() {
          return sink.full ?? false;
        },
      }),
  };
}

export async function runReplay(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    'replay',
    argv,
    {
      config: { type: 'string' },
      rules: { type: 'string', multiple: true },
      format: { type: 'string', default: 'json' },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new LannerError('LANNER_USAGE', `replay: expected exactly one input, FILE or -, got ${positionals.length} (see 'lanner replay --help')`);
  }
  const format = values.format;
  if (format !== 'json' && format !== 'pretty' && !isFormatName(format)) {
    throw new LannerError('LANNER_USAGE', `replay: --format ${JSON.stringify(format)} is not one of json, pretty, ${FORMAT_NAMES.join(', ')}`);
  }
  const config = loadConfig({
    file: configFileFrom(values.config),
    overrides: values.rules ? { rules: values.rules } : {},
  });
  // A replay's stderr is its summary: the service's own start-up lines would bury it.
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const metrics = createMetrics({ processMetrics: false });
  const output = new StdoutOutput('stdout', { format, maxBacklogBytes: Number.MAX_SAFE_INTEGER }, { logger, metrics });
  const input = new JsonLinesSource(positionals[0]!, logger);
  const tally: Tally = { read: 0, feed: 0, invalid: new Map() };
  const service = await assemble(config, { mode: 'replay', logger, metrics, sources: [counted(input, tally, logger)], outputs: [output] });
  await service.start();
  await input.finished();
  await service.drain();
  await service.close();

  const { alerts, alertsByRule } = service.stats;
  const invalidTotal = [...tally.invalid.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `lanner replay: ${tally.read} events (${tally.feed} feed, ${tally.read - tally.feed} Falco alerts), ${invalidTotal} invalid, ${alerts} alerts`,
    ...[...tally.invalid].map(([reason, n]) => `  invalid ${reason}: ${n}`),
    ...[...alertsByRule].sort((a, b) => b[1] - a[1]).map(([rule, n]) => `  ${String(n).padStart(6)}  ${rule}`),
  ];
  process.stderr.write(lines.join('\n') + '\n');
  return 0;
}
