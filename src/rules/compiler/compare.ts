/**
 * Value semantics of Falco's comparisons over Lanner's typed field values. Falco parses a
 * literal by the field's type. Fields whose type Falco declares as text compare as text
 * (`compareText`, and plain string equality): a literal that looks like a number is still text
 * there. For the others (numeric fields, and fields whose type is not known) Lanner's values
 * arrive typed by the transport (numbers, bigints, text), so each comparison adapts to the value
 * it meets: numbers compare as numbers even when one side is text ("123" > 100), integers beyond
 * 2^53 compare exactly as bigints, and booleans match `true`/`false`. Nothing here allocates for
 * numbers or plain strings.
 */
import { globToRegExp } from './glob.js';

export type Scalar = string | number | bigint | boolean;

/** A literal prepared once at compile time for every way a value may be compared to it. */
export interface Literal {
  readonly text: string;
  /** NaN when the text is not a number. */
  readonly num: number;
  /** Set for integer literals, so values beyond 2^53 compare exactly. */
  readonly big: bigint | undefined;
  readonly bool: boolean | undefined;
}

const INTEGER = /^[+-]?(?:[0-9]+|0[xX][0-9a-fA-F]+)$/;
const DECIMAL = /^[+-]?[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?$/;

export function prepareLiteral(text: string): Literal {
  const t = text.trim();
  let num = Number.NaN;
  let big: bigint | undefined;
  if (INTEGER.test(t)) {
    const neg = t.startsWith('-');
    const body = t.replace(/^[+-]/, '');
    big = BigInt(body) * (neg ? -1n : 1n);
    num = Number(big);
  } else if (DECIMAL.test(t)) {
    num = Number(t);
  }
  const lower = t.toLowerCase();
  const bool = lower === 'true' ? true : lower === 'false' ? false : undefined;
  return { text, num, big, bool };
}

/** Number of a text value when it is entirely a number; NaN otherwise. Allocation-free. */
export function numberOfText(s: string): number {
  const len = s.length;
  if (len === 0) return Number.NaN;
  const c = s.charCodeAt(0);
  // digits, '-', '+', '.'
  if (!((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46)) return Number.NaN;
  const last = s.charCodeAt(len - 1);
  if (!(last >= 48 && last <= 57) && last !== 46) return Number.NaN;
  return Number(s);
}

/** Long integer text loses precision as a number; such text compares as a bigint. */
function bigOfText(s: string): bigint | undefined {
  if (s.length < 16 || !/^-?[0-9]+$/.test(s)) return undefined;
  return BigInt(s);
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : a === b ? 0 : Number.NaN;
}

/** -1, 0 or 1 comparing a value with a literal numerically; NaN when they do not compare. */
export function compareToLiteral(v: Scalar, lit: Literal): number {
  if (typeof v === 'number') {
    if (lit.big !== undefined && !Number.isSafeInteger(lit.num) && Number.isInteger(v)) return cmpBig(BigInt(v), lit.big);
    return cmpNum(v, lit.num);
  }
  if (typeof v === 'bigint') {
    if (lit.big !== undefined) return cmpBig(v, lit.big);
    return cmpNum(Number(v), lit.num);
  }
  if (typeof v === 'string') {
    if (lit.big !== undefined && !Number.isSafeInteger(lit.num)) {
      const b = bigOfText(v);
      if (b !== undefined) return cmpBig(b, lit.big);
    }
    const n = numberOfText(v);
    if (Number.isNaN(n)) return Number.NaN;
    if (!Number.isSafeInteger(n) && lit.big !== undefined) {
      const b = bigOfText(v);
      if (b !== undefined) return cmpBig(b, lit.big);
    }
    return cmpNum(n, lit.num);
  }
  return Number.NaN;
}

/** Falco's `=`: exact for text, numeric for numbers (and numeric text), and for booleans. */
export function equalsLiteral(v: Scalar, lit: Literal): boolean {
  if (typeof v === 'string') {
    if (v === lit.text) return true;
    return !Number.isNaN(lit.num) && compareToLiteral(v, lit) === 0;
  }
  if (typeof v === 'boolean') {
    if (lit.bool !== undefined) return v === lit.bool;
    // Falco reads 1 and 0 as booleans too.
    return lit.big === 1n ? v : lit.big === 0n ? !v : false;
  }
  return compareToLiteral(v, lit) === 0;
}

/** Order between two field values (for `val()`), numeric when both are numbers or numeric text. */
export function compareValues(a: Scalar, b: Scalar): number {
  if (typeof b === 'string') {
    if (typeof a === 'string') {
      const na = numberOfText(a);
      const nb = numberOfText(b);
      if (!Number.isNaN(na) && !Number.isNaN(nb)) return cmpNum(na, nb);
      return Number.NaN;
    }
    return compareToLiteral(a, prepareLiteral(b));
  }
  if (typeof b === 'number') return compareToLiteral(a, { text: '', num: b, big: Number.isSafeInteger(b) ? BigInt(b) : undefined, bool: undefined });
  if (typeof b === 'bigint') return compareToLiteral(a, { text: '', num: Number(b), big: b, bool: undefined });
  return Number.NaN;
}

/** Equality between two field values (for `val()`). */
export function equalValues(a: Scalar, b: Scalar): boolean {
  if (typeof a === typeof b) return a === b;
  if (typeof a === 'boolean' || typeof b === 'boolean') return String(a) === String(b);
  return compareValues(a, b) === 0;
}

/**
 * Order of two texts as Falco's strcmp orders their UTF-8 bytes, which is code point order: the
 * same as JavaScript's order of UTF-16 units except where a character beyond U+FFFF (a surrogate
 * pair) meets one from U+E000 to U+FFFF.
 */
export function compareText(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

const UPPER = /[A-Z]/;
const UPPER_RUNS = /[A-Z]+/g;
const LOWER = /[a-z]/;
const LOWER_RUNS = /[a-z]+/g;

/**
 * Lower case of ASCII letters only, as libsinsp folds (strcasestr, its tolower transformer, and
 * fnmatch's case folding in the C locale work byte by byte): 'É' stays 'É'.
 */
export function asciiLower(s: string): string {
  return UPPER.test(s) ? s.replace(UPPER_RUNS, (m) => m.toLowerCase()) : s;
}

/** Upper case of ASCII letters only (libsinsp's toupper transformer). */
export function asciiUpper(s: string): string {
  return LOWER.test(s) ? s.replace(LOWER_RUNS, (m) => m.toUpperCase()) : s;
}

/** Text of a scalar for the string operators. */
export function textOf(v: Scalar): string {
  return typeof v === 'string' ? v : String(v);
}

/**
 * Membership in a literal list, as `in` needs it: one Set per kind of value it may meet, so a
 * lookup is one hash probe and allocates nothing.
 */
export class LiteralSet {
  private readonly texts = new Set<string>();
  private readonly numbers = new Set<number>();
  private readonly bigs = new Set<bigint>();
  /** Numbers of the items that are not integers (1.5, 1e20): an integer item is in `bigs` exactly. */
  private readonly decimals = new Set<number>();
  private readonly hasNumbers: boolean;
  readonly size: number;

  constructor(items: readonly string[]) {
    for (const item of items) {
      this.texts.add(item);
      const lit = prepareLiteral(item);
      if (!Number.isNaN(lit.num)) this.numbers.add(lit.num);
      if (lit.big !== undefined) this.bigs.add(lit.big);
      else if (!Number.isNaN(lit.num)) this.decimals.add(lit.num);
    }
    this.hasNumbers = this.numbers.size > 0;
    this.size = this.texts.size;
  }

  has(v: Scalar): boolean {
    if (typeof v === 'string') {
      if (this.texts.has(v)) return true;
      if (!this.hasNumbers) return false;
      const n = numberOfText(v);
      if (Number.isNaN(n)) return false;
      if (Number.isSafeInteger(n)) return this.numbers.has(n);
      // Beyond 2^53 neighbouring integers share a double: compare the text's integer exactly.
      const b = bigOfText(v);
      return b === undefined ? this.numbers.has(n) : this.bigs.has(b) || this.decimals.has(n);
    }
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v) || !Number.isInteger(v)) return this.numbers.has(v);
      return this.bigs.has(BigInt(v)) || this.decimals.has(v);
    }
    if (typeof v === 'bigint') return this.bigs.has(v);
    return this.texts.has(v ? 'true' : 'false');
  }
}

