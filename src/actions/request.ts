/**
 * The words the engine, the guardrails, the responders and the audit trail share: what an action
 * is aimed at and why it was asked for, the verdict it ends in, and what a responder may ask the
 * guardrails. Kept apart from both sides so that neither imports the other.
 */
import type { Alert } from '../alerts/alert.js';
import type { NodeInfo, PodInfo } from './kube-api.js';

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

/** Refused, with a stable reason. */
export function refused(reason: RefusalReason, message: string): Verdict {
  return { outcome: 'refused', reason, message };
}

/**
 * What a responder asks the guardrails once it has read its target, since a protect label or a
 * cluster-wide cap can only be judged from what the API says. Each answers undefined to go on,
 * or the refusal.
 */
export interface Guard {
  /** `node` is the node this Lanner runs on. */
  admitPod(pod: PodInfo, request: ActionRequest, node: string): Verdict | undefined;
  admitNode(node: NodeInfo): Verdict | undefined;
  /** Before quarantining one more pod, given how many are quarantined cluster-wide now. */
  admitQuarantineCount(quarantinedNow: number): Verdict | undefined;
  /** Before cordoning one more node, given how many are unschedulable cluster-wide now. */
  admitCordonCount(cordonedNow: number): Verdict | undefined;
}
