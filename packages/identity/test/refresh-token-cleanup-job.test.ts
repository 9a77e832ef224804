import { FakeClock } from '@app/shared-jobs/testing';
import { Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRefreshTokenCleanupJob,
  ensureIdentityIndexes,
  getRefreshTokenModel,
  parseRefreshTokenCleanupSettings,
  refreshTokenCleanupJobName,
  type RefreshTokenModel,
} from '../src/index.js';
import { createTestJobContext, millisecondsPerDay, openTestConnection } from './support.js';

const now = new Date('2026-03-10T12:00:00.000Z');
const retentionDays = 7;
/** Tokens that expired MORE than 7 days before `now` go: expiresAt < cutoff. */
const cutoff = new Date(now.getTime() - retentionDays * millisecondsPerDay);

let connection: Connection;
let refreshTokens: RefreshTokenModel;
let tokenCounter = 0;

function tokenDocument(
  expiresAt: unknown,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  tokenCounter += 1;
  const document: Record<string, unknown> = {
    _id: new Types.ObjectId(),
    userId: new Types.ObjectId(),
    tokenHash: `hash-${tokenCounter}`,
    createdAt: new Date('2026-01-01T00:00:00.000Z'),
    revokedAt: null,
    ...extra,
  };
  if (expiresAt !== undefined) document.expiresAt = expiresAt;
  return document;
}

async function insertTokens(documents: Record<string, unknown>[]): Promise<Types.ObjectId[]> {
  // The raw driver: bad documents must reach the server exactly as written.
  await refreshTokens.collection.insertMany(documents);
  return documents.map((document) => document._id as Types.ObjectId);
}

async function remainingIds(): Promise<string[]> {
  const documents = await refreshTokens.collection.find({}, { projection: { _id: 1 } }).toArray();
  return documents.map((document) => String(document._id)).sort();
}

function job(overrides: Record<string, unknown> = {}) {
  return createRefreshTokenCleanupJob({
    connection,
    settings: parseRefreshTokenCleanupSettings({ retentionDays, ...overrides }),
  });
}

beforeAll(async () => {
  connection = await openTestConnection();
  await ensureIdentityIndexes(connection);
  refreshTokens = getRefreshTokenModel(connection);
});

afterAll(async () => {
  await connection.close();
});

beforeEach(async () => {
  await refreshTokens.collection.deleteMany({});
});

