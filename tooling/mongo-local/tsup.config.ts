import { defineConfig } from 'tsup';

export default defineConfig({
  entry: [
    'src/index.ts',
    'src/testing.ts',
    'src/repro.ts',
    'src/vitest/global-setup.ts',
    'src/vitest/setup-file.ts',
  ],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node22',
  external: ['vitest'],
});
