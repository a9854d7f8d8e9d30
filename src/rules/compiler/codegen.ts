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
 * The rule engine evaluates the predicates of one event type together (`predicateBatch`): a few
 * generated functions per type instead of a call per rule, with every check on `evt.type`
 * decided while generating, so what cannot match that type drops out of the code.
 *
 * Where code generation is not allowed (node --disallow-code-generation-from-strings), the
 * closure tree is used instead; both give the same answers (tested).
 */
import type { FalcoEvent, FieldValue } from '../../core/event.js';
import { printExpr, type CheckNode, type Expr, type Operand } from '../language/ast.js';
import { checkPlan, compileExpr, type CheckPlan, type PairTest, type Predicate, type TextTest, type ValueTest } from './compile.js';
import { operandAccess } from '../fields/fields.js';

type Finish = (raw: FieldValue | undefined, event: FalcoEvent) => FieldValue | undefined;

/** The event the shared results belong to, and its epoch (even; a result is epoch or epoch + 1). */
interface MemoState {
  event: FalcoEvent | undefined;
  epoch: number;
}

// Results are small integers (epoch for false, epoch + 1 for true) in a plain array, which stays
// an array of small integers only below 2^30; the epoch starts over well before that.
const EPOCH_LIMIT = 2 ** 29;

const TRUE = 'true';
const FALSE = 'false';

/** The field rules are indexed by: a batch for one of its values decides checks on it. */
const TYPE_FIELD = 'evt.type';

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

interface Generated {
  readonly compiler: PredicateCompiler;
  readonly expr: Expr;
  /** Unique within the compiler, for caching batches. */
  readonly id: number;
}

/** The condition of each predicate generated here, and the compiler whose memo it uses. */
const GENERATED = new WeakMap<Predicate, Generated>();

/** One check as generated code sees it. */
interface Check {
  readonly plan: CheckPlan;
  /** The code that runs its test, or `false` for a check that can never hold. */
  readonly call: string;
}

