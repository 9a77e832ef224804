import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  countQueuedEmails,
  emailLimits,
  enqueueEmail,
  ensureNotificationIndexes,
  getEmailQueueModel,
  ValidationError,
} from '../src/index.js';

let connection: Connection;

beforeAll(async () => {
  connection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
  await ensureNotificationIndexes(connection);
  // A second start-up must not fail on the existing indexes.
  await ensureNotificationIndexes(connection);
});

afterAll(async () => {
  await connection.close();
});

beforeEach(async () => {
  await getEmailQueueModel(connection).deleteMany({});
});

const valid = {
  to: ['alice@example.org'],
  subject: 'Welcome',
  text: 'Hello Alice',
};

async function validationIssues(input: unknown): Promise<string[]> {
  try {
    await enqueueEmail(connection, input);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).issues.map((issue) => `${issue.field}: ${issue.reason}`);
  }
  throw new Error('expected a ValidationError');
}

describe('enqueueEmail', () => {
  it('stores a pending entry due now, with every field', async () => {
    const now = new Date('2026-03-01T10:00:00.000Z');
    const { id, duplicate } = await enqueueEmail(
      connection,
      {
        to: ['alice@example.org', 'bob@example.org'],
        cc: ['carol@example.org'],
        bcc: ['dave@example.org'],
        from: 'noreply@example.org',
        subject: '  Your report  ',
        text: 'plain',
        html: '<p>rich</p>',
      },
      { now },
    );
    expect(duplicate).toBe(false);
    const stored = await getEmailQueueModel(connection).findById(id).lean();
    expect(stored).toMatchObject({
      to: ['alice@example.org', 'bob@example.org'],
      cc: ['carol@example.org'],
      bcc: ['dave@example.org'],
      from: 'noreply@example.org',
      subject: 'Your report',
      text: 'plain',
      html: '<p>rich</p>',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: now,
    });
    expect(stored?.smtpMessageId).toBe(`<${id}@email-queue.invalid>`);
    expect(stored?.createdAt).toBeInstanceOf(Date);
    expect(stored).not.toHaveProperty('idempotencyKey');
  });

  it('honours sendAfter', async () => {
    const sendAfter = new Date('2030-01-01T00:00:00.000Z');
    const { id } = await enqueueEmail(connection, { ...valid, sendAfter });
    const stored = await getEmailQueueModel(connection).findById(id).lean();
    expect(stored?.nextAttemptAt).toEqual(sendAfter);
  });

  it('names the bad field and the reason', async () => {
    expect(await validationIssues({ ...valid, to: ['alice@example.org', 'not-an-address'] })).toEqual([
      'to[1]: invalid email address',
    ]);
    expect(await validationIssues({ ...valid, to: [] })).toEqual(['to: must have at least one recipient']);
    expect(await validationIssues({ ...valid, cc: ['x@'], from: 'nobody' })).toEqual([
      'cc[0]: invalid email address',
      'from: invalid email address',
    ]);
    expect(await validationIssues({ ...valid, subject: '   ' })).toEqual(['subject: must not be empty']);
    expect(await validationIssues({ ...valid, subject: 'a\r\nBcc: victim@example.org' })).toEqual([
      'subject: must not contain line breaks',
    ]);
    expect(await validationIssues({ ...valid, subject: 'x'.repeat(emailLimits.maxSubjectLength + 1) })).toEqual([
      `subject: must be at most ${emailLimits.maxSubjectLength} characters`,
    ]);
    expect(await validationIssues({ to: valid.to, subject: 'no body' })).toEqual(['text: text or html is required']);
    expect(await validationIssues({ ...valid, html: 'x'.repeat(emailLimits.maxBodyLength + 1) })).toEqual([
      `html: must be at most ${emailLimits.maxBodyLength} characters`,
    ]);
    expect(await validationIssues({ ...valid, idempotencyKey: '' })).toEqual(['idempotencyKey: must not be empty']);
    expect(await validationIssues({ ...valid, sendAfter: 'tomorrow' })).toEqual(['sendAfter: must be a valid Date']);
    expect(await validationIssues({ ...valid, to: 'alice@example.org' })).toEqual([
      'to: must be a list of email addresses',
    ]);
  });

  it('limits the number of recipients over to, cc and bcc', async () => {
    const addresses = (prefix: string, count: number) =>
      Array.from({ length: count }, (_, index) => `${prefix}${index}@example.org`);
    expect(
      await validationIssues({ ...valid, to: addresses('to', 20), cc: addresses('cc', 20), bcc: addresses('bcc', 11) }),
    ).toEqual([`to: at most ${emailLimits.maxRecipients} recipients (to + cc + bcc), got 51`]);
    await expect(
      enqueueEmail(connection, { ...valid, to: addresses('to', 20), cc: addresses('cc', 20), bcc: addresses('bcc', 10) }),
    ).resolves.toMatchObject({ duplicate: false });
  });

  it('reports the whole message of a ValidationError', async () => {
    await expect(enqueueEmail(connection, { ...valid, to: ['a@example.org', 'bad'] })).rejects.toThrow(
      'invalid email: to[1]: invalid email address',
    );
    expect(await countQueuedEmails(connection)).toEqual({ pending: 0, sending: 0, sent: 0, failed: 0, dead: 0 });
  });
});

describe('idempotency key', () => {
  it('a second enqueue with the same key returns the existing id and enqueues nothing', async () => {
    const first = await enqueueEmail(connection, { ...valid, idempotencyKey: 'welcome:alice' });
    const second = await enqueueEmail(connection, {
      ...valid,
      subject: 'Different content, same key',
      idempotencyKey: 'welcome:alice',
    });
    expect(first.duplicate).toBe(false);
    expect(second).toEqual({ id: first.id, duplicate: true });
    expect(await getEmailQueueModel(connection).countDocuments({})).toBe(1);
  });

  it('concurrent enqueues with one key store exactly one email', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, () => enqueueEmail(connection, { ...valid, idempotencyKey: 'race' })),
    );
    expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
    expect(new Set(results.map((result) => result.id)).size).toBe(1);
    expect(await getEmailQueueModel(connection).countDocuments({})).toBe(1);
  });

  it('emails without a key never collide (the index is sparse in effect)', async () => {
    await enqueueEmail(connection, valid);
    await enqueueEmail(connection, valid);
    await enqueueEmail(connection, { ...valid, idempotencyKey: 'other' });
    expect(await getEmailQueueModel(connection).countDocuments({})).toBe(3);
    expect((await countQueuedEmails(connection)).pending).toBe(3);
    // A status this package does not know (written by other means) is not counted.
    await getEmailQueueModel(connection).collection.insertOne({ status: 'archived', to: ['x@example.org'] });
    expect(await countQueuedEmails(connection)).toEqual({ pending: 3, sending: 0, sent: 0, failed: 0, dead: 0 });
  });

  it('rethrows other database errors', async () => {
    const closed = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
    await closed.close();
    await expect(enqueueEmail(closed, { ...valid, idempotencyKey: 'closed' })).rejects.toThrow();
  });
});
