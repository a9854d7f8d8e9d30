/**
 * Constant folding after resolution. Falco's rules spell "false" as `evt.num=0` (macro
 * `never_true`: Falco numbers events from 1) and use it for the empty `user_known_*` macros
 * that users override. Folding it, and the `and`/`or`/`not` around it, keeps those placeholders
 * out of the per-event path and out of the coverage report: a rule does not need `evt.num`
 * to say "nothing is known to be benign".
 */
import { fieldKey, type Expr, type Operand } from '../language/ast.js';

const FALSE: Expr = { kind: 'const', value: false, pos: -1 };
const TRUE: Expr = { kind: 'const', value: true, pos: -1 };

function isNeverTrue(e: Expr): boolean {
  return (
    e.kind === 'check' &&
    e.left.kind === 'field' &&
    e.left.name === 'evt.num' &&
    e.left.arg === undefined &&
    (e.op === '=' || e.op === '==') &&
    e.right?.kind === 'literal' &&
    e.right.text === '0'
  );
}

export function simplify(e: Expr): Expr {
  switch (e.kind) {
    case 'check':
      return isNeverTrue(e) ? FALSE : e;
    case 'not': {
      const child = simplify(e.child);
      if (child.kind === 'const') return child.value ? FALSE : TRUE;
      return child === e.child ? e : { kind: 'not', child, pos: e.pos };
    }
    case 'and':
    case 'or': {
      // The absorbing constant decides the node; the neutral one drops out.
      const absorbing = e.kind === 'or';
      const children: Expr[] = [];
      for (const c of e.children) {
        const s = simplify(c);
        if (s.kind === 'const') {
          if (s.value === absorbing) return s;
          continue;
        }
        children.push(s);
      }
      if (children.length === 0) return absorbing ? FALSE : TRUE;
      if (children.length === 1) return children[0]!;
      return { kind: e.kind, children, pos: e.pos };
    }
    default:
      return e;
  }
}

function readsAny(c: Extract<Expr, { kind: 'check' }>, missing: (key: string) => boolean): boolean {
  const reads = (o: Operand): boolean => (o.kind === 'field' ? missing(fieldKey(o)) : reads(o.operand));
  return reads(c.left) || (c.right?.kind === 'fieldvalue' && reads(c.right.operand));
}

function replaceChecks(e: Expr, missing: (key: string) => boolean): Expr {
  switch (e.kind) {
    case 'check':
      return readsAny(e, missing) ? FALSE : e;
    case 'not':
      return { kind: 'not', child: replaceChecks(e.child, missing), pos: e.pos };
    case 'and':
    case 'or':
      return { kind: e.kind, children: e.children.map((c) => replaceChecks(c, missing)), pos: e.pos };
    default:
      return e;
  }
}

/**
 * The condition as it behaves on events that never carry the `missing` fields: every check on
 * one is false there (libsinsp fails the extraction, `exists` and `!=` included), folded. A
 * constant false result means the rule can never match such events.
 */
export function withoutFields(e: Expr, missing: (key: string) => boolean): Expr {
  return simplify(replaceChecks(e, missing));
}
