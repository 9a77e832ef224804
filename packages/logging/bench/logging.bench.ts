/**
 * Benchmarks of @app/logging on the test server (the local build, or MONGODB_URI). Each figure
 * is a ratio against a baseline measured in the same run on the same server:
 *  1. ledger: claim + finish of one run vs. a bare driver insertOne + updateOne;
 *  2. log cleanup: batched deletion (batchSize 1000 and 10 000) of BENCH_LOG_ENTRIES (30 000)
 *     entries vs. one unbounded deleteMany of the same entries;
 *  3. cleanup memory: peak heap growth for BENCH_LOG_ENTRIES vs 5 000 entries (both should stay
 *     at noise level: client memory does not depend on the number of entries).
 */
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import mongoose, { type Connection } from 'mongoose';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createLogCleanupJob,
  ensureLogEntryIndexes,
  getLogEntryModel,
  MongooseJobRunLedger,
  parseLogCleanupSettings,
} from '../src/index.js';

// A full GC before each heap sample, so the figure is memory still referenced, not garbage.
setFlagsFromString('--expose_gc');
const collectGarbage = runInNewContext('gc') as () => void;

const dayMs = 24 * 60 * 60 * 1000;
const now = new Date('2026-03-01T12:00:00.000Z');
const oldTimestamp = new Date(now.getTime() - 40 * dayMs);
const entryCount = Number(process.env.BENCH_LOG_ENTRIES ?? 30_000);
let connection: Connection;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(testMongoUri(), { dbName: testDatabaseName() })
    .asPromise();
  await ensureLogEntryIndexes(connection);
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

function report(name: string, measured: number, baseline: number, unit: string): void {
  console.log(
    `[bench] ${name}: ${measured.toFixed(2)} ${unit} vs baseline ${baseline.toFixed(2)} ${unit} ` +
      `=> ratio ${(measured / baseline).toFixed(2)}`,
  );
}

async function timed(action: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

async function insertOldEntries(count: number): Promise<void> {
  const collection = connection.collection('log_entries');
  for (let offset = 0; offset < count; offset += 1000) {
    const size = Math.min(1000, count - offset);
    await collection.insertMany(
      Array.from({ length: size }, (_, index) => ({
        timestamp: new Date(oldTimestamp.getTime() + offset + index),
        level: 'info',
        message: `bench entry ${offset + index} ${'x'.repeat(200)}`,
        source: 'bench',
      })),
    );
  }
}

it('ledger: claim + finish per run vs. bare driver insert + update', async () => {
  const runs = 300;
  const ledger = new MongooseJobRunLedger(connection);
  await ledger.ensureIndexes();
  const baseline = connection.collection('bench_baseline_runs');
  await baseline.createIndex({ jobName: 1, occurrenceAt: 1, attempt: 1 }, { unique: true });
  const instance = { hostName: 'bench', processId: 1 };

  // Interleaved so that load from other processes affects both sides alike.
  let baselineMs = 0;
  let ledgerMs = 0;
  for (let index = 0; index < runs; index += 1) {
    baselineMs += await timed(async () => {
      const { insertedId } = await baseline.insertOne({
        jobName: 'bench', occurrenceAt: new Date(index), attempt: 1, status: 'running',
      });
      await baseline.updateOne({ _id: insertedId, status: 'running' }, { $set: { status: 'succeeded' } });
    });
    ledgerMs += await timed(async () => {
      const claim = await ledger.claim({
        jobName: 'bench', occurrenceAt: new Date(index), attempt: 1, cause: 'schedule', requestedBy: null,
        instance, instanceId: 'bench', startedAt: new Date(index), leaseExpiresAt: new Date(index + 60_000),
      });
      if (!claim.claimed) throw new Error('expected a claim');
      expect(
        await ledger.finish(claim.run.runId, { status: 'succeeded', finishedAt: new Date(index + 5), durationMs: 5 }),
      ).toBe(true);
    });
  }
  report('ledger claim+finish per run', ledgerMs / runs, baselineMs / runs, 'ms');
});

it('log cleanup: batched deletion vs. one unbounded deleteMany', async () => {
  const entries = entryCount;
  const model = getLogEntryModel(connection);
  await insertOldEntries(entries);
  const cutoff = new Date(now.getTime() - 30 * dayMs);
  let baselineDeleted = 0;
  const baselineMs = await timed(async () => {
    baselineDeleted = (await model.deleteMany({ timestamp: { $lt: cutoff } }).exec()).deletedCount;
  });
  expect(baselineDeleted).toBe(entries);

  for (const batchSize of [1000, 10_000]) {
    await insertOldEntries(entries);
    const job = createLogCleanupJob({ connection, settings: parseLogCleanupSettings({ batchSize }) });
    let deleted = 0;
    const batchedMs = await timed(async () => {
      deleted = (await job.run(createTestJobContext(new FakeClock(now)))).deletedLogEntries;
    });
    expect(deleted).toBe(entries);
    report(`log cleanup of ${entries} entries, batchSize ${batchSize}`, batchedMs, baselineMs, 'ms');
  }
});

it('log cleanup memory: peak heap growth does not scale with the number of entries', async () => {
  const job = createLogCleanupJob({ connection, settings: parseLogCleanupSettings({ batchSize: 1000 }) });
  const peakGrowth = async (entries: number): Promise<number> => {
    await insertOldEntries(entries);
    collectGarbage();
    const startHeap = process.memoryUsage().heapUsed;
    let peak = 0;
    const context = createTestJobContext(new FakeClock(now), {
      onProgress: () => {
        collectGarbage();
        peak = Math.max(peak, process.memoryUsage().heapUsed - startHeap);
      },
    });
    expect((await job.run(context)).deletedLogEntries).toBe(entries);
    return Math.max(peak, 1024);
  };
  const small = await peakGrowth(5000);
  const large = await peakGrowth(entryCount);
  report(`cleanup peak heap growth, ${entryCount} vs 5000 entries`, large / 1024 / 1024, small / 1024 / 1024, 'MiB');
});
