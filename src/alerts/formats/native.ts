/**
 * Lanner's native alert format: one JSON object per line. Evidence events are written in
 * Falco's own JSON output shape, so anything that reads Falco's JSON reads them too; exact
 * integers (evt.time nanoseconds) are written as integer literals, never rounded.
 */
import type { FalcoEvent } from '../../core/event.js';
import { stringifyExact } from '../../core/exact-json.js';
import { formatRfc3339Ns } from '../../core/time.js';
import type { Alert } from '../alert.js';

/** Falco's JSON output shape for one event. */
export function falcoJsonOf(event: FalcoEvent): Record<string, unknown> {
  return {
    time: formatRfc3339Ns(event.timeNs),
    rule: event.rule,
    priority: event.priority,
    source: event.source,
    hostname: event.hostname,
    tags: event.tags,
    output: event.output,
    output_fields: event.fields,
    ...(event.uuid === undefined ? {} : { uuid: event.uuid }),
  };
}

export function nativeAlertObject(alert: Alert): Record<string, unknown> {
  return {
    id: alert.id,
    time: formatRfc3339Ns(alert.timeNs),
    rule: alert.rule,
    priority: alert.priority,
    source: alert.source,
    hostname: alert.hostname,
    node: alert.node ?? null,
    cluster: alert.cluster ?? null,
    output: alert.output,
    tags: alert.tags,
    origin: alert.origin,
    workload: alert.workload,
    process: alert.process,
    count: alert.count,
    evidence: alert.evidence.map(falcoJsonOf),
  };
}

/** One native JSON line, without the trailing newline. */
export function formatNative(alert: Alert): string {
  return stringifyExact(nativeAlertObject(alert));
}
