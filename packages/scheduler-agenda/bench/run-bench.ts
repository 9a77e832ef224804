// Bundles bench/scheduler-bench.ts with this package's sources (dependencies stay
// external) and runs it: `pnpm bench`.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');
const outputDirectory = join(packageDirectory, 'node_modules', '.bench');
mkdirSync(outputDirectory, { recursive: true });
const outfile = join(outputDirectory, 'scheduler-bench.mjs');
await build({
  entryPoints: [join(packageDirectory, 'bench', 'scheduler-bench.ts')],
  outfile,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  logLevel: 'error',
});
const result = spawnSync(process.execPath, [outfile], { stdio: 'inherit', cwd: packageDirectory });
process.exit(result.status ?? 1);
