/**
 * Lanner's one typed configuration. Sources, in rising precedence: built-in defaults,
 * `lanner.yaml`, `LANNER_*` environment variables (one per key path, e.g.
 * LANNER_FALCO_GRPC_ADDRESS), then command-line flags. Validated once at start with every
 * problem reported together, then frozen.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { LannerError } from '../core/errors.js';
import { ALERTS_DEFAULTS, alertsSchema, lifecycleOptionsFrom } from '../alerts/lifecycle/config.js';
import type { LifecycleOptions } from '../alerts/lifecycle/lifecycle.js';
import { ACTIONS_DEFAULTS, actionsOptionsFrom, actionsProblems, actionsSchema, ownNamespace, type ActionsOptions } from '../actions/options.js';
import type { ConditionCompiler } from '../alerts/condition.js';
import { defaultsOf } from '../core/plugin.js';
import { readTextFileSync } from '../core/read-file.js';
import { readSecret } from '../core/secret.js';
import { anyDurationMs, listenAddress, parseDurationMs } from '../core/units.js';
import { connectionLimitOptions, limitsFromOptions, type ConnectionLimits, type ConnectionLimitValues } from '../core/listen.js';
import { alertConditionCompiler } from '../detect/alert-conditions.js';
import { SOURCES } from '../ingest/registry.js';
import type { SourcePlan } from '../ingest/source.js';
import { findOutput } from '../outputs/registry.js';
import type { OutputFactory } from '../outputs/output.js';

type Raw = { [key: string]: RawValue };
type RawValue = string | number | boolean | null | RawValue[] | Raw;

/**
 * The keys Lanner itself owns. Sources own their blocks (`falco.grpc`, `ingest.http`,
 * `ingest.files`, ...): their descriptors say where, with their own schemas and defaults.
 */
const CORE_DEFAULTS: Raw = {
  node_name: '',
  cluster: '',
  log_level: 'info',
  ingest: { queue_size: 65536, max_future_skew: '5m' },
  server: { listen: '127.0.0.1:9376', ...(defaultsOf(z.object(connectionLimitOptions), { every: true }) as Raw) },
  rules: [],
  state: { file: '', save_interval: '1m', max_keys: 10000, ttl: '10m' },
  alerts: structuredClone(ALERTS_DEFAULTS) as Raw,
  outputs: [],
  actions: structuredClone(ACTIONS_DEFAULTS) as Raw,
  shutdown: { grace: '5s' },
};

/** Every key a config may set, with its default; also the list of environment overrides. */
export const DEFAULTS: Raw = withSourceBlocks(CORE_DEFAULTS, (d) => defaultsOf(d.options, { every: true }) as RawValue);

/** A copy of `core` with each source's block put at the source's path. */
function withSourceBlocks<T>(core: { [key: string]: T | RawValue }, block: (d: (typeof SOURCES)[number]) => T): { [key: string]: T | RawValue } {
  const out = copyMappings(core) as { [key: string]: unknown };
  for (const d of SOURCES) {
    let node = out;
    for (const key of d.path.slice(0, -1)) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as { [key: string]: unknown };
    }
    node[d.path[d.path.length - 1]!] = block(d);
  }
  return out as { [key: string]: T | RawValue };
}

/** Copies nested plain mappings, so placing blocks leaves `value` alone; other values are shared. */
function copyMappings(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyMappings(v)]));
}

const duration = anyDurationMs;

/**
 * At least a second: clocks of Falco and Lanner on one node agree far better, and a bound of 0
 * would refuse events for the microseconds between Falco stamping and Lanner reading them.
 */
const futureSkew = duration.refine((ms) => ms >= 1000, { message: 'must be at least 1s' });

/** The schema of the keys Lanner owns, with a placeholder where each source's block goes. */
const coreShape = {
  node_name: z.string(),
  cluster: z.string(),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  ingest: { queue_size: z.number().int().min(1).max(10_000_000), max_future_skew: futureSkew },
  server: { listen: listenAddress, ...connectionLimitOptions },
  rules: z.array(z.string().min(1)),
  state: z.object({ file: z.string(), save_interval: duration, max_keys: z.number().int().min(1), ttl: duration }).strict(),
  alerts: alertsSchema,
  outputs: z.array(z.record(z.string(), z.unknown())),
  actions: actionsSchema,
  shutdown: z.object({ grace: duration }).strict(),
};

