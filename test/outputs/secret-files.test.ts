/** Outputs read their secret files through the service's one reader: hostile files are problems, not hangs. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOutput } from '../../src/outputs/registry.js';
import { TEST_CONTEXT } from './parse-context.js';
import { tempDirs } from '../support/temp-dirs.js';

const tempDir = tempDirs();

const hec = findOutput('splunk_hec')!;
const parseWith = (tokenFile: string) => hec.parse({ type: 'splunk_hec', url: 'https://splunk.example.com:8088', token_file: tokenFile }, TEST_CONTEXT);

describe('output secret files', () => {
  const dir = tempDir('secret');

  it('takes a token from its file', () => {
    writeFileSync(join(dir, 'token'), 'abc-123\n');
    expect(parseWith(join(dir, 'token')).ok).toBe(true);
  });

  it('refuses an empty token file instead of sending without a token', () => {
    writeFileSync(join(dir, 'empty'), ' \n');
    expect(parseWith(join(dir, 'empty'))).toEqual({ ok: false, problems: [expect.stringMatching(/^token_file: .*empty/)] });
  });

  it('refuses a FIFO or a device at once instead of hanging', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const file of [fifo, '/dev/zero']) {
      const r = parseWith(file);
      expect(r.ok, file).toBe(false);
      if (!r.ok) expect(r.problems[0], file).toMatch(/^token_file: /);
    }
  });
});
