import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Tests start real servers on sockets; running files in parallel on two cores is fine,
    // but each file's tests run in order.
    sequence: { concurrent: false },
  },
});
