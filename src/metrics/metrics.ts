/**
 * Every metric Lanner exports, created once per registry so a test can run a whole service
 * with its own registry. Hot paths hold the label children they need instead of looking them
 * up per event.
 *
 * Naming follows Prometheus conventions: `lanner_` prefix, `_total` on counters, base units
 * (seconds) in the name. Labels have small, fixed value sets (transport, reason, priority,
 * status, output); `rule` and `source` come from event data, so each goes through one
 * LabelBound per registry (`labels.rule`, `labels.source`): the loaded rules' names and
 * sources always have their own series, a fixed number of others (Falco's own rule names)
 * theirs, and the rest one overflow value. Their children are resolved through the bounded
 * caches of event-labels.ts. Counters whose label values are known in advance start at 0, so
 * a `rate()` or `increase()` sees the first event after a start.
 * Nothing per node, pod, container, process or address: which node a series comes from is the
 * scrape target's `node` label (deploy/kubernetes, deploy/prometheus), not ours.
 * docs/operating.md says what each metric means to an operator; a test keeps it complete.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Transport } from '../core/event.js';
import { DROP_REASONS } from '../core/listen.js';
import { LabelBound } from './child-cache.js';
import { flushDeferred } from './deferred.js';

/** The bounds of the labels whose values come from event data, shared by every metric of a registry. */
export interface EventLabelBounds {
  /** Rule names: the loaded rules' (the rule engine makes them known at each load), then MAX_RULE_SERIES others. */
  readonly rule: LabelBound;
  /** Falco sources: syscall, k8s_audit and the loaded rules' sources, then MAX_OTHER_SOURCES others. */
  readonly source: LabelBound;
}

export interface LannerMetrics {
  readonly registry: Registry;
  readonly labels: EventLabelBounds;
  readonly eventsReceived: Counter<'transport' | 'source'>;
  readonly eventsInvalid: Counter<'reason'>;
  readonly eventsByType: Counter<'type'>;
  readonly eventsShed: Counter<'transport'>;
  readonly ingestQueueDepth: Gauge;
  readonly falcoConnected: Gauge;
  readonly falcoReconnects: Counter;
  readonly alerts: Counter<'rule' | 'priority' | 'family'>;
  readonly httpIngestRequests: Counter<'status'>;
  readonly httpConnectionsDropped: Counter<'server' | 'reason'>;
  readonly detectionErrors: Counter<'stage'>;
  readonly outputSent: Counter<'output'>;
  readonly outputFailures: Counter<'output' | 'reason'>;
  readonly outputDropped: Counter<'output' | 'reason'>;
  readonly outputQueueDepth: Gauge<'output'>;
  readonly outputLatencySeconds: Histogram<'output'>;
  readonly outputTruncated: Counter<'output'>;
  readonly ruleMatches: Counter<'rule'>;
  readonly alertsFolded: Counter<'rule'>;
  readonly alertsRateLimited: Counter<'rule'>;
  readonly alertsSuppressed: Counter<'rule' | 'suppression'>;
  readonly stateKeys: Gauge<'rule'>;
  readonly stateEvictions: Counter<'rule'>;
  readonly rulesLoaded: Gauge;
  readonly ruleReloads: Counter;
  readonly ruleReloadFailures: Counter;
  /** 1 when the last rule reload was applied (or none was tried yet), 0 after a refused one. */
  readonly rulesLastReloadSuccessful: Gauge;
  /** Unix time (s) the rules now in force were loaded. */
  readonly rulesLastReloadSuccessTimestampSeconds: Gauge;
  readonly ingestToAlertSeconds: Histogram;
  readonly eventToAlertSeconds: Histogram;
  readonly actions: Counter<'action' | 'outcome'>;
  readonly actionLatencySeconds: Histogram<'action'>;
  readonly quarantinedPods: Gauge;
  readonly buildInfo: Gauge<'version' | 'node_version'>;
}

