/**
 * The gRPC ingest path (decode `falco.outputs.response` + normalize every text field) against
 * bare protobufjs decode of the same messages.
 */
import { parseJsonExact } from '../src/core/exact-json.js';
import { falcoJsonToGrpcResponse, type FalcoJsonEvent } from '../src/demo/falco-grpc-server.js';
import { decodeFalcoResponse, encodeFalcoResponse, falcoTypes } from '../src/ingest/falco-proto.js';
import { normalizeGrpcResponse } from '../src/ingest/normalize.js';
import { compare, type Comparison } from './harness.js';

export function grpcComparisons(lines: readonly string[]): Comparison[] {
  const messages = lines.map((l) => encodeFalcoResponse(falcoJsonToGrpcResponse(parseJsonExact(l) as FalcoJsonEvent)));
  const type = falcoTypes.outputsResponse;
  const bareDecode = { name: 'protobufjs decode', run: (items: readonly Uint8Array[]) => items.map((m) => type.decode(m)).length };
  const lanner = {
    name: 'gRPC: decode + normalize',
    run: (items: readonly Uint8Array[]) => {
      let ok = 0;
      for (const m of items) if (normalizeGrpcResponse(decodeFalcoResponse(m)).ok) ok++;
      return ok;
    },
  };
  return [compare(bareDecode, lanner, messages)];
}
