/**
 * The semantics of a resolved condition (macros inlined, lists expanded): each check's test
 * (`checkPlan`, which the rule engine's generated predicates call, see codegen.ts) and a
 * closure tree over them (`compileExpr`), the reference those predicates are tested against and
 * the fallback where code cannot be generated. Each check gets a specialized closure: literals
 * are prepared, `in` lists become Sets, `glob`/`regex` become RegExps and `pmatch` a prefix
 * table, so evaluating an event parses nothing and builds no RegExp.
 *
 * Missing values follow Falco: a check on a field the event does not carry, or carries as null,
 * is false whatever the operator, `!=` included (libsinsp fails the extraction and the check
 * with it); only `not` turns that into true. So `fd.name != /etc/passwd` is false for an event
 * without fd.name, and `not fd.name = /etc/passwd` is true.
 *
 * List-valued fields (k8s audit lists, ...) follow Falco too: `in` holds when every element is
 * in the list, `intersects` when any is; any other operator holds when it holds for some
 * element. An empty list counts as no value.
 *
 * Comparisons follow the type Falco declares for the field (field-catalog.ts): a text field
 * compares as text, so `container.image.tag = "1.20"` matches neither `1.2` nor `1.200`, and its
 * `<`/`>` order text as strcmp does; numeric fields, and fields of no known type, compare as
 * compare.ts adapts to the value (numbers as numbers, even delivered as text). A comparison with
 * another field (`val()`) goes by the left field's type the same way. Address and network fields
 * compare as addresses (network.ts).
 */
import type { FalcoEvent, FieldValue } from '../../core/event.js';
import { fieldKey, walk, type CheckNode, type Expr, type LiteralNode, type Operand, type Operator, type ValueNode } from '../language/ast.js';
import {
  asciiLower,
  compareText,
  compareToLiteral,
  compareValues,
  equalsLiteral,
  equalValues,
  LiteralSet,
  PathPrefixSet,
  prepareLiteral,
  textOf,
  type Scalar,
} from './compare.js';
import { operandType, type FieldType } from '../fields/field-catalog.js';
import { operandReader } from '../fields/fields.js';
import { globMatch, globToRegExp } from './glob.js';
import { PORT_FIELDS, servicePort } from '../fields/port-names.js';
import { falcoRegExp } from './regex.js';
import { addressPairTest, networkField, networkTest } from './network.js';

export type Predicate = (event: FalcoEvent) => boolean;
type ScalarTest = (v: Scalar) => boolean;

const NEVER: Predicate = () => false;
const ALWAYS: Predicate = () => true;

export function compileExpr(e: Expr): Predicate {
  switch (e.kind) {
    case 'const':
      return e.value ? ALWAYS : NEVER;
    case 'not': {
      const inner = compileExpr(e.child);
      return (ev) => !inner(ev);
    }
    case 'and':
      return compileAnd(flatten(e.children, 'and').map(compileExpr));
    case 'or':
      return compileOr(flatten(e.children, 'or').map(compileExpr));
    case 'check':
      return compileCheck(e);
    case 'macro':
      // Resolution inlines every macro before compiling; reaching one is a loader bug, and
      // matching nothing is the safe answer for an event path that must not throw.
      return NEVER;
  }
}

function flatten(children: readonly Expr[], kind: 'and' | 'or'): Expr[] {
  const out: Expr[] = [];
  for (const c of children) {
    if (c.kind === kind) out.push(...flatten(c.children, kind));
    else out.push(c);
  }
  return out;
}

function compileAnd(ps: readonly Predicate[]): Predicate {
  if (ps.length === 1) return ps[0]!;
  if (ps.length === 2) {
    const [a, b] = ps as [Predicate, Predicate];
    return (ev) => a(ev) && b(ev);
  }
  return (ev) => {
    for (let i = 0; i < ps.length; i++) if (!ps[i]!(ev)) return false;
    return true;
  };
}

function compileOr(ps: readonly Predicate[]): Predicate {
  if (ps.length === 1) return ps[0]!;
  if (ps.length === 2) {
    const [a, b] = ps as [Predicate, Predicate];
    return (ev) => a(ev) || b(ev);
  }
  return (ev) => {
    for (let i = 0; i < ps.length; i++) if (ps[i]!(ev)) return true;
    return false;
  };
}

