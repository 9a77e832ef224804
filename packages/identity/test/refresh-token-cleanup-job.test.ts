import { createJobModuleContext, createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import { Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRefreshTokenCleanupJob,
  ensureIdentityIndexes,
  getRefreshTokenModel,
  parseRefreshTokenCleanupSettings,
  refreshTokenCleanupJobModule,
  refreshTokenCleanupJobName,
  refreshTokenCleanupSettingsSchema,
  type RefreshTokenModel,
} from '../src/index.js';
import { millisecondsPerDay, openTestConnection, recordCommands } from './support.js';

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
  it('is a module: named, keyed, 24h by default with 3 run attempts from 1 to 15 minutes apart', () => {
    const module = refreshTokenCleanupJobModule;
    expect(module).toMatchObject({
      jobName: 'RefreshTokenCleanupJob',
      configKey: 'refreshTokenCleanup',
      environmentPrefix: 'JOBS_REFRESH_TOKEN_CLEANUP_',
      defaults: {
        schedule: '24h',
        misfire: 'once',
        retry: { maxAttempts: 3, initialDelayMs: 60_000, maxDelayMs: 900_000 },
      },
      intervalAliases: [{ settingsKey: 'intervalHours', unitMs: 3_600_000 }],
    });
    expect(module.settingsSchema).toBe(refreshTokenCleanupSettingsSchema);
    const cleanup = module.create(
      createJobModuleContext(module, {
        settings: parseRefreshTokenCleanupSettings({}),
        services: { connection },
      }),
    );
    expect(cleanup.name).toBe(refreshTokenCleanupJobName);
    expect(cleanup.schedule).toEqual({ kind: 'interval', everyMs: 24 * 60 * 60 * 1000 });
    expect(cleanup.misfire).toEqual({ kind: 'once' });
    expect(cleanup.retry).toEqual(module.defaults.retry);
    expect(cleanup.stallTimeoutMs).toBe(10 * 60_000);
  });

  it('runs on the timing and run retries the worker resolved, not on its settings', () => {
    const timing = {
      schedule: { kind: 'cron', expression: '0 3 * * *', timeZone: 'Europe/Berlin' },
      misfire: { kind: 'skip' },
    } as const;
    const retry = { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 2000 };
    const cleanup = refreshTokenCleanupJobModule.create(
      createJobModuleContext(refreshTokenCleanupJobModule, {
        settings: parseRefreshTokenCleanupSettings({ intervalHours: 6 }),
        services: { connection },
        timing,
        retry,
      }),
    );
    expect(cleanup.schedule).toBe(timing.schedule);
    expect(cleanup.misfire).toBe(timing.misfire);
    expect(cleanup.retry).toBe(retry);
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

    expect(result).toEqual({ deletedRefreshTokens: 2 });
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

  it('leaves tokens whose expiresAt is not a date alone, and still deletes the good ones', async () => {
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

    expect(result).toEqual({ deletedRefreshTokens: 1 });
    expect(await remainingIds()).toEqual([...bad, ...valid].map(String).sort());
    expect(await refreshTokens.exists({ _id: good[0] })).toBeNull();
    expect(context.logger.messages('warn')).toEqual([]);
  });

  it('is idempotent: a second run deletes nothing more', async () => {
    await insertTokens([
      tokenDocument(new Date('2021-01-01T00:00:00.000Z')),
      tokenDocument(new Date(now.getTime() + millisecondsPerDay)),
    ]);
    const clock = new FakeClock(now);
    expect(await job().run(createTestJobContext(clock))).toEqual({ deletedRefreshTokens: 1 });
    const afterFirstRun = await remainingIds();
    expect(await job().run(createTestJobContext(clock))).toEqual({ deletedRefreshTokens: 0 });
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

    const commands = recordCommands(connection);

    const result = await job({ batchSize: 5 }).run(context);
    commands.stop();

    expect(result.deletedRefreshTokens).toBe(23);
    expect(context.progress.map((entry) => entry.completed)).toEqual([5, 10, 15, 20, 23]);
    expect(await remainingIds()).toEqual(kept.map(String).sort());
    // Bounded statements: every selection asks for at most 5 ids, every delete names at most 5.
    expect(commands.of('find', 'refresh_tokens').map((command) => command.limit)).toEqual([5, 5, 5, 5, 5]);
    const deletes = commands.of('delete', 'refresh_tokens');
    expect(deletes).toHaveLength(5);
    for (const command of deletes) {
      const [statement] = command.deletes as { q: { _id: { $in: unknown[] } }; limit: number }[];
      expect(statement?.q._id.$in.length).toBeLessThanOrEqual(5);
    }
  });

  it('does one more round when the last batch is exactly full, and stops on an empty selection', async () => {
    await insertTokens(Array.from({ length: 6 }, () => tokenDocument(new Date('2021-01-01'))));
    const context = createTestJobContext(new FakeClock(now));
    expect((await job({ batchSize: 3 }).run(context)).deletedRefreshTokens).toBe(6);
    expect(context.progress.map((entry) => entry.completed)).toEqual([3, 6]);
    expect(await remainingIds()).toEqual([]);
  });

  it('stops between batches when the run is aborted, leaving the rest for the next run', async () => {
    await insertTokens(
      Array.from({ length: 12 }, (_, index) => tokenDocument(new Date(Date.UTC(2020, 11, 20 + index)))),
    );
    const context = createTestJobContext(new FakeClock(now), {
      onProgress: (progress, runContext) => {
        if (progress.completed === 4) runContext.abortController.abort(new Error('worker draining'));
      },
    });

    await expect(job({ batchSize: 4 }).run(context)).rejects.toThrow('worker draining');

    // Oldest first: the 8 tokens that expired last are the ones left.
    expect(await refreshTokens.countDocuments({})).toBe(8);
    expect(await refreshTokens.countDocuments({ expiresAt: { $gte: new Date(Date.UTC(2020, 11, 24)) } })).toBe(8);
    expect(context.logger.lines).toContainEqual({
      level: 'warn',
      message: 'stopped before finishing: deleted expired refresh tokens',
      fields: { changed: 4, examined: 4, batches: 1 },
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
