import { createVitestConfig } from '@app/vitest-config';

// `pnpm bench`: the benchmark script, run against the same local server the tests use
// (MONGODB_URI when set). It prints a ratio against a baseline measured in the same run;
// it asserts correctness (no duplicates), never time.
export default createVitestConfig({
  database: true,
  include: ['bench/**/*.bench.ts'],
  testTimeoutMs: 1_800_000,
});
