/**
 * The config keys every queued output shares (routing, format, batching, queue bound, retries,
 * timeouts, TLS), as zod fragments each output's descriptor extends with its own keys, and the
 * helper that turns a config block into `key: what is wrong` problems or a typed value.
 */
import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import type { ConditionCompiler } from '../alerts/condition.js';
import { readPemFileSync } from '../core/read-file.js';
import { readSecret as readSecretFile } from '../core/secret.js';
import type { FormatName } from '../alerts/formats/index.js';
import { durationMs as duration, sizeBytes as size } from '../core/units.js';
import { PRIORITIES, type Priority } from '../core/event.js';
import { parsePriority } from '../core/priority.js';
import type { BatchQueueOptions } from './batch-queue.js';
import { compileRoute, type Route } from './route.js';

/** Durations and sizes as every config block writes them; `fallback` as a person writes it. */
export { duration, size };

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

const names = z.array(z.string().min(1));

const route = z
  .object({
    rules: names.optional().describe('only alerts of any of these rules'),
    tags: names.optional().describe('only alerts carrying any of these tags'),
    namespaces: names.optional().describe('only alerts from workloads in any of these Kubernetes namespaces'),
    condition: z
      .string()
      .min(1)
      .optional()
      .describe("only alerts matching this rule-language condition, evaluated on the alert's newest evidence event with the alert's rule, priority and tags"),
  })
  .strict()
  .prefault({})
  .describe('which alerts this output receives: every criterion given must match');

export const tlsSchema = z
  .object({
    ca: z.string().optional().describe('PEM file of the CA that signs the receiver certificate (default: the system CAs)'),
    cert: z.string().optional().describe('PEM file of the client certificate, for a receiver that asks for one'),
    key: z.string().optional().describe('PEM file of the client certificate key'),
    server_name: z.string().optional().describe('the name to verify the receiver certificate against (default: the host connected to)'),
    insecure_skip_verify: z.boolean().default(false).describe('accept any receiver certificate; for tests against self-signed receivers only'),
  })
  .strict()
  .optional()
  .describe('TLS towards the receiver; files are read once at start');

/** The `needs.files` entry of an output with a `tls` block. */
export const TLS_FILES = 'tls.ca, tls.cert, tls.key';

export type TlsConfig = z.infer<typeof tlsSchema>;

/** Node TLS options from the config, files read once at start. */
export function tlsOptions(tls: TlsConfig): ConnectionOptions | undefined {
  if (!tls) return undefined;
  const read = (f: string | undefined) => (f ? readPemFileSync(f) : undefined);
  return {
    ...(tls.ca ? { ca: read(tls.ca) } : {}),
    ...(tls.cert ? { cert: read(tls.cert) } : {}),
    ...(tls.key ? { key: read(tls.key) } : {}),
    ...(tls.server_name ? { servername: tls.server_name } : {}),
    rejectUnauthorized: !tls.insecure_skip_verify,
  };
}

/** The shared keys of a queued output of kind `type`, with defaults sized for its receiver. */
export function commonShape(type: string, defaults: { batchSize: number; interval: string; format: FormatName; formats: readonly FormatName[] }) {
  return {
    type: z.literal(type).describe(`"${type}" selects this output`),
    name: z.string().min(1).optional().describe('names this output in metrics and logs (default: the type); unique among outputs'),
    min_priority: priority.describe('the lowest Falco priority sent here (Debug sends all)'),
    route,
    format: z
      .enum(defaults.formats as [FormatName, ...FormatName[]])
      .default(defaults.format)
      .describe('how each alert is written'),
    batch: z
      .object({
        max_size: z.number().int().min(1).max(100_000).default(defaults.batchSize).describe('alerts in one export at most'),
        interval: duration(defaults.interval).describe('a batch that is not full leaves after this long'),
      })
      .strict()
      .prefault({})
      .describe('a batch leaves when full or when its interval passes'),
    queue: z
      .object({
        max_size: z.number().int().min(1).max(10_000_000).default(10_000).describe('alerts waiting for export at most'),
        shed: z.enum(['oldest', 'newest']).default('oldest').describe('which alert is dropped (and counted as queue_full) when the queue is full'),
      })
      .strict()
      .prefault({})
      .describe('the bound on alerts waiting, so a slow receiver never holds memory without limit'),
    retry: z
      .object({
        max_retries: z.number().int().min(0).max(1_000_000).default(8).describe('attempts after the first before a batch is dropped as retries_exhausted'),
        initial_backoff: duration('500ms').describe('the longest random wait before the first retry; the ceiling doubles with each retry (full jitter)'),
        max_backoff: duration('30s').describe('the ceiling of any wait between retries'),
      })
      .strict()
      .prefault({})
      .describe('retries of an export that failed in a way that may pass (timeouts, network errors, 408, 429, 5xx); other failures are dropped at once'),
    timeout: duration('10s').describe('one export attempt is abandoned, and retried, after this long'),
    close_timeout: duration('4s').describe('on shutdown, how long queued alerts are still delivered; the rest are counted as dropped; keep it below shutdown.grace'),
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
export function routeOf(c: CommonParsed, context: { readonly conditions: ConditionCompiler }, problems: string[]): Route {
  let condition;
  if (c.route.condition !== undefined) {
    const compiled = context.conditions(c.route.condition);
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
  const r = schema.safeParse(raw, { reportInput: true });
  if (r.success) return { ok: true, value: r.data };
  const problems: string[] = [];
  for (const issue of r.error.issues) {
    const path = issue.path.join('.') || '(block)';
    if (issue.code === 'unrecognized_keys') for (const k of issue.keys) problems.push(`${path === '(block)' ? k : `${path}.${k}`}: unknown key`);
    // The value as written, as top-level keys are reported: the reader sees what to fix.
    else if (issue.code === 'custom' && issue.input !== undefined) problems.push(`${path}: ${JSON.stringify(issue.input)} is invalid: ${issue.message}`);
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
    // The service's one secret reader: regular files within a limit, and never an empty secret.
    return readSecretFile('', file, `${key}_file`);
  } catch (err) {
    problems.push((err as Error).message);
    return undefined;
  }
}
