/**
 * What every ingest source shares. A source turns a transport into normalized events and
 * hands each to the sink; the sink says whether the event was queued (false: shed, full queue).
 * Each source kind describes itself with a {@link SourceDescriptor} registered in
 * src/ingest/registry.ts; config validation, `lanner check` and docs/plugins.md come from there.
 */
import type { z } from 'zod';
import type { FalcoEvent } from '../core/event.js';
import type { Logger } from '../core/log.js';
import type { PluginDescriptor } from '../core/plugin.js';
import type { LannerMetrics } from '../metrics/metrics.js';
import type { InvalidReason } from './normalize.js';

/** What became of an offered event: queued; shed (the queue was full); or refused as invalid, and counted so. */
export type Offer = 'queued' | 'shed' | 'refused';

export interface EventSink {
  /** Offers a valid event; false when it was not queued (shed, or refused and counted as invalid). */
  accept(event: FalcoEvent): boolean;
  /**
   * Offers a valid event and says what became of it, for a source that answers its sender
   * event by event: shed (the queue is full: worth a retry) differs from refused (the event is
   * invalid, for example stamped too far in the future: a retry would be refused again).
   */
  offer?(event: FalcoEvent): Offer;
  /** Reports an event that failed validation; counted by reason, logged at most once a minute per reason. */
  reject(reason: InvalidReason, detail: string, transport: FalcoEvent['transport']): void;
  /**
   * For sources that can wait (a file, unlike Falco's fire-and-forget HTTP posts): resolves
   * when the queue has room again, so reading a large file never sheds.
   */
  whenRoom?(): Promise<void>;
  /** True when `accept` would shed right now. */
  readonly full?: boolean;
}

export interface Source {
  readonly name: string;
  start(sink: EventSink): Promise<void>;
  /** Stops taking new events; resolves once the transport is closed. */
  close(): Promise<void>;
  /**
   * Null when the source can deliver events now, else why not (for /readyz). A source that
   * waits to be written to (HTTP, a file) is ready once started.
   */
  ready(): string | null;
}

export interface SourceDeps {
  readonly logger: Logger;
  readonly metrics: LannerMetrics;
}

/** One source a config turns on: what `lanner check` says of it, and how to build it. */
export interface SourcePlan {
  readonly label: string;
  create(deps: SourceDeps): Source;
}

/** Self-description of a source kind. */
export interface SourceDescriptor extends PluginDescriptor {
  readonly kind: 'source';
  /** Where its block sits in lanner.yaml, e.g. `falco.grpc`. */
  readonly path: readonly string[];
  /**
   * From a block that passed `options` to the sources it turns on (none when it is off), or
   * the problems between its keys, as `key: what is wrong` relative to the block.
   */
  plan(block: unknown): { ok: true; sources: SourcePlan[] } | { ok: false; problems: string[] };
}

/**
 * A descriptor from a typed definition: `plan` receives the block as `options` parsed it. The
 * one cast lives here; config validation only ever hands `plan` what `options` produced.
 */
export function defineSource<S extends z.ZodType>(
  definition: Omit<SourceDescriptor, 'kind' | 'options' | 'plan'> & {
    readonly options: S;
    plan(block: z.output<S>): { ok: true; sources: SourcePlan[] } | { ok: false; problems: string[] };
  },
): SourceDescriptor {
  return { ...definition, kind: 'source', plan: (block) => definition.plan(block as z.output<S>) };
}
