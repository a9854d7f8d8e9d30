/**
 * What the HTTP ingest makes of hostile bodies: each event of a batch stands alone, whatever
 * it holds (integers beyond 2^53 where text belongs, prototype keys, random bytes), the answer
 * accounts for every event, and nothing turns into a 500. Also the body limit at its boundary,
 * the receiver's timeouts and limits as config keys, and a bearer token that is asked for but
 * empty, which must stop the start rather than open the door.
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isLannerError } from '../../src/core/errors.js';
import { stringifyExact } from '../../src/core/exact-json.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/core/listen.js';
import { silentLogger } from '../../src/core/log.js';
import { HttpIngestSource, httpIngestDescriptor, type HttpIngestOptions } from '../../src/ingest/http-receiver.js';
import { createMetrics, type LannerMetrics } from '../../src/metrics/metrics.js';
import { falcoJson } from '../support/events.js';
import { exchange, ingestRequests, jsonOf, RecordingSink, type Outcome } from '../hostile/http-clients.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

const BEYOND_2_53 = '9007199254740993';

const good = (n: number | bigint, rule = 'Terminal shell in container'): string => stringifyExact(falcoJson({ timeNs: BigInt(n), rule }));

/** An event written by hand, so a member can hold what no serializer of ours would write. */
const forged = (members: Record<string, string>): string => {
  const base: Record<string, string> = {
    rule: '"Forged"',
    priority: '"Notice"',
    time: '"2025-11-24T13:24:56.428114287Z"',
    output_fields: '{"proc.name":"sh"}',
  };
  return `{${Object.entries({ ...base, ...members })
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(',')}}`;
};

async function startReceiver(sink: RecordingSink, options: Partial<HttpIngestOptions> = {}): Promise<{ source: HttpIngestSource; metrics: LannerMetrics }> {
  const metrics = createMetrics({ processMetrics: false });
  const source = new HttpIngestSource({ host: '127.0.0.1', port: 0, logger: silentLogger(), metrics, closeGraceMs: 100, ...options });
  await source.start(sink);
  return { source, metrics };
}

function counts(outcome: Outcome): { accepted: number; shed: number; invalid: number } {
  const { accepted, shed, invalid } = jsonOf(outcome) as { accepted: number; shed: number; invalid: number };
  return { accepted, shed, invalid };
}

describe('a batch with integers beyond 2^53 where text belongs', () => {
  const sink = new RecordingSink();
  let source: HttpIngestSource;
  let metrics: LannerMetrics;
  beforeAll(async () => ({ source, metrics } = await startReceiver(sink)));
  afterAll(() => source.close());
  beforeEach(() => sink.clear());

  const hostile = [
    forged({ priority: BEYOND_2_53 }),
    forged({ time: BEYOND_2_53 }),
    forged({ priority: `-${BEYOND_2_53}` }),
    forged({ rule: BEYOND_2_53 }),
    forged({ time: '1'.repeat(40) }),
  ];

  it('as NDJSON: keeps and counts the good lines, refuses each bad one with its line', async () => {
    const lines = [good(1)];
    for (const [i, line] of hostile.entries()) lines.push(line, good(i + 2));
    const reply = await exchange(source.address!, `${lines.join('\n')}\n`);
    expect(reply.status).toBe(200);
    const json = jsonOf(reply);
    expect(counts(reply)).toEqual({ accepted: hostile.length + 1, shed: 0, invalid: hostile.length });
    const refused = json['refused'] as { line: number; reason: string }[];
    expect(refused.map((r) => r.line)).toEqual(hostile.map((_, i) => 2 * i + 2));
    for (const r of refused) expect(typeof r.reason).toBe('string');
    expect(sink.events.map((e) => e.timeNs)).toEqual(Array.from({ length: hostile.length + 1 }, (_, i) => BigInt(i + 1)));
    expect(sink.rejects).toHaveLength(hostile.length);
    expect(await ingestRequests(metrics, 500)).toBe(0);
  });

  it('as a JSON array: the same, by index', async () => {
    const items = [good(1), hostile[0]!, good(2), hostile[1]!, good(3)];
    const reply = await exchange(source.address!, `[${items.join(',')}]`);
    expect(reply.status).toBe(200);
    expect(counts(reply)).toEqual({ accepted: 3, shed: 0, invalid: 2 });
    expect((jsonOf(reply)['refused'] as { index: number }[]).map((r) => r.index)).toEqual([1, 3]);
  });

  it('alone in its body: answered 400 with its reason, not 500', async () => {
    for (const body of hostile) {
      const reply = await exchange(source.address!, body);
      expect(reply.status, body).toBe(400);
      expect(counts(reply)).toEqual({ accepted: 0, shed: 0, invalid: 1 });
    }
  });
});

