/**
 * Label children of one metric, resolved once per label combination and bounded. Hot paths
 * hold a cache instead of calling `labels()` per event (which hashes the labels every time),
 * and label values that come from event data (a Falco source, a rule name posted over HTTP)
 * cannot grow memory or the series count without limit.
 *
 * Two bounds work together. A LabelBound, one per label per registry (`rule`, `source`), says
 * which values of that label get a series of their own: the values the configuration names
 * always, a fixed number of others in the order they are first seen, then OVERFLOW_LABEL_VALUE.
 * A ChildCache maps each position through its bound, if it has one, and past `maxChildren`
 * combinations counts every new one in a single overflow child whose labels are all
 * OVERFLOW_LABEL_VALUE; combinations cached before the limit keep their own child.
 */

/**
 * The value a label takes once its bound is reached, and every label of the overflow child.
 * Chosen so it cannot be mistaken for a real transport, source, rule, status or outcome; a
 * query for it shows that a limit was reached.
 */
export const OVERFLOW_LABEL_VALUE = '__overflow__';

/**
 * The values one label fed by event data may take. Values Lanner knows from its configuration
 * (the rules loaded, their sources) always keep a series of their own, however many made-up
 * values arrived before them; up to `maxOthers` further values (Falco's own rule names, the
 * sources of its plug-ins) get one each, in the order they are first seen; every value after
 * that is counted as OVERFLOW_LABEL_VALUE. Every metric with that label goes through the same
 * bound, so a value has its series in all of them or is overflow in all.
 */
export class LabelBound {
  private readonly known = new Set<string>();
  private readonly others = new Set<string>();

  /** @param maxOthers how many values beyond the known ones get a series of their own; 0 or more. */
  constructor(readonly maxOthers: number) {
    if (!Number.isInteger(maxOthers) || maxOthers < 0) throw new RangeError(`maxOthers must be a whole number, got ${maxOthers}`);
  }

  /** Values that keep their own series from now on, whatever arrived before (each load's rules). */
  know(values: Iterable<string>): void {
    for (const v of values) this.known.add(v);
  }

  /** The label value to count `value` under: itself, or OVERFLOW_LABEL_VALUE once the others are full. */
  labelOf(value: string): string {
    if (this.known.has(value) || this.others.has(value)) return value;
    if (this.others.size >= this.maxOthers) return OVERFLOW_LABEL_VALUE;
    this.others.add(value);
    return value;
  }

  /** How many values the label can take now: the known ones, room for the others, and the overflow value. */
  get capacity(): number {
    return this.known.size + this.maxOthers + 1;
  }

  /** Values beyond the known ones that were given a series of their own. */
  get othersAdmitted(): number {
    return this.others.size;
  }
}

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
  /**
   * At least 1. Without `bounds`, the combinations kept apart; the overflow child comes on top,
   * so a metric has at most `maxChildren + 1` series from one cache. With `bounds`, the
   * combinations of the other labels per value the bounded ones can take (their capacity), so
   * that a known value never meets the cache's limit before its bound's.
   */
  readonly maxChildren: number;
  /**
   * Per label position, the bound its values go through before anything else; undefined at
   * positions whose values are a fixed set in code (priority, outcome, transport).
   */
  readonly bounds?: readonly (LabelBound | undefined)[];
}

export class ChildCache<V extends LabelValues, C> {
  private readonly children = new Map<string, C>();
  private overflowChild: C | undefined;
  private readonly maxChildren: number;
  private readonly bounds: readonly (LabelBound | undefined)[] | undefined;

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
    this.bounds = options.bounds && options.bounds.some((b) => b !== undefined) ? options.bounds : undefined;
  }

  /**
   * The child for these label values (each first through its bound), built on first use; the
   * overflow child once the cache is full.
   */
  get(...values: V): C {
    const bounds = this.bounds;
    if (bounds !== undefined) {
      // `values` is this call's own rest array: rewriting it in place allocates nothing.
      const written = values as unknown as string[];
      for (let i = 0; i < bounds.length; i++) {
        const bound = bounds[i];
        if (bound !== undefined) written[i] = bound.labelOf(written[i]!);
      }
    }
    const key = keyOf(values);
    const child = this.children.get(key);
    if (child !== undefined) return child;
    if (this.children.size >= this.limit()) return this.overflow(values.length);
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

  private limit(): number {
    let limit = this.maxChildren;
    if (this.bounds !== undefined) for (const bound of this.bounds) if (bound !== undefined) limit *= bound.capacity;
    return limit;
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
