/**
 * Label children for the per-event paths, kept as plain numbers and handed to prom-client
 * when it collects (a scrape, or a test reading the metric). A prom-client child hashes its
 * labels on every `inc()` or `set()`; counting each rule match that way cost more than
 * evaluating the rule. What a scrape sees is the same: collection flushes first.
 */
import type { Counter, Gauge } from 'prom-client';

export interface DeferredCount {
  inc(by?: number): void;
}

export interface DeferredLevel {
  set(value: number): void;
}

interface Pending {
  flush(): void;
}

type Metric = Counter<string> | Gauge<string>;
type Labels = Record<string, string>;

// Per metric, one child per label set: engines built over the same metrics (a reload, a test
// per case) share children rather than pile them up.
const PENDING = new WeakMap<Metric, Map<string, Pending>>();

function childOf<C extends Pending>(metric: Metric, labels: Labels, make: () => C): C {
  let children = PENDING.get(metric);
  if (!children) {
    children = new Map();
    PENDING.set(metric, children);
  }
  const key = JSON.stringify(labels);
  let child = children.get(key);
  if (!child) {
    child = make();
    children.set(key, child);
  }
  return child as C;
}

/** What a deferred metric's `collect` calls: every child's pending value goes to prom-client. */
export function flushDeferred(metric: Metric): void {
  const children = PENDING.get(metric);
  if (children) for (const child of children.values()) child.flush();
}

class CountChild implements DeferredCount, Pending {
  private pending = 0;
  constructor(
    private readonly metric: Counter<string>,
    private readonly labels: Labels,
  ) {}

  inc(by = 1): void {
    this.pending += by;
  }

  flush(): void {
    if (this.pending === 0) return;
    this.metric.inc(this.labels, this.pending);
    this.pending = 0;
  }
}

class LevelChild implements DeferredLevel, Pending {
  value: number | undefined;
  constructor(
    private readonly metric: Gauge<string>,
    private readonly labels: Labels,
  ) {}

  set(value: number): void {
    this.value = value;
  }

  flush(): void {
    if (this.value === undefined) return;
    this.metric.set(this.labels, this.value);
    this.value = undefined;
  }
}

/**
 * A counter child whose increments wait for collection. The counter must be created with
 * `collect() { flushDeferred(this) }`, as createMetrics does for the per-event counters.
 */
export function deferredCount<L extends string>(counter: Counter<L>, labels: Record<L, string>): DeferredCount {
  const metric = counter as Counter<string>;
  return childOf(metric, labels, () => new CountChild(metric, labels));
}

export function deferredLevel<L extends string>(gauge: Gauge<L>, labels: Record<L, string>): DeferredLevel {
  const metric = gauge as Gauge<string>;
  return childOf(metric, labels, () => new LevelChild(metric, labels));
}

/** Removes a gauge's series along with any value still waiting for collection. */
export function removeDeferredSeries<L extends string>(gauge: Gauge<L>, labels: Record<L, string>): void {
  const child = PENDING.get(gauge as Gauge<string>)?.get(JSON.stringify(labels));
  if (child instanceof LevelChild) child.value = undefined;
  gauge.remove(labels);
}
