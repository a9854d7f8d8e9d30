/**
 * The one interface every responder implements, and the descriptor that registers it. A
 * responder never decides on its own whether it may act: it asks the guardrails (`ctx.guard`)
 * at each point where it learns something about its target, and it sends no mutating request
 * when `ctx.dryRun` is set.
 *
 * A responder's file holds all there is to know about it: its code, its `actions.<name>` keys
 * (schema, defaults, descriptions, the checks between keys), its RBAC, and how it is built from
 * its typed options. Registering it is one line in registry.ts; the options, `lanner check`,
 * the ClusterRole and the docs follow from there.
 */
import type { z } from 'zod';
import type { Logger } from '../core/log.js';
import type { PermissionRule, PluginDescriptor, PluginNeeds } from '../core/plugin.js';
import type { KubeApi, PodInfo } from './kube-api.js';
import type { ActionRequest, Guard, TargetKind, Verdict } from './request.js';

export type { PermissionRule } from '../core/plugin.js';
export type { ActionRequest, ActionTarget, FailureReason, Guard, Outcome, RefusalReason, TargetKind, Trigger, Verdict } from './request.js';
export { refused } from './request.js';

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

/** What every responder's typed options have: `actions.<name>.enabled` turns it on. */
export interface ResponderOptions {
  readonly enabled: boolean;
}

/** What a responder needs from where it runs. */
export interface ResponderNeeds extends PluginNeeds {
  /** The Kubernetes permissions it needs, for the ClusterRole; empty when it calls no API. */
  readonly rbac: readonly PermissionRule[];
  /** What the DaemonSet's pod must be granted beyond RBAC (hostPID, a capability), for the docs. */
  readonly pod?: string;
}

/** What a responder's own file writes; `defineResponder` turns it into its descriptor. */
export interface ResponderSpec<Name extends string, Schema extends z.ZodType, Options extends ResponderOptions> {
  /** The key of its block under `actions:` and the name rules and profiles use. */
  readonly name: Name;
  /** One line: what it does. */
  readonly summary: string;
  readonly targetKind: TargetKind;
  /** A YAML example of its `actions.<name>` block. */
  readonly example: string;
  /**
   * Its `actions.<name>` block: every key with its default as a person writes it ('24h') and a
   * `.describe()`, one of them `enabled`.
   */
  readonly options: Schema;
  readonly needs: ResponderNeeds;
  /**
   * Its typed options from its parsed block. `secret` is what config loading read from the
   * block's `secret` or `secret_file` keys ('' for a block without them).
   */
  optionsFrom(block: z.output<Schema>, secret: string): Options;
  /**
   * What is wrong between keys of a parsed block, which a per-key schema cannot say: one line
   * per problem, each starting with the key path under `path` (the block's, e.g. actions.webhook).
   */
  problems?(block: z.output<Schema>, path: string): string[];
  create(options: Options): Responder;
}

/** The whole `actions` options as far as one responder reads them: its own block. */
export type OptionsFor<Name extends string, Options extends ResponderOptions> = { readonly [K in Name]: Options };

/**
 * Self-description of a responder, as the registry, config loading, `lanner check`, the
 * ClusterRole and the docs see it. `enabled` and `create` take the whole typed `actions`
 * options and read the responder's own block from them.
 */
export interface ResponderDescriptor<Name extends string = string, Schema extends z.ZodType = z.ZodType, Options extends ResponderOptions = ResponderOptions>
  extends PluginDescriptor {
  readonly kind: 'responder';
  readonly name: Name;
  readonly targetKind: TargetKind;
  readonly options: Schema;
  readonly needs: ResponderNeeds;
  optionsFrom(block: z.output<Schema>, secret: string): Options;
  problems(block: z.output<Schema>, path: string): string[];
  enabled(options: OptionsFor<Name, Options>): boolean;
  create(options: OptionsFor<Name, Options>): Responder;
}

/** A responder's descriptor from what its file writes, keeping its name and types for the registry. */
export function defineResponder<const Name extends string, Schema extends z.ZodType, Options extends ResponderOptions>(
  spec: ResponderSpec<Name, Schema, Options>,
): ResponderDescriptor<Name, Schema, Options> {
  const { name, summary, targetKind, example, options, needs, optionsFrom, problems, create } = spec;
  return {
    kind: 'responder',
    name,
    summary,
    targetKind,
    example,
    options,
    needs,
    optionsFrom,
    problems: problems ?? (() => []),
    enabled: (all) => all[name].enabled,
    create: (all) => create(all[name]),
  };
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
