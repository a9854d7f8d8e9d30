/**
 * Loads Falco-syntax rule files into a RuleSet: read and parse the YAML (with positions), fold
 * the items (collector.ts), parse and validate every condition, resolve macros and lists,
 * compile each rule to a predicate (codegen.ts) and index the result. Every problem found on
 * the way is returned with file:line:col; loading never throws on bad rules.
 *
 * Rule files are read through core/read-file.ts: only regular files (a FIFO or a device would
 * hang the load), at most RULE_FILE_MAX_BYTES each. The work after reading is written as steps
 * (paced.ts): `loadRulesSync` runs them at once, `loadRules` in short slices, so a reload of a
 * large rule set beside ingestion never holds the event loop for long.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scalar } from 'yaml';
import { FileReadError, notRegularKind, readTextFile, readTextFileSync, type ReadLimits } from '../../core/read-file.js';
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
import { runNow, runPaced, type Steps } from './paced.js';
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

/**
 * The largest rule file read, in bytes. Falco's own largest file is under 100 KiB; a file
 * of 4 MiB holds some 14,000 rules and takes seconds of CPU and hundreds of MiB to load.
 */
export const RULE_FILE_MAX_BYTES = 4 * 1024 * 1024;
const RULE_FILE_LIMITS: ReadLimits = { maxBytes: RULE_FILE_MAX_BYTES, what: 'rule file' };

const RULE_FILE = /\.ya?ml$/i;

/** Loads rules from texts already in memory, in order: later sources refine earlier ones. */
export function loadRuleSources(sources: readonly RuleSource[], extraProblems: readonly Problem[] = []): LoadResult {
  return runNow(loadSteps(sources, extraProblems));
}

/** Checks one rules text on its own; the result holds its problems and what it defines. */
export function lintText(text: string, file = '<input>'): LoadResult {
  return loadRuleSources([{ file, text }]);
}

/** How a load by `loadRules` shares the event loop. */
export interface PacedLoadOptions {
  /** Longest the load holds the event loop between two turns of it, in milliseconds. */
  readonly sliceMs?: number;
}

/**
 * Loads rule files and directories (a directory's *.yaml and *.yml regular files, sorted by
 * name), reading them off the event loop and compiling in short slices between its turns.
 */
export async function loadRules(paths: readonly string[], options: PacedLoadOptions = {}): Promise<LoadResult> {
  const read = new RuleFiles();
  for (const path of paths) {
    const files = (await isDirectory(path)) ? await listRuleFiles(path, read) : [path];
    for (const file of files) {
      try {
        read.sources.push({ file, text: await readTextFile(file, RULE_FILE_LIMITS) });
      } catch (err) {
        read.cannotRead(file, err);
      }
    }
  }
  return runPaced(loadSteps(read.sources, read.problems), options.sliceMs);
}

/** loadRules at once, for callers that load at start-up in synchronous code. */
export function loadRulesSync(paths: readonly string[]): LoadResult {
  const read = new RuleFiles();
  for (const path of paths) {
    const files = isDirectorySync(path) ? listRuleFilesSync(path, read) : [path];
    for (const file of files) {
      try {
        read.sources.push({ file, text: readTextFileSync(file, RULE_FILE_LIMITS) });
      } catch (err) {
        read.cannotRead(file, err);
      }
    }
  }
  return runNow(loadSteps(read.sources, read.problems));
}

/** What reading the paths gave: the texts, and a problem for each file that could not be read. */
class RuleFiles {
  readonly sources: RuleSource[] = [];
  readonly problems: Problem[] = [];

  cannotRead(path: string, err: unknown, what = 'rule file'): void {
    const message = err instanceof FileReadError ? err.message : `${what} ${path} cannot be read: ${(err as Error).message}`;
    this.problems.push(problem(firstLine(path), 'error', 'LANNER_RULE_READ', message));
  }

  /** A directory entry named like a rule file that is not a file: it is left out, and said so. */
  skipped(path: string, kind: string): void {
    this.problems.push(problem(firstLine(path), 'warning', 'LANNER_RULE_READ', `${path} is ${kind}, not a regular file: skipped`));
  }

  /** A rules directory with no rule file in it: perhaps the wrong path, or a directory named like a file. */
  empty(dir: string): void {
    this.problems.push(problem(firstLine(dir), 'warning', 'LANNER_RULE_READ', `rules directory ${dir} holds no rule files (*.yaml, *.yml)`));
  }

