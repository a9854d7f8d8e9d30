/**
 * The config keys every queued output shares (routing, format, batching, queue bound, retries,
 * timeouts, TLS), as zod fragments each output's descriptor extends with its own keys, and the
 * helper that turns a config block into `key: what is wrong` problems or a typed value.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import { compileCondition } from '../alerts/condition.js';
import type { FormatName } from '../alerts/formats/index.js';
import { parseDurationMs, parseSizeBytes } from '../core/units.js';
import { PRIORITIES, type Priority } from '../core/event.js';
import { parsePriority } from '../core/priority.js';
import type { BatchQueueOptions } from './batch-queue.js';
import { compileRoute, type Route } from './route.js';

export const duration = (fallback: string) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDurationMs(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a duration such as 500ms, 5s or 2m` });
        return z.NEVER;
      }
      return ms;
    });

export const size = (fallback: string) =>
  z
    .union([z.number(), z.string()])
    .default(fallback)
    .transform((v, ctx) => {
      const bytes = parseSizeBytes(v);
      if (bytes === undefined || bytes === 0) {
        ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a size such as 512KiB or 100MiB` });
        return z.NEVER;
      }
      return bytes;
    });

const priority = z
  .string()
  .default('Debug')
  .transform((v, ctx) => {
    const p = parsePriority(v);
    if (!p) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a Falco priority (${PRIORITIES.join(', ')})` });
      return z.NEVER;
    }
    return p;
  });

const route = z
  .object({
    rules: z.array(z.string().min(1)).optional(),
    tags: z.array(z.string().min(1)).optional(),
    namespaces: z.array(z.string().min(1)).optional(),
    condition: z.string().min(1).optional(),
  })
  .strict()
  .prefault({});

export const tlsSchema = z
  .object({
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    server_name: z.string().optional(),
    /** Only for tests against self-signed receivers; logged loudly. */
    insecure_skip_verify: z.boolean().default(false),
  })
  .strict()
  .optional();

export type TlsConfig = z.infer<typeof tlsSchema>;

/** Node TLS options from the config, files read once at start. */
export function tlsOptions(tls: TlsConfig): ConnectionOptions | undefined {
  if (!tls) return undefined;
  const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
  return {
    ...(tls.ca ? { ca: read(tls.ca) } : {}),
    ...(tls.cert ? { cert: read(tls.cert) } : {}),
    ...(tls.key ? { key: read(tls.key) } : {}),
    ...(tls.server_name ? { servername: tls.server_name } : {}),
    rejectUnauthorized: !tls.insecure_skip_verify,
  };
}

/** The shared keys, with defaults sized for a SIEM receiver. */
export function commonShape(defaults: { batchSize: number; interval: string; format: FormatName; formats: readonly FormatName[] }) {
  return {
    type: z.string(),
    name: z.string().min(1).optional(),
    min_priority: priority,
    route,
    format: z.enum(defaults.formats as [FormatName, ...FormatName[]]).default(defaults.format),
    batch: z
      .object({ max_size: z.number().int().min(1).max(100_000).default(defaults.batchSize), interval: duration(defaults.interval) })
      .strict()
      .prefault({}),
    queue: z
      .object({ max_size: z.number().int().min(1).max(10_000_000).default(10_000), shed: z.enum(['oldest', 'newest']).default('oldest') })
      .strict()
      .prefault({}),
    retry: z
      .object({
        max_retries: z.number().int().min(0).max(1_000_000).default(8),
        initial_backoff: duration('500ms'),
        max_backoff: duration('30s'),
      })
      .strict()
      .prefault({}),
    timeout: duration('10s'),
    close_timeout: duration('4s'),
  };
}

export interface CommonParsed {
  readonly min_priority: Priority;
  readonly route: { rules?: string[]; tags?: string[]; namespaces?: string[]; condition?: string };
  readonly format: FormatName;
  readonly batch: { max_size: number; interval: number };
  readonly queue: { max_size: number; shed: 'oldest' | 'newest' };
  readonly retry: { max_retries: number; initial_backoff: number; max_backoff: number };
  readonly timeout: number;
  readonly close_timeout: number;
}

export function queueOptions(c: CommonParsed): BatchQueueOptions {
  return {
    maxQueueSize: c.queue.max_size,
    maxBatchSize: c.batch.max_size,
    batchIntervalMs: c.batch.interval,
    exportTimeoutMs: c.timeout,
    maxRetries: c.retry.max_retries,
    backoffInitialMs: c.retry.initial_backoff,
    backoffMaxMs: c.retry.max_backoff,
    shed: c.queue.shed,
    closeTimeoutMs: c.close_timeout,
  };
}

/** The route of a parsed block; a `route.condition` problem goes to `problems`. */
export function routeOf(c: CommonParsed, problems: string[]): Route {
  let condition;
  if (c.route.condition !== undefined) {
    const compiled = compileCondition(c.route.condition);
    if (compiled.ok) condition = compiled.predicate;
    else problems.push(`route.condition: ${compiled.problem}`);
  }
  return compileRoute({
    minPriority: c.min_priority,
    ...(c.route.rules ? { rules: c.route.rules } : {}),
    ...(c.route.tags ? { tags: c.route.tags } : {}),
    ...(c.route.namespaces ? { namespaces: c.route.namespaces } : {}),
    ...(condition ? { condition } : {}),
  });
}

/** Validates a block against a schema: `key.path: message` problems, every one at once. */
export function parseBlock<S extends z.ZodType>(schema: S, raw: unknown): { ok: true; value: z.infer<S> } | { ok: false; problems: string[] } {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const problems: string[] = [];
  for (const issue of r.error.issues) {
    const path = issue.path.join('.') || '(block)';
    if (issue.code === 'unrecognized_keys') for (const k of issue.keys) problems.push(`${path === '(block)' ? k : `${path}.${k}`}: unknown key`);
    else problems.push(`${path}: ${issue.message}`);
  }
  return { ok: false, problems };
}

/** TLS options, or a `tls: ...` problem when a file cannot be read. */
export function readTls(tls: TlsConfig, problems: string[]): ConnectionOptions | undefined {
  try {
    return tlsOptions(tls);
  } catch (err) {
    problems.push(`tls: ${(err as Error).message}`);
    return undefined;
  }
}

/** A secret given inline or in a file (the file wins being the safer habit; both is a problem). */
export function readSecret(inline: string | undefined, file: string | undefined, key: string, problems: string[]): string | undefined {
  if (inline && file) {
    problems.push(`${key}_file: set ${key} or ${key}_file, not both`);
    return undefined;
  }
  if (!file) return inline;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    problems.push(`${key}_file: cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
}
