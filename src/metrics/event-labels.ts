/**
 * The label children of every metric a stage counts by a value it does not choose: a rule
 * name, a Falco source, a reason, an output's failure. Each factory returns a bounded cache
 * (child-cache.ts) whose `rule` and `source` positions go through the registry's LabelBound,
 * and creates at 0 the series whose label values are known at start, so the shipped alerts
 * (`increase(lanner_output_dropped_total[10m])`, ...) see the first event after a start: a
 * rate over a series that appears at 1 has no earlier sample to rise from.
 */
import type { Counter } from 'prom-client';
import { ChildCache } from './child-cache.js';
import { deferredCount, type DeferredCount } from './deferred.js';
import type { HttpServerName, LannerMetrics } from './metrics.js';
import { DROP_REASONS, type DropReason } from '../core/listen.js';

/** A counter's child, as prom-client's `labels()` returns it. */
export interface CounterChild {
  inc(by?: number): void;
}

/** Falco priorities (8) times detection families (a handful): the other labels of one rule's alerts. */
const ALERT_COMBINATIONS_PER_RULE = 64;
/** Transports are three; a fixed set, the bound only makes that explicit. */
const TRANSPORTS_PER_SOURCE = 8;
/** Reasons are fixed sets in code, or HTTP statuses for output failures. */
const MAX_REASON_SERIES = 64;
/** Suppressions are config entries. */
const SUPPRESSIONS_PER_RULE = 256;

/** Creates each labelled series at 0, so it exists before its first event. */
export function startAtZero<L extends string>(counter: Counter<L>, labelSets: readonly Partial<Record<L, string>>[]): void {
  for (const labels of labelSets) counter.inc(labels, 0);
}

/** `lanner_alerts_total{rule,priority,family}`, counted when an alert leaves the pipeline. */
export function alertCounters(metrics: LannerMetrics): ChildCache<[rule: string, priority: string, family: string], DeferredCount> {
  return new ChildCache((rule: string, priority: string, family: string) => deferredCount(metrics.alerts, { rule, priority, family }), {
    maxChildren: ALERT_COMBINATIONS_PER_RULE,
    bounds: [metrics.labels.rule],
  });
}

/** `lanner_events_received_total{transport,source}`, counted per event queued for detection. */
export function receivedCounters(metrics: LannerMetrics): ChildCache<[transport: string, source: string], DeferredCount> {
  return new ChildCache((transport: string, source: string) => deferredCount(metrics.eventsReceived, { transport, source }), {
    maxChildren: TRANSPORTS_PER_SOURCE,
    bounds: [undefined, metrics.labels.source],
  });
}

/** A counter by rule alone (`lanner_alerts_folded_total`, `lanner_alerts_rate_limited_total`). */
export function ruleCounters(metrics: LannerMetrics, counter: Counter<'rule'>): ChildCache<[rule: string], CounterChild> {
  return new ChildCache((rule: string) => counter.labels(rule), { maxChildren: 1, bounds: [metrics.labels.rule] });
}

/** `lanner_alerts_suppressed_total{rule,suppression}`. */
export function suppressedCounters(
  metrics: LannerMetrics,
  counter: Counter<'rule' | 'suppression'> = metrics.alertsSuppressed,
): ChildCache<[rule: string, suppression: string], CounterChild> {
  return new ChildCache((rule: string, suppression: string) => counter.labels(rule, suppression), {
    maxChildren: SUPPRESSIONS_PER_RULE,
    bounds: [metrics.labels.rule],
  });
}

/**
 * `lanner_events_invalid_total{reason}`, every reason the caller can report at 0 from the start.
 * A reason outside the list is still counted, within the cache's bound.
 */
export function invalidCounters(metrics: LannerMetrics, reasons: readonly string[]): ChildCache<[reason: string], CounterChild> {
  startAtZero(metrics.eventsInvalid, reasons.map((reason) => ({ reason })));
  return new ChildCache((reason: string) => metrics.eventsInvalid.labels(reason), { maxChildren: Math.max(MAX_REASON_SERIES, reasons.length) });
}

