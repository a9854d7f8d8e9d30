/**
 * Loaded before every test file (vitest.config.ts `setupFiles`): a test that makes no assertion
 * fails. A test that only waits, or whose assertions sit in a loop over nothing, proves nothing.
 */
import { beforeEach, expect } from 'vitest';

beforeEach(() => {
  expect.hasAssertions();
});
