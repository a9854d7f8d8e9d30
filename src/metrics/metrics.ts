/**
 * Every metric Lanner exports, created once per registry so a test can run a whole service
 * with its own registry. Hot paths hold the label children they need instead of looking them
 * up per event.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface LannerMetrics {
  readonly registry: Registry;
  readonly eventsReceived: Counter<'transport' | 'source'>;
  readonly eventsInvalid: Counter<'reason'>;
  readonly eventsShed: Counter<'transport'>;
  readonly ingestQueueDepth: Gauge;
  readonly falcoConnected: Gauge;
  readonly falcoReconnects: Counter;
  readonly alerts: Counter<'rule' | 'priority'>;
  readonly httpIngestRequests: Counter<'status'>;
  readonly outputSent: Counter<'output'>;
  readonly outputFailures: Counter<'output' | 'reason'>;
  readonly outputDropped: Counter<'output' | 'reason'>;
  readonly outputQueueDepth: Gauge<'output'>;
  readonly outputLatencySeconds: Histogram<'output'>;
  readonly ruleMatches: Counter<'rule'>;
  readonly alertsFolded: Counter<'rule'>;
  readonly alertsRateLimited: Counter<'rule'>;
  readonly stateKeys: Gauge<'rule'>;
  readonly stateEvictions: Counter<'rule'>;
  readonly rulesLoaded: Gauge;
  readonly ruleReloads: Counter;
  readonly ruleReloadFailures: Counter;
  readonly ingestToAlertSeconds: Histogram;
  readonly eventToAlertSeconds: Histogram;
  readonly buildInfo: Gauge<'version' | 'node_version'>;
}

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop); off in unit tests that only read our own. */
  readonly processMetrics?: boolean;
  readonly version?: string;
}

export function createMetrics(options: MetricsOptions = {}): LannerMetrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const metrics: LannerMetrics = {
    registry,
    eventsReceived: new Counter({
      name: 'lanner_events_received_total',
      help: 'Falco events received and accepted, by transport and Falco source.',
      labelNames: ['transport', 'source'],
      registers,
    }),
    eventsInvalid: new Counter({
      name: 'lanner_events_invalid_total',
      help: 'Events refused because they failed validation, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    eventsShed: new Counter({
      name: 'lanner_events_shed_total',
      help: 'Valid events dropped because the ingest queue was full, by transport.',
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
      help: '1 while the gRPC stream to Falco is up, 0 otherwise.',
      registers,
    }),
    falcoReconnects: new Counter({
      name: 'lanner_falco_reconnects_total',
      help: 'Reconnection attempts to Falco after a stream ended or failed.',
      registers,
    }),
    alerts: new Counter({
      name: 'lanner_alerts_total',
      help: 'Alerts emitted, by rule and priority.',
      labelNames: ['rule', 'priority'],
      registers,
    }),
    httpIngestRequests: new Counter({
      name: 'lanner_http_ingest_requests_total',
      help: 'Requests to the HTTP ingest endpoint, by response status code.',
      labelNames: ['status'],
      registers,
    }),
    outputSent: new Counter({
      name: 'lanner_output_sent_total',
      help: 'Alerts delivered, by output.',
      labelNames: ['output'],
      registers,
    }),
    outputFailures: new Counter({
      name: 'lanner_output_failures_total',
      help: 'Failed delivery attempts, by output and reason.',
      labelNames: ['output', 'reason'],
      registers,
    }),
    outputDropped: new Counter({
      name: 'lanner_output_dropped_total',
      help: 'Alerts an output gave up on, by output and reason.',
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
    ruleMatches: new Counter({
      name: 'lanner_rule_matches_total',
      help: 'Events matched by a rule (or a step of a stateful rule), by rule.',
      labelNames: ['rule'],
      registers,
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
    stateKeys: new Gauge({
      name: 'lanner_state_keys',
      help: 'Live keys held by stateful rules (sequences, thresholds, baselines), by rule.',
      labelNames: ['rule'],
      registers,
    }),
    stateEvictions: new Counter({
      name: 'lanner_state_evictions_total',
      help: 'Keys evicted from stateful rules by TTL or the key limit, by rule.',
      labelNames: ['rule'],
      registers,
    }),
    rulesLoaded: new Gauge({
      name: 'lanner_rules_loaded',
      help: 'Rules in force.',
      registers,
    }),
    ruleReloads: new Counter({
      name: 'lanner_rules_reloads_total',
      help: 'Rule reloads that were applied.',
      registers,
    }),
    ruleReloadFailures: new Counter({
      name: 'lanner_rules_reload_failures_total',
      help: 'Rule reloads refused because the new rules had errors; the previous rules stay in force.',
      registers,
    }),
    ingestToAlertSeconds: new Histogram({
      name: 'lanner_ingest_to_alert_seconds',
      help: 'Time from an event entering Lanner to the alert it caused leaving the pipeline.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    eventToAlertSeconds: new Histogram({
      name: 'lanner_event_to_alert_seconds',
      help: 'Detection delay: from the event time Falco recorded to the alert leaving the pipeline.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
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
  return metrics;
}
