/**
 * Falco's condition grammar (as libsinsp defines it), parsed by recursive descent into ./ast.ts.
 *
 *   Expr      ::= OrExpr
 *   OrExpr    ::= AndExpr ('or' AndExpr)*
 *   AndExpr   ::= NotExpr ('and' NotExpr)*
 *   NotExpr   ::= ('not')* Check
 *   Check     ::= '(' Expr ')' | Operand Condition | MacroName
 *   Operand   ::= Field | Transformer '(' Operand ')'
 *   Condition ::= 'exists' | NumOp (Number | RhsField) | StrOp (String | RhsField)
 *               | ListOp ('(' String (',' String)* ')' | '()' | ListName | RhsField)
 *   RhsField  ::= 'val(' Operand ')' | Transformer '(' Operand ')'
 *
 * So `not` binds tighter than `and`, and `and` tighter than `or`.
 */
import {
  TRANSFORMERS,
  type Expr,
  type FieldNode,
  type FieldValueNode,
  type ListNode,
  type LiteralNode,
  type Operand,
  type Operator,
  type Transformer,
  type ValueNode,
} from './ast.js';
import { ConditionSyntaxError, Scanner } from './lexer.js';

export { ConditionSyntaxError } from './lexer.js';

export type ParseResult = { readonly ok: true; readonly expr: Expr } | { readonly ok: false; readonly error: ConditionSyntaxError };

const MAX_DEPTH = 1000;
const TRANSFORMER_CALL = new RegExp(`(?:${TRANSFORMERS.join('|')})\\(`, 'y');
const WORD_STR_OPS = ['glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex'] as const;
const LIST_OPS = ['intersects', 'in', 'pmatch'] as const;
const ALL_OPS_TEXT = "'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'";

class Parser {
  private readonly s: Scanner;
  private depth = 0;

  constructor(text: string) {
    this.s = new Scanner(text);
  }

  parse(): Expr {
    this.s.blank();
    if (this.s.atEnd()) throw new ConditionSyntaxError(0, 'the condition is empty');
    const expr = this.or();
    this.s.blank();
    if (!this.s.atEnd()) throw new ConditionSyntaxError(this.s.pos, `unexpected '${this.snippet()}': expected 'and', 'or' or the end of the condition`);
    return expr;
  }

  /** A whole operand and nothing else (exception fields, output tokens). */
  operandOnly(): Operand {
    this.s.blank();
    const operand = this.operand();
    this.s.blank();
    if (!this.s.atEnd()) throw new ConditionSyntaxError(this.s.pos, `unexpected '${this.snippet()}' after the field`);
    return operand;
  }

  /** The longest operand at the start of the text; used by output templates. */
  operandPrefix(): { operand: Operand; end: number } {
    const operand = this.operand();
    return { operand, end: this.s.pos };
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new ConditionSyntaxError(this.s.pos, `the condition nests deeper than ${MAX_DEPTH} levels`);
  }

  private or(): Expr {
    this.enter();
    const pos = this.s.pos;
    const children = [this.and()];
    this.s.blank();
    while (this.joiner('or')) {
      children.push(this.and());
      this.s.blank();
    }
    this.depth--;
    return children.length === 1 ? children[0]! : { kind: 'or', children, pos };
  }

  private and(): Expr {
    this.enter();
    this.s.blank();
    const pos = this.s.pos;
    const children = [this.not()];
    this.s.blank();
    while (this.joiner('and')) {
      children.push(this.not());
      this.s.blank();
    }
    this.depth--;
    return children.length === 1 ? children[0]! : { kind: 'and', children, pos };
  }

  /** `and`/`or` must be followed by a blank or a parenthesis, as in libsinsp. */
  private joiner(word: 'and' | 'or'): boolean {
    if (!this.s.text.startsWith(word, this.s.pos)) return false;
    const after = this.s.text.charAt(this.s.pos + word.length);
    if (after === '(' || /\s/.test(after)) {
      this.s.pos += word.length;
      this.s.blank();
      return true;
    }
    if (after === '') throw new ConditionSyntaxError(this.s.pos, `expected a condition after '${word}'`);
    return false;
  }

