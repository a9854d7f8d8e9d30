/**
 * Lanner's native alert format: one JSON object per line. Evidence events are written in
 * Falco's own JSON output shape, so anything that reads Falco's JSON reads them too; exact
 * integers (evt.time nanoseconds) are written as integer literals, never rounded.
 */
import type { FalcoEvent } from '../../core/event.js';
import { formatRfc3339Ns } from '../../core/time.js';
import type { Alert } from '../alert.js';
import { jsonLine } from './text.js';

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
    // Lifecycle and enrichment fields appear only once set, so the foundation shape is unchanged.
    ...(alert.severity === undefined ? {} : { severity: alert.severity }),
    ...(alert.mitre === undefined ? {} : { mitre: alert.mitre }),
    ...(alert.runbook === undefined ? {} : { runbook: alert.runbook }),
    ...(alert.dedup_key === undefined ? {} : { dedup_key: alert.dedup_key }),
    ...(alert.first_seen === undefined ? {} : { first_seen: formatRfc3339Ns(alert.first_seen) }),
    ...(alert.last_seen === undefined ? {} : { last_seen: formatRfc3339Ns(alert.last_seen) }),
    ...(alert.summary_of === undefined ? {} : { summary_of: alert.summary_of }),
    ...(alert.held_back === undefined
      ? {}
      : { held_back: { ...alert.held_back, from: formatRfc3339Ns(alert.held_back.from), to: formatRfc3339Ns(alert.held_back.to) } }),
    ...(alert.action === undefined ? {} : { action: alert.action }),
    evidence: alert.evidence.map(falcoJsonOf),
  };
}

/** One native JSON line, without the trailing newline. */
export function formatNative(alert: Alert): string {
  return jsonLine(nativeAlertObject(alert));
}
