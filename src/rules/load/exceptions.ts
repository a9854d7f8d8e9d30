/**
 * Falco rule exceptions: read from YAML, merged on append, and turned into condition trees the
 * way Falco compiles them. For fields `[f1, f2]` with comps `[c1, c2]`, each value tuple
 * `[v1, v2]` becomes `(f1 c1 v1 and f2 c2 v2)`; the tuples are or-ed and the rule's condition
 * becomes `(condition) and not (...)`. A single field with a list operator (the default is `in`)
 * takes a flat list of values: `f in (v1, v2, ...)`. Values may name lists, which expand.
 */
import type { Node, YAMLMap } from 'yaml';
import { isListOperator, isOperator, type Expr, type ListNode, type LiteralNode, type Operator } from '../language/ast.js';
import { unquoteItem } from '../language/lexer.js';
import { parseOperand } from '../language/parser.js';
import { problem, type Problem, type SourceLocation } from '../problems.js';
import { operatorTypeProblem, validateNetworkValues, validateOperand } from '../compiler/validate.js';
import { entries, isScalarNode, scalarText, seqItems, type SourceFile } from './yaml-source.js';

/** A string or a list of strings, as `fields` and `comps` may be written. */
export interface StringOrList {
  readonly list: boolean;
  readonly items: readonly string[];
}

/** One entry of `values`: a scalar (single-field exceptions) or a tuple whose items may be lists. */
export type ExceptionValue = { readonly list: false; readonly item: string } | { readonly list: true; readonly items: readonly (string | readonly string[])[] };

export interface RuleException {
  readonly name: string;
  readonly fields?: StringOrList;
  readonly comps?: StringOrList;
  readonly values: readonly ExceptionValue[];
  readonly at: SourceLocation;
}

function stringOrList(node: Node | null): StringOrList | undefined {
  const text = scalarText(node);
  if (text !== undefined) return { list: false, items: [text] };
  const items = seqItems(node);
  if (!items) return undefined;
  const out: string[] = [];
  for (const i of items) {
    const t = scalarText(i);
    if (t === undefined) return undefined;
    out.push(t);
  }
  return { list: true, items: out };
}

function exceptionValue(node: Node | null): ExceptionValue | undefined {
  const text = scalarText(node);
  if (text !== undefined) return { list: false, item: text };
  const items = seqItems(node);
  if (!items) return undefined;
  const out: (string | string[])[] = [];
  for (const i of items) {
    const t = scalarText(i);
    if (t !== undefined) {
      out.push(t);
      continue;
    }
    const inner = seqItems(i);
    if (!inner) return undefined;
    const strings: string[] = [];
    for (const x of inner) {
      const s = scalarText(x);
      if (s === undefined) return undefined;
      strings.push(s);
    }
    out.push(strings);
  }
  return { list: true, items: out };
}

