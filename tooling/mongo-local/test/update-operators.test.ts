/**
 * Update operators as MongoDB applies them (docs/ferretdb.md, patch 0010). Runs on the run's
 * server: our FerretDB build, or MongoDB when MONGODB_URI is set. Stock FerretDB v1.24.2 leaves
 * out `$setOnInsert`'s nulls and empty arrays.
 */
import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('$setOnInsert', () => {
  it("gives an upsert's insert every field, nulls and empty arrays included, and an update none", async () => {
    const collection = database.collection('set_on_insert');
    const update = { $set: { seen: 1 }, $setOnInsert: { nothing: null, none: [], kind: 'normal', nested: { at: null } } };
    const inserted = await collection.updateOne({ name: 'new' }, update, { upsert: true });
    expect(inserted.upsertedCount).toBe(1);
    expect(await collection.findOne({ name: 'new' }, { projection: { _id: 0 } })).toEqual({
      name: 'new',
      seen: 1,
      nothing: null,
      none: [],
      kind: 'normal',
      nested: { at: null },
    });
    // A filter of several conditions ($or included) seeds only its equalities.
    await collection.updateOne(
      { name: 'filtered', $or: [{ rec: null }, { 'rec.at': { $lte: 5 } }] },
      { $set: { rec: { at: 1 } }, $setOnInsert: { data: null } },
      { upsert: true },
    );
    expect(await collection.findOne({ name: 'filtered' }, { projection: { _id: 0 } })).toEqual({
      name: 'filtered',
      rec: { at: 1 },
      data: null,
    });
    await collection.insertOne({ name: 'existing', kind: 'kept' });
    const updated = await collection.updateOne({ name: 'existing' }, update, { upsert: true });
    expect(updated).toMatchObject({ matchedCount: 1, upsertedCount: 0 });
    expect(await collection.findOne({ name: 'existing' }, { projection: { _id: 0 } })).toEqual({ name: 'existing', kind: 'kept', seen: 1 });
  });

  it('sets nulls and empty arrays with findOneAndUpdate upserts too', async () => {
    const collection = database.collection('set_on_insert_find_and_modify');
    const document = await collection.findOneAndUpdate(
      { name: 'new' },
      { $setOnInsert: { nothing: null, none: [] } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(document).toEqual({ _id: document?._id, name: 'new', nothing: null, none: [] });
  });
});
