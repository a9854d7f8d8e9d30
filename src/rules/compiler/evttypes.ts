/**
 * Which event types a condition can match, for indexing rules by `evt.type` as Falco does.
 * Conservative: when it cannot be told, the answer is "any type".
 */
import type { Expr } from '../language/ast.js';

/** A set of types, or (negated) every type except a set. */
interface TypeSet {
  readonly negated: boolean;
  readonly types: ReadonlySet<string>;
}

const ANY: TypeSet = { negated: true, types: new Set() };
const NONE: TypeSet = { negated: false, types: new Set() };

function and(a: TypeSet, b: TypeSet): TypeSet {
  if (!a.negated && !b.negated) return { negated: false, types: new Set([...a.types].filter((t) => b.types.has(t))) };
  if (!a.negated) return { negated: false, types: new Set([...a.types].filter((t) => !b.types.has(t))) };
  if (!b.negated) return and(b, a);
  return { negated: true, types: new Set([...a.types, ...b.types]) };
}

function or(a: TypeSet, b: TypeSet): TypeSet {
  if (!a.negated && !b.negated) return { negated: false, types: new Set([...a.types, ...b.types]) };
  if (a.negated && b.negated) return { negated: true, types: new Set([...a.types].filter((t) => b.types.has(t))) };
  const [pos, neg] = a.negated ? [b, a] : [a, b];
  return { negated: true, types: new Set([...neg.types].filter((t) => !pos.types.has(t))) };
}

/**
 * For each node, the types for which it can be true and those for which it can be false. A
 * check on another field can be either for any type, so `not` of it is still "any type"; only
 * checks on evt.type narrow anything.
 */
interface Possible {
  readonly canTrue: TypeSet;
  readonly canFalse: TypeSet;
}

const UNKNOWN: Possible = { canTrue: ANY, canFalse: ANY };

function possible(e: Expr): Possible {
  switch (e.kind) {
    case 'and':
      return e.children.map(possible).reduce((a, b) => ({ canTrue: and(a.canTrue, b.canTrue), canFalse: or(a.canFalse, b.canFalse) }));
    case 'or':
      return e.children.map(possible).reduce((a, b) => ({ canTrue: or(a.canTrue, b.canTrue), canFalse: and(a.canFalse, b.canFalse) }));
    case 'not': {
      const inner = possible(e.child);
      return { canTrue: inner.canFalse, canFalse: inner.canTrue };
    }
    case 'const':
      return e.value ? { canTrue: ANY, canFalse: NONE } : { canTrue: NONE, canFalse: ANY };
    case 'macro':
      return UNKNOWN;
    case 'check': {
      if (e.left.kind !== 'field' || e.left.name !== 'evt.type' || e.left.arg !== undefined) return UNKNOWN;
      const r = e.right;
      if (!r || r.kind === 'fieldvalue') return UNKNOWN;
      let types: ReadonlySet<string> | undefined;
      let negated = false;
      if (r.kind === 'literal' && (e.op === '=' || e.op === '==')) types = new Set([r.text]);
      else if (r.kind === 'literal' && e.op === '!=') {
        types = new Set([r.text]);
        negated = true;
      } else if (r.kind === 'list' && (e.op === 'in' || e.op === 'intersects')) types = new Set(r.items.map((i) => i.text));
      if (!types) return UNKNOWN;
      const set: TypeSet = { negated, types };
      const complement: TypeSet = { negated: !negated, types };
      // An event without evt.type fails every check on it, so the check can be false anywhere.
      return { canTrue: set, canFalse: negated ? ANY : or(complement, NONE) };
    }
  }
}

/**
 * The `evt.type` values that can satisfy a resolved condition, or undefined when any type can.
 * An empty set means the condition can match no event at all.
 */
export function eventTypesOf(e: Expr): ReadonlySet<string> | undefined {
  const t = possible(e).canTrue;
  return t.negated ? undefined : t.types;
}
