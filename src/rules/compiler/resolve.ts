/**
 * Macro and list resolution: the step between parsing and compiling. Macros are inlined (each
 * resolved once, cycles reported with their chain) and list names inside list literals are
 * replaced by the list's items, as Falco does (`proc.name in (shell_binaries, ksh)`). Lists and
 * macros resolve by name against the final definitions, so a later file may define what an
 * earlier one uses.
 */
import { printOperand, type CheckNode, type Expr, type ListNode, type LiteralNode } from '../language/ast.js';
import { unquoteItem } from '../language/lexer.js';
import { networkField, NETWORK_OPERATORS, parseNetworkLiteral } from './network.js';
import { problem, type Problem, type SourceLocation } from '../problems.js';

export type Locate = (pos: number) => SourceLocation;

/** A parsed condition with the way back from its offsets to the file. */
export interface ConditionUnit {
  readonly text: string;
  /** Undefined when the text did not parse (the syntax error is already reported). */
  readonly expr: Expr | undefined;
  readonly locate: Locate;
}

export interface ListDef {
  readonly items: readonly string[];
  /** Where each item is written, in step with `items`. */
  readonly itemsAt: readonly SourceLocation[];
  readonly at: SourceLocation;
}

/** Where an item that came from a list is written, and which list it is in. */
interface ItemOrigin {
  readonly list: string;
  readonly at: SourceLocation;
}

export interface MacroDef {
  readonly unit: ConditionUnit;
  readonly at: SourceLocation;
  /** Places in load order of its first definition and of its last change (see Collector). */
  readonly definedAt: number;
  readonly changedAt: number;
}

const PENDING = Symbol('pending');
const BROKEN = Symbol('broken');
type MacroState = Expr | typeof PENDING | typeof BROKEN;

export class Resolver {
  private readonly macroState = new Map<string, MacroState>();
  private readonly listState = new Map<string, readonly LiteralNode[] | typeof PENDING | typeof BROKEN>();
  /** Names of the lists and macros some condition used, for "unused" reporting. */
  readonly usedLists = new Set<string>();
  readonly usedMacros = new Set<string>();
  private readonly itemOrigins = new WeakMap<LiteralNode, ItemOrigin>();
  /** List items already checked as addresses or networks, so each is reported once. */
  private readonly checkedItems = new Set<string>();

  constructor(
    private readonly lists: ReadonlyMap<string, ListDef>,
    private readonly macros: ReadonlyMap<string, MacroDef>,
    private readonly problems: Problem[],
  ) {}

  /** A list's items with nested list names expanded; undefined when it is not defined. */
  listItems(name: string): readonly LiteralNode[] | undefined {
    const state = this.listState.get(name);
    if (state === BROKEN) return [];
    if (state === PENDING) return undefined;
    if (state) return state;
    const def = this.lists.get(name);
    if (!def) return undefined;
    this.listState.set(name, PENDING);
    const out: LiteralNode[] = [];
    for (let k = 0; k < def.items.length; k++) {
      const raw = def.items[k]!;
      if (raw !== name && this.lists.has(raw)) {
        if (this.listState.get(raw) === PENDING) {
          this.problems.push(problem(def.at, 'error', 'LANNER_RULE_LIST_CYCLE', `list '${name}' includes list '${raw}', which includes '${name}' again`));
          this.listState.set(name, BROKEN);
          return [];
        }
        this.usedLists.add(raw);
        out.push(...(this.listItems(raw) ?? []));
        continue;
      }
      const { text, quoted } = unquoteItem(raw);
      const literal: LiteralNode = { kind: 'literal', text, quoted, pos: -1 };
      this.itemOrigins.set(literal, { list: name, at: def.itemsAt[k] ?? def.at });
      out.push(literal);
    }
    this.listState.set(name, out);
    return out;
  }

  /** Resolves every macro, so errors in unused macros are reported too. */
  resolveAllMacros(): void {
    for (const name of this.macros.keys()) this.macro(name, []);
  }

  /** A macro's expanded tree; undefined when it has errors (reported at the macro). */
  resolvedMacro(name: string): Expr | undefined {
    const r = this.macro(name, []);
    return typeof r === 'symbol' ? undefined : r;
  }

  private macro(name: string, stack: string[]): MacroState {
    const state = this.macroState.get(name);
    if (state !== undefined) return state;
    const def = this.macros.get(name)!;
    if (!def.unit.expr) {
      this.macroState.set(name, BROKEN);
      return BROKEN;
    }
    this.macroState.set(name, PENDING);
    stack.push(name);
    const resolved = this.walk(def.unit.expr, def.unit.locate, stack, false);
    stack.pop();
    const result = resolved ?? BROKEN;
    this.macroState.set(name, result);
    return result;
  }

  /**
   * Expands macros and lists in a tree. Problems go to the loader's list, located through
   * `locate`; undefined when the tree cannot be compiled.
   */
  resolve(expr: Expr, locate: Locate): Expr | undefined {
    return this.walk(expr, locate, [], true);
  }

