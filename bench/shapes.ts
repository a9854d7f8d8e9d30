/**
 * Which RxJS shape to run keyed, stateful detection in. Every shape runs the same threshold
 * (three connects by one container within ten seconds of event time) over the same normalized
 * events, so what differs is only the shape; each is a ratio to the same logic in a plain loop.
 * The engine uses the first shape: one operator over the whole stream, state in a keyed map.
 */
import { from, groupBy, mergeMap, Observable, scan, filter, map, type OperatorFunction } from 'rxjs';
import type { FalcoEvent } from '../src/core/event.js';
import { normalizeJsonLine } from '../src/ingest/json-lines.js';
import { compare, type Comparison } from './harness.js';

const COUNT = 3;
const WITHIN_MS = 10_000;

interface Hit {
  readonly key: string;
  readonly timeMs: number;
}

const keyOf = (e: FalcoEvent): string | undefined => {
  if (e.fields['evt.type'] !== 'connect') return undefined;
  const c = e.fields['container.id'];
  return typeof c === 'string' ? c : undefined;
};

/** One key's window: event times within WITHIN_MS of the newest; true when it reaches COUNT. */
function step(window: number[], timeMs: number): boolean {
  window.push(timeMs);
  while (window.length > 0 && window[0]! < timeMs - WITHIN_MS) window.shift();
  if (window.length < COUNT) return false;
  window.length = 0;
  return true;
}

const timeMsOf = (e: FalcoEvent): number => Number(e.timeNs / 1_000_000n);

function plainLoop(events: readonly FalcoEvent[]): number {
  const windows = new Map<string, number[]>();
  let hits = 0;
  for (const e of events) {
    const key = keyOf(e);
    if (key === undefined) continue;
    let w = windows.get(key);
    if (!w) windows.set(key, (w = []));
    if (step(w, timeMsOf(e))) hits++;
  }
  return hits;
}

/** One hand-written operator; state in a keyed map it owns. */
const oneOperator: OperatorFunction<FalcoEvent, Hit> = (events$) =>
  new Observable<Hit>((subscriber) => {
    const windows = new Map<string, number[]>();
    return events$.subscribe({
      next: (e) => {
        const key = keyOf(e);
        if (key === undefined) return;
        let w = windows.get(key);
        if (!w) windows.set(key, (w = []));
        const t = timeMsOf(e);
        if (step(w, t)) subscriber.next({ key, timeMs: t });
      },
      error: (err: unknown) => subscriber.error(err),
      complete: () => subscriber.complete(),
    });
  });

/** `scan` over the keyed map, then `filter` and `map` to the hits. */
const scanKeyedMap: OperatorFunction<FalcoEvent, Hit> = (events$) =>
  events$.pipe(
    scan(
      (state, e) => {
        state.hit = undefined;
        const key = keyOf(e);
        if (key === undefined) return state;
        let w = state.windows.get(key);
        if (!w) state.windows.set(key, (w = []));
        const t = timeMsOf(e);
        if (step(w, t)) state.hit = { key, timeMs: t };
        return state;
      },
      { windows: new Map<string, number[]>(), hit: undefined as Hit | undefined },
    ),
    filter((s) => s.hit !== undefined),
    map((s) => s.hit!),
  );

/** `groupBy` the key, a `scan` per group (unbounded groups: the cheapest form of the shape). */
const groupByKey: OperatorFunction<FalcoEvent, Hit> = (events$) =>
  events$.pipe(
    filter((e) => keyOf(e) !== undefined),
    groupBy((e) => keyOf(e)!),
    mergeMap((group) =>
      group.pipe(
        scan((acc, e) => {
          const t = timeMsOf(e);
          acc.hit = step(acc.window, t) ? { key: group.key, timeMs: t } : undefined;
          return acc;
        }, { window: [] as number[], hit: undefined as Hit | undefined }),
        filter((acc) => acc.hit !== undefined),
        map((acc) => acc.hit!),
      ),
    ),
  );

function throughShape(shape: OperatorFunction<FalcoEvent, Hit>): (events: readonly FalcoEvent[]) => number {
  return (events) => {
    let hits = 0;
    from(events).pipe(shape).subscribe(() => hits++);
    return hits;
  };
}

export function shapeComparisons(lines: readonly string[]): Comparison[] {
  const events: FalcoEvent[] = [];
  for (const l of lines) {
    const r = normalizeJsonLine(l);
    if (r.ok) events.push(r.event);
  }
  const baseline = { name: 'the same logic in a plain loop', run: plainLoop };
  const want = plainLoop(events);
  process.stdout.write(`RxJS shapes: a threshold of ${COUNT} connects by container within ${WITHIN_MS / 1000} s, ${want} hits from ${events.length} events\n`);
  const shapes: [string, OperatorFunction<FalcoEvent, Hit>][] = [
    ['RxJS shape: one operator, keyed map', oneOperator],
    ['RxJS shape: scan over a keyed map', scanKeyedMap],
    ['RxJS shape: groupBy key, scan per group', groupByKey],
  ];
  return shapes.map(([name, shape]) => {
    const run = throughShape(shape);
    // Every shape must raise what the loop does, or its speed means nothing.
    if (run(events) !== want) throw new Error(`${name} raised ${run(events)} hits, the loop ${want}`);
    return compare(baseline, { name, run }, events);
  });
}
