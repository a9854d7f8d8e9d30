/**
 * The detection pipeline: normalized events in, alerts out. Falco's own alerts pass through as
 * Lanner alerts; feed events (raw syscalls tagged `lanner_feed`) are input for detectors only
 * and never become alerts by themselves.
 */
import { merge, Observable, share, type OperatorFunction } from 'rxjs';
import { alertFromFalcoEvent, type Alert } from '../alerts/alert.js';
import type { FalcoEvent } from '../core/event.js';
import type { StageErrorHandler } from '../metrics/stage-errors.js';

/** A detection stage: any RxJS operator from events to the alerts it raises. */
export interface Detector {
  readonly name: string;
  readonly detect: OperatorFunction<FalcoEvent, Alert>;
}

export interface PipelineOptions {
  readonly detectors: readonly Detector[];
  /** When the event being processed entered Lanner (ms, monotonic); for latency metrics. */
  readonly ingestedAtMs?: () => number;
  /** Told of an event a stage failed on, which the stage then skips; without it, the stream errors. */
  readonly onError?: StageErrorHandler;
}

/**
 * Falco's own alerts, passed through with Lanner's context. One operator rather than `filter`
 * then `map`: every event, feed events above all, passes one subscriber fewer.
 */
export function passFalcoAlerts(ingestedAtMs?: () => number, onError?: StageErrorHandler): OperatorFunction<FalcoEvent, Alert> {
  return (events$) =>
    new Observable<Alert>((subscriber) =>
      events$.subscribe({
        next: (event) => {
          if (event.feed) return;
          let alert: Alert;
          try {
            alert = alertFromFalcoEvent(event, ingestedAtMs?.());
          } catch (err) {
            if (onError) onError('falco_alerts', err, { rule: event.rule, source: event.source });
            // As `map` would: a failure becomes the stream's error.
            else subscriber.error(err);
            return;
          }
          subscriber.next(alert);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}

export function detectionPipeline(events$: Observable<FalcoEvent>, options: PipelineOptions): Observable<Alert> {
  if (options.detectors.length === 0) return events$.pipe(passFalcoAlerts(options.ingestedAtMs, options.onError));
  // One upstream subscription shared by every stage, so each event is read once.
  const shared$ = events$.pipe(share());
  return merge(
    shared$.pipe(passFalcoAlerts(options.ingestedAtMs, options.onError)),
    ...options.detectors.map((d) => shared$.pipe(d.detect)),
  );
}