  private walk(e: Expr, locate: Locate, stack: string[], reportBroken: boolean): Expr | undefined {
    switch (e.kind) {
      case 'and':
      case 'or': {
        let ok = true;
        const children: Expr[] = [];
        for (const c of e.children) {
          const r = this.walk(c, locate, stack, reportBroken);
          if (r) children.push(r);
          else ok = false;
        }
        return ok ? { kind: e.kind, children, pos: e.pos } : undefined;
      }
      case 'not': {
        const child = this.walk(e.child, locate, stack, reportBroken);
        return child ? { kind: 'not', child, pos: e.pos } : undefined;
      }
      case 'const':
        return e;
      case 'macro':
        return this.inline(e.name, e.pos, locate, stack, reportBroken);
      case 'check':
        return this.expandLists(e, locate);
    }
  }

  private inline(name: string, pos: number, locate: Locate, stack: string[], reportBroken: boolean): Expr | undefined {
    if (!this.macros.has(name)) {
      const hint = this.lists.has(name) ? ` ('${name}' is a list: use it after an operator, as in (${name}))` : '';
      this.problems.push(problem(locate(pos), 'error', 'LANNER_RULE_UNKNOWN_MACRO', `unknown macro '${name}'${hint}`));
      return undefined;
    }
    this.usedMacros.add(name);
    this.checkMacroOrder(name, pos, locate, stack);
    if (this.macroState.get(name) === PENDING) {
      const chain = [...stack.slice(stack.indexOf(name)), name].join(' -> ');
      this.problems.push(problem(locate(pos), 'error', 'LANNER_RULE_MACRO_CYCLE', `macros refer to each other in a cycle: ${chain}`));
      return undefined;
    }
    const r = this.macro(name, stack);
    if (typeof r !== 'symbol') return r;
    if (reportBroken) {
      this.problems.push(problem(locate(pos), 'error', 'LANNER_RULE_BROKEN_DEPENDENCY', `macro '${name}' has errors (reported where it is defined), so this condition cannot be compiled`));
    }
    return undefined;
  }

  /**
   * Falco lets a macro use only macros defined before it ("Undefined macro"); rules may use any.
   * Lanner resolves by the final definitions, so this is a warning, and only where no change
   * to the using macro came after the used one's definition.
   */
  private checkMacroOrder(name: string, pos: number, locate: Locate, stack: readonly string[]): void {
    const userName = stack[stack.length - 1];
    if (userName === undefined) return;
    const user = this.macros.get(userName)!;
    const used = this.macros.get(name)!;
    if (used.definedAt <= user.changedAt) return;
    this.problems.push(
      problem(locate(pos), 'warning', 'LANNER_RULE_MACRO_ORDER', `macro '${userName}' uses macro '${name}', which is defined after it (${used.at.file}:${used.at.line}): Falco refuses this as an undefined macro; define '${name}' first`),
    );
  }

  private expandLists(c: CheckNode, locate: Locate): CheckNode {
    const right = c.right;
    if (!right || right.kind !== 'list') return c;
    if (right.named) {
      const name = right.items[0]!.text;
      const items = this.listItems(name);
      if (items === undefined) {
        this.problems.push(problem(locate(right.pos), 'error', 'LANNER_RULE_UNKNOWN_LIST', `unknown list '${name}'`));
        return c;
      }
      this.usedLists.add(name);
      this.checkListedAddresses(c, items);
      return { ...c, right: { kind: 'list', items, named: false, pos: right.pos } };
    }
    if (!right.items.some((i) => !i.quoted && this.lists.has(i.text))) return c;
    const items: LiteralNode[] = [];
    for (const item of right.items) {
      const expanded = item.quoted ? undefined : this.listItems(item.text);
      if (expanded) {
        this.usedLists.add(item.text);
        for (const one of expanded) items.push(one);
      } else items.push(item);
    }
    this.checkListedAddresses(c, items);
    const list: ListNode = { kind: 'list', items, named: false, pos: right.pos };
    return { ...c, right: list };
  }

  /**
   * Items that came from lists, on an address or network field: Falco parses them when the rule
   * loads and refuses a bad one. Each is reported where the list has it, once per kind of field.
   */
  private checkListedAddresses(c: CheckNode, items: readonly LiteralNode[]): void {
    const field = networkField(c.left);
    if (!field || !NETWORK_OPERATORS.has(c.op)) return;
    for (const item of items) {
      const origin = this.itemOrigins.get(item);
      if (!origin) continue;
      const key = `${field.kind}\0${field.network ?? ''}\0${origin.list}\0${item.text}`;
      if (this.checkedItems.has(key)) continue;
      this.checkedItems.add(key);
      const parsed = parseNetworkLiteral(item.text, field);
      const where = `in list '${origin.list}', compared with ${printOperand(c.left)}`;
      if (!parsed.ok) this.problems.push(problem(origin.at, 'error', 'LANNER_RULE_BAD_VALUE', `${parsed.error} (${where})`));
    }
  }
}
