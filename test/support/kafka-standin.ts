/**
 * A minimal Kafka broker over a real TCP socket, for testing the Kafka output without a broker
 * (none runs on this machine). It speaks the real wire protocol, enough for kafkajs's
 * non-idempotent producer, and checks what it is sent the way a broker does:
 *
 * - framing: `INT32 size` + request header v1 (api_key, api_version, correlation_id, client_id);
 *   responses are `INT32 size` + response header v0 (correlation_id) + body;
 * - ApiVersions (key 18) v0-v1; a newer version is answered as Kafka does (KIP-511): a v0 body
 *   with UNSUPPORTED_VERSION (35) and the ApiVersions range, so the client retries lower;
 * - Metadata (key 3) v0-v1: one broker (itself, node 0), its topics and partitions, or
 *   UNKNOWN_TOPIC_OR_PARTITION (3) for a topic it does not have (auto-creation off);
 * - Produce (key 0) v3, the first version carrying RecordBatch v2: every batch is decoded
 *   (magic 2, batchLength, CRC-32C over attributes..end, gzip, varint records with keys, values
 *   and headers); a corrupt batch is answered CORRUPT_MESSAGE (2) and not stored; acks=0 gets no
 *   answer, as from Kafka.
 *
 * Anything else (SASL, InitProducerId, Fetch) is absent from its ApiVersions answer, so a client
 * that needed it would fail loudly rather than pass by accident.
 *
 * Tests can make Produce answer an error code (nothing is stored then, as on a real broker) and
 * stop the broker and start it again on the same port.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export const API_PRODUCE = 0;
export const API_METADATA = 3;
export const API_VERSIONS = 18;

/** The versions this broker advertises, per API key. */
const SUPPORTED: ReadonlyMap<number, { min: number; max: number }> = new Map([
  [API_PRODUCE, { min: 3, max: 3 }],
  [API_METADATA, { min: 0, max: 1 }],
  [API_VERSIONS, { min: 0, max: 1 }],
]);

export const ERR_NONE = 0;
export const ERR_CORRUPT_MESSAGE = 2;
export const ERR_UNKNOWN_TOPIC_OR_PARTITION = 3;
export const ERR_NOT_LEADER_FOR_PARTITION = 6;
export const ERR_MESSAGE_TOO_LARGE = 10;
export const ERR_UNSUPPORTED_VERSION = 35;

/** Frames above this are refused (Kafka's socket.request.max.bytes defaults to 100 MiB). */
const MAX_FRAME = 100 * 1024 * 1024;

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer | null;
}

export interface ReceivedRecord {
  readonly topic: string;
  readonly partition: number;
  /** The offset the broker gave the record in its partition. */
  readonly offset: bigint;
  readonly timestamp: bigint;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
}

export interface ReceivedRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly clientId: string | null;
}

export interface ReceivedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly acks: number;
  /** Compression codec from the batch attributes: 0 none, 1 gzip. */
  readonly compression: number;
  readonly producerId: bigint;
  readonly records: number;
  /** The error code the broker answered this partition with. */
  readonly errorCode: number;
}

export interface KafkaStandinOptions {
  /** Topics the broker has; default `lanner-alerts`. */
  readonly topics?: readonly string[];
  /** Partitions per topic; default 3, so keying is visible. */
  readonly partitions?: number;
  readonly port?: number;
}

export class KafkaStandin {
  /** Every record stored, in arrival order. */
  readonly records: ReceivedRecord[] = [];
  /** Every request header seen. */
  readonly requests: ReceivedRequest[] = [];
  /** Every record batch of every Produce request, including refused ones. */
  readonly batches: ReceivedBatch[] = [];
  /** Decoding problems (a bad CRC, a malformed record): empty when the client spoke correctly. */
  readonly problems: string[] = [];
  private readonly produceErrors: number[] = [];
  private readonly topics: ReadonlyMap<string, number>;
  private readonly logEnd = new Map<string, bigint>();
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  private boundPort: number;

