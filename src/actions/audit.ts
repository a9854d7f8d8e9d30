/**
 * The audit trail: every decision (executed, dry run, refused and why, failed and why) is
 * logged, counted in lanner_actions_total{action,outcome}, sent to the outputs as an audit
 * record, and, when Lanner may write to the target's namespace and is not in dry run, recorded
 * as a Kubernetes Event on the pod or node.
 */
import { derivedId, type ActionRecord, type Alert } from '../alerts/alert.js';
import type { Priority } from '../core/event.js';
import type { Logger } from '../core/log.js';
import type { ChildCache } from '../metrics/child-cache.js';
import { actionCounters, type CounterChild } from '../metrics/event-labels.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { describeTarget, targetKey } from './guardrails.js';
import type { KubeApi } from './kube-api.js';
import type { ActionRequest, Verdict } from './request.js';

export const AUDIT_RULE = 'Lanner response action';
export const AUDIT_TAG = 'lanner_audit';
/** Raised when a guardrail's limit holds response actions back. */
export const LIMIT_RULE = 'ActionLimitReached';

/** A decision as the engine hands it back: the audit record and the request it answers. */
export interface Decision {
  readonly id: string;
  readonly request: ActionRequest;
  readonly verdict: Verdict;
  readonly dryRun: boolean;
  /** Wall clock (ms) the decision was made. */
  readonly at: number;
  readonly record: ActionRecord;
}

const PRIORITY: Record<Verdict['outcome'], Priority> = {
  dry_run: 'Informational',
  executed: 'Notice',
  refused: 'Warning',
  failed: 'Error',
};

/** Refusals that say nothing new about the target: no Kubernetes Event for them. */
const QUIET_REFUSALS = new Set(['duplicate', 'namespace_protected', 'namespace_denied', 'namespace_not_allowed', 'pod_protected', 'pod_elsewhere', 'node_protected', 'no_target', 'unknown_action', 'disabled']);

export interface AuditorDeps {
  readonly logger: Logger;
  readonly metrics?: LannerMetrics;
  readonly kube: KubeApi | undefined;
  readonly node: string;
  readonly cluster?: string;
  /** Where audit records go: the outputs, past dedup and rate limits (an audit trail is whole). */
  readonly sink: (record: Alert) => void;
  /** Actions whose every outcome is counted from 0 at start (the enabled responders and release). */
  readonly actions?: readonly string[];
}

/** Responders come from the config and outcomes are four; the bound only makes that explicit. */
const MAX_ACTION_SERIES = 64;

export class Auditor {
  private readonly counters: ChildCache<[action: string, outcome: string], CounterChild> | undefined;

  constructor(private readonly deps: AuditorDeps) {
    const metrics = deps.metrics;
    this.counters = metrics && actionCounters(metrics, deps.actions ?? [], MAX_ACTION_SERIES);
  }

  /** Builds the record for one decision and sends it everywhere it goes. */
  async record(request: ActionRequest, verdict: Verdict, dryRun: boolean, at: number): Promise<Decision> {
    const t = request.target;
    const alert = request.alert;
    const record: ActionRecord = {
      name: request.action,
      outcome: verdict.outcome,
      reason: verdict.reason ?? null,
      trigger: request.trigger,
      dry_run: dryRun,
      target: { kind: t.kind, namespace: t.namespace ?? null, pod: t.pod ?? null, node: t.node ?? null, pid: t.pid ?? null },
      alert_id: alert?.id ?? null,
      alert_rule: alert?.rule ?? null,
      ...(verdict.details ? { details: verdict.details } : {}),
    };
    const decision: Decision = { id: decisionId(request, verdict, at), request, verdict, dryRun, at, record };
    this.log(decision);
    this.count(request.action, verdict.outcome);
    this.deps.sink(this.auditAlert(decision));
    await this.kubeEvent(decision);
    return decision;
  }

  private log(d: Decision): void {
    const fields = {
      decision: d.id,
      action: d.record.name,
      outcome: d.record.outcome,
      reason: d.record.reason,
      target: describeTarget(d.request.target),
      trigger: d.record.trigger,
      alert: d.record.alert_id,
      rule: d.record.alert_rule,
    };
    // A repeat held by the cooldown is the guardrails working as meant, not news for the log.
    const routine = d.verdict.reason === 'cooldown' || d.verdict.reason === 'duplicate';
    const level = d.verdict.outcome === 'failed' ? 'error' : d.verdict.outcome === 'refused' && !routine ? 'warn' : 'info';
    this.deps.logger[level](fields, `response ${d.record.outcome}: ${d.verdict.message}`);
  }

  private count(action: string, outcome: string): void {
    this.counters?.get(action, outcome).inc();
  }