/** Reads a rule's `exceptions:` sequence; problems for malformed entries. */
export function readExceptions(node: Node | null, src: SourceFile, problems: Problem[]): RuleException[] {
  const items = seqItems(node);
  if (!items) {
    problems.push(problem(src.nodeAt(node), 'error', 'LANNER_RULE_SCHEMA', "'exceptions' must be a list of exceptions"));
    return [];
  }
  const out: RuleException[] = [];
  for (const item of items) {
    const at = src.nodeAt(item);
    if (!item || !('items' in item) || isScalarNode(item) || seqItems(item)) {
      problems.push(problem(at, 'error', 'LANNER_RULE_EXCEPTION', 'each exception must be a mapping with name, fields, comps and values'));
      continue;
    }
    let name: string | undefined;
    let fields: StringOrList | undefined;
    let comps: StringOrList | undefined;
    let values: ExceptionValue[] = [];
    let ok = true;
    for (const e of entries(item as YAMLMap)) {
      const where = src.nodeAt(e.keyNode);
      switch (e.key) {
        case 'name':
          name = scalarText(e.value);
          break;
        case 'fields':
          fields = stringOrList(e.value);
          if (!fields) {
            problems.push(problem(where, 'error', 'LANNER_RULE_EXCEPTION', "exception 'fields' must be a field name or a list of field names"));
            ok = false;
          }
          break;
        case 'comps':
          comps = stringOrList(e.value);
          if (!comps) {
            problems.push(problem(where, 'error', 'LANNER_RULE_EXCEPTION', "exception 'comps' must be an operator or a list of operators"));
            ok = false;
          }
          break;
        case 'values': {
          const vs = seqItems(e.value);
          if (!vs) {
            if (e.value !== null && scalarText(e.value) !== undefined) {
              problems.push(problem(where, 'error', 'LANNER_RULE_EXCEPTION', "exception 'values' must be a list"));
              ok = false;
            }
            break;
          }
          values = [];
          for (const v of vs) {
            const parsed = exceptionValue(v);
            if (parsed) values.push(parsed);
            else {
              problems.push(problem(src.nodeAt(v), 'error', 'LANNER_RULE_EXCEPTION', 'an exception value must be a string or a list of strings and lists'));
              ok = false;
            }
          }
          break;
        }
        default:
          problems.push(problem(where, 'warning', 'LANNER_RULE_UNKNOWN_KEY', `unknown exception key '${e.key}'`));
      }
    }
    if (!name) {
      problems.push(problem(at, 'error', 'LANNER_RULE_EXCEPTION', "an exception needs a 'name'"));
      continue;
    }
    if (!ok) continue;
    if (out.some((x) => x.name === name)) {
      problems.push(problem(at, 'warning', 'LANNER_RULE_EXCEPTION', `exception '${name}' is listed twice in this rule: both apply; give each its own name`));
    }
    out.push({ name, ...(fields ? { fields } : {}), ...(comps ? { comps } : {}), values, at });
  }
  return out;
}

/** Falco's append: values of a same-named exception are added to it; new names are added. */
export function mergeExceptions(existing: readonly RuleException[], added: readonly RuleException[], problems: Problem[]): RuleException[] {
  const out = [...existing];
  for (const a of added) {
    const i = out.findIndex((e) => e.name === a.name);
    if (i < 0) {
      if (!a.fields) problems.push(problem(a.at, 'error', 'LANNER_RULE_EXCEPTION', `exception '${a.name}' is new here, so it needs 'fields'`));
      else out.push(a);
      continue;
    }
    const prev = out[i]!;
    // Falco: "Can not append exception fields/comps to existing exception, only values".
    if (a.fields || a.comps) {
      problems.push(problem(a.at, 'error', 'LANNER_RULE_EXCEPTION', `exception '${a.name}' exists already: appending to it adds values only, not ${a.fields ? "'fields'" : "'comps'"}`));
      continue;
    }
    if (a.values.length === 0) {
      problems.push(problem(a.at, 'warning', 'LANNER_RULE_EXCEPTION', `exception '${a.name}' is appended to without 'values': nothing is added`));
      continue;
    }
    out[i] = { ...prev, values: [...prev.values, ...a.values] };
  }
  return out;
}

function literal(text: string): LiteralNode {
  const { text: t, quoted } = unquoteItem(text);
  return { kind: 'literal', text: t, quoted, pos: -1 };
}

function listOf(items: readonly string[]): ListNode {
  return { kind: 'list', items: items.map(literal), named: false, pos: -1 };
}

/**
 * The condition an exception excludes, or undefined when it has no values (Falco ignores it).
 * Problems (bad field, bad operator, tuple of the wrong length) are located at the exception.
 */
