/**
 * Compiled rules, indexed by event source and `evt.type` as Falco indexes them, so an event meets
 * only the rules that can match it. The per-type candidate arrays are built once, so finding the
 * candidates for an event is two map lookups and allocates nothing.
 */
import type { Node, YAMLMap } from 'yaml';
import type { FalcoEvent, Priority } from '../../core/event.js';
import type { Expr } from '../language/ast.js';
import type { RawKey, StatefulKey } from './collector.js';
import type { Predicate } from '../compiler/compile.js';
import type { RuleException } from './exceptions.js';
import type { OutputTemplate } from '../compiler/output-template.js';
import type { Problem, SourceLocation } from '../problems.js';
import type { SourceFile } from './yaml-source.js';

/** Where a rule (or a change to it) came from: the file, the YAML item and its position. */
export interface RuleOrigin {
  readonly src: SourceFile;
  readonly node: YAMLMap;
  readonly at: SourceLocation;
}

/** A rule ready to run. Structurally a `DetectionRule` (src/rules/compiler/detection-rule.ts). */
export interface CompiledRule {
  readonly name: string;
  readonly desc: string;
  readonly priority: Priority;
  readonly tags: readonly string[];
  /** Falco event source (`syscall` unless the rule says otherwise). */
  readonly source: string;
  readonly enabled: boolean;
  /** The condition as written, appends joined; undefined for a stateful rule without one. */
  readonly condition: string | undefined;
  /** The resolved tree: macros inlined, lists expanded, exceptions added as `and not (...)`. */
  readonly expr: Expr;
  /** `expr` printed: what the rule really evaluates. */
  readonly resolvedCondition: string;
  /** True when the event satisfies the condition. Never throws. */
  readonly matches: Predicate;
  /** The `evt.type` values that can satisfy the condition; undefined when any can. */
  readonly eventTypes: ReadonlySet<string> | undefined;
  /** Field keys the condition (with exceptions) reads. */
  readonly fields: ReadonlySet<string>;
  readonly output: string;
  readonly template: OutputTemplate;
  /** Field keys the output reads. */
  readonly outputFields: readonly string[];
  /** Renders the output for an event, `<NA>` for missing values. */
  readonly render: (event: FalcoEvent) => string;
  readonly exceptions: readonly RuleException[];
  readonly runbook?: string;
  readonly actions?: readonly string[];
  /** Lanner's stateful keys as written, for the stateful engine to compile. */
  readonly stateful: Readonly<Partial<Record<StatefulKey, RawKey>>>;
  /** Falco keys kept but not acted on (capture, warn_evttypes, skip-if-unknown-filter, ...). */
  readonly extra: Readonly<Record<string, unknown>>;
  /** The YAML item as plain data. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly origin: RuleOrigin;
  readonly refinements: readonly RuleOrigin[];
  /** Changes when anything the rule evaluates or says changes (macros and lists included). */
  readonly fingerprint: string;
  /**
   * Changes only when what the rule matches changes: its condition as expanded, its source and
   * its stateful keys. A new output, priority, tag or runbook keeps a stateful rule's state.
   */
  readonly matchFingerprint: string;
}

/** A condition compiled against a rule set's lists and macros (for stateful steps). */
export interface CompiledCondition {
  readonly expr: Expr;
  readonly matches: Predicate;
  readonly eventTypes: ReadonlySet<string> | undefined;
  readonly fields: ReadonlySet<string>;
}

export type ConditionCompileResult =
  | { readonly ok: true; readonly condition: CompiledCondition; readonly problems: readonly Problem[] }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/** Where a condition written outside a rule's `condition:` key sits, for problem positions. */
export interface ConditionPlace {
  readonly src: SourceFile;
  readonly node: Node;
}

export type ConditionCompiler = (text: string, place?: ConditionPlace) => ConditionCompileResult;

interface SourceIndex {
  readonly byType: Map<string, CompiledRule[]>;
  readonly anyType: CompiledRule[];
}

const NONE: readonly CompiledRule[] = Object.freeze([]);

export class RuleSet {
  private readonly bySource = new Map<string, SourceIndex>();
  private readonly byName = new Map<string, CompiledRule>();

  constructor(
    /** Every compiled rule, enabled or not, in definition order. */
    readonly rules: readonly CompiledRule[],
    /** Final lists, nested lists expanded. */
    readonly lists: ReadonlyMap<string, readonly string[]>,
    /** Final macro conditions as text, appends joined. */
    readonly macros: ReadonlyMap<string, string>,
    private readonly compiler: ConditionCompiler,
  ) {
    for (const r of rules) this.byName.set(r.name, r);
    const enabled = rules.filter((r) => r.enabled);
    for (const source of new Set(enabled.map((r) => r.source))) {
      const own = enabled.filter((r) => r.source === source);
      const anyType = own.filter((r) => r.eventTypes === undefined);
      const types = new Set(own.flatMap((r) => (r.eventTypes ? [...r.eventTypes] : [])));
      const byType = new Map<string, CompiledRule[]>();
      // Each type's array holds its typed rules and the any-type rules, in definition order, so
      // an event is matched against one array.
      for (const t of types) byType.set(t, own.filter((r) => r.eventTypes === undefined || r.eventTypes.has(t)));
      this.bySource.set(source, { byType, anyType });
    }
  }

  get(name: string): CompiledRule | undefined {
    return this.byName.get(name);
  }

  get enabledCount(): number {
    return this.rules.filter((r) => r.enabled).length;
  }

  /** The enabled rules that can match this event (by source and evt.type). Allocates nothing. */
  candidates(event: FalcoEvent): readonly CompiledRule[] {
    const index = this.bySource.get(event.source);
    if (!index) return NONE;
    const type = event.fields['evt.type'];
    if (typeof type === 'string') return index.byType.get(type) ?? index.anyType;
    return index.anyType;
  }

  /** Appends the rules the event matches to `out`; returns how many. Allocates nothing. */
  matchInto(event: FalcoEvent, out: CompiledRule[]): number {
    const candidates = this.candidates(event);
    let n = 0;
    for (let i = 0; i < candidates.length; i++) {
      const r = candidates[i]!;
      if (r.matches(event)) {
        out.push(r);
        n++;
      }
    }
    return n;
  }

  /** The rules the event matches, in definition order. */
  match(event: FalcoEvent): CompiledRule[] {
    const out: CompiledRule[] = [];
    this.matchInto(event, out);
    return out;
  }

  /**
   * Compiles a further condition with this set's lists and macros, e.g. a sequence step.
   * `place` locates problems in the file; without it they point at `<condition>:1:col`.
   */
  compileCondition(text: string, place?: ConditionPlace): ConditionCompileResult {
    return this.compiler(text, place);
  }
}
