/**
 * The rule engine's public surface: load Falco-syntax rule files into an indexed set of compiled
 * rules, with every problem located in its file.
 */
export { loadRules, loadRulesSync, loadRuleSources, lintText, type LoadResult, type RuleSource } from './load/loader.js';
export { RuleSet, type CompiledRule, type CompiledCondition, type ConditionCompileResult, type ConditionPlace, type RuleOrigin } from './load/ruleset.js';
export { RULE_PROBLEM_CODES, formatProblem, hasErrors, type Problem, type RuleProblemCode, type Severity, type SourceLocation } from './problems.js';
export { compileOutputTemplate, renderValue, NOT_AVAILABLE, type OutputTemplate } from './compiler/output-template.js';
export { coverageOf, type CoverageReport, type RuleCoverage } from './fields/coverage.js';
export { FEED_FIELDS, isEvaluable } from './fields/feed-fields.js';
export { parseCondition, parseOperand } from './language/parser.js';
export { printExpr, type Expr } from './language/ast.js';
export { STATEFUL_KEYS, type RawKey, type StatefulKey } from './load/collector.js';
export type { RuleException } from './load/exceptions.js';
export type { Predicate } from './compiler/compile.js';
