/**
 * The `alerts:` config block: deduplication, rate limits, suppressions and runbooks. Exported as
 * defaults (for the top-level DEFAULTS), a zod schema (for the top-level schema) and a function
 * that turns the parsed block into LifecycleOptions, compiling suppression conditions once.
 */
import { z } from 'zod';
import { positiveDurationMs } from '../../core/units.js';
import { NO_CONDITIONS, type ConditionCompiler } from '../condition.js';
import type { LifecycleOptions } from './lifecycle.js';
import type { Limit } from './rate-limit.js';
import { compileSuppression } from './suppress.js';

/** Defaults of every `alerts.*` key. */
export const ALERTS_DEFAULTS = {
  dedup: { enabled: true, cooldown: '5m', max_keys: 10000, keys: {} },
  rate_limit: {
    global: { count: 1000, per: '1m' },
    per_rule: { count: 100, per: '1m' },
    rules: {},
    max_rules: 1000,
  },
  suppress: [],
  runbooks: {},
  runbook_base_url: '',
  default_runbook: '',
  max_evidence: 10,
};

const duration = positiveDurationMs;

/** count 0 turns the limit off. */
const limit = z.object({ count: z.number().int().min(0), per: duration }).strict();

const suppression = z
  .object({
    name: z.string().min(1).optional(),
    rules: z.array(z.string().min(1)).optional(),
    namespaces: z.array(z.string().min(1)).optional(),
    images: z.array(z.string().min(1)).optional(),
    condition: z.string().min(1).optional(),
  })
  .strict()
  .refine((s) => (s.rules?.length ?? 0) + (s.namespaces?.length ?? 0) + (s.images?.length ?? 0) > 0 || s.condition !== undefined, {
    message: 'a suppression needs at least one of rules, namespaces, images or condition; an empty one would hide every alert',
  });

export const alertsSchema = z
  .object({
    dedup: z
      .object({
        enabled: z.boolean(),
        cooldown: duration,
        max_keys: z.number().int().min(1).max(10_000_000),
        /** Per rule, extra output_fields that split incidents. */
        keys: z.record(z.string(), z.array(z.string().min(1))),
      })
      .strict(),
    rate_limit: z
      .object({
        global: limit,
        per_rule: limit,
        rules: z.record(z.string(), limit),
        max_rules: z.number().int().min(1).max(1_000_000),
      })
      .strict(),
    suppress: z.array(suppression),
    runbooks: z.record(z.string(), z.string().url()),
    default_runbook: z.union([z.literal(''), z.string().url()]),
    runbook_base_url: z.union([z.literal(''), z.string().url()]),
    max_evidence: z.number().int().min(1).max(1000),
  })
  .strict();

export type AlertsConfig = z.infer<typeof alertsSchema>;

/**
 * Runtime options from the parsed block, suppression conditions compiled by `conditions`;
 * `problems` gets `alerts.suppress.N.condition: ...` lines.
 */
export function lifecycleOptionsFrom(c: AlertsConfig, problems: string[], conditions: ConditionCompiler): LifecycleOptions {
  const toLimit = (l: { count: number; per: number }): Limit | undefined => (l.count > 0 ? { count: l.count, perMs: l.per } : undefined);
  const rules = new Map<string, Limit>();
  // A rule listed with count 0 is exempt from the per-rule default; modelled as an unreachable limit.
  for (const [rule, l] of Object.entries(c.rate_limit.rules)) rules.set(rule, toLimit(l) ?? { count: Number.MAX_SAFE_INTEGER, perMs: l.per });
  const global = toLimit(c.rate_limit.global);
  const perRule = toLimit(c.rate_limit.per_rule);
  const suppressions = c.suppress.map((s, i) => {
    let condition;
    if (s.condition !== undefined) {
      const compiled = conditions(s.condition);
      if (compiled.ok) condition = compiled.predicate;
      else problems.push(`alerts.suppress.${i}.condition: ${compiled.problem}`);
    }
    return compileSuppression({
      name: s.name ?? `suppress.${i}`,
      ...(s.rules ? { rules: s.rules } : {}),
      ...(s.namespaces ? { namespaces: s.namespaces } : {}),
      ...(s.images ? { images: s.images } : {}),
      ...(condition ? { condition } : {}),
    });
  });
  return {
    ...(c.dedup.enabled
      ? {
          dedup: {
            cooldownMs: c.dedup.cooldown,
            maxKeys: c.dedup.max_keys,
            keyFields: new Map(Object.entries(c.dedup.keys)),
            maxEvidence: c.max_evidence,
          },
        }
      : {}),
    ...(global || perRule || rules.size > 0
      ? { rateLimit: { ...(global ? { global } : {}), ...(perRule ? { perRule } : {}), rules, maxRules: c.rate_limit.max_rules } }
      : {}),
    suppressions,
    enrich: { runbooks: new Map(Object.entries(c.runbooks)), defaultRunbook: c.default_runbook, runbookBaseUrl: c.runbook_base_url },
  };
}

/** Parses a raw `alerts:` block on its own (tests, tools); defaults fill what it leaves out. */
export function parseAlertsConfig(raw: unknown, conditions: ConditionCompiler = NO_CONDITIONS): { ok: true; options: LifecycleOptions } | { ok: false; problems: string[] } {
  const merged = mergeDefaults(ALERTS_DEFAULTS, raw);
  const r = alertsSchema.safeParse(merged);
  if (!r.success) return { ok: false, problems: r.error.issues.map((i) => `alerts.${i.path.join('.')}: ${i.message}`) };
  const problems: string[] = [];
  const options = lifecycleOptionsFrom(r.data, problems, conditions);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, options };
}

function mergeDefaults(defaults: unknown, raw: unknown): unknown {
  if (raw === undefined) return defaults;
  if (isMapping(defaults) && isMapping(raw)) {
    const out: Record<string, unknown> = { ...defaults };
    for (const [k, v] of Object.entries(raw)) out[k] = mergeDefaults(defaults[k], v);
    return out;
  }
  return raw;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
