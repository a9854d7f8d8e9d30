/**
 * The stateful kinds as the registry lists them: each describes itself completely, its example
 * is a rule that loads, and the matcher it builds behaves as the rule engine expects of it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import type { FalcoEvent } from '../../src/core/event.js';
import { optionRows } from '../../src/core/plugin.js';
import { DEFAULT_BOUNDS, RuleEngine } from '../../src/detect/rule-engine.js';
import { stateBoundsOptions, type StatefulHit, type StatefulMatcher } from '../../src/detect/stateful/matcher.js';
import { findStatefulKind, STATEFUL_KINDS } from '../../src/detect/stateful/registry.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { loadDetectionRules } from '../../src/rules/compiler/stateful.js';
import type { Predicate } from '../../src/rules/compiler/detection-rule.js';
import { STATEFUL_KEYS } from '../../src/rules/load/collector.js';
import { falcoEvent } from '../support/events.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

interface JsonNode {
  description?: string;
  properties?: Record<string, JsonNode>;
  items?: JsonNode;
  anyOf?: JsonNode[];
}

/** Every key of an option schema, nested ones (in lists of mappings too) by dotted path, with its description. */
function describedKeys(schema: z.ZodType): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  const visit = (node: JsonNode, prefix: string): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push([path, child.description]);
      for (const inner of [child, child.items, ...(child.anyOf ?? []), ...(child.anyOf ?? []).map((a) => a.items)]) if (inner) visit(inner, path);
    }
  };
  visit(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonNode, '');
  return out;
}

function loadExample(text: string): ReturnType<typeof loadDetectionRules> {
  const d = tempDir('kinds');
  writeFileSync(join(d, 'r.yaml'), text);
  return loadDetectionRules([d], DEFAULT_BOUNDS);
}

const counting = () => {
  const seen = { evicted: 0, size: 0 };
  return { seen, observer: { evicted: (n: number) => void (seen.evicted += n), size: (n: number) => void (seen.size = n) } };
};

const ev = (fields: Record<string, unknown>): FalcoEvent => falcoEvent({ fields, tags: ['lanner_feed'] });
const typeIs = (type: string): Predicate => (e) => e.fields['evt.type'] === type;
const HELD = Uint8Array.of(1);

describe('STATEFUL_KINDS', () => {
  it('registers one stateful kind for every stateful key the rule loader collects, each found by its name', () => {
    expect(STATEFUL_KINDS.map((k) => k.name).sort()).toEqual([...STATEFUL_KEYS].sort());
    for (const kind of STATEFUL_KINDS) {
      expect(kind.kind).toBe('stateful');
      expect(findStatefulKind(kind.name)).toBe(kind);
    }
    expect(findStatefulKind('process_table')).toBeUndefined();
  });

  it.each(STATEFUL_KINDS.map((k) => [k.name, k] as const))('%s: describes every key of its options, nested keys included', (_name, kind) => {
    const keys = describedKeys(kind.options);
    expect(keys.length).toBeGreaterThan(1);
    expect(keys.filter(([, description]) => !description?.trim()).map(([key]) => key)).toEqual([]);
    // The reference table is rendered from the same schema: no row without its description.
    expect(optionRows(kind.options).filter((r) => !r.description)).toEqual([]);
    expect(kind.summary.length).toBeGreaterThan(20);
  });

  it('describes the state key every stateful rule may carry', () => {
    expect(describedKeys(stateBoundsOptions).map(([key, d]) => [key, Boolean(d)])).toEqual([
      ['max_keys', true],
      ['ttl', true],
    ]);
  });

  it.each(STATEFUL_KINDS.map((k) => [k.name, k] as const))('%s: its example is a rule its options accept and the compiler loads as that kind', (name, kind) => {
    const items = parse(kind.example) as Record<string, unknown>[];
    expect(items).toHaveLength(1);
    expect(kind.options.safeParse(items[0]![name]).success).toBe(true);
    expect(stateBoundsOptions.safeParse(items[0]!['state'] ?? {}).success).toBe(true);
    const loaded = loadExample(kind.example);
    expect(loaded.problems).toEqual([]);
    expect(loaded.rules.map((r) => r.stateful?.kind)).toEqual([name]);
  });

  it('refuses, in the options, a key the compiler does not know and a window that is not a duration', () => {
    const threshold = findStatefulKind('threshold')!.options;
    expect(threshold.safeParse({ count: 3, within: '10s', by: 'container.id' }).success).toBe(true);
    expect(threshold.safeParse({ count: 3, within: '10s', per: 'container.id' }).success).toBe(false);
    expect(threshold.safeParse({ count: 3, within: 'ten seconds' }).success).toBe(false);
    expect(threshold.safeParse({ count: 0, within: '10s' }).success).toBe(false);
  });

  it('says that baselines keep their profiles in the state file, and only baselines', () => {
    expect(Object.fromEntries(STATEFUL_KINDS.map((k) => [k.name, k.needs.files ?? []]))).toEqual({ sequence: [], threshold: [], baseline: ['state.file'] });
  });
});

