/**
 * Falco's gRPC wire contract, loaded from proto/ with protobufjs and turned into grpc-js
 * service definitions by hand. Client and stand-in server both serialize through the same
 * protobufjs types, so what we test against is exactly the proto's wire format.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { GrpcResponse } from './normalize.js';

/** `falco.outputs.request` and `falco.version.request`: both are empty messages. */
export type FalcoRequest = Record<string, never>;

/** `falco.version.response`. */
export interface FalcoVersion {
  readonly version: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly prerelease: string;
  readonly build: string;
}

// The module runs from src/ingest/ (vitest, tsx) and from dist/src/ingest/ (built), and proto/
// sits at the package root in both cases and in the published package.
const PROTO_DIR_CANDIDATES = ['../../proto/', '../../../proto/'];

/** Absolute path of the directory holding Falco's .proto files. */
export function protoDir(): string {
  for (const rel of PROTO_DIR_CANDIDATES) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}outputs.proto`)) return dir;
  }
  throw new Error(`Falco proto files not found relative to ${fileURLToPath(import.meta.url)}`);
}

interface FalcoTypes {
  readonly outputsRequest: protobuf.Type;
  readonly outputsResponse: protobuf.Type;
  readonly versionRequest: protobuf.Type;
  readonly versionResponse: protobuf.Type;
}

function loadTypes(): FalcoTypes {
  const dir = protoDir();
  // outputs.proto imports schema.proto by a relative name, which protobufjs resolves against
  // the importing file; google/protobuf/timestamp.proto comes from protobufjs's bundled types.
  const root = new protobuf.Root().loadSync([`${dir}outputs.proto`, `${dir}version.proto`], { keepCase: true });
  return {
    outputsRequest: root.lookupType('falco.outputs.request'),
    outputsResponse: root.lookupType('falco.outputs.response'),
    versionRequest: root.lookupType('falco.version.request'),
    versionResponse: root.lookupType('falco.version.response'),
  };
}

/** The protobufjs types of Falco's messages; loaded once, on module load. */
export const falcoTypes: FalcoTypes = loadTypes();

/**
 * Decodes `falco.outputs.response` bytes. Returns protobufjs's decoded message as is (no
 * `toObject` copy, as this runs per event): unset scalars read their proto3 defaults from the
 * prototype, `time.seconds` is a `Long` (its `toString()` is exact), `output_fields` a plain object.
 */
export function decodeFalcoResponse(bytes: Uint8Array): GrpcResponse {
  return falcoTypes.outputsResponse.decode(bytes) as unknown as GrpcResponse;
}

/** Encodes a response given as a plain object (the stand-in's side of the wire). */
export function encodeFalcoResponse(response: GrpcResponse): Buffer {
  const t = response.time;
  // protobufjs takes int64 as number, string or Long; a bigint must become decimal text first.
  const plain =
    t && typeof t.seconds === 'bigint' ? { ...response, time: { ...t, seconds: t.seconds.toString() } } : response;
  const type = falcoTypes.outputsResponse;
  return Buffer.from(type.encode(type.fromObject(plain as Record<string, unknown>)).finish());
}

function encodeEmpty(): Buffer {
  return Buffer.alloc(0);
}

// Requests are empty messages; decoding still goes through the type so a malformed frame fails
// the way it would against Falco.
function decodeOutputsRequest(bytes: Buffer): FalcoRequest {
  falcoTypes.outputsRequest.decode(bytes);
  return {};
}

function decodeVersionRequest(bytes: Buffer): FalcoRequest {
  falcoTypes.versionRequest.decode(bytes);
  return {};
}

function encodeVersion(version: FalcoVersion): Buffer {
  const type = falcoTypes.versionResponse;
  return Buffer.from(type.encode(type.fromObject({ ...version })).finish());
}

function decodeVersion(bytes: Buffer): FalcoVersion {
  const type = falcoTypes.versionResponse;
  return type.toObject(type.decode(bytes), { defaults: true }) as FalcoVersion;
}

/** grpc-js definition of `falco.outputs.service`. */
export interface FalcoOutputsServiceDefinition extends ServiceDefinition {
  readonly sub: MethodDefinition<FalcoRequest, GrpcResponse>;
  readonly get: MethodDefinition<FalcoRequest, GrpcResponse>;
}

/** grpc-js definition of `falco.version.service`. */
export interface FalcoVersionServiceDefinition extends ServiceDefinition {
  readonly version: MethodDefinition<FalcoRequest, FalcoVersion>;
}

const outputsMethod = {
  requestSerialize: encodeEmpty,
  requestDeserialize: decodeOutputsRequest,
  responseSerialize: encodeFalcoResponse,
  responseDeserialize: (bytes: Buffer): GrpcResponse => decodeFalcoResponse(bytes),
};

/** `falco.outputs.service`: `sub` (bidirectional streaming) and `get` (server streaming). */
export const falcoOutputsService: FalcoOutputsServiceDefinition = {
  sub: { path: '/falco.outputs.service/sub', requestStream: true, responseStream: true, originalName: 'sub', ...outputsMethod },
  get: { path: '/falco.outputs.service/get', requestStream: false, responseStream: true, originalName: 'get', ...outputsMethod },
};

/** `falco.version.service`: the unary `version` call. */
export const falcoVersionService: FalcoVersionServiceDefinition = {
  version: {
    path: '/falco.version.service/version',
    requestStream: false,
    responseStream: false,
    originalName: 'version',
    requestSerialize: encodeEmpty,
    requestDeserialize: decodeVersionRequest,
    responseSerialize: encodeVersion,
    responseDeserialize: decodeVersion,
  },
};
