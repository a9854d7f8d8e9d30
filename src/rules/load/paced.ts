/**
 * Loading a large rule set takes seconds of CPU. At start-up and in the CLI that is fine, but
 * a reload runs beside ingestion, and seconds without a turn of the event loop leave sockets
 * unread and Falco waiting. So the loading work is written once, as a generator that yields
 * wherever a pause is harmless (between lexemes, items, rules), and run either at once or in
 * short slices with the event loop served between them.
 */

/** Work that may pause at each `yield`, and returns T. */
export type Steps<T> = Generator<void, T, void>;

/** Runs the work to its end without pausing. */
export function runNow<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** How long a slice of paced work may hold the event loop, unless told otherwise. */
export const DEFAULT_SLICE_MS = 10;

/**
 * Runs the work in slices of about `sliceMs`, letting the event loop run (I/O callbacks
 * included) between slices. A slice ends at the first pause after its time is up, so the
 * longest stall is `sliceMs` plus the longest stretch between two pauses.
 */
export async function runPaced<T>(steps: Steps<T>, sliceMs = DEFAULT_SLICE_MS): Promise<T> {
  let sliceEnd = performance.now() + sliceMs;
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() >= sliceEnd) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceEnd = performance.now() + sliceMs;
    }
  }
}
