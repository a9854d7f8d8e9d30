/**
 * From loaded rule files to what the detection stage runs: each enabled rule as a
 * DetectionRule, with Lanner's stateful keys (sequence, threshold, baseline, state) checked and
 * compiled. Problems point at the file, line and column of the key concerned.
 *
 *   sequence: { within: 5s, by: [fd.name], steps: [{ condition, by? }, ...], absent?: { condition, within, by? } }
 *   threshold: { count: 20, within: 1m, by: [container.id] }
 *   baseline: { by: [k8s.ns.name, container.image.repository], learn: [proc.name], period: 24h, max_values: 1000 }
 *   state: { max_keys: 10000, ttl: 10m }
 *
 * Each kind's keys are documented by its descriptor (`options`, STATEFUL_KINDS in
 * src/detect/stateful/registry.ts), which also builds its matcher; the checks here report with
 * file positions of their own. A new kind is a key in STATEFUL_KEYS, its spec in
 * detection-rule.ts, and an entry in KIND_COMPILERS.
 */
import { isMap, type Node, type YAMLMap } from 'yaml';
import { parseDurationMs } from '../../core/units.js';
import { printExpr } from '../language/ast.js';
import { conjunction } from './codegen.js';
import { STATEFUL_KEYS, type RawKey, type StatefulKey } from '../load/collector.js';
import { loadRules, loadRulesSync, type LoadResult, type PacedLoadOptions } from '../load/loader.js';
import { parseOperand } from '../language/parser.js';
import { problem, type Problem, type SourceLocation } from '../problems.js';
import type { CompiledRule, RuleSet } from '../load/ruleset.js';
import { validateOperand } from './validate.js';
import type { DetectionRule, Predicate, StateBounds, StatefulSpec } from './detection-rule.js';

export interface DetectionRulesResult {
  readonly rules: readonly DetectionRule[];
  readonly problems: readonly Problem[];
  readonly ok: boolean;
  readonly load: LoadResult;
}

/** Baselines learn for hours or days: their profiles outlive the short default TTL of windows. */
const BASELINE_MIN_TTL_MS = 7 * 24 * 3_600_000;

type SpecOf<K extends StatefulKey> = Extract<StatefulSpec, { kind: K }>;

/** How the compiler takes one stateful kind's YAML key: one entry per key in STATEFUL_KEYS. */
interface KindCompiler<S extends StatefulSpec> {
  /**
   * Checks and compiles the key; with the event types the rule can match (a sequence's steps
   * have their own conditions, and so their own types; other kinds keep the rule's).
   */
  compile(c: StatefulCompiler, key: RawKey, ruleTypes: ReadonlySet<string> | undefined): { spec: S; types: ReadonlySet<string> | undefined } | undefined;
  /** How long the rule's state must live to match at all: the shortest ttl it accepts. */
  neededMs(spec: S): number;
  /** The least ttl it gets when it sets none, beyond `neededMs`. */
  readonly defaultMinTtlMs: number;
  /** What a ttl shorter than `neededMs` is shorter than, and what that would cost. */
  readonly tooShort: string;
}

const WINDOW_TOO_SHORT = 'window; state would expire before it could match';

const KIND_COMPILERS: { readonly [K in StatefulKey]: KindCompiler<SpecOf<K>> } = {
  sequence: {
    compile: (c, key) => c.sequence(key.value, key.node, key.at),
    neededMs: (spec) => spec.withinMs + (spec.absent?.withinMs ?? 0),
    defaultMinTtlMs: 0,
    tooShort: WINDOW_TOO_SHORT,
  },
  threshold: {
    compile: (c, key, ruleTypes) => {
      const spec = c.threshold(key.value, key.at);
      return spec && { spec, types: ruleTypes };
    },
    neededMs: (spec) => spec.withinMs,
    defaultMinTtlMs: 0,
    tooShort: WINDOW_TOO_SHORT,
  },
  baseline: {
    compile: (c, key, ruleTypes) => {
      const spec = c.baseline(key.value, key.at);
      return spec && { spec, types: ruleTypes };
    },
    neededMs: (spec) => spec.learnMs,
    // Without a ttl of its own, a baseline keeps idle profiles at least a week.
    defaultMinTtlMs: BASELINE_MIN_TTL_MS,
    tooShort: 'learning period; profiles would expire before they enforce anything',
  },
};

