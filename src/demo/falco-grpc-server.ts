/**
 * A Falco stand-in that really serves Falco's gRPC output API (Falco 0.43 and older) from
 * proto/, for the demo and for tests: a unix socket without auth, or TCP with mutual TLS, as
 * Falco offers them. Like Falco, `sub` answers each request the client writes with what is
 * queued at that moment and nothing in between, so a client that stops writing stops receiving.
 */
import { lstatSync, readFileSync, unlinkSync } from 'node:fs';
import {
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { PRIORITIES } from '../core/event.js';
import { stringifyExact, type JsonValue } from '../core/exact-json.js';
import { parsePriority } from '../core/priority.js';
import { parseRfc3339Ns } from '../core/time.js';
import {
  falcoOutputsService,
  falcoVersionService,
  type FalcoRequest,
  type FalcoVersion,
} from '../ingest/falco-proto.js';
import type { GrpcResponse } from '../ingest/normalize.js';

/** PEM file paths for the stand-in's mutual TLS. */
export interface FalcoStandInTls {
  /** CA that client certificates must chain to. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface FalcoStandInOptions {
  /** `unix:///path/to.sock`, or `HOST:PORT` (port 0 picks a free one). */
  readonly address: string;
  /** Mutual TLS for a TCP address; without it the server is insecure, as Falco's unix socket is. */
  readonly tls?: FalcoStandInTls;
  /** The version `falco.version.service/version` reports. */
  readonly version?: string;
}

const DEFAULT_VERSION = '0.43.0';
const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/;

/** Falco's version response for a version string, parsed the way Falco fills it. */
export function falcoVersionOf(version: string): FalcoVersion {
  const m = SEMVER.exec(version);
  return {
    version,
    major: Number(m?.[1] ?? 0),
    minor: Number(m?.[2] ?? 0),
    patch: Number(m?.[3] ?? 0),
    prerelease: m?.[4] ?? '',
    build: m?.[5] ?? '',
  };
}

/**
 * A fake Falco serving `falco.outputs.service` and `falco.version.service`. Events go into one
 * queue shared by all clients, as in Falco; `stop()` kills it like a crash, so a test can start a
 * new instance on the same address and watch a client reconnect.
 */
export class FalcoStandIn {
  private server: Server | undefined;
  private readonly queue: GrpcResponse[] = [];
  private readonly subCalls = new Set<ServerDuplexStream<FalcoRequest, GrpcResponse>>();
  private subRequestCount = 0;
  private getCallCount = 0;
  private versionCallCount = 0;
  private readonly versionInfo: FalcoVersion;

  constructor(private readonly options: FalcoStandInOptions) {
    this.versionInfo = falcoVersionOf(options.version ?? DEFAULT_VERSION);
  }

  /** Requests written by `sub` clients so far: a subscriber's ticks show up here. */
  get subRequests(): number {
    return this.subRequestCount;
  }

  /** `get` calls served so far. */
  get getCalls(): number {
    return this.getCallCount;
  }

  /** `version` calls served so far. */
  get versionCalls(): number {
    return this.versionCallCount;
  }

  /** `sub` streams open right now. */
  get subscribers(): number {
    return this.subCalls.size;
  }

  /** Events published and not yet sent to any client. */
  get queued(): number {
    return this.queue.length;
  }

  /** Binds and serves; resolves with the bound address (with the real port when 0 was asked for). */
  async start(): Promise<string> {
    if (this.server) throw new Error('FalcoStandIn already started');
    const server = new Server();
    server.addService(falcoOutputsService, {
      sub: (call: ServerDuplexStream<FalcoRequest, GrpcResponse>) => this.onSub(call),
      get: (call: ServerWritableStream<FalcoRequest, GrpcResponse>) => this.onGet(call),
    });
    server.addService(falcoVersionService, {
      version: (_call: ServerUnaryCall<FalcoRequest, FalcoVersion>, done: sendUnaryData<FalcoVersion>) => {
        this.versionCallCount++;
        done(null, this.versionInfo);
      },
    });
    removeStaleSocket(this.options.address);
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(this.options.address, this.credentials(), (err, bound) => (err ? reject(err) : resolve(bound)));
    });
    this.server = server;
    return boundAddress(this.options.address, port);
  }

  /** Queues one event; it goes out with the next `sub` request or `get` call, like Falco's queue. */
  publish(response: GrpcResponse): void {
    this.queue.push(response);
  }

  /** Kills the server at once, mid-stream if need be, freeing the address for a new instance. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.subCalls.clear();
    server?.forceShutdown();
  }

  private credentials(): ServerCredentials {
    const tls = this.options.tls;
    if (!tls) return ServerCredentials.createInsecure();
    return ServerCredentials.createSsl(
      readFileSync(tls.ca),
      [{ private_key: readFileSync(tls.key), cert_chain: readFileSync(tls.cert) }],
      true,
    );
  }

  private onSub(call: ServerDuplexStream<FalcoRequest, GrpcResponse>): void {
    this.subCalls.add(call);
    const forget = (): void => {
      this.subCalls.delete(call);
    };
    call.on('data', () => {
      this.subRequestCount++;
      this.flushTo(call);
    });
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('cancelled', forget);
    call.on('error', forget);
  }

  private onGet(call: ServerWritableStream<FalcoRequest, GrpcResponse>): void {
    this.getCallCount++;
    this.flushTo(call);
    call.end();
  }

  private flushTo(call: { write(message: GrpcResponse): boolean }): void {
    const batch = this.queue.splice(0, this.queue.length);
    for (const response of batch) call.write(response);
  }
}

function removeStaleSocket(address: string): void {
  if (!address.startsWith('unix:')) return;
  const path = unixPath(address);
  try {
    // A server killed without closing leaves its socket file behind, and bind would fail on it.
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Nothing there: the common case.
  }
}

/** The file path of a `unix:` address (`unix:///abs/path` or `unix:relative/path`). */
export function unixPath(address: string): string {
  return address.startsWith('unix://') ? address.slice('unix://'.length) : address.slice('unix:'.length);
}

