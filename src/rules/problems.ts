/**
 * What the rule loader reports: each problem is tied to a place in a rule file and carries a
 * stable code. Users and tests match codes; messages are for people and may improve.
 */

export type Severity = 'error' | 'warning' | 'info';

/** Every problem code the rule loader emits, with what it means. */
export const RULE_PROBLEM_CODES = {
  LANNER_RULE_READ: 'a rule file or directory could not be read',
  LANNER_RULE_YAML: 'a rule file is not valid YAML, or not a YAML list of items',
  LANNER_RULE_SCHEMA: 'an item has a missing key or a key of the wrong type',
  LANNER_RULE_UNKNOWN_KEY: 'an item has a key Falco and Lanner do not know; it is ignored',
  LANNER_RULE_UNKNOWN_ITEM: 'a top-level item is not a list, macro, rule or version requirement',
  LANNER_RULE_PARSE: 'a condition is not valid Falco condition syntax',
  LANNER_RULE_BAD_OPERATOR: 'a comparison operator is missing, unknown, or not valid for its value',
  LANNER_RULE_BAD_VALUE: 'a value cannot be used with its operator (bad regex, bad hex bytes, ...)',
  LANNER_RULE_UNKNOWN_MACRO: 'a condition names a macro that is not defined',
  LANNER_RULE_UNKNOWN_LIST: 'an override or append names a list that is not defined',
  LANNER_RULE_MACRO_CYCLE: 'macros refer to each other in a cycle',
  LANNER_RULE_MACRO_ORDER: 'a macro uses a macro defined after it, which Falco refuses',
  LANNER_RULE_LIST_CYCLE: 'lists refer to each other in a cycle',
  LANNER_RULE_UNKNOWN_FIELD: 'a field of a known class is not in the list of Falco fields Lanner knows',
  LANNER_RULE_UNKNOWN_FIELD_CLASS: 'a field belongs to no Falco field class',
  LANNER_RULE_BAD_PRIORITY: 'a priority is not one Falco accepts',
  LANNER_RULE_REDEFINED: 'a list, macro or rule is defined again without override: the later one replaces it',
  LANNER_RULE_UNDEFINED: 'an override or append refers to a rule or macro that is not defined',
  LANNER_RULE_OVERRIDE: 'an override is not valid (unknown mode, key not listed, key not overridable)',
  LANNER_RULE_EXCEPTION: 'a rule exception is not valid (fields, comps and values do not fit together)',
  LANNER_RULE_BROKEN_DEPENDENCY: 'a rule was not compiled because a macro it uses has errors',
  LANNER_RULE_NO_EVTTYPE: 'a syscall rule does not restrict evt.type, so it is evaluated for every event',
  LANNER_RULE_OUTPUT: 'an output template has a token that is not a field',
  LANNER_RULE_VERSION: 'a required_engine_version or required_plugin_versions item (accepted when it is a version, not checked against Falco)',
  LANNER_RULE_UNEVALUABLE: "a rule reads fields Lanner's feed events do not carry, so it never matches, or matches more or less than in Falco",
} as const;

export type RuleProblemCode = keyof typeof RULE_PROBLEM_CODES;

export interface Problem {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
  readonly severity: Severity;
  readonly code: RuleProblemCode;
  readonly message: string;
}

/** A place in a rule file. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export function problem(at: SourceLocation, severity: Severity, code: RuleProblemCode, message: string): Problem {
  return { file: at.file, line: at.line, col: at.col, severity, code, message };
}

/** `file:line:col: severity: message`, the form editors and CI annotations understand. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.severity}: ${p.message} [${p.code}]`;
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}
