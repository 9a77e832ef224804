/**
 * The console's cost, on the BUILT worker and a fresh embedded FerretDB:
 *
 * 1. History size: API and page response times with 100,000 runs of one job against 1,000
 *    (same server, two databases, ratio printed; target at most 1.5x: paged queries only).
 * 2. Per-run overhead: a job on a 100 ms interval runs back to back for a fixed window, once
 *    with nobody watching and once with the dashboard's requests every second (target at
 *    most 1.1x): wall time per run (bounded below by the scheduler's scan period) and the
 *    runs' own duration (their database work competes with the console's queries).
 *
 *   pnpm --filter @app/worker bench:console      (builds first)
 *   BENCH_LARGE_RUNS=20000 BENCH_WINDOW_MS=10000 ... for a quicker look
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJobRunModel } from '@app/logging';
import { startLocalMongo } from '@app/mongo-local';
import mongoose from 'mongoose';
import { median, seedHistory, startWorker as startBenchWorker, stopWorker, type RunningWorker } from './support.ts';

const smallRuns = 1000;
const largeRuns = Number(process.env.BENCH_LARGE_RUNS ?? 100_000);
const windowMs = Number(process.env.BENCH_WINDOW_MS ?? 30_000);
const job = 'RefreshTokenCleanupJob';
const dataDirectory = mkdtempSync(join(tmpdir(), 'console-bench-'));
const database = await startLocalMongo({ dataDirectory, reuseRunning: false });
const startWorker = (databaseName: string, environment: Record<string, string> = {}): Promise<RunningWorker> =>
  startBenchWorker(database.uri, databaseName, environment);

async function timeRequest(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return performance.now() - started;
}

/** Median of `samples` sequential requests, after two warm-up requests; `spacingMs` between them. */
async function measure(url: string, samples: number, spacingMs = 0): Promise<number> {
  await timeRequest(url);
  await timeRequest(url);
  const times: number[] = [];
  for (let sample = 0; sample < samples; sample += 1) {
    if (spacingMs > 0) await new Promise((resolveSleep) => setTimeout(resolveSleep, spacingMs));
    times.push(await timeRequest(url));
  }
  return median(times);
}

const rowsByRoute = new Map<string, number>();

/** The requests of the dashboard (and the raw routes behind them) on a history of `runs`. */
async function measureHistory(runs: number, samples: number): Promise<Map<string, number>> {
  const databaseName = `bench_${runs}`;
  await seedHistory(database.uri, databaseName, [job], runs);
  const worker = await startWorker(databaseName);
  const results = new Map<string, number>();
  try {
    const api = `${worker.base}/api`;
    const firstPage = (await (await fetch(`${api}/jobs/${job}/runs?limit=50`)).json()) as { runs: { runId: string }[]; nextCursor: string | null };
    let cursor = firstPage.nextCursor;
    for (let page = 1; page < 10 && cursor !== null; page += 1) {
      cursor = ((await (await fetch(`${api}/jobs/${job}/runs?limit=50&cursor=${cursor}`)).json()) as { nextCursor: string | null }).nextCursor;
    }
    const runId = firstPage.runs[0]?.runId ?? '';
    const midpoint = new Date(Date.now() - (runs / 2) * 60_000).toISOString();
    const routes: [string, string, number][] = [
      // The overview is shared by concurrent pollers for 1 s: space its samples to measure real work.
      ['GET /api/jobs (overview)', `${api}/jobs`, 1100],
      ['GET /api/jobs/:name (job page)', `${api}/jobs/${job}`, 0],
      ['GET runs, first page (50)', `${api}/jobs/${job}/runs?limit=50`, 0],
      ['GET runs, 11th page (cursor)', `${api}/jobs/${job}/runs?limit=50&cursor=${cursor ?? ''}`, 0],
      ['GET runs, status=failed', `${api}/jobs/${job}/runs?status=failed&limit=50`, 0],
      ['GET runs, from/to range', `${api}/jobs/${job}/runs?from=${new Date(Date.parse(midpoint) - 3_600_000).toISOString()}&to=${midpoint}&limit=50`, 0],
      ['GET /api/runs/:id (run page)', `${api}/runs/${runId}`, 0],
      ['GET / (dashboard page)', `${worker.base}/`, 0],
      ['GET /assets/app.js', `${worker.base}/assets/app.js`, 0],
    ];
    for (const [name, url, spacing] of routes) {
      results.set(name, await measure(url, samples, spacing));
      if (url.includes('/runs?')) {
        // A fast answer must be a full one: say how many rows each runs request returned.
        const body = (await (await fetch(url)).json()) as { runs: unknown[] };
        rowsByRoute.set(`${name} @${runs}`, body.runs.length);
      }
    }
  } finally {
    await stopWorker(worker);
  }
  return results;
}

