/**
 * Cost of the operator endpoints of the BUILT worker, as ratios against `/healthz`
 * (measured in the same run, same process, same database). `/jobs` and `/readyz` query the
 * database; operators and probes poll them, so they must stay cheap.
 *
 *   pnpm --filter @app/worker bench        (builds first)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, startLocalMongo } from '@app/mongo-local';

const requestsPerRoute = 300;
const packageDirectory = join(import.meta.dirname, '..');
const dataDirectory = mkdtempSync(join(tmpdir(), 'worker-bench-'));
const database = await startLocalMongo({ dataDirectory, reuseRunning: false });
const port = await findFreePort();
const worker = spawn(process.execPath, [join(packageDirectory, 'dist', 'cli.js'), 'start'], {
  cwd: packageDirectory,
  env: {
    PATH: process.env.PATH ?? '',
    DO_NOT_TRACK: '1',
    MONGODB_URI: database.uri,
    MONGODB_DATABASE: 'bench',
    HTTP_PORT: String(port),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ADMIN_PASSWORD: 'bench-password',
    JOBS_EMAIL_QUEUE_ENABLED: 'false',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});

async function waitReady(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 200));
  }
  throw new Error('worker not ready within 60 s');
}

async function measure(path: string): Promise<number> {
  for (let warm = 0; warm < 20; warm += 1) await (await fetch(`http://127.0.0.1:${port}${path}`)).arrayBuffer();
  const started = performance.now();
  for (let request = 0; request < requestsPerRoute; request += 1) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  }
  return (performance.now() - started) / requestsPerRoute;
}

try {
  await waitReady();
  const baseline = await measure('/healthz');
  console.log(`requests per route: ${requestsPerRoute} (sequential)`);
  console.log(`/healthz  ${baseline.toFixed(3)} ms/request (baseline)`);
  for (const path of ['/readyz', '/jobs', '/metrics']) {
    const mean = await measure(path);
    console.log(`${path.padEnd(9)} ${mean.toFixed(3)} ms/request  ratio ${(mean / baseline).toFixed(1)}x`);
  }
} finally {
  worker.kill('SIGTERM');
  await new Promise((resolveExit) => worker.once('exit', resolveExit));
  await database.stop();
  rmSync(dataDirectory, { recursive: true, force: true });
}
