/** The bounded label-child cache: one child per combination up to the limit, then one overflow child. */
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ChildCache, OVERFLOW_LABEL_VALUE } from '../../src/metrics/child-cache.js';

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