/** "sequence, threshold or baseline". */
const KIND_LIST = `${STATEFUL_KEYS.slice(0, -1).join(', ')} or ${STATEFUL_KEYS[STATEFUL_KEYS.length - 1]}`;

/** Loads rule files and compiles them, stateful keys included, for the rule engine. */
export function loadDetectionRules(paths: readonly string[], defaults: StateBounds): DetectionRulesResult {
  return detectionRulesOf(loadRulesSync(paths), defaults);
}

/** loadDetectionRules for a reload beside ingestion: files read off the event loop, compiled in short slices. */
export async function loadDetectionRulesPaced(paths: readonly string[], defaults: StateBounds, options: PacedLoadOptions = {}): Promise<DetectionRulesResult> {
  return detectionRulesOf(await loadRules(paths, options), defaults);
}

function detectionRulesOf(load: LoadResult, defaults: StateBounds): DetectionRulesResult {
  const problems: Problem[] = [...load.problems];
  const rules: DetectionRule[] = [];
  for (const rule of load.ruleSet.rules) {
    if (!rule.enabled) continue;
    const built = toDetectionRule(rule, load.ruleSet, defaults, problems);
    if (built) rules.push(built);
  }
  return { rules, problems, ok: !problems.some((p) => p.severity === 'error'), load };
}

type Raw = Record<string, unknown>;

function isRaw(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `by: field` or `by: [a, b]`. */
function fieldList(v: unknown): string[] | undefined {
  if (typeof v === 'string' && v !== '') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((f) => typeof f === 'string' && f !== '')) return v as string[];
  return undefined;
}

class StatefulCompiler {
  /**
   * Every condition compiled here as it reads with macros and lists expanded: the rule's
   * fingerprint must change when a macro a step uses does, or a reload keeps the old state.
   */
  readonly resolved: string[] = [];

  constructor(
    private readonly rule: CompiledRule,
    private readonly ruleSet: RuleSet,
    private readonly problems: Problem[],
  ) {}

  error(at: SourceLocation, message: string): undefined {
    this.problems.push(problem(at, 'error', 'LANNER_RULE_SCHEMA', `rule '${this.rule.name}': ${message}`));
    return undefined;
  }

  /**
   * A `by:` or `learn:` list, its names checked as a condition's fields are: a misspelt join
   * field is never present, so the rule would join nothing and stay silent.
   */
  keyFields(at: SourceLocation, v: unknown): string[] | undefined {
    const list = fieldList(v);
    for (const spec of list ?? []) {
      for (const alternative of spec.split('|')) {
        const parsed = parseOperand(alternative.trim());
        if (parsed.ok) validateOperand(parsed.operand, () => at, this.problems);
        else this.error(at, `'${alternative.trim()}' in a by or learn list is not a field name`);
      }
    }
    return list;
  }

  duration(v: unknown, key: string, at: SourceLocation): number | undefined {
    const ms = parseDurationMs(v);
    if (ms === undefined || ms <= 0) return this.error(at, `${key}: ${JSON.stringify(v)} is not a duration such as 500ms, 5s, 2m or 24h`);
    return ms;
  }

  /** Compiles a step's condition with the rule set's lists and macros, locating problems in the file. */
  condition(text: unknown, node: Node | null | undefined, key: string, at: SourceLocation): { matches: Predicate; types: ReadonlySet<string> | undefined } | undefined {
    if (typeof text !== 'string' || text.trim() === '') return this.error(at, `${key}: a condition is required`);
    const place = node ? { src: this.rule.origin.src, node } : undefined;
    const r = this.ruleSet.compileCondition(text, place);
    this.problems.push(...r.problems);
    if (!r.ok) return undefined;
    this.resolved.push(printExpr(r.condition.expr));
    return { matches: r.condition.matches, types: r.condition.eventTypes };
  }

