import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts', 'src/cli.ts'],
    format: ['esm'],
    dts: true,
    // dist/web is the dashboard's (second entry below), built at the same time.
    clean: ['!web/**'],
    target: 'node22',
    // A development dependency, loaded only by `worker demo` (with a clear message when absent).
    external: ['smtp-server'],
  },
  {
    // The dashboard: one small browser bundle (Preact), served by the worker from dist/web.
    entry: { 'assets/app': 'src/web/main.tsx' },
    outDir: 'dist/web',
    publicDir: 'src/web/public',
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    minify: true,
    dts: false,
    clean: true,
    noExternal: [/.*/u],
    tsconfig: 'src/web/tsconfig.json',
    outExtension: () => ({ js: '.js' }),
    esbuildOptions(options) {
      options.jsx = 'automatic';
      options.jsxImportSource = 'preact';
    },
  },
]);
