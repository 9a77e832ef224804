import { createVitestConfig } from '@app/vitest-config';

export default createVitestConfig({ database: true });
