/**
 * Syslog (RFC 5424) over UDP (RFC 5426, one message per datagram, truncated to
 * `max_message_size` rather than lost when longer), TCP or TLS (RFC 6587 / 5425, octet-counting
 * framing: `LEN SP MSG`, LEN in bytes). Syslog has no acknowledgement: a batch counts as sent
 * once the kernel took it; a connection that broke is reopened on the next batch, which is
 * retried whole (a receiver may see a message twice).
 *
 * Over TLS 1.3 the client's handshake ends before the server has checked the client
 * certificate: a receiver that refuses it (rsyslog's x509/certvalid, syslog-ng's peer-verify)
 * closes the connection a round trip later, after our first batch would already have counted as
 * sent. So a new TLS connection is used only once it has stayed open for a short settle time.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import {
  FACILITIES,
  formatSyslog,
  formatSyslogWithin,
  frameOctetCounting,
  MIN_SYSLOG_MESSAGE_BYTES,
  type SyslogFormatOptions,
} from '../alerts/formats/syslog.js';
import { LogLimiter } from '../core/log.js';
import type { Exporter, ExportResult } from './batch-queue.js';
import { networkFailure } from './http-client.js';
import { commonShape, queueOptions, readTls, routeOf, size, TLS_FILES, tlsSchema } from './options.js';
import { defineOutput, type OutputDeps } from './output.js';
import { QueuedOutput } from './queued-output.js';

export type SyslogTransport = 'udp' | 'tcp' | 'tls';

export interface SyslogOptions {
  readonly transport: SyslogTransport;
  readonly host: string;
  readonly port: number;
  readonly format: SyslogFormatOptions;
  readonly tls?: ConnectionOptions;
  /** How long a new TLS connection must stay open before it is trusted with alerts (default 250 ms). */
  readonly tlsSettleMs?: number;
  /**
   * Over UDP, the most bytes one message may take (default and upper bound MAX_UDP_MESSAGE_BYTES,
   * at least MIN_SYSLOG_MESSAGE_BYTES): a longer one is truncated to fit, never dropped.
   */
  readonly maxMessageBytes?: number;
  /** Called for each message truncated to fit `maxMessageBytes`. */
  readonly onTruncated?: () => void;
}

/** The largest UDP payload over IPv4 (65535 less the IP and UDP headers), which also fits IPv6. */
export const MAX_UDP_MESSAGE_BYTES = 65_507;

/** The receiver ended a TLS connection right after the handshake: it refused us. */
class TlsRefused extends Error {
  readonly code = 'LANNER_TLS_REFUSED';
}

export class SyslogExporter implements Exporter<Alert> {
  private socket: net.Socket | undefined;
  private udp: dgram.Socket | undefined;
  private truncatedCount = 0;

  constructor(private readonly o: SyslogOptions) {}

  /** Messages truncated to fit one datagram so far. */
  get truncated(): number {
    return this.truncatedCount;
  }

  async export(batch: readonly Alert[], signal: AbortSignal): Promise<ExportResult<Alert>> {
    try {
      if (this.o.transport === 'udp') await this.sendUdp(batch.map((a) => this.datagram(a)));
      else await this.sendStream(Buffer.concat(batch.map((a) => frameOctetCounting(formatSyslog(a, this.o.format)))), signal);
      return { ok: true };
    } catch (err) {
      this.socket?.destroy();
      this.socket = undefined;
      if (signal.aborted) throw err;
      return networkFailure(err);
    }
  }

  /**
   * One message as one datagram (RFC 5426 §3.1), truncated to the size limit (§3.2) rather
   * than refused by the kernel (EMSGSIZE) and lost after every retry.
   */
  private datagram(alert: Alert): Buffer {
    const fitted = formatSyslogWithin(alert, this.o.format, this.o.maxMessageBytes ?? MAX_UDP_MESSAGE_BYTES);
    if (fitted.truncated) {
      this.truncatedCount++;
      this.o.onTruncated?.();
    }
    return fitted.bytes;
  }

  private async sendUdp(messages: readonly Buffer[]): Promise<void> {
    if (!this.udp) {
      this.udp = dgram.createSocket(this.o.host.includes(':') ? 'udp6' : 'udp4');
      this.udp.unref();
    }
    const udp = this.udp;
    for (const m of messages) {
      await new Promise<void>((resolve, reject) => udp.send(m, this.o.port, this.o.host, (err) => (err ? reject(err) : resolve())));
    }
  }

