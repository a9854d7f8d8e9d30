/**
 * JSON that keeps integers beyond 2^53 exact. Falco writes `evt.time` as integer nanoseconds
 * (19 digits), which `JSON.parse` rounds. We let the native parser do the work and only go back
 * to the text for the few numbers it could not represent, so the common path stays native speed.
 */

export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Parses JSON text; integers that are not safe JavaScript integers become exact bigints. */
export function parseJsonExact(text: string): JsonValue {
  const value = JSON.parse(text) as JsonValue;
  if (typeof value !== 'object' || value === null) {
    // 1e300 is an unsafe integer too, but written as a float: only integer text is exact.
    const literal = text.trim();
    return isUnsafeInteger(value) && INTEGER_LITERAL.test(literal) ? BigInt(literal) : value;
  }
  restore(value, new ExactIntegers(text));
  return value;
}

const INTEGER_LITERAL = /^-?\d+$/;

export function isUnsafeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v);
}

/**
 * Recovers the exact digits of integers that JSON.parse rounded, from the text they were parsed
 * from. Ask in document order (as a walk of the parsed value does) for repeated keys to pair up.
 *
 * The cost is linear in the text whatever it holds: a search resumes where the last one matched,
 * so searches in document order scan the text once between them; the first search that misses
 * (a key asked out of order, or written with escapes) indexes every long integer literal in one
 * pass, and the index answers from then on. A text of a megabyte with forty thousand long
 * integers, one per key, takes milliseconds, not the minutes a search from the start per key
 * would.
 */
export class ExactIntegers {
  /** Where the next search resumes: the end of the last literal matched by search. */
  private at = 0;
  /** Where the literals matched by search start, so the index knows them as taken. */
  private readonly taken: number[] = [];
  private index: LiteralIndex | undefined;

  /**
   * `from`: where the members asked for can start at the earliest, when the caller knows (it
   * saves the search the text before them; a position too early only costs time).
   */
  constructor(
    readonly text: string,
    public from = 0,
  ) {}

  /** The exact value of the member `key` that parsed to `rounded`; `rounded` if not found. */
  member(key: string, rounded: number): bigint | number {
    if (this.index === undefined) {
      const found = this.search(key, rounded);
      if (found !== undefined) return found;
      this.index = new LiteralIndex(this.text, this.taken);
    }
    return this.index.take(key, rounded);
  }

  /** The exact value of the array item that parsed to `rounded`; `rounded` if not found. */
  item(rounded: number): bigint | number {
    this.index ??= new LiteralIndex(this.text, this.taken);
    return this.index.take(undefined, rounded);
  }

  // The common case is a member like "evt.time":1685022245478445995. Its key, quoted and
  // followed by a colon, cannot occur inside a JSON string (a quote there would be escaped), so
  // a native indexOf finds it without scanning the text character by character.
  private search(key: string, rounded: number): bigint | undefined {
    const { text } = this;
    const needle = needleOf(key);
    let from = Math.max(this.at, this.from);
    for (;;) {
      const at = text.indexOf(needle, from);
      if (at < 0) return undefined;
      let i = at + needle.length;
      while (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x0a || text.charCodeAt(i) === 0x0d || text.charCodeAt(i) === 0x09) i++;
      const start = i;
      if (text.charCodeAt(i) === 0x2d) i++;
      const digits = i;
      while (text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
      from = i;
      // A fraction or exponent makes it a float literal, whose value JSON.parse had right.
      const after = text.charCodeAt(i);
      if (i > digits && after !== 0x2e && after !== 0x65 && after !== 0x45) {
        // BigInt, then Number of it, parses the digits once; Number(text) would parse them again.
        const exact = BigInt(text.slice(start, i));
        if (Number(exact) === rounded) {
          this.at = i;
          this.taken.push(start);
          return exact;
        }
      }
    }
  }
}

/** A literal of the index, and whether a value has taken it. */
interface Literal {
  readonly start: number;
  readonly digits: string;
  taken: boolean;
}

/** The literals under one key (or the array items), in document order, and the first not taken. */
interface Queue {
  readonly literals: Literal[];
  head: number;
}

/**
 * How many literals past the first one not taken a value is matched against. In a walk in
 * document order the first one is the value's own; the few after it cover a value asked out of
 * order, and the bound keeps a value with no literal (1e300) from scanning them all.
 */
const LOOKAHEAD = 8;

/** Every integer literal of 16 or more characters outside strings, by the key it is the value of. */
class LiteralIndex {
  private readonly byKey = new Map<string, Queue>();
  private readonly items: Queue = { literals: [], head: 0 };

  constructor(text: string, taken: readonly number[]) {
    const takenAt = new Set(taken);
    scanLiterals(text, (start, digits, key) => {
      const literal: Literal = { start, digits, taken: takenAt.has(start) };
      if (key === undefined) {
        this.items.literals.push(literal);
        return;
      }
      let queue = this.byKey.get(key);
      if (!queue) this.byKey.set(key, (queue = { literals: [], head: 0 }));
      queue.literals.push(literal);
    });
  }

