/**
 * The bounded label-child cache: one child per combination up to the limit, then one overflow
 * child; and the bound of a label fed by event data: known values always, a fixed number of
 * others, then the overflow value.
 */
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ChildCache, LabelBound, OVERFLOW_LABEL_VALUE } from '../../src/metrics/child-cache.js';

const MAX = 3;

/** A cache whose children are the label values they were built for, with a log of every build. */
function recordingCache(): { cache: ChildCache<[rule: string, priority: string], string>; built: string[] } {
  const built: string[] = [];
  const cache = new ChildCache(
    (rule: string, priority: string) => {
      const child = `${rule}/${priority}`;
      built.push(child);
      return child;
    },
    { maxChildren: MAX },
  );
  return { cache, built };
}

function fill(cache: ChildCache<[string, string], string>, n: number): string[] {
  return Array.from({ length: n }, (_, i) => cache.get(`rule-${i}`, 'Error'));
}

describe('ChildCache', () => {
  it('one below the limit: every combination has its own child, built once', () => {
    const { cache, built } = recordingCache();
    expect(fill(cache, MAX - 1)).toEqual(['rule-0/Error', 'rule-1/Error']);
    expect(cache.get('rule-0', 'Error')).toBe('rule-0/Error');
    expect(built).toEqual(['rule-0/Error', 'rule-1/Error']);
    expect(cache.size).toBe(MAX - 1);
    expect(cache.overflowed).toBe(false);
  });

  it('at the limit: the last combination that fits still has its own child', () => {
    const { cache, built } = recordingCache();
    expect(fill(cache, MAX)).toEqual(['rule-0/Error', 'rule-1/Error', 'rule-2/Error']);
    expect(cache.size).toBe(MAX);
    expect(cache.overflowed).toBe(false);
    expect(built).toHaveLength(MAX);
  });

  it('one above the limit: the new combination gets the overflow child, the cached ones keep theirs', () => {
    const { cache, built } = recordingCache();
    fill(cache, MAX);
    const overflow = `${OVERFLOW_LABEL_VALUE}/${OVERFLOW_LABEL_VALUE}`;
    expect(cache.get(`rule-${MAX}`, 'Error')).toBe(overflow);
    expect(cache.overflowed).toBe(true);
    expect(cache.size).toBe(MAX);
    // Later newcomers share that one child, and nothing more is built or kept for them.
    expect(cache.get('made-up', 'Critical')).toBe(overflow);
    expect(cache.get(`rule-${MAX}`, 'Error')).toBe(overflow);
    expect(cache.get('rule-0', 'Error')).toBe('rule-0/Error');
    expect(built).toEqual(['rule-0/Error', 'rule-1/Error', 'rule-2/Error', overflow]);
  });

  it('keeps combinations apart whatever characters their values contain', () => {
    const cache = new ChildCache((a: string, b: string) => ({ a, b }), { maxChildren: 10 });
    const pairs: [string, string][] = [['a:b', 'c'], ['a', 'b:c'], ['1:a', 'b'], ['a\u0000b', 'c'], ['a', 'b\u0000c'], ['', 'ab'], ['ab', '']];
    for (const [a, b] of pairs) expect(cache.get(a, b)).toEqual({ a, b });
    expect(cache.size).toBe(pairs.length);
  });

  it('bounds the series of a real counter however many label values a sender makes up', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'test_alerts_total', help: 'h', labelNames: ['rule'], registers: [registry] });
    const cache = new ChildCache((rule: string) => counter.labels(rule), { maxChildren: MAX });
    for (let i = 0; i < 100; i++) cache.get(`made-up-${i}`).inc();
    const values = (await counter.get()).values.map((v) => [v.labels['rule'], v.value]);
    expect(values).toEqual([['made-up-0', 1], ['made-up-1', 1], ['made-up-2', 1], [OVERFLOW_LABEL_VALUE, 97]]);
  });

  it('refuses a limit that is not a positive whole number', () => {
    const build = (rule: string): string => rule;
    for (const maxChildren of [0, -1, 1.5, Number.NaN]) {
      expect(() => new ChildCache(build, { maxChildren })).toThrow(RangeError);
    }
  });

  it('refuses, at compile time, a factory that narrows a label value the overflow child would break', () => {
    const build = (transport: 'grpc' | 'http'): string => transport;
    // @ts-expect-error the overflow child is built with OVERFLOW_LABEL_VALUE, which is no transport
    const cache = new ChildCache(build, { maxChildren: 1 });
    expect(cache.get('grpc')).toBe('grpc');
  });
});

describe('LabelBound', () => {
  const OTHERS = 3;
  const others = (bound: LabelBound, n: number): string[] => Array.from({ length: n }, (_, i) => bound.labelOf(`made-up-${i}`));

  it('one below, at and one above its room for others: their own values, then the overflow value', () => {
    for (const [n, overflowed] of [[OTHERS - 1, 0], [OTHERS, 0], [OTHERS + 1, 1]] as const) {
      const bound = new LabelBound(OTHERS);
      const values = others(bound, n);
      expect(values.filter((v) => v === OVERFLOW_LABEL_VALUE), `${n} values`).toHaveLength(overflowed);
      expect(bound.othersAdmitted).toBe(Math.min(n, OTHERS));
      // A value given its own keeps it.
      expect(bound.labelOf('made-up-0')).toBe('made-up-0');
    }
  });

  it('keeps known values apart however many others came first, including ones made known later', () => {
    const bound = new LabelBound(OTHERS);
    bound.know(['Loaded rule']);
    others(bound, 1000);
    expect(bound.labelOf('Loaded rule')).toBe('Loaded rule');
    bound.know(['Rule of a reload']);
    expect(bound.labelOf('Rule of a reload')).toBe('Rule of a reload');
    expect(bound.labelOf('made-up-999')).toBe(OVERFLOW_LABEL_VALUE);
    expect(bound.capacity).toBe(2 + OTHERS + 1);
  });

  it('refuses a room that is not a whole number', () => {
    for (const n of [-1, 1.5, Number.NaN]) expect(() => new LabelBound(n)).toThrow(RangeError);
    expect(new LabelBound(0).labelOf('x')).toBe(OVERFLOW_LABEL_VALUE);
  });
});

describe('ChildCache with a bounded label', () => {
  it('maps that position through its bound, and never turns a known value away for the other labels\' sake', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'test_alerts_total', help: 'h', labelNames: ['rule', 'priority'], registers: [registry] });
    const rules = new LabelBound(2);
    rules.know(['Loaded']);
    const cache = new ChildCache((rule: string, priority: string) => counter.labels(rule, priority), { maxChildren: 2, bounds: [rules] });
    for (let i = 0; i < 100; i++) cache.get(`made-up-${i}`, i % 2 === 0 ? 'Error' : 'Notice').inc();
    cache.get('Loaded', 'Error').inc();
    cache.get('Loaded', 'Notice').inc();
    const series = (await counter.get()).values.map((v) => [v.labels['rule'], v.labels['priority'], v.value]);
    expect(series).toEqual([
      ['made-up-0', 'Error', 1],
      ['made-up-1', 'Notice', 1],
      [OVERFLOW_LABEL_VALUE, 'Error', 49],
      [OVERFLOW_LABEL_VALUE, 'Notice', 49],
      ['Loaded', 'Error', 1],
      ['Loaded', 'Notice', 1],
    ]);
    // At most maxChildren combinations per value the bound allows (known, others, overflow), then one overflow child.
    expect(cache.size).toBeLessThanOrEqual(2 * rules.capacity);
    expect(cache.overflowed).toBe(false);
  });
});
