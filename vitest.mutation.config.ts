import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The tests Stryker runs (`npm run mutation`): those that exercise the mutated modules in this
 * process. Tests that start the CLI or the whole service in a child process cover no mutant and
 * would only slow every run; Stryker's related mode narrows this list further to the files that
 * import the module under mutation.
 */
export default defineConfig({
  ...base,
  // The suite's own settings (timeouts, order), with the include list replaced, not merged.
  test: {
    ...base.test,
    include: [
      'test/**/*.edges.test.ts',
      'test/actions/**/*.test.ts',
      'test/server/action-api.test.ts',
      'test/alerts/**/*.test.ts',
      'test/metrics/lifecycle-metrics.test.ts',
      'test/detect/stateful.test.ts',
      'test/detect/stateful-kinds.test.ts',
      'test/ingest/**/*.test.ts',
      'test/hostile/event-lines.test.ts',
      'test/hostile/format-corpus.test.ts',
      'test/hostile/http-slow-clients.test.ts',
      'test/hostile/time-skew.test.ts',
      'test/outputs/syslog-udp.test.ts',
    ],
  },
});
