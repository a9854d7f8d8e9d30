/**
 * Falco's gRPC output API (Falco 0.43 and older) as an ingest source. On connect it asks Falco
 * for its version, then subscribes with `sub` and keeps writing empty requests on a tick,
 * because Falco only sends what it has queued in answer to a request. Or, in `get` mode, it
 * polls the one-shot `get`. When the stream ends or fails it reconnects with exponential
 * backoff and jitter, forever: Falco being down is a state to report, not a reason to exit.
 */
import {
  Client,
  credentials,
  status as GrpcStatus,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { BehaviorSubject, distinctUntilChanged, type Observable } from 'rxjs';
import { z } from 'zod';
import { LannerError } from '../core/errors.js';
import { LogLimiter, type Logger } from '../core/log.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { falcoOutputsService, falcoVersionService, type FalcoRequest, type FalcoVersion } from './falco-proto.js';
import { normalizeGrpcResponse, type GrpcResponse } from './normalize.js';
import { defineSource, type EventSink, type Source } from './source.js';
import { durationMs, isHostPort } from '../core/units.js';
import { readPemFileSync } from '../core/read-file.js';

/** PEM file paths for mutual TLS to Falco's TCP gRPC endpoint. */
export interface FalcoGrpcTls {
  /** CA that signed Falco's server certificate. */
  readonly ca: string;
  /** Our client certificate and key, which Falco checks against its own CA. */
  readonly cert: string;
  readonly key: string;
  /** Name to verify Falco's certificate against when it differs from the address's host. */
  readonly serverName?: string;
}

/** Reconnect pacing: attempt n waits about min(maxMs, initialMs * 2^n), jittered. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A connection that stayed up this long starts the next series of attempts from initialMs. */
  readonly resetAfterMs: number;
  /** `full`: uniform in [0, delay]; `equal`: delay/2 plus uniform in [0, delay/2]. */
  readonly jitter: 'full' | 'equal';
}

export interface FalcoGrpcOptions {
  /** `unix:///run/falco/falco.sock` (no auth) or `HOST:PORT` (mutual TLS, `tls` required). */
  readonly address: string;
  readonly tls?: FalcoGrpcTls;
  readonly mode?: 'sub' | 'get';
  /** How often to write a request on `sub`, or to call `get`. */
  readonly pollIntervalMs?: number;
  /** HTTP/2 keepalive ping interval on the channel. */
  readonly keepaliveMs?: number;
  /** How long an unanswered keepalive ping may take before the connection counts as dead. */
  readonly keepaliveTimeoutMs?: number;
  /** Deadline of the `version` call that opens each connection. */
  readonly connectTimeoutMs?: number;
  readonly backoff?: Partial<BackoffOptions>;
  readonly logger: Logger;
  readonly metrics?: LannerMetrics;
  /** Source of jitter in [0, 1); injectable so tests can pin delays. */
  readonly random?: () => number;
}

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000, jitter: 'full' };

/** The wait before reconnect attempt `attempt` (0 for the first retry after a failure). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  // Capping the exponent keeps 2^attempt finite however long Falco stays away.
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return options.jitter === 'full' ? random() * ceiling : ceiling / 2 + (random() * ceiling) / 2;
}

type OutputsCall = ClientDuplexStream<FalcoRequest, GrpcResponse> | ClientReadableStream<GrpcResponse>;

interface Attempt {
  readonly client: Client;
  call?: OutputsCall;
  timer?: NodeJS.Timeout;
}

/** Streams Falco's alerts and feed events from its gRPC output API into the ingest queue. */
export class FalcoGrpcSource implements Source {
  readonly name: string;
  private readonly mode: 'sub' | 'get';
  private readonly pollIntervalMs: number;
  private readonly connectTimeoutMs: number;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly channelOptions: ChannelOptions;
  private readonly state = new BehaviorSubject<boolean>(false);
  private readonly logLimiter = new LogLimiter();
  private creds: ChannelCredentials | undefined;
  private sink: EventSink | undefined;
  private attempt: Attempt | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private connectedAt = 0;
  private closed = false;
  private version: FalcoVersion | undefined;

  /** True while connected to Falco; each change once, starting with the current state. */
  readonly connection$: Observable<boolean> = this.state.pipe(distinctUntilChanged());

  constructor(private readonly options: FalcoGrpcOptions) {
    const tcp = !options.address.startsWith('unix:');
    if (tcp && !hasTls(options.tls)) {
      throw new LannerError(
        'LANNER_CONFIG_INVALID',
        `Falco gRPC over TCP (${options.address}) needs mutual TLS: set the CA, client certificate and key`,
      );
    }
    this.name = `falco-grpc:${options.address}`;
    this.mode = options.mode ?? 'sub';
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
    this.logger = options.logger.child({ source: 'falco-grpc', address: options.address });
    this.channelOptions = channelOptionsFor(options);
  }

  /** True while a stream to Falco is up (what /readyz reports). */
  get connected(): boolean {
    return this.state.value;
  }