/**
 * Rule names beyond the loaded rules (those of Falco's own alerts) that get series of their
 * own, in the order they are first seen; later names share the overflow value. Far above
 * Falco's rule files (a few hundred rules together), yet a sender posting alerts under
 * made-up rule names cannot add series without end.
 */
export const MAX_RULE_SERIES = 1000;

/**
 * Falco sources beyond the known ones that get series of their own: Falco has syscall,
 * k8s_audit and one per plug-in, but an HTTP sender chooses `source` freely.
 */
export const MAX_OTHER_SOURCES = 64;

/** Falco's own sources, known before any rule is loaded. */
const FALCO_SOURCES = ['syscall', 'k8s_audit'];

/** Every transport, checked against the type so a new one cannot be left out. */
export const TRANSPORTS: readonly Transport[] = Object.keys({ grpc: true, http: true, file: true } satisfies Record<Transport, true>) as Transport[];

/** Lanner's HTTP servers, each holding its clients to connection limits (core/listen.ts). */
export const HTTP_SERVERS = ['ingest', 'ops'] as const;
export type HttpServerName = (typeof HTTP_SERVERS)[number];

/**
 * The stages an event or alert passes through on its way to the outputs; an error thrown in
 * one while handling one event is counted under its name, and the stage goes on.
 */
export const DETECTION_STAGES = ['falco_alerts', 'rules', 'lifecycle', 'outputs'] as const;
export type DetectionStage = (typeof DETECTION_STAGES)[number];

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop); off in unit tests that only read our own. */
  readonly processMetrics?: boolean;
  readonly version?: string;
}

/** The collect hook of a metric counted through deferred children (deferred.ts). */
function flushOnCollect(this: Counter<string> | Gauge<string>): void {
  flushDeferred(this);
}

