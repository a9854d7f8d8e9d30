/**
 * Kafka, through kafkajs's producer. Each alert is one record: key = the alert's `dedup_key`, so
 * every record of one incident hashes to one partition and keeps its order there; value = the
 * formatted alert; headers `lanner-rule`, `lanner-priority`, `content-type`, so consumers can
 * route without parsing the value.
 *
 * The shared bounded queue owns batching, retries and backoff: kafkajs's own retrier is set to
 * zero retries so one export attempt is one Produce round, and a failure comes back here to be
 * counted under its reason (`connect`, `timeout`, `kafka_<error type>`) and retried, or
 * dropped, by the queue's rules. kafkajs marks each broker error retriable or not; that mark
 * decides. Delivery is at least once: a Produce that timed out on our side may still land, and a
 * request refused for one partition may have been appended to another, so a retry can repeat a
 * record; consumers deduplicate on the alert `id` in the value.
 */
import { createHash } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import { CompressionTypes, Kafka, logLevel, Partitioners, type LogEntry, type Message, type Producer, type SASLOptions } from 'kafkajs';
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import { FORMATS, type FormatName } from '../alerts/formats/index.js';
import type { Logger } from '../core/log.js';
import type { Exporter, ExportResult } from './batch-queue.js';
import { commonShape, queueOptions, readSecret, readTls, routeOf, TLS_FILES, tlsSchema } from './options.js';
import { defineOutput } from './output.js';
import { QueuedOutput } from './queued-output.js';

export type KafkaAcks = -1 | 0 | 1;
export type KafkaCompression = 'none' | 'gzip';

export interface KafkaExporterOptions {
  readonly topic: string;
  readonly format: FormatName;
  readonly acks: KafkaAcks;
  readonly compression: KafkaCompression;
  /** How long the broker may wait for in-sync replicas before answering (Produce `timeout`). */
  readonly ackTimeoutMs: number;
  /** Bound on disconnecting at close, so a dead broker cannot hold shutdown. */
  readonly closeTimeoutMs: number;
  readonly producer: Producer;
}

const SEP = '\u001f';

/**
 * The record key of an alert that carries no `dedup_key` (dedup turned off, or an alert made
 * outside the lifecycle): the same rule + host + workload hash the deduplicator keys incidents
 * by, so such records still group per incident, in the partition a deduplicated one would use.
 */
export function fallbackKey(alert: Alert): string {
  const w = alert.workload;
  const parts = [alert.rule, alert.hostname, w.namespace ?? '', w.pod ?? '', w.container_id ?? w.container_name ?? '', w.image ?? ''];
  return createHash('sha256').update(parts.join(SEP)).digest('hex').slice(0, 20);
}

export class KafkaExporter implements Exporter<Alert> {
  private connecting: Promise<void> | undefined;
  private readonly format: (alert: Alert) => string;
  private readonly compression: CompressionTypes;

  constructor(private readonly o: KafkaExporterOptions) {
    this.format = FORMATS[o.format];
    this.compression = o.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  }

  /** The record an alert becomes. */
  message(alert: Alert): Message {
    return {
      key: alert.dedup_key ?? fallbackKey(alert),
      value: this.format(alert),
      headers: {
        'lanner-rule': alert.rule,
        'lanner-priority': alert.priority,
        // Every format this output offers (native, ecs, ocsf) is one JSON document.
        'content-type': 'application/json',
      },
    };
  }

  async export(batch: readonly Alert[], signal: AbortSignal): Promise<ExportResult<Alert>> {
    try {
      await abortable(this.connect(), signal);
      await abortable(
        this.o.producer.send({
          topic: this.o.topic,
          acks: this.o.acks,
          timeout: this.o.ackTimeoutMs,
          compression: this.compression,
          messages: batch.map((a) => this.message(a)),
        }),
        signal,
      );
      return { ok: true };
    } catch (err) {
      if (signal.aborted) throw err;
      return kafkaFailure(err);
    }
  }

