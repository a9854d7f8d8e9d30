import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LogLimiter } from '../../src/core/log.js';
import { IngestQueue } from '../../src/ingest/ingest-queue.js';
import { INVALID_REASONS } from '../../src/ingest/normalize.js';
import { createMetrics } from '../../src/metrics/metrics.js';

describe('LogLimiter', () => {
  it('logs each key at most once a minute, then says how many it held back (virtual time)', () => {
    let now = 0;
    const limiter = new LogLimiter(60_000, () => now);
    const lines: string[] = [];
    const log = (key: string) => limiter.maybe(key, (suppressed) => lines.push(`${key} after ${suppressed}`));
    log('bad_json');
    now = 1_000;
    log('bad_json');
    log('missing_rule');
    now = 59_999;
    log('bad_json');
    expect(lines).toEqual(['bad_json after 0', 'missing_rule after 0']);
    now = 60_000;
    log('bad_json');
    now = 60_001;
    log('bad_json');
    now = 121_000;
    log('missing_rule');
    expect(lines).toEqual(['bad_json after 0', 'missing_rule after 0', 'bad_json after 2', 'missing_rule after 0']);
  });
});

describe('invalid events in the ingest queue', () => {
  it('are all counted by reason, but logged once per reason, never thrown', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const metrics = createMetrics({ processMetrics: false });
    const queue = new IngestQueue({ capacity: 10 }, metrics, logger);
    for (let i = 0; i < 1000; i++) expect(() => queue.reject('bad_json', `line ${i}`, 'http')).not.toThrow();
    queue.reject('missing_rule', 'no rule', 'file');
    expect(lines.map((l) => [l['msg'], l['reason'], l['detail']])).toEqual([
      ['invalid Falco event dropped', 'bad_json', 'line 0'],
      ['invalid Falco event dropped', 'missing_rule', 'no rule'],
    ]);
    const invalid = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'lanner_events_invalid_total')!;
    const counts = Object.fromEntries(invalid.values.map((v) => [v.labels['reason'], v.value]));
    // Every reason's series exists from the start, at 0 until its first refusal.
    expect(counts).toEqual({ ...Object.fromEntries(INVALID_REASONS.map((r) => [r, 0])), bad_json: 1000, missing_rule: 1 });
  });
});