  private constructor(options: KafkaStandinOptions) {
    const partitions = options.partitions ?? 3;
    this.topics = new Map((options.topics ?? ['lanner-alerts']).map((t) => [t, partitions]));
    this.boundPort = options.port ?? 0;
  }

  static async start(options: KafkaStandinOptions = {}): Promise<KafkaStandin> {
    const s = new KafkaStandin(options);
    await s.start();
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  /** `host:port`, as the Kafka output's `brokers` takes it. */
  get address(): string {
    return `127.0.0.1:${this.boundPort}`;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** The next `times` Produce requests are answered with `code` on every partition, and stored nowhere. */
  failProduce(code: number, times = 1): void {
    for (let i = 0; i < times; i++) this.produceErrors.push(code);
  }

  /** Listens (again) on the same port. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Goes away like a crashed broker: open connections are cut, new ones refused. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.stop();
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    // Kafka handles one connection's requests in order; a chain keeps answers in order too.
    let chain = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const size = buffered.readInt32BE(0);
        if (size < 0 || size > MAX_FRAME) {
          this.problems.push(`frame of ${size} bytes`);
          socket.destroy();
          return;
        }
        if (buffered.length < 4 + size) break;
        const frame = buffered.subarray(4, 4 + size);
        buffered = buffered.subarray(4 + size);
        chain = chain.then(() => {
          const response = this.handle(frame);
          if (response && !socket.destroyed) socket.write(response);
        });
        chain = chain.catch((err: unknown) => {
          this.problems.push(`request failed to decode: ${(err as Error).message}`);
          socket.destroy();
        });
      }
    });
  }

  /** One request frame to one response frame (undefined: no answer, as for acks=0). */
  private handle(frame: Buffer): Buffer | undefined {
    const r = new Reader(frame);
    const apiKey = r.int16();
    const apiVersion = r.int16();
    const correlationId = r.int32();
    const clientId = r.nullableString();
    this.requests.push({ apiKey, apiVersion, clientId });
    const w = new Writer().int32(correlationId);
    const range = SUPPORTED.get(apiKey);
    if (apiKey === API_VERSIONS) {
      this.apiVersions(apiVersion, w);
    } else if (!range || apiVersion < range.min || apiVersion > range.max) {
      // A real broker closes the connection on an API or version it does not know.
      this.problems.push(`unsupported api ${apiKey} v${apiVersion}`);
      throw new Error(`unsupported api ${apiKey} v${apiVersion}`);
    } else if (apiKey === API_METADATA) {
      this.metadata(apiVersion, r, w);
    } else if (!this.produce(r, w)) {
      return undefined;
    }
    return w.frame();
  }

  private apiVersions(version: number, w: Writer): void {
    const own = SUPPORTED.get(API_VERSIONS)!;
    if (version > own.max) {
      // KIP-511: answer in v0 layout, naming only our ApiVersions range, so the client retries lower.
      w.int16(ERR_UNSUPPORTED_VERSION).int32(1).int16(API_VERSIONS).int16(own.min).int16(own.max);
      return;
    }
    w.int16(ERR_NONE).int32(SUPPORTED.size);
    for (const [key, { min, max }] of SUPPORTED) w.int16(key).int16(min).int16(max);
    if (version >= 1) w.int32(0); // throttle_time_ms
  }

  private metadata(version: number, r: Reader, w: Writer): void {
    // v0: an empty array means all topics; v1: null means all, empty means none.
    const count = r.int32();
    const asked: string[] = [];
    for (let i = 0; i < count; i++) asked.push(r.string());
    const all = count < 0 || (version === 0 && count === 0);
    const names = all ? [...this.topics.keys()] : asked;

    w.int32(1).int32(0).string('127.0.0.1').int32(this.boundPort);
    if (version >= 1) w.nullableString(null).int32(0); // rack, controller_id
    w.int32(names.length);
    for (const name of names) {
      const partitions = this.topics.get(name);
      w.int16(partitions === undefined ? ERR_UNKNOWN_TOPIC_OR_PARTITION : ERR_NONE).string(name);
      if (version >= 1) w.int8(0); // is_internal
      w.int32(partitions ?? 0);
      for (let p = 0; p < (partitions ?? 0); p++) {
        // error, partition, leader 0, replicas [0], isr [0]
        w.int16(ERR_NONE).int32(p).int32(0).int32(1).int32(0).int32(1).int32(0);
      }
    }
  }

  /** Produce v3; false when acks=0 (no answer). */
  private produce(r: Reader, w: Writer): boolean {
    r.nullableString(); // transactional_id
    const acks = r.int16();
    r.int32(); // timeout_ms
    const injected = this.produceErrors.shift();
    const answers: { topic: string; partitions: { partition: number; error: number; baseOffset: bigint }[] }[] = [];
    const topicCount = r.int32();
    for (let t = 0; t < topicCount; t++) {
      const topic = r.string();
      const partitions: { partition: number; error: number; baseOffset: bigint }[] = [];
      const partitionCount = r.int32();
      for (let p = 0; p < partitionCount; p++) {
        const partition = r.int32();
        const size = r.int32();
        const recordSet = size < 0 ? Buffer.alloc(0) : r.bytes(size);
        const known = this.topics.get(topic);
        if (known === undefined || partition < 0 || partition >= known) {
          partitions.push({ partition, error: ERR_UNKNOWN_TOPIC_OR_PARTITION, baseOffset: -1n });
          continue;
        }
        const logKey = `${topic}/${partition}`;
        const base = this.logEnd.get(logKey) ?? 0n;
        const decoded = this.decodeBatches(recordSet, topic, partition, base);
        const error = decoded.problem ? ERR_CORRUPT_MESSAGE : (injected ?? ERR_NONE);
        for (const b of decoded.batches) this.batches.push({ topic, partition, acks, compression: b.compression, producerId: b.producerId, records: b.records.length, errorCode: error });
        if (decoded.problem) this.problems.push(`${logKey}: ${decoded.problem}`);
        if (error !== ERR_NONE) {
          // A broker that refuses a batch appends none of it.
          partitions.push({ partition, error, baseOffset: -1n });
          continue;
        }
        const records = decoded.batches.flatMap((b) => b.records);
        this.records.push(...records);
        this.logEnd.set(logKey, base + BigInt(records.length));
        partitions.push({ partition, error, baseOffset: base });
      }
      answers.push({ topic, partitions });
    }
    if (acks === 0) return false;
    w.int32(answers.length);
    for (const a of answers) {
      w.string(a.topic).int32(a.partitions.length);
      for (const p of a.partitions) w.int32(p.partition).int16(p.error).int64(p.baseOffset).int64(-1n);
    }
    w.int32(0); // throttle_time_ms
    return true;
  }

  /** Decodes every RecordBatch v2 in a record set, giving offsets from `base` on. */
  private decodeBatches(
    set: Buffer,
    topic: string,
    partition: number,
    base: bigint,
  ): { batches: { compression: number; producerId: bigint; records: ReceivedRecord[] }[]; problem?: string } {
    const batches: { compression: number; producerId: bigint; records: ReceivedRecord[] }[] = [];
    const r = new Reader(set);
    let next = base;
    try {
      while (r.remaining > 0) {
        r.int64(); // baseOffset: the producer's is ignored; the broker assigns offsets
        const batchLength = r.int32();
        if (batchLength < 49 || batchLength > r.remaining) return { batches, problem: `batchLength ${batchLength} with ${r.remaining} bytes left` };
        const body = new Reader(r.bytes(batchLength));
        body.int32(); // partitionLeaderEpoch
        const magic = body.int8();
        if (magic !== 2) return { batches, problem: `magic ${magic}, only RecordBatch v2 is accepted at Produce v3` };
        const crc = body.uint32();
        const covered = body.rest();
        const actual = crc32c(covered);
        if (actual !== crc) return { batches, problem: `CRC-32C ${actual.toString(16)} != ${crc.toString(16)}` };
        const b = new Reader(covered);
        const attributes = b.int16();
        const lastOffsetDelta = b.int32();
        const firstTimestamp = b.int64();
        b.int64(); // maxTimestamp
        const producerId = b.int64();
        b.int16(); // producerEpoch
        b.int32(); // baseSequence
        const count = b.int32();
        const compression = attributes & 0x07;
        let records: Reader;
        if (compression === 0) records = b;
        else if (compression === 1) records = new Reader(gunzipSync(b.rest()));
        else return { batches, problem: `compression codec ${compression} not supported by the stand-in` };
        if (count - 1 !== lastOffsetDelta) return { batches, problem: `lastOffsetDelta ${lastOffsetDelta} for ${count} records` };
        const out: ReceivedRecord[] = [];
        for (let i = 0; i < count; i++) {
          const length = records.varint();
          const rec = new Reader(records.bytes(length));
          rec.int8(); // attributes (unused)
          const timestampDelta = rec.varlong();
          const offsetDelta = rec.varint();
          if (offsetDelta !== i) return { batches, problem: `record ${i} has offsetDelta ${offsetDelta}` };
          const key = rec.varBytes();
          const value = rec.varBytes();
          const headers: RecordHeader[] = [];
          const headerCount = rec.varint();
          for (let h = 0; h < headerCount; h++) {
            const hk = rec.varBytes();
            if (hk === null) return { batches, problem: `record ${i} has a null header key` };
            headers.push({ key: hk.toString('utf8'), value: rec.varBytes() });
          }
          if (rec.remaining !== 0) return { batches, problem: `record ${i} has ${rec.remaining} bytes past its fields` };
          out.push({ topic, partition, offset: next++, timestamp: firstTimestamp + timestampDelta, key, value, headers });
        }
        if (records.remaining !== 0) return { batches, problem: `${records.remaining} bytes after the last record` };
        batches.push({ compression, producerId, records: out });
      }
    } catch (err) {
      return { batches, problem: (err as Error).message };
    }
    return { batches };
  }
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of RecordBatch v2. */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8)) >>> 0;
  return (crc ^ 0xffffffff) >>> 0;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** Big-endian reads with bounds checks: a short or malformed request throws, never misreads. */
class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error(`read of ${n} bytes at ${this.pos} past the end (${this.buf.length})`);
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  string(): string {
    const s = this.nullableString();
    if (s === null) throw new Error('null where a STRING is required');
    return s;
  }