  ready(): string | null {
    return this.connected ? null : 'not connected to Falco';
  }

  /** Falco's version as it reported it on the latest connection. */
  get falcoVersion(): FalcoVersion | undefined {
    return this.version;
  }

  /** Reads the TLS files and starts connecting; resolves at once, whether or not Falco is up. */
  async start(sink: EventSink): Promise<void> {
    this.creds = this.options.address.startsWith('unix:')
      ? credentials.createInsecure()
      : sslCredentials(this.options.tls!);
    this.sink = sink;
    this.connect();
  }

  /** Stops the timers, cancels the call and closes the channel. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.endAttempt();
    this.setConnected(false);
    this.state.complete();
  }

  private connect(): void {
    if (this.closed) return;
    const attempt: Attempt = { client: new Client(this.options.address, this.creds!, this.channelOptions) };
    this.attempt = attempt;
    const method = falcoVersionService.version;
    attempt.client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      {},
      { deadline: Date.now() + this.connectTimeoutMs },
      (err, version) => this.onVersion(attempt, err, version),
    );
  }

  private onVersion(attempt: Attempt, err: ServiceError | null, version: FalcoVersion | undefined): void {
    if (attempt !== this.attempt) return;
    // A Falco built without the version service still streams; anything else means no Falco.
    if (err && err.code !== GrpcStatus.UNIMPLEMENTED) return this.fail(attempt, err);
    this.version = version;
    this.logger.info({ falcoVersion: version?.version ?? 'unknown' }, 'connected to Falco');
    this.connectedAt = Date.now();
    this.setConnected(true);
    if (this.mode === 'sub') this.subscribe(attempt);
    else this.poll(attempt);
  }

  private subscribe(attempt: Attempt): void {
    const m = falcoOutputsService.sub;
    const call = attempt.client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
    this.watch(attempt, call, () => this.fail(attempt, new Error('Falco ended the subscription')));
    const request = (): void => {
      // An unread backlog means Falco is not consuming requests; piling more on helps nothing.
      if (!call.writableNeedDrain) call.write({});
    };
    request();
    // The open call already holds the process; the tick alone should not.
    attempt.timer = setInterval(request, this.pollIntervalMs).unref();
  }

  private poll(attempt: Attempt): void {
    const m = falcoOutputsService.get;
    const call = attempt.client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {});
    this.watch(attempt, call, () => {
      // Ref'd, unlike the sub tick: between polls no call is open to keep the process alive.
      attempt.timer = setTimeout(() => this.poll(attempt), this.pollIntervalMs);
    });
  }

  /** Routes a call's responses to the sink and its final status to `onOk` or `fail`. */
  private watch(attempt: Attempt, call: OutputsCall, onOk: () => void): void {
    attempt.call = call;
    call.on('data', (response: GrpcResponse) => this.deliver(response));
    // grpc-js emits 'error' and then 'status' for a failed call; 'status' alone decides.
    call.on('error', () => undefined);
    call.on('status', (status: StatusObject) => {
      if (attempt !== this.attempt || attempt.call !== call) return;
      if (status.code === GrpcStatus.OK) onOk();
      else this.fail(attempt, new Error(`${GrpcStatus[status.code] ?? status.code}: ${status.details}`));
    });
  }

  private deliver(response: GrpcResponse): void {
    const result = normalizeGrpcResponse(response);
    if (result.ok) this.sink!.accept(result.event);
    else this.sink!.reject(result.reason, result.detail, 'grpc');
  }

  private fail(attempt: Attempt, err: Error): void {
    if (attempt !== this.attempt || this.closed) return;
    this.endAttempt();
    const wasConnected = this.connected;
    if (wasConnected && Date.now() - this.connectedAt >= this.backoff.resetAfterMs) this.failures = 0;
    this.setConnected(false);
    const delayMs = Math.round(backoffDelay(this.failures++, this.backoff, this.random));
    if (wasConnected) this.logger.warn({ err: errorText(err), retryInMs: delayMs }, 'lost the connection to Falco');
    else {
      // While Falco stays down this repeats every few seconds; once a minute says enough.
      this.logLimiter.maybe('connect_failed', (suppressed) =>
        this.logger.warn({ err: errorText(err), retryInMs: delayMs, suppressed }, 'cannot reach Falco'),
      );
    }
    // Deliberately not unref'd: waiting for Falco to come back is this source's whole job.
    this.reconnectTimer = setTimeout(() => {
      this.options.metrics?.falcoReconnects.inc();
      this.connect();
    }, delayMs);
  }

  private endAttempt(): void {
    const attempt = this.attempt;
    this.attempt = undefined;
    if (!attempt) return;
    // Node's clearTimeout clears intervals too; the timer is one or the other by mode.
    clearTimeout(attempt.timer);
    attempt.call?.cancel();
    attempt.client.close();
  }

