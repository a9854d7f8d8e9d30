/**
 * Loads Falco-syntax rule files into a RuleSet: read and parse the YAML (with positions), fold
 * the items (collector.ts), parse and validate every condition, resolve macros and lists,
 * compile each rule to a predicate (codegen.ts) and index the result. Every problem found on
 * the way is returned with file:line:col; loading never throws on bad rules.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scalar } from 'yaml';
import { printExpr, type Expr } from '../language/ast.js';
import { Collector, type RuleEntry, type TextSegment } from './collector.js';
import { PredicateCompiler } from '../compiler/codegen.js';
import { fieldsOf } from '../compiler/compile.js';
import { coverageOf } from '../fields/coverage.js';
import { eventTypesOf } from '../compiler/evttypes.js';
import { exceptionExpr } from './exceptions.js';
import { compileOutputTemplate } from '../compiler/output-template.js';
import { parseCondition } from '../language/parser.js';
import { problem, type Problem, type SourceLocation } from '../problems.js';
import { Resolver, type ConditionUnit, type ListDef, type Locate, type MacroDef } from '../compiler/resolve.js';
import { RuleSet, type CompiledRule, type ConditionCompileResult, type ConditionPlace } from './ruleset.js';
import { validateExpr } from '../compiler/validate.js';
import { simplify, withoutFields } from '../compiler/simplify.js';
import { SourceFile, toPlain } from './yaml-source.js';

export interface RuleSource {
  /** The name problems use (a path, or `<stdin>`). */
  readonly file: string;
  readonly text: string;
}

export interface LoadResult {
  readonly ruleSet: RuleSet;
  /** Every problem, sorted by file (in load order), line and column. */
  readonly problems: readonly Problem[];
  /** True when no problem is an error. */
  readonly ok: boolean;
  /** How many rules, macros and lists the files define (after overrides). */
  readonly counts: { readonly rules: number; readonly macros: number; readonly lists: number };
  /** Rules that could not be compiled (their problems say why); they are not in the set. */
  readonly notCompiled: readonly string[];
  /** The files read, in load order. */
  readonly files: readonly string[];
}

const RULE_FILE = /\.ya?ml$/i;

/** Loads rules from texts already in memory, in order: later sources refine earlier ones. */
export function loadRuleSources(sources: readonly RuleSource[], extraProblems: readonly Problem[] = []): LoadResult {
  const problems: Problem[] = [...extraProblems];
  const collector = new Collector(problems);
  for (const s of sources) {
    const src = new SourceFile(s.file, s.text);
    problems.push(...src.problems);
    collector.addFile(src);
  }

  const lists = new Map<string, ListDef>([...collector.lists].map(([name, l]) => [name, { items: l.items, itemsAt: l.itemsAt, at: l.origin.at }]));
  const macros = new Map<string, MacroDef>();
  for (const [name, m] of collector.macros) {
    macros.set(name, { unit: conditionUnit(m.condition, `macro '${name}'`, problems), at: m.origin.at, definedAt: m.definedAt, changedAt: m.changedAt });
  }
  const resolver = new Resolver(lists, macros, problems);
  resolver.resolveAllMacros();

  // One compiler for the whole set, so rules and later conditions (sequence steps) share the
  // per-event results of the checks they have in common.
  const predicates = new PredicateCompiler();
  const compiled: CompiledRule[] = [];
  const notCompiled: string[] = [];
  for (const rule of collector.rules.values()) {
    const c = compileRule(rule, resolver, predicates, problems);
    if (c) compiled.push(c);
    else notCompiled.push(rule.name);
  }

  reportUnevaluable(compiled, problems);

  const finalLists = new Map<string, readonly string[]>();
  for (const name of lists.keys()) finalLists.set(name, (resolver.listItems(name) ?? []).map((i) => i.text));
  const macroTexts = new Map<string, string>([...collector.macros].map(([name, m]) => [name, joinSegments(m.condition)]));
  const compiler = (text: string, place?: ConditionPlace): ConditionCompileResult => compileStandalone(text, place, lists, macros, predicates);
  const ruleSet = new RuleSet(compiled, finalLists, macroTexts, compiler);

  const order = new Map(sources.map((s, i) => [s.file, i]));
  problems.sort((a, b) => (order.get(a.file) ?? -1) - (order.get(b.file) ?? -1) || a.line - b.line || a.col - b.col);
  return {
    ruleSet,
    problems,
    ok: !problems.some((p) => p.severity === 'error'),
    counts: { rules: collector.rules.size, macros: collector.macros.size, lists: collector.lists.size },
    notCompiled,
    files: sources.map((s) => s.file),
  };
}

