/**
 * Takeover after SIGKILL with the default settings (10 s lease, 2 s heartbeat, 500 ms
 * scans): two worker processes; each round, the worker running an occurrence is killed one
 * second into the run, and the time until the next attempt starts on the other worker is
 * measured. Prints the distribution over `BENCH_KILLS` rounds (default 10). Run through
 * `pnpm bench` (BENCH_ONLY=takeover); uses MONGODB_URI when set, else a local server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalMongo, type LocalMongoServer } from '@app/mongo-local';
import { AgendaMessageScheduler } from '../src/index.js';
import { MongoClient } from 'mongodb';
import type { TestJobSpec } from '../test/support/test-job-spec.js';
import { kill, startWorker, terminate, type WorkerHandle } from '../test/support/worker-processes.js';

process.env.DO_NOT_TRACK = '1';
const bundlePath = process.env.BENCH_WORKER_PATH ?? '';
const kills = Number(process.env.BENCH_KILLS ?? '10');
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? Number.NaN;
}

async function main(): Promise<void> {
  let server: LocalMongoServer | null = null;
  let dataDirectory: string | null = null;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    dataDirectory = mkdtempSync(join(tmpdir(), 'takeover-bench-'));
    server = await startLocalMongo({ dataDirectory });
    uri = server.uri;
  }
  const databaseName = 'bench_takeover';
  const spec: TestJobSpec = { name: 'takeover', schedule: '1h', durationMs: 3000, retry: { maxAttempts: 50, initialDelayMs: 100, maxDelayMs: 100 } };
  const spawn = () => startWorker({ bundlePath, mongoUri: uri, databaseName, jobs: [spec], processEveryMs: 500 });
  const client = new MongoClient(uri);
  await client.connect();
  const scheduler = new AgendaMessageScheduler(client.db(databaseName));
  const workers: WorkerHandle[] = [spawn(), spawn()];
  const seen = new Set<string>();
  const takeoverMs: number[] = [];
  try {
    await Promise.all(workers.map((worker) => worker.waitFor((event) => event.event === 'ready')));
    // The first run (due at start-up) ends before the rounds begin: each round starts idle.
    await Promise.race(workers.map((worker) => worker.waitFor((event) => event.event === 'run', 30_000)));
    for (const worker of workers) for (const event of worker.events) if (event.event === 'handler-start') seen.add(String(event.runId));
    for (let round = 0; round < kills; round += 1) {
      // A fresh occurrence, due now (an operator's run now).
      const pending = await scheduler.getPending(spec.name);
      if (pending !== null) {
        const now = new Date();
        await scheduler.replaceIfCurrent(pending, { ...pending, occurrenceAt: now, runAt: now, attempt: 1, cause: 'trigger', requestedBy: 'bench' });
      }
      const started = await Promise.race(
        workers.map((worker) => worker.waitFor((event) => event.event === 'handler-start' && !seen.has(String(event.runId)), 30_000).then((event) => ({ worker, event }))),
      );
      seen.add(String(started.event.runId));
      await sleep(1000);
      await kill(started.worker);
      const killedAt = Date.now();
      const survivor = workers.find((worker) => worker !== started.worker)!;
      const next = await survivor.waitFor(
        (event) =>
          event.event === 'handler-start' &&
          event.occurrenceAt === started.event.occurrenceAt &&
          event.attempt === Number(started.event.attempt) + 1,
        60_000,
      );
      seen.add(String(next.runId));
      takeoverMs.push(Date.now() - killedAt);
      console.log(`  kill ${round + 1}: next attempt started ${takeoverMs.at(-1)} ms after the kill`);
      workers.splice(workers.indexOf(started.worker), 1, spawn());
      await survivor.waitFor((event) => event.event === 'run' && event.runId === next.runId, 30_000);
      await workers.at(-1)!.waitFor((event) => event.event === 'ready');
    }
    console.log(
      `takeover after SIGKILL (${kills} kills, default settings): min ${Math.min(...takeoverMs)} ms, p50 ${percentile(takeoverMs, 0.5)} ms, ` +
        `p90 ${percentile(takeoverMs, 0.9)} ms, max ${Math.max(...takeoverMs)} ms (target: within 15 s: ${Math.max(...takeoverMs) < 15_000 ? 'met' : 'MISSED'})`,
    );
  } finally {
    await Promise.all(workers.map((worker) => terminate(worker)));
    await client.close();
    await server?.stop();
    if (dataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
  }
}

await main();
process.exit(process.exitCode ?? 0);
