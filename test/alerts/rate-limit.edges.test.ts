/**
 * Rate limits at their edges: each limit one below, at and one above its count; an alert one
 * nanosecond before a window's end and exactly at it; a rule's budget untouched when the global
 * limit holds the alert; held-back counts that add up alerts' own counts; and what the limit
 * alert says. Time is each alert's event time.
 */
import { describe, expect, it } from 'vitest';
import { derivedId, type Alert } from '../../src/alerts/alert.js';
import { LIMIT_RULE, RateLimiter, type Limit, type RateLimitOptions } from '../../src/alerts/lifecycle/rate-limit.js';
import { formatRfc3339Ns } from '../../src/core/time.js';
import { SECOND, shellAlert, T0 } from '../support/alerts.js';

const MINUTE = 60n * SECOND;
const perMinute = (count: number): Limit => ({ count, perMs: 60_000 });

function limiter(options: Partial<RateLimitOptions>): RateLimiter {
  return new RateLimiter({ maxRules: 100, ...options });
}

function alert(rule: string, timeNs: bigint, more: Partial<Alert> = {}): Alert {
  return { ...shellAlert({ rule, timeNs }), ...more };
}

/** Which of `alerts` are let through, as 1 and 0, with the limit alerts pushed meanwhile. */
function admitAll(l: RateLimiter, alerts: readonly Alert[], out: Alert[] = []): number[] {
  return alerts.map((a) => (l.admit(a, out) ? 1 : 0));
}

function heldOf(out: readonly Alert[]): [string, number, string][] {
  return out.map((a) => [a.held_back!.rule, a.held_back!.count, a.held_back!.scope]);
}

describe('rate limits: counts at their value', () => {
  it('lets exactly count alerts of a rule through per window and holds the next', () => {
    const l = limiter({ perRule: perMinute(3) });
    expect(admitAll(l, [0, 1, 2, 3, 4].map((i) => alert('A', T0 + BigInt(i))))).toEqual([1, 1, 1, 0, 0]);
  });

  it('lets exactly count alerts through the global limit, across rules', () => {
    const l = limiter({ global: perMinute(2) });
    expect(admitAll(l, [alert('A', T0), alert('B', T0), alert('C', T0)])).toEqual([1, 1, 0]);
  });

  it("takes a rule's own limit over the per-rule default, and no limit when neither is set", () => {
    const l = limiter({ perRule: perMinute(1), rules: new Map([['Noisy', perMinute(2)]]) });
    expect(admitAll(l, [alert('Noisy', T0), alert('Noisy', T0), alert('Noisy', T0)])).toEqual([1, 1, 0]);
    expect(admitAll(l, [alert('Other', T0), alert('Other', T0)])).toEqual([1, 0]);
    const free = limiter({ rules: new Map([['Noisy', perMinute(1)]]) });
    expect(admitAll(free, Array.from({ length: 5 }, () => alert('Other', T0)))).toEqual([1, 1, 1, 1, 1]);
    expect(admitAll(free, [alert('Noisy', T0), alert('Noisy', T0)])).toEqual([1, 0]);
  });

  it('treats a count of 0 as no limit, per rule and global', () => {
    const l = limiter({ perRule: perMinute(0), global: perMinute(0) });
    expect(admitAll(l, Array.from({ length: 5 }, () => alert('A', T0)))).toEqual([1, 1, 1, 1, 1]);
    const out: Alert[] = [];
    l.flush(out);
    expect(out).toEqual([]);
  });
});

