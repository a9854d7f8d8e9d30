import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { parseJsonExact, stringifyExact } from '../../src/core/exact-json.js';

describe('parseJsonExact', () => {
  it('keeps every digit of nanosecond integers that JSON.parse would round', () => {
    const text = '{"output_fields":{"evt.time":1685022245478445995,"proc.pid":42}}';
    expect((JSON.parse(text) as { output_fields: Record<string, number> }).output_fields['evt.time']).not.toBe(1685022245478445995n);
    const value = parseJsonExact(text) as { output_fields: Record<string, unknown> };
    expect(value.output_fields['evt.time']).toBe(1685022245478445995n);
    expect(value.output_fields['proc.pid']).toBe(42);
  });

  it('ignores digits inside strings, including escaped quotes before them', () => {
    const text = '{"output":"x \\"a\\":1234567890123456789, y","n":9007199254740993,"m":[-9007199254740995]}';
    const value = parseJsonExact(text) as { output: string; n: unknown; m: unknown[] };
    expect(value.output).toBe('x "a":1234567890123456789, y');
    expect(value.n).toBe(9007199254740993n);
    expect(value.m).toEqual([-9007199254740995n]);
  });

  it('matches literals even when object key order differs from text order', () => {
    // Integer-like keys are enumerated first by JavaScript, before the text order.
    const value = parseJsonExact('{"b":1111111111111111111,"7":2222222222222222222}') as Record<string, unknown>;
    expect(value['b']).toBe(1111111111111111111n);
    expect(value['7']).toBe(2222222222222222222n);
  });

  it('leaves safe numbers and floats as numbers and throws on malformed JSON', () => {
    expect(parseJsonExact('[1.5e300, 12345678901234567.5, 3]')).toEqual([1.5e300, 12345678901234567.5, 3]);
    expect(() => parseJsonExact('{"a":')).toThrow(SyntaxError);
  });
});

describe('stringifyExact', () => {
  it('writes bigints as integer literals and round-trips', () => {
    const text = stringifyExact({ t: 1685022245478445995n, a: [1, 'x', null, true], s: 'q"' });
    expect(text).toBe('{"t":1685022245478445995,"a":[1,"x",null,true],"s":"q\\""}');
    expect(parseJsonExact(text)).toEqual({ t: 1685022245478445995n, a: [1, 'x', null, true], s: 'q"' });
  });

  it('drops undefined members like JSON.stringify', () => {
    expect(stringifyExact({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});

describe('parseJsonExact fallbacks', () => {
  it('restores big integers in arrays and under keys written with escapes', () => {
    const value = parseJsonExact('{"a\\u0062":1234567890123456789,"list":[1111111111111111111,2222222222222222222]}') as Record<string, unknown>;
    expect(value['ab']).toBe(1234567890123456789n);
    expect(value['list']).toEqual([1111111111111111111n, 2222222222222222222n]);
  });

  it('keeps same-named keys apart across a batch', () => {
    const value = parseJsonExact('[{"t":1111111111111111111},{"t" : 2222222222222222222}]') as { t: bigint }[];
    expect(value.map((v) => v.t)).toEqual([1111111111111111111n, 2222222222222222222n]);
  });

  it('is not fooled by a key-like text inside a string', () => {
    const value = parseJsonExact('{"output":"\\"t\\":9999999999999999999","t":1111111111111111111}') as Record<string, unknown>;
    expect(value['t']).toBe(1111111111111111111n);
  });

  it('handles a bare big integer', () => {
    expect(parseJsonExact(' 1685022245478445995 ')).toBe(1685022245478445995n);
  });
});

describe('parseJsonExact under keys', () => {
  it('leaves a float literal beyond 2^53 a number, even under a key', () => {
    const value = parseJsonExact('{"a":12345678901234567.5,"b":1234567890123456789}') as Record<string, unknown>;
    expect(value['a']).toBe(12345678901234567.5);
    expect(value['b']).toBe(1234567890123456789n);
  });
});

describe('parseJsonExact on hostile text', () => {
  it('walks a value nested 12,000 deep (and 200,000 deep) without recursion, restoring what is inside', () => {
    for (const depth of [12_000, 200_000]) {
      const text = `{"t":1111111111111111111,"deep":${'['.repeat(depth)}2222222222222222222${']'.repeat(depth)},"u":3333333333333333333}`;
      const value = parseJsonExact(text) as { t: bigint; deep: unknown; u: bigint };
      expect(value.t).toBe(1111111111111111111n);
      expect(value.u).toBe(3333333333333333333n);
      let inner: unknown = value.deep;
      for (let i = 0; i < depth; i++) inner = (inner as unknown[])[0];
      expect(inner).toBe(2222222222222222222n);
    }
  });

  it('pairs a repeated key with its own literal in document order, inner before outer', () => {
    // Both round to the same double: only the order of the walk tells them apart.
    const value = parseJsonExact('{"a":{"k":9007199254740993},"k":9007199254740992}') as { a: { k: bigint }; k: unknown };
    expect(value.a.k).toBe(9007199254740993n);
    expect(value.k).toBe(9007199254740992n);
  });

  it('keeps a bare float beyond 2^53 a number rather than throwing', () => {
    expect(parseJsonExact('1e300')).toBe(1e300);
    expect(parseJsonExact('-12345678901234567890.5')).toBe(-12345678901234567890.5);
  });

  it('never throws anything but SyntaxError, and differs from JSON.parse only in exactness', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'[]{}":,19-e. a\\'), maxLength: 80 }), (text) => {
        try {
          parseJsonExact(text);
        } catch (err) {
          expect(err).toBeInstanceOf(SyntaxError);
        }
      }),
    );
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(JSON.parse(stringifyExact(parseJsonExact(text)))).toEqual(JSON.parse(text));
      }),
    );
  });
});

