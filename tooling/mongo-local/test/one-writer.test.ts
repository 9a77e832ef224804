/**
 * Concurrent writes to different collections of one database: SQLite lets one connection of
 * the database file write at a time. Stock FerretDB lets the second writer hit SQLITE_BUSY and
 * sleep in SQLite's busy handler (tens to hundreds of milliseconds); our build hands the file
 * over to one write transaction after the other (docs/ferretdb.md, patch 0007). The server here
 * runs with `busy_timeout(0)`, so a write that would have slept fails instead: every write
 * succeeds only if no two write transactions of the database ever overlap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocalMongo, type LocalMongoServer } from '../src/index.js';

let dataDirectory: string;
let server: LocalMongoServer;
let client: MongoClient;

beforeAll(async () => {
  dataDirectory = mkdtempSync(join(tmpdir(), 'one-writer-'));
  server = await startLocalMongo({
    dataDirectory,
    // SQLite's busy wait turned off: a write that would have slept fails instead.
    sqlitePragmas: ['busy_timeout(0)'],
  });
  client = new MongoClient(server.uri, { maxPoolSize: 20 });
  await client.connect();
});

afterAll(async () => {
  await client.close();
  await server.stop();
  rmSync(dataDirectory, { recursive: true, force: true });
});

it('never lets two write transactions of one database overlap (4 collections, 4 writers each)', async () => {
  const database = client.db('one_writer');
  const collections = ['runs', 'jobs', 'executions', 'instances'].map((name) => database.collection(name));
  // One document first: the collections (tables) exist before the race.
  for (const collection of collections) await collection.insertOne({ seed: true });
  const writesPerWriter = 60;
  const errors: string[] = [];
  await Promise.all(
    collections.flatMap((collection) =>
      [0, 1, 2, 3].map(async (writer) => {
        for (let index = 0; index < writesPerWriter; index += 1) {
          try {
            if (index % 2 === 0) await collection.insertOne({ writer, index });
            else await collection.updateOne({ writer, index: index - 1 }, { $set: { updated: true } });
          } catch (error) {
            errors.push((error as Error).message);
          }
        }
      }),
    ),
  );
  expect(errors).toEqual([]);
  for (const collection of collections) {
    expect(await collection.countDocuments({ updated: true })).toBe(4 * (writesPerWriter / 2));
  }
});