function present(v: FieldValue | undefined): boolean {
  return v !== undefined && v !== null && !(typeof v === 'object' && v.length === 0);
}

/** A check's test of the value it read (undefined when the event does not carry the field). */
export type ValueTest = (v: FieldValue | undefined) => boolean;
/** A `field op val(other)` check's test of both values it read. */
export type PairTest = (a: FieldValue | undefined, b: FieldValue | undefined) => boolean;

/**
 * What a check does, apart from reading: one operand and a test of its value, or two operands
 * (`val()`) and a test of both, or nothing that can hold. The closure compiler and the code
 * generator (codegen.ts) both build on it, so the operators' semantics live here only.
 */
export type CheckPlan =
  | { readonly kind: 'never' }
  | { readonly kind: 'value'; readonly left: Operand; readonly test: ValueTest; readonly onText?: TextTest }
  | { readonly kind: 'pair'; readonly left: Operand; readonly right: Operand; readonly test: PairTest };

/**
 * What `test` comes to when the value is a string, where that is a plain string operation:
 * membership in a set of texts, (in)equality with a text (on a text field, any text; elsewhere
 * one that is not a number), or a prefix, suffix or substring. Most checks meet strings, and
 * generated code runs these directly.
 */
export type TextTest =
  | { readonly op: 'in'; readonly set: ReadonlySet<string> }
  | { readonly op: '=' | '!=' | 'startswith' | 'endswith' | 'contains'; readonly text: string };

const NEVER_CHECK: CheckPlan = { kind: 'never' };

function isNumber(text: string): boolean {
  return !Number.isNaN(prepareLiteral(text).num);
}

/**
 * The string-only form of a check's test, when it has a plain one (see TextTest). `type` is
 * the type of the value checked (see field-catalog.ts).
 */
function textTest(op: Operator, right: ValueNode, type: FieldType | undefined): TextTest | undefined {
  const items = itemsOf(right);
  // On a text field every literal is text; elsewhere a numeric literal matches numeric text
  // too ("80" for 80.0), so those checks keep the full test.
  const asText = type === 'string';
  if (op === 'in' || op === 'intersects') {
    return !asText && items.some((i) => isNumber(i.text)) ? undefined : { op: 'in', set: new Set(items.map((i) => i.text)) };
  }
  const first = items[0];
  if (!first) return undefined;
  switch (op) {
    case '=':
    case '==':
      return !asText && isNumber(first.text) ? undefined : { op: '=', text: first.text };
    case '!=':
      return !asText && isNumber(first.text) ? undefined : { op: '!=', text: first.text };
    case 'startswith':
    case 'endswith':
    case 'contains':
      return { op, text: first.text };
    default:
      return undefined;
  }
}

export function checkPlan(c: CheckNode): CheckPlan {
  if (c.op === 'exists') return { kind: 'value', left: c.left, test: present };
  const right = withServicePorts(c.left, c.right!);
  // Networks and addresses compare as addresses, either end of the connection for fd.net/fd.ip.
  const network = networkField(c.left);
  if (right.kind === 'fieldvalue') {
    const test = network ? addressPairTest(c.op, network) : pairTest(c.op, operandType(c.left));
    return test ? { kind: 'pair', left: c.left, right: right.operand, test } : NEVER_CHECK;
  }
  if (network) {
    const test = networkTest(c.op, itemsOf(right).map((i) => i.text), network);
    return test ? { kind: 'value', left: c.left, test } : NEVER_CHECK;
  }
  const type = operandType(c.left);
  const test = scalarTest(c.op, right, type);
  if (!test) return NEVER_CHECK;
  const onText = textTest(c.op, right, type);
  // On a list, `!=` is the negation of `=` (no element equal), not "some element differs";
  // `in` needs every element in the set; every other operator, some element.
  const eq = c.op === '!=' ? scalarTest('=', right, type)! : undefined;
  const onList = eq
    ? (items: readonly string[]) => !some(items, eq)
    : c.op === 'in'
      ? (items: readonly string[]) => every(items, test)
      : (items: readonly string[]) => some(items, test);
  return {
    kind: 'value',
    left: c.left,
    ...(onText ? { onText } : {}),
    test: (v) => {
      if (v === undefined || v === null) return false;
      if (typeof v === 'object') return v.length > 0 && onList(v);
      return test(v);
    },
  };
}

