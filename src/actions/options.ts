/**
 * The `actions:` block of lanner.yaml: the engine's own keys (dry run, guardrails, profiles,
 * the action API) written here, each responder's block taken from its descriptor in the
 * registry. Schema, defaults, typed form and the checks between keys all come from those two
 * sources, so a responder's keys are written once, in its own file. Dry run is the default and
 * the guardrails' limits are on unless set otherwise.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { durationOption, kubernetesName } from './option-values.js';
import { RESPONDER_DESCRIPTORS, type RegisteredResponder, type ResponderName, type ResponderOptionsByName } from './registry.js';
import type { ResponderDescriptor } from './responder.js';
import { defaultsOf } from '../core/plugin.js';

/** The responders by name, in the order they run for one alert. */
export const RESPONDER_NAMES: readonly ResponderName[] = RESPONDER_DESCRIPTORS.map((d) => d.name);

/** The same responders, each seen through the interface every one implements. */
const DESCRIPTORS: readonly ResponderDescriptor[] = RESPONDER_DESCRIPTORS;

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

const count = (fallback: number) => z.number().int().min(0).default(fallback);
const actionLists = z
  .record(z.string().min(1), z.array(z.string().min(1)).min(1))
  .default({});

/** The engine's own keys, before the responders' blocks. */
const engineShape = {
  dry_run: z.boolean().default(true).describe('decide, audit and count, but send no mutating request; false to act'),
  kubeconfig: z.string().default('').describe("a kubeconfig file; empty: the in-cluster service account, else $KUBECONFIG"),
  own_namespace: z.string().default('').describe("Lanner's namespace, never acted on (empty: POD_NAMESPACE or the service account's)"),
  queue_size: z.number().int().min(1).max(100_000).default(1000).describe('alerts waiting for decisions; beyond it they are refused and audited'),
  namespaces: z
    .object({
      allow: z.array(kubernetesName).default([]).describe('non-empty: act only in these namespaces'),
      deny: z.array(kubernetesName).default([]).describe('never act in these (kube-system and own_namespace always)'),
    })
    .strict()
    .prefault({})
    .describe('where actions may land'),
  limits: z
    .object({
      window: durationOption('10m').describe('the window per_node and per_kind count over'),
      per_node: count(5).describe("at most this many actions on one node's targets per window"),
      per_kind: z
        .object({
          pod: count(10).describe('actions on pods per window'),
          node: count(1).describe('actions on nodes per window'),
          process: count(10).describe('actions on processes per window'),
          external: count(30).describe('actions on systems outside (webhook) per window'),
        })
        .strict()
        .prefault({})
        .describe('at most this many actions per target kind per window'),
      cooldown: durationOption('15m').describe('one automatic action per target and responder within this'),
      max_quarantined_pods: count(10).describe('cluster-wide, counted from the API before each new quarantine'),
      max_cordoned_nodes: count(1).describe('cluster-wide unschedulable nodes'),
    })
    .strict()
    .prefault({})
    .describe('guardrails: how much automation may do, however many alerts ask'),
  profiles: actionLists.describe('name -> [responders], e.g. contain: [quarantine, event]'),
  rules: actionLists.describe("rule name -> [responders or profiles], for rules Lanner does not own (Falco's)"),
};

/** The action API's keys, after the responders' blocks. */
const apiSchema = z
  .object({
    enabled: z.boolean().default(false).describe('POST/DELETE /api/v1/quarantine/NS/POD on server.listen; needs a token'),
    token: z.string().default('').describe('the bearer token the API asks for'),
    token_file: z.string().default('').describe('a file holding the token instead (a mounted Secret), read once at start'),
  })
  .strict()
  .prefault({})
  .describe('the action API');

/** Each responder's block under its name, absent meaning all its defaults. */
type ResponderShape = { readonly [D in RegisteredResponder as D['name']]: z.ZodPrefault<D['options']> };

function responderShape(): ResponderShape {
  const shape: Record<string, z.ZodType> = {};
  for (const d of DESCRIPTORS) {
    if (Object.hasOwn(engineShape, d.name) || d.name === 'api') throw new Error(`the responder ${d.name} takes the name of an engine key under actions`);
    shape[d.name] = d.options.prefault({}).describe(d.summary);
  }
  // The mapped type is what the loop builds: every registered name, its own schema.
  return shape as unknown as ResponderShape;
}

export const actionsSchema = z
  .object({ ...engineShape, ...responderShape(), api: apiSchema })
  .strict();

