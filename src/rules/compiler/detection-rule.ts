/**
 * What the detection stage needs of a rule, whatever loaded it: a compiled predicate, the
 * event types it can match (for indexing), how to render its output, and, for stateful rules,
 * the compiled spec. The rule loader produces these; the detector runs them.
 */
import type { FalcoEvent, Priority } from '../../core/event.js';

export type Predicate = (event: FalcoEvent) => boolean;

export interface StateBounds {
  readonly maxKeys: number;
  readonly ttlMs: number;
}

export interface SequenceRuleSpec {
  readonly kind: 'sequence';
  readonly withinMs: number;
  readonly steps: readonly { readonly matches: Predicate; readonly by: readonly string[] }[];
  readonly absent?: { readonly matches: Predicate; readonly by: readonly string[]; readonly withinMs: number };
}

export interface ThresholdRuleSpec {
  readonly kind: 'threshold';
  readonly count: number;
  readonly withinMs: number;
  readonly by: readonly string[];
}

export interface BaselineRuleSpec {
  readonly kind: 'baseline';
  /** Fields naming the workload a profile belongs to. */
  readonly by: readonly string[];
  /** Fields whose combined value is learned. */
  readonly learn: readonly string[];
  readonly learnMs: number;
  readonly maxValues: number;
}

export type StatefulSpec = SequenceRuleSpec | ThresholdRuleSpec | BaselineRuleSpec;

/** The YAML key of a stateful kind, as a rule writes it. */
export type StatefulKindName = StatefulSpec['kind'];

export interface DetectionRule {
  readonly name: string;
  readonly priority: Priority;
  readonly tags: readonly string[];
  /** Falco event source the rule applies to (`syscall` for the feed). */
  readonly source: string;
  /** For stateless, threshold and baseline rules: which events count. */
  readonly matches: Predicate;
  /**
   * The `evt.type` values that can satisfy the rule (any step, for sequences), or undefined
   * when that cannot be told from the condition: such a rule sees every event.
   */
  readonly eventTypes: ReadonlySet<string> | undefined;
  /** Renders the rule's output for the event that completed it. */
  readonly render: (event: FalcoEvent) => string;
  readonly runbook?: string;
  readonly actions?: readonly string[];
  readonly stateful?: StatefulSpec;
  readonly bounds?: StateBounds;
  /**
   * Changes when what the rule matches or keeps state by changes; its state survives a reload
   * when it does not (an edited output, priority or runbook keeps it).
   */
  readonly fingerprint: string;
}
