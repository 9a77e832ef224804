/**
 * A deleteMany of more documents than SQLite binds variables in one statement (32,766):
 * stock FerretDB fails with "too many SQL variables" (docs/ferretdb.md, patch 0006).
 */
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectTestDatabase } from '../src/testing.js';

let client: MongoClient;
let database: Db;

beforeAll(async () => {
  ({ client, database } = await connectTestDatabase());
});

afterAll(async () => {
  await database.dropDatabase();
  await client.close();
});

it('deleteMany removes 60,000 matching documents and keeps the others', async () => {
  const collection = database.collection<{ batch: string; position: number }>('bulk_delete');
  for (let offset = 0; offset < 60_000; offset += 10_000) {
    await collection.insertMany(
      Array.from({ length: 10_000 }, (_, index) => ({ batch: 'old', position: offset + index })),
      { ordered: false },
    );
  }
  await collection.insertMany([
    { batch: 'kept', position: 1 },
    { batch: 'kept', position: 2 },
  ]);

  const result = await collection.deleteMany({ batch: 'old' });

  expect(result.deletedCount).toBe(60_000);
  expect(await collection.countDocuments({})).toBe(2);
  expect(await collection.countDocuments({ batch: 'kept' })).toBe(2);
});
