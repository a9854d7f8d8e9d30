import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJsonExact, stringifyExact, type JsonValue } from '../../src/core/exact-json.js';
import { EVENT_LIMITS, INVALID_REASONS, normalizeFalcoJson, normalizeGrpcResponse, type GrpcResponse, type Normalized } from '../../src/ingest/normalize.js';
import { falcoJson } from '../support/events.js';
import { normalizeJsonLine } from '../../src/ingest/json-lines.js';
import { HAVE_SHARED, rawIntegerOf, sampleAlertLines, sampleTraces } from '../support/shared.js';

/** The reference event, fresh each call (normalization types its fields in place). */
const event = (): { [key: string]: JsonValue } => valid({}, { 'proc.tty': 34816, 'k8s.ns.name': null }) as { [key: string]: JsonValue };

describe('normalizeFalcoJson', () => {
  it('keeps exact nanoseconds in timeNs and in evt.time', () => {
    const r = normalizeFalcoJson(event(), 'http');
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
    const copy: Record<string, unknown> = { ...event() };
    delete copy[key];
    const r = normalizeFalcoJson(copy as never, 'http');
    expect(r).toMatchObject({ ok: false, reason });
  });

  it('names bad priorities, times, tags and field values', () => {
    expect(normalizeFalcoJson({ ...event(), priority: 'Loud' }, 'http')).toMatchObject({ ok: false, reason: 'unknown_priority' });
    expect(normalizeFalcoJson({ ...event(), time: 'noon' }, 'http')).toMatchObject({ ok: false, reason: 'bad_time' });
    expect(normalizeFalcoJson({ ...event(), tags: 'shell' }, 'http')).toMatchObject({ ok: false, reason: 'bad_tags' });
    expect(normalizeFalcoJson({ ...event(), output_fields: { a: { b: 1 } } }, 'http')).toMatchObject({ ok: false, reason: 'bad_output_fields' });
    expect(normalizeFalcoJson([event()] as never, 'http')).toMatchObject({ ok: false, reason: 'not_an_object' });
  });

  it('accepts Falco priority spellings in any case and defaults source to syscall', () => {
    const r = normalizeFalcoJson({ ...event(), priority: 'INFO', source: undefined } as never, 'file');
    expect(r).toMatchObject({ ok: true, event: { priority: 'Informational', source: 'syscall' } });
  });

  it('marks lanner_feed events as feed', () => {
    const r = normalizeFalcoJson({ ...event(), tags: ['lanner_feed'] }, 'file');
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
    let withEvtTime = 0;
    for (const line of lines) {
      const r = normalizeJsonLine(line);
      expect(r.ok, line.slice(0, 120)).toBe(true);
      if (!r.ok) continue;
      const raw = parseJsonExact(line) as { time: string };
      expect(r.event.timeNs.toString().slice(-9)).toBe(raw.time.slice(20, 29));
      const evtTime = rawIntegerOf(line, 'evt.time');
      if (evtTime) {
        expect(r.event.fields['evt.time']).toBe(BigInt(evtTime));
        withEvtTime++;
      }
      expect(r.event.feed).toBe(false);
    }
    // Several sample alerts carry a 19-digit evt.time: the exactness check ran on them.
    expect(withEvtTime).toBeGreaterThanOrEqual(4);
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

/** A valid Falco JSON event, fresh each call: normalization takes ownership of what it is given. */
function valid(extra: Record<string, unknown> = {}, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    time: '2025-11-24T13:24:56.428114287Z',
    rule: 'Terminal shell in container',
    priority: 'Notice',
    source: 'syscall',
    hostname: 'node-1',
    tags: ['shell'],
    output: 'a shell',
    output_fields: { 'evt.time': 1763990696428114287n, 'proc.name': 'sh', ...fields },
    ...extra,
  };
}

const grpcValid = (more: Partial<GrpcResponse> = {}): GrpcResponse => ({
  time: { seconds: '1763990696', nanos: 428114287 },
  priority: 5,
  rule: 'Terminal shell in container',
  output: 'a shell',
  hostname: 'node-1',
  tags: ['shell'],
  source: 'syscall',
  output_fields: { 'evt.time': '1763990696428114287', 'proc.name': 'sh' },
  ...more,
});

const json = (v: unknown): JsonValue => v as JsonValue;
const reasonOf = (r: Normalized): string => (r.ok ? 'ok' : r.reason);

/** An array nested `depth` deep: 1 is [], 2 is [[]]. */
function nested(depth: number): JsonValue {
  let v: JsonValue = [];
  for (let i = 1; i < depth; i++) v = [v];
  return v;
}

const { maxDepth, maxStringChars, maxFields, maxTags, maxLineBytes } = EVENT_LIMITS;
const x = (n: number): string => 'x'.repeat(n);
const manyFields = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n - 1 }, (_, i) => [`f.${i}`, 'v']).concat([['evt.time', '1763990696428114287']]));