/**
 * Names every enabled rule whose condition reads fields the feed does not forward, with those
 * fields, and says what that does: checks on them never hold, so the rule either can never
 * match, or matches more or less than in Falco (a `not` around such a check always holds). It must
 * not happen unnoticed. Information, not a warning: Falco's own files have many such rules.
 */
function reportUnevaluable(rules: readonly CompiledRule[], problems: Problem[]): void {
  const byName = new Map(rules.map((r) => [r.name, r]));
  for (const c of coverageOf(rules.filter((r) => r.enabled)).rules) {
    if (c.missing.length === 0) continue;
    const rule = byName.get(c.rule)!;
    const missing = new Set(c.missing);
    const folded = withoutFields(rule.expr, (key) => missing.has(key));
    const effect =
      folded.kind === 'const' && !folded.value
        ? 'so it can never match'
        : 'so checks on them never hold and it may match more or less than in Falco';
    const message = `rule '${c.rule}' reads fields Lanner's feed does not forward, ${effect}: ${c.missing.join(', ')}`;
    problems.push(problem(rule.origin.at, 'info', 'LANNER_RULE_UNEVALUABLE', message));
  }
}

/** Checks one rules text on its own; the result holds its problems and what it defines. */
export function lintText(text: string, file = '<input>'): LoadResult {
  return loadRuleSources([{ file, text }]);
}

/** Loads rule files and directories (a directory's *.yaml and *.yml, sorted by name). */
export async function loadRules(paths: readonly string[]): Promise<LoadResult> {
  const problems: Problem[] = [];
  const sources: RuleSource[] = [];
  for (const p of paths) {
    try {
      const files = (await stat(p)).isDirectory() ? (await readdir(p)).filter((f) => RULE_FILE.test(f)).sort().map((f) => join(p, f)) : [p];
      for (const f of files) sources.push({ file: f, text: await readFile(f, 'utf8') });
    } catch (err) {
      problems.push(readProblem(p, err));
    }
  }
  return loadRuleSources(sources, problems);
}

/** loadRules without awaiting, for callers that load at start-up in synchronous code. */
export function loadRulesSync(paths: readonly string[]): LoadResult {
  const problems: Problem[] = [];
  const sources: RuleSource[] = [];
  for (const p of paths) {
    try {
      const files = statSync(p).isDirectory() ? readdirSync(p).filter((f) => RULE_FILE.test(f)).sort().map((f) => join(p, f)) : [p];
      for (const f of files) sources.push({ file: f, text: readFileSync(f, 'utf8') });
    } catch (err) {
      problems.push(readProblem(p, err));
    }
  }
  return loadRuleSources(sources, problems);
}

function readProblem(path: string, err: unknown): Problem {
  const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return problem({ file: path, line: 1, col: 1 }, 'error', 'LANNER_RULE_READ', `cannot read rules: ${reason}`);
}

function joinSegments(segments: readonly TextSegment[]): string {
  return segments.map((s) => s.text).join(' ');
}

/** Parses (and validates) a condition made of one or more YAML scalars. */
function conditionUnit(segments: readonly TextSegment[], owner: string, problems: Problem[]): ConditionUnit {
  const text = joinSegments(segments);
  const starts: number[] = [];
  let offset = 0;
  for (const s of segments) {
    starts.push(offset);
    offset += s.text.length + 1;
  }
  const locate: Locate = (pos) => {
    let i = segments.length - 1;
    while (i > 0 && starts[i]! > pos) i--;
    const seg = segments[i]!;
    return seg.src.valueOffsetAt(seg.node, seg.text, pos < 0 ? -1 : pos - starts[i]!);
  };
  return parseUnit(text, owner, locate, problems);
}

function parseUnit(text: string, owner: string, locate: Locate, problems: Problem[]): ConditionUnit {
  const parsed = parseCondition(text);
  if (!parsed.ok) {
    const code = parsed.error.badOperator ? 'LANNER_RULE_BAD_OPERATOR' : 'LANNER_RULE_PARSE';
    problems.push(problem(locate(parsed.error.offset), 'error', code, `${owner}: ${parsed.error.message}`));
    return { text, expr: undefined, locate };
  }
  validateExpr(parsed.expr, locate, problems);
  return { text, expr: parsed.expr, locate };
}

