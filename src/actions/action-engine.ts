/**
 * From alerts to response decisions. An alert asks for actions by its rule's `actions:` (or
 * `actions.rules` in config for rules Lanner does not own); names are responders or profiles.
 * Every request, automatic or manual, goes through the same path: guardrails, the responder,
 * the audit trail. Decisions run one at a time off the pipeline (a slow API never delays
 * detection), in a bounded queue; what does not fit is refused and audited. A sweeper releases
 * quarantines on this node whose TTL has passed.
 */
import type { Alert } from '../alerts/alert.js';
import type { Logger } from '../core/log.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { Auditor, type Decision } from './audit.js';
import { Guardrails, describeTarget } from './guardrails.js';
import { KubeApiError, QUARANTINE_LABEL, type KubeApi, type PodInfo, type PodRef } from './kube-api.js';
import type { ActionsOptions } from './options.js';
import { QUARANTINE_ANNOTATIONS, QuarantineResponder } from './quarantine.js';
import { RESPONDERS, findResponder } from './registry.js';
import { refused, type ActionRequest, type ActionTarget, type FailureReason, type TargetKind, type Verdict } from './request.js';
import type { Responder, ResponderContext } from './responder.js';

export interface ActionEngineDeps {
  readonly logger: Logger;
  readonly metrics?: LannerMetrics;
  readonly kube: KubeApi | undefined;
  /** The node this Lanner runs on. */
  readonly node: string;
  readonly cluster?: string;
  /**
   * Where audit records and limit alerts go (the outputs). A service connects its own with
   * `sendRecordsTo` once it exists; until then records are logged and counted only.
   */
  readonly sink?: (alert: Alert) => void;
  /** Wall clock, ms; tests pass their own. */
  readonly now?: () => number;
}

/** One quarantined pod as `lanner quarantine list` shows it. */
export interface QuarantineEntry {
  readonly namespace: string;
  readonly pod: string;
  readonly node: string | null;
  readonly since: string | null;
  readonly until: string | null;
  readonly by: string | null;
  readonly rule: string | null;
  readonly alert: string | null;
  readonly reason: string | null;
  readonly expired: boolean;
}


export class ActionEngine {
  private readonly responders = new Map<string, Responder>();
  private readonly quarantine: QuarantineResponder;
  private readonly guard: Guardrails;
  private readonly auditor: Auditor;
  private readonly now: () => number;
  private sink: (alert: Alert) => void;
  private chain: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private sweeper: NodeJS.Timeout | undefined;
  /** When each limit last raised an ActionLimitReached alert, so a storm raises one per window. */
  private readonly limitAlerted = new Map<string, number>();
  /**
   * `actions.rules` and `actions.profiles` as Maps: they are looked up by an alert's rule name,
   * which a forged event chooses, and a plain object would answer `constructor` or `__proto__`
   * with Object.prototype's members.
   */
  private readonly byRule: ReadonlyMap<string, readonly string[]>;
  private readonly profiles: ReadonlyMap<string, readonly string[]>;

  constructor(
    private readonly options: ActionsOptions,
    private readonly deps: ActionEngineDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.guard = new Guardrails(options);
    this.sink = deps.sink ?? (() => {});
    this.byRule = ownEntries(options.rules);
    this.profiles = ownEntries(options.profiles);
    for (const d of RESPONDERS) if (d.enabled(options)) this.responders.set(d.name, d.create(options));
    // Series from the start, so a rate over the first decision is not lost to a missing zero.
    const actions = [...this.responders.keys(), 'release'];
    for (const name of actions) deps.metrics?.actionLatencySeconds.zero({ action: name });
    this.auditor = new Auditor({ ...deps, actions, sink: (record) => this.sink(record) });
    this.quarantine = (this.responders.get('quarantine') as QuarantineResponder | undefined) ?? new QuarantineResponder(options.quarantine);
  }

  /** Sends audit records and limit alerts to `sink` from now on. */
  sendRecordsTo(sink: (alert: Alert) => void): void {
    this.sink = sink;
  }

  get dryRun(): boolean {
    return this.options.dryRun;
  }