  sequence(v: unknown, node: Node | null, at: SourceLocation): { spec: SpecOf<'sequence'>; types: ReadonlySet<string> | undefined } | undefined {
    if (!isRaw(v)) return this.error(at, 'sequence: must be a mapping with within, steps and optionally by and absent');
    const withinMs = this.duration(v['within'], 'sequence.within', at);
    const defaultBy = v['by'] === undefined ? undefined : this.keyFields(at, v['by']);
    if (v['by'] !== undefined && !defaultBy) return this.error(at, 'sequence.by: must be a field name or a list of field names');
    const stepsRaw = v['steps'];
    const stepNodes = isMap(node) ? (node.get('steps', true) as { items?: unknown[] } | undefined)?.items : undefined;
    if (!Array.isArray(stepsRaw) || stepsRaw.length === 0) return this.error(at, 'sequence.steps: a list of steps is required');
    const absentRaw = v['absent'];
    if (stepsRaw.length < 2 && absentRaw === undefined) return this.error(at, 'sequence.steps: a sequence needs at least two steps (or one step and an absent step)');
    const steps: { matches: Predicate; by: readonly string[] }[] = [];
    const types = new Set<string>();
    let anyType = false;
    for (let i = 0; i < stepsRaw.length; i++) {
      const step: unknown = stepsRaw[i];
      if (!isRaw(step)) return this.error(at, `sequence.steps[${i}]: must be a mapping with condition and optionally by`);
      const by = step['by'] === undefined ? defaultBy : this.keyFields(at, step['by']);
      if (!by) return this.error(at, `sequence.steps[${i}].by: name the join field(s), here or as sequence.by`);
      const stepNode = stepNodes?.[i];
      const condNode = isMap(stepNode) ? ((stepNode as YAMLMap).get('condition', true) as Node | undefined) : undefined;
      const c = this.condition(step['condition'], condNode, `sequence.steps[${i}].condition`, at);
      if (!c) return undefined;
      steps.push({ matches: this.withRuleCondition(c.matches), by });
      if (c.types === undefined) anyType = true;
      else for (const t of c.types) types.add(t);
    }
    let absent: { matches: Predicate; by: readonly string[]; withinMs: number } | undefined;
    if (absentRaw !== undefined) {
      if (!isRaw(absentRaw)) return this.error(at, 'sequence.absent: must be a mapping with condition, within and optionally by');
      const by = absentRaw['by'] === undefined ? (defaultBy ?? steps[steps.length - 1]!.by) : this.keyFields(at, absentRaw['by']);
      if (!by) return this.error(at, 'sequence.absent.by: must be a field name or a list of field names');
      const absentNode = isMap(node) ? (node.get('absent', true) as Node | undefined) : undefined;
      const condNode = isMap(absentNode) ? ((absentNode as YAMLMap).get('condition', true) as Node | undefined) : undefined;
      const c = this.condition(absentRaw['condition'], condNode, 'sequence.absent.condition', at);
      const absentMs = this.duration(absentRaw['within'], 'sequence.absent.within', at);
      if (!c || absentMs === undefined) return undefined;
      absent = { matches: c.matches, by, withinMs: absentMs };
      if (c.types === undefined) anyType = true;
      else for (const t of c.types) types.add(t);
    }
    if (withinMs === undefined) return undefined;
    return { spec: { kind: 'sequence', withinMs, steps, ...(absent ? { absent } : {}) }, types: anyType ? undefined : types };
  }

