/**
 * Conditions compiled to JavaScript functions, once, when rules load: what the rule engine runs
 * per event. A closure tree (compile.ts) costs a call per node and reads every field through one
 * shared `fields[key]` site, which the optimizer can only treat generically (tens of
 * nanoseconds per read, with a hundred reads per event over a hundred rules). A generated
 * function is one body per condition: `and`/`or`/`not` are plain JavaScript operators, each
 * field read is a property load of its own, and each check calls its own prepared test, which
 * the optimizer can inline.
 *
 * The checks themselves are compile.ts's (`checkPlan`): the generated code only reads values
 * and combines results, so the operators' semantics live in one place. Only field names (as
 * JSON string literals) and numbers are written into the source; literals, lists and tests
 * are handed to the function as arrays, so no rule text is ever evaluated as code.
 *
 * Every predicate from one compiler shares a memo of check results for the event it last saw:
 * Falco's rules share their macros, so the same check (`container.id != host`, `proc.name in
 * (shell_binaries)`) appears in many rules and in a rule's exceptions, and is computed once
 * per event. Events are immutable once normalized, so identity tells one event from the next.
 *
 * Where code generation is not allowed (node --disallow-code-generation-from-strings), the
 * closure tree is used instead; both give the same answers (tested).
 */
import type { FalcoEvent, FieldValue } from '../core/event.js';
import { printExpr, type CheckNode, type Expr, type Operand } from './ast.js';
import { checkPlan, compileExpr, type PairTest, type Predicate, type ValueTest } from './compile.js';
import { operandAccess } from './fields.js';

type Finish = (raw: FieldValue | undefined, event: FalcoEvent) => FieldValue | undefined;

/** The event the shared results belong to, and its epoch (even; a result is epoch or epoch + 1). */
interface MemoState {
  event: FalcoEvent | undefined;
  epoch: number;
}

// Results are small integers (epoch for false, epoch + 1 for true) in a plain array, which stays
// an array of small integers only below 2^30; the epoch starts over well before that.
const EPOCH_LIMIT = 2 ** 29;

let codegenAllowed: boolean | undefined;

function canGenerate(): boolean {
  if (codegenAllowed === undefined) {
    try {
      codegenAllowed = new Function('return true')() === true;
    } catch {
      codegenAllowed = false;
    }
  }
  return codegenAllowed;
}

export class PredicateCompiler {
  /** Check id by the check's printed text: equal text, equal check. */
  private readonly ids = new Map<string, number>();
  /** Per check id: its test, and what completes each operand's value (see OperandAccess). */
  private readonly tests: (ValueTest | PairTest)[] = [];
  private readonly finishLeft: (Finish | undefined)[] = [];
  private readonly finishRight: (Finish | undefined)[] = [];
  /** Per check id: the code that runs its test. */
  private readonly calls: string[] = [];
  private readonly results: number[] = [];
  private readonly memo: MemoState = { event: undefined, epoch: 2 };
  private readonly nextEvent: (event: FalcoEvent) => void;

  constructor(private readonly generate = canGenerate()) {
    const { memo, results } = this;
    this.nextEvent = (event) => {
      memo.event = event;
      memo.epoch += 2;
      if (memo.epoch >= EPOCH_LIMIT) {
        memo.epoch = 2;
        results.fill(0);
      }
    };
  }

  /** A predicate for a resolved condition (macros inlined, lists expanded). Never throws. */
  compile(e: Expr): Predicate {
    if (!this.generate) return compileExpr(e);
    const body = this.expr(e);
    // `r` holds a check's memoized result while the expression tests it.
    const source = [
      '"use strict";',
      'return function matches(ev) {',
      '  if (ev !== memo.event) nextEvent(ev);',
      '  const no = memo.epoch, yes = no + 1, f = ev.fields;',
      '  let r;',
      `  return ${body};`,
      '};',
    ].join('\n');
    const make = new Function('memo', 'nextEvent', 'R', 'T', 'A', 'B', source) as (...args: unknown[]) => Predicate;
    return make(this.memo, this.nextEvent, this.results, this.tests, this.finishLeft, this.finishRight);
  }

  private expr(e: Expr): string {
    switch (e.kind) {
      case 'const':
        return e.value ? 'true' : 'false';
      case 'macro':
        // Resolution inlines every macro; as in compile.ts, one left over matches nothing.
        return 'false';
      case 'not':
        return `!${this.expr(e.child)}`;
      case 'and':
        return e.children.length === 0 ? 'true' : `(${e.children.map((c) => this.expr(c)).join(' && ')})`;
      case 'or':
        return e.children.length === 0 ? 'false' : `(${e.children.map((c) => this.expr(c)).join(' || ')})`;
      case 'check':
        return this.check(e);
    }
  }

  /** A check, read through the memo: computed on the first test per event, remembered after. */
  private check(c: CheckNode): string {
    const key = printExpr(c);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.tests.length;
      this.ids.set(key, id);
      this.calls.push(this.call(c, id));
      this.results.push(0);
    }
    const call = this.calls[id]!;
    if (call === 'false') return call;
    return `((r = R[${id}]) === yes || (r !== no && (R[${id}] = ${call} ? yes : no) === yes))`;
  }

  /** Registers check `id`'s test and finishers; returns the code that runs the test. */
  private call(c: CheckNode, id: number): string {
    const plan = checkPlan(c);
    if (plan.kind === 'never') {
      this.tests.push(() => false);
      this.finishLeft.push(undefined);
      this.finishRight.push(undefined);
      return 'false';
    }
    this.tests.push(plan.test);
    const left = this.value(plan.left, this.finishLeft, 'A', id);
    if (plan.kind === 'value') {
      this.finishRight.push(undefined);
      return `T[${id}](${left})`;
    }
    return `T[${id}](${left}, ${this.value(plan.right, this.finishRight, 'B', id)})`;
  }

  /** Code reading an operand's value: the field itself, completed by its finisher if it has one. */
  private value(o: Operand, finishers: (Finish | undefined)[], name: 'A' | 'B', id: number): string {
    const access = operandAccess(o);
    finishers.push(access.finish);
    const raw = access.key === undefined ? 'undefined' : `f[${JSON.stringify(access.key)}]`;
    return access.finish === undefined ? raw : `${name}[${id}](${raw}, ev)`;
  }
}