  /** Whether a directory entry is read: a regular file is, what cannot be looked at is tried (and its error told). */
  take(path: string, stats: Stats | undefined): boolean {
    const kind = stats && notRegularKind(stats);
    if (kind === undefined) return true;
    this.skipped(path, kind);
    return false;
  }
}

function firstLine(file: string): SourceLocation {
  return { file, line: 1, col: 1 };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false; // Read as a file, whose reading says what is wrong.
  }
}

function isDirectorySync(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A directory's rule files, by name; entries that are not regular files are skipped with a warning. */
async function listRuleFiles(dir: string, read: RuleFiles): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    read.cannotRead(dir, err, 'rules directory');
    return [];
  }
  const files: string[] = [];
  const candidates = names.filter((n) => RULE_FILE.test(n)).sort();
  for (const name of candidates) {
    const path = join(dir, name);
    if (read.take(path, await stat(path).catch(() => undefined))) files.push(path);
  }
  if (candidates.length === 0) read.empty(dir);
  return files;
}

function listRuleFilesSync(dir: string, read: RuleFiles): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    read.cannotRead(dir, err, 'rules directory');
    return [];
  }
  const files: string[] = [];
  const candidates = names.filter((n) => RULE_FILE.test(n)).sort();
  for (const name of candidates) {
    const path = join(dir, name);
    let stats: Stats | undefined;
    try {
      stats = statSync(path);
    } catch {
      stats = undefined;
    }
    if (read.take(path, stats)) files.push(path);
  }
  if (candidates.length === 0) read.empty(dir);
  return files;
}

/**
 * The load itself, pausing between files, items, macros and rules. Whatever a file holds,
 * it ends in a result: a rule whose compilation throws (nesting beyond the stack, say) is a
 * problem of that rule, and anything else that throws one problem of the load.
 */
function* loadSteps(sources: readonly RuleSource[], extraProblems: readonly Problem[]): Steps<LoadResult> {
  const problems: Problem[] = [...extraProblems];
  try {
    return yield* loadStepsUnguarded(sources, problems);
  } catch (err) {
    const at = firstLine(sources[0]?.file ?? '<rules>');
    problems.push(problem(at, 'error', 'LANNER_RULE_SCHEMA', `the rules could not be loaded: ${(err as Error).message}`));
    return {
      ruleSet: new RuleSet([], new Map(), new Map(), () => ({ ok: false, problems: [] })),
      problems,
      ok: false,
      counts: { rules: 0, macros: 0, lists: 0 },
      notCompiled: [],
      files: sources.map((s) => s.file),
    };
  }
}

function* loadStepsUnguarded(sources: readonly RuleSource[], problems: Problem[]): Steps<LoadResult> {
  const collector = new Collector(problems);
  for (const s of sources) {
    const src = yield* SourceFile.parseSteps(s.file, s.text);
    problems.push(...src.problems);
    yield* collector.addFileSteps(src);
  }

  const lists = new Map<string, ListDef>([...collector.lists].map(([name, l]) => [name, { items: l.items, itemsAt: l.itemsAt, at: l.origin.at }]));
  const macros = new Map<string, MacroDef>();
  for (const [name, m] of collector.macros) {
    macros.set(name, { unit: conditionUnit(m.condition, `macro '${name}'`, problems), at: m.origin.at, definedAt: m.definedAt, changedAt: m.changedAt });
    yield;
  }
  const resolver = new Resolver(lists, macros, problems);
  resolver.resolveAllMacros();
  yield;

  // One compiler for the whole set, so rules and later conditions (sequence steps) share the
  // per-event results of the checks they have in common.
  const predicates = new PredicateCompiler();
  const compiled: CompiledRule[] = [];
  const notCompiled: string[] = [];
  for (const rule of collector.rules.values()) {
    let c: CompiledRule | undefined;
    try {
      c = compileRule(rule, resolver, predicates, problems);
    } catch (err) {
      problems.push(problem(rule.origin.at, 'error', 'LANNER_RULE_SCHEMA', `rule '${rule.name}' could not be compiled: ${(err as Error).message}`));
    }
    if (c) compiled.push(c);
    else notCompiled.push(rule.name);
    yield;
  }

  reportUnevaluable(compiled, problems);
  yield;

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