/**
 * Falco's `pmatch` (libsinsp's path_prefix_search): the value is one of the paths or below one
 * of them, component by component (`/etc/apt` matches `/etc/apt/sources.list` but not
 * `/etc/aptitude`). Empty components do not count (`//tmp//x` is below `/tmp`), and a component
 * with `?`, `*` or `[` is a glob for that one component (`/srv/app-[0-9]` matches `/srv/app-1/x`).
 */
export class PathPrefixSet {
  /** Each search path as its components; a component with a glob character is a RegExp. */
  private readonly prefixes: readonly (readonly (string | RegExp)[])[];

  constructor(paths: readonly string[]) {
    this.prefixes = paths.map((p) => components(p).map((c) => (/[?*[]/.test(c) ? globToRegExp(c) : c)));
  }

  matches(value: string): boolean {
    for (const prefix of this.prefixes) if (below(value, prefix)) return true;
    return false;
  }
}

/**
 * Whether `value`'s components start with `prefix`'s. Walks the value in place: pmatch runs on
 * file events, and splitting every path would allocate per check.
 */
function below(value: string, prefix: readonly (string | RegExp)[]): boolean {
  let pos = 0;
  for (const c of prefix) {
    while (value.charCodeAt(pos) === 0x2f /* / */) pos++;
    if (pos >= value.length) return false;
    let end = value.indexOf('/', pos);
    if (end < 0) end = value.length;
    if (typeof c === 'string' ? end - pos !== c.length || !value.startsWith(c, pos) : !c.test(value.slice(pos, end))) return false;
    pos = end;
  }
  return true;
}

/** A path's components as libsinsp splits them: empty ones (`//`, a leading `/`) dropped. */
function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '');
}
