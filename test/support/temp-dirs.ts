/**
 * Temporary directories a test file removes once its tests are done, so that a run leaves
 * nothing behind in the temporary directory, however its tests end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** Makes a fresh directory `lanner-<name>-XXXXXX` in the temporary directory and returns its path. */
export type MakeTempDir = (name: string) => string;

/**
 * Call once at the top of a test file (or of a describe block): registers an `afterAll` that
 * removes every directory the returned function made, with what the tests wrote inside.
 */
export function tempDirs(): MakeTempDir {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (name) => {
    const dir = mkdtempSync(join(tmpdir(), `lanner-${name}-`));
    made.push(dir);
    return dir;
  };
}
