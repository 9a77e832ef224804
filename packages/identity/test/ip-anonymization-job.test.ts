import { FakeClock } from '@app/shared-jobs/testing';
import { Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createIpAnonymizationJob,
  ensureIdentityIndexes,
  getUserModel,
  ipAnonymizationJobName,
  parseIpAnonymizationSettings,
  type UserModel,
} from '../src/index.js';
import { createTestJobContext, millisecondsPerDay, openTestConnection } from './support.js';

const now = new Date('2026-06-15T08:30:00.000Z');
const retentionDays = 90;
/** IPs of logins AT LEAST 90 days old are cleared: lastLoginAt <= cutoff. */
const cutoff = new Date(now.getTime() - retentionDays * millisecondsPerDay);
const updatedAt = new Date('2026-01-02T03:04:05.000Z');

let connection: Connection;
let users: UserModel;
let userCounter = 0;

function userDocument(
  lastLoginAt: unknown,
  lastLoginIp: string | null = '203.0.113.7',
): Record<string, unknown> {
  userCounter += 1;
  const document: Record<string, unknown> = {
    _id: new Types.ObjectId(),
    email: `user${userCounter}@example.com`,
    userName: `user${userCounter}`,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
    roles: ['User'],
    isActive: true,
    lastLoginIp,
    createdAt: new Date('2025-01-01T00:00:00.000Z'),
    updatedAt,
  };
  if (lastLoginAt !== undefined) document.lastLoginAt = lastLoginAt;
  return document;
}

async function insertUsers(documents: Record<string, unknown>[]): Promise<Types.ObjectId[]> {
  await users.collection.insertMany(documents);
  return documents.map((document) => document._id as Types.ObjectId);
}

async function ipsById(): Promise<Map<string, unknown>> {
  const documents = await users.collection.find({}).toArray();
  return new Map(documents.map((document) => [String(document._id), document.lastLoginIp]));
}

function job(overrides: Record<string, unknown> = {}) {
  return createIpAnonymizationJob({
    connection,
    settings: parseIpAnonymizationSettings({ retentionDays, ...overrides }),
  });
}

beforeAll(async () => {
  connection = await openTestConnection();
  await ensureIdentityIndexes(connection);
  users = getUserModel(connection);
});

afterAll(async () => {
  await connection.close();
});

beforeEach(async () => {
  await users.collection.deleteMany({});
});

