/**
 * Lanner's one typed configuration. Sources, in rising precedence: built-in defaults,
 * `lanner.yaml`, `LANNER_*` environment variables (one per key path, e.g.
 * LANNER_FALCO_GRPC_ADDRESS), then command-line flags. Validated once at start with every
 * problem reported together, then frozen.
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { LannerError } from '../core/errors.js';
import { ALERTS_DEFAULTS, alertsSchema, lifecycleOptionsFrom } from '../alerts/lifecycle/config.js';
import type { LifecycleOptions } from '../alerts/lifecycle/lifecycle.js';
import { ACTIONS_DEFAULTS, actionsOptionsFrom, actionsSchema, ownNamespace, RESPONDER_NAMES, type ActionsOptions } from '../actions/options.js';
import { findOutput } from '../outputs/registry.js';
import type { OutputFactory } from '../outputs/output.js';
import { parseDurationMs, parseSizeBytes } from '../core/units.js';

type Raw = { [key: string]: RawValue };
type RawValue = string | number | boolean | null | RawValue[] | Raw;

/** Every key a config may set, with its default; also the list of environment overrides. */
export const DEFAULTS: Raw = {
  node_name: '',
  cluster: '',
  log_level: 'info',
  falco: {
    grpc: {
      address: '',
      mode: 'sub',
      poll_interval: '1s',
      keepalive: '5m',
      tls: { ca: '', cert: '', key: '', server_name: '' },
      backoff: { initial: '500ms', max: '30s', reset_after: '60s' },
    },
  },
  ingest: {
    queue_size: 65536,
    http: {
      listen: '',
      path: '/',
      body_limit: '1MiB',
      token: '',
      token_file: '',
      tls: { cert: '', key: '', ca: '', client_auth: false },
    },
    files: [],
  },
  server: { listen: '127.0.0.1:9376' },
  rules: [],
  state: { file: '', save_interval: '1m', max_keys: 10000, ttl: '10m' },
  alerts: structuredClone(ALERTS_DEFAULTS) as Raw,
  outputs: [],
  actions: structuredClone(ACTIONS_DEFAULTS) as Raw,
  shutdown: { grace: '5s' },
};

const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 5s, 2m or 1h' });
    return z.NEVER;
  }
  return ms;
});

const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const bytes = parseSizeBytes(v);
  if (bytes === undefined || bytes === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a size such as 1048576, 512KiB or 1MiB' });
    return z.NEVER;
  }
  return bytes;
});

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/;
const listen = z.string().refine((v) => v === '' || (HOST_PORT.test(v) && Number(HOST_PORT.exec(v)![2]) <= 65535), {
  message: 'expected HOST:PORT such as 127.0.0.1:9376, or empty to turn it off',
});
const falcoAddress = z.string().refine((v) => v === '' || v.startsWith('unix://') || HOST_PORT.test(v), {
  message: 'expected unix:///path/to/falco.sock or HOST:PORT, or empty to turn it off',
});

