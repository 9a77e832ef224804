import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findRepositoryRoot,
  isProcessAlive as isAlive,
  redactMongoUri,
  startLocalMongo,
  waitForPing,
} from '../src/index.js';
import { connectTestDatabase, testDatabaseName } from '../src/testing.js';


describe('the test run server (global setup)', () => {
  it('answers commands, with a database of this file’s own', async () => {
    const { client, database } = await connectTestDatabase();
    try {
      expect(testDatabaseName()).toMatch(/^t_local_mongo_[0-9a-f]{8}$/u);
      await database.collection('probe').insertOne({ answer: 42 });
      expect(await database.collection('probe').countDocuments()).toBe(1);
    } finally {
      await client.close();
    }
  });
});

describe('startLocalMongo', () => {
  const dataRoot = join(findRepositoryRoot(), '.data');
  mkdirSync(dataRoot, { recursive: true });
  const scratch = mkdtempSync(join(dataRoot, 'mongo-local-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('starts on loopback, keeps data across a restart, and stops', async () => {
    const dataDirectory = join(scratch, 'restart');
    const first = await startLocalMongo({ dataDirectory });
    expect(first.uri).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+\/$/u);
    const { MongoClient } = await import('mongodb');
    let client = new MongoClient(first.uri);
    await client.db('keep').collection('items').insertOne({ kept: true });
    await client.close();
    await first.stop();
    expect(isAlive(first.processId!)).toBe(false);

    const second = await startLocalMongo({ dataDirectory });
    client = new MongoClient(second.uri);
    expect(await client.db('keep').collection('items').countDocuments({ kept: true })).toBe(1);
    await client.close();
    await second.stop();
  });

  it('keeps every acknowledged write when the server process is killed (commitSync normal)', async () => {
    const dataDirectory = join(scratch, 'crash');
    const first = await startLocalMongo({ dataDirectory });
    const { MongoClient } = await import('mongodb');
    let client = new MongoClient(first.uri);
    const items = client.db('crash').collection<{ index: number; updated?: boolean }>('items');
    await items.createIndex({ index: 1 }, { unique: true });
    for (let index = 0; index < 200; index += 1) await items.insertOne({ index });
    await Promise.all(Array.from({ length: 100 }, (_, index) => items.updateOne({ index }, { $set: { updated: true } })));
    process.kill(first.processId!, 'SIGKILL');
    await client.close(true);

    const second = await startLocalMongo({ dataDirectory, reuseRunning: false });
    client = new MongoClient(second.uri);
    try {
      const restarted = client.db('crash').collection('items');
      expect(await restarted.countDocuments()).toBe(200);
      expect(await restarted.countDocuments({ updated: true })).toBe(100);
      expect(isAlive(first.processId!)).toBe(false);
    } finally {
      await client.close();
      await second.stop();
    }
  });

  it('replaces a stale server left on the data directory', async () => {
    const dataDirectory = join(scratch, 'stale');
    const stale = await startLocalMongo({ dataDirectory });
    const fresh = await startLocalMongo({ dataDirectory, reuseRunning: false });
    expect(isAlive(stale.processId!)).toBe(false);
    await waitForPing(fresh.uri, 5000);
    await fresh.stop();
  });

  it('reuses a live server when asked to, and leaves it running on stop', async () => {
    const dataDirectory = join(scratch, 'reuse');
    const owner = await startLocalMongo({ dataDirectory });
    const guest = await startLocalMongo({ dataDirectory, reuseRunning: true });
    expect(guest.uri).toBe(owner.uri);
    expect(guest.processId).toBeNull();
    await guest.stop();
    await waitForPing(owner.uri, 5000);
    await owner.stop();
  });
});

describe('redactMongoUri', () => {
  it('hides credentials and keeps the rest', () => {
    expect(redactMongoUri('mongodb://admin:s3cret@db.example:27017/app?replicaSet=rs0')).toBe(
      'mongodb://***@db.example:27017/app?replicaSet=rs0',
    );
    expect(redactMongoUri('mongodb+srv://user:pw@cluster/app')).toBe('mongodb+srv://***@cluster/app');
    expect(redactMongoUri('mongodb://127.0.0.1:27017/')).toBe('mongodb://127.0.0.1:27017/');
  });
});