  /** The responder names an alert asks for, profiles expanded, in the registry's order. */
  actionsFor(alert: Alert): string[] {
    const asked = [...(alert.actions ?? []), ...(this.byRule.get(alert.rule) ?? [])];
    const names = new Set<string>();
    for (const name of asked) {
      const profile = this.profiles.get(name);
      for (const n of profile ?? [name]) names.add(n);
    }
    const rank = (n: string): number => {
      const i = RESPONDERS.findIndex((d) => d.name === n);
      return i < 0 ? -1 : i;
    };
    return [...names].sort((a, b) => rank(a) - rank(b));
  }

  /** Takes one alert off the pipeline; never blocks it and never throws. */
  handle(alert: Alert): void {
    // Summaries, limit alerts and audit records are about alerts already acted on.
    if (alert.summary_of !== undefined || alert.held_back !== undefined || alert.action !== undefined) return;
    const names = this.actionsFor(alert);
    if (names.length === 0) return;
    const alertedAtMs = performance.now();
    const requests = names.map((action) => this.requestFor(action, alert, alertedAtMs));
    if (this.pending >= this.options.queueSize) {
      for (const r of requests) {
        void this.auditor.record(r, refused('queue_full', `${this.pending} decisions are waiting; this one is dropped`), this.options.dryRun, this.now());
      }
      return;
    }
    this.pending++;
    this.enqueue(async () => {
      try {
        for (const r of requests) await this.decide(r, this.options.dryRun);
      } finally {
        this.pending--;
      }
    });
  }

  /** A person's request (CLI or API): same guardrails, their own dry-run choice. */
  perform(request: ActionRequest, dryRun: boolean): Promise<Decision> {
    return this.enqueue(() => this.decide(request, dryRun));
  }

  /** Ends a pod's quarantine now. */
  release(ref: PodRef, trigger: 'manual' | 'ttl', reason?: string): Promise<Decision> {
    return this.perform({ action: 'release', target: { kind: 'pod', namespace: ref.namespace, pod: ref.name }, trigger, ...(reason ? { reason } : {}) }, false);
  }

  /** Quarantined pods, cluster-wide or on one node. */
  async list(nodeName?: string): Promise<QuarantineEntry[]> {
    if (!this.deps.kube) throw new KubeApiError(0, 'NoKubernetesApi', 'no Kubernetes API configured');
    const now = this.now();
    return (await this.deps.kube.listQuarantinedPods(nodeName)).map((p) => entryOf(p, now));
  }

  /** Releases this node's quarantines whose TTL has passed; resolves with the decisions. */
  async sweep(): Promise<Decision[]> {
    if (!this.deps.kube) return [];
    let pods: PodInfo[];
    try {
      pods = await this.deps.kube.listQuarantinedPods(this.deps.node);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'cannot list quarantined pods for the TTL sweep');
      return [];
    }
    const now = this.now();
    const expired = pods.filter((p) => entryOf(p, now).expired);
    this.deps.metrics?.quarantinedPods.set(pods.length - expired.length);
    const out: Decision[] = [];
    for (const p of expired) out.push(await this.release({ namespace: p.namespace, name: p.name }, 'ttl'));
    return out;
  }

  start(): void {
    if (!this.deps.kube || this.sweeper) return;
    this.sweeper = setInterval(() => void this.sweep(), this.options.quarantine.sweepIntervalMs);
    this.sweeper.unref();
    void this.sweep();
  }

  /** Resolves once every decision queued so far is made. */
  async idle(): Promise<void> {
    let seen: Promise<unknown> | undefined;
    while (seen !== this.chain) {
      seen = this.chain;
      await seen;
    }
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await this.idle();
    for (const r of this.responders.values()) r.close?.();
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private requestFor(action: string, alert: Alert, alertedAtMs: number): ActionRequest {
    const kind: TargetKind = findResponder(action)?.targetKind ?? 'pod';
    return { action, target: targetOf(kind, alert, this.deps.node), trigger: 'alert', alert, alertedAtMs };
  }

  private async decide(request: ActionRequest, dryRun: boolean): Promise<Decision> {
    const at = this.now();
    const verdict = await this.verdictFor(request, dryRun, at);
    if (verdict.outcome !== 'refused') this.guard.charge(request, at);
    const decision = await this.auditor.record(request, verdict, dryRun, at);
    if (request.alertedAtMs !== undefined && verdict.outcome !== 'refused') {
      this.deps.metrics?.actionLatencySeconds.labels(request.action).observe((performance.now() - request.alertedAtMs) / 1000);
    }
    if (verdict.reason === 'limit_node' || verdict.reason === 'limit_kind' || verdict.reason === 'limit_cluster') this.limitReached(request, verdict, at);
    return decision;
  }

  private async verdictFor(request: ActionRequest, dryRun: boolean, at: number): Promise<Verdict> {
    const isRelease = request.action === 'release';
    const responder = isRelease ? this.quarantine : this.responders.get(request.action);
    if (!responder) {
      return findResponder(request.action)
        ? refused('disabled', `the ${request.action} responder is off (actions.${request.action}.enabled)`)
        : refused('unknown_action', `no responder or profile is named ${request.action}`);
    }
    const t = request.target;
    if ((t.kind === 'pod' && (!t.namespace || !t.pod)) || (t.kind === 'node' && !t.node)) {
      return refused('no_target', `the alert names no ${t.kind} to act on`);
    }
    const no = this.guard.admitRequest(request, at);
    if (no) return no;
    const ctx: ResponderContext = { kube: this.deps.kube, dryRun, guard: this.guard, logger: this.deps.logger, node: this.deps.node, now: this.now };
    try {
      return isRelease ? await this.quarantine.release(request, ctx) : await responder.run(request, ctx);
    } catch (err) {
      return failure(err, request);
    }
  }

  private limitReached(request: ActionRequest, verdict: Verdict, at: number): void {
    const key = `${verdict.reason}|${request.target.kind}|${verdict.reason === 'limit_node' ? request.target.node : ''}`;
    const last = this.limitAlerted.get(key);
    if (last !== undefined && at - last < this.options.limits.windowMs) return;
    this.limitAlerted.set(key, at);
    this.auditor.limitReached(request, verdict, at);
  }
}