  private connect(signal: AbortSignal): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed && this.socket.writable) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      let settle: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        clearTimeout(settle);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', fail);
        socket.off('end', refused);
        socket.off('close', refused);
      };
      const onAbort = (): void => {
        cleanup();
        socket.destroy();
        reject(new Error('aborted'));
      };
      const fail = (err: Error): void => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      const refused = (): void =>
        fail(new TlsRefused(`${this.o.host}:${this.o.port} closed the TLS connection right after the handshake (client certificate refused?)`));
      const done = (): void => {
        cleanup();
        // Later errors only mark the socket dead; the next export reconnects.
        socket.on('error', () => socket.destroy());
        socket.setKeepAlive(true, 30_000);
        socket.unref();
        this.socket = socket;
        resolve(socket);
      };
      const socket =
        this.o.transport === 'tls'
          ? tls.connect({ host: this.o.host, port: this.o.port, ...(this.o.tls ?? {}) }, () => {
              socket.once('end', refused);
              socket.once('close', refused);
              settle = setTimeout(done, this.o.tlsSettleMs ?? 250);
            })
          : net.connect({ host: this.o.host, port: this.o.port }, () => done());
      // A syslog receiver has nothing to say; reading keeps its TLS alerts (and a close) flowing.
      socket.resume();
      socket.once('error', fail);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async sendStream(bytes: Buffer, signal: AbortSignal): Promise<void> {
    const socket = await this.connect(signal);
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        socket.destroy();
        reject(new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      socket.write(bytes, (err) => {
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket && !socket.destroyed) await new Promise<void>((resolve) => socket.end(resolve));
    this.udp?.close();
    this.udp = undefined;
  }
}

/** Counts each truncated message, and says at most once a minute, with how many so far, that messages are being truncated. */
function truncationNotice(name: string, deps: OutputDeps, maxBytes: number): () => void {
  const limiter = new LogLimiter();
  const counter = deps.metrics.outputTruncated.labels(name);
  // At 0 from the start, so increase() sees the first truncated message.
  counter.inc(0);
  let total = 0;
  return () => {
    total++;
    counter.inc();
    limiter.maybe('truncated', () =>
      deps.logger.warn({ output: name, truncated_total: total, max_message_size: maxBytes }, 'syslog messages longer than max_message_size are truncated to fit one UDP datagram'),
    );
  };
}

const options = z
  .object({
    ...commonShape('syslog', { batchSize: 100, interval: '500ms', format: 'syslog', formats: ['syslog'] }),
    transport: z.enum(['udp', 'tcp', 'tls']).default('tcp').describe('udp (one message per datagram), tcp or tls (octet-counting framing)'),
    host: z.string().min(1).describe('the syslog receiver host name or address'),
    port: z.number().int().min(1).max(65535).optional().describe('the receiver port (default 514, or 6514 with transport: tls)'),
    facility: z
      .enum(Object.keys(FACILITIES) as [string, ...string[]])
      .default('local0')
      .describe('the syslog facility of every message'),
    app_name: z
      .string()
      .regex(/^[\x21-\x7e]{1,48}$/, 'printable ASCII without spaces, at most 48 characters')
      .default('lanner')
      .describe('APP-NAME of every message'),
    enterprise_id: z
      .number()
      .int()
      .min(1)
      .max(4_294_967_295)
      .default(32473)
      .describe("the private enterprise number in the structured data IDs (lanner@N); 32473 is RFC 5612's documentation number: use your own"),
    message: z.enum(['output', 'json', 'cef']).default('output').describe("what MSG holds: Falco's output text, the native alert JSON, or CEF"),
    max_message_size: size('8096').describe(
      `udp only: the most bytes one message may take, from ${MIN_SYSLOG_MESSAGE_BYTES} (what RFC 5426 says every receiver accepts) to ${MAX_UDP_MESSAGE_BYTES} (one UDP datagram); a longer message is truncated to fit (the longest structured-data values and MSG are cut first, never the alert id), never dropped, and a warning at most once a minute says how many so far. The default is rsyslog's own maxMessageSize default (8096 bytes); syslog-ng takes 64KiB`,
    ),
    tls: tlsSchema.describe('TLS towards the receiver, only with transport: tls; files are read once at start'),
  })
  .strict();

export const syslogDescriptor = defineOutput({
  name: 'syslog',
  summary: 'Sends RFC 5424 syslog messages over UDP, TCP or TLS (octet-counting framing on TCP and TLS).',
  example: [
    '- type: syslog',
    '  transport: tcp            # udp | tcp | tls',
    '  host: syslog.example.com',
    '  port: 514                 # default 514, or 6514 for tls',
    '  facility: local0',
    '  message: output           # MSG holds: output (Falco text) | json (native alert) | cef',
    '',
  ].join('\n'),
  options,
  needs: { ports: ['connects to host:port over transport (UDP, TCP or TLS)'], files: [TLS_FILES] },
  build(c, context, problems) {
    const route = routeOf(c, context, problems);
    const tlsOpts = readTls(c.tls, problems);
    if (c.tls && c.transport !== 'tls') problems.push(`tls: only used with transport: tls (transport is ${c.transport})`);
    if (c.max_message_size < MIN_SYSLOG_MESSAGE_BYTES || c.max_message_size > MAX_UDP_MESSAGE_BYTES) {
      problems.push(`max_message_size: ${c.max_message_size} bytes is outside ${MIN_SYSLOG_MESSAGE_BYTES} to ${MAX_UDP_MESSAGE_BYTES} (one UDP datagram)`);
    }
    const port = c.port ?? (c.transport === 'tls' ? 6514 : 514);
    return (name, deps) =>
      new QueuedOutput(
        name,
        route,
        queueOptions(c),
        new SyslogExporter({
          transport: c.transport,
          host: c.host,
          port,
          format: { facility: c.facility, appName: c.app_name, enterpriseId: c.enterprise_id, message: c.message },
          ...(tlsOpts ? { tls: tlsOpts } : {}),
          maxMessageBytes: c.max_message_size,
          onTruncated: truncationNotice(name, deps, c.max_message_size),
        }),
        deps,
      );
  },
});
