import { createVitestConfig } from '@app/vitest-config';

// `pnpm bench`: benchmark scripts against the same local server the tests use. They print
// ratios against a baseline measured in the same run; they assert correctness, never time.
export default createVitestConfig({
  database: true,
  include: ['bench/**/*.bench.ts'],
  testTimeoutMs: 600_000,
});