type ShapeNode = z.ZodType | { readonly [key: string]: ShapeNode };

function strictObject(shape: { readonly [key: string]: ShapeNode }): z.ZodType {
  return z.object(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v instanceof z.ZodType ? v : strictObject(v)]))).strict();
}

const schema = strictObject(withSourceBlocks(coreShape as { [key: string]: ShapeNode }, () => z.unknown()) as { [key: string]: ShapeNode }) as z.ZodType<Parsed>;

interface Parsed {
  node_name: string;
  cluster: string;
  log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  ingest: { queue_size: number; max_future_skew: number };
  server: { listen: string } & ConnectionLimitValues;
  rules: string[];
  state: { file: string; save_interval: number; max_keys: number; ttl: number };
  alerts: z.infer<typeof alertsSchema>;
  outputs: Record<string, unknown>[];
  actions: z.infer<typeof actionsSchema>;
  shutdown: { grace: number };
}


export interface SourceConfig extends SourcePlan {
  /** The source kind's name in the registry. */
  readonly kind: string;
}

export interface OutputConfig {
  readonly name: string;
  readonly type: string;
  readonly create: OutputFactory;
}

export interface LannerConfig {
  readonly nodeName: string;
  readonly cluster: string;
  readonly logLevel: Parsed['log_level'];
  /** The sources the config turns on, in registry order; built only when the service starts. */
  readonly sources: readonly SourceConfig[];
  readonly ingest: {
    readonly queueSize: number;
    /** How far ahead of the wall clock a live service takes event times; further is refused as `time_in_future`. */
    readonly maxFutureSkewMs: number;
  };
  /** The operations server: its address, and the limits it holds its clients to. */
  readonly server: { readonly listen: string; readonly limits: ConnectionLimits };
  readonly rules: readonly string[];
  readonly state: {
    /** Where learned baselines are saved; empty: kept in memory only. */
    readonly file: string;
    readonly saveIntervalMs: number;
    /** Default bounds of every stateful rule that sets none of its own. */
    readonly maxKeys: number;
    readonly ttlMs: number;
  };
  /** Deduplication, rate limits, suppressions and runbooks of alerts leaving the pipeline. */
  readonly alerts: LifecycleOptions;
  readonly outputs: readonly OutputConfig[];
  /** Response actions: responders, profiles, guardrails, dry run. */
  readonly actions: ActionsOptions;
  readonly shutdownGraceMs: number;
}

/** Command-line flags that override config keys, by key path. */
export interface ConfigOverrides {
  readonly [path: string]: RawValue;
}

export interface LoadOptions {
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly overrides?: ConfigOverrides;
  /** Compiles `condition:` in suppressions and output routes; the rule language's by default. */
  readonly conditions?: ConditionCompiler;
}