describe('parseJsonExact cost', () => {
  const big = (i: number): bigint => 9007199254740993n + BigInt(i) * 1000n;

  /** How many characters String.prototype.indexOf went over while `run` ran: the searches' cost. */
  function charactersSearched<T>(run: () => T): { result: T; searched: number } {
    const indexOf = String.prototype.indexOf;
    let searched = 0;
    const spy = vi.spyOn(String.prototype, 'indexOf').mockImplementation(function (this: string, needle: string, position?: number): number {
      const from = Math.max(0, Math.min(position ?? 0, this.length));
      const at = indexOf.call(this, needle, position);
      searched += (at < 0 ? this.length : at) - from;
      return at;
    });
    try {
      return { result: run(), searched };
    } finally {
      spy.mockRestore();
    }
  }

  it('restores a megabyte of long integers, one per key, in linear time and exactly', () => {
    // Searching from the start of the text for each key took minutes for this text. Counted in
    // characters searched rather than timed, so the bound holds on any machine: the searches
    // resume where the last one matched, and go over the text about once.
    const n = 40_000;
    const text = `{${Array.from({ length: n }, (_, i) => `"k${i}":${big(i)}`).join(',')}}`;
    const { result, searched } = charactersSearched(() => parseJsonExact(text));
    const value = result as Record<string, bigint>;
    expect(searched).toBeLessThanOrEqual(2 * text.length);
    expect(Object.keys(value)).toHaveLength(n);
    for (let i = 0; i < n; i += 997) expect(value[`k${i}`]).toBe(big(i));
    expect(value[`k${n - 1}`]).toBe(big(n - 1));
  });

  it('restores exactly when keys come out of text order, carry escapes or whitespace, or floats share their key', () => {
    const n = 3000;
    // Integer-like keys are enumerated in ascending order: written descending, every one is out of order.
    const descending = parseJsonExact(`{${Array.from({ length: n }, (_, i) => `"${n - i}":${big(i)}`).join(',')}}`) as Record<string, bigint>;
    expect(descending[String(n)]).toBe(big(0));
    expect(descending['1']).toBe(big(n - 1));
    const escaped = parseJsonExact(`{${Array.from({ length: n }, (_, i) => `"k\\u0041${i}" : ${big(i)}`).join(',')}}`) as Record<string, bigint>;
    expect(escaped[`kA${n - 1}`]).toBe(big(n - 1));
    const mixed = parseJsonExact(`[${Array.from({ length: n }, () => '{"k":1e20}').join(',')},${Array.from({ length: n }, (_, i) => `{"k":${big(i)}}`).join(',')}]`) as { k: unknown }[];
    expect(mixed[0]!.k).toBe(1e20);
    expect(mixed[n]!.k).toBe(big(0));
    expect(mixed[2 * n - 1]!.k).toBe(big(n - 1));
  });
});