const schema = z
  .object({
    node_name: z.string(),
    cluster: z.string(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    falco: z
      .object({
        grpc: z
          .object({
            address: falcoAddress,
            mode: z.enum(['sub', 'get']),
            poll_interval: duration,
            keepalive: duration,
            tls: z.object({ ca: z.string(), cert: z.string(), key: z.string(), server_name: z.string() }).strict(),
            backoff: z.object({ initial: duration, max: duration, reset_after: duration }).strict(),
          })
          .strict(),
      })
      .strict(),
    ingest: z
      .object({
        queue_size: z.number().int().min(1).max(10_000_000),
        http: z
          .object({
            listen,
            path: z.string().startsWith('/'),
            body_limit: size,
            token: z.string(),
            token_file: z.string(),
            tls: z.object({ cert: z.string(), key: z.string(), ca: z.string(), client_auth: z.boolean() }).strict(),
          })
          .strict(),
        files: z.array(z.string().min(1)),
      })
      .strict(),
    server: z.object({ listen }).strict(),
    rules: z.array(z.string().min(1)),
    state: z
      .object({ file: z.string(), save_interval: duration, max_keys: z.number().int().min(1), ttl: duration })
      .strict(),
    alerts: alertsSchema,
    outputs: z.array(z.record(z.string(), z.unknown())),
    actions: actionsSchema,
    shutdown: z.object({ grace: duration }).strict(),
  })
  .strict();

type Parsed = z.infer<typeof schema>;

export interface OutputConfig {
  readonly name: string;
  readonly type: string;
  readonly create: OutputFactory;
}

export interface LannerConfig {
  readonly nodeName: string;
  readonly cluster: string;
  readonly logLevel: Parsed['log_level'];
  readonly falcoGrpc: {
    readonly address: string;
    readonly mode: 'sub' | 'get';
    readonly pollIntervalMs: number;
    readonly keepaliveMs: number;
    readonly tls: { readonly ca: string; readonly cert: string; readonly key: string; readonly serverName: string };
    readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly resetAfterMs: number };
  };
  readonly ingest: {
    readonly queueSize: number;
    readonly http: {
      readonly listen: string;
      readonly path: string;
      readonly bodyLimitBytes: number;
      readonly token: string;
      readonly tls: { readonly cert: string; readonly key: string; readonly ca: string; readonly clientAuth: boolean };
    };
    readonly files: readonly string[];
  };
  readonly server: { readonly listen: string };
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
  if (result.success) problems.push(...crossKeyProblems(result.data));
  const alerts = result.success ? lifecycleOptionsFrom(result.data.alerts, problems) : undefined;
  const outputs = result.success ? buildOutputs(result.data.outputs, problems, result.data.shutdown.grace) : [];
  if (problems.length > 0 || !result.success || !alerts) {
    throw new LannerError(
      'LANNER_CONFIG_INVALID',
      `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      problems,
    );
  }
  return Object.freeze(toConfig(result.data, alerts, outputs, options.env ?? process.env));
}

function readConfigFile(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
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
function deepMerge(into: Raw, from: Raw): void {
  for (const [key, value] of Object.entries(from)) {
    const current = into[key];
    if (isRaw(current) && isRaw(value)) deepMerge(current, value);
    else into[key] = value;
  }
}

function setPath(raw: Raw, path: readonly string[], value: RawValue): void {
  let node = raw;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
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

function applyEnv(raw: Raw, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const known = new Map(envPaths().map((p) => [p.env, p]));
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith('LANNER_') || text === undefined) continue;
    const entry = known.get(name);
    if (!entry) {
      problems.push(`${name}: unknown environment override; known ones are listed by \`lanner config env\``);
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

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.') || '(top level)';
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
  const g = p.falco.grpc;
  if (g.address !== '' && !g.address.startsWith('unix:')) {
    for (const key of ['ca', 'cert', 'key'] as const) {
      if (g.tls[key] === '') problems.push(`falco.grpc.tls.${key}: is required: Falco serves gRPC over TCP only with mutual TLS (${g.address})`);
    }
  }
  const t = p.ingest.http.tls;
  if ((t.cert === '') !== (t.key === '')) problems.push(`ingest.http.tls: cert and key go together: set both to serve HTTPS, or neither`);
  if (t.client_auth && t.ca === '') {
    problems.push('ingest.http.tls.ca: is required when client_auth is true: without our own CA any publicly signed client certificate would pass');
  }
  if (t.client_auth && t.cert === '') problems.push('ingest.http.tls.client_auth: needs HTTPS: set ingest.http.tls.cert and key');
  const a = p.actions;
  if (a.webhook.enabled && a.webhook.url === '') problems.push('actions.webhook.url: is required when actions.webhook.enabled is true');
  if (a.webhook.secret !== '' && a.webhook.secret_file !== '') problems.push('actions.webhook: set secret or secret_file, not both');
  if (a.api.enabled && a.api.token === '' && a.api.token_file === '') {
    problems.push('actions.api.token: is required when actions.api.enabled is true: the action API never runs without a bearer token');
  }
  for (const [name, list] of [...Object.entries(a.profiles), ...Object.entries(a.rules)]) {
    for (const action of list) {
      if (!KNOWN_ACTIONS.has(action) && a.profiles[action] === undefined) {
        problems.push(`actions: ${JSON.stringify(name)} names ${JSON.stringify(action)}, which is neither a responder (${[...KNOWN_ACTIONS].join(', ')}) nor a profile`);
      }
    }
  }
  for (const name of Object.keys(a.profiles)) {
    if (KNOWN_ACTIONS.has(name)) problems.push(`actions.profiles.${name}: a profile cannot take a responder's name`);
  }
  p.rules.forEach((path, i) => {
    if (!existsSync(path)) problems.push(`rules.${i}: ${JSON.stringify(path)} is invalid: no such file or directory`);
  });
  return problems;
}

function buildOutputs(blocks: Record<string, unknown>[], problems: string[], graceMs: number): OutputConfig[] {
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
    // could not send: its close must fit inside the grace.
    // stdout writes synchronously and has no close timeout.
    const closeMs = descriptor.type === 'stdout' ? undefined : parseDurationMs((block['close_timeout'] as string | number | undefined) ?? '4s');
    if (closeMs !== undefined && closeMs >= graceMs) {
      problems.push(`outputs.${i}.close_timeout: ${JSON.stringify(block['close_timeout'] ?? '4s')} is invalid: must be shorter than shutdown.grace (${graceMs}ms), or alerts still queued at shutdown would be lost uncounted`);
    }
    const parsed = descriptor.parse(block);
    if (!parsed.ok) {
      for (const p of parsed.problems) problems.push(`outputs.${i}.${p}`);
      return;
    }
    outputs.push({ name, type: descriptor.type, create: parsed.create });
  });
  return outputs;
}

