/**
 * Checks a parsed condition can be compiled and means something: fields exist, regexes and
 * byte strings are valid, operators fit their field's type and their right-hand side. Runs on
 * each condition as written (before macros are inlined), so every problem points into the text
 * that has it.
 */
import { baseField, printOperand, walk, type Expr, type ListNode, type LiteralNode, type Operand, type Operator } from '../language/ast.js';
import { checkFieldName, operandType } from '../fields/field-catalog.js';
import { refusedGlob } from './glob.js';
import { PORT_FIELDS, servicePort } from '../fields/port-names.js';
import { regexProblem } from './regex.js';
import { networkField, NETWORK_OPERATORS, parseNetworkLiteral } from './network.js';
import { problem, type Problem } from '../problems.js';
import type { Locate } from './resolve.js';

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

export function validateExpr(expr: Expr, locate: Locate, problems: Problem[]): void {
  for (const node of walk(expr)) {
    if (node.kind !== 'check') continue;
    validateOperand(node.left, locate, problems);
    const mismatch = operatorTypeProblem(node.left, node.op);
    if (mismatch) problems.push(problem(locate(node.opPos), 'error', 'LANNER_RULE_BAD_OPERATOR', mismatch));
    const right = node.right;
    if (!right) continue;
    if (right.kind === 'fieldvalue') {
      validateOperand(right.operand, locate, problems);
      if (node.op === 'pmatch' || node.op === 'regex') {
        problems.push(problem(locate(node.opPos), 'error', 'LANNER_RULE_BAD_OPERATOR', `'${node.op}' cannot compare with another field`));
      }
      continue;
    }
    if (networkField(node.left)) {
      validateNetworkValues(node.left, node.op, right, locate, problems);
      continue;
    }
    if (!mismatch && COMPARISONS.has(node.op)) validateTypedLiterals(node.left, right, locate, problems);
    if (right.kind !== 'literal') continue;
    if (node.op === 'regex') {
      const bad = regexProblem(right.text);
      if (bad) problems.push(problem(locate(right.pos), 'error', 'LANNER_RULE_BAD_VALUE', `invalid regular expression: ${bad}`));
    } else if (node.op === 'glob' || node.op === 'iglob') {
      const refused = refusedGlob(right.text);
      if (refused) problems.push(problem(locate(right.pos), 'warning', 'LANNER_RULE_BAD_VALUE', `the pattern '${right.text}' never matches: ${refused} (fnmatch refuses it)`));
    } else if ((node.op === 'bcontains' || node.op === 'bstartswith') && !HEX.test(right.text)) {
      problems.push(problem(locate(right.pos), 'error', 'LANNER_RULE_BAD_VALUE', `'${node.op}' needs bytes written as hex digits (e.g. 7f454c46), got '${right.text}'`));
    }
  }
}

/**
 * The literals of a check on an address or network field: Falco parses them when it loads the
 * rule and refuses the rule for a bad one. In a list, a bare word may name a list (expanded
 * later); addresses and networks have a '.', ':' or '/'.
 */
export function validateNetworkValues(left: Operand, op: Operator, right: LiteralNode | ListNode, locate: Locate, problems: Problem[]): void {
  const network = networkField(left);
  if (!network || !NETWORK_OPERATORS.has(op)) return;
  const { items, inList } = literalsOf(right);
  for (const item of items) {
    if (inList && !item.quoted && !/[.:/]/.test(item.text)) continue;
    const parsed = parseNetworkLiteral(item.text, network);
    if (!parsed.ok) problems.push(problem(locate(item.pos), 'error', 'LANNER_RULE_BAD_VALUE', parsed.error));
  }
}

/** A check's literals, and whether they stand in a list, where a bare word may name a list. */
function literalsOf(right: LiteralNode | ListNode): { items: readonly LiteralNode[]; inList: boolean } {
  return right.kind === 'literal' ? { items: [right], inList: false } : { items: right.items, inList: true };
}

const COMPARISONS: ReadonlySet<Operator> = new Set<Operator>(['=', '==', '!=', '<', '<=', '>', '>=', 'in', 'intersects']);

