/**
 * Label children of one metric, resolved once per label combination and bounded. Hot paths
 * hold a cache instead of calling `labels()` per event (which hashes the labels every time),
 * and label values that come from event data (a Falco source, a rule name posted over HTTP)
 * cannot grow memory or the series count without limit: past `maxChildren` combinations,
 * every new one is counted in a single overflow child whose labels are all
 * OVERFLOW_LABEL_VALUE. Combinations cached before the limit keep their own child.
 */

/**
 * The value of every label of the overflow child. Chosen so it cannot be mistaken for a real
 * transport, source, rule, status or outcome; a query for it shows that a limit was reached.
 */
export const OVERFLOW_LABEL_VALUE = '__overflow__';

/** Label values in the metric's label order. */
export type LabelValues = readonly string[];

/**
 * Refuses, at compile time, a `build` that narrows a label to some strings (a union of
 * literals): the overflow child is built with OVERFLOW_LABEL_VALUE in every position.
 */
type AcceptsAnyString<V extends LabelValues> = { [K in keyof V]: string } extends V
  ? unknown
  : { readonly 'build must take every label value as a plain string': never };

/** How many label combinations a cache keeps apart before it falls back to the overflow child. */
export interface ChildCacheOptions {
  /** At least 1. The overflow child comes on top, so a metric has at most `maxChildren + 1` series from one cache. */
  readonly maxChildren: number;
}

export class ChildCache<V extends LabelValues, C> {
  private readonly children = new Map<string, C>();
  private overflowChild: C | undefined;
  private readonly maxChildren: number;

  /**
   * @param build makes the child for one combination, e.g.
   *   `(rule) => counter.labels(rule)` or `(transport, source) => deferredCount(counter, { transport, source })`.
   *   It is called at most once per combination, and once with every value OVERFLOW_LABEL_VALUE.
   */
  constructor(
    private readonly build: (...values: V) => C,
    options: ChildCacheOptions & AcceptsAnyString<V>,
  ) {
    if (!Number.isInteger(options.maxChildren) || options.maxChildren < 1) {
      throw new RangeError(`maxChildren must be a positive integer, got ${options.maxChildren}`);
    }
    this.maxChildren = options.maxChildren;
  }

  /** The child for these label values, built on first use; the overflow child once the cache is full. */
  get(...values: V): C {
    const key = keyOf(values);
    const child = this.children.get(key);
    if (child !== undefined) return child;
    if (this.children.size >= this.maxChildren) return this.overflow(values.length);
    const built = this.build(...values);
    this.children.set(key, built);
    return built;
  }

  /** Label combinations with a child of their own (the overflow child not included). */
  get size(): number {
    return this.children.size;
  }

  /** Whether some combination has been turned away into the overflow child. */
  get overflowed(): boolean {
    return this.overflowChild !== undefined;
  }

  private overflow(arity: number): C {
    if (this.overflowChild === undefined) {
      // AcceptsAnyString guarantees `build` takes any string in each position.
      const values = new Array<string>(arity).fill(OVERFLOW_LABEL_VALUE) as unknown as V;
      this.overflowChild = this.build(...values);
    }
    return this.overflowChild;
  }
}

/**
 * One string per combination, without ambiguity whatever the values contain: each value but
 * the last carries its length, so ('a:b', 'c') and ('a', 'b:c') stay apart. A single label is
 * its own key, which keeps the common case free of string building.
 */
function keyOf(values: LabelValues): string {
  if (values.length === 1) return values[0]!;
  let key = '';
  const last = values.length - 1;
  for (let i = 0; i < last; i++) key += `${values[i]!.length}:${values[i]!}`;
  return key + values[last]!;
}