describe('a matcher built through the registry', () => {
  const bounds = { maxKeys: 100, ttlMs: 60_000 };
  const connect = (container: string): FalcoEvent => ev({ 'evt.type': 'connect', 'container.id': container });

  function threshold(count: number): { matcher: StatefulMatcher; seen: { evicted: number; size: number } } {
    const { seen, observer } = counting();
    const matcher = findStatefulKind('threshold')!.create({ kind: 'threshold', count, withinMs: 1000, by: ['container.id'] }, bounds, { condition: typeIs('connect'), observer });
    return { matcher, seen };
  }

  it('threshold: evaluates the rule condition, and fires at the count-th event within the window, not before, not again at the next', () => {
    const { matcher, seen } = threshold(3);
    expect(matcher.kind).toBe('threshold');
    expect(matcher.counts).toBe('event');
    expect(matcher.predicates).toHaveLength(1);
    expect(matcher.predicates[0]!(connect('c1'))).toBe(true);
    expect(matcher.predicates[0]!(ev({ 'evt.type': 'close' }))).toBe(false);
    const hits: StatefulHit[] = [];
    matcher.feed(connect('c1'), 0, HELD, hits);
    matcher.feed(connect('c1'), 100, HELD, hits);
    expect(hits).toEqual([]);
    expect(matcher.liveKeys).toBe(1);
    expect(seen.size).toBe(1);
    matcher.feed(connect('c1'), 200, HELD, hits);
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ key: 'c1', detail: '3 events within the window' });
    expect(hits[0]!.events).toHaveLength(3);
    // One alert per burst: the window starts over after it fires.
    matcher.feed(connect('c1'), 300, HELD, hits);
    expect(hits).toHaveLength(1);
  });

  it('threshold: expires an idle key on event time and reports the eviction', () => {
    const { matcher, seen } = threshold(3);
    const hits: StatefulHit[] = [];
    matcher.feed(connect('c1'), 0, HELD, hits);
    matcher.expire(bounds.ttlMs, hits);
    expect(matcher.liveKeys).toBe(1);
    matcher.expire(bounds.ttlMs + 1, hits);
    expect(matcher.liveKeys).toBe(0);
    expect(seen).toEqual({ evicted: 1, size: 0 });
    expect(hits).toEqual([]);
  });

  it('sequence: takes its steps and absence step as predicates, and completes the absence on expiry', () => {
    const { observer } = counting();
    const steps = [typeIs('execve'), typeIs('connect')];
    const close = typeIs('close');
    const matcher = findStatefulKind('sequence')!.create(
      { kind: 'sequence', withinMs: 5000, steps: steps.map((matches) => ({ matches, by: ['proc.pid'] })), absent: { matches: close, by: ['proc.pid'], withinMs: 2000 } },
      bounds,
      { condition: () => true, observer },
    );
    expect(matcher.counts).toBe('hit');
    expect(matcher.predicates).toEqual([...steps, close]);
    const hits: StatefulHit[] = [];
    matcher.feed(ev({ 'evt.type': 'execve', 'proc.pid': 7 }), 0, Uint8Array.of(1, 0, 0), hits);
    matcher.feed(ev({ 'evt.type': 'connect', 'proc.pid': 7 }), 100, Uint8Array.of(0, 1, 0), hits);
    matcher.expire(2100, hits);
    expect(hits).toEqual([]);
    matcher.expire(2101, hits);
    expect(hits.map((h) => [h.key, h.events.length])).toEqual([['7', 2]]);
  });

  it('baseline: alone keeps state worth saving, and takes it up again', () => {
    const spec = { kind: 'baseline', by: ['container.image.repository'], learn: ['proc.name'], learnMs: 1000, maxValues: 10 } as const;
    const exec = (proc: string) => ev({ 'evt.type': 'execve', 'container.image.repository': 'shop/api', 'proc.name': proc });
    const build = (): StatefulMatcher => findStatefulKind('baseline')!.create(spec, bounds, { condition: typeIs('execve'), observer: counting().observer });
    const learned = build();
    const hits: StatefulHit[] = [];
    learned.feed(exec('node'), 0, HELD, hits);
    const restored = build();
    restored.restore!(learned.snapshot!());
    restored.feed(exec('node'), 2000, HELD, hits);
    restored.feed(exec('sh'), 2001, HELD, hits);
    expect(hits.map((h) => [h.key, h.detail])).toEqual([['shop/api', 'never seen for this workload: sh']]);
    restored.forget!('shop/api');
    expect(restored.liveKeys).toBe(0);
    // Windows are not worth a state file: a threshold has nothing to save.
    expect(threshold(2).matcher.snapshot).toBeUndefined();
  });
});

describe('RuleEngine with a threshold rule', () => {
  it('raises nothing at count-1 matching events, one alert at count, and none at count+1', () => {
    const { rules } = loadExample(`
- rule: Connection burst
  condition: evt.type = connect
  threshold: { count: 3, within: 10s, by: container.id }
  output: burst from %container.id
  priority: WARNING
`);
    const metrics = createMetrics({ processMetrics: false });
    const engine = new RuleEngine(rules, { metrics });
    const out: Alert[] = [];
    const at = (ms: number, fields: Record<string, unknown>) =>
      engine.process(falcoEvent({ tags: ['lanner_feed'], timeNs: 1_700_000_000_000_000_000n + BigInt(ms) * 1_000_000n, fields }), out);
    at(0, { 'evt.type': 'connect', 'container.id': 'c1' });
    at(10, { 'evt.type': 'open', 'container.id': 'c1' });
    at(20, { 'evt.type': 'connect', 'container.id': 'c1' });
    expect(out).toEqual([]);
    at(30, { 'evt.type': 'connect', 'container.id': 'c1' });
    expect(out.map((a) => [a.rule, a.output, a.evidence.length])).toEqual([['Connection burst', 'burst from c1 (3 events within the window)', 3]]);
    at(40, { 'evt.type': 'connect', 'container.id': 'c1' });
    engine.end(out);
    expect(out).toHaveLength(1);
  });
});
