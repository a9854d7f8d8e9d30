/**
 * Exact nanosecond time handling. Falco's times carry nanoseconds, which do not fit in a
 * JavaScript number (2^53 ns is only about 104 days), so they travel as bigint.
 */

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

// YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)
const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?\d*([Zz]|[+-]\d{2}:?\d{2})$/;

// Events arrive in bursts within the same second: remember the last whole second parsed.
let lastSecondText = '';
let lastSecondNs = 0n;

/** Parses an RFC 3339 time with up to nanosecond precision; undefined when it is not one. */
export function parseRfc3339Ns(text: string): bigint | undefined {
  const fast = sameSecondUtc(text);
  if (fast !== undefined) return fast;
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, base, frac = '', zone = 'Z'] = m;
  const secondKey = zone === 'Z' ? base! : `${base!}${zone}`;
  let secondNs: bigint;
  if (secondKey === lastSecondText) {
    secondNs = lastSecondNs;
  } else {
    const tz = zone === 'Z' || zone === 'z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
    const ms = Date.parse(`${base!.replace(' ', 'T')}${tz}`);
    if (Number.isNaN(ms)) return undefined;
    secondNs = BigInt(ms) * NS_PER_MS;
    lastSecondText = secondKey;
    lastSecondNs = secondNs;
  }
  return frac === '' ? secondNs : secondNs + BigInt(frac.padEnd(9, '0'));
}

/**
 * Falco's own form, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, in the second parsed last: the common
 * case, read without the RegExp (whose match allocates) from the cached second and nine digits.
 */
function sameSecondUtc(text: string): bigint | undefined {
  if (text.length !== 30 || text.charCodeAt(19) !== 0x2e /* . */ || text.charCodeAt(29) !== 0x5a /* Z */) return undefined;
  const second = lastSecondText;
  if (second.length !== 19) return undefined;
  for (let i = 0; i < 19; i++) if (text.charCodeAt(i) !== second.charCodeAt(i)) return undefined;
  let frac = 0;
  for (let i = 20; i < 29; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    frac = frac * 10 + d;
  }
  return lastSecondNs + BigInt(frac);
}

/** Formats nanoseconds since the epoch as RFC 3339 UTC with all nine fractional digits. */
export function formatRfc3339Ns(ns: bigint): string {
  let seconds = ns / NS_PER_S;
  let frac = ns % NS_PER_S;
  if (frac < 0n) {
    frac += NS_PER_S;
    seconds -= 1n;
  }
  const iso = new Date(Number(seconds) * 1000).toISOString(); // ...:SS.000Z
  return `${iso.slice(0, 19)}.${frac.toString().padStart(9, '0')}Z`;
}

export function nsFromSecondsNanos(seconds: bigint | number, nanos: number): bigint {
  return BigInt(seconds) * NS_PER_S + BigInt(nanos);
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}