export type ActionsParsed = z.infer<typeof actionsSchema>;

/** Nested config values as YAML and environment overrides write them. */
export type RawValue = string | number | boolean | null | RawValue[] | RawDefaults;
export type RawDefaults = { [key: string]: RawValue };

/**
 * Every `actions` key with its default: what config loading starts from, and the list of
 * environment overrides (LANNER_ACTIONS_*). Derived from the schemas, not written twice.
 */
export const ACTIONS_DEFAULTS = defaultsOf(actionsSchema, { every: true }) as RawDefaults;

/** The engine's own typed options. */
export interface EngineOptions {
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
  /**
   * Named lists of responders a rule's `actions:` may name. Read its own entries only
   * (Object.entries, Object.hasOwn): a name is not a key to index it with.
   */
  readonly profiles: Readonly<Record<string, readonly string[]>>;
  /**
   * Actions for alerts of rules Lanner does not own (Falco's), by rule name. An alert's rule name
   * comes from the event: the engine looks it up in a Map of these entries, never by indexing.
   */
  readonly rules: Readonly<Record<string, readonly string[]>>;
  readonly api: { readonly enabled: boolean; readonly token: string };
}

/** The typed `actions` options: the engine's, and each responder's under its name. */
export interface ActionsOptions extends EngineOptions, ResponderOptionsByName {}

/**
 * Reads a secret given inline or in a file; `fileKey` names the file's key in errors. Config
 * loading reads files (src/core/secret.ts); tests may hand back the inline value.
 */
export type SecretReader = (inline: string, file: string, fileKey: string) => string;

/** A reader that takes inline secrets only, for tests and embedded uses. */
export const INLINE_SECRETS: SecretReader = (inline) => inline;

/**
 * Typed options from the parsed block. A responder whose block has `secret`/`secret_file`
 * gets the secret read by `readSecret`, so a new one needs no change here.
 */
export function actionsOptionsFrom(p: ActionsParsed, readSecret: SecretReader, ownNamespace: string): ActionsOptions {
  const blocks = p as unknown as Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  const responders: Record<string, unknown> = {};
  for (const d of DESCRIPTORS) {
    const block = blocks[d.name] ?? {};
    const inline = block['secret'];
    const file = block['secret_file'];
    const secret = typeof inline === 'string' || typeof file === 'string' ? readSecret(typeof inline === 'string' ? inline : '', typeof file === 'string' ? file : '', `actions.${d.name}.secret_file`) : '';
    responders[d.name] = d.optionsFrom(block, secret);
  }
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
    // Each descriptor's `optionsFrom` returned its own options under its own name.
    ...(responders as unknown as ResponderOptionsByName),
    api: { enabled: p.api.enabled, token: readSecret(p.api.token, p.api.token_file, 'actions.api.token_file') },
  };
}

/**
 * What is wrong between `actions` keys, which the schema cannot say: each responder's own
 * checks, then the action API's token and the names rules and profiles use.
 */
export function actionsProblems(p: ActionsParsed): string[] {
  const problems: string[] = [];
  const blocks = p as unknown as Readonly<Record<string, unknown>>;
  for (const d of DESCRIPTORS) problems.push(...d.problems(blocks[d.name], `actions.${d.name}`));
  if (p.api.enabled && p.api.token === '' && p.api.token_file === '') {
    problems.push('actions.api.token: is required when actions.api.enabled is true: the action API never runs without a bearer token');
  }
  const responders: ReadonlySet<string> = new Set(RESPONDER_NAMES);
  for (const [name, list] of [...Object.entries(p.profiles), ...Object.entries(p.rules)]) {
    for (const action of list) {
      if (!responders.has(action) && !Object.hasOwn(p.profiles, action)) {
        problems.push(`actions: ${JSON.stringify(name)} names ${JSON.stringify(action)}, which is neither a responder (${RESPONDER_NAMES.join(', ')}) nor a profile`);
      }
    }
  }
  for (const name of Object.keys(p.profiles)) {
    if (responders.has(name)) problems.push(`actions.profiles.${name}: a profile cannot take a responder's name`);
  }
  return problems;
}

/** The defaults as typed options, for tests and embedded uses. */
export function defaultActionsOptions(overrides: Partial<ActionsOptions> = {}): ActionsOptions {
  const parsed = actionsSchema.parse(structuredClone(ACTIONS_DEFAULTS));
  return { ...actionsOptionsFrom(parsed, INLINE_SECRETS, 'lanner'), ...overrides };
}
