/**
 * What Lanner asks of the Kubernetes API: the calls, the error they throw and the labels Lanner
 * writes, without the client. Responders, guardrails and the engine depend on this module alone,
 * so importing a responder (as validating a config does) never loads @kubernetes/client-node;
 * the implementation over client-node is in kube.ts.
 */
import type { V1NetworkPolicy } from '@kubernetes/client-node';

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

export interface PodInfo extends PodRef {
  readonly uid: string;
  readonly nodeName: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface NodeInfo {
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly unschedulable: boolean;
}

export interface PolicyInfo {
  readonly annotations: Readonly<Record<string, string>>;
}

/** A label or annotation value to set, or null to remove the key (strategic merge patch). */
export type MetadataPatch = Readonly<Record<string, string | null>>;

/** What a Kubernetes Event says; the involved object is named by the caller. */
export interface EventSpec {
  readonly involved: { readonly kind: 'Pod' | 'Node'; readonly namespace: string; readonly name: string; readonly uid?: string };
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  /** The node Lanner runs on, as the event's source host and reporting instance. */
  readonly host: string;
}

export interface KubeApi {
  readPod(ref: PodRef): Promise<PodInfo>;
  /** Pods labelled quarantined, cluster-wide or on one node. */
  listQuarantinedPods(nodeName?: string): Promise<PodInfo[]>;
  /** One strategic merge patch of the pod's labels and annotations. */
  patchPodMetadata(ref: PodRef, labels: MetadataPatch, annotations: MetadataPatch): Promise<void>;
  deletePod(ref: PodRef, gracePeriodSeconds: number): Promise<void>;
  /** Null when the policy does not exist. */
  readNetworkPolicy(namespace: string, name: string): Promise<PolicyInfo | null>;
  createNetworkPolicy(namespace: string, policy: V1NetworkPolicy): Promise<void>;
  /** JSON merge patch: lists in the patch replace the policy's lists whole. */
  patchNetworkPolicy(namespace: string, name: string, patch: object): Promise<void>;
  createEvent(event: EventSpec): Promise<void>;
  readNode(name: string): Promise<NodeInfo>;
  countUnschedulableNodes(): Promise<number>;
  setNodeUnschedulable(name: string, unschedulable: boolean): Promise<void>;
}

/** A refused or failed API call: `status` is the HTTP status (0 when the API was unreachable). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    /** The Status object's reason (NotFound, Forbidden, AlreadyExists, ...) or Unreachable. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const QUARANTINE_LABEL = 'lanner.dev/quarantine';
export const PROTECT_LABEL = 'lanner.dev/protect';
