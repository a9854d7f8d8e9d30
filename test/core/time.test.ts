import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRfc3339Ns, isEventTimeNs, MAX_EVENT_TIME_NS, MIN_EVENT_TIME_NS, parseRfc3339Ns } from '../../src/core/time.js';

describe('RFC 3339 nanosecond times', () => {
  it('parses Falco time strings without losing a nanosecond', () => {
    expect(parseRfc3339Ns('2023-05-25T13:44:05.478445995Z')).toBe(1685022245478445995n);
    expect(parseRfc3339Ns('2023-03-03T03:03:03.000000003Z')).toBe(1677812583000000003n);
  });

  it('accepts offsets, short fractions and no fraction', () => {
    expect(parseRfc3339Ns('2024-05-07T18:54:19.34108118+00:00')).toBe(1715108059341081180n);
    expect(parseRfc3339Ns('2024-05-07T20:54:19.5+02:00')).toBe(1715108059500000000n);
    expect(parseRfc3339Ns('2024-05-07T18:54:19Z')).toBe(1715108059000000000n);
  });

  it('refuses what is not a time', () => {
    expect(parseRfc3339Ns('yesterday')).toBeUndefined();
    expect(parseRfc3339Ns('2024-13-40T99:00:00Z')).toBeUndefined();
    expect(parseRfc3339Ns('1685022245478445995')).toBeUndefined();
  });

  it('formats with all nine digits and round-trips', () => {
    expect(formatRfc3339Ns(1685022245478445995n)).toBe('2023-05-25T13:44:05.478445995Z');
    expect(formatRfc3339Ns(1677812583000000003n)).toBe('2023-03-03T03:03:03.000000003Z');
    const t = 1763990696428114287n;
    expect(parseRfc3339Ns(formatRfc3339Ns(t))).toBe(t);
  });
});

describe('impossible dates and times', () => {
  it.each([
    '2026-02-30T00:00:00Z',
    '2026-02-29T00:00:00Z',
    '2100-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-32T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T25:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+01:60',
    // Digits after the seconds belong to a fraction, which needs its dot.
    '2026-01-01T00:00:00123Z',
  ])('refuses %s instead of rolling it over', (text) => {
    expect(parseRfc3339Ns(text)).toBeUndefined();
  });

  it('takes the last day of each month, leap days included, and the extreme offsets', () => {
    expect(parseRfc3339Ns('2024-02-29T00:00:00Z')).toBe(1709164800000000000n);
    expect(parseRfc3339Ns('2000-02-29T12:00:00Z')).toBe(951825600000000000n);
    expect(parseRfc3339Ns('2026-04-30T23:59:59.999999999Z')).toBe(1777593599999999999n);
    expect(parseRfc3339Ns('2026-01-01T23:59:00+23:59')).toBe(1767225600000000000n);
    expect(parseRfc3339Ns('2025-12-31T00:01:00-23:59')).toBe(1767225600000000000n);
  });

  it('refuses an impossible date even right after its month parsed well (the same-second cache)', () => {
    expect(parseRfc3339Ns('2026-02-28T10:00:00.000000001Z')).toBe(1772272800000000001n);
    expect(parseRfc3339Ns('2026-02-30T10:00:00.000000001Z')).toBeUndefined();
    expect(parseRfc3339Ns('2026-02-28T10:00:00.000000002Z')).toBe(1772272800000000002n);
  });
});

describe('the range of event times', () => {
  it('runs from the epoch to the last nanosecond of 9999, inclusive', () => {
    expect(isEventTimeNs(MIN_EVENT_TIME_NS - 1n)).toBe(false);
    expect(isEventTimeNs(MIN_EVENT_TIME_NS)).toBe(true);
    expect(isEventTimeNs(MIN_EVENT_TIME_NS + 1n)).toBe(true);
    expect(isEventTimeNs(MAX_EVENT_TIME_NS - 1n)).toBe(true);
    expect(isEventTimeNs(MAX_EVENT_TIME_NS)).toBe(true);
    expect(isEventTimeNs(MAX_EVENT_TIME_NS + 1n)).toBe(false);
    expect(formatRfc3339Ns(MAX_EVENT_TIME_NS)).toBe('9999-12-31T23:59:59.999999999Z');
    expect(parseRfc3339Ns('9999-12-31T23:59:59.999999999Z')).toBe(MAX_EVENT_TIME_NS);
    expect(formatRfc3339Ns(0n)).toBe('1970-01-01T00:00:00.000000000Z');
  });

  it('formats any bigint without throwing, where Date would', () => {
    const huge = 10n ** 30n;
    expect(() => new Date(Number(huge / 1_000_000n)).toISOString()).toThrow(RangeError);
    expect(formatRfc3339Ns(huge)).toMatch(/^\+\d{6,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/);
    expect(formatRfc3339Ns(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
  });

  it('formats like Date.toISOString over the whole range, to the nanosecond', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_EVENT_TIME_NS }), (ns) => {
        const iso = new Date(Number(ns / 1_000_000n)).toISOString();
        const text = formatRfc3339Ns(ns);
        expect(text.slice(0, 23)).toBe(iso.slice(0, 23));
        expect(parseRfc3339Ns(text)).toBe(ns);
      }),
    );
  });
});
