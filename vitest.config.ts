import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A test that asserts nothing fails.
    setupFiles: ['test/support/every-test-asserts.ts'],
    // These only catch a hang; they are no measure of speed. Every wait on the outside world
    // has its own bound naming what it awaited (test/support/wait.ts), and one start of the
    // `lanner` binary costs seconds of CPU, which two shared cores stretch several times over.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests start real servers on sockets; running files in parallel on two cores is fine,
    // but each file's tests run one after another. They pass in any order
    // (`npx vitest run --sequence.shuffle --sequence.seed=N`); .ci/run always shuffles, seed in the log.
    sequence: { concurrent: false },
  },
});