export class PredicateCompiler {
  /** Check id by the check's printed text: equal text, equal check. */
  private readonly ids = new Map<string, number>();
  private readonly checks: Check[] = [];
  /** Per check id: its test, and what completes each operand's value (see OperandAccess). */
  private readonly tests: (ValueTest | PairTest)[] = [];
  private readonly finishLeft: (Finish | undefined)[] = [];
  private readonly finishRight: (Finish | undefined)[] = [];
  /** Per check id: the set or text of its string operation (see TextTest). */
  private readonly texts: (ReadonlySet<string> | string | undefined)[] = [];
  private readonly results: number[] = [];
  private readonly memo: MemoState = { event: undefined, epoch: 2 };
  private readonly nextEvent: (event: FalcoEvent) => void;
  private generatedCount = 0;
  /**
   * Batch code already generated, by event type and predicates: a rule engine is built per rule
   * set and again on every reload, and generating (then optimizing) the same code each time
   * would cost more than evaluating it for a while.
   */
  private readonly batches = new Map<string, readonly Chunk[]>();

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
    const p = this.make<Predicate>('matches(ev)', [`return ${this.expr(e, undefined)};`]);
    GENERATED.set(p, { compiler: this, expr: e, id: this.generatedCount++ });
    return p;
  }

  /**
   * The code evaluating `predicates` (generated by this compiler; `at[i]` is where the i-th
   * stands in the whole batch) on events of type `type`, a few predicates per function.
   */
  chunks(predicates: readonly Generated[], at: readonly number[], type: string | undefined): readonly Chunk[] {
    const key = `${type ?? ''}\u0000${predicates.map((g, i) => `${at[i]}:${g.id}`).join(',')}`;
    const cached = this.batches.get(key);
    if (cached) return cached;
    const chunks: Chunk[] = [];
    let statements: string[] = [];
    const flush = (): void => {
      if (statements.length === 0) return;
      chunks.push(this.make<Chunk>('chunk(ev, hits, n)', [...statements, 'return n;']));
      statements = [];
    };
    predicates.forEach((g, i) => {
      const body = this.expr(g.expr, type);
      if (body === FALSE) return;
      statements.push(body === TRUE ? `hits[n++] = ${at[i]};` : `if (${body}) hits[n++] = ${at[i]};`);
      if (statements.length === CHUNK) flush();
    });
    flush();
    this.batches.set(key, chunks);
    return chunks;
  }

  /** A function over one event with the memo set up: `f` is its fields, `yes`/`no` this event's results. */
  private make<F>(signature: string, statements: readonly string[]): F {
    // `r` holds a check's memoized result while the expression tests it, `v` the value it read.
    const source = [
      '"use strict";',
      `return function ${signature} {`,
      '  if (ev !== memo.event) nextEvent(ev);',
      '  const no = memo.epoch, yes = no + 1, f = ev.fields;',
      '  let r, v;',
      ...statements.map((s) => `  ${s}`),
      '};',
    ].join('\n');
    const make = new Function('memo', 'nextEvent', 'R', 'T', 'A', 'B', 'X', source) as (...args: unknown[]) => F;
    return make(this.memo, this.nextEvent, this.results, this.tests, this.finishLeft, this.finishRight, this.texts);
  }

  /**
   * The code of a condition, `true` or `false` when that is decided already. `type` is the
   * event type every event it will see has, when known.
   */
  private expr(e: Expr, type: string | undefined): string {
    switch (e.kind) {
      case 'const':
        return e.value ? TRUE : FALSE;
      case 'macro':
        // Resolution inlines every macro; as in compile.ts, one left over matches nothing.
        return FALSE;
      case 'not': {
        const inner = this.expr(e.child, type);
        return inner === TRUE ? FALSE : inner === FALSE ? TRUE : `!${inner}`;
      }
      case 'and':
      case 'or': {
        // The absorbing value decides the node; the neutral one drops out.
        const absorbing = e.kind === 'and' ? FALSE : TRUE;
        const parts: string[] = [];
        for (const c of e.children) {
          const code = this.expr(c, type);
          if (code === absorbing) return absorbing;
          if (code !== TRUE && code !== FALSE) parts.push(code);
        }
        if (parts.length === 0) return absorbing === FALSE ? TRUE : FALSE;
        return parts.length === 1 ? parts[0]! : `(${parts.join(e.kind === 'and' ? ' && ' : ' || ')})`;
      }
      case 'check':
        return this.check(e, type);
    }
  }

  /** A check, read through the memo: computed on the first test per event, remembered after. */
  private check(c: CheckNode, type: string | undefined): string {
    const key = printExpr(c);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.checks.length;
      this.ids.set(key, id);
      this.checks.push(this.register(c, id));
      this.results.push(0);
    }
    const { plan, call } = this.checks[id]!;
    if (call === FALSE) return FALSE;
    // Every event of the batch has this evt.type: the check's answer is known now.
    if (type !== undefined && plan.kind === 'value') {
      const access = operandAccess(plan.left);
      if (access.key === TYPE_FIELD && access.finish === undefined) return plan.test(type) ? TRUE : FALSE;
    }
    return `((r = R[${id}]) === yes || (r !== no && (R[${id}] = ${call} ? yes : no) === yes))`;
  }

  /** Registers check `id`'s test and finishers. */
  private register(c: CheckNode, id: number): Check {
    const plan = checkPlan(c);
    if (plan.kind === 'never') {
      this.tests.push(() => false);
      this.finishLeft.push(undefined);
      this.finishRight.push(undefined);
      this.texts.push(undefined);
      return { plan, call: FALSE };
    }
    this.tests.push(plan.test);
    const left = this.value(plan.left, this.finishLeft, 'A', id);
    if (plan.kind === 'value') {
      this.finishRight.push(undefined);
      const onText = plan.onText;
      this.texts.push(onText === undefined ? undefined : onText.op === 'in' ? onText.set : onText.text);
      if (onText === undefined) return { plan, call: `T[${id}](${left})` };
      // Strings, the usual value, take the plain string operation; anything else the full test.
      return { plan, call: `(typeof (v = ${left}) === 'string' ? ${textCode(onText, id)} : T[${id}](v))` };
    }
    this.texts.push(undefined);
    return { plan, call: `T[${id}](${left}, ${this.value(plan.right, this.finishRight, 'B', id)})` };
  }

  /** Code reading an operand's value: the field itself, completed by its finisher if it has one. */
  private value(o: Operand, finishers: (Finish | undefined)[], name: 'A' | 'B', id: number): string {
    const access = operandAccess(o);
    finishers.push(access.finish);
    const raw = access.key === undefined ? 'undefined' : `f[${JSON.stringify(access.key)}]`;
    return access.finish === undefined ? raw : `${name}[${id}](${raw}, ev)`;
  }
}