export function exceptionExpr(ex: RuleException, problems: Problem[]): Expr | undefined {
  if (!ex.fields) {
    problems.push(problem(ex.at, 'error', 'LANNER_RULE_EXCEPTION', `exception '${ex.name}' has no 'fields'`));
    return undefined;
  }
  const locate = (): SourceLocation => ex.at;
  const before = problems.length;
  const operands = ex.fields.items.map((f) => {
    const r = parseOperand(f);
    if (!r.ok) {
      problems.push(problem(ex.at, 'error', 'LANNER_RULE_EXCEPTION', `exception '${ex.name}': '${f}' is not a field: ${r.error.message}`));
      return undefined;
    }
    validateOperand(r.operand, locate, problems);
    return r.operand;
  });
  const defaultComp = ex.fields.list ? '=' : 'in';
  const comps = ex.comps ? ex.comps.items : ex.fields.items.map(() => defaultComp);
  if (ex.fields.list !== (ex.comps?.list ?? ex.fields.list) || comps.length !== ex.fields.items.length) {
    problems.push(problem(ex.at, 'error', 'LANNER_RULE_EXCEPTION', `exception '${ex.name}': fields and comps must have the same length`));
    return undefined;
  }
  comps.forEach((c, k) => {
    if (!isOperator(c) || c === 'exists') {
      problems.push(problem(ex.at, 'error', 'LANNER_RULE_BAD_OPERATOR', `exception '${ex.name}': '${c}' is not a comparison operator`));
      return;
    }
    const operand = operands[k];
    const mismatch = operand && operatorTypeProblem(operand, c);
    if (mismatch) problems.push(problem(ex.at, 'error', 'LANNER_RULE_BAD_OPERATOR', `exception '${ex.name}': ${mismatch}`));
  });
  if (problems.length > before) return undefined;
  if (ex.values.length === 0) return undefined;
  const ops = comps as Operator[];

  if (!ex.fields.list) {
    const op = ops[0]!;
    const items: string[] = [];
    for (const v of ex.values) {
      if (v.list) {
        problems.push(problem(ex.at, 'error', 'LANNER_RULE_EXCEPTION', `exception '${ex.name}': with a single field, each value must be a string`));
        return undefined;
      }
      items.push(v.item);
    }
    if (!isListOperator(op)) {
      problems.push(problem(ex.at, 'error', 'LANNER_RULE_EXCEPTION', `exception '${ex.name}': a single field takes a list operator (in, intersects, pmatch), not '${op}'`));
      return undefined;
    }
    const right = listOf(items);
    validateNetworkValues(operands[0]!, op, right, locate, problems);
    return { kind: 'check', left: operands[0]!, op, right, pos: -1, opPos: -1 };
  }

  const tuples: Expr[] = [];
  for (const v of ex.values) {
    if (!v.list || v.items.length !== ex.fields.items.length) {
      problems.push(problem(ex.at, 'error', 'LANNER_RULE_EXCEPTION', `exception '${ex.name}': each value must be a list of ${ex.fields.items.length} items, one per field`));
      return undefined;
    }
    const checks: Expr[] = [];
    for (let k = 0; k < v.items.length; k++) {
      const item = v.items[k]!;
      const op = ops[k]!;
      let right: LiteralNode | ListNode;
      if (typeof item !== 'string') {
        if (!isListOperator(op)) {
          problems.push(problem(ex.at, 'error', 'LANNER_RULE_EXCEPTION', `exception '${ex.name}': a list value needs a list operator for '${ex.fields.items[k]}', not '${op}'`));
          return undefined;
        }
        right = listOf(item);
      } else if (isListOperator(op)) right = listOf([item]);
      else right = literal(item);
      validateNetworkValues(operands[k]!, op, right, locate, problems);
      checks.push({ kind: 'check', left: operands[k]!, op, right, pos: -1, opPos: -1 });
    }
    tuples.push(checks.length === 1 ? checks[0]! : { kind: 'and', children: checks, pos: -1 });
  }
  return tuples.length === 1 ? tuples[0]! : { kind: 'or', children: tuples, pos: -1 };
}