  private setConnected(up: boolean): void {
    if (this.state.closed || this.state.value === up) return;
    this.options.metrics?.falcoConnected.set(up ? 1 : 0);
    this.state.next(up);
  }
}

function hasTls(tls: FalcoGrpcTls | undefined): tls is FalcoGrpcTls {
  // The config carries unset paths as empty strings.
  return tls !== undefined && tls.ca !== '' && tls.cert !== '' && tls.key !== '';
}

function channelOptionsFor(options: FalcoGrpcOptions): ChannelOptions {
  const serverName = options.tls?.serverName;
  return {
    'grpc.keepalive_time_ms': options.keepaliveMs ?? 20_000,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 10_000,
    // Pings without a call in flight make C-core servers such as Falco's answer "too many pings".
    'grpc.keepalive_permit_without_calls': 0,
    ...(serverName ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
  };
}

function sslCredentials(tls: FalcoGrpcTls): ChannelCredentials {
  return credentials.createSsl(readTlsFile(tls.ca, 'CA'), readTlsFile(tls.key, 'key'), readTlsFile(tls.cert, 'certificate'));
}

function readTlsFile(path: string, what: string): Buffer {
  try {
    return readPemFileSync(path);
  } catch (err) {
    throw new LannerError('LANNER_TLS_FILES', `cannot read the Falco gRPC client ${what} ${path}: ${errorText(err)}`);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const tlsFile = (what: string) => z.string().default('').describe(what);

/** `falco.grpc` in lanner.yaml: Falco 0.43 and older, over its gRPC output API. */
export const falcoGrpcDescriptor = defineSource({
  name: 'falco-grpc',
  path: ['falco', 'grpc'],
  summary: "Subscribes to Falco's gRPC output API (Falco 0.43 and older): a unix socket, or TCP with mutual TLS; reconnects with backoff",
  example: 'falco:\n  grpc:\n    address: unix:///run/falco/falco.sock\n',
  options: z
    .object({
      address: z
        .string()
        .refine((v) => v === '' || v.startsWith('unix://') || isHostPort(v), { message: 'expected unix:///path/to/falco.sock or HOST:PORT, or empty to turn it off' })
        .default('')
        .describe("Falco's gRPC endpoint: unix:///run/falco/falco.sock (no auth) or HOST:PORT (mutual TLS); empty: off"),
      mode: z.enum(['sub', 'get']).default('sub').describe('`sub` streams (Falco sends what it has queued each time Lanner writes); `get` polls'),
      poll_interval: durationMs('1s').describe('How often Lanner writes an empty request on `sub`, or calls `get`'),
      keepalive: durationMs('5m').describe('HTTP/2 keepalive ping interval on the channel'),
      tls: z
        .object({
          ca: tlsFile("CA file that signed Falco's server certificate"),
          cert: tlsFile("Lanner's client certificate file, checked by Falco"),
          key: tlsFile("Lanner's client key file"),
          server_name: z.string().default('').describe("Name to verify Falco's certificate against when it differs from the address's host"),
        })
        .strict()
        .prefault({})
        .describe('Mutual TLS, required over TCP'),
      backoff: z
        .object({
          initial: durationMs('500ms').describe('First wait before reconnecting; doubles on each failure'),
          max: durationMs('30s').describe('Longest wait between reconnect attempts'),
          reset_after: durationMs('60s').describe('A connection that lasted this long starts the next series of attempts from `initial`'),
        })
        .strict()
        .prefault({})
        .describe('Reconnect pacing, with full jitter'),
    })
    .strict(),
  needs: { ports: ['connects to address (a unix socket, or TCP with mutual TLS)'], files: ['tls.ca, tls.cert, tls.key'] },
  plan(g) {
    if (g.address === '') return { ok: true, sources: [] };
    if (!g.address.startsWith('unix:')) {
      const missing = (['ca', 'cert', 'key'] as const).filter((k) => g.tls[k] === '');
      if (missing.length > 0) {
        return { ok: false, problems: missing.map((k) => `tls.${k}: is required: Falco serves gRPC over TCP only with mutual TLS (${g.address})`) };
      }
    }
    const tls = g.tls.ca || g.tls.cert || g.tls.key ? { ca: g.tls.ca, cert: g.tls.cert, key: g.tls.key, ...(g.tls.server_name ? { serverName: g.tls.server_name } : {}) } : undefined;
    return {
      ok: true,
      sources: [
        {
          label: `Falco gRPC ${g.address} (${g.mode}, every ${g.poll_interval}ms)`,
          create: (deps) =>
            new FalcoGrpcSource({
              address: g.address,
              ...(tls ? { tls } : {}),
              mode: g.mode,
              pollIntervalMs: g.poll_interval,
              keepaliveMs: g.keepalive,
              backoff: { initialMs: g.backoff.initial, maxMs: g.backoff.max, resetAfterMs: g.backoff.reset_after },
              logger: deps.logger,
              metrics: deps.metrics,
            }),
        },
      ],
    };
  },
});
