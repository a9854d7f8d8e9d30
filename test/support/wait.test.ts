/** The one polling helper the tests share. */
import { describe, expect, it } from 'vitest';
import { waitFor } from './wait.js';

describe('waitFor', () => {
  it('resolves with the first truthy answer, checking again until then', async () => {
    const answers = [undefined, false, 0, '', { ready: true }];
    let calls = 0;
    const value = await waitFor(() => answers[calls++], { what: 'readiness', intervalMs: 1 });
    expect(value).toEqual({ ready: true });
    expect(calls).toBe(answers.length);
  });

  it('waits on asynchronous checks', async () => {
    let calls = 0;
    expect(await waitFor(async () => ++calls === 3, { what: 'the third call', intervalMs: 1 })).toBe(true);
    expect(calls).toBe(3);
  });

  it('on timeout names what it waited for and the last value seen', async () => {
    let n = 0;
    await expect(waitFor(() => (n++ < 2 ? null : 0), { what: 'the queue to drain', timeoutMs: 30, intervalMs: 5 })).rejects.toThrow(
      'timed out after 30 ms waiting for the queue to drain; last seen: 0',
    );
  });

  it('checks once even with no time to wait', async () => {
    let calls = 0;
    await expect(waitFor(() => (calls++, false), { what: 'nothing', timeoutMs: 0 })).rejects.toThrow('last seen: false');
    expect(calls).toBe(1);
  });

  it('stops at the first error a check throws, unless told to retry', async () => {
    let calls = 0;
    const broken = (): boolean => {
      calls++;
      throw new TypeError('broken check');
    };
    await expect(waitFor(broken, { what: 'a broken check', timeoutMs: 1_000, intervalMs: 1 })).rejects.toThrow(TypeError);
    expect(calls).toBe(1);
  });

  it('with retryOnError takes a throw as "not yet", and names the last error on timeout', async () => {
    let calls = 0;
    const starting = (): string => {
      if (++calls < 3) throw new Error('ECONNREFUSED');
      return 'up';
    };
    expect(await waitFor(starting, { what: 'the server', intervalMs: 1, retryOnError: true })).toBe('up');
    const down = (): boolean => {
      throw new Error('ECONNREFUSED');
    };
    await expect(waitFor(down, { what: 'the server', timeoutMs: 20, intervalMs: 5, retryOnError: true })).rejects.toThrow(
      'timed out after 20 ms waiting for the server; last seen: error ECONNREFUSED',
    );
  });
});
