/**
 * Single-document write atomicity under concurrency, as MongoDB gives it (docs/ferretdb.md,
 * patch 0002). Runs on the run's server: our FerretDB build, or MongoDB when MONGODB_URI is set.
 * Stock FerretDB v1.24.2 fails every test but the unique-index one (src/repro.ts).
 */
import { MongoServerError, type Db, type MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestDatabase } from '../src/testing.js';

const concurrency = 20;
const rounds = 10;

let client: MongoClient;
let database: Db;

beforeAll(async () => {
  ({ client, database } = await connectTestDatabase());
});

afterAll(async () => {
  await database.dropDatabase();
  await client.close();
});

/** Runs `contender` for 0..concurrency-1 at once. */
function race<T>(contender: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: concurrency }, (_, index) => contender(index)));
}

describe('concurrent single-document writes', () => {
  it('findOneAndUpdate compare-and-set has exactly one winner per round', async () => {
    const collection = database.collection<{ _id: number; owner: number | null }>('cas_race');
    for (let round = 0; round < rounds; round += 1) {
      await collection.deleteMany({});
      await collection.insertOne({ _id: 1, owner: null });
      const results = await race((contender) =>
        collection.findOneAndUpdate({ _id: 1, owner: null }, { $set: { owner: contender } }),
      );
      const winners = results.filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      const stored = await collection.findOne({ _id: 1 });
      expect(stored?.owner).toBe(results.findIndex((result) => result !== null));
    }
  });

  it('conditional updateOne reports modifiedCount 1 to exactly one caller per round', async () => {
    const collection = database.collection<{ _id: number; status: string }>('conditional_race');
    for (let round = 0; round < rounds; round += 1) {
      await collection.deleteMany({});
      await collection.insertOne({ _id: 1, status: 'running' });
      const results = await race((contender) =>
        collection.updateOne({ _id: 1, status: 'running' }, { $set: { status: `done-${contender}` } }),
      );
      expect(results.map((result) => result.modifiedCount).sort()).toEqual([
        ...Array.from({ length: concurrency - 1 }, () => 0),
        1,
      ]);
    }
  });

  it('concurrent inserts of one key under a unique index: one wins, the others get E11000', async () => {
    const collection = database.collection<{ key: string }>('unique_race');
    await collection.createIndex({ key: 1 }, { unique: true });
    for (let round = 0; round < rounds; round += 1) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: concurrency }, () => collection.insertOne({ key: `round-${round}` })),
      );
      const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(outcomes.length - rejected.length).toBe(1);
      for (const outcome of rejected) {
        expect(outcome.reason).toBeInstanceOf(MongoServerError);
        expect((outcome.reason as MongoServerError).code).toBe(11000);
      }
    }
  });

  it('concurrent upserts of one key without a unique index create exactly one document', async () => {
    const collection = database.collection<{ name: string; value: number }>('upsert_race');
    for (let round = 0; round < rounds; round += 1) {
      const name = `job-${round}`;
      const results = await race((contender) =>
        collection.updateOne({ name }, { $set: { value: contender } }, { upsert: true }),
      );
      expect(await collection.countDocuments({ name })).toBe(1);
      expect(results.filter((result) => result.upsertedCount === 1)).toHaveLength(1);
    }
  });

  it('concurrent $set of different fields of one document keeps every field', async () => {
    const collection = database.collection<{ _id: number } & Record<string, unknown>>('field_race');
    for (let round = 0; round < rounds; round += 1) {
      await collection.deleteMany({});
      await collection.insertOne({ _id: 1 });
      await race((contender) => collection.updateOne({ _id: 1 }, { $set: { [`field${contender}`]: round } }));
      const stored = await collection.findOne({ _id: 1 });
      const fields = Object.keys(stored ?? {}).filter((key) => key.startsWith('field'));
      expect(fields).toHaveLength(concurrency);
    }
  });
});