  private auditAlert(d: Decision): Alert {
    const alert = d.request.alert;
    const outcome = d.record.outcome === 'dry_run' ? 'dry run' : d.record.outcome;
    const because = d.record.reason ? ` [${d.record.reason}]` : '';
    const about = alert ? ` (alert ${alert.id}: ${alert.rule})` : d.request.reason ? ` (reason: ${d.request.reason})` : '';
    const priority = d.verdict.reason === 'cooldown' || d.verdict.reason === 'duplicate' ? 'Informational' : PRIORITY[d.verdict.outcome];
    return { ...this.lannerAlert(d.id, d.request, d.at, AUDIT_RULE, priority, `${d.record.name} ${outcome}${because}: ${d.verdict.message}${about}`), action: d.record };
  }

  /** Tells the outputs that a limit held an action back: once per limit per window (the engine decides when). */
  limitReached(request: ActionRequest, verdict: Verdict, at: number): void {
    const alert = request.alert;
    const output =
      `Response actions are being refused: ${verdict.message}. ${request.action} on ${describeTarget(request.target)} was not carried out` +
      `${alert ? ` for alert ${alert.id} (${alert.rule})` : ''}; a person must decide.`;
    const id = derivedId('action-limit', [verdict.reason, ...requestIdentity(request), at]);
    this.deps.sink(this.lannerAlert(id, request, at, LIMIT_RULE, 'Error', output));
  }

  /**
   * An alert of Lanner's own about a request: on the workload and process of the alert behind it,
   * or of its target. It carries no evidence: the alert it points to went out with its own.
   */
  private lannerAlert(id: string, request: ActionRequest, at: number, rule: string, priority: Priority, output: string): Alert {
    const t = request.target;
    const alert = request.alert;
    return {
      id,
      timeNs: BigInt(at) * 1_000_000n,
      rule,
      priority,
      source: 'lanner',
      hostname: this.deps.node,
      output,
      tags: [AUDIT_TAG],
      origin: 'lanner',
      workload: alert?.workload ?? { namespace: t.namespace ?? null, pod: t.pod ?? null, container_id: null, container_name: null, image: null },
      process: alert?.process ?? { pid: t.pid ?? null, name: t.processName ?? null, cmdline: null, parent: null, user: null, uid: null },
      evidence: [],
      count: 1,
      node: this.deps.node,
      ...(this.deps.cluster ? { cluster: this.deps.cluster } : {}),
    };
  }

  /** An Event on the target; a failure here is logged and leaves the decision as it was. */
  private async kubeEvent(d: Decision): Promise<void> {
    const kube = this.deps.kube;
    const t = d.request.target;
    const v = d.verdict;
    if (!kube || d.dryRun || v.outcome === 'dry_run') return;
    if (v.outcome === 'refused' && QUIET_REFUSALS.has(v.reason ?? '')) return;
    // The event responder's Event is the record; a second one would say the same.
    if (d.record.name === 'event' && v.outcome === 'executed') return;
    const involved =
      (t.kind === 'pod' || t.kind === 'external' || t.kind === 'process') && t.namespace && t.pod
        ? { kind: 'Pod' as const, namespace: t.namespace, name: t.pod }
        : t.node
          ? { kind: 'Node' as const, namespace: '', name: t.node }
          : undefined;
    if (!involved) return;
    const reason = v.outcome === 'executed' ? `Lanner${pascal(d.record.name)}` : v.outcome === 'refused' ? 'LannerActionRefused' : 'LannerActionFailed';
    try {
      await kube.createEvent({
        involved,
        type: v.outcome === 'executed' && d.record.name === 'release' ? 'Normal' : 'Warning',
        reason,
        message: `${v.message}${d.request.alert ? ` (lanner alert ${d.request.alert.id}: ${d.request.alert.rule})` : ''}`,
        host: this.deps.node,
      });
    } catch (err) {
      this.deps.logger.warn({ decision: d.id, err: (err as Error).message }, 'could not record the decision as a Kubernetes Event');
    }
  }
}

/** What a request is about: the action, its target and trigger, and the alert behind it. */
function requestIdentity(request: ActionRequest): string[] {
  return [request.trigger, targetKey(request.action, request.target), request.alert?.id ?? ''];
}

/**
 * A decision's id, from what it decided about what. An automatic decision is identified by its
 * alert (whose id is derived from the events), so deciding the same alert again gives the same
 * id; a person's or a TTL's decision has no alert, and its time tells it apart.
 */
function decisionId(request: ActionRequest, verdict: Verdict, at: number): string {
  return derivedId('decision', [...requestIdentity(request), request.alert ? null : at, request.reason, verdict.outcome, verdict.reason]);
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