describe('the body limit at its boundary', () => {
  const limit = 2048;
  const sink = new RecordingSink();
  let source: HttpIngestSource;
  beforeAll(async () => ({ source } = await startReceiver(sink, { bodyLimitBytes: limit })));
  afterAll(() => source.close());
  beforeEach(() => sink.clear());

  /** One event, padded with trailing blanks to exactly `size` bytes. */
  const bodyOf = (size: number): string => {
    const event = good(1);
    expect(Buffer.byteLength(event)).toBeLessThan(size);
    return event + ' '.repeat(size - Buffer.byteLength(event));
  };

  /** Posts without Content-Length, in chunks: only reading can find the size. */
  const postChunked = (body: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const { host, port } = source.address!;
      const req = request({ host, port, method: 'POST', path: '/', agent: false });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < body.length; i += 500) req.write(body.slice(i, i + 500));
      req.end();
    });

  for (const [size, status] of [
    [limit - 1, 200],
    [limit, 200],
    [limit + 1, 413],
  ] as const) {
    it(`answers ${status} to a body of ${size - limit >= 0 ? '+' : ''}${size - limit} bytes from the limit, declared or chunked`, async () => {
      const declared = await exchange(source.address!, bodyOf(size));
      expect(declared.status).toBe(status);
      expect(await postChunked(bodyOf(size))).toBe(status);
      expect(sink.events).toHaveLength(status === 200 ? 2 : 0);
    });
  }
});

describe('properties over request bodies', () => {
  const sink = new RecordingSink();
  let source: HttpIngestSource;
  beforeAll(async () => ({ source } = await startReceiver(sink)));
  afterAll(() => source.close());

  const PROTOTYPE_KEYS = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'];
  const ruleName = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ''));
  /** A line or item and what must become of it: valid, invalid, or either (`undefined`). */
  interface Item {
    readonly valid: boolean | undefined;
    readonly text: string;
  }
  const goodLine = fc.tuple(fc.bigInt({ min: 1n, max: 10n ** 18n }), ruleName).map(([n, rule]): Item => ({ valid: true, text: good(n, rule) }));
  const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }));
  // A good event with one member replaced by anything: refused or not, it must be accounted for.
  const alteredEvent = fc
    .tuple(fc.constantFrom('rule', 'priority', 'time', 'output_fields', 'tags', 'hostname', 'source', 'uuid', ...PROTOTYPE_KEYS), anyJson)
    .map(([key, value]): Item => ({ valid: undefined, text: stringifyExact({ ...falcoJson(), [key]: value }) }));
  const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
  const jsonLine = anyJson.map((v): Item => ({ valid: isObject(v) && 'rule' in (v as object) ? undefined : false, text: stringifyExact(v) }));
  // Starts with a character no JSON value starts with, so lines never join into one document.
  const junkLine = fc.string({ maxLength: 60 }).map((s): Item => ({ valid: false, text: `#${s.replace(/\n/g, ' ')}` }));
  const item = fc.oneof(goodLine, alteredEvent, jsonLine, junkLine);
  const jsonItem = fc.oneof(goodLine, alteredEvent, jsonLine);

  /** The items of a JSON array text; undefined when the text is not one. */
  function arrayItems(text: string): unknown[] | undefined {
    try {
      const v: unknown = JSON.parse(text);
      return Array.isArray(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /** The valid events (accepted or shed) lie between the surely valid and all but the surely invalid. */
  function expectValidBetween(outcome: Outcome, items: readonly Item[]): void {
    const c = counts(outcome);
    expect(c.accepted + c.shed).toBeGreaterThanOrEqual(items.filter((i) => i.valid === true).length);
    expect(c.accepted + c.shed).toBeLessThanOrEqual(items.filter((i) => i.valid !== false).length);
  }

  /** Every answer accounts for each event, and sink and answer agree. */
  function expectAccounted(outcome: Outcome, events: number | undefined): void {
    expect(outcome.status).not.toBe('no answer');
    expect([200, 400, 503]).toContain(outcome.status);
    const c = counts(outcome);
    if (events !== undefined) expect(c.accepted + c.shed + c.invalid).toBe(events);
    expect(sink.events).toHaveLength(c.accepted);
    expect(sink.rejects).toHaveLength(c.invalid);
    expect(sink.shed).toBe(c.shed);
    const expected = c.accepted > 0 || c.shed + c.invalid === 0 ? 200 : c.shed > 0 ? 503 : 400;
    expect(outcome.status).toBe(expected);
  }

  it('NDJSON of good, broken, foreign and junk lines: every line is accepted, shed or refused, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(item, fc.constantFrom('\n', '\r\n', '\n\n', '\n  \n')), { minLength: 1, maxLength: 20 }),
        fc.nat({ max: 25 }),
        async (lines, capacity) => {
          sink.clear();
          sink.capacity = capacity;
          const body = lines.map(([l, sep]) => l.text + sep).join('');
          const outcome = await exchange(source.address!, body);
          // A body of one line is one JSON value: an array there is a batch of its items.
          const only = lines.length === 1 ? arrayItems(lines[0]![0].text) : undefined;
          if (only !== undefined) {
            expectAccounted(outcome, only.length);
          } else {
            expectAccounted(outcome, lines.length);
            expectValidBetween(outcome, lines.map(([l]) => l));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('JSON arrays of good, broken and foreign events: every item is accounted for', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(jsonItem, { maxLength: 20 }), fc.nat({ max: 25 }), async (items, capacity) => {
        sink.clear();
        sink.capacity = capacity;
        const outcome = await exchange(source.address!, `[${items.map((i) => i.text).join(',')}]`);
        expectAccounted(outcome, items.length);
        expectValidBetween(outcome, items);
      }),
      { numRuns: 150 },
    );
  });

  it('random bytes, and random bytes between good lines: always an answer that matches what the sink got', async () => {
    sink.capacity = Number.POSITIVE_INFINITY;
    const chunk = fc.oneof(
      goodLine.map((l) => Buffer.from(`${l.text}\n`)),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { minLength: 1, maxLength: 8 }), async (chunks) => {
        sink.clear();
        const outcome = await exchange(source.address!, Buffer.concat(chunks));
        expectAccounted(outcome, undefined);
      }),
      { numRuns: 150 },
    );
  });
});

