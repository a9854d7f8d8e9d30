import { describe, expect, it } from 'vitest';
import type { FalcoEvent } from '../../src/core/event.js';
import { BaselineLearner } from '../../src/detect/stateful/baseline.js';
import { BoundedState } from '../../src/detect/stateful/bounded-state.js';
import { keyOf } from '../../src/detect/stateful/keys.js';
import { SequenceMatcher, type SequenceHit } from '../../src/detect/stateful/sequence.js';
import { ThresholdCounter } from '../../src/detect/stateful/threshold.js';
import { falcoEvent } from '../support/events.js';

function counting(): { evicted: number; size: number; observer: { evicted(n: number): void; size(n: number): void } } {
  const c = { evicted: 0, size: 0, observer: { evicted: (n: number) => void (c.evicted += n), size: (n: number) => void (c.size = n) } };
  return c;
}

const ev = (fields: Record<string, unknown>): FalcoEvent => falcoEvent({ fields, tags: ['lanner_feed'] });
const typeIs = (...types: string[]) => (e: FalcoEvent): boolean => types.includes(String(e.fields['evt.type']));

// Symlink planted in /tmp, then root opens the path: the design's example, by hand.
function tmpRace(withinMs = 5000): SequenceMatcher {
  return new SequenceMatcher(
    {
      withinMs,
      steps: [
        { matches: typeIs('symlink', 'symlinkat'), key: keyOf(['evt.arg.linkpath']) },
        { matches: (e) => typeIs('open', 'openat')(e) && e.fields['user.uid'] === 0, key: keyOf(['fd.name']) },
      ],
    },
    { maxKeys: 1000, ttlMs: 60_000 },
    counting().observer,
  );
}

/** Steps of one `evt.type` each, all joined on `by`, optionally ending "and no `absent` within". */
function typeSequence(types: readonly string[], by: string, withinMs: number, absent?: { type: string; withinMs: number }, ttlMs = 60_000): SequenceMatcher {
  const key = keyOf([by]);
  return new SequenceMatcher(
    {
      withinMs,
      steps: types.map((t) => ({ matches: typeIs(t), key })),
      ...(absent ? { absence: { matches: typeIs(absent.type), key, withinMs: absent.withinMs } } : {}),
    },
    { maxKeys: 100, ttlMs },
    counting().observer,
  );
}

const plant = ev({ 'evt.type': 'symlinkat', 'evt.arg.linkpath': '/tmp/x', 'user.uid': 1000 });
const rootOpen = ev({ 'evt.type': 'openat', 'fd.name': '/tmp/x', 'user.uid': 0 });

