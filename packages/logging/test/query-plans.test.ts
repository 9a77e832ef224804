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

describe('job history pages', () => {
  it('sort by startedAt with a limit, and by _id only under an equality on startedAt', async () => {
    // A sort ending in _id after an unconstrained startedAt makes the bundled server check every
    // run of the job (docs/ferretdb.md, pushdown costs): no statement of a page may send one.
    const monitored = await mongoose
      .createConnection(testMongoUri(), { dbName: testDatabaseName(), monitorCommands: true })
      .asPromise();
    const finds: { filter: Record<string, unknown>; sort?: Map<string, number> | Record<string, number>; limit?: number }[] = [];
    monitored.getClient().on('commandStarted', (event) => {
      if (event.commandName === 'find' && event.command.find === jobRunsCollection) {
        finds.push(event.command as (typeof finds)[number]);
      }
    });
    try {
      const ledger = new MongooseJobRunLedger(monitored);
      const startedAt = new Date('2026-02-01T00:00:00.000Z');
      const instance = { hostName: 'plans', processId: 1 };
      // Five runs at one instant, so page ends fall inside it.
      for (let index = 0; index < 5; index += 1) {
        await ledger.claim({
          jobName: 'paged',
          occurrenceAt: new Date(startedAt.getTime() + index * 1000),
          attempt: 1,
          cause: 'schedule',
          requestedBy: null,
          instance,
          instanceId: 'plans',
          startedAt,
          leaseExpiresAt: new Date(startedAt.getTime() + 10_000),
        });
      }
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await ledger.listRuns({ jobName: 'paged', limit: 2, ...(cursor === undefined ? {} : { cursor }) });
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor !== undefined && pages < 10);
      await ledger.listLatestRunPerJob(['paged']);
      expect(pages).toBe(3);
      expect(finds.length).toBeGreaterThan(3);
      for (const find of finds) {
        expect(find.limit, JSON.stringify(find)).toBeGreaterThan(0);
        // The driver sends a sort as a Map (to keep the key order).
        const sortKeys = find.sort instanceof Map ? [...find.sort.keys()] : Object.keys(find.sort ?? {});
        if (sortKeys.includes('_id')) {
          expect(sortKeys).toEqual(['_id']);
          expect(find.filter.startedAt).toBeInstanceOf(Date);
        } else {
          expect(sortKeys, JSON.stringify(find)).toEqual(['startedAt']);
        }
      }
    } finally {
      await monitored.close();
    }
  });
});