describe('createRefreshTokenCleanupJob', () => {
  it('is named RefreshTokenCleanupJob and runs every intervalHours', () => {
    const cleanup = job({ intervalHours: 6 });
    expect(cleanup.name).toBe(refreshTokenCleanupJobName);
    expect(cleanup.name).toBe('RefreshTokenCleanupJob');
    expect(cleanup.intervalMs).toBe(6 * 60 * 60 * 1000);
  });

  it('deletes tokens that expired more than retentionDays ago, to the millisecond, and keeps the rest', async () => {
    const [justPastCutoff, longExpired] = await insertTokens([
      tokenDocument(new Date(cutoff.getTime() - 1)),
      tokenDocument(new Date('2020-01-01T00:00:00.000Z'), { revokedAt: new Date('2019-12-01') }),
    ]);
    const kept = await insertTokens([
      tokenDocument(cutoff), // exactly retentionDays ago: not MORE than, so it stays
      tokenDocument(new Date(cutoff.getTime() + 1)),
      tokenDocument(new Date(now.getTime() - millisecondsPerDay)), // expired yesterday
      tokenDocument(new Date(now.getTime() + 30 * millisecondsPerDay)), // still valid
    ]);
    const context = createTestJobContext(new FakeClock(now));

    const result = await job().run(context);

    expect(result).toEqual({ deletedRefreshTokens: 2, skippedRefreshTokens: 0 });
    expect(await remainingIds()).toEqual(kept.map(String).sort());
    expect(await refreshTokens.exists({ _id: justPastCutoff })).toBeNull();
    expect(await refreshTokens.exists({ _id: longExpired })).toBeNull();
    expect(context.logger.lines).toContainEqual({
      level: 'info',
      message: 'refresh token cleanup completed',
      fields: { deletedRefreshTokens: 2, cutoff: cutoff.toISOString() },
    });
  });

  it('takes the cutoff from context.clock', async () => {
    const [token] = await insertTokens([tokenDocument(cutoff)]);
    const clock = new FakeClock(now);
    expect(await job().run(createTestJobContext(clock))).toMatchObject({ deletedRefreshTokens: 0 });
    clock.advance(1);
    expect(await job().run(createTestJobContext(clock))).toMatchObject({ deletedRefreshTokens: 1 });
    expect(await refreshTokens.exists({ _id: token })).toBeNull();
  });

  it('leaves bad documents alone, counts them, and still deletes the good ones', async () => {
    const bad = await insertTokens([
      tokenDocument(undefined), // no expiresAt at all
      tokenDocument(null),
      tokenDocument('2000-01-01T00:00:00.000Z'), // a string, not a date
      tokenDocument(946_684_800_000), // a number
    ]);
    const good = await insertTokens([tokenDocument(new Date('2021-06-01T00:00:00.000Z'))]);
    const valid = await insertTokens([tokenDocument(new Date(now.getTime() + millisecondsPerDay))]);
    const context = createTestJobContext(new FakeClock(now));

    const result = await job().run(context);

    expect(result).toEqual({ deletedRefreshTokens: 1, skippedRefreshTokens: 4 });
    expect(await remainingIds()).toEqual([...bad, ...valid].map(String).sort());
    expect(await refreshTokens.exists({ _id: good[0] })).toBeNull();
    expect(context.logger.lines.filter((line) => line.level === 'warn')).toEqual([
      {
        level: 'warn',
        message: 'refresh tokens without a valid expiresAt were left alone',
        fields: { skippedRefreshTokens: 4 },
      },
    ]);
  });

  it('is idempotent: a second run deletes nothing more', async () => {
    await insertTokens([
      tokenDocument(new Date('2021-01-01T00:00:00.000Z')),
      tokenDocument(new Date(now.getTime() + millisecondsPerDay)),
    ]);
    const clock = new FakeClock(now);
    expect(await job().run(createTestJobContext(clock))).toEqual({
      deletedRefreshTokens: 1,
      skippedRefreshTokens: 0,
    });
    const afterFirstRun = await remainingIds();
    expect(await job().run(createTestJobContext(clock))).toEqual({
      deletedRefreshTokens: 0,
      skippedRefreshTokens: 0,
    });
    expect(await remainingIds()).toEqual(afterFirstRun);
    expect(afterFirstRun).toHaveLength(1);
  });

  it('deletes in batches of batchSize and reports progress after each batch', async () => {
    const expired = Array.from({ length: 23 }, (_, index) =>
      tokenDocument(new Date(cutoff.getTime() - (index + 1) * 60_000)),
    );
    await insertTokens(expired);
    const kept = await insertTokens(
      Array.from({ length: 5 }, () => tokenDocument(new Date(now.getTime() + millisecondsPerDay))),
    );
    const context = createTestJobContext(new FakeClock(now));

    const result = await job({ batchSize: 5 }).run(context);

    expect(result.deletedRefreshTokens).toBe(23);
    expect(context.progress.map((entry) => entry.completed)).toEqual([5, 10, 15, 20, 23]);
    expect(await remainingIds()).toEqual(kept.map(String).sort());
  });

  it('does one more round when the last batch is exactly full, and stops on an empty selection', async () => {
    await insertTokens(Array.from({ length: 6 }, () => tokenDocument(new Date('2021-01-01'))));
    const context = createTestJobContext(new FakeClock(now));
    expect((await job({ batchSize: 3 }).run(context)).deletedRefreshTokens).toBe(6);
    expect(context.progress.map((entry) => entry.completed)).toEqual([3, 6]);
    expect(await remainingIds()).toEqual([]);
  });

  it('stops between batches when the run is aborted, leaving the rest for the next run', async () => {
    await insertTokens(Array.from({ length: 12 }, () => tokenDocument(new Date('2021-01-01'))));
    const context = createTestJobContext(new FakeClock(now), (progress, abortController) => {
      if (progress.completed === 4) abortController.abort(new Error('worker draining'));
    });

    await expect(job({ batchSize: 4 }).run(context)).rejects.toThrow('worker draining');

    expect(await refreshTokens.countDocuments({})).toBe(8);
    expect(context.logger.lines).toContainEqual({
      level: 'warn',
      message: 'stopped before finishing: deleted expired refresh tokens',
      fields: { processed: 4, batches: 1 },
    });
    const nextRun = await job({ batchSize: 4 }).run(createTestJobContext(new FakeClock(now)));
    expect(nextRun.deletedRefreshTokens).toBe(8);
  });

  it('does nothing when aborted before it starts', async () => {
    await insertTokens([tokenDocument(new Date('2021-01-01'))]);
    const context = createTestJobContext(new FakeClock(now));
    context.abortController.abort();
    await expect(job().run(context)).rejects.toThrow(/abort/iu);
    expect(await refreshTokens.countDocuments({})).toBe(1);
  });
});
