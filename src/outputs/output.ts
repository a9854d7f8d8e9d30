/**
 * The one interface every alert sink implements, and the descriptor that registers it.
 * An output must never throw into the pipeline nor block it: `send` enqueues or writes
 * and returns; failures are counted in the output metrics.
 */
import type { z } from 'zod';
import type { Alert } from '../alerts/alert.js';
import type { ConditionCompiler } from '../alerts/condition.js';
import type { Logger } from '../core/log.js';
import type { PluginDescriptor, PluginNeeds } from '../core/plugin.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import { parseBlock } from './options.js';

export interface Output {
  readonly name: string;
  send(alert: Alert): void;
  /** Resolves once everything sent so far has been written or given up on. */
  flush(): Promise<void>;
  /** Flushes, then releases the sink. */
  close(): Promise<void>;
}

export interface OutputDeps {
  readonly logger: Logger;
  readonly metrics: LannerMetrics;
}

export type OutputFactory = (name: string, deps: OutputDeps) => Output;

/**
 * What validating an output block needs from whoever loads the config. The rule language
 * compiles `route.condition`; it is passed in so outputs depend on no module-global state.
 */
export interface OutputParseContext {
  readonly conditions: ConditionCompiler;
}

/** A valid block yields its factory; an invalid one every `key: what is wrong` line at once. */
export type OutputParseResult = { ok: true; create: OutputFactory } | { ok: false; problems: string[] };

/** Self-description of an output kind: how `lanner` lists, validates, documents and builds it. */
export interface OutputDescriptor extends PluginDescriptor {
  readonly kind: 'output';
  /** The same as `name`: the `type` a config block names. */
  readonly type: string;
  /**
   * Validates one config block against `options` (and what a schema cannot check: files,
   * secrets, the route condition). Nothing is built for a config that will be refused.
   */
  parse(config: Readonly<Record<string, unknown>>, context: OutputParseContext): OutputParseResult;
}

/** What an output's own file writes; `defineOutput` adds what every output does the same way. */
export interface OutputSpec<S extends z.ZodType> {
  readonly name: string;
  readonly summary: string;
  readonly example: string;
  readonly options: S;
  readonly needs: PluginNeeds;
  /**
   * Turns a block that passed `options` into the factory. What is wrong beyond the schema is
   * pushed to `problems`, which refuses the block; undefined is returned only after a problem.
   */
  build(config: z.output<S>, context: OutputParseContext, problems: string[]): OutputFactory | undefined;
}

/** A descriptor whose `parse` validates with exactly the `options` it documents. */
export function defineOutput<S extends z.ZodType>(spec: OutputSpec<S>): OutputDescriptor {
  const { name, summary, example, options, needs, build } = spec;
  return {
    kind: 'output',
    name,
    type: name,
    summary,
    example,
    options,
    needs,
    parse(raw, context) {
      const parsed = parseBlock(options, raw);
      if (!parsed.ok) return parsed;
      const problems: string[] = [];
      const create = build(parsed.value, context, problems);
      return create && problems.length === 0 ? { ok: true, create } : { ok: false, problems };
    },
  };
}
