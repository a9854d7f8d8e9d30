/**
 * The Kubernetes calls Lanner's responders make, and nothing else: a narrow wrapper over
 * @kubernetes/client-node so the exact REST requests are few, named and tested, and so every
 * failure arrives as one KubeApiError with the API's own status and reason.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1NetworkPolicy,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { LannerError } from '../core/errors.js';
import { KubeApiError, QUARANTINE_LABEL, type EventSpec, type KubeApi, type MetadataPatch, type NodeInfo, type PodInfo, type PodRef, type PolicyInfo } from './kube-api.js';

// Callers that build the client also speak its types: one import serves them.
export * from './kube-api.js';

export interface KubeConnectOptions {
  /** A kubeconfig file; empty: in-cluster when running in a pod, else $KUBECONFIG, else (with `home`) ~/.kube/config. */
  readonly kubeconfig: string;
  /** Fall back to ~/.kube/config as kubectl does: for the CLI, not the service. */
  readonly home?: boolean;
}

/**
 * Loads credentials the way kubectl and in-cluster clients do. Undefined when there is nothing
 * to load (a Linux host outside Kubernetes): responders then decide without the API.
 */
export function loadKubeConfig(options: KubeConnectOptions, env: NodeJS.ProcessEnv = process.env): KubeConfig | undefined {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig !== '') {
      kc.loadFromFile(options.kubeconfig);
    } else if (env['KUBERNETES_SERVICE_HOST']) {
      kc.loadFromCluster();
    } else if (env['KUBECONFIG'] || (options.home === true && existsSync(join(homedir(), '.kube', 'config')))) {
      kc.loadFromDefault();
    } else {
      return undefined;
    }
  } catch (err) {
    throw new LannerError('LANNER_KUBE_CONFIG', `cannot load Kubernetes credentials${options.kubeconfig ? ` from ${options.kubeconfig}` : ''}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new LannerError('LANNER_KUBE_CONFIG', 'the kubeconfig names no current cluster');
  return kc;
}

const STRATEGIC = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** KubeApi over @kubernetes/client-node. */
export class ClientNodeKubeApi implements KubeApi {
  private readonly core: CoreV1Api;
  private readonly net: NetworkingV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.net = kc.makeApiClient(NetworkingV1Api);
  }

  async readPod(ref: PodRef): Promise<PodInfo> {
    return podInfo(await call(() => this.core.readNamespacedPod({ name: ref.name, namespace: ref.namespace })));
  }

  async listQuarantinedPods(nodeName?: string): Promise<PodInfo[]> {
    const list = await call(() =>
      this.core.listPodForAllNamespaces({
        labelSelector: `${QUARANTINE_LABEL}=true`,
        ...(nodeName ? { fieldSelector: `spec.nodeName=${nodeName}` } : {}),
      }),
    );
    return list.items.map(podInfo);
  }

  async patchPodMetadata(ref: PodRef, labels: MetadataPatch, annotations: MetadataPatch): Promise<void> {
    const body = { metadata: { labels, annotations } };
    await call(() => this.core.patchNamespacedPod({ name: ref.name, namespace: ref.namespace, body }, STRATEGIC));
  }

  async deletePod(ref: PodRef, gracePeriodSeconds: number): Promise<void> {
    await call(() => this.core.deleteNamespacedPod({ name: ref.name, namespace: ref.namespace, gracePeriodSeconds }));
  }

  async readNetworkPolicy(namespace: string, name: string): Promise<PolicyInfo | null> {
    try {
      const p = await call(() => this.net.readNamespacedNetworkPolicy({ name, namespace }));
      return { annotations: p.metadata?.annotations ?? {} };
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return null;
      throw err;
    }
  }

  async createNetworkPolicy(namespace: string, policy: V1NetworkPolicy): Promise<void> {
    await call(() => this.net.createNamespacedNetworkPolicy({ namespace, body: policy }));
  }

  async patchNetworkPolicy(namespace: string, name: string, patch: object): Promise<void> {
    await call(() => this.net.patchNamespacedNetworkPolicy({ name, namespace, body: patch }, MERGE));
  }

  async createEvent(e: EventSpec): Promise<void> {
    const now = new Date();
    // Node events live in "default", as the kubelet's do; kubectl describe finds them there.
    const namespace = e.involved.kind === 'Node' ? 'default' : e.involved.namespace;
    const body: CoreV1Event = {
      metadata: { generateName: `${e.involved.name}.lanner-`, namespace },
      involvedObject: {
        kind: e.involved.kind,
        apiVersion: 'v1',
        name: e.involved.name,
        ...(e.involved.kind === 'Pod' ? { namespace: e.involved.namespace } : {}),
        ...(e.involved.uid ? { uid: e.involved.uid } : {}),
      },
      type: e.type,
      reason: e.reason,
      // An Event is a pointer for `kubectl describe`; the alert itself carries the full text.
      message: e.message.length > 1024 ? `${e.message.slice(0, 1021)}...` : e.message,
      source: { component: 'lanner', host: e.host },
      reportingComponent: 'lanner.dev/lanner',
      reportingInstance: e.host,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await call(() => this.core.createNamespacedEvent({ namespace, body }));
  }

  async readNode(name: string): Promise<NodeInfo> {
    return nodeInfo(await call(() => this.core.readNode({ name })));
  }

  async countUnschedulableNodes(): Promise<number> {
    const list = await call(() => this.core.listNode({ fieldSelector: 'spec.unschedulable=true' }));
    return list.items.length;
  }

  async setNodeUnschedulable(name: string, unschedulable: boolean): Promise<void> {
    await call(() => this.core.patchNode({ name, body: { spec: { unschedulable } } }, STRATEGIC));
  }
}

function podInfo(p: V1Pod): PodInfo {
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    uid: p.metadata?.uid ?? '',
    nodeName: p.spec?.nodeName ?? null,
    labels: p.metadata?.labels ?? {},
    annotations: p.metadata?.annotations ?? {},
  };
}

function nodeInfo(n: V1Node): NodeInfo {
  return { name: n.metadata?.name ?? '', uid: n.metadata?.uid ?? '', labels: n.metadata?.labels ?? {}, unschedulable: n.spec?.unschedulable === true };
}

/** Runs one client call, turning the client's exceptions into KubeApiError. */
async function call<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    throw toKubeApiError(err);
  }
}

function toKubeApiError(err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = err as { code?: unknown; body?: unknown; message?: string };
  if (typeof e.code === 'number' && e.code >= 100) {
    let reason = `HTTP ${e.code}`;
    let message = typeof e.body === 'string' ? e.body : '';
    try {
      const status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { reason?: string; message?: string };
      if (status.reason) reason = status.reason;
      if (status.message) message = status.message;
    } catch {
      // Not a Status object (a proxy's HTML page, say): keep the raw text.
    }
    return new KubeApiError(e.code, reason, message || reason);
  }
  return new KubeApiError(0, 'Unreachable', `Kubernetes API unreachable: ${e.message ?? String(err)}`);
}
