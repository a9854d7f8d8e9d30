/**
 * The one interface every alert sink implements, and the descriptor that registers it.
 * An output must never throw into the pipeline nor block it: `send` enqueues or writes
 * and returns; failures are counted in the output metrics.
 */
import type { Alert } from '../alerts/alert.js';
import type { Logger } from '../core/log.js';
import type { LannerMetrics } from '../metrics/metrics.js';

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

/** Self-description of an output kind: how `lanner` lists, validates and builds it. */
export interface OutputDescriptor {
  readonly type: string;
  readonly description: string;
  /** A YAML example of its config block. */
  readonly example: string;
  /**
   * Validates one config block. Problems are `key: what is wrong` lines; a valid block yields
   * the factory, so nothing is built for a config that will be refused.
   */
  parse(config: Readonly<Record<string, unknown>>): { ok: true; create: OutputFactory } | { ok: false; problems: string[] };
}
