import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createLogCleanupJob,
  getOperatorAuditModel,
  MongooseOperatorAuditTrail,
  parseLogCleanupSettings,
  type OperatorAuditInput,
} from '../src/index.js';

const dayMs = 24 * 60 * 60 * 1000;
const now = new Date('2026-03-01T12:00:00.000Z');

let connection: Connection;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(testMongoUri(), { dbName: testDatabaseName() })
    .asPromise();
  await new MongooseOperatorAuditTrail(connection).ensureIndexes();
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

beforeEach(async () => {
  await getOperatorAuditModel(connection).deleteMany({});
});

function entry(at: Date, overrides: Partial<OperatorAuditInput> = {}): OperatorAuditInput {
  return {
    at,
    actor: { name: 'alice', role: 'operator', via: 'session', address: '127.0.0.1' },
    action: 'pause',
    target: 'LogCleanupJob',
    occurrenceAt: null,
    outcome: 'succeeded',
    message: 'paused',
    reason: null,
    ...overrides,
  };
}

describe('MongooseOperatorAuditTrail', () => {
  it('records actions and pages them newest first without skipping records sharing an instant', async () => {
    const trail = new MongooseOperatorAuditTrail(connection);
    const recorded = [];
    for (const offset of [0, 1000, 1000, 1000, 2000]) {
      recorded.push(await trail.record(entry(new Date(now.getTime() + offset))));
    }
    const pages: string[][] = [];
    let after: { at: Date; id: string } | undefined;
    for (let page = 0; page < 5; page += 1) {
      const rows = await trail.list({ limit: 2, ...(after === undefined ? {} : { after }) });
      if (rows.length === 0) break;
      pages.push(rows.map((row) => row.id));
      const last = rows.at(-1)!;
      after = { at: last.at, id: last.id };
    }
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    const expected = [...recorded]
      .sort((left, right) => right.at.getTime() - left.at.getTime() || (left.id < right.id ? 1 : -1))
      .map((record) => record.id);
    expect(pages.flat()).toEqual(expected);
    expect(recorded[0]).toMatchObject({ actor: { name: 'alice', role: 'operator' }, outcome: 'succeeded' });
    await expect(trail.list({ limit: 0 })).rejects.toThrow('limit must be an integer >= 1, got 0');
  });

  it('finds who requested an occurrence', async () => {
    const trail = new MongooseOperatorAuditTrail(connection);
    const occurrenceAt = new Date(now.getTime() - 5000);
    await trail.record(entry(now, { action: 'trigger', occurrenceAt, actor: { name: 'bob', role: 'operator', via: 'bearer', address: null } }));
    await trail.record(entry(now, { action: 'trigger', target: 'Other', occurrenceAt }));
    expect((await trail.findOccurrenceRequest('LogCleanupJob', occurrenceAt))?.actor.name).toBe('bob');
    expect(await trail.findOccurrenceRequest('LogCleanupJob', now)).toBeNull();
  });

  it('is pruned by LogCleanupJob after auditRetentionDays; a record at the cutoff stays', async () => {
    const trail = new MongooseOperatorAuditTrail(connection);
    const cutoff = new Date(now.getTime() - 90 * dayMs);
    await trail.record(entry(new Date(cutoff.getTime() - 1)));
    await trail.record(entry(new Date(cutoff.getTime() - 40 * dayMs)));
    await trail.record(entry(cutoff));
    await trail.record(entry(now));
    const job = createLogCleanupJob({
      connection,
      settings: parseLogCleanupSettings({ auditRetentionDays: 90 }),
    });
    expect((await job.run(createTestJobContext(new FakeClock(now)))).deletedAuditRecords).toBe(2);
    expect((await trail.list({ limit: 10 })).map((record) => record.at)).toEqual([now, cutoff]);
    await expect(trail.pruneBefore(new Date(Number.NaN))).rejects.toThrow('cutoff must be a valid Date');
  });
});
