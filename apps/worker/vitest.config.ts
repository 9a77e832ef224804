import { createVitestConfig } from '@app/vitest-config';

export default createVitestConfig({
  database: true,
  coverage: {
    include: ['src/**/*.ts'],
    // cli.ts, demo.ts and worker.ts run in child processes (end-to-end tests), where v8
    // coverage of this run does not reach; they are covered by those tests' assertions.
    exclude: ['src/cli.ts', 'src/demo.ts', 'src/index.ts'],
    lines: 90,
    branches: 80,
  },
});
