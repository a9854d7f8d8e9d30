/**
 * Waiting in tests for what only the outside world decides: a socket connecting, a child
 * process logging, a file being written, Prometheus scraping. Polls a check on the event loop
 * until it answers something truthy. Windows, cooldowns and retries are tested with virtual
 * time instead; this is not a clock.
 */
import { inspect } from 'node:util';

/**
 * How long a wait on the outside world lasts before it is called stuck, unless said. Generous on
 * purpose: it only turns a hang into a failure that names what was awaited, and a loaded machine
 * may take many seconds to start a process that takes one on an idle one.
 */
export const PATIENCE_MS = 30_000;

export interface WaitOptions {
  /** What is awaited, as the timeout error should name it: "the second connection". */
  readonly what: string;
  /** How long to keep checking before giving up; PATIENCE_MS unless said. */
  readonly timeoutMs?: number;
  /** Pause between checks; 10 ms unless said. */
  readonly intervalMs?: number;
  /**
   * A check that throws is taken as "not yet", and the last error is named on timeout: for
   * probes of something still starting (a fetch to a port not yet listening). Without it, a
   * throw ends the wait at once, so a broken check fails fast.
   */
  readonly retryOnError?: boolean;
}

/** What a check answers once it is satisfied. */
export type Truthy<T> = Exclude<T, undefined | null | false | 0 | 0n | ''>;

/**
 * Calls `check` until it returns (or resolves to) a truthy value, and resolves with that value.
 * On timeout it throws an error naming `what` and the last value (or error) the check gave.
 */
export async function waitFor<T>(check: () => T | Promise<T>, options: WaitOptions): Promise<Truthy<T>> {
  const { what, timeoutMs = PATIENCE_MS, intervalMs = 10, retryOnError = false } = options;
  const deadline = performance.now() + timeoutMs;
  let last: string;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      last = show(value);
    } catch (err) {
      if (!retryOnError) throw err;
      last = `error ${err instanceof Error ? err.message : show(err)}`;
    }
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${last}`);
    await sleep(intervalMs);
  }
}

/** A plain pause, for a test that must let time pass to show that nothing happens. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function show(value: unknown): string {
  const text = inspect(value, { depth: 3, breakLength: Infinity });
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}