export function createMetrics(options: MetricsOptions = {}): LannerMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // prom-client exports these three gauges with a `_total` suffix, which Prometheus reserves
    // for counters (`promtool check metrics` refuses them). Their per-type siblings without
    // the suffix (nodejs_active_handles{type} ...) carry the same numbers; sum() gives the total.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      registry.removeSingleMetric(name);
    }
  }
  const registers = [registry];
  const labels: EventLabelBounds = { rule: new LabelBound(MAX_RULE_SERIES), source: new LabelBound(MAX_OTHER_SOURCES) };
  labels.source.know(FALCO_SOURCES);
  const metrics: LannerMetrics = {
    registry,
    labels,
    eventsReceived: new Counter({
      name: 'lanner_events_received_total',
      help: 'Falco events received and queued for detection, by transport (grpc, http, file) and Falco source.',
      labelNames: ['transport', 'source'],
      registers,
      collect: flushOnCollect,
    }),
    eventsByType: new Counter({
      name: 'lanner_events_by_type_total',
      help: 'Events received and queued for detection, by evt.type: the syscalls Lanner knows by name, other for the rest, none without a type.',
      labelNames: ['type'],
      registers,
      collect: flushOnCollect,
    }),
    eventsInvalid: new Counter({
      name: 'lanner_events_invalid_total',
      help: 'Events refused because they failed validation (bad JSON, missing or malformed fields), by reason.',
      labelNames: ['reason'],
      registers,
    }),
    eventsShed: new Counter({
      name: 'lanner_events_shed_total',
      help: 'Valid events dropped unread because the ingest queue was full (detection fell behind), by transport.',
      labelNames: ['transport'],
      registers,
    }),
    ingestQueueDepth: new Gauge({
      name: 'lanner_ingest_queue_depth',
      help: 'Events waiting in the ingest queue for detection.',
      registers,
    }),
    falcoConnected: new Gauge({
      name: 'lanner_falco_connected',
      help: '1 while the gRPC stream to Falco is up, 0 otherwise (also 0 when Lanner only takes Falco http_output, which has no connection to watch).',
      registers,
    }),
    falcoReconnects: new Counter({
      name: 'lanner_falco_reconnects_total',
      help: 'Reconnection attempts to Falco gRPC after a stream ended or a connection failed.',
      registers,
    }),
    alerts: new Counter({
      name: 'lanner_alerts_total',
      help: 'Alerts emitted to the outputs, by rule and Falco priority; family is the detection family (shell_spawn ... drift), falco for Falco\'s own alerts, other for rules without one.',
      labelNames: ['rule', 'priority', 'family'],
      registers,
      collect: flushOnCollect,
    }),
    httpIngestRequests: new Counter({
      name: 'lanner_http_ingest_requests_total',
      help: 'Requests to the HTTP ingest endpoint, by response status code.',
      labelNames: ['status'],
      registers,
    }),
    httpConnectionsDropped: new Counter({
      name: 'lanner_http_connections_dropped_total',
      help: 'Connections closed without an HTTP answer, by server (ingest, ops) and reason (header_timeout, body_timeout, connection_limit, evicted, tls_handshake).',
      labelNames: ['server', 'reason'],
      registers,
    }),
    detectionErrors: new Counter({
      name: 'lanner_detection_errors_total',
      help: 'Events (or alerts) whose handling threw inside a stage (falco_alerts, rules, lifecycle, outputs); the stage skipped that one and went on.',
      labelNames: ['stage'],
      registers,
    }),
    outputSent: new Counter({
      name: 'lanner_output_sent_total',
      help: 'Alerts delivered to the sink, by output.',
      labelNames: ['output'],
      registers,
    }),
    outputFailures: new Counter({
      name: 'lanner_output_failures_total',
      help: 'Failed delivery attempts (a retried alert counts once per attempt), by output and reason.',
      labelNames: ['output', 'reason'],
      registers,
    }),
    outputDropped: new Counter({
      name: 'lanner_output_dropped_total',
      help: 'Alerts an output gave up on and lost (queue full, retries exhausted), by output and reason.',
      labelNames: ['output', 'reason'],
      registers,
    }),
    outputQueueDepth: new Gauge({
      name: 'lanner_output_queue_depth',
      help: 'Alerts waiting in an output queue, by output.',
      labelNames: ['output'],
      registers,
    }),
    outputLatencySeconds: new Histogram({
      name: 'lanner_output_latency_seconds',
      help: 'Time from an alert entering an output queue to its delivery, by output.',
      labelNames: ['output'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    outputTruncated: new Counter({
      name: 'lanner_output_truncated_total',
      help: 'Records an output cut to fit its transport (a UDP syslog message beyond max_message_size), by output; sent, never dropped.',
      labelNames: ['output'],
      registers,
    }),
    ruleMatches: new Counter({
      name: 'lanner_rule_matches_total',
      help: 'Events matched by a rule (or a step of a stateful rule), by rule.',
      labelNames: ['rule'],
      registers,
      collect: flushOnCollect,
    }),
    alertsFolded: new Counter({
      name: 'lanner_alerts_folded_total',
      help: 'Repeat alerts folded into an earlier alert by deduplication, by rule.',
      labelNames: ['rule'],
      registers,
    }),
    alertsRateLimited: new Counter({
      name: 'lanner_alerts_rate_limited_total',
      help: 'Alerts held back by a global or per-rule rate limit, by rule.',
      labelNames: ['rule'],
      registers,
    }),
    alertsSuppressed: new Counter({
      name: 'lanner_alerts_suppressed_total',
      help: 'Alerts dropped by a configured suppression (known-benign noise), by rule and suppression name.',
      labelNames: ['rule', 'suppression'],
      registers,
    }),
    stateKeys: new Gauge({
      name: 'lanner_state_keys',
      help: 'Live keys held by stateful rules (sequences, thresholds, baselines), by rule.',
      labelNames: ['rule'],
      registers,
      collect: flushOnCollect,
    }),
    stateEvictions: new Counter({
      name: 'lanner_state_evictions_total',
      help: 'Keys evicted from stateful rules by TTL or the key limit, by rule.',
      labelNames: ['rule'],
      registers,
      collect: flushOnCollect,
    }),
    rulesLoaded: new Gauge({
      name: 'lanner_rules_loaded',
      help: 'Rules in force.',
      registers,
    }),
    ruleReloads: new Counter({
      // `rules_` like lanner_rules_loaded and lanner_rules_last_reload_successful: a reload is of the rule set.
      name: 'lanner_rules_reloads_total',
      help: 'Rule reloads that were applied.',
      registers,
    }),
    ruleReloadFailures: new Counter({
      name: 'lanner_rules_reload_failures_total',
      help: 'Rule reloads refused because the new rules had errors; the previous rules stay in force.',
      registers,
    }),
    // The pair Prometheus itself exports for its config (prometheus_config_last_reload_*): a
    // failures counter alone cannot tell whether a later reload has fixed things.
    rulesLastReloadSuccessful: new Gauge({
      name: 'lanner_rules_last_reload_successful',
      help: '1 if the last rule reload was applied (or none was tried), 0 if it was refused and older rules are still in force.',
      registers,
    }),
    rulesLastReloadSuccessTimestampSeconds: new Gauge({
      name: 'lanner_rules_last_reload_success_timestamp_seconds',
      help: 'Unix time the rules now in force were loaded.',
      registers,
    }),
    ingestToAlertSeconds: new Histogram({
      name: 'lanner_ingest_to_alert_seconds',
      help: 'Time from an event entering Lanner to the alert it caused leaving the pipeline (queueing plus detection).',
      // Sub-millisecond when idle; the top buckets catch a backlogged ingest queue.
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    eventToAlertSeconds: new Histogram({
      name: 'lanner_event_to_alert_seconds',
      help: 'Detection delay: from the time Falco recorded the event that raised an alert to the alert leaving the pipeline.',
      // Falco buffers its outputs, so seconds are normal; the alert rule's threshold (10 s) and
      // the minutes of a stalled transport both need bucket edges near them.
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300],
      registers,
    }),
    actions: new Counter({
      name: 'lanner_actions_total',
      help: 'Response decisions by responder and outcome (executed, dry_run, refused, failed).',
      labelNames: ['action', 'outcome'],
      registers,
    }),
    actionLatencySeconds: new Histogram({
      name: 'lanner_action_latency_seconds',
      help: 'Time from an alert leaving the pipeline to the response action it asked for being decided and carried out.',
      labelNames: ['action'],
      // Kubernetes API round trips: tens of milliseconds; a queue of decisions or a slow API: seconds.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    quarantinedPods: new Gauge({
      name: 'lanner_quarantined_pods',
      help: 'Pods on this node labelled lanner.dev/quarantine=true, as of the last TTL sweep.',
      registers,
    }),
    buildInfo: new Gauge({
      name: 'lanner_build_info',
      help: 'Always 1; labels carry the Lanner and Node.js versions.',
      labelNames: ['version', 'node_version'],
      registers,
    }),
  };
  metrics.buildInfo.labels(options.version ?? 'dev', process.version).set(1);
  metrics.falcoConnected.set(0);
  // The shipped EventsShed alert takes increase() over these: a series must exist before the first shed event.
  for (const transport of TRANSPORTS) metrics.eventsShed.inc({ transport }, 0);
  for (const server of HTTP_SERVERS) for (const reason of DROP_REASONS) metrics.httpConnectionsDropped.inc({ server, reason }, 0);
  for (const stage of DETECTION_STAGES) metrics.detectionErrors.inc({ stage }, 0);
  // The rules are loaded before the service starts, and a failed first load stops it, so a
  // running Lanner starts with a successful load; the reloader updates both from then on.
  metrics.rulesLastReloadSuccessful.set(1);
  metrics.rulesLastReloadSuccessTimestampSeconds.setToCurrentTime();
  return metrics;
}
