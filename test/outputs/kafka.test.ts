/**
 * The Kafka output (kafkajs) against a broker stand-in that speaks the real wire protocol over
 * TCP (test/support/kafka-standin.ts): ApiVersions, Metadata, Produce v3 with RecordBatch v2
 * decoded and its CRC-32C verified. No Kafka broker can run on this machine.
 */
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/alerts/alert.js';
import { enrichAlert } from '../../src/alerts/enrich.js';
import { FORMATS } from '../../src/alerts/formats/index.js';
import { Deduplicator } from '../../src/alerts/lifecycle/dedup.js';
import { fallbackKey } from '../../src/outputs/kafka.js';
import { findOutput, OUTPUTS } from '../../src/outputs/registry.js';
import { TEST_CONTEXT } from './parse-context.js';
import { SECOND, shellAlert, T0 } from '../support/alerts.js';
import {
  API_METADATA,
  API_PRODUCE,
  API_VERSIONS,
  crc32c,
  ERR_MESSAGE_TOO_LARGE,
  ERR_NOT_LEADER_FOR_PARTITION,
  KafkaStandin,
  type KafkaStandinOptions,
  type ReceivedRecord,
} from '../support/kafka-standin.js';
import { ABANDONED_AT_CLOSE, testDeps, value } from '../support/output-metrics.js';
import { waitFor } from '../support/wait.js';
import { closeAfterEach } from '../support/close-after.js';

const TOPIC = 'lanner-alerts';
const FAST_RETRY = { max_retries: 3, initial_backoff: '1ms', max_backoff: '5ms' };

const held = closeAfterEach();

async function broker(options: KafkaStandinOptions = {}): Promise<KafkaStandin> {
  const s = await KafkaStandin.start(options);
  held.servers.push(s);
  return s;
}

function build(block: Record<string, unknown>, logs?: Record<string, unknown>[]) {
  const name = String(block['name'] ?? 'kafka');
  const parsed = findOutput('kafka')!.parse({ type: 'kafka', topic: TOPIC, ...block }, TEST_CONTEXT);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const deps = testDeps(logs);
  const output = parsed.create(name, deps);
  held.outputs.push(output);
  const m = deps.metrics;
  return {
    output,
    sent: () => value(m.outputSent, { output: name }),
    dropped: (reason: string) => value(m.outputDropped, { output: name, reason }),
    failures: (reason: string) => value(m.outputFailures, { output: name, reason }),
    depth: () => value(m.outputQueueDepth, { output: name }),
  };
}

/** Alerts `start..start+n-1`, container `c<i>`, spread round-robin over `incidents` dedup keys. */
function alerts(n: number, { start = 0, incidents = 3 } = {}): Alert[] {
  return Array.from({ length: n }, (_, k) => {
    const i = start + k;
    const a = enrichAlert({ ...shellAlert({ timeNs: T0 + BigInt(i) * SECOND, container: `c${String(i).padStart(2, '0')}` }), node: 'worker-2' });
    return { ...a, dedup_key: `incident-${i % incidents}` };
  });
}

const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));
const containerOf = (r: ReceivedRecord): string => (JSON.parse(text(r.value)!) as { workload: { container_id: string } }).workload.container_id;
const produceRequests = (s: KafkaStandin): number => s.requests.filter((r) => r.apiKey === API_PRODUCE).length;