describe('rate limits: windows at their end', () => {
  it('keeps an alert one nanosecond before the end in the window, and puts one exactly at the end in the next', () => {
    const l = limiter({ perRule: perMinute(1) });
    const out: Alert[] = [];
    expect(admitAll(l, [alert('A', T0), alert('A', T0 + MINUTE - 1n)], out)).toEqual([1, 0]);
    expect(out).toEqual([]);
    expect(l.admit(alert('A', T0 + MINUTE), out)).toBe(true);
    expect(heldOf(out)).toEqual([['A', 1, 'rule']]);
    // The new window started at the alert that opened it: its end is a minute later.
    expect(admitAll(l, [alert('A', T0 + 2n * MINUTE - 1n)], out)).toEqual([0]);
    expect(l.admit(alert('A', T0 + 2n * MINUTE), out)).toBe(true);
  });

  it('does the same for the global window', () => {
    const l = limiter({ global: perMinute(1) });
    const out: Alert[] = [];
    expect(admitAll(l, [alert('A', T0), alert('B', T0 + MINUTE - 1n)], out)).toEqual([1, 0]);
    expect(out).toEqual([]);
    expect(l.admit(alert('A', T0 + MINUTE), out)).toBe(true);
    expect(heldOf(out)).toEqual([['B', 1, 'global']]);
  });

  it('measures a window in milliseconds: 1 m is 60 s of event time', () => {
    const l = limiter({ perRule: perMinute(1), global: { count: 5, perMs: 10_000 } });
    expect(admitAll(l, [alert('A', T0), alert('A', T0 + 59n * SECOND)])).toEqual([1, 0]);
    const g = limiter({ global: { count: 1, perMs: 10_000 } });
    expect(admitAll(g, [alert('A', T0), alert('A', T0 + 10n * SECOND - 1n), alert('A', T0 + 10n * SECOND)])).toEqual([1, 0, 1]);
  });

  it('closes windows on a sweep exactly at their end, each by its own length', () => {
    const l = limiter({ rules: new Map([['Short', { count: 1, perMs: 10_000 }], ['Long', perMinute(1)], ['Mid', { count: 1, perMs: 30_000 }]]), global: { count: 100, perMs: 20_000 } });
    const out: Alert[] = [];
    for (const rule of ['Long', 'Short', 'Mid']) admitAll(l, [alert(rule, T0), alert(rule, T0 + 1n)], out);
    l.expire(T0 + 10n * SECOND - 1n, out);
    expect(out).toEqual([]);
    l.expire(T0 + 10n * SECOND, out);
    expect(heldOf(out)).toEqual([['Short', 1, 'rule']]);
    l.expire(T0 + 30n * SECOND - 1n, out);
    expect(out).toHaveLength(1);
    l.expire(T0 + 30n * SECOND, out);
    expect(heldOf(out).map(([r]) => r)).toEqual(['Short', 'Mid']);
    l.expire(T0 + MINUTE - 1n, out);
    expect(out).toHaveLength(2);
    l.expire(T0 + MINUTE, out);
    expect(heldOf(out).map(([r]) => r)).toEqual(['Short', 'Mid', 'Long']);
  });

  it('sweeps a rule window opened later that ends sooner', () => {
    const l = limiter({ rules: new Map([['Long', perMinute(1)], ['Short', { count: 1, perMs: 10_000 }]]) });
    const out: Alert[] = [];
    admitAll(l, [alert('Long', T0), alert('Long', T0)], out);
    admitAll(l, [alert('Short', T0 + SECOND), alert('Short', T0 + SECOND)], out);
    l.expire(T0 + 11n * SECOND, out);
    expect(heldOf(out)).toEqual([['Short', 1, 'rule']]);
  });

  it('closes the global window on a sweep at its end, and not before', () => {
    const l = limiter({ global: perMinute(1) });
    const out: Alert[] = [];
    admitAll(l, [alert('A', T0), alert('A', T0)], out);
    l.expire(T0 + MINUTE - 1n, out);
    expect(out).toEqual([]);
    l.expire(T0 + MINUTE, out);
    expect(heldOf(out)).toEqual([['A', 1, 'global']]);
    // Closed once: a later sweep says nothing more.
    l.expire(T0 + 2n * MINUTE, out);
    expect(out).toHaveLength(1);
  });

  it('says nothing at the end of a window that held nothing back', () => {
    const l = limiter({ perRule: perMinute(2), global: perMinute(2) });
    const out: Alert[] = [];
    admitAll(l, [alert('A', T0), alert('A', T0)], out);
    l.expire(T0 + MINUTE, out);
    l.flush(out);
    expect(out).toEqual([]);
  });
});

describe('rate limits: the global limit and the rule budget', () => {
  it("does not spend a rule's budget on an alert the global limit held back", () => {
    const l = limiter({ perRule: perMinute(2), global: { count: 1, perMs: 10_000 } });
    const out: Alert[] = [];
    expect(admitAll(l, [alert('A', T0), alert('A', T0 + SECOND)], out)).toEqual([1, 0]);
    expect(heldOf(out)).toEqual([]);
    // A new global window: the rule has one left, since the held alert cost it nothing.
    expect(admitAll(l, [alert('A', T0 + 10n * SECOND), alert('A', T0 + 20n * SECOND)], out)).toEqual([1, 0]);
    l.flush(out);
    expect(heldOf(out)).toEqual([
      ['A', 1, 'global'],
      ['A', 1, 'rule'],
    ]);
  });

  it('does not spend the global budget on an alert its rule held back', () => {
    const l = limiter({ perRule: perMinute(1), global: perMinute(2) });
    expect(admitAll(l, [alert('A', T0), alert('A', T0), alert('B', T0), alert('C', T0)])).toEqual([1, 0, 1, 0]);
  });
});

