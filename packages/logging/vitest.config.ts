import { createVitestConfig } from '@app/vitest-config';

export default createVitestConfig({
  database: true,
  coverage: { include: ['src/**/*.ts'], lines: 90, branches: 90 },
});