describe('Kafka records', () => {
  it('one record per alert: key = dedup key, value = the formatted alert, rule/priority/content-type headers', async () => {
    const kafka = await broker({ partitions: 3 });
    const { output, sent } = build({ brokers: [kafka.address], batch: { max_size: 50 } });
    const keyed = alerts(6, { incidents: 2 });
    const unkeyed = enrichAlert(shellAlert({ container: 'nokey', priority: 'Critical' }));
    for (const a of [...keyed, unkeyed]) output.send(a);
    await output.flush();

    expect(kafka.problems).toEqual([]);
    expect(kafka.records).toHaveLength(7);
    const byValue = new Map(kafka.records.map((r) => [text(r.value), r]));
    for (const a of [...keyed, unkeyed]) {
      // The value is exactly the formatter's output, byte for byte.
      const r = byValue.get(FORMATS.native(a));
      expect(r, a.workload.container_id ?? '').toBeDefined();
      expect(r!.topic).toBe(TOPIC);
      expect(text(r!.key)).toBe(a.dedup_key ?? fallbackKey(a));
      expect(r!.headers.map((h) => [h.key, text(h.value)])).toEqual([
        ['lanner-rule', 'Terminal shell in container'],
        ['lanner-priority', a.priority],
        ['content-type', 'application/json'],
      ]);
    }
    expect(text(byValue.get(FORMATS.native(unkeyed))!.key)).toBe(fallbackKey(unkeyed));

    // One incident's records share one partition, in the order they were sent.
    for (const incident of ['incident-0', 'incident-1']) {
      const recs = kafka.records.filter((r) => text(r.key) === incident).sort((x, y) => Number(x.offset - y.offset));
      expect(new Set(recs.map((r) => r.partition)).size).toBe(1);
      expect(recs.map(containerOf)).toEqual(keyed.filter((a) => a.dedup_key === incident).map((a) => a.workload.container_id));
    }
    expect(await sent()).toBe(7);
  });

  it('negotiates the versions the broker offers and produces without a producer id (no InitProducerId)', async () => {
    const kafka = await broker();
    const { output } = build({ brokers: [kafka.address], client_id: 'lanner-test' });
    output.send(alerts(1)[0]!);
    await output.flush();
    const seen = kafka.requests.map((r) => `${r.apiKey}v${r.apiVersion}`);
    // kafkajs asks ApiVersions v2 first; the broker refuses it (UNSUPPORTED_VERSION) and v1 follows.
    expect(seen.slice(0, 2)).toEqual([`${API_VERSIONS}v2`, `${API_VERSIONS}v1`]);
    expect(seen).toContain(`${API_METADATA}v1`);
    expect(seen).toContain(`${API_PRODUCE}v3`);
    expect(new Set(kafka.requests.map((r) => r.apiKey))).toEqual(new Set([API_VERSIONS, API_METADATA, API_PRODUCE]));
    expect(new Set(kafka.requests.map((r) => r.clientId))).toEqual(new Set(['lanner-test']));
    expect(kafka.batches.map((b) => [b.producerId, b.acks, b.compression])).toEqual([[-1n, -1, 0]]);
  });

  it('gzip-compresses batches and formats OCSF when asked', async () => {
    const kafka = await broker();
    const { output } = build({ brokers: [kafka.address], compression: 'gzip', format: 'ocsf', acks: 1 });
    const sample = alerts(3, { incidents: 1 });
    for (const a of sample) output.send(a);
    await output.flush();
    expect(kafka.problems).toEqual([]);
    expect(kafka.batches.map((b) => [b.compression, b.acks, b.records])).toEqual([[1, 1, 3]]);
    expect(kafka.records.map((r) => text(r.value))).toEqual(sample.map((a) => FORMATS.ocsf(a)));
    expect(JSON.parse(text(kafka.records[0]!.value)!)).toMatchObject({ class_uid: 2004 });
  });

  it('the fallback key is the key the deduplicator gives the same alert', () => {
    const a = shellAlert({ container: 'abc123' });
    expect(fallbackKey(a)).toBe(new Deduplicator({ cooldownMs: 1000, maxKeys: 10 }).keyOf(a));
    expect(fallbackKey(shellAlert({ container: 'other' }))).not.toBe(fallbackKey(a));
  });
});

describe('Kafka failures', () => {
  it('retries a retriable broker error (NOT_LEADER_FOR_PARTITION) and delivers once, in order', async () => {
    const kafka = await broker();
    kafka.failProduce(ERR_NOT_LEADER_FOR_PARTITION);
    const { output, sent, failures, dropped } = build({ brokers: [kafka.address], retry: FAST_RETRY });
    const sample = alerts(4, { incidents: 1 });
    for (const a of sample) output.send(a);
    await output.flush();
    expect(await failures('kafka_not_leader_for_partition')).toBe(1);
    expect(produceRequests(kafka)).toBe(2);
    // The refused request stored nothing, so the retry gives each record exactly once.
    expect(kafka.records.map(containerOf)).toEqual(sample.map((a) => a.workload.container_id));
    expect(await sent()).toBe(4);
    expect(await dropped('retries_exhausted')).toBe(0);
  });

  it('drops a batch the broker refuses for good (MESSAGE_TOO_LARGE), counted with its reason, and goes on', async () => {
    const kafka = await broker();
    kafka.failProduce(ERR_MESSAGE_TOO_LARGE);
    const { output, sent, failures, dropped } = build({ brokers: [kafka.address], retry: FAST_RETRY });
    for (const a of alerts(2)) output.send(a);
    await output.flush();
    expect(produceRequests(kafka)).toBe(1);
    expect(await failures('kafka_message_too_large')).toBe(1);
    expect(await dropped('rejected')).toBe(2);
    expect(kafka.records).toHaveLength(0);

    const later = alerts(1, { start: 10 })[0]!;
    output.send(later);
    await output.flush();
    expect(kafka.records.map(containerOf)).toEqual([later.workload.container_id]);
    expect(await sent()).toBe(1);
  });

  it('broker down for a stretch then back: what the bound held is delivered in order, the rest counted', async () => {
    const kafka = await broker({ partitions: 3 });
    const { output, sent, failures, dropped, depth } = build({
      brokers: [kafka.address],
      batch: { max_size: 5, interval: '10ms' },
      queue: { max_size: 10, shed: 'newest' },
      retry: { max_retries: 100000, initial_backoff: '5ms', max_backoff: '20ms' },
      timeout: '2s',
    });
    // Connected and delivering before the outage, so this is kafkajs reconnecting, not a first connect.
    const warmup = alerts(1, { start: 99 })[0]!;
    output.send(warmup);
    await output.flush();
    expect(kafka.records).toHaveLength(1);

    await kafka.stop();
    const burst = alerts(30);
    for (const a of burst) output.send(a);
    await waitFor(async () => (await failures('connect')) >= 3, { what: 'three failed connection attempts' });
    expect(await sent()).toBe(1);
    // 5 in flight + 10 queued are kept; the 15 newest were shed and counted.
    expect(await dropped('queue_full')).toBe(15);
    expect(await depth()).toBe(10);

    await kafka.start();
    await output.flush();
    const kept = burst.slice(0, 15);
    const delivered = kafka.records.slice(1);
    expect(delivered.map(containerOf).sort()).toEqual(kept.map((a) => a.workload.container_id).sort());
    // In order within each partition, which is the order Kafka promises consumers.
    for (const p of new Set(delivered.map((r) => r.partition))) {
      const inPartition = delivered.filter((r) => r.partition === p);
      const keys = new Set(inPartition.map((r) => text(r.key)));
      expect(inPartition.map(containerOf)).toEqual(kept.filter((a) => keys.has(a.dedup_key!)).map((a) => a.workload.container_id));
    }
    expect(await sent()).toBe(16);
    expect(kafka.problems).toEqual([]);
  });
});