  threshold(v: unknown, at: SourceLocation): SpecOf<'threshold'> | undefined {
    if (!isRaw(v)) return this.error(at, 'threshold: must be a mapping with count, within and by');
    const count = v['count'];
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) return this.error(at, `threshold.count: ${JSON.stringify(count)} must be a whole number of at least 1`);
    const withinMs = this.duration(v['within'], 'threshold.within', at);
    const by = v['by'] === undefined ? [] : this.keyFields(at, v['by']);
    if (!by) return this.error(at, 'threshold.by: must be a field name or a list of field names');
    if (withinMs === undefined) return undefined;
    return { kind: 'threshold', count, withinMs, by };
  }

  baseline(v: unknown, at: SourceLocation): SpecOf<'baseline'> | undefined {
    if (!isRaw(v)) return this.error(at, 'baseline: must be a mapping with by, learn, period and optionally max_values');
    const by = this.keyFields(at, v['by']);
    if (!by) return this.error(at, 'baseline.by: name the field(s) that identify a workload');
    const learn = this.keyFields(at, v['learn']);
    if (!learn) return this.error(at, 'baseline.learn: name the field(s) whose values are learned');
    const learnMs = this.duration(v['period'], 'baseline.period', at);
    const maxValues = v['max_values'] ?? 1000;
    if (typeof maxValues !== 'number' || !Number.isInteger(maxValues) || maxValues < 1) return this.error(at, `baseline.max_values: ${JSON.stringify(maxValues)} must be a whole number of at least 1`);
    if (learnMs === undefined) return undefined;
    return { kind: 'baseline', by, learn, learnMs, maxValues };
  }

  bounds<S extends StatefulSpec>(v: unknown, spec: S, kind: KindCompiler<S>, defaults: StateBounds, at: SourceLocation): StateBounds | undefined {
    // What a ttl must cover: a window, or a baseline's learning period.
    const needed = kind.neededMs(spec);
    let { maxKeys, ttlMs } = defaults;
    ttlMs = Math.max(ttlMs, needed, kind.defaultMinTtlMs);
    if (v !== undefined) {
      if (!isRaw(v)) return this.error(at, 'state: must be a mapping with max_keys and/or ttl');
      if (v['max_keys'] !== undefined) {
        const m = v['max_keys'];
        if (typeof m !== 'number' || !Number.isInteger(m) || m < 1) return this.error(at, `state.max_keys: ${JSON.stringify(m)} must be a whole number of at least 1`);
        maxKeys = m;
      }
      if (v['ttl'] !== undefined) {
        const t = this.duration(v['ttl'], 'state.ttl', at);
        if (t === undefined) return undefined;
        if (t < needed) return this.error(at, `state.ttl: ${JSON.stringify(v['ttl'])} is shorter than the rule's own ${kind.tooShort}`);
        ttlMs = t;
      }
    }
    return { maxKeys, ttlMs };
  }

  /** A sequence rule's own condition, when it has one, narrows every step. */
  private withRuleCondition(step: Predicate): Predicate {
    if (this.rule.condition === undefined) return step;
    return conjunction(this.rule.matches, step);
  }
}

function toDetectionRule(rule: CompiledRule, ruleSet: RuleSet, defaults: StateBounds, problems: Problem[]): DetectionRule | undefined {
  const base: DetectionRule = {
    name: rule.name,
    priority: rule.priority,
    tags: rule.tags,
    source: rule.source,
    matches: rule.matches,
    eventTypes: rule.eventTypes,
    render: rule.render,
    ...(rule.runbook !== undefined ? { runbook: rule.runbook } : {}),
    ...(rule.actions !== undefined ? { actions: rule.actions } : {}),
    fingerprint: rule.fingerprint,
  };
  const stateRaw = rule.raw['state'];
  const used = STATEFUL_KEYS.filter((k) => rule.stateful[k] !== undefined);
  const c = new StatefulCompiler(rule, ruleSet, problems);
  if (used.length === 0) {
    if (stateRaw !== undefined) c.error(rule.origin.at, `state: only applies to a rule with ${KIND_LIST}`);
    return base;
  }
  if (used.length > 1) return c.error(rule.origin.at, `a rule can be one of ${KIND_LIST}, not several`);
  const name = used[0]!;
  // One kind's compiler with its own spec type; the table's type ties each key to its spec.
  const kind = KIND_COMPILERS[name] as KindCompiler<StatefulSpec>;
  const compiled = kind.compile(c, rule.stateful[name]!, rule.eventTypes);
  if (!compiled) return undefined;
  const { spec, types: eventTypes } = compiled;
  const bounds = c.bounds(stateRaw, spec, kind, defaults, rule.origin.at);
  if (!bounds) return undefined;
  const stateFingerprint = JSON.stringify([stateRaw ?? null, c.resolved]);
  // What the state depends on, not what the alert says: editing an output must not throw away
  // a day of learned baseline.
  return { ...base, eventTypes, stateful: spec, bounds, fingerprint: `${rule.matchFingerprint}:${stateFingerprint}` };
}