  private not(): Expr {
    this.enter();
    this.s.blank();
    const pos = this.s.pos;
    let negate = false;
    // libsinsp toggles on each `not`, so `not not a` is `a`.
    for (;;) {
      const after = this.s.text.charAt(this.s.pos + 3);
      if (this.s.text.startsWith('not', this.s.pos) && (after === '(' || after === ' ' || after === '\t' || after === '\n' || after === '\r' || after === '\b')) {
        this.s.pos += 3;
        this.s.blank();
        negate = !negate;
      } else break;
    }
    const child = this.check();
    this.depth--;
    return negate ? { kind: 'not', child, pos } : child;
  }

  private check(): Expr {
    this.s.blank();
    const pos = this.s.pos;
    if (this.s.literal('(')) {
      const inner = this.or();
      this.s.blank();
      if (!this.s.literal(')')) throw new ConditionSyntaxError(this.s.pos, this.s.atEnd() ? "missing ')'" : `expected ')' but found '${this.snippet()}'`);
      return inner;
    }
    if (this.atTransformer()) return this.condition(this.operand(), pos);
    const save = this.s.pos;
    if (this.s.fieldName() !== undefined) {
      this.s.pos = save;
      return this.condition(this.operand(), pos);
    }
    const name = this.s.identifier();
    if (name !== undefined) return { kind: 'macro', name, pos };
    if (this.s.atEnd()) throw new ConditionSyntaxError(pos, 'the condition ends where a check was expected');
    throw new ConditionSyntaxError(pos, `expected '(', a field check or a macro name, found '${this.snippet()}'`);
  }

  private atTransformer(): boolean {
    TRANSFORMER_CALL.lastIndex = this.s.pos;
    return TRANSFORMER_CALL.test(this.s.text);
  }

  private operand(): Operand {
    this.enter();
    const pos = this.s.pos;
    let result: Operand;
    if (this.atTransformer()) {
      const fn = this.s.identifier() as Transformer;
      this.s.literal('(');
      this.s.blank();
      const inner = this.operand();
      this.s.blank();
      if (!this.s.literal(')')) throw new ConditionSyntaxError(this.s.pos, `expected ')' to close ${fn}(`);
      result = { kind: 'transform', fn, operand: inner, pos };
    } else {
      result = this.field();
    }
    this.depth--;
    return result;
  }

  private field(): FieldNode {
    const pos = this.s.pos;
    const name = this.s.fieldName();
    if (name === undefined) throw new ConditionSyntaxError(pos, `expected a field name (class.field), found '${this.snippet()}'`);
    if (!this.s.literal('[')) return { kind: 'field', name, pos };
    const arg = this.s.quoted() ?? this.s.fieldArgBare();
    if (arg === undefined) throw new ConditionSyntaxError(this.s.pos, 'expected a field argument: a quoted string or a bare word');
    if (!this.s.literal(']')) throw new ConditionSyntaxError(this.s.pos, "expected ']' after the field argument");
    return { kind: 'field', name, arg, pos };
  }

  private condition(left: Operand, pos: number): Expr {
    this.s.blank();
    const opPos = this.s.pos;
    if (this.s.keyword('exists')) return { kind: 'check', left, op: 'exists', pos, opPos };
    const op = this.operator();
    if (op === undefined) {
      const word = this.snippet();
      throw new ConditionSyntaxError(
        opPos,
        this.s.atEnd() ? `expected an operator after the field, one of ${ALL_OPS_TEXT}` : `unknown operator '${word}': expected one of ${ALL_OPS_TEXT}`,
        true,
      );
    }
    this.s.blank();
    const right = this.value(op);
    return { kind: 'check', left, op, right, pos, opPos };
  }

  private operator(): Operator | undefined {
    const s = this.s;
    for (const op of ['<=', '<', '>=', '>', '==', '=', '!='] as const) if (s.literal(op)) return op;
    for (const op of WORD_STR_OPS) {
      if (!s.keyword(op)) continue;
      // libsinsp's word operators are the word and a blank ("startswith "): `startswith"x"` is not one.
      if (!/[ \t\b\r\n]/.test(s.text.charAt(s.pos))) {
        throw new ConditionSyntaxError(s.pos, s.atEnd() ? `'${op}' needs a value` : `'${op}' needs a blank before its value`);
      }
      return op;
    }
    for (const op of LIST_OPS) if (s.keyword(op)) return op;
    return undefined;
  }

