/**
 * Constant folding after resolution. Falco's rules spell "false" as `evt.num=0` (macro
 * `never_true`: Falco numbers events from 1) and use it for the empty `user_known_*` macros
 * that users override. Folding it, and the `and`/`or`/`not` around it, keeps those placeholders
 * out of the per-event path and out of the coverage report: a rule does not need `evt.num`
 * to say "nothing is known to be benign".
 */
import type { Expr } from './ast.js';

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