describe('timeouts and limits as keys of ingest.http', () => {
  const parse = (block: Record<string, unknown>): Record<string, unknown> => httpIngestDescriptor.options.parse(block) as Record<string, unknown>;

  it('default to the connection limits every server shares', () => {
    expect(parse({})).toMatchObject({
      header_timeout: DEFAULT_CONNECTION_LIMITS.headerTimeoutMs,
      body_timeout: DEFAULT_CONNECTION_LIMITS.bodyTimeoutMs,
      max_connections: DEFAULT_CONNECTION_LIMITS.maxConnections,
      max_requests: DEFAULT_CONNECTION_LIMITS.maxRequests,
      max_requests_per_client: DEFAULT_CONNECTION_LIMITS.maxRequestsPerClient,
    });
  });

  it('refuse zero and take the smallest positive value', () => {
    for (const key of ['header_timeout', 'body_timeout']) {
      expect(() => parse({ [key]: '0s' }), key).toThrow();
      expect(parse({ [key]: '1ms' })[key], key).toBe(1);
    }
    for (const key of ['max_connections', 'max_requests', 'max_requests_per_client']) {
      expect(() => parse({ [key]: 0 }), key).toThrow();
      expect(() => parse({ [key]: 1.5 }), key).toThrow();
      expect(parse({ [key]: 1 })[key], key).toBe(1);
    }
  });

  it('reach the receiver', () => {
    const plan = httpIngestDescriptor.plan(
      parse({ listen: '127.0.0.1:0', header_timeout: '2s', body_timeout: '3s', max_connections: 7, max_requests: 6, max_requests_per_client: 5 }),
    );
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    const source = plan.sources[0]!.create({ logger: silentLogger(), metrics: createMetrics({ processMetrics: false }) }) as HttpIngestSource;
    expect(source.limits).toMatchObject({ headerTimeoutMs: 2_000, bodyTimeoutMs: 3_000, maxConnections: 7, maxRequests: 6, maxRequestsPerClient: 5 });
  });
});

describe('a bearer token asked for is never "no authentication"', () => {
  const metrics = createMetrics({ processMetrics: false });
  const construct = (token: string): unknown => {
    try {
      new HttpIngestSource({ host: '127.0.0.1', port: 0, logger: silentLogger(), metrics, token });
      return undefined;
    } catch (err) {
      return err;
    }
  };

  it('refuses to construct with an empty, blank or unsendable token', () => {
    for (const token of ['', ' ', '\t\n', 'two words', 'tab\there']) {
      const err = construct(token);
      expect(isLannerError(err) && err.code, JSON.stringify(token)).toBe('LANNER_CONFIG_INVALID');
    }
  });

  it('takes the shortest real token and checks it', async () => {
    expect(construct('x')).toBeUndefined();
    const sink = new RecordingSink();
    const { source } = await startReceiver(sink, { token: 'x' });
    try {
      expect((await exchange(source.address!, good(1))).status).toBe(401);
      expect((await exchange(source.address!, good(1), { headers: { authorization: 'Bearer ' } })).status).toBe(401);
      expect((await exchange(source.address!, good(1), { headers: { authorization: 'Bearer x' } })).status).toBe(200);
    } finally {
      await source.close();
    }
  });

  it('from the config: a blank inline token or an empty token file stops the start', () => {
    const dir = tempDir('token');
    const emptyFile = join(dir, 'token');
    writeFileSync(emptyFile, '\n');
    for (const block of [{ token: '   ' }, { token_file: emptyFile }]) {
      const plan = httpIngestDescriptor.plan(httpIngestDescriptor.options.parse({ listen: '127.0.0.1:0', ...block }));
      expect(plan.ok).toBe(true);
      if (!plan.ok) continue;
      let caught: unknown;
      try {
        plan.sources[0]!.create({ logger: silentLogger(), metrics });
      } catch (err) {
        caught = err;
      }
      expect(isLannerError(caught) && caught.code, JSON.stringify(block)).toBe('LANNER_CONFIG_INVALID');
    }
  });
});
