/**
 * The statements of a run, watched through the driver's command monitoring: per batch one
 * claim `updateMany` and one sent-mark `updateMany`, each naming at most `batchSize` entries,
 * and selections limited to `batchSize`; every email delivered once.
 */
import { createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose, { type Connection, type mongo } from 'mongoose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  countQueuedEmails,
  createEmailQueueProcessJob,
  createSmtpEmailSender,
  emailQueueCollectionName,
  emailQueueIdHeader,
  enqueueEmail,
  ensureNotificationIndexes,
  getEmailQueueModel,
  parseEmailQueueSettings,
  parseSmtpSettings,
} from '../src/index.js';
import { headerValues, startSmtpSink } from './support/smtp-sink.js';

interface QueueStatement {
  readonly command: 'find' | 'update' | 'delete';
  /** `limit` of a find; `_id.$in` length of an update or delete statement. */
  readonly size: number;
  /** What an update sets `status` to. */
  readonly status?: unknown;
}

let connection: Connection;
const statements: QueueStatement[] = [];

function recordStatement(command: mongo.Document): void {
  if (command.find === emailQueueCollectionName) {
    statements.push({ command: 'find', size: typeof command.limit === 'number' ? command.limit : Number.NaN });
  }
  if (command.update === emailQueueCollectionName) {
    for (const update of command.updates as { q: { _id?: { $in?: unknown[] } }; u: { $set?: { status?: unknown } } }[]) {
      statements.push({ command: 'update', size: update.q._id?.$in?.length ?? Number.NaN, status: update.u.$set?.status });
    }
  }
  if (command.delete === emailQueueCollectionName) statements.push({ command: 'delete', size: Number.NaN });
}

beforeAll(async () => {
  connection = await mongoose
    .createConnection(testMongoUri(), { dbName: testDatabaseName(), monitorCommands: true })
    .asPromise();
  await ensureNotificationIndexes(connection);
  connection.getClient().on('commandStarted', (event) => recordStatement(event.command));
});

afterAll(async () => {
  await connection.close();
});

it('claims and marks each batch with one bounded statement each', async () => {
  const emailCount = 130;
  const batchSize = 50;
  const sink = await startSmtpSink({ parse: false });
  const sender = createSmtpEmailSender(
    parseSmtpSettings({ host: '127.0.0.1', port: sink.port, from: 'app@example.org', maxConnections: 5 }),
  );
  try {
    const clock = new FakeClock();
    const ids: string[] = [];
    for (let index = 0; index < emailCount; index += 1) {
      const { id } = await enqueueEmail(
        connection,
        { to: [`user${index}@example.org`], subject: `Message ${index}`, text: `Body ${index}` },
        { now: clock.now(), messageIdDomain: 'queue.example.org' },
      );
      ids.push(id);
    }
    const job = createEmailQueueProcessJob({
      connection,
      sender,
      settings: parseEmailQueueSettings({ batchSize, concurrency: 20 }),
      messageIdDomain: 'queue.example.org',
    });
    const context = createTestJobContext(clock);
    statements.splice(0);

    expect(await job.run(context)).toEqual({ sent: emailCount, retried: 0, dead: 0, pruned: 0 });

    // Three batches (50, 50, 30): one claim and one sent mark each, nothing per email. The next
    // batch is claimed while the current one is sent, so claims and marks interleave.
    // Lease renewals (none unless the run outlasts a third of the 30 s lease) set no status and
    // name at most the two batches held.
    const allUpdates = statements.filter((statement) => statement.command === 'update');
    const updates = allUpdates.filter((statement) => statement.status !== undefined);
    for (const renewal of allUpdates.filter((statement) => statement.status === undefined)) {
      expect(renewal.size).toBeLessThanOrEqual(2 * batchSize);
    }
    const sizesOf = (status: string) =>
      updates.filter((statement) => statement.status === status).map((statement) => statement.size);
    expect(updates).toHaveLength(6);
    expect(sizesOf('sending')).toEqual([50, 50, 30]);
    expect(sizesOf('sent').sort()).toEqual([30, 50, 50]);
    // Selections: one prune probe per kind (sent, dead), then per batch the expired leases and the
    // due entries (limit 50 each) and the read-back of the claimed ids (bounded by its _id list).
    const finds = statements.filter((statement) => statement.command === 'find').map((statement) => statement.size);
    expect(finds.filter((size) => size === 50)).toHaveLength(8);
    expect(finds.filter((size) => Number.isNaN(size))).toHaveLength(3);
    expect(finds).toHaveLength(11);
    expect(statements.filter((statement) => statement.command === 'delete')).toEqual([]);

    await sink.waitForMessages(emailCount);
    const delivered = headerValues(sink, emailQueueIdHeader);
    expect(delivered).toHaveLength(emailCount);
    expect(new Set(delivered)).toEqual(new Set(ids));
    expect(await countQueuedEmails(connection)).toEqual({ pending: 0, sending: 0, sent: emailCount, failed: 0, dead: 0 });
    const stored = await getEmailQueueModel(connection).find({}, { smtpMessageId: 1, attempts: 1 }).lean();
    for (const entry of stored) {
      expect(entry.smtpMessageId).toBe(`<${entry._id.toHexString()}@queue.example.org>`);
      expect(entry.attempts).toBe(1);
    }
    expect(context.logger.messages('error')).toEqual([]);
    expect(context.logger.messages('warn')).toEqual([]);
  } finally {
    sender.close();
    await sink.close();
  }
});