  /**
   * Connects once. kafkajs reconnects brokers by itself once its producer is connected, but the
   * first connect must succeed before any send; a failed one is tried again on the next export.
   * The promise is shared so an attempt abandoned by a timeout is not started twice.
   */
  private connect(): Promise<void> {
    if (!this.connecting) {
      this.connecting = this.o.producer.connect().catch((err: unknown) => {
        this.connecting = undefined;
        throw err;
      });
    }
    return this.connecting;
  }

  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.o.closeTimeoutMs);
      timer.unref();
    });
    // disconnect() of a producer that never connected is harmless; its errors have nowhere to go.
    await Promise.race([this.o.producer.disconnect().catch(() => undefined), limit]);
    clearTimeout(timer);
  }
}

/** Ends the wait when `signal` fires; the abandoned promise's outcome is swallowed. */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/** The fields of kafkajs's error classes this output reads (the classes are not exported at runtime). */
interface KafkaJsError extends Error {
  readonly retriable?: boolean;
  /** A broker error's name, e.g. NOT_LEADER_FOR_PARTITION (KafkaJSProtocolError only). */
  readonly type?: string;
}

function isKafkaJsError(err: unknown): err is KafkaJsError {
  return err instanceof Error && err.name.startsWith('KafkaJS');
}

/**
 * The error that actually happened: kafkajs wraps it in retrier errors
 * (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError) whose `cause` is the original.
 */
function rootCause(err: unknown): unknown {
  let e = err;
  for (let depth = 0; depth < 8 && isKafkaJsError(e); depth++) {
    const wrapper = e.name === 'KafkaJSNumberOfRetriesExceeded' || (e.name === 'KafkaJSNonRetriableError' && e.cause !== undefined);
    if (!wrapper || !(e.cause instanceof Error)) break;
    e = e.cause;
  }
  return e;
}

const CONNECT_ERRORS = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSBrokerNotFound']);
const TIMEOUT_ERRORS = new Set(['KafkaJSRequestTimeoutError', 'KafkaJSLockTimeout']);

/** A kafkajs failure as the queue's verdict: a low-cardinality reason and whether to retry. */
export function kafkaFailure<T>(err: unknown): ExportResult<T> {
  const e = rootCause(err);
  const detail = e instanceof Error ? e.message.slice(0, 500) : String(e);
  if (!isKafkaJsError(e)) return { ok: false, reason: 'error', retryable: true, detail };
  if (CONNECT_ERRORS.has(e.name)) return { ok: false, reason: 'connect', retryable: true, detail };
  if (TIMEOUT_ERRORS.has(e.name)) return { ok: false, reason: 'timeout', retryable: true, detail };
  // A wrong password will not become right by retrying: refused for good, like an HTTP 401.
  if (e.name === 'KafkaJSSASLAuthenticationError') return { ok: false, reason: 'auth', retryable: false, detail };
  if (e.name === 'KafkaJSProtocolError' && e.type) {
    // Broker error names are a fixed list of Kafka's error codes: safe as a metric label.
    return { ok: false, reason: `kafka_${e.type.toLowerCase()}`, retryable: e.retriable !== false, detail };
  }
  if (e.name === 'KafkaJSMetadataNotLoaded' || e.name === 'KafkaJSTopicMetadataNotLoaded') return { ok: false, reason: 'kafka_metadata', retryable: true, detail };
  return { ok: false, reason: 'error', retryable: e.retriable !== false, detail };
}

/** kafkajs's level names (its runtime enum has no reverse mapping). */
const KAFKAJS_LEVELS: Readonly<Record<number, string>> = { [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug' };

/**
 * kafkajs log lines, at debug: kafkajs logs an error line for every failed attempt, which during
 * an outage would flood; the queue already logs failures, at most once a second, with their reason.
 */
function kafkaLogCreator(logger: Logger, output: string) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _t, logger: _l, ...extra } = log;
      logger.debug({ output, kafkajs: namespace, kafkajs_level: KAFKAJS_LEVELS[level] ?? String(level), ...extra }, message);
    };
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d{1,5})$/;

