/** Every source kind Lanner can run, each built only when the config turns it on. */
import { falcoGrpcDescriptor } from './falco-grpc.js';
import { httpIngestDescriptor } from './http-receiver.js';
import { jsonLinesDescriptor } from './json-lines.js';
import type { SourceDescriptor } from './source.js';

export const SOURCES: readonly SourceDescriptor[] = [falcoGrpcDescriptor, httpIngestDescriptor, jsonLinesDescriptor];

export function findSource(name: string): SourceDescriptor | undefined {
  return SOURCES.find((d) => d.name === name);
}