function boundAddress(address: string, port: number): string {
  if (address.startsWith('unix:')) return address;
  const host = address.slice(0, address.lastIndexOf(':'));
  return `${host}:${port}`;
}

/** An event in Falco's JSON output shape (`json_output: true`, the body `http_output` posts). */
export type FalcoJsonEvent = { readonly [key: string]: JsonValue };

const SOURCE_ENUM: readonly string[] = ['syscall', 'k8s_audit', 'internal', 'plugin'];
const NS_PER_S = 1_000_000_000n;

/**
 * Renders a Falco JSON event as Falco's gRPC output would carry the same alert: the time as a
 * Timestamp, the priority and legacy source as enum numbers, and every `output_fields` value as
 * text the way Falco (0.35+) writes it, strings as they are and other values as their JSON
 * (`null`, `true`, `false`, decimal numbers). Older Falco wrote `<NA>` for a missing value;
 * Lanner reads both. Throws on an event Falco could not have produced.
 */
export function falcoJsonToGrpcResponse(event: FalcoJsonEvent): GrpcResponse {
  const { rule, priority, time, output_fields: fields } = event;
  if (typeof rule !== 'string') throw new TypeError('event has no string "rule"');
  const prio = typeof priority === 'string' ? parsePriority(priority) : undefined;
  if (!prio) throw new TypeError(`event has no known "priority": ${String(priority)}`);
  const ns = typeof time === 'string' ? parseRfc3339Ns(time) : undefined;
  if (ns === undefined) throw new TypeError(`event has no RFC 3339 "time": ${String(time)}`);
  const source = typeof event['source'] === 'string' ? event['source'] : '';
  return {
    time: { seconds: ns / NS_PER_S, nanos: Number(ns % NS_PER_S) },
    priority: PRIORITIES.indexOf(prio),
    // Falco fills the deprecated enum too; a source it cannot name (a plugin's) is PLUGIN.
    source_deprecated: source === '' ? 0 : SOURCE_ENUM.includes(source) ? SOURCE_ENUM.indexOf(source) : 3,
    rule,
    output: typeof event['output'] === 'string' ? event['output'] : '',
    output_fields: grpcFieldsOf(fields),
    hostname: typeof event['hostname'] === 'string' ? event['hostname'] : '',
    tags: stringsOf(event['tags']),
    source,
  };
}

function grpcFieldsOf(fields: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (fields === undefined || fields === null || typeof fields !== 'object' || Array.isArray(fields)) return out;
  for (const name in fields) {
    const value = fields[name]!;
    // Falco refuses non-primitive field values on its gRPC output (it throws), so do we.
    if (value !== null && typeof value === 'object') throw new TypeError(`field ${name} is not a primitive`);
    out[name] = typeof value === 'string' ? value : stringifyExact(value);
  }
  return out;
}

function stringsOf(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
