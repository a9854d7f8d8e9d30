import { describe, expect, it } from 'vitest';
import { alertFromFalcoEvent } from '../../src/alerts/alert.js';
import { formatNative } from '../../src/alerts/formats/native.js';
import { formatPretty } from '../../src/alerts/formats/pretty.js';
import { parseJsonExact } from '../../src/core/exact-json.js';
import { falcoEvent } from '../support/events.js';

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
