// Bundles the benchmarks with this package's sources (dependencies stay external) and runs
// them: `pnpm bench` (BENCH_ONLY=overhead|lag|takeover runs one part).
import { spawnSync } from 'node:child_process';
import { bundleEntry, packageDirectory } from '../test/support/bundle-entry.ts';

const only = process.env.BENCH_ONLY;
let status = 0;
if (only === undefined || only === 'overhead' || only === 'lag') {
  const outfile = await bundleEntry('bench/scheduler-bench.ts', '.bench', 'scheduler-bench.mjs');
  const replica = await bundleEntry('bench/replica.ts', '.bench', 'replica.mjs');
  const result = spawnSync(process.execPath, [outfile], {
    stdio: 'inherit',
    cwd: packageDirectory,
    env: { ...process.env, BENCH_REPLICA_PATH: replica },
  });
  status ||= result.status ?? 1;
}
if (only === undefined || only === 'takeover') {
  const outfile = await bundleEntry('bench/takeover-bench.ts', '.bench', 'takeover-bench.mjs');
  const result = spawnSync(process.execPath, [outfile], {
    stdio: 'inherit',
    cwd: packageDirectory,
    env: {
      ...process.env,
      BENCH_WORKER_PATH: await bundleEntry('test/fixtures/worker-process.ts', '.bench', 'worker-process.mjs'),
    },
  });
  status ||= result.status ?? 1;
}
process.exit(status);
