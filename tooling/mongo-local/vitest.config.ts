import { defineConfig } from 'vitest/config';

// The other packages take these from @app/vitest-config; this package provides them.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    hookTimeout: 60_000,
    globalSetup: ['src/vitest/global-setup.ts'],
    setupFiles: ['src/vitest/setup-file.ts'],
  },
});