const options = z
  .object({
    ...commonShape('kafka', { batchSize: 500, interval: '500ms', format: 'native', formats: ['native', 'ecs', 'ocsf'] }),
    brokers: z
      .array(
        z.string().refine((b) => {
          const m = HOST_PORT.exec(b);
          return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
        }, 'a broker is host:port'),
      )
      .min(1)
      .describe('bootstrap brokers as host:port, at least one'),
    // Kafka's own rule for topic names.
    topic: z
      .string()
      .regex(/^[a-zA-Z0-9._-]{1,249}$/, 'a Kafka topic is 1-249 of letters, digits, ".", "_" and "-"')
      .describe('the topic records are produced to; it must exist (topics are never auto-created)'),
    client_id: z.string().min(1).default('lanner').describe('the client id brokers see in their logs and quotas'),
    tls: tlsSchema.describe('TLS towards the brokers; files are read once at start'),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('the SASL mechanism'),
        username: z.string().min(1).describe('the SASL user'),
        password: z.string().optional().describe('the SASL password; prefer password_file (one of the two is required)'),
        password_file: z.string().min(1).optional().describe('file holding the SASL password (read once at start, surrounding whitespace trimmed)'),
      })
      .strict()
      .optional()
      .describe('SASL authentication towards the brokers'),
    acks: z
      .union([z.literal(-1), z.literal(0), z.literal(1)])
      .default(-1)
      .describe('acknowledgement a record waits for: -1 all in-sync replicas, 1 the leader only, 0 none (sent once written to the socket)'),
    compression: z.enum(['none', 'gzip']).default('none').describe('compression of each produced batch'),
  })
  .strict();

export const kafkaDescriptor = defineOutput({
  name: 'kafka',
  summary: 'Produces each alert as one Kafka record keyed by its dedup key (kafkajs), with rule and priority headers.',
  example: [
    '- type: kafka',
    '  brokers: [kafka-0.kafka:9092, kafka-1.kafka:9092]',
    '  topic: lanner-alerts',
    '  format: native          # native | ecs | ocsf',
    '  acks: -1                # -1 all in-sync replicas | 1 leader | 0 none',
    '  compression: gzip       # none | gzip',
    '  # tls: { ca: /etc/lanner/kafka-ca.pem }',
    '  # sasl: { mechanism: scram-sha-512, username: lanner, password_file: /etc/lanner/kafka-password }',
    '',
  ].join('\n'),
  options,
  needs: { ports: ['connects to brokers (plain TCP, or TLS with tls)'], files: [TLS_FILES, 'sasl.password_file'] },
  build(c, context, problems) {
    const route = routeOf(c, context, problems);
    const tls = readTls(c.tls, problems);
    let sasl: SASLOptions | undefined;
    if (c.sasl) {
      const password = readSecret(c.sasl.password, c.sasl.password_file, 'sasl.password', problems);
      if (password === undefined && !problems.some((p) => p.startsWith('sasl.password'))) problems.push('sasl.password: is required (or sasl.password_file)');
      if (password !== undefined) sasl = { mechanism: c.sasl.mechanism, username: c.sasl.username, password };
    }
    return (name, deps) =>
      new QueuedOutput(
        name,
        route,
        queueOptions(c),
        new KafkaExporter({
          topic: c.topic,
          format: c.format,
          acks: c.acks,
          compression: c.compression,
          ackTimeoutMs: c.timeout,
          closeTimeoutMs: c.close_timeout,
          producer: createProducer({ brokers: c.brokers, clientId: c.client_id, tls, sasl, timeoutMs: c.timeout }, deps.logger, name),
        }),
        deps,
      );
  },
});

interface ProducerSettings {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly tls: ConnectionOptions | undefined;
  readonly sasl: SASLOptions | undefined;
  readonly timeoutMs: number;
}

function createProducer(s: ProducerSettings, logger: Logger, output: string): Producer {
  const kafka = new Kafka({
    clientId: s.clientId,
    brokers: [...s.brokers],
    ...(s.tls ? { ssl: s.tls } : {}),
    ...(s.sasl ? { sasl: s.sasl } : {}),
    // kafkajs's 1s default is tight for TLS to a distant broker; the export timeout bounds it anyway.
    connectionTimeout: Math.min(s.timeoutMs, 5_000),
    requestTimeout: s.timeoutMs,
    // One attempt per export: the shared queue's backoff with jitter and its counters govern.
    retry: { retries: 0 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger, output),
  });
  return kafka.producer({
    // Java-compatible murmur2 partitioning: a key lands where a Java producer would put it.
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 0 },
    // Never create topics by accident from a typo in config.
    allowAutoTopicCreation: false,
    idempotent: false,
    // One request in flight per broker, so a retried batch cannot overtake the next one.
    maxInFlightRequests: 1,
  });
}