/** Loads, merges and validates the configuration; throws one LannerError listing every problem. */
export function loadConfig(options: LoadOptions = {}): LannerConfig {
  const raw = structuredClone(DEFAULTS);
  if (options.file) deepMerge(raw, readConfigFile(options.file));
  const problems = applyEnv(raw, options.env ?? process.env);
  for (const [path, value] of Object.entries(options.overrides ?? {})) setPath(raw, path.split('.'), value);
  const result = schema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(describeIssue(issue));
  }
  const sources = sourcesOf(raw, problems);
  const conditions = options.conditions ?? alertConditionCompiler();
  if (result.success) problems.push(...crossKeyProblems(result.data));
  const alerts = result.success ? lifecycleOptionsFrom(result.data.alerts, problems, conditions) : undefined;
  const outputs = result.success ? buildOutputs(result.data.outputs, problems, result.data.shutdown.grace, conditions) : [];
  if (problems.length > 0 || !result.success || !alerts) {
    throw new LannerError(
      'LANNER_CONFIG_INVALID',
      `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      problems,
    );
  }
  return Object.freeze(toConfig(result.data, alerts, sources, outputs, options.env ?? process.env));
}

/** Each source's block validated by its own descriptor; problems carry the block's path. */
function sourcesOf(raw: Raw, problems: string[]): SourceConfig[] {
  const sources: SourceConfig[] = [];
  for (const d of SOURCES) {
    let block: RawValue | undefined = raw;
    for (const key of d.path) block = isRaw(block) ? block[key] : undefined;
    const parsed = d.options.safeParse(block, { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(describeIssue(issue, d.path));
      continue;
    }
    const plan = d.plan(parsed.data);
    if (!plan.ok) {
      for (const p of plan.problems) problems.push(`${d.path.join('.')}.${p}`);
      continue;
    }
    for (const source of plan.sources) sources.push({ kind: d.name, ...source });
  }
  return sources;
}

/** lanner.yaml is a few KiB; anything near this is a mistake. */
const CONFIG_FILE_MAX_BYTES = 1024 * 1024;

function readConfigFile(file: string): Raw {
  let text: string;
  try {
    // Only a regular file within the limit: a FIFO or /dev/zero named as the config would hang the start.
    text = readTextFileSync(file, { maxBytes: CONFIG_FILE_MAX_BYTES, what: 'config file' });
  } catch (err) {
    throw new LannerError('LANNER_CONFIG_READ', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const at = first.linePos?.[0];
    throw new LannerError('LANNER_CONFIG_READ', `${file}${at ? `:${at.line}:${at.col}` : ''}: ${first.message.split('\n')[0]}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new LannerError('LANNER_CONFIG_READ', `${file}: the top level must be a mapping of keys`);
  }
  return value as Raw;
}

function isRaw(v: RawValue | undefined): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges `from` into `into`: mappings key by key, everything else (lists too) replaced. */
/** Keys that would reach an object's prototype: no config key is named so, and none may be. */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function deepMerge(into: Raw, from: Raw): void {
  for (const [key, value] of Object.entries(from)) {
    if (PROTOTYPE_KEYS.has(key)) throw new LannerError('LANNER_CONFIG_READ', `the config may not use the key ${JSON.stringify(key)}`);
    const current = Object.hasOwn(into, key) ? into[key] : undefined;
    if (isRaw(current) && isRaw(value)) deepMerge(current, value);
    else into[key] = value;
  }
}

function setPath(raw: Raw, path: readonly string[], value: RawValue): void {
  let node = raw;
  for (const key of path.slice(0, -1)) {
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (!isRaw(next)) node[key] = {};
    node = node[key] as Raw;
  }
  node[path[path.length - 1]!] = value;
}

/** Mappings whose keys are the user's (names, labels), not config keys: set in the file only. */
const FREE_FORM_MAPS = new Set(['actions.profiles', 'actions.rules']);

/** Leaf key paths of the defaults, each with its LANNER_* variable name. */
function envPaths(node: Raw = DEFAULTS, prefix: string[] = []): { path: string[]; env: string; sample: RawValue }[] {
  const out: { path: string[]; env: string; sample: RawValue }[] = [];
  for (const [key, value] of Object.entries(node)) {
    const path = [...prefix, key];
    if (FREE_FORM_MAPS.has(path.join('.'))) continue;
    if (isRaw(value)) out.push(...envPaths(value, path));
    else out.push({ path, env: `LANNER_${path.join('_').toUpperCase()}`, sample: value });
  }
  return out;
}

export const ENVIRONMENT_VARIABLES: readonly string[] = envPaths().map((p) => p.env);

/** The known name closest to `name` by edit distance, when close enough to be a typo. */
function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 6)) + 1;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

function applyEnv(raw: Raw, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const known = new Map(envPaths().map((p) => [p.env, p]));
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('LANNER_') || text === undefined) continue;
    const entry = known.get(name);
    if (!entry) {
      const near = nearest(name, [...known.keys()]);
      problems.push(
        `${name}: unknown environment override${near ? `; did you mean ${near}?` : ''} (each config key is one variable: LANNER_ then its path in capitals, dots as _, e.g. LANNER_INGEST_HTTP_LISTEN for ingest.http.listen; lanner.example.yaml lists every key)`,
      );
      continue;
    }
    setPath(raw, entry.path, fromEnvText(text, entry.sample));
  }
  return problems;
}