  take(key: string | undefined, rounded: number): bigint | number {
    const queue = key === undefined ? this.items : this.byKey.get(key);
    if (!queue) return rounded;
    const { literals } = queue;
    while (queue.head < literals.length && literals[queue.head]!.taken) queue.head++;
    const end = Math.min(literals.length, queue.head + 1 + LOOKAHEAD);
    for (let i = queue.head; i < end; i++) {
      const literal = literals[i]!;
      if (literal.taken) continue;
      const exact = BigInt(literal.digits);
      if (Number(exact) === rounded) {
        literal.taken = true;
        return exact;
      }
    }
    return rounded;
  }
}

/**
 * Calls `found` for each integer literal of 16 or more characters outside strings, in document
 * order, with the key it is the value of (undefined for an array item). One pass, no recursion.
 */
function scanLiterals(text: string, found: (start: number, digits: string, key: string | undefined) => void): void {
  const n = text.length;
  // The last string read and whether a colon followed it: a literal after that is its value.
  let stringStart = -1;
  let stringEnd = -1;
  let afterColon = false;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      stringStart = i;
      stringEnd = endOfString(text, i);
      afterColon = false;
      i = stringEnd + 1;
      continue;
    }
    if (c === 0x3a /* : */) {
      afterColon = stringStart >= 0;
      i++;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      let integral = true;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d >= 0x30 && d <= 0x39) i++;
        else if (d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) {
          integral = false;
          i++;
        } else break;
      }
      if (integral && i - start >= 16) found(start, text.slice(start, i), afterColon ? keyText(text, stringStart, stringEnd) : undefined);
      afterColon = false;
      continue;
    }
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) afterColon = false;
    i++;
  }
}

/** A key as JSON.parse read it: the text between the quotes, unescaped if it holds escapes. */
function keyText(text: string, open: number, close: number): string {
  const raw = text.slice(open + 1, close);
  return raw.includes('\\') ? (JSON.parse(text.slice(open, close + 1)) as string) : raw;
}

/** A container part-way through the walk: where in it the walk resumes. */
interface Frame {
  readonly node: JsonValue[] | { [key: string]: JsonValue };
  /** The object's keys; undefined for an array. */
  readonly keys: string[] | undefined;
  next: number;
}

/**
 * Walks a parsed value, replacing rounded integers with exact bigints from the text, in place,
 * in document order (which the cursors rely on to pair repeated keys). The stack is its own:
 * the text is the sender's, and a value nested thousands deep must cost a loop, not the call
 * stack.
 */
function restore(root: JsonValue[] | { [key: string]: JsonValue }, cursor: ExactIntegers): void {
  const stack: Frame[] = [frameOf(root)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const { node, keys } = frame;
    const size = keys ? keys.length : (node as JsonValue[]).length;
    let descended = false;
    while (frame.next < size) {
      const at = frame.next++;
      if (keys) {
        const key = keys[at]!;
        const v = (node as { [key: string]: JsonValue })[key]!;
        if (typeof v === 'object' && v !== null) {
          stack.push(frameOf(v));
          descended = true;
          break;
        }
        if (isUnsafeInteger(v)) (node as { [key: string]: JsonValue })[key] = cursor.member(key, v);
      } else {
        const v = (node as JsonValue[])[at]!;
        if (typeof v === 'object' && v !== null) {
          stack.push(frameOf(v));
          descended = true;
          break;
        }
        if (isUnsafeInteger(v)) (node as JsonValue[])[at] = cursor.item(v);
      }
    }
    if (!descended) stack.pop();
  }
}

function frameOf(node: JsonValue[] | { [key: string]: JsonValue }): Frame {
  return { node, keys: Array.isArray(node) ? undefined : Object.keys(node), next: 0 };
}

// Needles by key: the same few keys (evt.time, ...) carry big integers line after line. Keys come
// from the input, so the cache stops growing at a bound.
const NEEDLES = new Map<string, string>();
const MAX_NEEDLES = 256;

function needleOf(key: string): string {
  let needle = NEEDLES.get(key);
  if (needle === undefined) {
    needle = `${JSON.stringify(key)}:`;
    if (NEEDLES.size < MAX_NEEDLES) NEEDLES.set(key, needle);
  }
  return needle;
}

/** Index of the quote closing the string that opens at `open`. */
function endOfString(text: string, open: number): number {
  let j = open;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return text.length;
    let backslashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === 0x5c; k--) backslashes++;
    if (backslashes % 2 === 0) return j;
  }
}

/**
 * Serializes like `JSON.stringify`, writing bigints as exact integer literals. It recurses: give
 * it only values whose depth is bounded (alerts, and event fields, which normalization keeps
 * within EVENT_LIMITS), never a sender's raw document.
 */
export function stringifyExact(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined || typeof item === 'function' ? 'null' : stringifyExact(item);
    }
    return out + ']';
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return stringifyExact((value as { toJSON: () => unknown }).toJSON());
  }
  let out = '{';
  let first = true;
  for (const key of Object.keys(value)) {
    const item: unknown = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === 'function') continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(key) + ':' + stringifyExact(item);
  }
  return out + '}';
}
