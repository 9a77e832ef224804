import { createVitestConfig } from '@app/vitest-config';

export default createVitestConfig({
  database: true,
  testTimeoutMs: 120_000,
  fileParallelism: false,
  coverage: { include: ['src/**/*.ts'], lines: 90, branches: 90 },
});
