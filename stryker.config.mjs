// @ts-check
/**
 * Mutation testing of the safety-critical modules: `npm run mutation` (not part of `npm test`).
 * Run it before changing one of these modules; `npx stryker run --mutate <file>` takes one.
 * Incremental: the committed mutation/stryker-incremental.json lets a rerun test only the
 * mutants whose code or covering tests changed. Surviving mutants judged equivalent are listed
 * in mutation/equivalent-mutants.md.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  coverageAnalysis: 'perTest',
  mutate: [
    'src/actions/guardrails.ts',
    'src/actions/action-engine.ts',
    'src/alerts/lifecycle/dedup.ts',
    'src/alerts/lifecycle/rate-limit.ts',
    'src/detect/stateful/sequence.ts',
    'src/detect/stateful/threshold.ts',
    'src/detect/stateful/baseline.ts',
    'src/ingest/http-receiver.ts',
    'src/ingest/normalize.ts',
    'src/alerts/formats/*.ts',
  ],
  incremental: true,
  incrementalFile: 'mutation/stryker-incremental.json',
  // Two cores are shared with builds and other suites; raise it with `--concurrency` on a quiet machine.
  concurrency: 1,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  thresholds: { high: 90, low: 80, break: null },
  // Build output, coverage and earlier reports are not needed in the sandbox.
  ignorePatterns: ['dist', 'coverage', 'reports', '.lanner-state'],
  cleanTempDir: 'always',
};
