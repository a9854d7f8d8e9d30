/**
 * JSON that keeps integers beyond 2^53 exact. Falco writes `evt.time` as integer nanoseconds
 * (19 digits), which `JSON.parse` rounds. We let the native parser do the work and only go back
 * to the text for the few numbers it could not represent, so the common path stays native speed.
 */

export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Parses JSON text; integers that are not safe JavaScript integers become exact bigints. */
export function parseJsonExact(text: string): JsonValue {
  const value = JSON.parse(text) as JsonValue;
  if (!containsUnsafeInteger(value)) return value;
  const literals = unsafeIntegerLiterals(text);
  return restoreExact(value, { literals, next: 0 });
}

function isUnsafeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v);
}

function containsUnsafeInteger(v: JsonValue): boolean {
  if (typeof v === 'number') return isUnsafeInteger(v);
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (const item of v) if (containsUnsafeInteger(item)) return true;
    return false;
  }
  for (const key in v) if (containsUnsafeInteger(v[key]!)) return true;
  return false;
}

/** Integer literals of 16 or more digits outside strings, in document order. */
function unsafeIntegerLiterals(text: string): string[] {
  const found: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = endOfString(text, i) + 1;
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
      if (integral && i - start >= 16) found.push(text.slice(start, i));
      continue;
    }
    i++;
  }
  return found;
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

interface Cursor {
  readonly literals: string[];
  next: number;
}

function restoreExact(v: JsonValue, cursor: Cursor): JsonValue {
  if (typeof v === 'number') return isUnsafeInteger(v) ? takeLiteral(v, cursor) : v;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = restoreExact(v[i]!, cursor);
    return v;
  }
  for (const key in v) v[key] = restoreExact(v[key]!, cursor);
  return v;
}

// Object key order can differ from text order (integer-like keys sort first), so we match each
// rounded number to the next literal that rounds to it rather than trusting position alone.
function takeLiteral(rounded: number, cursor: Cursor): JsonValue {
  for (let i = cursor.next; i < cursor.literals.length; i++) {
    const literal = cursor.literals[i]!;
    if (literal !== '' && Number(literal) === rounded) {
      cursor.literals[i] = '';
      if (i === cursor.next) cursor.next++;
      return BigInt(literal);
    }
  }
  return rounded;
}

/** Serializes like `JSON.stringify`, writing bigints as exact integer literals. */
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
