/**
 * The `actions:` block of lanner.yaml: its defaults, its schema and its typed form. Dry run is
 * the default and the guardrails' limits are on unless set otherwise.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { positiveDurationMs } from '../core/units.js';

/**
 * The responders by name, in the order they run for one alert (the registry builds them in
 * this order). Here, apart from their code, so validating a config loads no Kubernetes client.
 */
export const RESPONDER_NAMES = ['quarantine', 'event', 'webhook', 'cordon', 'kill', 'delete'] as const;

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The namespace Lanner itself runs in, which it must never act on. */
export function ownNamespace(configured: string, env: NodeJS.ProcessEnv = process.env): string {
  if (configured !== '') return configured;
  if (env['POD_NAMESPACE']) return env['POD_NAMESPACE'];
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || 'lanner';
  } catch {
    return 'lanner';
  }
}

export const ACTIONS_DEFAULTS = {
  dry_run: true,
  kubeconfig: '',
  own_namespace: '',
  queue_size: 1000,
  namespaces: { allow: [] as string[], deny: [] as string[] },
  limits: {
    window: '10m',
    per_node: 5,
    per_kind: { pod: 10, node: 1, process: 10, external: 30 },
    cooldown: '15m',
    max_quarantined_pods: 10,
    max_cordoned_nodes: 1,
  },
  profiles: {} as Record<string, string[]>,
  rules: {} as Record<string, string[]>,
  quarantine: {
    enabled: true,
    ttl: '24h',
    sweep_interval: '1m',
    allow_dns: true,
    dns_namespace: 'kube-system',
    dns_pods: 'k8s-app=kube-dns',
    forensics_cidrs: [] as string[],
  },
  event: { enabled: true },
  cordon: { enabled: false },
  delete: { enabled: false, grace_period: '30s' },
  webhook: { enabled: false, url: '', secret: '', secret_file: '', signature_header: 'X-Lanner-Signature', timeout: '5s' },
  kill: { enabled: false, signal: 'SIGKILL', proc_root: '/proc' },
  api: { enabled: false, token: '', token_file: '' },
};

const duration = positiveDurationMs;

const count = z.number().int().min(0);
const name = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected a Kubernetes name (lower case, digits, -)');
const CIDR = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9a-fA-F:]+\/\d{1,3})$/;

export const actionsSchema = z
  .object({
    dry_run: z.boolean(),
    kubeconfig: z.string(),
    own_namespace: z.string(),
    queue_size: z.number().int().min(1).max(100_000),
    namespaces: z.object({ allow: z.array(name), deny: z.array(name) }).strict(),
    limits: z
      .object({
        window: duration,
        per_node: count,
        per_kind: z.object({ pod: count, node: count, process: count, external: count }).strict(),
        cooldown: duration,
        max_quarantined_pods: count,
        max_cordoned_nodes: count,
      })
      .strict(),
    profiles: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)),
    rules: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)),
    quarantine: z
      .object({
        enabled: z.boolean(),
        ttl: duration,
        sweep_interval: duration,
        allow_dns: z.boolean(),
        dns_namespace: name,
        dns_pods: z.string().regex(/^[\w./-]+=[\w.-]*(,[\w./-]+=[\w.-]*)*$/, 'expected a label selector such as k8s-app=kube-dns'),
        forensics_cidrs: z.array(z.string().regex(CIDR, 'expected a CIDR such as 10.20.0.0/24')),
      })
      .strict(),
    event: z.object({ enabled: z.boolean() }).strict(),
    cordon: z.object({ enabled: z.boolean() }).strict(),
    delete: z.object({ enabled: z.boolean(), grace_period: duration }).strict(),
    webhook: z
      .object({
        enabled: z.boolean(),
        url: z.union([z.literal(''), z.url({ protocol: /^https?$/ })]),
        secret: z.string(),
        secret_file: z.string(),
        signature_header: z.string().min(1),
        timeout: duration,
      })
      .strict(),
    kill: z.object({ enabled: z.boolean(), signal: z.enum(['SIGKILL', 'SIGTERM', 'SIGSTOP']), proc_root: z.string().min(1) }).strict(),
    api: z.object({ enabled: z.boolean(), token: z.string(), token_file: z.string() }).strict(),
  })
  .strict();