describe('SequenceMatcher', () => {
  it('fires when the second step joins the first within the window', () => {
    const m = tmpRace();
    const hits: SequenceHit[] = [];
    m.process(plant, 1000, hits);
    m.process(rootOpen, 5999, hits);
    expect(hits).toHaveLength(1);
    expect(hits[0]!.key).toBe('/tmp/x');
    expect(hits[0]!.events).toEqual([plant, rootOpen]);
    expect(m.liveKeys).toBe(0);
  });

  it('fires exactly at the window edge and not one millisecond after', () => {
    const hits: SequenceHit[] = [];
    const atEdge = tmpRace();
    atEdge.process(plant, 1000, hits);
    atEdge.process(rootOpen, 6000, hits);
    expect(hits).toHaveLength(1);
    const late = tmpRace();
    late.process(plant, 1000, hits);
    late.process(rootOpen, 6001, hits);
    expect(hits).toHaveLength(1);
  });

  it('stays silent for the benign look-alikes: other path, non-root opener, open before plant', () => {
    const hits: SequenceHit[] = [];
    const m = tmpRace();
    m.process(rootOpen, 500, hits);
    m.process(plant, 1000, hits);
    m.process(ev({ 'evt.type': 'openat', 'fd.name': '/tmp/y', 'user.uid': 0 }), 1100, hits);
    m.process(ev({ 'evt.type': 'openat', 'fd.name': '/tmp/x', 'user.uid': 1000 }), 1200, hits);
    expect(hits).toHaveLength(0);
  });

  it('ignores events whose join field is missing', () => {
    const hits: SequenceHit[] = [];
    const m = tmpRace();
    m.process(ev({ 'evt.type': 'symlinkat', 'evt.arg.linkpath': null }), 1000, hits);
    expect(m.liveKeys).toBe(0);
  });

  it('with an absence step, fires only once the absence window has passed without X', () => {
    const make = (): SequenceMatcher => typeSequence(['execve', 'connect'], 'container.id', 10_000, { type: 'close', withinMs: 2000 });
    const exec = ev({ 'evt.type': 'execve', 'container.id': 'c1' });
    const connect = ev({ 'evt.type': 'connect', 'container.id': 'c1' });
    const close = ev({ 'evt.type': 'close', 'container.id': 'c1' });
    const hits: SequenceHit[] = [];

    const quiet = make();
    quiet.process(exec, 0, hits);
    quiet.process(connect, 100, hits);
    quiet.expire(2100, hits);
    expect(hits).toHaveLength(0);
    quiet.expire(2101, hits);
    expect(hits).toHaveLength(1);

    const closed = make();
    closed.process(exec, 0, hits);
    closed.process(connect, 100, hits);
    closed.process(close, 1500, hits);
    closed.expire(5000, hits);
    expect(hits).toHaveLength(1);
  });

  it('starts over on a new first step without losing a match further along', () => {
    // execve -> connect -> dup2 by pid within 5 s: the second run completes although the first is stale
    const m = typeSequence(['execve', 'connect', 'dup2'], 'proc.pid', 5000);
    const a = ev({ 'evt.type': 'execve', 'proc.pid': 7 });
    const b = ev({ 'evt.type': 'connect', 'proc.pid': 7 });
    const c = ev({ 'evt.type': 'dup2', 'proc.pid': 7 });
    const hits: SequenceHit[] = [];
    m.process(a, 0, hits);
    m.process(b, 1000, hits);
    m.process(a, 4000, hits);
    m.process(b, 4500, hits);
    m.process(c, 6000, hits);
    expect(hits.map((h) => h.events.length)).toEqual([3]);
    // the first run could still have completed until 5000
    const early = tmpRace();
    early.process(plant, 0, hits);
    early.process(plant, 3000, hits);
    early.process(rootOpen, 7000, hits);
    expect(hits).toHaveLength(2);
  });

  it('ignores a later step stamped before the first step: out of order, it does not end the match', () => {
    const hits: SequenceHit[] = [];
    const m = tmpRace();
    m.process(plant, 10, hits);
    m.process(rootOpen, 7, hits);
    m.process(rootOpen, 20, hits);
    expect(hits).toHaveLength(1);
  });

  it('repeating the steps cannot push away an absence alert that is already waiting', () => {
    const m = typeSequence(['execve', 'connect'], 'proc.pid', 5000, { type: 'close', withinMs: 10_000 }, 600_000);
    const hits: SequenceHit[] = [];
    // an attacker re-running execve and connect every few seconds, never closing
    for (let t = 0; t < 30_000; t += 3000) {
      m.process(ev({ 'evt.type': 'execve', 'proc.pid': 9 }), t, hits);
      m.process(ev({ 'evt.type': 'connect', 'proc.pid': 9 }), t + 1000, hits);
      m.expire(t + 1000, hits);
    }
    // the first completed match (connect at 1000) fires once its 10 s have passed; the next
    // match to complete after that waits out its own window (connect at 16000, fired at 28000)
    expect(hits.map((h) => h.events.map((e) => e.fields['evt.type']))).toEqual([
      ['execve', 'connect'],
      ['execve', 'connect'],
    ]);
  });

  it('keeps no more keys than its limit and counts what it evicts', () => {
    const c = counting();
    const m = new SequenceMatcher(
      { withinMs: 5000, steps: [{ matches: typeIs('symlinkat'), key: keyOf(['evt.arg.linkpath']) }, { matches: typeIs('openat'), key: keyOf(['fd.name']) }] },
      { maxKeys: 10_000, ttlMs: 60_000 },
      c.observer,
    );
    const hits: SequenceHit[] = [];
    const fields: Record<string, unknown> = { 'evt.type': 'symlinkat', 'evt.arg.linkpath': '' };
    const e = ev(fields);
    const mutable = e.fields as Record<string, unknown>;
    for (let i = 0; i < 1_000_000; i++) {
      mutable['evt.arg.linkpath'] = `/tmp/f${i}`;
      m.process(e, i, hits);
    }
    expect(m.liveKeys).toBe(10_000);
    expect(c.size).toBe(10_000);
    expect(c.evicted).toBe(990_000);
  });
});

