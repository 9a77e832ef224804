/**
 * ClaimLeaseRenewal on the real server: what it renews (only the held entries still `sending`
 * under a held token), with how many statements (one per renewal, none with nothing held), and
 * that it stops for good after `stop` or an abort. "Renews no more" is shown against a control
 * renewal on the same timer period that keeps renewing meanwhile (no fixed sleeps).
 */
import { FakeClock, RecordingLogger } from '@app/shared-jobs/testing';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose, { Types, type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { emailQueueCollectionName, ensureNotificationIndexes, getEmailQueueModel } from '../src/index.js';
import { ClaimLeaseRenewal } from '../src/jobs/claim-lease-renewal.js';

interface RenewalStatement {
  /** Statements in the command (a renewal is one `updateMany`). */
  readonly statements: number;
  readonly multi: boolean;
  readonly ids: readonly string[];
  readonly tokens: readonly string[];
  readonly status: unknown;
  readonly setKeys: readonly string[];
}

let connection: Connection;
/** Update commands on the queue that set `leaseExpiresAt` (the renewals), in order. */
const renewals: RenewalStatement[] = [];
const renewalUnits: ClaimLeaseRenewal[] = [];
const leaseMs = 3000;
const renewEveryMs = 20;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(testMongoUri(), { dbName: testDatabaseName(), monitorCommands: true })
    .asPromise();
  await ensureNotificationIndexes(connection);
  connection.getClient().on('commandStarted', ({ command }) => {
    if (command.update !== emailQueueCollectionName) return;
    const updates = command.updates as {
      q: { _id?: { $in?: Types.ObjectId[] }; claimToken?: { $in?: string[] }; status?: unknown };
      u: { $set?: Record<string, unknown> };
      multi?: boolean;
    }[];
    const [first] = updates;
    if (first?.u.$set?.leaseExpiresAt === undefined) return;
    renewals.push({
      statements: updates.length,
      multi: first.multi === true,
      ids: (first.q._id?.$in ?? []).map((id) => id.toHexString()),
      tokens: first.q.claimToken?.$in ?? [],
      status: first.q.status,
      setKeys: Object.keys(first.u.$set),
    });
  });
});

afterAll(async () => {
  await connection.close();
});

beforeEach(async () => {
  await getEmailQueueModel(connection).deleteMany({});
  renewals.splice(0);
});

afterEach(async () => {
  for (const unit of renewalUnits.splice(0)) await unit.stop();
});

function renewal(clock: FakeClock, logger = new RecordingLogger(), signal?: AbortSignal, target = connection) {
  const unit = new ClaimLeaseRenewal({ connection: target, leaseMs, renewEveryMs, clock, logger, signal });
  renewalUnits.push(unit);
  return unit;
}

/** Inserts an entry in the given claim state; returns its id. */
async function claimed(
  fields: { status: string; claimToken: string; leaseExpiresAt?: Date },
  updatedAt = new Date('2026-01-01T00:00:00.000Z'),
): Promise<Types.ObjectId> {
  const inserted = await getEmailQueueModel(connection).collection.insertOne({
    to: ['x@example.org'],
    subject: 'Claimed',
    text: 'x',
    attempts: 1,
    nextAttemptAt: updatedAt,
    createdAt: updatedAt,
    updatedAt,
    ...fields,
  });
  return inserted.insertedId;
}

async function leaseOf(id: Types.ObjectId): Promise<number | undefined> {
  const stored = await getEmailQueueModel(connection).findById(id, { leaseExpiresAt: 1 }).lean();
  return stored?.leaseExpiresAt?.getTime();
}

/** Polls until `condition` holds (rejects naming `what` after `timeoutMs`). */
async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const withToken = (token: string) => renewals.filter((statement) => statement.tokens.includes(token));

