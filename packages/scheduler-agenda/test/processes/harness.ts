/**
 * What the process tests share: worker processes (the bundled fixture) on a database of
 * the test server (or a private server a test can stop), and reads of the ledger.
 */
import { MongooseInstanceRegistry, MongooseJobRunLedger, getJobRunModel } from '@app/logging';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import type { JobRun } from '@app/shared-jobs';
import { MongoClient, type Db } from 'mongodb';
import mongoose, { type Connection } from 'mongoose';
import { AgendaMessageScheduler } from '../../src/index.js';
import type { TestJobSpec } from '../support/test-job-spec.js';
import { bundleWorkerFixture, kill, startWorker, type WorkerHandle, type WorkerOptions } from '../support/worker-processes.js';

export const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

export async function waitUntil<TValue>(
  description: string,
  probe: () => Promise<TValue | null | undefined | false> | TValue | null | undefined | false,
  timeoutMs = 30_000,
  explain: () => Promise<string> = () => Promise.resolve(''),
): Promise<TValue> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}${await explain()}`);
    await sleep(100);
  }
}

export interface ProcessHarness {
  readonly database: Db;
  readonly ledger: MongooseJobRunLedger;
  readonly instances: MongooseInstanceRegistry;
  readonly scheduler: AgendaMessageScheduler;
  readonly connection: Connection;
  /** Starts a worker process (killed after the test unless it exited). */
  spawn(jobs: readonly TestJobSpec[], options?: Partial<Omit<WorkerOptions, 'jobs'>>): WorkerHandle;
  /** Every run of a job, oldest start first. */
  allRuns(jobName: string): Promise<JobRun[]>;
  /** Kills the workers still running. */
  killAll(): Promise<void>;
  close(): Promise<void>;
}

let bundle: Promise<string> | undefined;

/** A harness on `mongoUri` (default: the test server) and this file's database. */
export async function openHarness(mongoUri: string = testMongoUri(), databaseName: string = testDatabaseName()): Promise<ProcessHarness> {
  bundle ??= bundleWorkerFixture();
  const bundlePath = await bundle;
  const client = new MongoClient(mongoUri);
  await client.connect();
  const database = client.db(databaseName);
  const connection = await mongoose.createConnection(mongoUri, { dbName: databaseName }).asPromise();
  const ledger = new MongooseJobRunLedger(connection);
  const instances = new MongooseInstanceRegistry(connection);
  await ledger.ensureIndexes();
  await instances.ensureIndexes();
  const running: WorkerHandle[] = [];
  const runModel = getJobRunModel(connection);
  return {
    database,
    ledger,
    instances,
    connection,
    scheduler: new AgendaMessageScheduler(database),
    spawn(jobs, options = {}) {
      const worker = startWorker({ bundlePath, mongoUri, databaseName, jobs, ...options });
      running.push(worker);
      return worker;
    },
    async allRuns(jobName) {
      const documents = await runModel.find({ jobName }, { _id: 1 }).sort({ startedAt: 1, _id: 1 }).lean().exec();
      const runs = await Promise.all(documents.map((document) => ledger.getRun(document._id.toHexString())));
      return runs.filter((run): run is JobRun => run !== null);
    },
    async killAll() {
      await Promise.all(running.splice(0).map((worker) => kill(worker)));
    },
    async close() {
      await Promise.all(running.splice(0).map((worker) => kill(worker)));
      await connection.close();
      await client.close();
    },
  };
}

/** Succeeded runs per occurrence instant: every value must be 1. */
export function successesPerOccurrence(runs: readonly JobRun[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const run of runs.filter((entry) => entry.status === 'succeeded')) {
    const key = run.occurrenceAt.getTime();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