describe('ThresholdCounter', () => {
  const connect = (ip: string): FalcoEvent => ev({ 'evt.type': 'connect', 'container.id': 'c1', 'fd.sip': ip });

  it('fires at the Nth event within the window and starts over', () => {
    const t = new ThresholdCounter({ count: 3, withinMs: 1000, key: keyOf(['container.id']) }, { maxKeys: 100, ttlMs: 10_000 }, counting().observer);
    expect(t.add(connect('1.1.1.1'), 0)).toBeUndefined();
    expect(t.add(connect('1.1.1.2'), 500)).toBeUndefined();
    const hit = t.add(connect('1.1.1.3'), 1000);
    expect(hit).toMatchObject({ key: 'c1', count: 3 });
    expect(hit!.events.map((e) => e.fields['fd.sip'])).toEqual(['1.1.1.1', '1.1.1.2', '1.1.1.3']);
    expect(t.add(connect('1.1.1.4'), 1001)).toBeUndefined();
  });

  it('does not count events that fell out of the window', () => {
    const t = new ThresholdCounter({ count: 3, withinMs: 1000, key: keyOf(['container.id']) }, { maxKeys: 100, ttlMs: 10_000 }, counting().observer);
    t.add(connect('a'), 0);
    t.add(connect('b'), 999);
    expect(t.add(connect('c'), 1001)).toBeUndefined();
    expect(t.add(connect('d'), 1500)).toMatchObject({ count: 3 });
  });

  it('shows as evidence only events the window counts, as it slides', () => {
    const t = new ThresholdCounter({ count: 3, withinMs: 1000, key: keyOf(['container.id']) }, { maxKeys: 100, ttlMs: 10_000 }, counting().observer);
    const at = (ms: number) => ev({ 'evt.type': 'connect', 'container.id': 'c1', 'proc.pid': ms });
    t.add(at(0), 0);
    t.add(at(900), 900);
    t.add(at(1500), 1500);
    const hit = t.add(at(1800), 1800);
    expect(hit?.events.map((e) => e.fields['proc.pid'])).toEqual([900, 1500, 1800]);
  });

  it('keeps no more keys than its limit under a million distinct keys, and counts what it evicts', () => {
    const c = counting();
    const t = new ThresholdCounter({ count: 3, withinMs: 1000, key: keyOf(['fd.sip']) }, { maxKeys: 10_000, ttlMs: 60_000 }, c.observer);
    const e = connect('');
    const mutable = e.fields as Record<string, unknown>;
    for (let i = 0; i < 1_000_000; i++) {
      mutable['fd.sip'] = `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
      t.add(e, i);
    }
    expect(t.liveKeys).toBe(10_000);
    expect(c.size).toBe(10_000);
    expect(c.evicted).toBe(990_000);
  });

  it('expires idle keys by TTL on event time', () => {
    const c = counting();
    const t = new ThresholdCounter({ count: 5, withinMs: 1000, key: keyOf(['fd.sip']) }, { maxKeys: 100, ttlMs: 2000 }, c.observer);
    t.add(connect('a'), 0);
    t.add(connect('b'), 1500);
    t.expire(2001);
    expect(t.liveKeys).toBe(1);
    expect(c.evicted).toBe(1);
  });
});

describe('BaselineLearner', () => {
  const exec = (image: string, proc: string): FalcoEvent => ev({ 'evt.type': 'execve', 'k8s.ns.name': 'shop', 'container.image.repository': image, 'proc.name': proc });
  const spec = { workload: keyOf(['k8s.ns.name', 'container.image.repository']), value: keyOf(['proc.name']), learnMs: 60_000, maxValues: 100 };

  it('learns during the period, then reports each new value once', () => {
    const b = new BaselineLearner(spec, { maxKeys: 100, ttlMs: 86_400_000 }, counting().observer);
    expect(b.observe(exec('shop/api', 'node'), 0)).toBeUndefined();
    expect(b.observe(exec('shop/api', 'wget'), 59_999)).toBeUndefined();
    expect(b.observe(exec('shop/api', 'node'), 70_000)).toBeUndefined();
    expect(b.observe(exec('shop/api', 'wget'), 70_000)).toBeUndefined();
    expect(b.observe(exec('shop/api', 'sh'), 70_001)).toEqual({ workload: 'shop\u001fshop/api', value: 'sh', learnedValues: 2 });
    expect(b.observe(exec('shop/api', 'sh'), 70_002)).toBeUndefined();
    // Another workload learns on its own clock.
    expect(b.observe(exec('shop/web', 'sh'), 70_003)).toBeUndefined();
  });

  it('keeps a full profile to max_values by forgetting the value seen least recently, still reporting a new value once', () => {
    const b = new BaselineLearner({ ...spec, maxValues: 2 }, { maxKeys: 100, ttlMs: 86_400_000 }, counting().observer);
    for (const [proc, at] of [['a', 0], ['b', 1], ['c', 2]] as const) expect(b.observe(exec('shop/api', proc), at)).toBeUndefined();
    // Learned: b and c (a made room for c). Seeing b again makes c the least recently seen.
    expect(b.observe(exec('shop/api', 'b'), 60_000)).toBeUndefined();
    expect(b.observe(exec('shop/api', 'd'), 60_001)).toMatchObject({ value: 'd', learnedValues: 2 });
    expect(b.observe(exec('shop/api', 'd'), 60_002)).toBeUndefined();
    expect(b.observe(exec('shop/api', 'd'), 60_003)).toBeUndefined();
    expect(b.observe(exec('shop/api', 'b'), 60_004)).toBeUndefined();
    expect(b.observe(exec('shop/api', 'c'), 60_005)).toMatchObject({ value: 'c' });
    expect(b.snapshot()[0]!.values).toHaveLength(2);
  });

  it('orders values by last sight before the profile is ever full, and a smaller max_values keeps the latest', () => {
    const b = new BaselineLearner({ ...spec, maxValues: 2 }, { maxKeys: 100, ttlMs: 86_400_000 }, counting().observer);
    b.observe(exec('shop/api', 'a'), 0);
    b.observe(exec('shop/api', 'b'), 1);
    b.observe(exec('shop/api', 'a'), 2);
    // c makes room by forgetting b, the value seen least recently, not a
    expect(b.observe(exec('shop/api', 'c'), 60_000)).toMatchObject({ value: 'c' });
    expect(b.observe(exec('shop/api', 'a'), 60_001)).toBeUndefined();
    expect(b.observe(exec('shop/api', 'b'), 60_002)).toMatchObject({ value: 'b' });
    const smaller = new BaselineLearner({ ...spec, maxValues: 1 }, { maxKeys: 100, ttlMs: 86_400_000 }, counting().observer);
    smaller.restore(b.snapshot());
    expect(smaller.snapshot()[0]!.values).toEqual(['b']);
  });

  it('keeps no more workloads than its limit under a million distinct ones, and counts what it evicts', () => {
    const c = counting();
    const b = new BaselineLearner(spec, { maxKeys: 10_000, ttlMs: 86_400_000 }, c.observer);
    const e = exec('', 'node');
    const mutable = e.fields as Record<string, unknown>;
    for (let i = 0; i < 1_000_000; i++) {
      mutable['container.image.repository'] = `shop/api-${i}`;
      b.observe(e, i);
    }
    expect(b.liveKeys).toBe(10_000);
    expect(c.size).toBe(10_000);
    expect(c.evicted).toBe(990_000);
  });

  it('survives a restart through its snapshot', () => {
    const before = new BaselineLearner(spec, { maxKeys: 100, ttlMs: 86_400_000 }, counting().observer);
    before.observe(exec('shop/api', 'node'), 0);
    const saved = JSON.parse(JSON.stringify(before.snapshot())) as ReturnType<BaselineLearner['snapshot']>;
    const after = new BaselineLearner(spec, { maxKeys: 100, ttlMs: 86_400_000 }, counting().observer);
    after.restore(saved);
    expect(after.observe(exec('shop/api', 'node'), 90_000)).toBeUndefined();
    expect(after.observe(exec('shop/api', 'nc'), 90_000)).toMatchObject({ value: 'nc', learnedValues: 1 });
  });
});

describe('keyOf', () => {
  it('joins on all fields, and takes the first present of alternatives a|b', () => {
    const key = keyOf(['container.id', 'evt.arg.path|evt.arg.pathname']);
    expect(key(ev({ 'container.id': 'c1', 'evt.arg.path': '/tmp/a' }))).toBe('c1\u001f/tmp/a');
    expect(key(ev({ 'container.id': 'c1', 'evt.arg.pathname': '/tmp/b' }))).toBe('c1\u001f/tmp/b');
    expect(key(ev({ 'container.id': 'c1', 'evt.arg.path': null }))).toBeUndefined();
    expect(key(ev({ 'evt.arg.path': '/tmp/a' }))).toBeUndefined();
  });
});

describe('BoundedState', () => {
  it('evicts the least recently touched key first', () => {
    const c = counting();
    const s = new BoundedState<number>({ maxKeys: 2, ttlMs: 1000 }, c.observer);
    s.set('a', 1, 0);
    s.set('b', 2, 1);
    s.set('a', 3, 2);
    s.set('c', 4, 3);
    expect([...s].map(([k]) => k)).toEqual(['a', 'c']);
    expect(c.evicted).toBe(1);
  });
});