it('moves the lease of the held entries still sending under their token forward, one statement per renewal', async () => {
  const clock = new FakeClock(new Date('2026-06-01T12:00:00.000Z'));
  const t0 = clock.now().getTime();
  const updatedAt = new Date(t0 - 60_000);
  const held = [
    await claimed({ status: 'sending', claimToken: 'A', leaseExpiresAt: new Date(t0 + leaseMs) }, updatedAt),
    await claimed({ status: 'sending', claimToken: 'A', leaseExpiresAt: new Date(t0 + leaseMs) }, updatedAt),
  ];
  // Of the same batch, but settled meanwhile (sent; pending again after a failure): not renewed.
  const sent = await claimed({ status: 'sent', claimToken: 'A' });
  const retried = await claimed({ status: 'pending', claimToken: 'A' });
  // Of the same batch, but its claim lapsed and another run took it over: not ours to renew.
  const takenOver = await claimed({ status: 'sending', claimToken: 'B', leaseExpiresAt: new Date(t0 + leaseMs) });
  // The batch claimed ahead, held at the same time.
  const ahead = await claimed({ status: 'sending', claimToken: 'A2', leaseExpiresAt: new Date(t0 + leaseMs) });

  const unit = renewal(clock);
  unit.hold('A', [...held, sent, retried, takenOver]);
  unit.hold('A2', [ahead]);
  clock.advance(1000);
  await waitUntil(async () => (await leaseOf(held[0]!)) === t0 + 1000 + leaseMs, 'first renewal');
  clock.advance(1000);
  await waitUntil(async () => (await leaseOf(ahead)) === t0 + 2000 + leaseMs, 'second renewal');
  // The current batch is settled: only the one claimed ahead is renewed from now on.
  unit.release('A');
  const afterRelease = renewals.length;
  clock.advance(1000);
  await waitUntil(async () => (await leaseOf(ahead)) === t0 + 3000 + leaseMs, 'renewal after release');
  // One renewal computed before the release may still have been under way: two more.
  await waitUntil(() => renewals.length >= afterRelease + 2, 'two statements after the release');
  await unit.stop();

  expect(await leaseOf(held[1]!)).toBe(t0 + 2000 + leaseMs);
  expect(await leaseOf(sent)).toBeUndefined();
  expect(await leaseOf(retried)).toBeUndefined();
  expect(await leaseOf(takenOver)).toBe(t0 + leaseMs);
  // A renewal is no change of the entry: updatedAt stays.
  expect((await getEmailQueueModel(connection).findById(held[0]).lean())?.updatedAt).toEqual(updatedAt);

  // Every renewal is one multi-document statement naming only the held ids and tokens, `sending` only.
  expect(renewals.length).toBeGreaterThanOrEqual(3);
  const both = [...held, sent, retried, takenOver, ahead].map((id) => id.toHexString()).sort();
  for (const [index, statement] of renewals.entries()) {
    expect(statement).toMatchObject({ statements: 1, multi: true, status: 'sending', setKeys: ['leaseExpiresAt'] });
    if (index < afterRelease) {
      expect([...statement.ids].sort()).toEqual(both);
      expect(statement.tokens).toEqual(['A', 'A2']);
    }
  }
  const released = renewals.slice(afterRelease + 1);
  expect(released.length).toBeGreaterThanOrEqual(1);
  for (const statement of released) expect(statement).toMatchObject({ ids: [ahead.toHexString()], tokens: ['A2'] });
});

it('renews nothing after stop or an abort, nor while nothing is held (a control keeps renewing meanwhile)', async () => {
  const clock = new FakeClock(new Date('2026-06-01T12:00:00.000Z'));
  const t0 = clock.now().getTime();
  const lease = { status: 'sending', leaseExpiresAt: new Date(t0 + leaseMs) };
  const stoppedEntry = await claimed({ ...lease, claimToken: 'stopped' });
  const abortedEntry = await claimed({ ...lease, claimToken: 'aborted' });
  const controlEntry = await claimed({ ...lease, claimToken: 'control' });

  const stopped = renewal(clock);
  stopped.hold('stopped', [stoppedEntry]);
  const abortController = new AbortController();
  const aborted = renewal(clock, new RecordingLogger(), abortController.signal);
  aborted.hold('aborted', [abortedEntry]);
  renewal(clock); // holds nothing
  // Both renew while held.
  clock.advance(500);
  await waitUntil(
    async () => (await leaseOf(stoppedEntry)) === t0 + 500 + leaseMs && (await leaseOf(abortedEntry)) === t0 + 500 + leaseMs,
    'renewals before the stop',
  );
  await stopped.stop();
  const stoppedStatements = withToken('stopped').length;
  abortController.abort();
  // A renewal under way when the signal aborted may still be sent (with the lease computed
  // before the abort); none after it.
  const abortedStatements = withToken('aborted').length;

  const control = renewal(clock);
  control.hold('control', [controlEntry]);
  clock.advance(500);
  const controlStart = withToken('control').length;
  // Three renewal periods of the control: the stopped units' timers would have fired too.
  await waitUntil(() => withToken('control').length >= controlStart + 3, 'three control renewals');
  expect(await leaseOf(controlEntry)).toBe(t0 + 1000 + leaseMs);

  expect(withToken('stopped')).toHaveLength(stoppedStatements);
  expect(withToken('aborted').length).toBeLessThanOrEqual(abortedStatements + 1);
  expect(await leaseOf(stoppedEntry)).toBe(t0 + 500 + leaseMs);
  expect(await leaseOf(abortedEntry)).toBe(t0 + 500 + leaseMs);
  // Nothing held: no statement at all (every renewal named a token).
  expect(renewals.filter((statement) => statement.tokens.length === 0)).toEqual([]);
  // Holding after the stop changes nothing.
  stopped.hold('stopped', [stoppedEntry]);
  await stopped.renew();
  expect(withToken('stopped')).toHaveLength(stoppedStatements);
  // An aborted signal at construction: never renews.
  const alreadyAborted = renewal(clock, new RecordingLogger(), abortController.signal);
  alreadyAborted.hold('aborted', [abortedEntry]);
  const abortedSoFar = withToken('aborted').length;
  await alreadyAborted.renew();
  expect(withToken('aborted')).toHaveLength(abortedSoFar);
});

it('logs a failed renewal (database out of reach) and keeps going', async () => {
  const clock = new FakeClock();
  const closed = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
  await closed.close();
  const logger = new RecordingLogger();
  const unit = renewal(clock, logger, undefined, closed);
  unit.hold('A', [new Types.ObjectId()]);
  await expect(unit.renew()).resolves.toBeUndefined();
  // The timer goes on after a failure: a second warning comes from it.
  await waitUntil(() => logger.linesAt('warn').length >= 2, 'two failed renewals');
  expect(logger.linesAt('warn')[0]).toMatchObject({
    message: 'could not renew the lease of claimed emails; they lapse if renewals keep failing',
    fields: { claimed: 1 },
  });
});
