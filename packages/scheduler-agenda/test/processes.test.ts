/**
 * Real OS processes against the real server: three replicas, restarts, SIGKILL, retries
 * and SIGTERM drains, checked by counting ledger records. Sequential (one file).
 */
import { MongooseJobRunLedger, MongooseRecurringJobRepository } from '@app/logging';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import type { JobRun } from '@app/shared-jobs';
import { MongoClient, type Db } from 'mongodb';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgendaMessageScheduler } from '../src/index.js';
import type { TestJobSpec } from './support/test-job-spec.js';
import {
  bundleWorkerFixture,
  kill,
  startWorker,
  terminate,
  type WorkerHandle,
} from './support/worker-processes.js';

let bundlePath: string;
let client: MongoClient;
let database: Db;
let connection: Connection;
let ledger: MongooseJobRunLedger;
let repository: MongooseRecurringJobRepository;
let scheduler: AgendaMessageScheduler;
const running: WorkerHandle[] = [];

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function spawnWorker(jobs: readonly TestJobSpec[], drainDeadlineMs?: number): WorkerHandle {
  const worker = startWorker({
    bundlePath,
    mongoUri: testMongoUri(),
    databaseName: testDatabaseName(),
    jobs,
    ...(drainDeadlineMs === undefined ? {} : { drainDeadlineMs }),
  });
  running.push(worker);
  return worker;
}

async function allRuns(jobName: string): Promise<JobRun[]> {
  return (await ledger.listRecentRuns(jobName, 10_000)).sort(
    (left, right) => left.startedAt.getTime() - right.startedAt.getTime(),
  );
}

async function waitUntil<TValue>(
  description: string,
  probe: () => Promise<TValue | null | undefined | false>,
  timeoutMs = 30_000,
): Promise<TValue> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  bundlePath = await bundleWorkerFixture();
  client = new MongoClient(testMongoUri());
  await client.connect();
  database = client.db(testDatabaseName());
  connection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
  ledger = new MongooseJobRunLedger(connection);
  repository = new MongooseRecurringJobRepository(connection);
  await ledger.ensureIndexes();
  await repository.ensureIndexes();
  scheduler = new AgendaMessageScheduler(database);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((worker) => kill(worker)));
});

afterAll(async () => {
  await connection.close();
  await client.close();
});

describe('worker processes', () => {
  it('restarts: 10 sequential start/stop cycles and 3 at once leave one pending job that follows the persisted execution', async () => {
    const spec: TestJobSpec = { name: 'restart-job', intervalMs: 60_000, durationMs: 50 };
    for (let cycle = 0; cycle < 10; cycle += 1) {
      const worker = spawnWorker([spec]);
      await worker.waitFor((event) => event.event === 'ready');
      if (cycle === 0) await worker.waitFor((event) => event.event === 'run' && event.outcome === 'succeeded');
      expect(await terminate(worker)).toEqual({ code: 0, signal: null });
    }
    const trio = [0, 1, 2].map(() => spawnWorker([spec]));
    await Promise.all(trio.map((worker) => worker.waitFor((event) => event.event === 'ready')));
    await sleep(500);
    for (const result of await Promise.all(trio.map((worker) => terminate(worker)))) {
      expect(result).toEqual({ code: 0, signal: null });
    }
    expect(await database.collection('agendaJobs').countDocuments({ name: 'restart-job' })).toBe(1);
    const runs = await allRuns('restart-job');
    expect(runs.map((run) => run.status)).toEqual(['succeeded']);
    const execution = await repository.getLastExecution('restart-job');
    expect(execution?.lastExecutedAt).toEqual(runs[0]!.startedAt);
    const pending = await scheduler.getPending('restart-job');
    expect(pending).toEqual({
      jobName: 'restart-job',
      occurrenceAt: new Date(runs[0]!.startedAt.getTime() + 60_000),
      runAt: new Date(runs[0]!.startedAt.getTime() + 60_000),
      attempt: 1,
    });
  });
});