describe('event limits', () => {
  it('has defaults generous enough for real Falco events', () => {
    expect(EVENT_LIMITS).toEqual({ maxLineBytes: 1024 * 1024, maxDepth: 32, maxStringChars: 64 * 1024, maxFields: 1024, maxTags: 256 });
  });

  it.each([
    ['a field value', (s: string) => valid({}, { 'proc.cmdline': s })],
    ['a field name', (s: string) => valid({}, { [s]: 1 })],
    ['a list item', (s: string) => valid({}, { 'ka.req.pod.containers.image': ['a', s] })],
    ['a tag', (s: string) => valid({ tags: ['shell', s] })],
    ['the rule', (s: string) => valid({ rule: s })],
    ['the output', (s: string) => valid({ output: s })],
    ['the hostname', (s: string) => valid({ hostname: s })],
    ['the source', (s: string) => valid({ source: s })],
    ['the uuid', (s: string) => valid({ uuid: s })],
    ['any other string member', (s: string) => valid({ note: s })],
  ])('takes %s of up to maxStringChars characters and refuses one more', (_what, make) => {
    expect(reasonOf(normalizeFalcoJson(json(make(x(maxStringChars - 1))), 'http'))).toBe('ok');
    expect(reasonOf(normalizeFalcoJson(json(make(x(maxStringChars))), 'http'))).toBe('ok');
    expect(normalizeFalcoJson(json(make(x(maxStringChars + 1))), 'http')).toMatchObject({ ok: false, reason: 'string_too_long' });
  });

  it.each([
    ['a field value', (s: string) => grpcValid({ output_fields: { 'proc.cmdline': s } })],
    ['a field name', (s: string) => grpcValid({ output_fields: { [s]: '1' } })],
    ['a tag', (s: string) => grpcValid({ tags: [s] })],
    ['the rule', (s: string) => grpcValid({ rule: s })],
    ['the output', (s: string) => grpcValid({ output: s })],
    ['the hostname', (s: string) => grpcValid({ hostname: s })],
    ['the source', (s: string) => grpcValid({ source: s })],
  ])('takes %s over gRPC of up to maxStringChars characters and refuses one more', (_what, make) => {
    expect(reasonOf(normalizeGrpcResponse(make(x(maxStringChars - 1))))).toBe('ok');
    expect(reasonOf(normalizeGrpcResponse(make(x(maxStringChars))))).toBe('ok');
    expect(normalizeGrpcResponse(make(x(maxStringChars + 1)))).toMatchObject({ ok: false, reason: 'string_too_long' });
  });

  it('takes an event nested maxDepth deep, the event itself counting one, and refuses one level more', () => {
    // Under a key normalization ignores: the bound is on the event, wherever the nesting is.
    expect(reasonOf(normalizeFalcoJson(json(valid({ extra: nested(maxDepth - 2) })), 'http'))).toBe('ok');
    expect(reasonOf(normalizeFalcoJson(json(valid({ extra: nested(maxDepth - 1) })), 'http'))).toBe('ok');
    expect(normalizeFalcoJson(json(valid({ extra: nested(maxDepth) })), 'http')).toMatchObject({ ok: false, reason: 'too_deep' });
    // In a list field: the event, output_fields and the list are three levels.
    const inList = (depth: number) => valid({}, { 'some.list': [nested(depth)] });
    expect(reasonOf(normalizeFalcoJson(json(inList(maxDepth - 4)), 'http'))).toBe('ok');
    expect(reasonOf(normalizeFalcoJson(json(inList(maxDepth - 3)), 'http'))).toBe('ok');
    expect(normalizeFalcoJson(json(inList(maxDepth - 2)), 'http')).toMatchObject({ ok: false, reason: 'too_deep' });
  });

  it('takes up to maxFields output_fields and refuses one more, over JSON and gRPC', () => {
    for (const [n, reason] of [[maxFields - 1, 'ok'], [maxFields, 'ok'], [maxFields + 1, 'too_many_fields']] as const) {
      const fields = manyFields(n);
      expect(reasonOf(normalizeFalcoJson(json(valid({ output_fields: { ...fields, 'evt.time': 1 } })), 'http')), `${n} JSON fields`).toBe(reason);
      expect(reasonOf(normalizeGrpcResponse(grpcValid({ output_fields: fields }))), `${n} gRPC fields`).toBe(reason);
    }
  });

  it('takes up to maxTags tags and refuses one more, over JSON and gRPC', () => {
    for (const [n, reason] of [[maxTags - 1, 'ok'], [maxTags, 'ok'], [maxTags + 1, 'too_many_tags']] as const) {
      const tags = Array.from({ length: n }, (_, i) => `t${i}`);
      expect(reasonOf(normalizeFalcoJson(json(valid({ tags })), 'http')), `${n} JSON tags`).toBe(reason);
      expect(reasonOf(normalizeGrpcResponse(grpcValid({ tags }))), `${n} gRPC tags`).toBe(reason);
    }
  });

  it('takes a JSON line of up to maxLineBytes and refuses one longer unparsed', () => {
    const text = stringifyExact(valid());
    const padded = (length: number): string => text.slice(0, -1) + ' '.repeat(length - text.length) + '}';
    expect(padded(maxLineBytes)).toHaveLength(maxLineBytes);
    expect(reasonOf(normalizeJsonLine(padded(maxLineBytes - 1)))).toBe('ok');
    expect(reasonOf(normalizeJsonLine(padded(maxLineBytes)))).toBe('ok');
    expect(normalizeJsonLine(padded(maxLineBytes + 1))).toMatchObject({ ok: false, reason: 'line_too_long' });
  });

  it('refuses a line nested 12,000 deep wherever the nesting is, without throwing', () => {
    const deepArray = `${'['.repeat(12_000)}${']'.repeat(12_000)}`;
    const deepObject = `${'{"a":'.repeat(12_000)}1${'}'.repeat(12_000)}`;
    const base = stringifyExact(valid()).slice(1, -1);
    const cases: [string, string][] = [
      [`{${base},"extra":${deepArray}}`, 'too_deep'],
      [`{${base},"extra":${deepObject}}`, 'too_deep'],
      [`{${base},"priority":${deepArray}}`, 'too_deep'],
      [`{${base},"time":${deepObject}}`, 'too_deep'],
      [`{${base},"tags":${deepArray}}`, 'too_deep'],
      [`{${base},"output_fields":${deepArray}}`, 'too_deep'],
      [`{${base},"output_fields":{"evt.time":1,"l":[${deepArray}]}}`, 'too_deep'],
      [`{${base},"output_fields":{"evt.time":1,"o":${deepObject}}}`, 'bad_output_fields'],
      [deepArray, 'not_an_object'],
    ];
    for (const [text, reason] of cases) {
      let r: Normalized | undefined;
      expect(() => (r = normalizeJsonLine(text))).not.toThrow();
      expect(r, text.slice(0, 80)).toMatchObject({ ok: false, reason });
      // The same through the HTTP path, which parses with exact integers first.
      expect(normalizeFalcoJson(parseJsonExact(text), 'http'), text.slice(0, 80)).toMatchObject({ ok: false, reason });
    }
  });

  it('keeps a gRPC field named like a prototype key as a field', () => {
    const r = normalizeGrpcResponse(grpcValid({ output_fields: JSON.parse('{"__proto__":"x","constructor":"y","evt.time":"1"}') as Record<string, string> }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.keys(r.event.fields).sort()).toEqual(['__proto__', 'constructor', 'evt.time']);
    expect(r.event.fields['__proto__']).toBe('x');
    expect(r.event.fields['constructor']).toBe('y');
  });
});

describe('evt.time and event time', () => {
  it.each([
    [1763990696428114287n, 'ok'],
    [42, 'ok'],
    [undefined, 'ok'],
    [1.5, 'bad_field_type'],
    ['1763990696428114287', 'bad_field_type'],
    ['<NA>', 'bad_field_type'],
    [null, 'bad_field_type'],
    [true, 'bad_field_type'],
    [[1], 'bad_field_type'],
    [{ t: 1 }, 'bad_field_type'],
  ])('takes evt.time %s in JSON as %s', (value, reason) => {
    const fields: Record<string, unknown> = { 'proc.name': 'sh' };
    if (value !== undefined) fields['evt.time'] = value;
    expect(reasonOf(normalizeFalcoJson(json(valid({ output_fields: fields })), 'http'))).toBe(reason);
  });

  it('takes evt.time as integer text over gRPC and refuses any other text', () => {
    const withTime = (t: string) => normalizeGrpcResponse(grpcValid({ output_fields: { 'evt.time': t } }));
    expect(withTime('1763990696428114287')).toMatchObject({ ok: true, event: { fields: { 'evt.time': 1763990696428114287n } } });
    expect(withTime('-1')).toMatchObject({ ok: true });
    for (const bad of ['1.5', 'abc', '<NA>', '', '0x10', '1e9']) expect(withTime(bad), bad).toMatchObject({ ok: false, reason: 'bad_field_type' });
  });

  it('refuses impossible dates and times outside 1970 to 9999', () => {
    for (const time of ['2026-02-30T00:00:00Z', '2026-01-01T25:00:00Z', '1969-12-31T23:59:59.999999999Z', '0001-01-01T00:00:00Z']) {
      expect(normalizeFalcoJson(json(valid({ time })), 'http'), time).toMatchObject({ ok: false, reason: 'bad_time' });
    }
    for (const time of ['1970-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999Z', '2024-02-29T00:00:00Z']) {
      expect(reasonOf(normalizeFalcoJson(json(valid({ time })), 'http')), time).toBe('ok');
    }
  });

  it('refuses gRPC times that are not whole seconds with 0 to 999999999 nanoseconds in range', () => {
    const at = (seconds: unknown, nanos: unknown) => reasonOf(normalizeGrpcResponse(grpcValid({ time: { seconds, nanos } as GrpcResponse['time'] })));
    expect(at('1763990696', 0)).toBe('ok');
    expect(at(1763990696, 999_999_999)).toBe('ok');
    expect(at(0, 0)).toBe('ok');
    expect(at('253402300799', 999_999_999)).toBe('ok');
    expect(at('253402300800', 0)).toBe('bad_time');
    expect(at(-1, 999_999_999)).toBe('bad_time');
    expect(at(1763990696, 1_000_000_000)).toBe('bad_time');
    expect(at(1763990696, -1)).toBe('bad_time');
    expect(at(1763990696, 0.5)).toBe('bad_time');
    expect(at(1763990696.5, 0)).toBe('bad_time');
    expect(at('17639906x6', 0)).toBe('bad_time');
    expect(at('9223372036854775807', 0)).toBe('bad_time');
    expect(at({ toString: () => '1763990696' }, 0)).toBe('ok');
  });
});

/** Every answer is an event or a refusal with a known reason and a bounded detail. */
function accounted(r: Normalized): void {
  if (r.ok) {
    expect(r.event.timeNs >= 0n).toBe(true);
    expect(typeof r.event.rule).toBe('string');
    expect(r.event.rule.length).toBeLessThanOrEqual(maxStringChars);
    expect(r.event.output.length).toBeLessThanOrEqual(maxStringChars);
    expect(r.event.tags.length).toBeLessThanOrEqual(maxTags);
    for (const v of Object.values(r.event.fields)) {
      const ok = v === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((i) => typeof i === 'string'));
      expect(ok, String(v)).toBe(true);
    }
    const t = r.event.fields['evt.time'];
    expect(t === undefined || typeof t === 'bigint' || Number.isInteger(t)).toBe(true);
  } else {
    expect(INVALID_REASONS).toContain(r.reason);
    expect(typeof r.detail).toBe('string');
    expect(r.detail.length).toBeLessThan(2000);
  }
}

