import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.js';
import { RULE_PROBLEM_CODES } from '../../src/rules/problems.js';
import { REPO_ROOT } from '../support/shared.js';

describe('error codes', () => {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(LANNER_[A-Z_]+)` \|/gm)].map((m) => m[1]);

  it('documents every code in docs/errors.md, and no code that does not exist', () => {
    expect(documented.sort()).toEqual([...Object.keys(ERROR_CODES), ...Object.keys(RULE_PROBLEM_CODES)].sort());
  });
});