const KNOWN_ACTIONS: ReadonlySet<string> = new Set(RESPONDER_NAMES);

function toConfig(p: Parsed, alerts: LifecycleOptions, outputs: OutputConfig[], env: NodeJS.ProcessEnv): LannerConfig {
  const g = p.falco.grpc;
  const h = p.ingest.http;
  return {
    nodeName: p.node_name || env['NODE_NAME'] || hostname(),
    cluster: p.cluster,
    logLevel: p.log_level,
    falcoGrpc: {
      address: g.address,
      mode: g.mode,
      pollIntervalMs: g.poll_interval,
      keepaliveMs: g.keepalive,
      tls: { ca: g.tls.ca, cert: g.tls.cert, key: g.tls.key, serverName: g.tls.server_name },
      backoff: { initialMs: g.backoff.initial, maxMs: g.backoff.max, resetAfterMs: g.backoff.reset_after },
    },
    ingest: {
      queueSize: p.ingest.queue_size,
      http: {
        listen: h.listen,
        path: h.path,
        bodyLimitBytes: h.body_limit,
        token: secret(h.token, h.token_file, 'ingest.http.token_file'),
        tls: { cert: h.tls.cert, key: h.tls.key, ca: h.tls.ca, clientAuth: h.tls.client_auth },
      },
      files: p.ingest.files,
    },
    server: { listen: p.server.listen },
    rules: p.rules,
    alerts,
    state: { file: p.state.file, saveIntervalMs: p.state.save_interval, maxKeys: p.state.max_keys, ttlMs: p.state.ttl },
    outputs,
    actions: actionsOptionsFrom(
      p.actions,
      {
        webhookSecret: secret(p.actions.webhook.secret, p.actions.webhook.secret_file, 'actions.webhook.secret_file'),
        apiToken: secret(p.actions.api.token, p.actions.api.token_file, 'actions.api.token_file'),
      },
      ownNamespace(p.actions.own_namespace, env),
    ),
    shutdownGraceMs: p.shutdown.grace,
  };
}

/** A secret given inline, else read from its file (named by `fileKey` in errors), else empty. */
function secret(inline: string, file: string, fileKey: string): string {
  if (inline !== '') return inline;
  if (file === '') return '';
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new LannerError('LANNER_CONFIG_INVALID', `${fileKey}: cannot read ${file}: ${(err as Error).message}`);
  }
}