  nullableString(): string | null {
    const n = this.int16();
    return n < 0 ? null : this.bytes(n).toString('utf8');
  }

  /** Unsigned LEB128 up to 64 bits, as a bigint. */
  private uvarlong(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      this.need(1);
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** Zigzag varlong (Kafka's signed varint encoding). */
  varlong(): bigint {
    const u = this.uvarlong();
    return (u >> 1n) ^ -(u & 1n);
  }

  varint(): number {
    const v = this.varlong();
    if (v < -(2n ** 31n) || v >= 2n ** 31n) throw new Error(`varint ${v} out of int32 range`);
    return Number(v);
  }

  /** varint length + bytes; length -1 is null. */
  varBytes(): Buffer | null {
    const n = this.varint();
    return n < 0 ? null : this.bytes(n);
  }
}

class Writer {
  private readonly parts: Buffer[] = [];

  private push(size: number, write: (b: Buffer) => void): this {
    const b = Buffer.alloc(size);
    write(b);
    this.parts.push(b);
    return this;
  }

  int8(v: number): this {
    return this.push(1, (b) => b.writeInt8(v));
  }

  int16(v: number): this {
    return this.push(2, (b) => b.writeInt16BE(v));
  }

  int32(v: number): this {
    return this.push(4, (b) => b.writeInt32BE(v));
  }

  int64(v: bigint): this {
    return this.push(8, (b) => b.writeBigInt64BE(v));
  }

  string(s: string): this {
    const bytes = Buffer.from(s, 'utf8');
    this.int16(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  nullableString(s: string | null): this {
    return s === null ? this.int16(-1) : this.string(s);
  }

  /** The message with its INT32 size prefix. */
  frame(): Buffer {
    const body = Buffer.concat(this.parts);
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length);
    return Buffer.concat([size, body]);
  }
}
