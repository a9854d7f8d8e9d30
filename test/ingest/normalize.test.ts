import { describe, expect, it } from 'vitest';
import { parseJsonExact } from '../../src/core/exact-json.js';
import { normalizeFalcoJson, normalizeGrpcResponse } from '../../src/ingest/normalize.js';
import { normalizeJsonLine } from '../../src/ingest/json-lines.js';
import { HAVE_SHARED, rawIntegerOf, sampleAlertLines, sampleTraces } from '../support/shared.js';

const EVENT = {
  time: '2025-11-24T13:24:56.428114287Z',
  rule: 'Terminal shell in container',
  priority: 'Notice',
  source: 'syscall',
  hostname: 'node-1',
  tags: ['shell'],
  output: 'a shell',
  output_fields: { 'evt.time': 1763990696428114287n, 'proc.name': 'sh', 'proc.tty': 34816, 'k8s.ns.name': null },
};

describe('normalizeFalcoJson', () => {
  it('keeps exact nanoseconds in timeNs and in evt.time', () => {
    const r = normalizeFalcoJson(EVENT, 'http');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event.timeNs).toBe(1763990696428114287n);
    expect(r.event.fields['evt.time']).toBe(1763990696428114287n);
    expect(r.event.fields['proc.tty']).toBe(34816);
    expect(r.event.fields['k8s.ns.name']).toBeNull();
    expect(r.event.feed).toBe(false);
  });

  it.each([
    ['rule', 'missing_rule'],
    ['priority', 'missing_priority'],
    ['time', 'missing_time'],
    ['output_fields', 'missing_output_fields'],
  ])('refuses an event without %s as %s', (key, reason) => {
    const copy: Record<string, unknown> = { ...EVENT };
    delete copy[key];
    const r = normalizeFalcoJson(copy as never, 'http');
    expect(r).toMatchObject({ ok: false, reason });
  });

  it('names bad priorities, times, tags and field values', () => {
    expect(normalizeFalcoJson({ ...EVENT, priority: 'Loud' }, 'http')).toMatchObject({ ok: false, reason: 'unknown_priority' });
    expect(normalizeFalcoJson({ ...EVENT, time: 'noon' }, 'http')).toMatchObject({ ok: false, reason: 'bad_time' });
    expect(normalizeFalcoJson({ ...EVENT, tags: 'shell' }, 'http')).toMatchObject({ ok: false, reason: 'bad_tags' });
    expect(normalizeFalcoJson({ ...EVENT, output_fields: { a: { b: 1 } } }, 'http')).toMatchObject({ ok: false, reason: 'bad_output_fields' });
    expect(normalizeFalcoJson([EVENT] as never, 'http')).toMatchObject({ ok: false, reason: 'not_an_object' });
  });

  it('accepts Falco priority spellings in any case and defaults source to syscall', () => {
    const r = normalizeFalcoJson({ ...EVENT, priority: 'INFO', source: undefined } as never, 'file');
    expect(r).toMatchObject({ ok: true, event: { priority: 'Informational', source: 'syscall' } });
  });

  it('marks lanner_feed events as feed', () => {
    const r = normalizeFalcoJson({ ...EVENT, tags: ['lanner_feed'] }, 'file');
    expect(r).toMatchObject({ ok: true, event: { feed: true } });
  });

  it('reports malformed JSON lines as bad_json', () => {
    expect(normalizeJsonLine('{"rule": ')).toMatchObject({ ok: false, reason: 'bad_json' });
  });
});

