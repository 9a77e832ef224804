import { createVitestConfig } from '@app/vitest-config';

export default createVitestConfig({
  database: true,
  coverage: {
    include: ['src/**/*.ts'],
    // cli.ts and program.ts run in child processes (end-to-end tests), where this run's v8
    // coverage does not reach; the demo is exercised by `worker demo` (README), not in tests;
    // src/web is the dashboard, run in Chromium by test/console/browser.test.ts.
    exclude: ['src/cli.ts', 'src/program.ts', 'src/demo.ts', 'src/index.ts', 'src/web/**'],
    lines: 90,
    branches: 80,
  },
});
