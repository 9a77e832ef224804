import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import type { ClaimRunInput } from '@app/shared-jobs';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureLogEntryIndexes,
  getLogEntryModel,
  MongooseJobRunLedger,
} from '../src/index.js';

let connection: Connection;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(testMongoUri(), { dbName: testDatabaseName() })
    .asPromise();
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

beforeEach(async () => {
  for (const name of ['job_runs', 'job_run_finishes', 'log_entries']) {
    await connection.collection(name).deleteMany({});
  }
});

const claimInput: ClaimRunInput = {
  jobName: 'cleanup',
  occurrenceAt: new Date('2026-03-01T00:00:00.000Z'),
  attempt: 1,
  cause: 'schedule',
  requestedBy: null,
  instance: { hostName: 'worker-a', processId: 7 },
  instanceId: 'instance-a',
  startedAt: new Date('2026-03-01T00:00:01.000Z'),
  leaseExpiresAt: new Date('2026-03-01T00:01:01.000Z'),
};

interface IndexDescription {
  readonly name: string;
  readonly key: Record<string, number>;
  readonly unique?: boolean;
}

async function indexesOf(collectionName: string): Promise<IndexDescription[]> {
  return (await connection.collection(collectionName).listIndexes().toArray()) as IndexDescription[];
}

describe('MongooseJobRunLedger beyond the conformance suite', () => {
  it('creates the unique claim index and the history indexes, idempotently', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    await ledger.ensureIndexes();
    const indexes = await indexesOf('job_runs');
    expect(indexes.find((index) => index.name === 'job_run_claim_unique')).toMatchObject({
      key: { jobName: 1, occurrenceAt: 1, attempt: 1 },
      unique: true,
    });
    expect(indexes.find((index) => index.name === 'job_run_history')?.key).toEqual({ jobName: 1, startedAt: -1, _id: -1 });
    expect(indexes.find((index) => index.name === 'job_run_status_history')?.key).toEqual({
      jobName: 1,
      status: 1,
      startedAt: -1,
      _id: -1,
    });
    expect(indexes.find((index) => index.name === 'job_run_finished_at')?.key).toEqual({ finishedAt: 1 });
  });

  it('upgrades a release 0.1.0 ledger: decided ends are applied, their collection and the old index dropped', async () => {
    const runs = connection.collection('job_runs');
    await connection.collection('job_runs').drop().catch(() => undefined);
    await runs.createIndex({ jobName: 1, startedAt: -1 }, { name: 'job_run_recent' });
    const decided = new mongoose.Types.ObjectId();
    const undecided = new mongoose.Types.ObjectId();
    const legacyRun = (id: mongoose.Types.ObjectId, attempt: number) => ({
      _id: id,
      jobName: 'legacy',
      occurrenceAt: new Date(0),
      attempt,
      status: 'running',
      instance: { hostName: 'old', processId: 1 },
      startedAt: new Date(0),
      leaseExpiresAt: new Date(60_000),
      finishedAt: null,
      durationMs: null,
      error: null,
      result: null,
    });
    await runs.insertMany([legacyRun(decided, 1), legacyRun(undecided, 2)]);
    await connection.collection('job_run_finishes').insertOne({
      _id: decided,
      status: 'succeeded',
      finishedAt: new Date(1500),
      durationMs: 1500,
      error: null,
      result: { deleted: 3 },
    });
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    expect(await ledger.getRun(decided.toHexString())).toMatchObject({
      status: 'succeeded',
      durationMs: 1500,
      result: { deleted: 3 },
      cause: 'schedule',
      instanceId: null,
      traceId: null,
      progress: null,
    });
    expect(await ledger.getRun(undecided.toHexString())).toMatchObject({ status: 'running', cause: 'retry' });
    expect((await connection.db!.listCollections({ name: 'job_run_finishes' }).toArray()).length).toBe(0);
    expect((await indexesOf('job_runs')).map((index) => index.name)).not.toContain('job_run_recent');
  });

  it('stores an error with its stack and returns it', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    const claim = await ledger.claim(claimInput);
    if (!claim.claimed) throw new Error('expected a claim');
    await ledger.finish(claim.run.runId, {
      status: 'failed',
      finishedAt: new Date('2026-03-01T00:00:02.000Z'),
      durationMs: 1000,
      error: { name: 'TypeError', message: 'bad row', stack: 'TypeError: bad row\n    at clean (job.ts:1:1)' },
    });
    expect((await ledger.getRun(claim.run.runId))?.error).toEqual({
      name: 'TypeError',
      message: 'bad row',
      stack: 'TypeError: bad row\n    at clean (job.ts:1:1)',
    });
  });

  it('rejects an invalid claim naming the field and stores nothing', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    await expect(ledger.claim({ ...claimInput, jobName: ' ' })).rejects.toThrow('claim input.jobName must be a non-empty string');
    await expect(ledger.claim({ ...claimInput, attempt: 0 })).rejects.toThrow('claim input.attempt must be an integer >= 1, got 0');
    await expect(ledger.claim({ ...claimInput, startedAt: new Date(Number.NaN) })).rejects.toThrow(
      'claim input.startedAt must be a valid Date',
    );
    expect(await connection.collection('job_runs').countDocuments()).toBe(0);
  });

  it('rejects invalid finish, lease, page and prune arguments', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    const runId = new mongoose.Types.ObjectId().toHexString();
    await expect(ledger.finish(runId, { status: 'failed', finishedAt: new Date(Number.NaN), durationMs: 0 })).rejects.toThrow(
      /finishedAt/u,
    );
    await expect(ledger.finish(runId, { status: 'failed', finishedAt: new Date(), durationMs: Number.NaN })).rejects.toThrow(
      /durationMs/u,
    );
    await expect(ledger.renewLeases([runId], new Date(Number.NaN))).rejects.toThrow(/leaseExpiresAt/u);
    await expect(ledger.pruneFinishedBefore(new Date(Number.NaN), 10)).rejects.toThrow(/cutoff/u);
    await expect(ledger.pruneFinishedBefore(new Date(), 0)).rejects.toThrow(/batchSize/u);
    await expect(
      ledger.listRuns({ jobName: 'cleanup', limit: 5, cursor: Buffer.from('0:not-an-object-id').toString('base64url') }),
    ).rejects.toThrow(/cursor/u);
  });

  it('lets exactly one of twenty concurrent finishes from separate connections win', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    const claim = await ledger.claim(claimInput);
    if (!claim.claimed) throw new Error('expected a claim');
    const connections = await Promise.all(
      Array.from({ length: 20 }, () => mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise()),
    );
    try {
      const outcomes = await Promise.all(
        connections.map((each, index) =>
          new MongooseJobRunLedger(each).finish(claim.run.runId, {
            status: index % 2 === 0 ? 'succeeded' : 'abandoned',
            finishedAt: new Date('2026-03-01T00:00:05.000Z'),
            durationMs: 4000,
            result: { caller: index },
          }),
        ),
      );
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const winner = outcomes.indexOf(true);
      expect(await ledger.getRun(claim.run.runId)).toMatchObject({
        status: winner % 2 === 0 ? 'succeeded' : 'abandoned',
        result: { caller: winner },
      });
    } finally {
      await Promise.all(connections.map((each) => each.close()));
    }
  });

  it('answers false and null for run ids that are not 24 hex digits', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    expect(await ledger.finish('not-an-id', { status: 'failed', finishedAt: new Date(), durationMs: 0 })).toBe(false);
    expect(await ledger.reportProgress('not-an-id', { completed: 1 })).toBe(false);
    expect(await ledger.getRun('not-an-id')).toBeNull();
    expect(await ledger.renewLeases(['not-an-id'], new Date())).toEqual(['not-an-id']);
  });

  it('uses the given connection, never the global default connection', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    await ledger.claim(claimInput);
    expect(mongoose.connection.readyState).toBe(0);
    expect(Object.keys(mongoose.models)).toEqual([]);
    expect(await connection.collection('job_runs').countDocuments()).toBe(1);
  });
});

