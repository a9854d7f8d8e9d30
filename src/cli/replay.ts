/** `lanner replay FILE|-`: Falco JSON lines through detection, alerts on stdout, summary on stderr. */
import { Subject } from 'rxjs';
import type { FalcoEvent } from '../core/event.js';
import { LannerError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { loadConfig } from '../config/config.js';
import { detectionPipeline, type Detector } from '../detect/pipeline.js';
import { loadDetectionRules } from '../rules/compiler/stateful.js';
import { ruleDetector } from '../detect/rule-detector.js';
import { RuleEngine } from '../detect/rule-engine.js';
import { formatProblem } from '../rules/problems.js';
import type { LannerConfig } from '../config/config.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { AlertLifecycle, alertLifecycle, lifecycleMetrics } from '../alerts/lifecycle/lifecycle.js';
import { openInput, readJsonLines } from '../ingest/json-lines.js';
import { createMetrics } from '../metrics/metrics.js';
import { StdoutOutput } from '../outputs/stdout.js';
import { FORMAT_NAMES, isFormatName } from '../alerts/formats/index.js';
import { parseFlags } from './args.js';
import { configFileFrom } from './config-file.js';
import { REPLAY_HELP } from './usage.js';

/** The configured rules, compiled; a replay starts with no learned state, so it is repeatable. */
function replayDetectors(config: LannerConfig, metrics: LannerMetrics): Detector[] {
  if (config.rules.length === 0) return [];
  const loaded = loadDetectionRules(config.rules, { maxKeys: config.state.maxKeys, ttlMs: config.state.ttlMs });
  if (!loaded.ok) {
    const errors = loaded.problems.filter((p) => p.severity === 'error').map(formatProblem);
    throw new LannerError('LANNER_RULES_INVALID', `the rules do not load:\n${errors.map((e) => `  ${e}`).join('\n')}`, errors);
  }
  return [ruleDetector({ current: new RuleEngine(loaded.rules, { metrics }) })];
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
  const logger = createLogger(config.logLevel);
  const metrics = createMetrics({ processMetrics: false });
  const output = new StdoutOutput('stdout', { format, maxBacklogBytes: Number.MAX_SAFE_INTEGER }, { logger, metrics });
  const input = await openInput(positionals[0]!);

  const events = new Subject<FalcoEvent>();
  const alertsByRule = new Map<string, number>();
  let alerts = 0;
  // No wall-clock ticks: cooldowns and windows run on event time alone, then flush at the end.
  const lifecycle = new AlertLifecycle(config.alerts, lifecycleMetrics(metrics, metrics.alertsSuppressed));
  detectionPipeline(events, { detectors: replayDetectors(config, metrics) }).pipe(alertLifecycle(lifecycle, { tickMs: 0 })).subscribe((alert) => {
    alerts++;
    alertsByRule.set(alert.rule, (alertsByRule.get(alert.rule) ?? 0) + 1);
    output.send(alert);
  });

  let read = 0;
  let feed = 0;
  const invalid = new Map<string, number>();
  for await (const { line, result } of readJsonLines(input)) {
    if (!result.ok) {
      invalid.set(result.reason, (invalid.get(result.reason) ?? 0) + 1);
      if ((invalid.get(result.reason) ?? 0) <= 3) logger.warn({ line, reason: result.reason, detail: result.detail }, 'invalid event skipped');
      continue;
    }
    read++;
    if (result.event.feed) feed++;
    events.next(result.event);
  }
  events.complete();
  await output.close();

  const invalidTotal = [...invalid.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `lanner replay: ${read} events (${feed} feed, ${read - feed} Falco alerts), ${invalidTotal} invalid, ${alerts} alerts`,
    ...[...invalid].map(([reason, n]) => `  invalid ${reason}: ${n}`),
    ...[...alertsByRule].sort((a, b) => b[1] - a[1]).map(([rule, n]) => `  ${String(n).padStart(6)}  ${rule}`),
  ];
  process.stderr.write(lines.join('\n') + '\n');
  return 0;
}