/** The outcomes of a response decision, the `outcome` label of `lanner_actions_total`. */
export const ACTION_OUTCOMES = ['executed', 'dry_run', 'refused', 'failed'] as const;

/** `lanner_actions_total{action,outcome}`, every outcome of every given action at 0 from the start. */
export function actionCounters(metrics: LannerMetrics, actions: readonly string[], maxChildren: number): ChildCache<[action: string, outcome: string], CounterChild> {
  startAtZero(
    metrics.actions,
    actions.flatMap((action) => ACTION_OUTCOMES.map((outcome) => ({ action, outcome }))),
  );
  return new ChildCache((action: string, outcome: string) => metrics.actions.labels(action, outcome), { maxChildren });
}

/** Why any output behind the shared batch queue drops alerts (`lanner_output_dropped_total{reason}`). */
export const OUTPUT_DROP_REASONS: readonly string[] = ['queue_full', 'closed', 'shutdown', 'retries_exhausted', 'rejected'];

/** Why a delivery attempt of any output fails (`lanner_output_failures_total{reason}`), before what each sink adds. */
export const OUTPUT_FAILURE_REASONS: readonly string[] = ['timeout', 'error', 'connect', 'network', 'tls', 'partial'];

/** Reasons one kind of output adds to the common ones (`mapping_error`, `http_503`, `backlog_full`). */
export interface OutputReasons {
  readonly dropped?: readonly string[];
  readonly failures?: readonly string[];
}

/** The series of one output, resolved once. */
export interface OutputSeries {
  readonly sent: CounterChild;
  readonly depth: { set(value: number): void };
  readonly latency: { observe(seconds: number): void };
  dropped(reason: string): CounterChild;
  failures(reason: string): CounterChild;
}

/**
 * Every series of the output named `output`: sent, queue depth and latency, and every known
 * drop and failure reason at 0, so `LannerOutputDropping` and `LannerOutputFailing` fire on
 * the first lost alert after a start. Reasons outside the lists (an HTTP status no one
 * expected) are still counted, within a bound.
 */
export function outputSeries(metrics: LannerMetrics, output: string, reasons: OutputReasons = {}): OutputSeries {
  const dropReasons = [...new Set([...OUTPUT_DROP_REASONS, ...(reasons.dropped ?? [])])];
  const failureReasons = [...new Set([...OUTPUT_FAILURE_REASONS, ...(reasons.failures ?? [])])];
  const sent = metrics.outputSent.labels(output);
  sent.inc(0);
  const depth = metrics.outputQueueDepth.labels(output);
  depth.set(0);
  // Every output, though only some transports cut: one query covers them all.
  metrics.outputTruncated.labels(output).inc(0);
  const latency = metrics.outputLatencySeconds.labels(output);
  metrics.outputLatencySeconds.zero({ output });
  startAtZero(metrics.outputDropped, dropReasons.map((reason) => ({ output, reason })));
  startAtZero(metrics.outputFailures, failureReasons.map((reason) => ({ output, reason })));
  const dropped = new ChildCache((reason: string) => metrics.outputDropped.labels(output, reason), { maxChildren: Math.max(MAX_REASON_SERIES, dropReasons.length) });
  const failures = new ChildCache((reason: string) => metrics.outputFailures.labels(output, reason), { maxChildren: Math.max(MAX_REASON_SERIES, failureReasons.length) });
  return {
    sent,
    depth,
    latency,
    dropped: (reason) => dropped.get(reason),
    failures: (reason) => failures.get(reason),
  };
}

/** The counters of connections `server` closed without an answer, one per drop reason. */
export function droppedConnectionCounters(metrics: LannerMetrics, server: HttpServerName): (reason: DropReason) => CounterChild {
  const children = new Map(DROP_REASONS.map((reason) => [reason, metrics.httpConnectionsDropped.labels(server, reason)]));
  return (reason) => children.get(reason)!;
}