describe('log entry model', () => {
  it('creates the timestamp index and applies field defaults', async () => {
    await ensureLogEntryIndexes(connection);
    const indexes = await indexesOf('log_entries');
    expect(indexes.find((index) => index.name === 'log_entry_timestamp')?.key).toEqual({ timestamp: 1 });
    const model = getLogEntryModel(connection);
    await model.create({ timestamp: new Date(0), level: 'warn', message: 'disk almost full' });
    expect(await model.findOne().lean().exec()).toMatchObject({
      level: 'warn',
      message: 'disk almost full',
      source: null,
      jobName: null,
      runId: null,
      properties: null,
      exception: null,
    });
  });

  it('rejects an unknown level and unknown fields', async () => {
    const model = getLogEntryModel(connection);
    // Untyped input, as it would arrive from outside TypeScript.
    const badLevel: Record<string, unknown> = { timestamp: new Date(0), level: 'loud', message: 'x' };
    const extraField: Record<string, unknown> = {
      timestamp: new Date(0),
      level: 'info',
      message: 'x',
      colour: 'red',
    };
    await expect(model.create(badLevel)).rejects.toThrow(/level/u);
    await expect(model.create(extraField)).rejects.toThrow(/colour/u);
    expect(await model.countDocuments()).toBe(0);
  });
});