/** Falco's PT_DOUBLE fields, whose literals may have a fraction or an exponent. */
const DOUBLE_FIELDS: ReadonlySet<string> = new Set(['thread.cpu', 'thread.cpu.user', 'thread.cpu.system', 'proc.cpu', 'proc.cpu.user', 'proc.cpu.system']);
const DECIMAL = /^\s*[+-]?\d+$/;
const REAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Literals compared with a numeric or boolean field. Falco parses them when the rule loads
 * (sinsp_numparser reads integers in decimal only; a boolean is `true` or `false`, nothing
 * else) and refuses the rule otherwise, so `proc.pid = 0x10` or `evt.failed = TRUE` is an error.
 * In a list, a bare word may name a list (expanded later) and is left to the list.
 */
function validateTypedLiterals(left: Operand, right: LiteralNode | ListNode, locate: Locate, problems: Problem[]): void {
  const type = operandType(left);
  if (type !== 'number' && type !== 'bool') return;
  const name = printOperand(left);
  const { items, inList } = literalsOf(right);
  for (const item of items) {
    if (inList && !item.quoted && /^[A-Za-z_][\w.-]*$/.test(item.text) && item.text !== 'true' && item.text !== 'false') continue;
    if (type === 'bool') {
      if (item.text !== 'true' && item.text !== 'false') {
        problems.push(problem(locate(item.pos), 'error', 'LANNER_RULE_BAD_VALUE', `'${item.text}' is not true or false: Falco accepts only these two words for '${name}', a boolean field`));
      }
    } else if (left.kind === 'field' && PORT_FIELDS.has(left.name) && !DECIMAL.test(item.text)) {
      if (servicePort(item.text) === undefined) {
        problems.push(problem(locate(item.pos), 'error', 'LANNER_RULE_BAD_VALUE', `'${item.text}' is neither a port number nor a service name Lanner knows (https, ssh, domain, ...): write the port number`));
      }
    } else if (left.kind === 'field' && DOUBLE_FIELDS.has(left.name) ? !REAL.test(item.text) : !DECIMAL.test(item.text)) {
      problems.push(problem(locate(item.pos), 'error', 'LANNER_RULE_BAD_VALUE', `'${item.text}' is not a decimal integer: Falco reads the numbers of '${name}' in decimal only`));
    }
  }
}

export function validateOperand(o: Operand, locate: Locate, problems: Problem[]): void {
  const f = baseField(o);
  const check = checkFieldName(f.name);
  if (check === 'unknown-class') {
    problems.push(problem(locate(f.pos), 'error', 'LANNER_RULE_UNKNOWN_FIELD_CLASS', `unknown field '${f.name}': no Falco field class '${f.name.split('.')[0]}'`));
  } else if (check === 'unknown-field') {
    problems.push(problem(locate(f.pos), 'warning', 'LANNER_RULE_UNKNOWN_FIELD', `unknown field '${f.name}'`));
  }
}

/** Operators Falco accepts on text only: on a number or a boolean it refuses the rule. */
const TEXT_ONLY: ReadonlySet<Operator> = new Set<Operator>([
  'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'glob', 'iglob', 'pmatch', 'regex',
]);
/** Booleans do not order either. */
const ORDERING: ReadonlySet<Operator> = new Set<Operator>(['<', '<=', '>', '>=']);

/**
 * Why Falco refuses `op` on what `left` reads, going by the field's type (field-catalog.ts);
 * undefined when it accepts it, or when the type is not known. Falco checks this when it loads
 * the rule ("'startswith' operator not supported for numeric filters"), so such a rule never
 * runs there.
 */
export function operatorTypeProblem(left: Operand, op: Operator): string | undefined {
  if (networkField(left) && !NETWORK_OPERATORS.has(op)) {
    return `'${op}' is not supported on '${printOperand(left)}', an address or network field: Falco compares them with =, !=, in and intersects only`;
  }
  const type = operandType(left);
  if (type === 'string' && (op === 'bcontains' || op === 'bstartswith')) {
    return `'${op}' is not supported on '${printOperand(left)}', a text field: Falco applies byte operators to byte buffers only (use contains or startswith)`;
  }
  if (type === 'number' && TEXT_ONLY.has(op)) {
    return `'${op}' is not supported on '${printOperand(left)}', a numeric field: Falco applies text operators to text fields only`;
  }
  if (type === 'bool' && (TEXT_ONLY.has(op) || ORDERING.has(op))) {
    return `'${op}' is not supported on '${printOperand(left)}', a boolean field: Falco compares booleans with =, !=, in and intersects only`;
  }
  return undefined;
}
