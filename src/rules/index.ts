/**
 * The rule engine's public surface: load Falco-syntax rule files into an indexed set of compiled
 * rules, with every problem located in its file.
 */
export { loadRules, loadRulesSync, loadRuleSources, lintText, type LoadResult, type RuleSource } from './loader.js';
export { RuleSet, type CompiledRule, type CompiledCondition, type ConditionCompileResult, type ConditionPlace, type RuleOrigin } from './ruleset.js';
export { RULE_PROBLEM_CODES, formatProblem, hasErrors, type Problem, type RuleProblemCode, type Severity, type SourceLocation } from './problems.js';
export { compileOutputTemplate, renderValue, NOT_AVAILABLE, type OutputTemplate } from './output-template.js';
export { coverageOf, type CoverageReport, type RuleCoverage } from './coverage.js';
export { FEED_FIELDS, isEvaluable } from './feed-fields.js';
export { parseCondition, parseOperand } from './parser.js';
export { printExpr, type Expr } from './ast.js';
export { runRulesLint } from './lint-command.js';
export { STATEFUL_KEYS, type RawKey, type StatefulKey } from './collector.js';
export type { RuleException } from './exceptions.js';
export type { Predicate } from './compile.js';
