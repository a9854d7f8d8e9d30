/**
 * The one interface every responder implements, the request it is given and the verdict it
 * returns, and the descriptor that registers it. A responder never decides on its own whether
 * it may act: it asks the guardrails (`ctx.guard`) at each point where it learns something
 * about its target, and it sends no mutating request when `ctx.dryRun` is set.
 */
import type { Alert } from '../alerts/alert.js';
import type { Logger } from '../core/log.js';
import type { ActionsOptions } from './options.js';
import type { Guard } from './guardrails.js';
import type { KubeApi, PodInfo } from './kube.js';

/** What an action is aimed at: a pod, a node, a process on this node, or a system outside. */
export type TargetKind = 'pod' | 'node' | 'process' | 'external';

export interface ActionTarget {
  readonly kind: TargetKind;
  readonly namespace?: string;
  readonly pod?: string;
  /** The node the target runs on (or is, for a node target). */
  readonly node?: string;
  readonly pid?: number;
  readonly processName?: string;
}

/** Why an action was asked for: an alert's rule, a person (CLI or API), or a quarantine's TTL ending. */
export type Trigger = 'alert' | 'manual' | 'ttl';

export interface ActionRequest {
  readonly action: string;
  readonly target: ActionTarget;
  readonly trigger: Trigger;
  /** The alert behind an automatic action. */
  readonly alert?: Alert;
  /** A person's reason for a manual action. */
  readonly reason?: string;
  /** A quarantine's time to live, overriding the configured one. */
  readonly ttlMs?: number;
  /** Monotonic time (ms) the alert left the pipeline, for the alert-to-action latency. */
  readonly alertedAtMs?: number;
}

export type Outcome = 'executed' | 'dry_run' | 'refused' | 'failed';

/** Stable reasons for a refusal or a failure; users and tests match these, not the message. */
export type RefusalReason =
  | 'namespace_protected'
  | 'namespace_denied'
  | 'namespace_not_allowed'
  | 'pod_protected'
  | 'pod_elsewhere'
  | 'node_protected'
  | 'process_protected'
  | 'process_mismatch'
  | 'limit_node'
  | 'limit_kind'
  | 'limit_cluster'
  | 'cooldown'
  | 'duplicate'
  | 'no_target'
  | 'unknown_action'
  | 'disabled'
  | 'queue_full';

export type FailureReason = 'not_found' | 'forbidden' | 'conflict' | 'api_error' | 'unreachable' | 'no_kubernetes_api' | 'webhook_error' | 'signal_error';

export interface Verdict {
  readonly outcome: Outcome;
  readonly reason?: RefusalReason | FailureReason;
  /** One sentence a responder can read in an audit log or `kubectl describe`. */
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ResponderContext {
  readonly kube: KubeApi | undefined;
  readonly dryRun: boolean;
  readonly guard: Guard;
  readonly logger: Logger;
  /** The node this Lanner runs on. */
  readonly node: string;
  /** Wall clock, ms. */
  readonly now: () => number;
}

export interface Responder {
  readonly name: string;
  readonly targetKind: TargetKind;
  run(request: ActionRequest, ctx: ResponderContext): Promise<Verdict>;
  /** Releases what the responder holds open (the webhook's connections). */
  close?(): void;
}

/** One RBAC rule a responder needs, as a ClusterRole writes it. */
export interface PermissionRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** Self-description of a responder: how Lanner lists, documents, authorizes and builds it. */
export interface ResponderDescriptor {
  readonly name: string;
  readonly description: string;
  readonly targetKind: TargetKind;
  /** A YAML example of its `actions.<name>` block. */
  readonly example: string;
  /** The Kubernetes permissions it needs, for the ClusterRole. */
  readonly permissions: readonly PermissionRule[];
  /** What it needs beyond RBAC (hostPID, a capability), for the docs. */
  readonly requires?: string;
  enabled(options: ActionsOptions): boolean;
  create(options: ActionsOptions): Responder;
}

/** Refused, with a stable reason. */
export function refused(reason: RefusalReason, message: string): Verdict {
  return { outcome: 'refused', reason, message };
}

/**
 * The opening every pod responder shares. Without a Kubernetes API, dry run decides from the
 * alert alone and a live run fails; with one, the pod is read and the guardrails judge it.
 * `doing` completes "would ..." and "cannot ...", e.g. "delete pod shop/web-1".
 */
export async function admittedPod(
  request: ActionRequest,
  ctx: ResponderContext,
  doing: string,
  details?: Readonly<Record<string, unknown>>,
): Promise<{ readonly kube: KubeApi; readonly pod: PodInfo } | Verdict> {
  if (!ctx.kube) {
    if (ctx.dryRun) return { outcome: 'dry_run', message: `would ${doing} (pod not read: no Kubernetes API configured)`, ...(details ? { details } : {}) };
    return { outcome: 'failed', reason: 'no_kubernetes_api', message: `cannot ${doing}: no Kubernetes API configured` };
  }
  const pod = await ctx.kube.readPod({ namespace: request.target.namespace!, name: request.target.pod! });
  return ctx.guard.admitPod(pod, request, ctx.node) ?? { kube: ctx.kube, pod };
}