function fingerprint(parts: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(parts, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
    .digest('hex')
    .slice(0, 16);
}

const NEVER_EXPR: Expr = { kind: 'const', value: false, pos: -1 };

function compileRule(rule: RuleEntry, resolver: Resolver, predicates: PredicateCompiler, problems: Problem[]): CompiledRule | undefined {
  const owner = `rule '${rule.name}'`;
  const before = problems.filter((p) => p.severity === 'error').length;
  let condition: Expr | undefined = NEVER_EXPR;
  let conditionAt: SourceLocation = rule.origin.at;
  if (rule.condition) {
    const unit = conditionUnit(rule.condition, owner, problems);
    conditionAt = unit.locate(0);
    condition = unit.expr ? resolver.resolve(unit.expr, unit.locate) : undefined;
  }
  const excluded: Expr[] = [];
  for (const ex of rule.exceptions) {
    const e = exceptionExpr(ex, problems);
    if (!e) continue;
    const resolved = resolver.resolve(e, () => ex.at);
    if (resolved) excluded.push({ kind: 'not', child: resolved, pos: -1 });
  }
  const outputText = joinSegments(rule.output);
  const { template, issues } = compileOutputTemplate(outputText);
  const outSeg = rule.output[0];
  for (const issue of issues) {
    const at = outSeg ? outSeg.src.valueOffsetAt(outSeg.node as Scalar, outSeg.text, issue.offset) : rule.origin.at;
    problems.push(problem(at, 'warning', 'LANNER_RULE_OUTPUT', `${owner}: ${issue.message}`));
  }
  if (condition === undefined || problems.filter((p) => p.severity === 'error').length > before) return undefined;

  const expr = simplify(excluded.length === 0 ? condition : { kind: 'and', children: [condition, ...excluded], pos: -1 });
  const eventTypes = rule.condition ? eventTypesOf(expr) : undefined;
  const isStateful = Object.keys(rule.stateful).length > 0;
  if (rule.condition && rule.enabled && rule.source === 'syscall' && eventTypes === undefined && !isStateful) {
    problems.push(problem(conditionAt, 'warning', 'LANNER_RULE_NO_EVTTYPE', `${owner} does not restrict evt.type, so it is evaluated for every event`));
  }
  const resolvedCondition = printExpr(expr);
  const statefulKeys = Object.fromEntries(Object.entries(rule.stateful).map(([k, v]) => [k, v.value]));
  const raw = (toPlain(rule.origin.node) ?? {}) as Record<string, unknown>;
  return {
    name: rule.name,
    desc: rule.desc,
    priority: rule.priority,
    tags: rule.tags,
    source: rule.source,
    enabled: rule.enabled,
    condition: rule.condition ? joinSegments(rule.condition) : undefined,
    expr,
    resolvedCondition,
    matches: predicates.compile(expr),
    eventTypes,
    fields: fieldsOf(expr),
    output: outputText,
    template,
    outputFields: template.fields,
    render: (event) => template.render(event),
    exceptions: rule.exceptions,
    ...(rule.runbook !== undefined ? { runbook: rule.runbook } : {}),
    ...(rule.actions !== undefined ? { actions: rule.actions } : {}),
    stateful: rule.stateful,
    extra: rule.extra,
    raw,
    origin: rule.origin,
    refinements: rule.refinements,
    fingerprint: fingerprint({ c: resolvedCondition, o: outputText, p: rule.priority, t: rule.tags, s: rule.source, e: rule.enabled, st: statefulKeys, r: rule.runbook, a: rule.actions }),
    matchFingerprint: fingerprint({ c: resolvedCondition, s: rule.source, st: statefulKeys }),
  };
}

function compileStandalone(
  text: string,
  place: ConditionPlace | undefined,
  lists: ReadonlyMap<string, ListDef>,
  macros: ReadonlyMap<string, MacroDef>,
  predicates: PredicateCompiler,
): ConditionCompileResult {
  const problems: Problem[] = [];
  const locate: Locate = place
    ? (pos) => place.src.valueOffsetAt(place.node as Scalar, text, pos)
    : (pos) => ({ file: '<condition>', line: 1, col: Math.max(0, pos) + 1 });
  const unit = parseUnit(text, 'condition', locate, problems);
  const expanded = unit.expr ? new Resolver(lists, macros, problems).resolve(unit.expr, locate) : undefined;
  const resolved = expanded && simplify(expanded);
  if (!resolved || problems.some((p) => p.severity === 'error')) return { ok: false, problems };
  return {
    ok: true,
    problems,
    condition: { expr: resolved, matches: predicates.compile(resolved), eventTypes: eventTypesOf(resolved), fields: fieldsOf(resolved) },
  };
}
