/** What the worker's benchmarks share: the built worker as a process, a seeded history, medians. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { getJobRunModel } from '@app/logging';
import { findFreePort } from '@app/mongo-local';
import mongoose, { Types } from 'mongoose';

export const packageDirectory = join(import.meta.dirname, '..');
export const cliPath = join(packageDirectory, 'dist', 'cli.js');

export interface RunningWorker {
  readonly child: ChildProcess;
  readonly base: string;
}

/** The environment of a benchmark worker on `databaseName` (email job off: no SMTP server). */
export function workerEnvironment(uri: string, databaseName: string, environment: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    DO_NOT_TRACK: '1',
    MONGODB_URI: uri,
    MONGODB_DATABASE: databaseName,
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ADMIN_PASSWORD: 'bench-password',
    JOBS_EMAIL_QUEUE_ENABLED: 'false',
    ...environment,
  };
}

/** Starts `worker start` of the built CLI and waits for `/readyz`. */
export async function startWorker(uri: string, databaseName: string, environment: Record<string, string> = {}): Promise<RunningWorker> {
  const port = await findFreePort();
  const child = spawn(process.execPath, [cliPath, 'start'], {
    cwd: packageDirectory,
    env: workerEnvironment(uri, databaseName, { HTTP_PORT: String(port), ...environment }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { child, base };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('worker not ready within 60 s');
    await sleep(200);
  }
}

export async function stopWorker(worker: RunningWorker): Promise<void> {
  worker.child.kill('SIGTERM');
  await new Promise((resolveExit) => worker.child.once('exit', resolveExit));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/**
 * `count` finished runs spread over `jobs` (round robin), one minute apart and ending an hour ago,
 * every 20th failed: written with the driver in batches of 5,000, in the ledger's document shape.
 */
export async function seedHistory(uri: string, databaseName: string, jobs: readonly string[], count: number): Promise<void> {
  const connection = await mongoose.createConnection(uri, { dbName: databaseName }).asPromise();
  const model = getJobRunModel(connection);
  const start = Date.now() - count * 60_000 - 3_600_000;
  for (let offset = 0; offset < count; offset += 5000) {
    const documents = [];
    for (let index = offset; index < Math.min(count, offset + 5000); index += 1) {
      const startedAt = new Date(start + index * 60_000);
      const failed = index % 20 === 7;
      documents.push({
        _id: new Types.ObjectId(),
        jobName: jobs[index % jobs.length] ?? '',
        occurrenceAt: startedAt,
        attempt: 1,
        cause: 'schedule',
        requestedBy: null,
        status: failed ? 'failed' : 'succeeded',
        instance: { hostName: 'bench', processId: 1 },
        instanceId: 'bench-instance',
        startedAt,
        leaseExpiresAt: new Date(startedAt.getTime() + 600_000),
        finishedAt: new Date(startedAt.getTime() + 40 + (index % 50)),
        durationMs: 40 + (index % 50),
        error: failed ? { name: 'Error', message: 'bench failure', stack: 'Error: bench failure' } : null,
        result: failed ? null : { deleted: index % 7 },
        progress: null,
        traceId: null,
      });
    }
    await model.collection.insertMany(documents, { ordered: false });
  }
  await connection.close();
}
