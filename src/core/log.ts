/**
 * pino JSON logs on stderr, so stdout stays free for alerts. Plus a limiter for messages
 * that repeat per event: each key logs at most once per interval, with a count of what it held back.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env['LANNER_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: { app: 'lanner' } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that writes nothing; for tests and embedded uses. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `log` with the number suppressed since the last call for `key`, or not at all. */
  maybe(key: string, log: (suppressed: number) => void): void {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry && t - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    log(entry?.suppressed ?? 0);
    this.last.set(key, { at: t, suppressed: 0 });
  }
}
