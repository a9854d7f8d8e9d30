/**
 * What a stage does when handling one event (or alert) throws. Every string in an event is
 * chosen by whoever can post to the ingest; should one still reach a path that throws, that
 * event is skipped by the stage that failed and everything after it goes on. A stream that
 * errored would stop detection for good, which is what an attacker would want.
 */
import { LogLimiter, type Logger } from '../core/log.js';
import { DETECTION_STAGES, type DetectionStage, type LannerMetrics } from './metrics.js';

/** Told of an error a stage survived: counts it and logs it, at most once a minute per stage. */
export type StageErrorHandler = (stage: DetectionStage, err: unknown, about: StageErrorContext) => void;

/** What the failed item was, for the log: never the event itself, which may be large or hostile. */
export interface StageErrorContext {
  readonly rule?: string;
  readonly source?: string;
}

export function stageErrorHandler(metrics: LannerMetrics, logger: Logger): StageErrorHandler {
  const counters = new Map(DETECTION_STAGES.map((stage) => [stage, metrics.detectionErrors.labels(stage)]));
  const limiter = new LogLimiter();
  return (stage, err, about) => {
    counters.get(stage)!.inc();
    limiter.maybe(stage, (suppressed) =>
      logger.error(
        {
          stage,
          err: err instanceof Error ? err.message : String(err),
          ...(err instanceof Error && err.stack ? { stack: err.stack.split('\n').slice(0, 4).join('\n') } : {}),
          // Event data: shortened, so a log line stays a line.
          ...(about.rule !== undefined ? { rule: about.rule.slice(0, 200) } : {}),
          ...(about.source !== undefined ? { source: about.source.slice(0, 64) } : {}),
          suppressed_since_last: suppressed,
        },
        'a detection stage failed on one item; it was skipped and detection goes on',
      ),
    );
  };
}
