import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import type { ClaimRunInput } from '@app/shared-jobs';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureLogEntryIndexes,
  getJobRunFinishModel,
  getJobRunModel,
  getLogEntryModel,
  MongooseJobRunLedger,
  MongooseRecurringJobRepository,
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
  for (const name of ['job_runs', 'job_run_finishes', 'recurring_job_executions', 'log_entries']) {
    await connection.collection(name).deleteMany({});
  }
});

const claimInput: ClaimRunInput = {
  jobName: 'cleanup',
  occurrenceAt: new Date('2026-03-01T00:00:00.000Z'),
  attempt: 1,
  instance: { hostName: 'worker-a', processId: 7 },
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
    expect(indexes.find((index) => index.name === 'job_run_recent')?.key).toEqual({
      jobName: 1,
      startedAt: -1,
    });
    expect(indexes.find((index) => index.name === 'job_run_finished_at')?.key).toEqual({ finishedAt: 1 });
  });

  it('stores an error with its stack and returns it', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    const claim = await ledger.claim(claimInput);
    if (!claim.claimed) throw new Error('expected a claim');
    await ledger.finish(claim.run.runId, {
      status: 'failed',
      finishedAt: new Date('2026-03-01T00:00:03.500Z'),
      error: { name: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at here' },
    });
    const [run] = await ledger.listOccurrenceRuns('cleanup', claimInput.occurrenceAt);
    expect(run).toMatchObject({
      status: 'failed',
      durationMs: 2500,
      error: { name: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at here' },
      result: null,
    });
  });

  it('rejects an invalid claim naming the field and stores nothing', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    await expect(ledger.claim({ ...claimInput, attempt: 0 })).rejects.toThrow(
      'claim input.attempt must be an integer >= 1, got 0',
    );
    await expect(ledger.claim({ ...claimInput, jobName: ' ' })).rejects.toThrow('claim input.jobName');
    await expect(
      ledger.claim({ ...claimInput, leaseExpiresAt: new Date(Number.NaN) }),
    ).rejects.toThrow('claim input.leaseExpiresAt must be a valid Date');
    expect(await getJobRunModel(connection).countDocuments()).toBe(0);
  });

  it('rejects invalid finish, lease, limit and cutoff arguments', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    const claim = await ledger.claim(claimInput);
    if (!claim.claimed) throw new Error('expected a claim');
    await expect(
      ledger.finish(claim.run.runId, { status: 'succeeded', finishedAt: new Date(Number.NaN) }),
    ).rejects.toThrow('finishedAt must be a valid Date');
    await expect(ledger.renewLease(claim.run.runId, new Date(Number.NaN))).rejects.toThrow(
      'leaseExpiresAt must be a valid Date',
    );
    await expect(ledger.listRecentRuns('cleanup', 0)).rejects.toThrow(
      'limit must be an integer >= 1, got 0',
    );
    await expect(ledger.pruneFinishedBefore(new Date(Number.NaN))).rejects.toThrow(
      'cutoff must be a valid Date',
    );
    const [run] = await ledger.listOccurrenceRuns('cleanup', claimInput.occurrenceAt);
    expect(run?.status).toBe('running');
  });

  it('lets exactly one of twenty concurrent finishes from separate connections win', async () => {
    const connections = await Promise.all(
      Array.from({ length: 20 }, () =>
        mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise(),
      ),
    );
    try {
      const ledgers = connections.map((each) => new MongooseJobRunLedger(each));
      await ledgers[0]!.ensureIndexes();
      for (let round = 0; round < 5; round += 1) {
        const claim = await ledgers[0]!.claim({ ...claimInput, attempt: round + 1 });
        if (!claim.claimed) throw new Error('expected a claim');
        const outcomes = await Promise.all(
          ledgers.map((ledger, caller) =>
            ledger.finish(claim.run.runId, {
              status: caller % 2 === 0 ? 'succeeded' : 'abandoned',
              finishedAt: new Date(claimInput.startedAt.getTime() + 1000 + caller),
              result: { caller },
            }),
          ),
        );
        const winners = outcomes.flatMap((won, caller) => (won ? [caller] : []));
        expect(winners).toHaveLength(1);
        const winner = winners[0]!;
        const [stored] = await ledgers[1]!.listOccurrenceRuns('cleanup', claimInput.occurrenceAt).then(
          (runs) => runs.filter((run) => run.attempt === round + 1),
        );
        expect(stored).toMatchObject({
          status: winner % 2 === 0 ? 'succeeded' : 'abandoned',
          durationMs: 1000 + winner,
          result: { caller: winner },
        });
      }
    } finally {
      await Promise.all(connections.map((each) => each.close()));
    }
  });

  it('repairs a run whose end was decided by a process that died before updating it', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    const claim = await ledger.claim(claimInput);
    if (!claim.claimed) throw new Error('expected a claim');
    const runObjectId = new mongoose.Types.ObjectId(claim.run.runId);
    const finishedAt = new Date('2026-03-01T00:00:02.000Z');
    // What a crashed finish leaves: the decision, and the run document still `running`.
    await getJobRunFinishModel(connection).create({
      _id: runObjectId,
      status: 'succeeded',
      finishedAt,
      durationMs: 1000,
      result: { deleted: 4 },
    });
    const listed = await ledger.listRecentRuns('cleanup', 5);
    expect(listed).toEqual([
      expect.objectContaining({ status: 'succeeded', finishedAt, durationMs: 1000, result: { deleted: 4 } }),
    ]);
    expect(await ledger.renewLease(claim.run.runId, new Date('2026-03-01T01:00:00.000Z'))).toBe(false);
    expect((await getJobRunModel(connection).findById(runObjectId).lean().exec())?.status).toBe('succeeded');
    expect(await ledger.finish(claim.run.runId, { status: 'failed', finishedAt })).toBe(false);
    expect(await ledger.pruneFinishedBefore(new Date(finishedAt.getTime() + 1))).toBe(1);
    expect(await getJobRunFinishModel(connection).countDocuments()).toBe(0);
  });

  it('loses a finish to one decided while it was reading, and copies the decided end', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await ledger.ensureIndexes();
    const claim = await ledger.claim(claimInput);
    if (!claim.claimed) throw new Error('expected a claim');
    await getJobRunFinishModel(connection).create({
      _id: new mongoose.Types.ObjectId(claim.run.runId),
      status: 'interrupted',
      finishedAt: new Date('2026-03-01T00:00:04.000Z'),
      durationMs: 3000,
    });
    expect(
      await ledger.finish(claim.run.runId, { status: 'succeeded', finishedAt: new Date('2026-03-01T00:00:05.000Z') }),
    ).toBe(false);
    const stored = await getJobRunModel(connection).findById(claim.run.runId).lean().exec();
    expect(stored).toMatchObject({ status: 'interrupted', durationMs: 3000, error: null, result: null });
  });

  it('reports false for run ids that are not 24 hex digits', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    const twelveCharacters = 'abcdefghijkl';
    expect(await ledger.finish(twelveCharacters, { status: 'failed', finishedAt: new Date() })).toBe(false);
    expect(await ledger.renewLease(twelveCharacters, new Date())).toBe(false);
    expect(
      await ledger.finish('65f000000000000000000000', { status: 'failed', finishedAt: new Date() }),
    ).toBe(false);
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

describe('MongooseRecurringJobRepository beyond the conformance suite', () => {
  const execution = {
    jobName: 'LogCleanupJob',
    lastExecutedAt: new Date('2026-03-01T00:00:01.000Z'),
    lastOccurrenceAt: new Date('2026-03-01T00:00:00.000Z'),
    nextScheduledAt: new Date('2026-03-02T00:00:00.000Z'),
    lastExecutedBy: { hostName: 'worker-a', processId: 7 },
  };

  it('stores one document per job with the job name as _id', async () => {
    const repository = new MongooseRecurringJobRepository(connection);
    await repository.ensureIndexes();
    await repository.upsertExecution(execution);
    await repository.upsertExecution({ ...execution, lastExecutedBy: null });
    const documents = await connection.collection('recurring_job_executions').find().toArray();
    expect(documents).toEqual([
      {
        _id: 'LogCleanupJob',
        lastExecutedAt: execution.lastExecutedAt,
        lastOccurrenceAt: execution.lastOccurrenceAt,
        nextScheduledAt: execution.nextScheduledAt,
        lastExecutedBy: null,
      },
    ]);
  });

  it('keeps one record when ten connections upsert a new job at the same instant', async () => {
    const connections = await Promise.all(
      Array.from({ length: 10 }, () =>
        mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise(),
      ),
    );
    try {
      for (let round = 0; round < 3; round += 1) {
        const jobName = `race-${round}`;
        await Promise.all(
          connections.map((each, index) =>
            new MongooseRecurringJobRepository(each).upsertExecution({
              ...execution,
              jobName,
              lastExecutedBy: { hostName: 'worker', processId: index },
            }),
          ),
        );
        expect(
          await connection.collection('recurring_job_executions').countDocuments({ _id: jobName } as never),
        ).toBe(1);
      }
    } finally {
      await Promise.all(connections.map((each) => each.close()));
    }
  });

  it('rejects an invalid execution naming the field and stores nothing', async () => {
    const repository = new MongooseRecurringJobRepository(connection);
    await expect(repository.upsertExecution({ ...execution, jobName: '' })).rejects.toThrow(
      'execution.jobName must be a non-empty string',
    );
    await expect(
      repository.upsertExecution({ ...execution, lastOccurrenceAt: new Date(Number.NaN) }),
    ).rejects.toThrow('execution.lastOccurrenceAt must be a valid Date');
    await expect(
      repository.upsertExecution({ ...execution, nextScheduledAt: new Date(Number.NaN) }),
    ).rejects.toThrow('execution.nextScheduledAt must be a valid Date or null');
    expect(await repository.listExecutions()).toEqual([]);
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