function compileCheck(c: CheckNode): Predicate {
  const plan = checkPlan(c);
  switch (plan.kind) {
    case 'never':
      return NEVER;
    case 'value': {
      const read = operandReader(plan.left);
      const test = plan.test;
      return (ev) => test(read(ev));
    }
    case 'pair': {
      const read = operandReader(plan.left);
      const readRight = operandReader(plan.right);
      const test = plan.test;
      return (ev) => test(read(ev), readRight(ev));
    }
  }
}

function some(items: readonly string[], test: ScalarTest): boolean {
  for (let i = 0; i < items.length; i++) if (test(items[i]!)) return true;
  return false;
}

function every(items: readonly string[], test: ScalarTest): boolean {
  for (let i = 0; i < items.length; i++) if (!test(items[i]!)) return false;
  return true;
}

/** On a port field, service names stand for their ports (`https` is 443), as in Falco. */
function withServicePorts(left: Operand, right: ValueNode): ValueNode {
  if (left.kind !== 'field' || left.arg !== undefined || !PORT_FIELDS.has(left.name)) return right;
  const port = (item: LiteralNode): LiteralNode => {
    const p = servicePort(item.text);
    return p === undefined ? item : { ...item, text: String(p) };
  };
  if (right.kind === 'literal') return port(right);
  if (right.kind === 'list') return { ...right, items: right.items.map(port) };
  return right;
}

function itemsOf(v: ValueNode): readonly LiteralNode[] {
  return v.kind === 'list' ? v.items : v.kind === 'literal' ? [v] : [];
}

function hexToText(hex: string): string | undefined {
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return undefined;
  return Buffer.from(hex, 'hex').toString('latin1');
}

/**
 * The test one scalar value must pass, with everything about the literal prepared now. `type`
 * is the type of the value (see field-catalog.ts): a text field's comparisons are on text.
 */
function scalarTest(op: Operator, right: ValueNode, type: FieldType | undefined): ScalarTest | undefined {
  const items = itemsOf(right);
  const first = items[0];
  if (type === 'string') {
    const test = textScalarTest(op, items);
    if (test) return test;
  }
  if (op === 'in' || op === 'intersects') {
    const set = new LiteralSet(items.map((i) => i.text));
    return (v) => set.has(v);
  }
  if (op === 'pmatch') {
    const paths = new PathPrefixSet(items.map((i) => i.text));
    return (v) => typeof v === 'string' && paths.matches(v);
  }
  if (!first) return undefined;
  const text = first.text;
  switch (op) {
    case '=':
    case '==': {
      const lit = prepareLiteral(text);
      return (v) => equalsLiteral(v, lit);
    }
    case '!=': {
      const lit = prepareLiteral(text);
      return (v) => !equalsLiteral(v, lit);
    }
    case '<': {
      const lit = prepareLiteral(text);
      return (v) => compareToLiteral(v, lit) < 0;
    }
    case '<=': {
      const lit = prepareLiteral(text);
      return (v) => compareToLiteral(v, lit) <= 0;
    }
    case '>': {
      const lit = prepareLiteral(text);
      return (v) => compareToLiteral(v, lit) > 0;
    }
    case '>=': {
      const lit = prepareLiteral(text);
      return (v) => compareToLiteral(v, lit) >= 0;
    }
    case 'contains':
      return (v) => textOf(v).includes(text);
    case 'icontains': {
      const needle = asciiLower(text);
      return (v) => asciiLower(textOf(v)).includes(needle);
    }
    case 'startswith':
      return (v) => textOf(v).startsWith(text);
    case 'endswith':
      return (v) => textOf(v).endsWith(text);
    case 'bcontains': {
      const bytes = hexToText(text);
      return bytes === undefined ? undefined : (v) => textOf(v).includes(bytes);
    }
    case 'bstartswith': {
      const bytes = hexToText(text);
      return bytes === undefined ? undefined : (v) => textOf(v).startsWith(bytes);
    }
    case 'glob': {
      const re = globToRegExp(text);
      return (v) => re.test(textOf(v));
    }
    case 'iglob': {
      const re = globToRegExp(asciiLower(text));
      return (v) => re.test(asciiLower(textOf(v)));
    }
    case 'regex': {
      const re = falcoRegExp(text);
      return re ? (v) => re.test(textOf(v)) : undefined;
    }
  }
}

