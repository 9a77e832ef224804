/**
 * The statements of LogCleanupJob are served by their indexes (explain on the test server:
 * MongoDB, or the bundled FerretDB build, which plans with the same indexes).
 */
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose, { Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureLogEntryIndexes,
  jobRunsCollection,
  logEntriesCollection,
  MongooseInstanceRegistry,
  MongooseJobRunLedger,
  workerInstancesCollection,
} from '../src/index.js';
import { explainQuery } from '@app/mongo-local/testing';

let connection: Connection;
const cutoff = new Date('2026-01-01T00:00:00.000Z');

beforeAll(async () => {
  connection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
  await ensureLogEntryIndexes(connection);
  await new MongooseJobRunLedger(connection).ensureIndexes();
  await new MongooseInstanceRegistry(connection).ensureIndexes();
  await connection.collection(logEntriesCollection).insertMany(
    Array.from({ length: 20 }, (_, index) => ({
      timestamp: new Date(cutoff.getTime() + (index - 10) * 60_000),
      level: 'info',
      message: `plan ${index}`,
    })),
  );
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

describe('LogCleanupJob statements', () => {
  it('selects the oldest log entries through the timestamp index and deletes them through _id', async () => {
    const select = await explainQuery(connection.db!, logEntriesCollection, {
      find: logEntriesCollection,
      filter: { timestamp: { $lt: cutoff } },
      sort: { timestamp: 1 },
      projection: { _id: 1 },
      limit: 1000,
    });
    expect(select).toEqual({ indexes: ['log_entry_timestamp'], collectionScan: false });
    const remove = await explainQuery(connection.db!, logEntriesCollection, {
      find: logEntriesCollection,
      filter: { _id: { $in: [new Types.ObjectId(), new Types.ObjectId()] }, timestamp: { $lt: cutoff } },
    });
    expect(remove.indexes).toContain('_id_');
    expect(remove.collectionScan).toBe(false);
  });

  it('selects finished job runs to prune through the finishedAt index', async () => {
    const plan = await explainQuery(connection.db!, jobRunsCollection, {
      find: jobRunsCollection,
      filter: { finishedAt: { $lt: cutoff } },
      sort: { finishedAt: 1 },
      projection: { _id: 1 },
      limit: 1000,
    });
    expect(plan).toEqual({ indexes: ['job_run_finished_at'], collectionScan: false });
  });

  it('selects silent worker instances through the heartbeat index', async () => {
    const plan = await explainQuery(connection.db!, workerInstancesCollection, {
      find: workerInstancesCollection,
      filter: { heartbeatAt: { $lt: cutoff } },
      projection: { _id: 1 },
      limit: 1000,
    });
    expect(plan).toEqual({ indexes: ['worker_instance_heartbeat'], collectionScan: false });
  });

  it('reports a collection scan for a filter no index serves (the checks above are not vacuous)', async () => {
    const plan = await explainQuery(connection.db!, logEntriesCollection, {
      find: logEntriesCollection,
      filter: { message: 'plan 3' },
    });
    expect(plan).toEqual({ indexes: [], collectionScan: true });
  });
});