/** The string operation of check `id` on the string `v`; its set or text is `X[id]`. */
function textCode(t: TextTest, id: number): string {
  switch (t.op) {
    case 'in':
      return `X[${id}].has(v)`;
    case '=':
      return `v === X[${id}]`;
    case '!=':
      return `v !== X[${id}]`;
    case 'startswith':
      return `v.startsWith(X[${id}])`;
    case 'endswith':
      return `v.endsWith(X[${id}])`;
    case 'contains':
      return `v.includes(X[${id}])`;
  }
}

/** Both predicates: one generated function when both were generated by the same compiler. */
export function conjunction(a: Predicate, b: Predicate): Predicate {
  const ga = GENERATED.get(a);
  const gb = GENERATED.get(b);
  if (ga && gb && ga.compiler === gb.compiler) return ga.compiler.compile({ kind: 'and', children: [ga.expr, gb.expr], pos: -1 });
  return (event) => a(event) && b(event);
}

/**
 * Evaluates several predicates on one event: writes the index of each that holds into `hits`
 * (ascending) and returns how many did. `hits` must have room for every predicate.
 */
export type BatchEvaluator = (event: FalcoEvent, hits: Int32Array) => number;

type Chunk = (event: FalcoEvent, hits: Int32Array, n: number) => number;

/**
 * How many predicates one generated function of a batch evaluates. A call per predicate costs
 * more than most predicates' work; one function for hundreds would be too big for the optimizer
 * to inline the checks' tests into.
 */
const CHUNK = 8;

function chain(chunks: readonly Chunk[]): BatchEvaluator {
  if (chunks.length === 0) return () => 0;
  if (chunks.length === 1) {
    const only = chunks[0]!;
    return (event, hits) => only(event, hits, 0);
  }
  return (event, hits) => {
    let n = 0;
    for (let c = 0; c < chunks.length; c++) n = chunks[c]!(event, hits, n);
    return n;
  };
}

/**
 * One evaluator for the predicates the rule engine runs on events of type `type` (undefined:
 * events of any type). Generated predicates are evaluated inline, with checks on `evt.type`
 * decided for `type`; any other predicate is called. (After a reload, a sequence whose state
 * is kept brings predicates from the previous rule set: each run of predicates from one
 * compiler is generated on its own.)
 */
export function predicateBatch(predicates: readonly Predicate[], type?: string): BatchEvaluator {
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < predicates.length) {
    const g = GENERATED.get(predicates[i]!);
    if (!g) {
      const p = predicates[i]!;
      const index = i++;
      chunks.push((event, hits, n) => {
        if (!p(event)) return n;
        hits[n] = index;
        return n + 1;
      });
      continue;
    }
    const run: Generated[] = [];
    const at: number[] = [];
    while (i < predicates.length) {
      const next = GENERATED.get(predicates[i]!);
      if (next?.compiler !== g.compiler) break;
      run.push(next);
      at.push(i++);
    }
    chunks.push(...g.compiler.chunks(run, at, type));
  }
  return chain(chunks);
}
