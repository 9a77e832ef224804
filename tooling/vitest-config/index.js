// Shared vitest preset. `database: true` starts one local MongoDB-wire server per
// test run (or uses MONGODB_URI) and gives every test file its own database name.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `fileParallelism: false` runs the files one after another (process tests whose timing
 * matters on 2 cores).
 *
 * @param {{ database?: boolean, coverage?: { include?: string[], exclude?: string[], lines?: number, branches?: number }, testTimeoutMs?: number, include?: string[], fileParallelism?: boolean }} options
 */
export function createVitestConfig(options = {}) {
  const { database = false, coverage, testTimeoutMs = 20_000, include, fileParallelism = true } = options;
  const resolveModule = (specifier) => fileURLToPath(import.meta.resolve(specifier));
  return defineConfig({
    test: {
      include: include ?? ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: testTimeoutMs,
      fileParallelism,
      // The JSON report feeds the repository-wide "N passed, N failed" line (scripts/test-summary.mjs).
      reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
      hookTimeout: 60_000,
      globalSetup: database ? [resolveModule('@app/mongo-local/vitest-global-setup')] : [],
      setupFiles: database ? [resolveModule('@app/mongo-local/vitest-setup-file')] : [],
      coverage: coverage
        ? {
            enabled: true,
            provider: 'v8',
            include: coverage.include ?? ['src/**/*.ts'],
            exclude: [...(coverage.exclude ?? []), 'src/**/*.test.ts'],
            reporter: ['text-summary', 'text', 'json-summary'],
            thresholds: { lines: coverage.lines ?? 90, branches: coverage.branches ?? 90 },
          }
        : { enabled: false },
    },
  });
}
