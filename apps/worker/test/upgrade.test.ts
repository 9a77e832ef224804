/**
 * A database written by release 0.1.0 keeps working after the upgrade. The fixture is a
 * dump of a real 0.1.0 worker's database (three jobs ran a few times, one was paused;
 * `test/fixtures/release-0.1.0-database.ejson.json`): it is loaded as it was, and the
 * current worker starts on it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { BSON, MongoClient, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnvironment, packageDirectory, spawnWorker, type WorkerProcess } from './support/worker-process.js';

interface DumpedCollection {
  readonly indexes: readonly (Document & { name: string; key: Document })[];
  readonly documents: readonly Document[];
}

const fixture = BSON.EJSON.parse(
  readFileSync(join(packageDirectory, 'test', 'fixtures', 'release-0.1.0-database.ejson.json'), 'utf8'),
  { relaxed: false },
) as Record<string, DumpedCollection>;

let client: MongoClient;
const databaseName = `${testDatabaseName()}_upgrade`;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  client = new MongoClient(testMongoUri());
  await client.connect();
  const database = client.db(databaseName);
  for (const [name, dumped] of Object.entries(fixture)) {
    const collection = database.collection(name);
    await database.createCollection(name);
    for (const index of dumped.indexes) {
      if (index.name === '_id_') continue;
      await collection.createIndex(index.key, { name: index.name, unique: index.unique === true });
    }
    if (dumped.documents.length > 0) await collection.insertMany([...dumped.documents]);
  }
});

afterAll(async () => {
  if (worker !== undefined && worker.child.exitCode === null) {
    worker.child.kill('SIGKILL');
    await worker.waitForExit();
  }
  await client.close();
});

async function waitUntil<TValue>(probe: () => Promise<TValue | undefined>, timeoutMs: number, what: string): Promise<TValue> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('upgrade from release 0.1.0', () => {
  it('reads and migrates the job documents, executions and runs, and the jobs go on', async () => {
    const database = client.db(databaseName);
    const before = {
      runs: await database.collection('job_runs').countDocuments(),
      decidedFinishes: await database.collection('job_run_finishes').countDocuments(),
      refreshPending: await database.collection('agendaJobs').findOne({ name: 'RefreshTokenCleanupJob' }),
    };
    expect(before.runs).toBeGreaterThan(0);
    expect(before.decidedFinishes).toBeGreaterThan(0);
    worker = await spawnWorker({
      ...baseEnvironment(databaseName),
      JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE: '3000ms',
      JOBS_IP_ANONYMIZATION_SCHEDULE: '4000ms',
      JOBS_LOG_CLEANUP_SCHEDULE: '5000ms',
    });
    await worker.waitForLog((line) => line.msg === 'worker ready', 30_000);

    // The release's decided finishes were folded into the runs and their collection dropped.
    const collections = (await database.listCollections({}, { nameOnly: true }).toArray()).map((entry) => entry.name);
    expect(collections).not.toContain('job_run_finishes');
    expect(await database.collection('job_runs').countDocuments({ status: 'running' })).toBe(0);
    const runIndexes = (await database.collection('job_runs').indexes()).map((index) => index.name);
    expect(runIndexes).not.toContain('job_run_recent');
    expect(runIndexes).toEqual(expect.arrayContaining(['job_run_claim_unique', 'job_run_history', 'job_run_status_history']));

    // The release's execution records moved onto the jobs' documents (the paused job's stays as it was).
    // The old collection is left in place (replicas of the release may still write there).
    const legacyRecord = await database.collection<{ _id: string } & Document>('recurring_job_executions').findOne({ _id: 'IpAnonymizationJob' });
    expect(legacyRecord).not.toBeNull();
    const pausedDocument = await database.collection('agendaJobs').findOne({ name: 'IpAnonymizationJob' });
    expect(pausedDocument?.lastExecution).toEqual({
      executedAt: legacyRecord?.lastExecutedAt as unknown,
      occurrenceAt: legacyRecord?.lastOccurrenceAt as unknown,
      nextScheduledAt: legacyRecord?.nextScheduledAt as unknown,
      executedBy: legacyRecord?.lastExecutedBy as unknown,
    });

    // The pending occurrence of the release was kept (its identity), and its timing recorded on it.
    const refreshed = await database.collection('agendaJobs').findOne({ name: 'RefreshTokenCleanupJob' });
    expect((refreshed?.data as { timing?: unknown } | undefined)?.timing).toMatchObject({ schedule: { kind: 'interval', everyMs: 3000 }, misfire: { kind: 'once' } });
    // Its overdue occurrence runs now, then the chain goes on from the persisted execution.
    const newRun = await waitUntil(
      async () =>
        (await database.collection('job_runs').findOne({ jobName: 'RefreshTokenCleanupJob', instanceId: { $ne: null }, status: 'succeeded' })) ?? undefined,
      30_000,
      'a run of the upgraded worker',
    );
    expect(newRun.occurrenceAt).toEqual((before.refreshPending?.data as { occurrenceAt?: Date } | undefined)?.occurrenceAt);
    expect(await database.collection('agendaJobs').countDocuments({ name: 'RefreshTokenCleanupJob' })).toBe(1);

    // The job paused under the release stays paused.
    const jobs = (await (await fetch(worker.url('/jobs'))).json()) as { jobs: { job: string; paused: boolean; lastOutcome: string | null }[] };
    expect(jobs.jobs.find((row) => row.job === 'IpAnonymizationJob')).toMatchObject({ paused: true, lastOutcome: 'succeeded' });

    // The history written by the release reads as it was, runs of both releases together.
    const listed = spawnSync(process.execPath, [join(packageDirectory, 'dist', 'cli.js'), 'jobs', 'history', 'LogCleanupJob', '--json'], {
      env: { ...baseEnvironment(databaseName) },
      encoding: 'utf8',
    });
    expect(listed.status).toBe(0);
    const runs = JSON.parse(listed.stdout) as { cause: string; instanceId: string | null; status: string }[];
    expect(runs.length).toBeGreaterThanOrEqual(fixture.job_runs!.documents.filter((run) => run.jobName === 'LogCleanupJob').length);
    expect(runs.filter((run) => run.instanceId === null).every((run) => run.cause === 'schedule' && run.status === 'succeeded')).toBe(true);

    worker.child.kill('SIGTERM');
    expect(await worker.waitForExit()).toEqual({ code: 0, signal: null });
  });
});
