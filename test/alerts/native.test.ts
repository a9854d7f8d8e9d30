import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alertFromFalcoEvent, derivedId } from '../../src/alerts/alert.js';
import { formatNative } from '../../src/alerts/formats/native.js';
import { formatPretty } from '../../src/alerts/formats/pretty.js';
import { parseJsonExact } from '../../src/core/exact-json.js';
import { normalizeFalcoJson } from '../../src/ingest/normalize.js';
import { falcoEvent, falcoJson, type FalcoJsonInit } from '../support/events.js';

const EVENT = falcoEvent({
  priority: 'Critical',
  fields: {
    'k8s.ns.name': 'shop',
    'k8s.pod.name': 'checkout-1',
    'container.id': '3f2a9c1e7b44',
    'container.name': 'checkout',
    'container.image.repository': 'registry.example.com/shop/checkout',
    'container.image.tag': '1.8.2',
    'proc.pid': 7400,
    'proc.cmdline': 'sh -i',
    'proc.pname': 'runc',
    'user.name': 'root',
    'user.uid': 0,
  },
});

describe('native alert JSON', () => {
  it('carries the fields a SOC analyst reads, with exact times', () => {
    const line = formatNative(alertFromFalcoEvent(EVENT));
    expect(line).not.toContain('\n');
    const a = parseJsonExact(line) as Record<string, unknown>;
    expect(a).toMatchObject({
      time: '2025-11-24T13:24:56.428114287Z',
      rule: 'Terminal shell in container',
      priority: 'Critical',
      source: 'syscall',
      hostname: 'node-1',
      origin: 'falco',
      count: 1,
      tags: ['container', 'shell'],
      workload: {
        namespace: 'shop',
        pod: 'checkout-1',
        container_id: '3f2a9c1e7b44',
        container_name: 'checkout',
        image: 'registry.example.com/shop/checkout:1.8.2',
      },
      process: { pid: 7400, name: 'sh', cmdline: 'sh -i', parent: 'runc', user: 'root', uid: 0 },
    });
    expect(a['id']).toMatch(/^[0-9a-f-]{36}$/);
    const evidence = a['evidence'] as Record<string, unknown>[];
    expect(evidence).toHaveLength(1);
    expect(evidence[0]).toMatchObject({ time: '2025-11-24T13:24:56.428114287Z', rule: 'Terminal shell in container' });
    // The nanosecond integer is written as a literal, not rounded or quoted.
    expect(line).toContain('"evt.time":1763990696428114287');
  });

  it('leaves absent workload and process facts as null rather than guessing', () => {
    const a = JSON.parse(formatNative(alertFromFalcoEvent(falcoEvent({ fields: {} })))) as Record<string, Record<string, unknown>>;
    expect(a['workload']).toEqual({ namespace: null, pod: null, container_id: null, container_name: null, image: null });
    expect(a['process']!['pid']).toBeNull();
  });

  it('renders a readable two-line form for terminals', () => {
    const text = formatPretty(alertFromFalcoEvent(EVENT), false);
    expect(text).toContain('Critical');
    expect(text).toContain('Terminal shell in container');
    expect(text).toContain('shop/checkout-1');
    expect(text).toContain('registry.example.com/shop/checkout:1.8.2');
    expect(text).not.toContain('\x1b[');
  });
});

/** A version 8 UUID (RFC 9562), the shape of every alert id. */
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The alert Lanner makes of one Falco event arriving over the wire as this JSON text. */
function alertOfText(text: string): ReturnType<typeof alertFromFalcoEvent> {
  const n = normalizeFalcoJson(JSON.parse(text) as never, 'http');
  if (!n.ok) throw new Error(n.detail);
  return alertFromFalcoEvent(n.event, performance.now());
}

const text = (init: FalcoJsonInit = {}): string => JSON.stringify(falcoJson({ fields: { 'container.id': '3f2a9c1e7b44', 'proc.pid': 7400 }, ...init }), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v));

describe('alert ids', () => {
  it('are the same for the same event sent again (a replay, a retry), whenever and however often it arrives', () => {
    const first = alertOfText(text());
    const again = alertOfText(text());
    expect(first.id).toMatch(UUID_V8);
    expect(again.id).toBe(first.id);
    expect(alertFromFalcoEvent(falcoEvent({ fields: { 'container.id': '3f2a9c1e7b44', 'proc.pid': 7400 } }), 1).id).toBe(first.id);
  });

  it('differ for different alerts: another time, rule, priority, host, container, process or text', () => {
    const variants: FalcoJsonInit[] = [
      {},
      { timeNs: 1763990696428114288n },
      { rule: 'Another rule' },
      { priority: 'Critical' },
      { output: 'another text' },
      { fields: { 'container.id': 'aaaabbbbcccc', 'proc.pid': 7400 } },
      { fields: { 'container.id': '3f2a9c1e7b44', 'proc.pid': 7401 } },
      { fields: { 'container.id': '3f2a9c1e7b44', 'proc.pid': 7400, 'k8s.pod.name': 'web-2' } },
    ];
    const ids = variants.map((v) => alertOfText(text(v)).id);
    const other = JSON.parse(text()) as Record<string, unknown>;
    other['hostname'] = 'node-2';
    ids.push(alertOfText(JSON.stringify(other)).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('derive from their parts without ambiguity: equal parts, equal ids; any difference, another id', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', ',', ':', '1:', '\u0000', '\u0000-', '\ud800', '\ufffd', 'null'));
    const part = fc.oneof(text, fc.bigInt(), fc.integer(), fc.constant(null));
    const parts = fc.array(part, { maxLength: 6 });
    const kind = fc.constantFrom('alert', 'incident', 'summary', 'limit', 'decision', 'action-limit');
    const asText = (k: string, ps: readonly (string | number | bigint | null)[]): string => JSON.stringify([k, ...ps.map((p) => (p === null ? null : String(p)))]);
    fc.assert(
      fc.property(kind, parts, kind, parts, (kindA, a, kindB, b) => {
        expect(derivedId(kindA, a) === derivedId(kindB, b)).toBe(asText(kindA, a) === asText(kindB, b));
        expect(derivedId(kindA, a)).toMatch(UUID_V8);
      }),
      { numRuns: 2000 },
    );
    // Parts that only a separator or an encoding would confuse stay apart.
    expect(derivedId('alert', ['a,b', 'c'])).not.toBe(derivedId('alert', ['a', 'b,c']));
    expect(derivedId('alert', ['ab', ''])).not.toBe(derivedId('alert', ['a', 'b']));
    expect(derivedId('alert', ['a\u00001:b'])).not.toBe(derivedId('alert', ['a', 'b']));
    expect(derivedId('alert', [null])).not.toBe(derivedId('alert', ['']));
    expect(derivedId('alert', ['\ud800'])).not.toBe(derivedId('alert', ['\ufffd']));
    expect(derivedId('alert', ['\ud800'])).not.toBe(derivedId('alert', ['\udc00']));
  });
});
