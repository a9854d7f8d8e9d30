/**
 * Exact nanosecond time handling. Falco's times carry nanoseconds, which do not fit in a
 * JavaScript number (2^53 ns is only about 104 days), so they travel as bigint. Dates are read
 * and written by calendar arithmetic rather than through `Date`: `Date.parse` rolls impossible
 * dates over (2026-02-30 becomes March 2nd, 24:00 the next day), and `toISOString` throws on
 * times beyond its range; neither may happen to a time an event's sender chose.
 */

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const SECONDS_PER_DAY = 86_400;

/** The earliest event time Lanner takes: the Unix epoch (Falco stamps nanoseconds since it). */
export const MIN_EVENT_TIME_NS = 0n;
/** The latest event time Lanner takes: the last nanosecond of 9999-12-31, the last RFC 3339 year. */
export const MAX_EVENT_TIME_NS = 253_402_300_800n * NS_PER_S - 1n;

/** Whether `ns` lies in the range of event times Lanner takes (see MIN/MAX_EVENT_TIME_NS). */
export function isEventTimeNs(ns: bigint): boolean {
  return ns >= MIN_EVENT_TIME_NS && ns <= MAX_EVENT_TIME_NS;
}

// YYYY-MM-DD(T| )HH:MM:SS[.fraction](Z|±HH:MM|±HHMM); digits past the ninth of the fraction are dropped.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?([Zz]|([+-])(\d{2}):?(\d{2}))$/;

// Events arrive in bursts within the same second: remember the last whole second parsed.
let lastSecondText = '';
let lastSecondNs = 0n;

/**
 * Parses an RFC 3339 time with up to nanosecond precision; undefined when it is not one,
 * including impossible dates and times (February 30th, hour 24, minute 60, offset +25:00).
 * A leap second (:60) is refused too: Falco stamps Unix time, which has none.
 */
export function parseRfc3339Ns(text: string): bigint | undefined {
  const fast = sameSecondUtc(text);
  if (fast !== undefined) return fast;
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const frac = m[7] ?? '';
  const zone = m[8]!;
  const secondKey = zone === 'Z' ? text.slice(0, 19) : `${text.slice(0, 19)}${zone}`;
  let secondNs: bigint;
  if (secondKey === lastSecondText) {
    secondNs = lastSecondNs;
  } else {
    const seconds = civilSeconds(m);
    if (seconds === undefined) return undefined;
    secondNs = BigInt(seconds) * NS_PER_S;
    lastSecondText = secondKey;
    lastSecondNs = secondNs;
  }
  return frac === '' ? secondNs : secondNs + BigInt(frac.padEnd(9, '0'));
}

/** Seconds since the epoch of a matched time, or undefined when a part is out of its range. */
function civilSeconds(m: RegExpExecArray): number | undefined {
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = Number(m[11]);
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    offset = (m[9] === '-' ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  }
  return daysFromCivil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second - offset;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The date of a day counted from 1970-01-01 (H. Hinnant's civil_from_days). */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
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

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * Formats nanoseconds since the epoch as RFC 3339 UTC with all nine fractional digits. Never
 * throws: years beyond 9999 or before 0000 are written with their sign and all their digits.
 */
export function formatRfc3339Ns(ns: bigint): string {
  let seconds = ns / NS_PER_S;
  let frac = ns % NS_PER_S;
  if (frac < 0n) {
    frac += NS_PER_S;
    seconds -= 1n;
  }
  const s = Number(seconds);
  const days = Math.floor(s / SECONDS_PER_DAY);
  const inDay = s - days * SECONDS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  const yearText = year >= 0 && year <= 9999 ? String(year).padStart(4, '0') : `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
  const clock = `${pad2(Math.floor(inDay / 3600))}:${pad2(Math.floor((inDay % 3600) / 60))}:${pad2(inDay % 60)}`;
  return `${yearText}-${pad2(month)}-${pad2(day)}T${clock}.${frac.toString().padStart(9, '0')}Z`;
}

export function nsFromSecondsNanos(seconds: bigint | number, nanos: number): bigint {
  return BigInt(seconds) * NS_PER_S + BigInt(nanos);
}

export function nowNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}
