/**
 * The `sent` marks of one run are written one `updateMany` at a time (`SentMarks`): overlapping
 * mark writes failed on FerretDB at 5,000 entries (README, "Found and fixed by the 5,000 run").
 * This test watches the driver's commands and fails if two mark writes are ever in flight at once.
 */
import { FakeClock } from '@app/shared-jobs/testing';
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
  sentMarkGroupSize,
} from '../src/index.js';
import { createTestJobContext } from './support/job-context.js';
import { headerValues, startSmtpSink } from './support/smtp-sink.js';

interface MarkWrite {
  readonly requestId: number;
  readonly startedAt: number;
  finishedAt?: number;
  outcome?: 'succeeded' | 'failed';
}

let connection: Connection;
let sequence = 0;
const markWrites = new Map<number, MarkWrite>();

/** An `update` command on the queue whose statements set `status: 'sent'`. */
function isSentMarkWrite(command: mongo.Document): boolean {
  if (command.update !== emailQueueCollectionName) return false;
  const statements = (command.updates ?? []) as { u?: { $set?: { status?: unknown } } }[];
  return statements.some((statement) => statement.u?.$set?.status === 'sent');
}

function recordFinish(outcome: 'succeeded' | 'failed') {
  return (event: mongo.CommandSucceededEvent | mongo.CommandFailedEvent): void => {
    const write = markWrites.get(event.requestId);
    if (write === undefined) return;
    sequence += 1;
    write.finishedAt = sequence;
    write.outcome = outcome;
  };
}

beforeAll(async () => {
  connection = await mongoose
    .createConnection(testMongoUri(), { dbName: testDatabaseName(), monitorCommands: true })
    .asPromise();
  await ensureNotificationIndexes(connection);
  const client = connection.getClient();
  client.on('commandStarted', (event) => {
    if (!isSentMarkWrite(event.command)) return;
    sequence += 1;
    markWrites.set(event.requestId, { requestId: event.requestId, startedAt: sequence });
  });
  client.on('commandSucceeded', recordFinish('succeeded'));
  client.on('commandFailed', recordFinish('failed'));
});

afterAll(async () => {
  await connection.close();
});

it('writes the sent marks of one run one group at a time, never two in flight', async () => {
  const emailCount = 160;
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
      settings: parseEmailQueueSettings({ batchSize: emailCount, concurrency: 20 }),
      messageIdDomain: 'queue.example.org',
    });
    const context = createTestJobContext(clock);

    expect(await job.run(context)).toEqual({ sent: emailCount, retried: 0, dead: 0 });

    // Not vacuous: the run wrote its marks as several groups (160 = 3 × 50 + 10).
    const writes = [...markWrites.values()].sort((left, right) => left.startedAt - right.startedAt);
    expect(writes.length).toBe(Math.ceil(emailCount / sentMarkGroupSize));
    for (const write of writes) expect(write.outcome).toBe('succeeded');
    // Serialized: each group write started after the previous one finished.
    for (const [index, write] of writes.entries()) {
      const previous = writes[index - 1];
      if (previous === undefined) continue;
      expect(
        write.startedAt,
        `mark write ${write.requestId} started while ${previous.requestId} was in flight`,
      ).toBeGreaterThan(previous.finishedAt ?? Number.POSITIVE_INFINITY);
    }

    await sink.waitForMessages(emailCount);
    const delivered = headerValues(sink, emailQueueIdHeader);
    expect(delivered).toHaveLength(emailCount);
    expect(new Set(delivered)).toEqual(new Set(ids));
    expect(await countQueuedEmails(connection)).toEqual({
      pending: 0,
      sending: 0,
      sent: emailCount,
      failed: 0,
      dead: 0,
    });
    const stored = await getEmailQueueModel(connection).find({}, { smtpMessageId: 1 }).lean();
    for (const entry of stored) {
      expect(entry.smtpMessageId).toBe(`<${entry._id.toHexString()}@queue.example.org>`);
    }
    expect(context.logs.filter((log) => log.level === 'error' || log.level === 'warn')).toEqual([]);
  } finally {
    sender.close();
    await sink.close();
  }
});