describe('normalizeGrpcResponse', () => {
  it('types text values by field and maps <NA> and null to null', () => {
    const r = normalizeGrpcResponse({
      time: { seconds: '1763990696', nanos: 428114287 },
      priority: 5,
      rule: 'Terminal shell in container',
      output: 'a shell',
      hostname: 'node-1',
      tags: ['shell'],
      source: 'syscall',
      output_fields: {
        'evt.time': '1763990696428114287',
        'proc.tty': '34816',
        'proc.name': 'sh',
        'k8s.ns.name': '<NA>',
        'k8s.pod.name': 'null',
        'container.privileged': 'true',
        'evt.arg.fd': '3',
      },
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event.timeNs).toBe(1763990696428114287n);
    expect(r.event.priority).toBe('Notice');
    expect(r.event.fields).toEqual({
      'evt.time': 1763990696428114287n,
      'proc.tty': 34816,
      'proc.name': 'sh',
      'k8s.ns.name': null,
      'k8s.pod.name': null,
      'container.privileged': true,
      // evt.arg.* are rendered text in Falco's JSON too, so they stay text.
      'evt.arg.fd': '3',
    });
  });

  it('falls back to the deprecated source enum and refuses an empty rule', () => {
    const base = { time: { seconds: 1, nanos: 0 }, priority: 7, rule: 'r', output_fields: {} };
    expect(normalizeGrpcResponse({ ...base, source: '', source_deprecated: 1 })).toMatchObject({ ok: true, event: { source: 'k8s_audit' } });
    expect(normalizeGrpcResponse({ ...base, rule: '' })).toMatchObject({ ok: false, reason: 'missing_rule' });
    expect(normalizeGrpcResponse({ ...base, time: null })).toMatchObject({ ok: false, reason: 'missing_time' });
  });
});

describe('normalizeJsonLine', () => {
  const T = 1763990696428114287n;
  const fields = (t: bigint, more = ''): string => `"output_fields":{"proc.name":"sh"${more},"evt.time":${t},"proc.pid.ts":${t + 5n}}`;

  it('restores every big integer exactly, wherever the envelope puts output_fields', () => {
    const lines = [
      `{"hostname":"h","output":"x \\"evt.time\\":${T + 1n} y","priority":"Debug","rule":"r",${fields(T)},"tags":["a","lanner_feed"],"time":"2025-11-24T13:24:56.428114287Z"}`,
      `{"time":"2025-11-24T13:24:56.428114287Z","rule":"r","priority":"Debug","tags":["lanner_feed"],${fields(T)},"output":"o"}`,
      // integer-like keys come first in enumeration though written last; escapes make the text longer
      `{"rule":"r\\u0072","priority":"Debug","time":"2025-11-24T13:24:56.428114287Z",${fields(T, ',"x":"\\t\\t"')},"7":"${'z'.repeat(400)}"}`,
      `{ "rule" : "r", "priority" : "Debug", "time" : "2025-11-24T13:24:56.428114287Z", ${fields(T).replace('"evt.time":', '"evt.time" :  ')} }`,
    ];
    for (const line of lines) {
      const r = normalizeJsonLine(line);
      expect(r.ok, line).toBe(true);
      if (!r.ok) continue;
      expect(r.event.fields['evt.time'], line).toBe(T);
      expect(r.event.fields['proc.pid.ts'], line).toBe(T + 5n);
      expect(r.event.timeNs).toBe(T);
    }
  });

  it('reads times second after second, and a changed second, exactly', () => {
    const times = ['2025-11-24T13:24:56.428114287Z', '2025-11-24T13:24:56.999999999Z', '2025-11-24T13:24:57.000000001Z', '2025-11-24T13:24:56.000000000Z'];
    const got = times.map((time) => {
      const r = normalizeJsonLine(JSON.stringify({ rule: 'r', priority: 'Debug', time, output_fields: {} }));
      return r.ok ? r.event.timeNs : undefined;
    });
    expect(got).toEqual([1763990696428114287n, 1763990696999999999n, 1763990697000000001n, 1763990696000000000n]);
    const bad = normalizeJsonLine(JSON.stringify({ rule: 'r', priority: 'Debug', time: '2025-11-24T13:24:56.00000000xZ', output_fields: {} }));
    expect(bad).toMatchObject({ ok: false, reason: 'bad_time' });
  });
});

describe.skipIf(!HAVE_SHARED)('real Falco output', () => {
  it('normalizes every sample alert with exact times', () => {
    const lines = sampleAlertLines();
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const line of lines) {
      const r = normalizeJsonLine(line);
      expect(r.ok, line.slice(0, 120)).toBe(true);
      if (!r.ok) continue;
      const raw = parseJsonExact(line) as { time: string };
      expect(r.event.timeNs.toString().slice(-9)).toBe(raw.time.slice(20, 29));
      const evtTime = rawIntegerOf(line, 'evt.time');
      if (evtTime) expect(r.event.fields['evt.time']).toBe(BigInt(evtTime));
      expect(r.event.feed).toBe(false);
    }
  });

  it('normalizes every trace event as a feed event with exact evt.time', () => {
    let total = 0;
    for (const { name, lines } of sampleTraces()) {
      for (const line of lines) {
        const r = normalizeJsonLine(line);
        expect(r.ok, `${name}: ${line.slice(0, 100)}`).toBe(true);
        if (!r.ok) continue;
        total++;
        expect(r.event.feed).toBe(true);
        const evtTime = rawIntegerOf(line, 'evt.time');
        expect(evtTime, name).toBeDefined();
        expect(r.event.fields['evt.time']).toBe(BigInt(evtTime!));
      }
    }
    expect(total).toBeGreaterThan(1000);
  });
});
