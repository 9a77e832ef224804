import { createJobModuleContext, createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import { Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createIpAnonymizationJob,
  ensureIdentityIndexes,
  getUserModel,
  ipAnonymizationJobModule,
  ipAnonymizationJobName,
  ipAnonymizationSettingsSchema,
  parseIpAnonymizationSettings,
  type UserModel,
} from '../src/index.js';
import { millisecondsPerDay, openTestConnection, recordCommands, type RecordedCommand } from './support.js';

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
  it('is a module: named, keyed, 7d by default with 3 run attempts from 1 to 15 minutes apart', () => {
    const module = ipAnonymizationJobModule;
    expect(module).toMatchObject({
      jobName: 'IpAnonymizationJob',
      configKey: 'ipAnonymization',
      environmentPrefix: 'JOBS_IP_ANONYMIZATION_',
      defaults: {
        schedule: '7d',
        misfire: 'once',
        retry: { maxAttempts: 3, initialDelayMs: 60_000, maxDelayMs: 900_000 },
      },
      intervalAliases: [{ settingsKey: 'intervalDays', unitMs: millisecondsPerDay }],
    });
    expect(module.settingsSchema).toBe(ipAnonymizationSettingsSchema);
    const anonymization = module.create(
      createJobModuleContext(module, {
        settings: parseIpAnonymizationSettings({ intervalDays: 3 }),
        services: { connection },
      }),
    );
    expect(anonymization.name).toBe(ipAnonymizationJobName);
    // The alias is the worker's to resolve: the job runs on the timing it is given.
    expect(anonymization.schedule).toEqual({ kind: 'interval', everyMs: 7 * millisecondsPerDay });
    expect(anonymization.misfire).toEqual({ kind: 'once' });
    expect(anonymization.retry).toEqual(module.defaults.retry);
    expect(anonymization.stallTimeoutMs).toBe(10 * 60_000);
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

    expect(result).toEqual({ anonymizedUsers: 3, examinedUsers: 4 });
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
      fields: { anonymizedUsers: 3, examinedUsers: 4, cutoff: cutoff.toISOString() },
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

  it('leaves users whose lastLoginAt is missing or not a date alone, and goes on', async () => {
    const bad = await insertUsers([
      userDocument(undefined),
      userDocument(null),
      userDocument('2020-01-01T00:00:00.000Z'),
      userDocument(1_577_836_800_000),
    ]);
    const [old] = await insertUsers([userDocument(new Date('2020-01-01T00:00:00.000Z'))]);
    const context = createTestJobContext(new FakeClock(now));

    const result = await job().run(context);

    expect(result).toEqual({ anonymizedUsers: 1, examinedUsers: 1 });
    const ips = await ipsById();
    for (const id of bad) expect(ips.get(String(id))).toBe('203.0.113.7');
    expect(ips.get(String(old))).toBeNull();
  });

  it('is idempotent: a second run changes nothing', async () => {
    await insertUsers([userDocument(new Date('2020-01-01')), userDocument(now)]);
    const clock = new FakeClock(now);
    expect(await job().run(createTestJobContext(clock))).toEqual({ anonymizedUsers: 1, examinedUsers: 1 });
    const afterFirstRun = await users.collection.find({}).sort({ _id: 1 }).toArray();
    expect(await job().run(createTestJobContext(clock))).toEqual({ anonymizedUsers: 0, examinedUsers: 1 });
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
    // A full page gives back the users of its last instant (they may go on past the page):
    // the next page starts there.
    expect(context.progress.map((entry) => entry.completed)).toEqual([4, 8, 12, 16, 17]);
    expect(await users.collection.countDocuments({ lastLoginIp: null })).toBe(17);
    const ips = await ipsById();
    for (const id of kept) expect(ips.get(String(id))).toBe('203.0.113.7');
  });

  it('stops between batches when aborted; the next run finishes the work', async () => {
    await insertUsers(Array.from({ length: 9 }, () => userDocument(new Date('2020-01-01'))));
    const context = createTestJobContext(new FakeClock(now), {
      onProgress: (progress, runContext) => {
        if (progress.completed === 3) runContext.abortController.abort(new Error('worker draining'));
      },
    });
    await expect(job({ batchSize: 3 }).run(context)).rejects.toThrow('worker draining');
    expect(await users.collection.countDocuments({ lastLoginIp: null })).toBe(3);
    const nextRun = await job({ batchSize: 3 }).run(createTestJobContext(new FakeClock(now)));
    expect(nextRun.anonymizedUsers).toBe(6);
  });

  it('walks past anonymized users and ties in pages: every statement holds at most batchSize users', async () => {
    // 9 users anonymized by earlier runs and 8 with an IP, interleaved, several sharing one
    // instant (ties across page boundaries), all at or before the cutoff.
    const instants = [0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4, 5, 5, 6, 7, 7, 8].map(
      (step) => new Date(cutoff.getTime() - (10 - step) * 1000),
    );
    const due = await insertUsers(
      instants.filter((_, index) => index % 5 < 2).map((instant) => userDocument(instant)),
    );
    await insertUsers(
      instants.filter((_, index) => index % 5 >= 2).map((instant) => userDocument(instant, null)),
    );
    const [recent] = await insertUsers([userDocument(now)]);
    const commands = recordCommands(connection);
    const context = createTestJobContext(new FakeClock(now));

    const result = await job({ batchSize: 4 }).run(context);
    commands.stop();

    expect(due).toHaveLength(8);
    expect(result).toEqual({ anonymizedUsers: 8, examinedUsers: 17 });
    const ips = await ipsById();
    for (const id of due) expect(ips.get(String(id))).toBeNull();
    expect(ips.get(String(recent))).toBe('203.0.113.7');
    // Pages of 4, each full page giving back its last instant: steps 0 0 0 | 1 1 2 | 3 3 3 3 is
    // one instant filling a page, so that instant is walked by _id (4 users, then none), then
    // 4 5 5 | 6 7 7 | 8.
    const finds = commands.of('find', 'users');
    expect(finds.map((command) => command.limit)).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
    const sortKeys = (sort: unknown): string =>
      (sort instanceof Map ? [...(sort as Map<string, unknown>).keys()] : Object.keys(sort as object)).join();
    expect(finds.map((command) => sortKeys(command.sort))).toEqual([
      'lastLoginAt',
      'lastLoginAt',
      'lastLoginAt',
      '_id',
      '_id',
      'lastLoginAt',
      'lastLoginAt',
      'lastLoginAt',
    ]);
    for (const update of commands.of('update', 'users')) {
      expect(inListLength(update)).toBeLessThanOrEqual(4);
    }
    expect(context.progress.at(-1)?.completed).toBe(8);
  });
});

/** Length of the `_id: { $in }` list of a recorded update or delete statement. */
function inListLength(command: RecordedCommand): number {
  const statements = (command.updates ?? command.deletes) as { q: { _id: { $in: unknown[] } } }[];
  expect(statements).toHaveLength(1);
  return statements[0]!.q._id.$in.length;
}
