import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createEmailQueueProcessJob,
  createSmtpEmailSender,
  enqueueEmail,
  ensureNotificationIndexes,
  findOldestPendingEmail,
  getEmailQueueModel,
  listEmailQueueEntries,
  parseEmailQueueSettings,
  parseSmtpSettings,
  requeueDeadEmail,
} from '../src/index.js';
import { startSmtpSink } from './support/smtp-sink.js';

let connection: Connection;
const cleanups: (() => Promise<void> | void)[] = [];
const now = new Date('2026-03-01T12:00:00.000Z');

beforeAll(async () => {
  connection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
  await ensureNotificationIndexes(connection);
});

afterAll(async () => {
  await connection.close();
});

beforeEach(async () => {
  await getEmailQueueModel(connection).deleteMany({});
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function enqueue(subject: string, at: Date): Promise<string> {
  return (await enqueueEmail(connection, { to: ['reader@example.org'], subject, text: 'hello' }, { now: at })).id;
}

describe('email queue administration', () => {
  it('finds the oldest pending entry and pages entries by status, newest first', async () => {
    expect(await findOldestPendingEmail(connection)).toBeNull();
    const ids = [];
    for (let index = 0; index < 5; index += 1) ids.push(await enqueue(`m${index}`, new Date(now.getTime() + index * 1000)));
    await getEmailQueueModel(connection).updateMany(
      { _id: { $in: ids.slice(0, 3).map((id) => new mongoose.Types.ObjectId(id)) } },
      { $set: { status: 'dead', lastError: 'permanent failure on attempt 1/5: 550 no such user' } },
    );
    expect(await findOldestPendingEmail(connection)).toMatchObject({ id: ids[3], status: 'pending' });
    const first = await listEmailQueueEntries(connection, { statuses: ['dead', 'failed'], limit: 2 });
    expect(first.map((entry) => entry.id)).toEqual([ids[2], ids[1]]);
    expect(first[0]).toMatchObject({ subject: 'm2', lastError: 'permanent failure on attempt 1/5: 550 no such user' });
    expect(first[0]).not.toHaveProperty('text');
    const second = await listEmailQueueEntries(connection, { statuses: ['dead'], limit: 2, afterId: first[1]!.id });
    expect(second.map((entry) => entry.id)).toEqual([ids[0]]);
    await expect(listEmailQueueEntries(connection, { statuses: ['dead'], limit: 0 })).rejects.toThrow(RangeError);
    await expect(listEmailQueueEntries(connection, { statuses: ['dead'], limit: 1, afterId: 'nope' })).rejects.toThrow(TypeError);
  });

  it('requeues a dead email, which the job then delivers; other entries are left alone', async () => {
    let rejectRecipients = true;
    const sink = await startSmtpSink({
      onRecipient: () => (rejectRecipients ? { responseCode: 550, message: 'no such user' } : null),
    });
    cleanups.push(() => sink.close());
    const sender = createSmtpEmailSender(parseSmtpSettings({ host: '127.0.0.1', port: sink.port, from: 'app@example.org' }));
    cleanups.push(() => sender.close());
    const job = createEmailQueueProcessJob({ connection, sender, settings: parseEmailQueueSettings({}) });
    const id = await enqueue('to be requeued', now);
    const clock = new FakeClock(now);
    expect(await job.run(createTestJobContext(clock))).toMatchObject({ dead: 1 });
    const pendingId = await enqueue('still pending', new Date(now.getTime() + 60_000));

    expect(await requeueDeadEmail(connection, pendingId, now)).toEqual({ requeued: false, reason: 'not_dead', status: 'pending' });
    expect(await requeueDeadEmail(connection, '0123456789abcdef01234567', now)).toEqual({ requeued: false, reason: 'not_found' });
    expect(await requeueDeadEmail(connection, 'not-an-id', now)).toEqual({ requeued: false, reason: 'not_found' });

    const requeued = await requeueDeadEmail(connection, id, now);
    expect(requeued).toMatchObject({ requeued: true, entry: { id, status: 'pending', attempts: 1 } });
    rejectRecipients = false;
    expect(await job.run(createTestJobContext(clock))).toMatchObject({ sent: 1, dead: 0 });
    await sink.waitForMessages(1);
    expect(sink.messages[0]?.subject).toBe('to be requeued');
    expect((await getEmailQueueModel(connection).findById(id).lean())?.status).toBe('sent');
    expect((await getEmailQueueModel(connection).findById(pendingId).lean())?.status).toBe('pending');
  });
});
