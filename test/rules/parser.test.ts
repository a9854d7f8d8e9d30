import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { printExpr, TRANSFORMERS, type Expr, type FieldNode, type LiteralNode, type Operand, type ValueNode } from '../../src/rules/language/ast.js';
import { parseCondition, parseOperand } from '../../src/rules/language/parser.js';

/** The tree without positions, for comparing parses. */
function shape(e: unknown): unknown {
  if (Array.isArray(e)) return e.map(shape);
  if (e && typeof e === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(e)) if (k !== 'pos' && k !== 'opPos') out[k] = shape(v);
    return out;
  }
  return e;
}

function parsed(text: string): Expr {
  const r = parseCondition(text);
  if (!r.ok) throw new Error(`${r.error.message} at ${r.error.offset}`);
  return r.expr;
}

function same(a: string, b: string): void {
  expect(shape(parsed(a))).toEqual(shape(parsed(b)));
}

describe('condition parser', () => {
  it('binds not tighter than and, and tighter than or', () => {
    same('a or b and c', 'a or (b and c)');
    same('not a and b', '(not a) and b');
    same('a and not b or c', '(a and (not b)) or c');
    same('not a or not b and c', '(not a) or ((not b) and c)');
    expect(shape(parsed('a or b and c'))).not.toEqual(shape(parsed('(a or b) and c')));
  });

  it('reads checks, lists, transformers and val()', () => {
    expect(shape(parsed('proc.aname[2] in (sh, "a b", \'c\')'))).toEqual({
      kind: 'check',
      left: { kind: 'field', name: 'proc.aname', arg: '2' },
      op: 'in',
      right: {
        kind: 'list',
        named: false,
        items: [
          { kind: 'literal', text: 'sh', quoted: false },
          { kind: 'literal', text: 'a b', quoted: true },
          { kind: 'literal', text: 'c', quoted: true },
        ],
      },
    });
    expect(shape(parsed('tolower(basename(proc.exepath)) = val(proc.name)'))).toEqual({
      kind: 'check',
      left: { kind: 'transform', fn: 'tolower', operand: { kind: 'transform', fn: 'basename', operand: { kind: 'field', name: 'proc.exepath' } } },
      op: '=',
      right: { kind: 'fieldvalue', val: true, operand: { kind: 'field', name: 'proc.name' } },
    });
    expect(shape(parsed('proc.pname exists'))).toEqual({ kind: 'check', left: { kind: 'field', name: 'proc.pname' }, op: 'exists' });
    expect(shape(parsed('evt.dir=<'))).toMatchObject({ op: '=', right: { text: '<' } });
    expect(shape(parsed('proc.pname in (runc:[0:PARENT], runc)'))).toMatchObject({ right: { items: [{ text: 'runc:[0:PARENT]' }, { text: 'runc' }] } });
    expect(shape(parsed('fd.num>=0'))).toMatchObject({ op: '>=', right: { text: '0' } });
    expect(shape(parsed('container.mount.dest[/var/run/docker.sock] exists'))).toMatchObject({ left: { arg: '/var/run/docker.sock' } });
    expect(shape(parsed('ka.req.pod.annotations["a b"] = x'))).toMatchObject({ left: { arg: 'a b' } });
    expect(shape(parsed('proc.name in shell_binaries'))).toMatchObject({ right: { kind: 'list', named: true, items: [{ text: 'shell_binaries' }] } });
    expect(shape(parsed('len(proc.args) > 10'))).toMatchObject({ left: { kind: 'transform', fn: 'len' } });
  });

  it('unescapes quoted strings as libsinsp does', () => {
    expect(parsed(String.raw`proc.cmdline = "a\"b\\c\n"`)).toMatchObject({ right: { text: 'a"b\\c\n' } });
    expect(parsed(String.raw`proc.cmdline = 'it\'s'`)).toMatchObject({ right: { text: "it's" } });
    expect(parseCondition(String.raw`proc.cmdline = 'a\"b'`).ok).toBe(false);
  });

  it('toggles repeated not as libsinsp does', () => {
    same('not not a', 'a');
    same('not (not a)', 'not (not a)');
    expect(parsed('not(a)')).toMatchObject({ kind: 'not', child: { kind: 'macro', name: 'a' } });
  });

  it('does not take words that start like keywords for keywords', () => {
    expect(parsed('notify and order')).toMatchObject({ kind: 'and', children: [{ name: 'notify' }, { name: 'order' }] });
    expect(parsed('proc.name = in')).toMatchObject({ op: '=', right: { text: 'in' } });
    // symbol and list operators need no blank after them, as in libsinsp
    expect(parsed('proc.name in(a,b)')).toMatchObject({ op: 'in' });
    expect(parsed('proc.name="a"')).toMatchObject({ op: '=', right: { text: 'a' } });
  });

  it.each([
    ['proc.name', 9, true, /expected an operator/],
    ['proc.name foo bar', 10, true, /unknown operator 'foo'/],
    ['proc.name = sh and', 15, false, /after 'and'/],
    ['(proc.name = sh', 15, false, /missing '\)'/],
    ['proc.name in (a, b', 18, false, /not closed/],
    ['proc.pid > abc', 11, true, /needs a number/],
    ['proc.name = sh )', 15, false, /unexpected '\)'/],
    ['proc.name = "abc', 12, false, /unterminated/],
    ['proc.name = "abc\\\\"', 17, false, /cannot end in a backslash/],
    ['proc.name startswith"ba"', 20, false, /needs a blank before its value/],
    ['', 0, false, /empty/],
  ])('reports %j at offset %i', (text, offset, badOperator, message) => {
    const r = parseCondition(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.offset).toBe(offset);
    expect(r.error.badOperator).toBe(badOperator);
    expect(r.error.message).toMatch(message);
  });

  it('parses operands on their own', () => {
    expect(parseOperand('proc.aname[3]').ok).toBe(true);
    expect(parseOperand('proc.name sh').ok).toBe(false);
  });

  // --- properties --------------------------------------------------------------------------

  // Falco never ends a quoted string at a quote after a backslash, so no quoted text ends in one.
  const quotable = (c: { minLength?: number; maxLength: number }) => fc.string(c).filter((t) => !t.endsWith('\\'));
  const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/).filter((w) => !['and', 'or', 'not', 'val'].includes(w) && !(TRANSFORMERS as readonly string[]).includes(w));
  const fieldName = fc.tuple(word, fc.array(word, { minLength: 1, maxLength: 2 })).map(([a, rest]) => [a, ...rest].join('.'));
  const field: fc.Arbitrary<FieldNode> = fc.record({
    name: fieldName,
    arg: fc.option(fc.oneof(fc.stringMatching(/^[a-z0-9/*]{1,6}$/), quotable({ minLength: 1, maxLength: 5 })), { nil: undefined }),
  }).map(({ name, arg }) => (arg === undefined ? { kind: 'field', name, pos: 0 } : { kind: 'field', name, arg, pos: 0 }));
  const operand: fc.Arbitrary<Operand> = fc.oneof(
    { weight: 4, arbitrary: field },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...TRANSFORMERS), field).map(([fn, f]) => ({ kind: 'transform' as const, fn, operand: f, pos: 0 })) },
  );
  const literal: fc.Arbitrary<LiteralNode> = fc.oneof(
    fc.stringMatching(/^[a-zA-Z0-9_./*:<>!-]{1,8}$/).map((text) => ({ kind: 'literal' as const, text, quoted: false, pos: 0 })),
    quotable({ maxLength: 8 }).map((text) => ({ kind: 'literal' as const, text, quoted: true, pos: 0 })),
  );
  const number: fc.Arbitrary<LiteralNode> = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((d) => Math.abs(d))).map((n) => ({
    kind: 'literal' as const,
    text: String(n).includes('e') ? String(Math.trunc(n)) : String(n),
    quoted: false,
    pos: 0,
  }));
  const check: fc.Arbitrary<Expr> = fc.oneof(
    fc.tuple(operand, fc.constantFrom('=', '==', '!=', 'contains', 'icontains', 'startswith', 'endswith', 'glob', 'iglob', 'regex', 'bcontains', 'bstartswith'), literal).map(
      ([left, op, right]) => ({ kind: 'check' as const, left, op, right: right as ValueNode, pos: 0, opPos: 0 }),
    ),
    fc.tuple(operand, fc.constantFrom('<', '<=', '>', '>='), number).map(([left, op, right]) => ({ kind: 'check' as const, left, op, right, pos: 0, opPos: 0 })),
    fc.tuple(operand, fc.constantFrom('in', 'intersects', 'pmatch'), fc.array(literal, { maxLength: 4 })).map(([left, op, items]) => ({
      kind: 'check' as const, left, op, right: { kind: 'list' as const, items, named: false, pos: 0 }, pos: 0, opPos: 0,
    })),
    fc.tuple(operand, fc.constantFrom('=', '!=', '<', 'contains', 'in', 'glob'), operand, fc.boolean()).map(([left, op, o, val]) => ({
      kind: 'check' as const, left, op, right: { kind: 'fieldvalue' as const, operand: o, val: val || o.kind === 'field', pos: 0 }, pos: 0, opPos: 0,
    })),
    operand.map((left) => ({ kind: 'check' as const, left, op: 'exists' as const, pos: 0, opPos: 0 })),
    word.map((name) => ({ kind: 'macro' as const, name, pos: 0 })),
  );
  const expr: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      check,
      fc.array(tie('e'), { minLength: 2, maxLength: 3 }).map((children) => ({ kind: 'and' as const, children, pos: 0 })),
      fc.array(tie('e'), { minLength: 2, maxLength: 3 }).map((children) => ({ kind: 'or' as const, children, pos: 0 })),
      tie('e').map((child) => ({ kind: 'not' as const, child, pos: 0 })),
    ),
  })).e;

  /**
   * Flattening nested and/or is the one thing printing changes: `a and (b and c)` prints with
   * parentheses and parses back nested, so both sides are normalized the same way.
   */
  it('round-trips printed trees (property)', () => {
    fc.assert(
      fc.property(expr, (e) => {
        const text = printExpr(e);
        const r = parseCondition(text);
        if (!r.ok) throw new Error(`${text}\n${r.error.message} at ${r.error.offset}`);
        expect(shape(r.expr)).toEqual(shape(e));
        expect(printExpr(r.expr)).toBe(text);
      }),
      { numRuns: 400 },
    );
  });

  it('parses `x or y and z` as `x or (y and z)` for any operands (property)', () => {
    fc.assert(
      fc.property(check, check, check, (x, y, z) => {
        const [px, py, pz] = [x, y, z].map((c) => `(${printExpr(c)})`);
        expect(shape(parsed(`${px} or ${py} and ${pz}`))).toEqual(shape(parsed(`${px} or (${py} and ${pz})`)));
        expect(shape(parsed(`not ${px} and ${py}`))).toEqual(shape(parsed(`(not ${px}) and ${py}`)));
        expect(shape(parsed(`not ${px} or ${py}`))).toEqual(shape(parsed(`(not ${px}) or ${py}`)));
      }),
      { numRuns: 200 },
    );
  });
});