/** Runs of a 100 ms job completed in the window, with or without the dashboard polling every second. */
async function measureRunOverhead(
  polling: boolean,
): Promise<{ runs: number; msPerRun: number; medianDurationMs: number; meanDurationMs: number; pollRequests: number }> {
  const databaseName = `bench_overhead_${polling ? 'polled' : 'quiet'}`;
  const worker = await startWorker(databaseName, {
    JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE: '100ms',
    JOBS_IP_ANONYMIZATION_ENABLED: 'false',
    JOBS_LOG_CLEANUP_ENABLED: 'false',
  });
  let pollRequests = 0;
  let stopPolling = false;
  const poller = (async () => {
    while (polling && !stopPolling) {
      const tick = Date.now();
      // What an open job page asks every poll: the overview, the job, its first history page.
      await Promise.all(
        [`${worker.base}/api/jobs`, `${worker.base}/api/jobs/${job}`, `${worker.base}/api/jobs/${job}/runs?limit=50`].map(async (url) => {
          await (await fetch(url)).arrayBuffer();
          pollRequests += 1;
        }),
      );
      await new Promise((resolveSleep) => setTimeout(resolveSleep, Math.max(0, 1000 - (Date.now() - tick))));
    }
  })();
  try {
    // Let the first runs and the index builds pass before the window opens.
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 3000));
    const opened = new Date();
    await new Promise((resolveSleep) => setTimeout(resolveSleep, windowMs));
    const closed = new Date();
    const connection = await mongoose.createConnection(database.uri, { dbName: databaseName }).asPromise();
    const inWindow = await getJobRunModel(connection)
      .find({ jobName: job, status: 'succeeded', startedAt: { $gte: opened, $lt: closed } }, { durationMs: 1 })
      .lean();
    await connection.close();
    const durations = inWindow.map((run) => run.durationMs ?? 0);
    return {
      runs: inWindow.length,
      msPerRun: (closed.getTime() - opened.getTime()) / Math.max(1, inWindow.length),
      medianDurationMs: median(durations),
      meanDurationMs: durations.reduce((sum, value) => sum + value, 0) / Math.max(1, durations.length),
      pollRequests,
    };
  } finally {
    stopPolling = true;
    await poller;
    await stopWorker(worker);
  }
}

try {
  console.log(`history: ${smallRuns} vs ${largeRuns} runs of ${job} (median of sequential requests, ms)`);
  const small = await measureHistory(smallRuns, 10);
  const large = await measureHistory(largeRuns, 5);
  for (const [name, smallMs] of small) {
    const largeMs = large.get(name) ?? Number.NaN;
    const ratio = largeMs / smallMs;
    const rows = rowsByRoute.has(`${name} @${smallRuns}`)
      ? `  rows ${rowsByRoute.get(`${name} @${smallRuns}`)}/${rowsByRoute.get(`${name} @${largeRuns}`)}`
      : '';
    console.log(
      `${name.padEnd(32)} ${smallMs.toFixed(1).padStart(8)} ${largeMs.toFixed(1).padStart(9)}  ratio ${ratio.toFixed(2)}x ${ratio <= 1.5 ? '(<= 1.5x)' : '(over 1.5x)'}${rows}`,
    );
  }
  console.log(`\nper-run overhead: a 100 ms job for ${windowMs / 1000} s, dashboard polling every second vs nobody watching`);
  const quiet = await measureRunOverhead(false);
  const polled = await measureRunOverhead(true);
  const describe = (label: string, result: typeof quiet): string =>
    `${label} ${result.runs} runs, ${result.msPerRun.toFixed(1)} ms wall per run, run duration median ${result.medianDurationMs.toFixed(1)} ms, mean ${result.meanDurationMs.toFixed(1)} ms`;
  console.log(describe('quiet ', quiet));
  console.log(`${describe('polled', polled)} (${polled.pollRequests} console requests)`);
  const wallRatio = polled.msPerRun / quiet.msPerRun;
  const durationRatio = polled.meanDurationMs / quiet.meanDurationMs;
  console.log(`ratio  wall per run ${wallRatio.toFixed(2)}x ${wallRatio <= 1.1 ? '(<= 1.1x)' : '(over 1.1x)'}; mean run duration ${durationRatio.toFixed(2)}x ${durationRatio <= 1.1 ? '(<= 1.1x)' : '(over 1.1x)'}`);
} finally {
  await database.stop();
  rmSync(dataDirectory, { recursive: true, force: true });
}
