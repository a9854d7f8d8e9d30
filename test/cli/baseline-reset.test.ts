import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, lanner } from '../support/cli.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

beforeAll(assertBuilt);

describe('lanner baseline reset', () => {
  it('with no state file, forgets nothing and creates no file', async () => {
    const state = join(tempDir('cli-baseline'), 'missing.json');
    const r = await lanner(['baseline', 'reset', '--state', state]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('removed 0 profiles');
    expect(existsSync(state)).toBe(false);
  });
});