/** Comparisons on a text field, where they differ from the adaptive ones: text against text. */
function textScalarTest(op: Operator, items: readonly LiteralNode[]): ScalarTest | undefined {
  if (op === 'in' || op === 'intersects') {
    const set = new Set(items.map((i) => i.text));
    return (v) => set.has(textOf(v));
  }
  const test = TEXT_PAIR_TESTS[op];
  const first = items[0];
  if (!test || !first) return undefined;
  const text = first.text;
  return (v) => test(v, text);
}

type ScalarPairTest = (a: Scalar, b: Scalar) => boolean;

const PAIR_TESTS: Partial<Record<Operator, ScalarPairTest>> = {
  '=': equalValues,
  '==': equalValues,
  '!=': (a, b) => !equalValues(a, b),
  '<': (a, b) => compareValues(a, b) < 0,
  '<=': (a, b) => compareValues(a, b) <= 0,
  '>': (a, b) => compareValues(a, b) > 0,
  '>=': (a, b) => compareValues(a, b) >= 0,
  contains: (a, b) => textOf(a).includes(textOf(b)),
  icontains: (a, b) => asciiLower(textOf(a)).includes(asciiLower(textOf(b))),
  startswith: (a, b) => textOf(a).startsWith(textOf(b)),
  endswith: (a, b) => textOf(a).endsWith(textOf(b)),
  bcontains: (a, b) => textOf(a).includes(textOf(b)),
  bstartswith: (a, b) => textOf(a).startsWith(textOf(b)),
  glob: (a, b) => globMatch(textOf(b), textOf(a)),
  iglob: (a, b) => globMatch(asciiLower(textOf(b)), asciiLower(textOf(a))),
  in: equalValues,
  intersects: equalValues,
};

/**
 * A text field's comparisons, with a literal or another field's value, where they differ from
 * the adaptive ones: text against text, ordered as strcmp orders.
 */
const TEXT_PAIR_TESTS: Partial<Record<Operator, ScalarPairTest>> = {
  '=': (a, b) => textOf(a) === textOf(b),
  '==': (a, b) => textOf(a) === textOf(b),
  '!=': (a, b) => textOf(a) !== textOf(b),
  '<': (a, b) => compareText(textOf(a), textOf(b)) < 0,
  '<=': (a, b) => compareText(textOf(a), textOf(b)) <= 0,
  '>': (a, b) => compareText(textOf(a), textOf(b)) > 0,
  '>=': (a, b) => compareText(textOf(a), textOf(b)) >= 0,
  in: (a, b) => textOf(a) === textOf(b),
  intersects: (a, b) => textOf(a) === textOf(b),
};

/**
 * `field op val(other)`: both sides read per event; the same missing-value rule applies. As
 * with literals, the left field's type decides: on a text field `proc.name = val(proc.pname)`
 * compares text, so "007" and "7" differ.
 */
function pairTest(op: Operator, type: FieldType | undefined): PairTest | undefined {
  const test = (type === 'string' ? TEXT_PAIR_TESTS[op] : undefined) ?? PAIR_TESTS[op];
  if (!test) return undefined;
  return (a, b) => {
    if (a === undefined || a === null) return false;
    if (b === undefined || b === null) return false;
    if (typeof b === 'object') {
      if (op !== 'in' && op !== 'intersects') return false;
      if (typeof a !== 'object') return b.includes(textOf(a));
      return op === 'in' ? a.every((x) => b.includes(x)) : a.some((x) => b.includes(x));
    }
    if (typeof a === 'object') {
      for (let i = 0; i < a.length; i++) if (test(a[i]!, b)) return true;
      return false;
    }
    return test(a, b);
  };
}

/** Every field key a resolved condition reads (`proc.aname[2]`, `evt.arg.flags`, ...). */
export function fieldsOf(e: Expr): Set<string> {
  const out = new Set<string>();
  const add = (o: Operand): void => {
    if (o.kind === 'field') out.add(fieldKey(o));
    else add(o.operand);
  };
  for (const node of walk(e)) {
    if (node.kind !== 'check') continue;
    add(node.left);
    if (node.right?.kind === 'fieldvalue') add(node.right.operand);
  }
  return out;
}