describe('normalization properties', () => {
  const anyValue = fc.oneof(fc.jsonValue(), fc.bigInt(), fc.constant(undefined), fc.integer({ min: 1, max: 200 }).map(nested));
  const timeText = fc.oneof(
    fc.date({ min: new Date(-1e14), max: new Date(3e14), noInvalidDate: true }).map((d) => d.toISOString()),
    fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 })).map(
      ([y, mo, d, h]) => `${String(y).padStart(4, '0')}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00.5+01:00`,
    ),
  );
  const eventLike = fc.record(
    {
      rule: fc.oneof(fc.string(), anyValue),
      priority: fc.oneof(fc.constantFrom('Notice', 'debug', 'LOUD', ''), anyValue),
      time: fc.oneof(timeText, anyValue),
      source: fc.oneof(fc.string(), anyValue),
      hostname: fc.oneof(fc.string(), anyValue),
      tags: fc.oneof(fc.array(fc.string()), anyValue),
      output: fc.oneof(fc.string(), anyValue),
      uuid: fc.oneof(fc.uuid(), anyValue),
      output_fields: fc.oneof(fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('evt.time', 'proc.pid', 'container.privileged', '__proto__', 'constructor')), anyValue), anyValue),
    },
    { requiredKeys: [] },
  );

  it('never throws on any JSON value, and accounts for every one', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => accounted(normalizeFalcoJson(value as JsonValue, 'http'))),
      { numRuns: 500 },
    );
  });

  it('never throws on event-shaped values with anything in any position, through the line reader too', () => {
    fc.assert(
      fc.property(eventLike, (value) => {
        accounted(normalizeFalcoJson(json(structuredClone(value)), 'http'));
        const text = stringifyExact(value);
        const r = normalizeJsonLine(text);
        accounted(r);
        // Text and value agree: the same event is accepted or refused for the same reason either way.
        expect(reasonOf(r)).toBe(reasonOf(normalizeFalcoJson(parseJsonExact(text), 'http')));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws on any string as a JSON line', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json()), (text) => accounted(normalizeJsonLine(text))), { numRuns: 1000 });
  });

  it('never throws on any gRPC response protobufjs could hand over', () => {
    const seconds = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.bigInt().map(String), fc.constant(null), fc.constant(undefined));
    const response = fc.record(
      {
        time: fc.oneof(fc.constant(null), fc.record({ seconds, nanos: fc.oneof(fc.integer(), fc.double(), fc.constant(null)) }, { requiredKeys: [] })),
        priority: fc.oneof(fc.integer({ min: -2, max: 10 }), fc.constant(null)),
        source_deprecated: fc.oneof(fc.integer({ min: -1, max: 6 }), fc.constant(null)),
        rule: fc.oneof(fc.string(), fc.constant(null)),
        output: fc.oneof(fc.string(), fc.constant(null)),
        output_fields: fc.oneof(fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('evt.time', 'proc.pid', '__proto__')), fc.string()), fc.constant(null)),
        hostname: fc.oneof(fc.string(), fc.constant(null)),
        tags: fc.oneof(fc.array(fc.string()), fc.constant(null)),
        source: fc.oneof(fc.string(), fc.constant(null)),
      },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(response, (msg) => accounted(normalizeGrpcResponse(msg as GrpcResponse))), { numRuns: 1000 });
  });
});

describe('values JSON text cannot carry', () => {
  it('takes an undefined field from an in-process caller as missing, and keeps the others', () => {
    const value = { ...falcoJson(), output_fields: { 'evt.time': 1763990696428114287n, 'proc.name': undefined, 'proc.pid': 7 } };
    const r = normalizeFalcoJson(value as never, 'http');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.event.fields).toMatchObject({ 'proc.name': null, 'proc.pid': 7 });
  });
});
