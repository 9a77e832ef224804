/**
 * The hot statements of the identity jobs are served by their indexes (explain on the test
 * server: MongoDB, or the bundled FerretDB build, which plans with the same indexes).
 */
import { Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureIdentityIndexes, refreshTokenCollectionName, userCollectionName } from '../src/index.js';
import { explainQuery } from '@app/mongo-local/testing';
import { openTestConnection } from './support.js';

let connection: Connection;
const cutoff = new Date('2026-01-01T00:00:00.000Z');

beforeAll(async () => {
  connection = await openTestConnection();
  await ensureIdentityIndexes(connection);
  // A few documents, so that planners have something to choose from.
  await connection.collection(refreshTokenCollectionName).insertMany(
    Array.from({ length: 20 }, (_, index) => ({
      userId: new Types.ObjectId(),
      tokenHash: `plan-${index}`,
      expiresAt: new Date(cutoff.getTime() + (index - 10) * 60_000),
    })),
  );
  await connection.collection(userCollectionName).insertMany(
    Array.from({ length: 20 }, (_, index) => ({
      email: `plan-${index}@example.org`,
      userName: `plan-${index}`,
      passwordHash: 'h',
      lastLoginAt: new Date(cutoff.getTime() + (index - 10) * 60_000),
      lastLoginIp: '192.0.2.1',
    })),
  );
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

describe('RefreshTokenCleanupJob statements', () => {
  it('selects the oldest expired tokens through the expiresAt index', async () => {
    const plan = await explainQuery(connection.db!, refreshTokenCollectionName, {
      find: refreshTokenCollectionName,
      filter: { expiresAt: { $type: 'date', $lt: cutoff } },
      sort: { expiresAt: 1 },
      projection: { _id: 1 },
      limit: 5000,
    });
    expect(plan).toEqual({ indexes: ['expiresAt'], collectionScan: false });
  });

  it('deletes a batch through the _id index', async () => {
    const plan = await explainQuery(connection.db!, refreshTokenCollectionName, {
      find: refreshTokenCollectionName,
      filter: { _id: { $in: [new Types.ObjectId(), new Types.ObjectId()] } },
    });
    expect(plan.indexes).toContain('_id_');
    expect(plan.collectionScan).toBe(false);
  });
});

describe('IpAnonymizationJob statements', () => {
  it('walks the { lastLoginAt, _id } index page by page, and the users of one instant by _id', async () => {
    const projection = { _id: 1, lastLoginAt: 1, lastLoginIp: 1 };
    const instant = new Date(cutoff.getTime() - 5 * 60_000);
    for (const filter of [
      { lastLoginAt: { $type: 'date', $lte: cutoff } },
      { lastLoginAt: { $type: 'date', $gte: instant, $lte: cutoff } },
      { lastLoginAt: { $type: 'date', $gt: instant, $lte: cutoff } },
    ]) {
      const page = await explainQuery(connection.db!, userCollectionName, {
        find: userCollectionName,
        filter,
        sort: { lastLoginAt: 1 },
        projection,
        limit: 1000,
      });
      expect(page).toEqual({ indexes: ['lastLoginAt_id'], collectionScan: false });
    }
    const tiePage = await explainQuery(connection.db!, userCollectionName, {
      find: userCollectionName,
      filter: { lastLoginAt: instant, _id: { $gt: new Types.ObjectId() } },
      sort: { _id: 1 },
      projection,
      limit: 1000,
    });
    expect(tiePage.indexes).toContain('lastLoginAt_id');
    expect(tiePage.collectionScan).toBe(false);
  });

  it('updates a page through the _id index', async () => {
    const plan = await explainQuery(connection.db!, userCollectionName, {
      find: userCollectionName,
      filter: {
        _id: { $in: [new Types.ObjectId(), new Types.ObjectId()] },
        lastLoginIp: { $ne: null },
        lastLoginAt: { $type: 'date', $lte: cutoff },
      },
    });
    expect(plan.indexes).toContain('_id_');
    expect(plan.collectionScan).toBe(false);
  });
});

describe('explainQuery', () => {
  it('reports a collection scan for a filter no index serves (the checks above are not vacuous)', async () => {
    const plan = await explainQuery(connection.db!, userCollectionName, {
      find: userCollectionName,
      filter: { userName: 'plan-3' },
    });
    expect(plan).toEqual({ indexes: [], collectionScan: true });
  });
});