describe('rate limits: what is held back', () => {
  it("counts each held alert by its own count, so a folded alert's repeats are not lost", () => {
    const l = limiter({ perRule: perMinute(1) });
    const out: Alert[] = [];
    admitAll(l, [alert('A', T0), alert('A', T0 + 1n, { count: 5 }), alert('A', T0 + 2n, { count: 3 })], out);
    l.flush(out);
    expect(heldOf(out)).toEqual([['A', 8, 'rule']]);
    expect(out[0]!.count).toBe(8);
  });

  it('reports the most severe priority, the earliest and latest time, and the last alert\'s host', () => {
    const l = limiter({ perRule: perMinute(1) });
    const out: Alert[] = [];
    admitAll(
      l,
      [
        alert('A', T0),
        alert('A', T0 + 5n * SECOND, { priority: 'Warning', hostname: 'h1' }),
        alert('A', T0 + 2n * SECOND, { priority: 'Critical', hostname: 'h2' }),
        alert('A', T0 + 9n * SECOND, { priority: 'Notice', hostname: 'h3' }),
        alert('A', T0 + 7n * SECOND, { priority: 'Error', hostname: 'h4', node: 'worker-4', cluster: 'prod' }),
      ],
      out,
    );
    l.flush(out);
    expect(out).toHaveLength(1);
    const a = out[0]!;
    expect(a.priority).toBe('Critical');
    expect(a.held_back).toEqual({ rule: 'A', count: 4, scope: 'rule', limit: 1, window_ms: 60_000, from: T0 + 2n * SECOND, to: T0 + 9n * SECOND });
    expect([a.timeNs, a.hostname, a.node, a.cluster]).toEqual([T0 + 9n * SECOND, 'h4', 'worker-4', 'prod']);
  });

  it('keeps the most severe priority when a later one is less severe, and the span when a later time falls inside', () => {
    const l = limiter({ perRule: perMinute(1) });
    const out: Alert[] = [];
    admitAll(l, [alert('A', T0), alert('A', T0 + 2n, { priority: 'Critical' }), alert('A', T0 + 9n, { priority: 'Critical' }), alert('A', T0 + 5n, { priority: 'Notice' })], out);
    l.flush(out);
    expect([out[0]!.priority, out[0]!.held_back!.from, out[0]!.held_back!.to]).toEqual(['Critical', T0 + 2n, T0 + 9n]);
  });

  it('says in one limit alert per rule what the global limit held back, in the order first held', () => {
    const l = limiter({ global: perMinute(1) });
    const out: Alert[] = [];
    admitAll(l, [alert('A', T0), alert('B', T0 + 1n), alert('A', T0 + 2n), alert('B', T0 + 3n), alert('C', T0 + 4n)], out);
    l.flush(out);
    expect(heldOf(out)).toEqual([
      ['B', 2, 'global'],
      ['A', 1, 'global'],
      ['C', 1, 'global'],
    ]);
  });

  it('is a complete alert of its own: id, rule, origin, empty workload and process, the limit in words', () => {
    const l = limiter({ perRule: { count: 2, perMs: 30_000 } });
    const out: Alert[] = [];
    const held = alert('Noisy', T0 + 3n * SECOND);
    admitAll(l, [alert('Noisy', T0), alert('Noisy', T0 + SECOND), alert('Noisy', T0 + 2n * SECOND), held], out);
    l.flush(out);
    const from = T0 + 2n * SECOND;
    const to = T0 + 3n * SECOND;
    expect(out).toEqual([
      {
        id: derivedId('limit', ['rule', T0, 'Noisy', 2, from, to]),
        timeNs: to,
        rule: LIMIT_RULE,
        priority: 'Notice',
        source: 'lanner',
        hostname: held.hostname,
        output: `2 alerts of rule "Noisy" were held back by its per-rule limit (2 per 30000 ms) between ${formatRfc3339Ns(from)} and ${formatRfc3339Ns(to)}`,
        tags: ['lanner', 'rate_limit'],
        origin: 'lanner',
        workload: { namespace: null, pod: null, container_id: null, container_name: null, image: null },
        process: { pid: null, name: null, cmdline: null, parent: null, user: null, uid: null },
        evidence: [],
        count: 2,
        held_back: { rule: 'Noisy', count: 2, scope: 'rule', limit: 2, window_ms: 30_000, from, to },
      },
    ]);
    expect(LIMIT_RULE).toBe('AlertLimitReached');
  });

  it('names the global limit as such', () => {
    const l = limiter({ global: perMinute(1) });
    const out: Alert[] = [];
    admitAll(l, [alert('A', T0), alert('A', T0)], out);
    l.flush(out);
    expect(out[0]!.output).toBe(`1 alerts of rule "A" were held back by the global limit (1 per 60000 ms) between ${formatRfc3339Ns(T0)} and ${formatRfc3339Ns(T0)}`);
    expect(out[0]!.id).toBe(derivedId('limit', ['global', T0, 'A', 1, T0, T0]));
  });
});

describe('rate limits: bounded rule windows', () => {
  it('keeps exactly max_rules windows; a new rule past it closes the oldest early, with its limit alert', () => {
    const l = limiter({ perRule: perMinute(1), maxRules: 2 });
    const out: Alert[] = [];
    admitAll(l, [alert('A', T0), alert('A', T0), alert('B', T0)], out);
    expect(out).toEqual([]);
    admitAll(l, [alert('C', T0)], out);
    expect(heldOf(out)).toEqual([['A', 1, 'rule']]);
    // A's window is gone: A starts afresh, closing B's (nothing held: nothing said).
    expect(admitAll(l, [alert('A', T0 + 1n)], out)).toEqual([1]);
    expect(out).toHaveLength(1);
    expect(admitAll(l, [alert('C', T0 + 2n)], out)).toEqual([0]);
  });
});
