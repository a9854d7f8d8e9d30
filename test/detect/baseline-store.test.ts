/** The state file's lock: the service's save and `lanner baseline reset` never interleave. */
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBaselines, withStateLock, writeBaselines } from '../../src/detect/stateful/baseline-store.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

const stateFile = (): string => join(tempDir('state'), 'baselines.json');

describe('withStateLock', () => {
  it('keeps a second holder out while the first holds the lock, and releases it after', () => {
    const file = stateFile();
    const inner = withStateLock(file, () => {
      expect(existsSync(`${file}.lock`)).toBe(true);
      return (() => {
        try {
          withStateLock(file, () => 'second', 50);
          return 'second got in';
        } catch (err) {
          return (err as Error).message;
        }
      })();
    });
    expect(inner).toMatch(/is locked/);
    expect(existsSync(`${file}.lock`)).toBe(false);
    expect(withStateLock(file, () => 'free again')).toBe('free again');
  });

  it('takes over a lock left by a process that died holding it', () => {
    const file = stateFile();
    writeFileSync(`${file}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    withStateLock(file, () => writeBaselines(file, new Map([['r', [{ workload: 'w', firstMs: 0, lastMs: 1, values: ['a'] }]]])), 100);
    expect(readBaselines(file).get('r')).toHaveLength(1);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('releases the lock when the work throws', () => {
    const file = stateFile();
    expect(() => withStateLock(file, () => { throw new Error('disk full'); })).toThrow('disk full');
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});
