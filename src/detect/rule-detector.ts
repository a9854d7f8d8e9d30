/**
 * The rule engine as a pipeline stage: an RxJS operator over the event stream. The engine sits
 * behind a holder so a reload can swap it between two events, atomically.
 */
import { Observable } from 'rxjs';
import type { Alert } from '../alerts/alert.js';
import type { FalcoEvent } from '../core/event.js';
import type { StageErrorHandler } from '../metrics/stage-errors.js';
import type { Detector } from './pipeline.js';
import type { RuleEngine } from './rule-engine.js';

export interface EngineHolder {
  current: RuleEngine;
}

/**
 * With `onError`, an event the engine fails on is skipped (the alerts it raised before failing
 * still go out) and the stream goes on; without it, the failure ends the stream.
 */
export function ruleDetector(holder: EngineHolder, onError?: StageErrorHandler): Detector {
  return {
    name: 'rules',
    detect: (events$) =>
      new Observable<Alert>((subscriber) => {
        // One buffer for the whole stream: most events raise nothing and allocate nothing here.
        const out: Alert[] = [];
        const flush = (): void => {
          for (let i = 0; i < out.length; i++) subscriber.next(out[i]!);
          out.length = 0;
        };
        return events$.subscribe({
          next: (event: FalcoEvent) => {
            try {
              holder.current.process(event, out);
            } catch (err) {
              if (!onError) {
                subscriber.error(err);
                return;
              }
              onError('rules', err, { rule: event.rule, source: event.source });
            }
            if (out.length > 0) flush();
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            // The stream's end is the last moment of event time: let absence steps that ran out fire.
            try {
              holder.current.end(out);
            } catch (err) {
              if (!onError) {
                subscriber.error(err);
                return;
              }
              onError('rules', err, {});
            }
            flush();
            subscriber.complete();
          },
        });
      }),
  };
}
