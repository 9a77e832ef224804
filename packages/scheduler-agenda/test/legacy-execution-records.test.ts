/** Execution records of earlier releases (`recurring_job_executions`) are adopted at start-up. */
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgendaMessageScheduler } from '../src/index.js';
import {
  adoptLegacyExecutionRecords,
  legacyExecutionsCollectionName,
} from '../src/migrations/legacy-execution-records.js';

let client: MongoClient;
let database: Db;
let counter = 0;

beforeAll(async () => {
  client = new MongoClient(testMongoUri());
  await client.connect();
});

afterAll(async () => {
  await client.close();
});

/** A database of its own per test (the legacy collection has a fixed name). */
async function freshScheduler(): Promise<AgendaMessageScheduler> {
  counter += 1;
  database = client.db(`${testDatabaseName()}_legacy_${counter}`);
  const scheduler = new AgendaMessageScheduler(database);
  await scheduler.ensureIndexes();
  return scheduler;
}

const at = (iso: string) => new Date(iso);

describe('adoptLegacyExecutionRecords', () => {
  it('copies the records of the given jobs, keeps a newer record on the document, and leaves the old collection', async () => {
    const scheduler = await freshScheduler();
    await database.collection(legacyExecutionsCollectionName).insertMany([
      {
        _id: 'LogCleanupJob',
        lastExecutedAt: at('2026-03-01T00:00:01Z'),
        lastOccurrenceAt: at('2026-03-01T00:00:00Z'),
        nextScheduledAt: at('2026-03-02T00:00:00Z'),
        lastExecutedBy: { hostName: 'worker-a', processId: 7 },
      },
      // The document already holds a later record (a replica of this release completed it).
      { _id: 'IpAnonymizationJob', lastExecutedAt: at('2026-03-01T00:00:00Z'), lastOccurrenceAt: at('2026-03-01T00:00:00Z'), nextScheduledAt: null, lastExecutedBy: null },
      // A job this worker does not run.
      { _id: 'RetiredJob', lastExecutedAt: at('2026-03-01T00:00:00Z'), lastOccurrenceAt: at('2026-03-01T00:00:00Z'), nextScheduledAt: null, lastExecutedBy: null },
    ] as never[]);
    const newer = {
      jobName: 'IpAnonymizationJob',
      lastExecutedAt: at('2026-03-05T00:00:00Z'),
      lastOccurrenceAt: at('2026-03-05T00:00:00Z'),
      nextScheduledAt: null,
      lastExecutedBy: null,
    };
    await scheduler.upsertExecution(newer);
    const jobNames = ['LogCleanupJob', 'IpAnonymizationJob', 'NeverRunJob'];
    expect(await adoptLegacyExecutionRecords(database, scheduler, jobNames)).toEqual(['LogCleanupJob']);
    expect(await scheduler.getLastExecution('LogCleanupJob')).toEqual({
      jobName: 'LogCleanupJob',
      lastExecutedAt: at('2026-03-01T00:00:01Z'),
      lastOccurrenceAt: at('2026-03-01T00:00:00Z'),
      nextScheduledAt: at('2026-03-02T00:00:00Z'),
      lastExecutedBy: { hostName: 'worker-a', processId: 7 },
    });
    expect(await scheduler.getLastExecution('IpAnonymizationJob')).toEqual(newer);
    expect(await scheduler.getLastExecution('RetiredJob')).toBeNull();
    // Nothing became pending, and a second start-up adopts nothing more.
    expect(await scheduler.getPending('LogCleanupJob')).toBeNull();
    expect(await adoptLegacyExecutionRecords(database, scheduler, jobNames)).toEqual([]);
    expect(await database.collection(legacyExecutionsCollectionName).countDocuments()).toBe(3);
  });

  it('keeps the pending occurrence of a job it adopts a record for', async () => {
    const scheduler = await freshScheduler();
    const pending = {
      jobName: 'LogCleanupJob',
      occurrenceAt: at('2026-03-02T00:00:00Z'),
      runAt: at('2026-03-02T00:00:00Z'),
      attempt: 1,
      cause: 'schedule' as const,
      requestedBy: null,
      resume: null,
      timing: null,
    };
    await scheduler.schedule(pending);
    await database.collection(legacyExecutionsCollectionName).insertOne({
      _id: 'LogCleanupJob',
      lastExecutedAt: at('2026-03-01T00:00:00Z'),
      lastOccurrenceAt: at('2026-03-01T00:00:00Z'),
      nextScheduledAt: null,
      lastExecutedBy: null,
    } as never);
    expect(await adoptLegacyExecutionRecords(database, scheduler, ['LogCleanupJob'])).toEqual(['LogCleanupJob']);
    expect(await scheduler.getPending('LogCleanupJob')).toEqual(pending);
    expect(await database.collection('agendaJobs').countDocuments({ name: 'LogCleanupJob' })).toBe(1);
  });

  it('adopts nothing when the old collection does not exist', async () => {
    const scheduler = await freshScheduler();
    expect(await adoptLegacyExecutionRecords(database, scheduler, ['LogCleanupJob'])).toEqual([]);
  });

  it('stops on a malformed record with an error naming the collection, the job and the field', async () => {
    const scheduler = await freshScheduler();
    await database.collection(legacyExecutionsCollectionName).insertOne({
      _id: 'LogCleanupJob',
      lastExecutedAt: 'yesterday',
      lastOccurrenceAt: at('2026-03-01T00:00:00Z'),
      nextScheduledAt: null,
      lastExecutedBy: null,
    } as never);
    await expect(adoptLegacyExecutionRecords(database, scheduler, ['LogCleanupJob'])).rejects.toThrow(
      'recurring_job_executions: the record of job "LogCleanupJob" cannot be adopted: execution.lastExecutedAt must be a valid Date',
    );
    expect(await scheduler.getLastExecution('LogCleanupJob')).toBeNull();
  });
});
