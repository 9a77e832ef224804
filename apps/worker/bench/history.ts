/**
 * A large run history must cost nothing per run and little per operator read. On the BUILT
 * worker and a fresh embedded server (the bundled FerretDB build, or MONGODB_URI):
 *
 * 1. Runs per minute: three jobs on a 1 s schedule for a window, with 100,000 runs of history
 *    against an empty history (target at least 0.8x).
 * 2. Operator reads with 100,000 runs against 1,000 (target at most 1.5x): `/jobs` (median of
 *    sequential requests), `worker jobs list` and `worker jobs history` as processes (median
 *    wall time, node start-up and connection included), and the queries behind those two
 *    commands in process (median of `listJobRows()` and `runtime.history()`).
 *
 *   pnpm --filter @app/worker bench:history      (builds first)
 *   BENCH_LARGE_RUNS=20000 BENCH_WINDOW_MS=20000 ... for a quicker look
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJobRunModel } from '@app/logging';
import { startLocalMongo } from '@app/mongo-local';
import mongoose from 'mongoose';
import type * as WorkerEntry from '../src/index.ts';
import { cliPath, median, packageDirectory, seedHistory, sleep, startWorker, stopWorker, workerEnvironment } from './support.ts';

const smallRuns = 1000;
const largeRuns = Number(process.env.BENCH_LARGE_RUNS ?? 100_000);
const windowMs = Number(process.env.BENCH_WINDOW_MS ?? 60_000);
const jobs = ['RefreshTokenCleanupJob', 'IpAnonymizationJob', 'LogCleanupJob'] as const;
const everySecond = {
  JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE: '1s',
  JOBS_IP_ANONYMIZATION_SCHEDULE: '1s',
  JOBS_LOG_CLEANUP_SCHEDULE: '1s',
};

const ownServer = process.env.MONGODB_URI === undefined;
const dataDirectory = mkdtempSync(join(tmpdir(), 'history-bench-'));
const server = ownServer ? await startLocalMongo({ dataDirectory, reuseRunning: false }) : null;
const uri = server?.uri ?? process.env.MONGODB_URI ?? '';

/** Succeeded runs of the three jobs started within a window of `windowMs`, after a 5 s warm-up. */
async function runsPerMinute(databaseName: string): Promise<{ runs: number; perMinute: number; medianDurationMs: number }> {
  const worker = await startWorker(uri, databaseName, everySecond);
  try {
    await sleep(5000);
    const opened = new Date();
    await sleep(windowMs);
    const closed = new Date();
    const connection = await mongoose.createConnection(uri, { dbName: databaseName }).asPromise();
    const inWindow = await getJobRunModel(connection)
      .find({ jobName: { $in: [...jobs] }, status: 'succeeded', startedAt: { $gte: opened, $lt: closed } }, { durationMs: 1 })
      .lean();
    await connection.close();
    return {
      runs: inWindow.length,
      perMinute: (inWindow.length * 60_000) / (closed.getTime() - opened.getTime()),
      medianDurationMs: median(inWindow.map((run) => run.durationMs ?? 0)),
    };
  } finally {
    await stopWorker(worker);
  }
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

/** Median of `samples` timings after `warmUps` untimed calls. */
async function medianOf(samples: number, action: () => Promise<unknown>, warmUps = 2): Promise<number> {
  for (let warm = 0; warm < warmUps; warm += 1) await action();
  const times: number[] = [];
  for (let sample = 0; sample < samples; sample += 1) times.push(await timed(action));
  return median(times);
}

function runCli(databaseName: string, argumentsList: readonly string[]): Promise<void> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn(process.execPath, [cliPath, ...argumentsList], {
      cwd: packageDirectory,
      env: workerEnvironment(uri, databaseName),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('exit', (code) => (code === 0 ? resolveRun() : rejectRun(new Error(`worker ${argumentsList.join(' ')} exited ${String(code)}`))));
  });
}

/** The operator reads on a database holding `runs` runs of history. */
async function operatorReads(databaseName: string): Promise<Map<string, number>> {
  const results = new Map<string, number>();
  // The worker with its default schedules: it runs each job once at start, then idles.
  const worker = await startWorker(uri, databaseName);
  try {
    results.set('GET /jobs', await medianOf(30, async () => {
      const response = await fetch(`${worker.base}/jobs`);
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`/jobs answered ${response.status}`);
    }));
  } finally {
    await stopWorker(worker);
  }
  results.set('worker jobs list (process)', await medianOf(5, () => runCli(databaseName, ['jobs', 'list', '--json']), 1));
  results.set('worker jobs history (process)', await medianOf(5, () => runCli(databaseName, ['jobs', 'history', jobs[0], '--json']), 1));
  // The same commands' queries in process, without node start-up and connection (the built entry,
  // as the CLI runs it).
  const { loadWorkerConfiguration, openWorkerContext, createLogger } = (await import(join(packageDirectory, 'dist', 'index.js'))) as typeof WorkerEntry;
  const configuration = loadWorkerConfiguration({ environment: workerEnvironment(uri, databaseName) });
  const context = await openWorkerContext({ configuration, logger: createLogger({ level: 'warn', format: 'json', destination: process.stderr }) });
  try {
    results.set('jobs list query (listJobRows)', await medianOf(20, () => context.listJobRows()));
    results.set('jobs history query (20 runs)', await medianOf(20, () => context.runtime.history({ jobName: jobs[0], limit: 20 })));
  } finally {
    await context.close();
  }
  return results;
}

try {
  console.log(`server: ${ownServer ? 'bundled FerretDB build' : 'MONGODB_URI'}; history ${largeRuns} runs over ${jobs.join(', ')}`);
  console.log(`\nruns per minute: three jobs every second for ${windowMs / 1000} s, ${largeRuns} runs of history vs none`);
  const empty = await runsPerMinute('bench_history_empty');
  await seedHistory(uri, 'bench_history_large', jobs, largeRuns);
  const large = await runsPerMinute('bench_history_large');
  const pace = large.perMinute / empty.perMinute;
  console.log(`empty history   ${empty.runs} runs, ${empty.perMinute.toFixed(1)}/min, run duration median ${empty.medianDurationMs} ms`);
  console.log(`${largeRuns} runs  ${large.runs} runs, ${large.perMinute.toFixed(1)}/min, run duration median ${large.medianDurationMs} ms`);
  console.log(`ratio ${pace.toFixed(2)}x ${pace >= 0.8 ? '(>= 0.8x)' : '(under 0.8x)'}`);

  console.log(`\noperator reads: ${smallRuns} vs ${largeRuns} runs (median ms)`);
  await seedHistory(uri, 'bench_history_small', jobs, smallRuns);
  const small = await operatorReads('bench_history_small');
  const big = await operatorReads('bench_history_large');
  for (const [name, smallMs] of small) {
    const bigMs = big.get(name) ?? Number.NaN;
    const ratio = bigMs / smallMs;
    console.log(`${name.padEnd(32)} ${smallMs.toFixed(1).padStart(8)} ${bigMs.toFixed(1).padStart(8)}  ratio ${ratio.toFixed(2)}x ${ratio <= 1.5 ? '(<= 1.5x)' : '(over 1.5x)'}`);
  }
} finally {
  if (!ownServer) {
    const connection = await mongoose.createConnection(uri).asPromise();
    for (const name of ['bench_history_empty', 'bench_history_large', 'bench_history_small']) await connection.useDb(name).dropDatabase();
    await connection.close();
  }
  await server?.stop();
  rmSync(dataDirectory, { recursive: true, force: true });
}