describe('Kafka lifecycle', () => {
  it('close() delivers what is queued, then disconnects the producer', async () => {
    const kafka = await broker();
    const { output, sent } = build({ brokers: [kafka.address], batch: { max_size: 100, interval: '60s' } });
    const sample = alerts(4, { incidents: 1 });
    for (const a of sample) output.send(a);
    expect(kafka.records).toHaveLength(0);
    await output.close();
    expect(kafka.records.map(containerOf)).toEqual(sample.map((a) => a.workload.container_id));
    expect(await sent()).toBe(4);
    await waitFor(() => kafka.connections === 0, { what: 'the producer to disconnect' });
  });

  it('on shutdown with the broker gone, what is left is counted as dropped within close_timeout', async () => {
    const kafka = await broker();
    await kafka.stop();
    const logs: Record<string, unknown>[] = [];
    const { output, dropped } = build({ brokers: [kafka.address], close_timeout: '150ms', retry: { max_retries: 100000, initial_backoff: '5ms', max_backoff: '10ms' } }, logs);
    for (const a of alerts(7)) output.send(a);
    // Retrying without end, close() returns only because close_timeout ran out: the timeout taken
    // from the config is the one logged (its timing is tested in virtual time in batch-queue.test.ts).
    await output.close();
    expect(logs.filter((e) => e['msg'] === ABANDONED_AT_CLOSE)).toEqual([expect.objectContaining({ output: 'kafka', abandoned: 7, close_timeout_ms: 150 })]);
    expect(await dropped('shutdown')).toBe(7);
  });
});

describe('Kafka config', () => {
  const parse = (block: Record<string, unknown>) => findOutput('kafka')!.parse({ type: 'kafka', ...block }, TEST_CONTEXT);

  it('is registered and accepts a minimal block', () => {
    expect(OUTPUTS.some((d) => d.type === 'kafka')).toBe(true);
    expect(parse({ brokers: ['kafka:9092'], topic: 'alerts' }).ok).toBe(true);
  });

  it('reports every problem at once', () => {
    const r = parse({ brokers: ['kafka', 'k:99999'], topic: 'bad topic', compression: 'zstd', acks: 2, format: 'cef', sasl: { mechanism: 'plain', username: 'u' }, colour: 'blue' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const keys = r.problems.map((p) => p.split(':')[0]);
    expect(keys).toEqual(expect.arrayContaining(['brokers.0', 'brokers.1', 'topic', 'compression', 'acks', 'format', 'colour']));
  });

  it('needs a SASL password', () => {
    const r = parse({ brokers: ['kafka:9092'], topic: 'alerts', sasl: { mechanism: 'scram-sha-512', username: 'lanner' } });
    expect(r).toEqual({ ok: false, problems: ['sasl.password: is required (or sasl.password_file)'] });
    expect(parse({ brokers: ['kafka:9092'], topic: 'alerts', sasl: { mechanism: 'scram-sha-512', username: 'lanner', password: 'p' } }).ok).toBe(true);
  });
});

describe('Kafka stand-in', () => {
  it('checks batches with CRC-32C (Castagnoli), whose check value for "123456789" is e3069283', () => {
    expect(crc32c(Buffer.from('123456789')).toString(16)).toBe('e3069283');
  });
});