  private value(op: Operator): ValueNode {
    const pos = this.s.pos;
    const rhs = this.rhsField();
    if (rhs) return rhs;
    if (op === '<' || op === '<=' || op === '>' || op === '>=') {
      const n = this.s.number();
      if (n === undefined) throw new ConditionSyntaxError(pos, `'${op}' needs a number, found '${this.snippet()}'`, true);
      return { kind: 'literal', text: n, quoted: false, pos };
    }
    if (op === 'in' || op === 'intersects' || op === 'pmatch') return this.list(op);
    const quoted = this.s.quoted();
    if (quoted !== undefined) return { kind: 'literal', text: quoted, quoted: true, pos };
    const bare = this.s.bareString();
    if (bare !== undefined) return { kind: 'literal', text: bare, quoted: false, pos };
    throw new ConditionSyntaxError(pos, this.s.atEnd() ? `'${op}' needs a value` : `'${op}' needs a value, found '${this.snippet()}'`);
  }

  private rhsField(): FieldValueNode | undefined {
    const pos = this.s.pos;
    if (this.s.literal('val(')) {
      this.s.blank();
      const operand = this.operand();
      this.s.blank();
      if (!this.s.literal(')')) throw new ConditionSyntaxError(this.s.pos, "expected ')' to close val(");
      return { kind: 'fieldvalue', operand, val: true, pos };
    }
    if (this.atTransformer()) return { kind: 'fieldvalue', operand: this.operand(), val: false, pos };
    return undefined;
  }

  private list(op: Operator): ListNode {
    const pos = this.s.pos;
    if (!this.s.literal('(')) {
      const name = this.s.identifier();
      if (name === undefined) throw new ConditionSyntaxError(pos, `'${op}' needs a list: (a, b, ...) or a list name`);
      return { kind: 'list', items: [{ kind: 'literal', text: name, quoted: false, pos }], named: true, pos };
    }
    const items: LiteralNode[] = [];
    this.s.blank();
    if (this.s.literal(')')) return { kind: 'list', items, named: false, pos };
    for (;;) {
      this.s.blank();
      const itemPos = this.s.pos;
      const quoted = this.s.quoted();
      if (quoted !== undefined) items.push({ kind: 'literal', text: quoted, quoted: true, pos: itemPos });
      else {
        const bare = this.s.bareString();
        if (bare === undefined) throw new ConditionSyntaxError(itemPos, this.s.atEnd() ? "the list is not closed: missing ')'" : `expected a list item, found '${this.snippet()}'`);
        items.push({ kind: 'literal', text: bare, quoted: false, pos: itemPos });
      }
      this.s.blank();
      if (this.s.literal(',')) continue;
      if (this.s.literal(')')) return { kind: 'list', items, named: false, pos };
      throw new ConditionSyntaxError(this.s.pos, this.s.atEnd() ? "the list is not closed: missing ')'" : `expected ',' or ')' in the list, found '${this.snippet()}'`);
    }
  }

  /** The next word or character, for messages. */
  private snippet(): string {
    const rest = this.s.text.slice(this.s.pos);
    const m = /^[^\s()]+/.exec(rest);
    return m ? m[0].slice(0, 40) : rest.charAt(0);
  }
}

function attempt<T>(fn: () => T): { ok: true; value: T } | { ok: false; error: ConditionSyntaxError } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (err instanceof ConditionSyntaxError) return { ok: false, error: err };
    throw err;
  }
}

/** Parses a condition; a syntax error comes back with the offset of the offending token. */
export function parseCondition(text: string): ParseResult {
  const r = attempt(() => new Parser(text).parse());
  return r.ok ? { ok: true, expr: r.value } : r;
}

/** Parses a field, possibly with transformers (`proc.aname[2]`, `tolower(proc.name)`). */
export function parseOperand(text: string): { ok: true; operand: Operand } | { ok: false; error: ConditionSyntaxError } {
  const r = attempt(() => new Parser(text).operandOnly());
  return r.ok ? { ok: true, operand: r.value } : r;
}

/** The operand at the start of `text`, if any, and where it ends; for `%field` in outputs. */
export function parseOperandPrefix(text: string): { operand: Operand; end: number } | undefined {
  const r = attempt(() => new Parser(text).operandPrefix());
  return r.ok ? r.value : undefined;
}