export type ActionsParsed = z.infer<typeof actionsSchema>;

export interface ActionsOptions {
  /** Decide, audit and count, but send no mutating request. */
  readonly dryRun: boolean;
  readonly kubeconfig: string;
  /** Lanner's own namespace; never acted on, like kube-system. */
  readonly ownNamespace: string;
  readonly queueSize: number;
  readonly namespaces: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  readonly limits: {
    readonly windowMs: number;
    readonly perNode: number;
    readonly perKind: Readonly<Record<'pod' | 'node' | 'process' | 'external', number>>;
    readonly cooldownMs: number;
    readonly maxQuarantinedPods: number;
    readonly maxCordonedNodes: number;
  };
  /** Named lists of responders a rule's `actions:` may name. */
  readonly profiles: Readonly<Record<string, readonly string[]>>;
  /** Actions for alerts of rules Lanner does not own (Falco's), by rule name. */
  readonly rules: Readonly<Record<string, readonly string[]>>;
  readonly quarantine: {
    readonly enabled: boolean;
    readonly ttlMs: number;
    readonly sweepIntervalMs: number;
    readonly allowDns: boolean;
    readonly dnsNamespace: string;
    readonly dnsPodLabels: Readonly<Record<string, string>>;
    readonly forensicsCidrs: readonly string[];
  };
  readonly event: { readonly enabled: boolean };
  readonly cordon: { readonly enabled: boolean };
  readonly delete: { readonly enabled: boolean; readonly gracePeriodMs: number };
  readonly webhook: { readonly enabled: boolean; readonly url: string; readonly secret: string; readonly signatureHeader: string; readonly timeoutMs: number };
  readonly kill: { readonly enabled: boolean; readonly signal: 'SIGKILL' | 'SIGTERM' | 'SIGSTOP'; readonly procRoot: string };
  readonly api: { readonly enabled: boolean; readonly token: string };
}

/** Typed options from the parsed block; secrets are read by the caller (files may be absent in tests). */
export function actionsOptionsFrom(p: ActionsParsed, secrets: { webhookSecret: string; apiToken: string }, ownNamespace: string): ActionsOptions {
  const q = p.quarantine;
  return {
    dryRun: p.dry_run,
    kubeconfig: p.kubeconfig,
    ownNamespace,
    queueSize: p.queue_size,
    namespaces: { allow: p.namespaces.allow, deny: p.namespaces.deny },
    limits: {
      windowMs: p.limits.window,
      perNode: p.limits.per_node,
      perKind: p.limits.per_kind,
      cooldownMs: p.limits.cooldown,
      maxQuarantinedPods: p.limits.max_quarantined_pods,
      maxCordonedNodes: p.limits.max_cordoned_nodes,
    },
    profiles: p.profiles,
    rules: p.rules,
    quarantine: {
      enabled: q.enabled,
      ttlMs: q.ttl,
      sweepIntervalMs: q.sweep_interval,
      allowDns: q.allow_dns,
      dnsNamespace: q.dns_namespace,
      dnsPodLabels: Object.fromEntries(q.dns_pods.split(',').map((term) => term.split('=') as [string, string])),
      forensicsCidrs: q.forensics_cidrs,
    },
    event: { enabled: p.event.enabled },
    cordon: { enabled: p.cordon.enabled },
    delete: { enabled: p.delete.enabled, gracePeriodMs: p.delete.grace_period },
    webhook: { enabled: p.webhook.enabled, url: p.webhook.url, secret: secrets.webhookSecret, signatureHeader: p.webhook.signature_header, timeoutMs: p.webhook.timeout },
    kill: { enabled: p.kill.enabled, signal: p.kill.signal, procRoot: p.kill.proc_root },
    api: { enabled: p.api.enabled, token: secrets.apiToken },
  };
}

/** The defaults as typed options, for tests and embedded uses. */
export function defaultActionsOptions(overrides: Partial<ActionsOptions> = {}): ActionsOptions {
  const parsed = actionsSchema.parse(structuredClone(ACTIONS_DEFAULTS));
  return { ...actionsOptionsFrom(parsed, { webhookSecret: '', apiToken: '' }, 'lanner'), ...overrides };
}
