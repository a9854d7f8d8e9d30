import { describe, expect, it } from 'vitest';
import { formatRfc3339Ns, parseRfc3339Ns } from '../../src/core/time.js';

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
