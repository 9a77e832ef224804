import { createVitestConfig } from '@app/vitest-config';

export default createVitestConfig({
  coverage: { lines: 95, branches: 95 },
});
