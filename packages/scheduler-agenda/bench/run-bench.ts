// Bundles bench/scheduler-bench.ts with this package's sources (dependencies stay
// external) and runs it: `pnpm bench`.
import { spawnSync } from 'node:child_process';
import { bundleEntry, packageDirectory } from '../test/support/bundle-entry.ts';

const outfile = await bundleEntry('bench/scheduler-bench.ts', '.bench', 'scheduler-bench.mjs');
const result = spawnSync(process.execPath, [outfile], { stdio: 'inherit', cwd: packageDirectory });
process.exit(result.status ?? 1);
