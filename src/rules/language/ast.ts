/**
 * The syntax tree of a Falco condition, and its printer. Positions are offsets into the text the
 * node was parsed from; nodes built from YAML (exceptions) or expanded from lists carry -1.
 */

export const TRANSFORMERS = ['tolower', 'toupper', 'b64', 'basename', 'len'] as const;
export type Transformer = (typeof TRANSFORMERS)[number];

/** Operators in the order the lexer must try them (longest or more specific first). */
export const NUM_OPERATORS = ['<=', '<', '>=', '>'] as const;
export const STR_OPERATORS = [
  '==', '=', '!=',
  'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex',
] as const;
export const LIST_OPERATORS = ['intersects', 'in', 'pmatch'] as const;
export const UNARY_OPERATORS = ['exists'] as const;

export type NumOperator = (typeof NUM_OPERATORS)[number];
export type StrOperator = (typeof STR_OPERATORS)[number];
export type ListOperator = (typeof LIST_OPERATORS)[number];
export type UnaryOperator = (typeof UNARY_OPERATORS)[number];
export type BinaryOperator = NumOperator | StrOperator | ListOperator;
export type Operator = BinaryOperator | UnaryOperator;

const OPERATOR_SET: ReadonlySet<string> = new Set<string>([
  ...NUM_OPERATORS, ...STR_OPERATORS, ...LIST_OPERATORS, ...UNARY_OPERATORS,
]);

export function isOperator(text: string): text is Operator {
  return OPERATOR_SET.has(text);
}

export function isListOperator(op: Operator): op is ListOperator {
  return op === 'in' || op === 'intersects' || op === 'pmatch';
}

export function isNumOperator(op: Operator): op is NumOperator {
  return op === '<' || op === '<=' || op === '>' || op === '>=';
}

/** A field as written: `proc.aname[2]` is name `proc.aname`, arg `2`. */
export interface FieldNode {
  readonly kind: 'field';
  readonly name: string;
  readonly arg?: string;
  readonly pos: number;
}

export interface TransformNode {
  readonly kind: 'transform';
  readonly fn: Transformer;
  readonly operand: Operand;
  readonly pos: number;
}

/** What a check reads from the event: a field, possibly through transformers. */
export type Operand = FieldNode | TransformNode;

export interface LiteralNode {
  readonly kind: 'literal';
  readonly text: string;
  /** Quoted literals are never taken for list names. */
  readonly quoted: boolean;
  readonly pos: number;
}

export interface ListNode {
  readonly kind: 'list';
  readonly items: readonly LiteralNode[];
  /** True for `in name` (a list name without parentheses). */
  readonly named: boolean;
  readonly pos: number;
}

/** `val(field)` or a transformer on the right: compare to another field of the same event. */
export interface FieldValueNode {
  readonly kind: 'fieldvalue';
  readonly operand: Operand;
  /** True when written as `val(...)`, false for a bare transformer such as `tolower(proc.name)`. */
  readonly val: boolean;
  readonly pos: number;
}

export type ValueNode = LiteralNode | ListNode | FieldValueNode;

export interface CheckNode {
  readonly kind: 'check';
  readonly left: Operand;
  readonly op: Operator;
  /** Absent for `exists`. */
  readonly right?: ValueNode;
  readonly pos: number;
  readonly opPos: number;
}

export interface MacroRefNode {
  readonly kind: 'macro';
  readonly name: string;
  readonly pos: number;
}

export interface AndNode {
  readonly kind: 'and';
  readonly children: readonly Expr[];
  readonly pos: number;
}

export interface OrNode {
  readonly kind: 'or';
  readonly children: readonly Expr[];
  readonly pos: number;
}

export interface NotNode {
  readonly kind: 'not';
  readonly child: Expr;
  readonly pos: number;
}

/** Always true or always false: what an empty condition or an empty `or` reduces to. */
export interface ConstNode {
  readonly kind: 'const';
  readonly value: boolean;
  readonly pos: number;
}

export type Expr = AndNode | OrNode | NotNode | CheckNode | MacroRefNode | ConstNode;

/** The key a field is read under in `output_fields`: `proc.aname[2]`, `evt.arg.flags`. */
export function fieldKey(f: FieldNode): string {
  return f.arg === undefined ? f.name : `${f.name}[${f.arg}]`;
}

/** The innermost field of an operand. */
export function baseField(o: Operand): FieldNode {
  return o.kind === 'field' ? o : baseField(o.operand);
}

// ---------------------------------------------------------------------------------------------
// Printing. The printer's output parses back to the same tree (tested as a property), so it is
// also how a resolved condition is shown to users and fingerprinted.

const BARE_VALUE = /^[^\s\x08()=,"'\\]+$/;
const BARE_ARG = /^[^\s\x08[\]"'\\]+$/;

export function quoteString(text: string): string {
  let out = '"';
  for (const ch of text) {
    switch (ch) {
      case '"': out += '\\"'; break;
      case '\\': out += '\\\\'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      case '\b': out += '\\b'; break;
      case '\f': out += '\\f'; break;
      default: out += ch;
    }
  }
  return out + '"';
}

function printLiteral(l: LiteralNode): string {
  return l.quoted || !BARE_VALUE.test(l.text) ? quoteString(l.text) : l.text;
}

export function printOperand(o: Operand): string {
  if (o.kind === 'transform') return `${o.fn}(${printOperand(o.operand)})`;
  if (o.arg === undefined) return o.name;
  return `${o.name}[${BARE_ARG.test(o.arg) ? o.arg : quoteString(o.arg)}]`;
}

function printValue(v: ValueNode): string {
  switch (v.kind) {
    case 'literal':
      return printLiteral(v);
    case 'list':
      return v.named && v.items.length === 1 && !v.items[0]!.quoted ? v.items[0]!.text : `(${v.items.map(printLiteral).join(', ')})`;
    case 'fieldvalue':
      return v.val ? `val(${printOperand(v.operand)})` : printOperand(v.operand);
  }
}

/** Text for a tree, fully parenthesized where precedence would otherwise be ambiguous. */
export function printExpr(e: Expr): string {
  switch (e.kind) {
    case 'const':
      // Falco has no boolean literals; these never come from a parse, only from reductions.
      return e.value ? '(evt.num exists or not evt.num exists)' : '(evt.num exists and not evt.num exists)';
    case 'macro':
      return e.name;
    case 'check':
      return e.right === undefined ? `${printOperand(e.left)} ${e.op}` : `${printOperand(e.left)} ${e.op} ${printValue(e.right)}`;
    case 'not':
      return e.child.kind === 'not' ? `not (${printExpr(e.child)})` : `not ${printOperand2(e.child)}`;
    case 'and':
      return e.children.map(printOperand2).join(' and ');
    case 'or':
      return e.children.map((c) => (c.kind === 'or' ? `(${printExpr(c)})` : printExpr(c))).join(' or ');
  }
}

/** An operand of `and`/`not`: anything looser than a single check gets parentheses. */
function printOperand2(e: Expr): string {
  return e.kind === 'and' || e.kind === 'or' || e.kind === 'const' ? `(${printExpr(e)})` : printExpr(e);
}

/** Every node of a tree, depth first. */
export function* walk(e: Expr): Generator<Expr> {
  yield e;
  if (e.kind === 'and' || e.kind === 'or') for (const c of e.children) yield* walk(c);
  else if (e.kind === 'not') yield* walk(e.child);
}