/** A config mapping's own entries as a Map (Object.entries never reaches the prototype). */
function ownEntries(record: Readonly<Record<string, readonly string[]>>): ReadonlyMap<string, readonly string[]> {
  return new Map(Object.entries(record));
}

function targetOf(kind: TargetKind, alert: Alert, node: string): ActionTarget {
  const w = alert.workload;
  const onNode = alert.node ?? (alert.hostname || node);
  const pod = w.namespace && w.pod ? { namespace: w.namespace, pod: w.pod } : {};
  switch (kind) {
    case 'pod':
      return { kind, ...pod, node: onNode };
    case 'node':
      return { kind, node: onNode };
    case 'process':
      return {
        kind,
        ...pod,
        node: onNode,
        ...(alert.process.pid !== null ? { pid: alert.process.pid } : {}),
        ...(alert.process.name !== null ? { processName: alert.process.name } : {}),
      };
    case 'external':
      return { kind, ...pod, node: onNode };
  }
}

function failure(err: unknown, request: ActionRequest): Verdict {
  const what = `${request.action} on ${describeTarget(request.target)}`;
  if (err instanceof KubeApiError) {
    const reason: FailureReason =
      err.status === 404 ? 'not_found' : err.status === 403 ? 'forbidden' : err.status === 409 ? 'conflict' : err.status === 0 ? 'unreachable' : 'api_error';
    const hint = err.status === 403 ? ' (check the ClusterRole in deploy/kubernetes/rbac.yaml)' : '';
    return { outcome: 'failed', reason, message: `${what} failed: the Kubernetes API answered ${err.status || 'nothing'} ${err.reason}: ${err.message}${hint}` };
  }
  return { outcome: 'failed', reason: 'api_error', message: `${what} failed: ${(err as Error).message}` };
}

function entryOf(p: PodInfo, now: number): QuarantineEntry {
  const a = p.annotations;
  const until = a[QUARANTINE_ANNOTATIONS.until] ?? null;
  const untilMs = until ? Date.parse(until) : NaN;
  return {
    namespace: p.namespace,
    pod: p.name,
    node: p.nodeName,
    since: a[QUARANTINE_ANNOTATIONS.at] ?? null,
    until,
    by: a[QUARANTINE_ANNOTATIONS.by] ?? null,
    rule: a[QUARANTINE_ANNOTATIONS.rule] ?? null,
    alert: a[QUARANTINE_ANNOTATIONS.alert] ?? null,
    reason: a[QUARANTINE_ANNOTATIONS.reason] ?? null,
    // A quarantine without a readable end date was not made by Lanner's rules: leave it alone.
    expired: p.labels[QUARANTINE_LABEL] === 'true' && !Number.isNaN(untilMs) && untilMs <= now,
  };
}