describe('createIpAnonymizationJob', () => {
  it('is named IpAnonymizationJob and runs every intervalDays', () => {
    const anonymization = job({ intervalDays: 3 });
    expect(anonymization.name).toBe(ipAnonymizationJobName);
    expect(anonymization.name).toBe('IpAnonymizationJob');
    expect(anonymization.intervalMs).toBe(3 * millisecondsPerDay);
  });

  it('clears the IP of logins at least retentionDays old, to the millisecond, and nothing else', async () => {
    const anonymized = await insertUsers([
      userDocument(cutoff), // exactly 90 days old: at least retentionDays, so cleared
      userDocument(new Date(cutoff.getTime() - 1)),
      userDocument(new Date('2024-02-29T00:00:00.000Z'), '2001:db8::1'),
    ]);
    const kept = await insertUsers([
      userDocument(new Date(cutoff.getTime() + 1)),
      userDocument(new Date(now.getTime() - millisecondsPerDay)),
    ]);
    const alreadyAnonymized = await insertUsers([userDocument(new Date('2024-01-01'), null)]);
    const before = await users.collection
      .find({ _id: { $in: anonymized } })
      .sort({ _id: 1 })
      .toArray();
    const context = createTestJobContext(new FakeClock(now));

    const result = await job().run(context);

    expect(result).toEqual({ anonymizedUsers: 3, skippedUsers: 0 });
    const ips = await ipsById();
    for (const id of [...anonymized, ...alreadyAnonymized]) expect(ips.get(String(id))).toBeNull();
    for (const id of kept) expect(ips.get(String(id))).toBe('203.0.113.7');
    // Only lastLoginIp changed: every other field (updatedAt included) is as it was.
    const after = await users.collection
      .find({ _id: { $in: anonymized } })
      .sort({ _id: 1 })
      .toArray();
    expect(after).toEqual(before.map((document) => ({ ...document, lastLoginIp: null })));
    expect(context.logger.lines).toContainEqual({
      level: 'info',
      message: 'IP anonymization completed',
      fields: { anonymizedUsers: 3, cutoff: cutoff.toISOString() },
    });
  });

  it('takes the cutoff from context.clock', async () => {
    const [user] = await insertUsers([userDocument(new Date(cutoff.getTime() + 1))]);
    const clock = new FakeClock(now);
    expect((await job().run(createTestJobContext(clock))).anonymizedUsers).toBe(0);
    clock.advance(1);
    expect((await job().run(createTestJobContext(clock))).anonymizedUsers).toBe(1);
    expect((await ipsById()).get(String(user))).toBeNull();
  });

  it('leaves users whose lastLoginAt is missing or not a date alone, counts them, and goes on', async () => {
    const bad = await insertUsers([
      userDocument(undefined),
      userDocument(null),
      userDocument('2020-01-01T00:00:00.000Z'),
      userDocument(1_577_836_800_000),
    ]);
    const [old] = await insertUsers([userDocument(new Date('2020-01-01T00:00:00.000Z'))]);
    const context = createTestJobContext(new FakeClock(now));

    const result = await job().run(context);

    expect(result).toEqual({ anonymizedUsers: 1, skippedUsers: 4 });
    const ips = await ipsById();
    for (const id of bad) expect(ips.get(String(id))).toBe('203.0.113.7');
    expect(ips.get(String(old))).toBeNull();
    expect(context.logger.lines).toContainEqual({
      level: 'warn',
      message: 'users with an IP but no valid lastLoginAt were left alone',
      fields: { skippedUsers: 4 },
    });
  });

  it('is idempotent: a second run changes nothing', async () => {
    await insertUsers([userDocument(new Date('2020-01-01')), userDocument(now)]);
    const clock = new FakeClock(now);
    expect(await job().run(createTestJobContext(clock))).toEqual({
      anonymizedUsers: 1,
      skippedUsers: 0,
    });
    const afterFirstRun = await users.collection.find({}).sort({ _id: 1 }).toArray();
    expect(await job().run(createTestJobContext(clock))).toEqual({
      anonymizedUsers: 0,
      skippedUsers: 0,
    });
    expect(await users.collection.find({}).sort({ _id: 1 }).toArray()).toEqual(afterFirstRun);
  });

  it('updates in batches of batchSize and reports progress after each batch', async () => {
    await insertUsers(
      Array.from({ length: 17 }, (_, index) =>
        userDocument(new Date(cutoff.getTime() - index * 1000)),
      ),
    );
    const kept = await insertUsers(Array.from({ length: 4 }, () => userDocument(now)));
    const context = createTestJobContext(new FakeClock(now));

    const result = await job({ batchSize: 5 }).run(context);

    expect(result.anonymizedUsers).toBe(17);
    expect(context.progress.map((entry) => entry.completed)).toEqual([5, 10, 15, 17]);
    expect(await users.collection.countDocuments({ lastLoginIp: null })).toBe(17);
    const ips = await ipsById();
    for (const id of kept) expect(ips.get(String(id))).toBe('203.0.113.7');
  });

  it('stops between batches when aborted; the next run finishes the work', async () => {
    await insertUsers(Array.from({ length: 9 }, () => userDocument(new Date('2020-01-01'))));
    const context = createTestJobContext(new FakeClock(now), (progress, abortController) => {
      if (progress.completed === 3) abortController.abort(new Error('worker draining'));
    });
    await expect(job({ batchSize: 3 }).run(context)).rejects.toThrow('worker draining');
    expect(await users.collection.countDocuments({ lastLoginIp: null })).toBe(3);
    const nextRun = await job({ batchSize: 3 }).run(createTestJobContext(new FakeClock(now)));
    expect(nextRun.anonymizedUsers).toBe(6);
  });
});
