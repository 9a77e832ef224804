/**
 * The hot statements of the email queue are served by their indexes (explain on the test
 * server: MongoDB, or the bundled FerretDB build, which plans with the same indexes).
 */
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose, { Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailQueueCollectionName, enqueueEmail, ensureNotificationIndexes } from '../src/index.js';
import { explainQuery } from '@app/mongo-local/testing';

let connection: Connection;
const now = new Date('2026-05-01T00:00:00.000Z');
const collection = emailQueueCollectionName;

beforeAll(async () => {
  connection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
  await ensureNotificationIndexes(connection);
  for (let index = 0; index < 20; index += 1) {
    await enqueueEmail(connection, { to: ['plan@example.org'], subject: `Plan ${index}`, text: 'x' }, { now });
  }
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

describe('EmailQueueProcessJob statements', () => {
  it.each([
    ['due pending entries', { status: 'pending', nextAttemptAt: { $lte: now } }, { nextAttemptAt: 1 }, 'status_1_nextAttemptAt_1'],
    ['expired leases', { status: 'sending', leaseExpiresAt: { $lte: now } }, { leaseExpiresAt: 1 }, 'status_1_leaseExpiresAt_1'],
    ['sent entries past their retention', { status: 'sent', updatedAt: { $lt: now } }, { updatedAt: 1 }, 'status_1_updatedAt_1'],
  ])('selects %s through their index', async (_, filter, sort, index) => {
    const plan = await explainQuery(connection.db!, collection, { find: collection, filter, sort, projection: { _id: 1 }, limit: 500 });
    expect(plan).toEqual({ indexes: [index], collectionScan: false });
  });

  it('claims, reads back, renews, marks and prunes a batch through the _id index', async () => {
    const ids = [new Types.ObjectId(), new Types.ObjectId()];
    for (const filter of [
      {
        _id: { $in: ids },
        $or: [
          { status: 'pending', nextAttemptAt: { $lte: now } },
          { status: 'sending', leaseExpiresAt: { $lte: now }, attempts: { $lt: 5 } },
        ],
      },
      { _id: { $in: ids }, claimToken: 'token' },
      // lease renewal: the held batches, still `sending` under their tokens
      { _id: { $in: ids }, claimToken: { $in: ['token', 'ahead'] }, status: 'sending' },
      { _id: { $in: ids }, status: 'sent', updatedAt: { $lt: now } },
    ]) {
      const plan = await explainQuery(connection.db!, collection, { find: collection, filter });
      expect(plan.indexes).toContain('_id_');
      expect(plan.collectionScan).toBe(false);
    }
  });

  it('counts the queue depth of a status through an index', async () => {
    // countDocuments({ status }, { limit }) is this aggregation.
    const plan = await explainQuery(connection.db!, collection, {
      aggregate: collection,
      pipeline: [{ $match: { status: 'pending' } }, { $limit: 10_000 }, { $group: { _id: 1, n: { $sum: 1 } } }],
      cursor: {},
    });
    expect(plan.indexes).toHaveLength(1);
    expect(plan.indexes[0]).toMatch(/^status_1_/u);
    expect(plan.collectionScan).toBe(false);
  });

  it('reports a collection scan for a filter no index serves (the checks above are not vacuous)', async () => {
    const plan = await explainQuery(connection.db!, collection, { find: collection, filter: { subject: 'Plan 3' } });
    expect(plan).toEqual({ indexes: [], collectionScan: true });
  });
});