/** Environment text typed like the default it overrides, so validation sees a number or a list. */
function fromEnvText(text: string, sample: RawValue): RawValue {
  if (typeof sample === 'number') return text.trim() !== '' && !Number.isNaN(Number(text)) ? Number(text) : text;
  if (typeof sample === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  if (Array.isArray(sample)) return text === '' ? [] : text.split(',').map((s) => s.trim());
  return text;
}

function describeIssue(issue: z.core.$ZodIssue, prefix: readonly string[] = []): string {
  const path = [...prefix, ...issue.path.map(String)].join('.') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${path === '(top level)' ? k : `${path}.${k}`}: unknown key`).join('; ');
  }
  const input = 'input' in issue && issue.input !== undefined ? `${JSON.stringify(issue.input)} ` : '';
  const message = issue.code === 'invalid_value' ? `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` : issue.message;
  return `${path}: ${input}is invalid: ${message}`;
}

/** Rules that tie keys together, which a per-key schema cannot say. */
function crossKeyProblems(p: Parsed): string[] {
  const problems: string[] = [];
  problems.push(...actionsProblems(p.actions));
  p.rules.forEach((path, i) => {
    if (!existsSync(path)) problems.push(`rules.${i}: ${JSON.stringify(path)} is invalid: no such file or directory`);
  });
  return problems;
}

function buildOutputs(blocks: Record<string, unknown>[], problems: string[], graceMs: number, conditions: ConditionCompiler): OutputConfig[] {
  const outputs: OutputConfig[] = [];
  const names = new Set<string>();
  blocks.forEach((block, i) => {
    const type = block['type'];
    const name = typeof block['name'] === 'string' ? block['name'] : typeof type === 'string' ? type : `#${i}`;
    const descriptor = typeof type === 'string' ? findOutput(type) : undefined;
    if (!descriptor) {
      problems.push(`outputs.${i}.type: ${JSON.stringify(type)} is not a known output type`);
      return;
    }
    if (names.has(name)) problems.push(`outputs.${i}.name: ${JSON.stringify(name)} is used by another output`);
    names.add(name);
    // An output still closing when the grace period ends is cut off before it can count what it
    // could not send: its close must fit inside the grace. Outputs without a close timeout
    // (stdout writes synchronously) have nothing to check.
    const defaults = defaultsOf(descriptor.options) as { close_timeout?: string | number };
    const closeTimeout = (block['close_timeout'] as string | number | undefined) ?? defaults.close_timeout;
    const closeMs = closeTimeout === undefined ? undefined : parseDurationMs(closeTimeout);
    if (closeMs !== undefined && closeMs >= graceMs) {
      problems.push(`outputs.${i}.close_timeout: ${JSON.stringify(closeTimeout)} is invalid: must be shorter than shutdown.grace (${graceMs}ms), or alerts still queued at shutdown would be lost uncounted`);
    }
    const parsed = descriptor.parse(block, { conditions });
    if (!parsed.ok) {
      for (const p of parsed.problems) problems.push(`outputs.${i}.${p}`);
      return;
    }
    outputs.push({ name, type: descriptor.type, create: parsed.create });
  });
  return outputs;
}


function toConfig(p: Parsed, alerts: LifecycleOptions, sources: SourceConfig[], outputs: OutputConfig[], env: NodeJS.ProcessEnv): LannerConfig {
  return {
    nodeName: p.node_name || env['NODE_NAME'] || hostname(),
    cluster: p.cluster,
    logLevel: p.log_level,
    sources,
    ingest: { queueSize: p.ingest.queue_size, maxFutureSkewMs: p.ingest.max_future_skew },
    server: { listen: p.server.listen, limits: limitsFromOptions(p.server) },
    rules: p.rules,
    alerts,
    state: { file: p.state.file, saveIntervalMs: p.state.save_interval, maxKeys: p.state.max_keys, ttlMs: p.state.ttl },
    outputs,
    actions: actionsOptionsFrom(p.actions, readSecret, ownNamespace(p.actions.own_namespace, env)),
    shutdownGraceMs: p.shutdown.grace,
  };
}
