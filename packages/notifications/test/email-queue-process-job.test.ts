import { systemClock } from '@app/shared-jobs';
import { createJobModuleContext, createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  countQueuedEmails,
  createEmailQueueProcessJob,
  createSmtpEmailSender,
  emailQueueIdHeader,
  emailQueueProcessJobModule,
  emailQueueProcessJobName,
  emailQueueSettingsSchema,
  emailQueueStallTimeoutMs,
  enqueueEmail,
  ensureNotificationIndexes,
  getEmailQueueModel,
  minimumSendingLeaseSeconds,
  parseEmailQueueSettings,
  parseSmtpSettings,
  queueDepth,
  smtpSendTimeoutMs,
  type EmailQueueSettingsInput,
  type EmailSender,
  type SmtpEmailSender,
} from '../src/index.js';
import { headerValues, startSmtpSink, type SmtpSink, type SmtpSinkOptions } from './support/smtp-sink.js';

let connection: Connection;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  connection = await mongoose
    .createConnection(testMongoUri(), { dbName: testDatabaseName(), monitorCommands: true })
    .asPromise();
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

async function startSink(options: SmtpSinkOptions = {}): Promise<{ sink: SmtpSink; sender: SmtpEmailSender }> {
  const sink = await startSmtpSink(options);
  cleanups.push(() => sink.close());
  return { sink, sender: senderTo(sink) };
}

/** Another worker's pooled sender to the same sink. */
function senderTo(sink: SmtpSink): SmtpEmailSender {
  const sender = createSmtpEmailSender(
    parseSmtpSettings({ host: '127.0.0.1', port: sink.port, from: 'app@example.org', maxConnections: 3 }),
  );
  cleanups.push(() => sender.close());
  return sender;
}

function jobWith(sender: EmailSender, settings: EmailQueueSettingsInput = {}, target: Connection = connection) {
  return createEmailQueueProcessJob({
    connection: target,
    sender,
    settings: parseEmailQueueSettings({ concurrency: 3, ...settings }),
    messageIdDomain: 'queue.example.org',
  });
}

/** `count` entries due at `now`; with `spacingMs`, each one that much after the previous, the last at `now`. */
async function enqueueNumbered(count: number, now: Date, spacingMs = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const { id } = await enqueueEmail(
      connection,
      {
        to: [`user${index}@example.org`],
        cc: index === 0 ? ['copy@example.org'] : undefined,
        subject: `Message ${index}`,
        text: `Body ${index}`,
        html: `<p>Body ${index}</p>`,
      },
      { now: new Date(now.getTime() - (count - 1 - index) * spacingMs), messageIdDomain: 'queue.example.org' },
    );
    ids.push(id);
  }
  return ids;
}

async function entry(id: string) {
  const stored = await getEmailQueueModel(connection).findById(id).lean();
  if (stored === null) throw new Error(`entry ${id} is missing`);
  return stored;
}

/** Polls until `condition` holds; rejects naming `what` after `timeoutMs`. It waits for an event, never proves an absence. */
async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await pause(20);
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise opened from outside (the SMTP sink holds replies on it). */
function gate(): { readonly promise: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open: () => open() };
}

/** How many times each id was delivered (the X-Email-Queue-Id header). */
function deliveriesById(sink: SmtpSink): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of headerValues(sink, emailQueueIdHeader)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/**
 * A meeting point of `parties` callers: each call resolves once all have called (rejects after
 * `timeoutMs`, naming `what`, when one never comes).
 */
function barrier(parties: number, what: string, timeoutMs = 10_000): () => Promise<void> {
  let arrived = 0;
  let open = (): void => undefined;
  let fail = (_error: Error): void => undefined;
  const opened = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  opened.catch(() => undefined);
  const timer = setTimeout(() => fail(new Error(`${what}: ${arrived} of ${parties} arrived within ${timeoutMs} ms`)), timeoutMs);
  cleanups.push(() => clearTimeout(timer));
  return () => {
    arrived += 1;
    if (arrived === parties) {
      clearTimeout(timer);
      open();
    }
    return opened;
  };
}

describe('EmailQueueProcessJob', () => {
  it('is a module: named, keyed, every 10s with 3 run attempts 5 s to 1 min apart, SMTP required', async () => {
    const { sink } = await startSink();
    const module = emailQueueProcessJobModule;
    expect(module).toMatchObject({
      jobName: 'EmailQueueProcessJob',
      configKey: 'emailQueue',
      environmentPrefix: 'JOBS_EMAIL_QUEUE_',
      defaults: { schedule: '10s', misfire: 'once', retry: { maxAttempts: 3, initialDelayMs: 5000, maxDelayMs: 60_000 } },
      intervalAliases: [{ settingsKey: 'processingIntervalSeconds', unitMs: 1000 }],
      requiredSections: ['smtp'],
    });
    expect(module.settingsSchema).toBe(emailQueueSettingsSchema);
    const job = module.create(
      createJobModuleContext(module, {
        settings: parseEmailQueueSettings({ processingIntervalSeconds: 15, sendingLeaseSeconds: 120 }),
        services: {
          connection,
          smtp: parseSmtpSettings({ host: '127.0.0.1', port: sink.port, from: 'app@mail.example.org' }),
        },
      }),
    );
    expect(job.name).toBe(emailQueueProcessJobName);
    // The alias is the worker's to resolve: the job runs on the timing it is given.
    expect(job.schedule).toEqual({ kind: 'interval', everyMs: 10_000 });
    expect(job.retry).toEqual(module.defaults.retry);
    // Twice the SMTP sender's send timeout (10 s connect + 10 s greeting + 60 s socket), whatever the lease.
    expect(job.stallTimeoutMs).toBe(160_000);

    // It sends through its own pooled sender, with Message-IDs in the domain of smtp.from,
    // and dispose closes that pool.
    const clock = new FakeClock();
    const raw = await getEmailQueueModel(connection).collection.insertOne({
      to: ['raw@example.org'],
      subject: 'Raw',
      text: 'x',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: clock.now(),
    });
    expect(await job.run(createTestJobContext(clock))).toMatchObject({ sent: 1 });
    await sink.waitForMessages(1);
    expect(sink.messages[0]?.messageId).toBe(`<${raw.insertedId.toHexString()}@mail.example.org>`);
    await job.dispose?.();
    await enqueueNumbered(1, clock.now());
    expect(await job.run(createTestJobContext(clock))).toMatchObject({ sent: 0, retried: 1 });
  });

  it('delivers a batch once, marks each sent with its message id, and sends nothing more later', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    const ids = await enqueueNumbered(7, clock.now());
    const job = jobWith(sender);
    const context = createTestJobContext(clock);

    expect(await job.run(context)).toEqual({ sent: 7, retried: 0, dead: 0, pruned: 0 });
    await sink.waitForMessages(7);
    expect(sink.messages).toHaveLength(7);
    const bySubject = new Map(sink.messages.map((message) => [message.subject, message]));
    for (const [index, id] of ids.entries()) {
      const message = bySubject.get(`Message ${index}`);
      expect(message?.to).toMatchObject({ text: `user${index}@example.org` });
      expect(message?.text?.trim()).toBe(`Body ${index}`);
      expect(String(message?.html).trim()).toBe(`<p>Body ${index}</p>`);
      expect(message?.headers.get(emailQueueIdHeader.toLowerCase())).toBe(id);
      const stored = await entry(id);
      expect(stored.status).toBe('sent');
      expect(stored.attempts).toBe(1);
      expect(stored.smtpMessageId).toBe(`<${id}@queue.example.org>`);
      expect(message?.messageId).toBe(stored.smtpMessageId);
      expect(stored.sentAt).toEqual(clock.now());
      expect(stored.leaseExpiresAt).toBeUndefined();
    }
    expect(bySubject.get('Message 0')?.cc).toMatchObject({ text: 'copy@example.org' });
    expect(context.progress.at(-1)).toEqual({ completed: 7, message: 'emails processed' });

    clock.advance(3_600_000);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 0, dead: 0, pruned: 0 });
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 0, dead: 0, pruned: 0 });
    expect(sink.dataCommands()).toBe(7);
    expect(await countQueuedEmails(connection)).toEqual({ pending: 0, sending: 0, sent: 7, failed: 0, dead: 0 });
  });

  it('claims batches of batchSize, oldest due first, until nothing is due or maxEmailsPerRun is reached', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      ids.push(...(await enqueueNumbered(1, clock.now())));
      clock.advance(1000);
    }
    await enqueueEmail(
      connection,
      { to: ['later@example.org'], subject: 'Later', text: 'x', sendAfter: new Date(clock.now().getTime() + 60_000) },
      { now: clock.now() },
    );
    const firstTwo = jobWith(sender, { batchSize: 2, maxEmailsPerRun: 2 });
    expect(await firstTwo.run(createTestJobContext(clock))).toEqual({ sent: 2, retried: 0, dead: 0, pruned: 0 });
    await sink.waitForMessages(2);
    expect(headerValues(sink, emailQueueIdHeader).sort()).toEqual(ids.slice(0, 2).sort());

    const job = jobWith(sender, { batchSize: 2 });
    const context = createTestJobContext(clock);
    expect(await job.run(context)).toEqual({ sent: 3, retried: 0, dead: 0, pruned: 0 });
    expect(context.logger.lines).toContainEqual({
      level: 'info',
      message: 'email queue processed',
      fields: { batches: 2, sent: 3, retried: 0, dead: 0, pruned: 0 },
    });
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 0, dead: 0, pruned: 0 });
    await sink.waitForMessages(5);
    expect(headerValues(sink, emailQueueIdHeader).sort()).toEqual([...ids].sort());
    clock.advance(60_000);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 1, retried: 0, dead: 0, pruned: 0 });
  });

  it('421 then 250: one retry with a later nextAttemptAt, then one delivery', async () => {
    const { sink, sender } = await startSink({
      onMessage: (dataIndex) => (dataIndex === 0 ? { responseCode: 421, message: 'Service busy, try later' } : null),
    });
    const clock = new FakeClock();
    const [id = ''] = await enqueueNumbered(1, clock.now());
    const job = jobWith(sender, { deliveryBackoffInitialSeconds: 30, deliveryBackoffMaxSeconds: 600 });

    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 1, dead: 0, pruned: 0 });
    const retried = await entry(id);
    expect(retried.status).toBe('pending');
    expect(retried.attempts).toBe(1);
    expect(retried.lastError).toMatch(/^transient failure on delivery attempt 1\/5: .*421/u);
    // The first retry waits deliveryBackoffInitialSeconds, ±20 %.
    const delayMs = retried.nextAttemptAt.getTime() - clock.now().getTime();
    expect(delayMs).toBeGreaterThanOrEqual(24_000);
    expect(delayMs).toBeLessThanOrEqual(36_000);

    // Not due yet: nothing happens.
    clock.advance(delayMs - 1);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 0, dead: 0, pruned: 0 });
    clock.advance(1);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 1, retried: 0, dead: 0, pruned: 0 });
    await sink.waitForMessages(1);
    expect(sink.messages).toHaveLength(1);
    expect(sink.dataCommands()).toBe(2);
    const delivered = await entry(id);
    expect(delivered.status).toBe('sent');
    expect(delivered.attempts).toBe(2);
    expect(sink.messages[0]?.messageId).toBe(`<${id}@queue.example.org>`);
  });

  it('550: dead with the reason, no retry', async () => {
    const { sink, sender } = await startSink({
      onRecipient: (address) =>
        address === 'user1@example.org' ? { responseCode: 550, message: 'Mailbox unavailable' } : null,
    });
    const clock = new FakeClock();
    const [good = '', bad = ''] = await enqueueNumbered(2, clock.now());
    const job = jobWith(sender);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 1, retried: 0, dead: 1, pruned: 0 });
    const dead = await entry(bad);
    expect(dead.status).toBe('dead');
    expect(dead.attempts).toBe(1);
    expect(dead.lastError).toMatch(/^permanent failure on delivery attempt 1\/5: .*550 Mailbox unavailable/u);
    expect((await entry(good)).status).toBe('sent');
    clock.advance(86_400_000);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 0, dead: 0, pruned: 0 });
    await sink.waitForMessages(1);
    expect(sink.messages.map((message) => message.subject)).toEqual(['Message 0']);
  });

  it('the last allowed attempt failing transiently marks the entry dead', async () => {
    const { sink, sender } = await startSink({
      onMessage: () => ({ responseCode: 451, message: 'Local error in processing' }),
    });
    const clock = new FakeClock();
    const [id = ''] = await enqueueNumbered(1, clock.now());
    const job = jobWith(sender, { maxDeliveryAttempts: 3, deliveryBackoffInitialSeconds: 10, deliveryBackoffMaxSeconds: 20 });

    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 1, dead: 0, pruned: 0 });
    clock.advance(20_000);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 1, dead: 0, pruned: 0 });
    expect((await entry(id)).status).toBe('pending');
    clock.advance(20_000);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 0, dead: 1, pruned: 0 });
    const dead = await entry(id);
    expect(dead.status).toBe('dead');
    expect(dead.attempts).toBe(3);
    expect(dead.lastError).toMatch(/^transient failure on delivery attempt 3\/3: .*451/u);
    clock.advance(3_600_000);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 0, dead: 0, pruned: 0 });
    expect(sink.dataCommands()).toBe(3);
  });

  it('a crash between send and mark: the expired lease returns the entry and it is delivered again (at least once)', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    const [crashed = '', inFlight = ''] = await enqueueNumbered(2, clock.now());
    const queue = getEmailQueueModel(connection);
    // The crashed worker: it claimed attempt 1, the server accepted the message, then it died.
    const leaseExpiresAt = new Date(clock.now().getTime() + 300_000);
    for (const id of [crashed, inFlight]) {
      await queue.updateOne(
        { _id: id },
        { $set: { status: 'sending', attempts: 1, claimToken: `dead-worker-${id}`, leaseExpiresAt } },
      );
    }
    await sender.send({
      to: ['user0@example.org'],
      subject: 'Message 0',
      text: 'Body 0',
      messageId: `<${crashed}@queue.example.org>`,
      headers: { [emailQueueIdHeader]: crashed },
    });
    // Make only the first lease expire: the second worker is merely slow, not dead.
    await queue.updateOne({ _id: crashed }, { $set: { leaseExpiresAt: new Date(clock.now().getTime() + 1000) } });

    const job = jobWith(sender);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 0, dead: 0, pruned: 0 });
    clock.advance(1000);
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 1, retried: 0, dead: 0, pruned: 0 });
    const recovered = await entry(crashed);
    expect(recovered.status).toBe('sent');
    expect(recovered.attempts).toBe(2);
    expect((await entry(inFlight)).status).toBe('sending');

    // At least once: the recipient got it twice, with the same Message-ID to deduplicate on.
    await sink.waitForMessages(2);
    expect(headerValues(sink, emailQueueIdHeader)).toEqual([crashed, crashed]);
    expect(sink.messages.map((message) => message.messageId)).toEqual([
      `<${crashed}@queue.example.org>`,
      `<${crashed}@queue.example.org>`,
    ]);
  });

  it('a crash during the last allowed attempt marks the entry dead without another send', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    const [id = ''] = await enqueueNumbered(1, clock.now());
    await getEmailQueueModel(connection).updateOne(
      { _id: id },
      { $set: { status: 'sending', attempts: 2, claimToken: 'gone', leaseExpiresAt: clock.now() } },
    );
    const job = jobWith(sender, { maxDeliveryAttempts: 2 });
    expect(await job.run(createTestJobContext(clock))).toEqual({ sent: 0, retried: 0, dead: 1, pruned: 0 });
    const dead = await entry(id);
    expect(dead.status).toBe('dead');
    expect(dead.lastError).toMatch(/lease of the last delivery attempt \(2 allowed\) expired/u);
    expect(sink.dataCommands()).toBe(0);
  });

  it('one bad entry does not stop the others', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    const queue = getEmailQueueModel(connection);
    const [first = ''] = await enqueueNumbered(1, clock.now());
    // Written by other means than enqueueEmail: invalid address, no body, null cc.
    const inserted = await queue.collection.insertMany([
      { to: ['not-an-address'], subject: 'Bad', text: 'x', status: 'pending', attempts: 0, nextAttemptAt: clock.now() },
      { to: ['fine@example.org'], subject: 'No body', status: 'pending', attempts: 0, nextAttemptAt: clock.now() },
      { to: ['ok@example.org'], cc: null, subject: 'Null cc', text: 'y', status: 'pending', nextAttemptAt: clock.now() },
    ]);
    const [badAddress, noBody, nullCc] = Object.values(inserted.insertedIds).map((id) => id.toHexString());
    const [last = ''] = await enqueueNumbered(1, clock.now());

    expect(await jobWith(sender).run(createTestJobContext(clock))).toEqual({ sent: 3, retried: 0, dead: 2, pruned: 0 });
    expect((await entry(badAddress ?? '')).lastError).toBe('invalid entry: to[0]: invalid email address');
    expect((await entry(noBody ?? '')).lastError).toBe('invalid entry: text: text or html is required');
    expect(await entry(nullCc ?? '')).toMatchObject({
      status: 'sent',
      smtpMessageId: `<${nullCc ?? ''}@queue.example.org>`,
    });
    expect((await entry(first)).status).toBe('sent');
    expect((await entry(last)).status).toBe('sent');
    await sink.waitForMessages(3);
    expect(sink.messages.map((message) => message.subject).sort()).toEqual(['Message 0', 'Message 0', 'Null cc']);
  });

  it('a sender that throws on one entry and a vanished entry do not stop the batch', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    const ids = await enqueueNumbered(4, clock.now());
    const flaky: EmailSender = {
      send(message) {
        if (message.subject === 'Message 1') return Promise.reject(new Error(`adapter bug ${'x'.repeat(3000)}`));
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a sender that breaks the contract
        if (message.subject === 'Message 3') return Promise.reject('a bare string');
        if (message.subject === 'Message 2') {
          // The entry vanishes under us: its result cannot be recorded.
          return getEmailQueueModel(connection)
            .deleteOne({ _id: ids[2] })
            .then(() => sender.send(message));
        }
        return sender.send(message);
      },
    };
    const context = createTestJobContext(clock);
    const result = await jobWith(flaky, { concurrency: 1 }).run(context);
    expect(result).toEqual({ sent: 2, retried: 2, dead: 0, pruned: 0 });
    expect((await entry(ids[0] ?? '')).status).toBe('sent');
    expect(context.logger.lines).toContainEqual({
      level: 'warn',
      message: 'emails sent but no longer ours to mark',
      fields: { sent: 2, marked: 1 },
    });
    const longError = (await entry(ids[1] ?? '')).lastError ?? '';
    expect(longError).toMatch(/^transient failure on delivery attempt 1\/5: adapter bug x+…$/u);
    expect(longError).toHaveLength(1000);
    expect((await entry(ids[3] ?? '')).lastError).toBe('transient failure on delivery attempt 1/5: a bare string');
    await sink.waitForMessages(2);
    expect(sink.messages).toHaveLength(2);
  });

  it('a database failure while recording results is logged and the batch goes on', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    const ids = await enqueueNumbered(4, clock.now());
    const jobConnection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
    const closing: EmailSender = {
      async send(message) {
        if (message.subject === 'Message 2') await jobConnection.close();
        return sender.send(message);
      },
    };
    const context = createTestJobContext(clock);
    expect(await jobWith(closing, { concurrency: 1 }, jobConnection).run(context)).toEqual({
      sent: 4,
      retried: 0,
      dead: 0,
      pruned: 0,
    });
    await sink.waitForMessages(4);
    const errors = context.logger.lines.filter((log) => log.level === 'error');
    expect(errors.map((log) => log.message)).toEqual(['could not mark sent emails']);
    expect(errors[0]?.fields?.emailIds).toEqual(ids);
    // Unrecorded sends stay `sending` until their lease expires: at least once.
    for (const id of ids) expect((await entry(id)).status).toBe('sending');
  });

  it('two workers racing on the same batch send every email exactly once; both send, and one loses claims to the other', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    // Distinct due instants: both workers' selections (oldest first) are the same entries.
    const ids = await enqueueNumbered(30, clock.now(), 1000);
    const otherConnection = await mongoose
      .createConnection(testMongoUri(), { dbName: testDatabaseName() })
      .asPromise();
    cleanups.push(() => otherConnection.close());
    // The race, made certain rather than left to timing. Each worker's first claim statement
    // (the updateMany after its selection) waits until the other worker has selected too: both
    // selected the same oldest batch of 10, and each of those entries is claimed by exactly one
    // of the two statements, the other one losing it.
    const bothSelected = barrier(2, 'both workers selecting their first batch');
    for (const target of [connection, otherConnection]) {
      const collection = getEmailQueueModel(target).collection;
      const updateMany = collection.updateMany.bind(collection);
      let arrival: Promise<void> | undefined;
      collection.updateMany = async (...args: Parameters<typeof updateMany>) => {
        arrival ??= bothSelected();
        await arrival;
        return updateMany(...args);
      };
      cleanups.push(() => {
        Reflect.deleteProperty(collection, 'updateMany');
      });
    }
    // Neither worker sends before both have claimed something: the winner of the first claim holds
    // at most two batches (the one it sends and the next) while it waits, so the other one claims
    // from what is left and both send.
    const bothClaimed = barrier(2, 'both workers sending');
    const workers = [connection, otherConnection].map((target) => {
      const sent: string[] = [];
      let arrival: Promise<void> | undefined;
      const gated: EmailSender = {
        async send(message) {
          arrival ??= bothClaimed();
          await arrival;
          const result = await sender.send(message);
          sent.push(message.headers?.[emailQueueIdHeader] ?? '');
          return result;
        },
      };
      return { sent, context: createTestJobContext(clock), job: jobWith(gated, { concurrency: 5, batchSize: 10 }, target) };
    });
    const results = await Promise.all(workers.map((worker) => worker.job.run(worker.context)));
    expect(results.reduce((total, result) => total + result.sent, 0)).toBe(30);
    await sink.waitForMessages(30);
    const delivered = headerValues(sink, emailQueueIdHeader);
    expect(delivered).toHaveLength(30);
    expect(new Set(delivered).size).toBe(30);
    expect(new Set(delivered)).toEqual(new Set(ids));
    expect(await countQueuedEmails(connection)).toMatchObject({ sent: 30, sending: 0, pending: 0 });
    // Both sent, what each run counted is what it handed to its sender, and no email went through both.
    for (const [index, worker] of workers.entries()) {
      expect(worker.sent.length).toBeGreaterThanOrEqual(1);
      expect(results[index]?.sent).toBe(worker.sent.length);
    }
    expect(new Set([...(workers[0]?.sent ?? []), ...(workers[1]?.sent ?? [])]).size).toBe(30);
    // They contended: entries a worker selected were claimed by the other, and it skipped them
    // (at least the 10 of the first batch, each lost by one of the two).
    const skipped = workers.map((worker) =>
      worker.context.logger.lines
        .filter((line) => line.message === 'email queue entries claimed by another worker were skipped')
        .reduce((total, line) => total + Number(line.fields?.skipped ?? 0), 0),
    );
    expect((skipped[0] ?? 0) + (skipped[1] ?? 0)).toBeGreaterThanOrEqual(10);
  });

  it('stalls after twice the sender\'s send timeout, whatever the claim lease', async () => {
    const { sink } = await startSink();
    const smtp = (connectionTimeoutMs: number) =>
      parseSmtpSettings({ host: '127.0.0.1', port: sink.port, from: 'app@example.org', connectionTimeoutMs });
    // connection + greeting + socket timeout (at least 60 s)
    expect(smtpSendTimeoutMs(smtp(10_000))).toBe(80_000);
    expect(smtpSendTimeoutMs(smtp(90_000))).toBe(270_000);
    for (const sendingLeaseSeconds of [minimumSendingLeaseSeconds, 30, 3600]) {
      const job = emailQueueProcessJobModule.create(
        createJobModuleContext(emailQueueProcessJobModule, {
          settings: parseEmailQueueSettings({ sendingLeaseSeconds }),
          services: { connection, smtp: smtp(90_000) },
        }),
      );
      cleanups.push(() => job.dispose?.());
      expect(job.stallTimeoutMs).toBe(540_000);
    }
    // A sender of one's own: twice its sendTimeoutMs, or the SMTP default's when it states none.
    const unused = () => Promise.reject(new Error('unused'));
    expect(jobWith({ send: unused }, { sendingLeaseSeconds: 3 }).stallTimeoutMs).toBe(160_000);
    expect(jobWith({ send: unused, sendTimeoutMs: 5000 }).stallTimeoutMs).toBe(10_000);
    expect(emailQueueStallTimeoutMs()).toBe(160_000);
  });

  describe(`the claim lease (${minimumSendingLeaseSeconds} s here), renewed while the run lives`, () => {
    const leaseSeconds = minimumSendingLeaseSeconds;
    const settings = { batchSize: 2, concurrency: 2, sendingLeaseSeconds: leaseSeconds };

    it('a worker dead mid-send: once its lease lapsed another run sends its claims, only the ones in flight twice', async () => {
      const replies = gate();
      const { sink, sender: dyingSender } = await startSink({ holdReply: (index) => (index < 2 ? replies.promise : null) });
      const survivorSender = senderTo(sink);
      cleanups.push(() => replies.open());
      const ids = await enqueueNumbered(4, systemClock.now(), 1000);
      const queue = getEmailQueueModel(connection);

      // The dying worker claims both batches (the one it sends and the one claimed ahead); both
      // emails of the first reach the server, whose replies it never reads.
      const dyingConnection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
      const dyingContext = createTestJobContext(systemClock);
      const dyingRun = jobWith(dyingSender, settings, dyingConnection).run(dyingContext);
      await waitUntil(
        async () => sink.dataCommands() === 2 && (await countQueuedEmails(connection)).sending === 4,
        'the dying worker mid-send with both batches claimed',
      );
      // Its death: no statement of it reaches the database any more (no renewal, mark or
      // release), and its sends never complete.
      await dyingConnection.close();
      const diedAt = Date.now();
      const atDeath = await queue.find({}, { claimToken: 1, leaseExpiresAt: 1 }).lean();
      const dyingTokens = new Set(atDeath.map((state) => state.claimToken));
      expect(dyingTokens.size).toBe(2);
      const leases = atDeath.map((state) => state.leaseExpiresAt?.getTime() ?? Number.NaN);
      const firstLapse = Math.min(...leases);
      expect(Math.max(...leases) - diedAt).toBeLessThanOrEqual(leaseSeconds * 1000);

      // Another worker runs every 100 ms until it has sent them all.
      const survivor = jobWith(survivorSender, settings);
      const runs: { startedAt: number; sent: number }[] = [];
      while (runs.reduce((total, run) => total + run.sent, 0) < 4) {
        if (Date.now() - diedAt > 15_000) throw new Error(`not resent within 15 s: ${JSON.stringify(runs)}`);
        const startedAt = Date.now();
        runs.push({ startedAt, sent: (await survivor.run(createTestJobContext(systemClock))).sent });
        await pause(100);
      }
      const resentAfterMs = Date.now() - diedAt;
      // The dead worker's claims were honoured until they lapsed, then taken at once: seconds after
      // its death, not the 300 s of the old lease.
      const early = runs.filter((run) => run.startedAt < firstLapse);
      expect(early.length).toBeGreaterThanOrEqual(1);
      expect(early.every((run) => run.sent === 0)).toBe(true);
      expect(resentAfterMs).toBeLessThan(leaseSeconds * 1000 + 5000);
      // The dead worker's renewals fail, logged and not thrown.
      await waitUntil(
        () => dyingContext.logger.messages('warn').includes('could not renew the lease of claimed emails; they lapse if renewals keep failing'),
        'a failed renewal of the dead worker',
      );

      // At least once: the two emails in flight at its death were delivered twice (same
      // Message-ID), the two it had only claimed once.
      await sink.waitForMessages(6);
      expect(Object.fromEntries(deliveriesById(sink))).toEqual({
        [ids[0] ?? '']: 2,
        [ids[1] ?? '']: 2,
        [ids[2] ?? '']: 1,
        [ids[3] ?? '']: 1,
      });
      expect(new Set(sink.messages.filter((message) => message.subject === 'Message 0').map((message) => message.messageId)).size).toBe(1);
      const settled = await queue.find({}, { status: 1, attempts: 1, claimToken: 1 }).lean();
      for (const state of settled) {
        expect(state).toMatchObject({ status: 'sent', attempts: 2 });
        expect(dyingTokens.has(state.claimToken)).toBe(false);
      }

      // The dead run is wound up: what it does now never reaches the database or the server.
      dyingContext.abortController.abort();
      replies.open();
      await dyingRun;
      expect(sink.dataCommands()).toBe(6);
      expect(await queue.find({}, { status: 1, attempts: 1, claimToken: 1 }).lean()).toEqual(settled);
    });

    it('a live run slower than the lease keeps its claims: a concurrent run takes none of them', async () => {
      // Three batches of two; the server is slow to accept the last one.
      const replies = gate();
      const { sink, sender: ownerSender } = await startSink({ holdReply: (index) => (index === 4 || index === 5 ? replies.promise : null) });
      const competitorSender = senderTo(sink);
      cleanups.push(() => replies.open());
      const ids = await enqueueNumbered(6, systemClock.now(), 1000);
      const lastBatch = ids.slice(4).sort();
      const queue = getEmailQueueModel(connection);
      const otherConnection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
      cleanups.push(() => otherConnection.close());
      const renewals = recordRenewals(connection);
      cleanups.push(() => renewals.stop());

      const ownerContext = createTestJobContext(systemClock);
      const owner = jobWith(ownerSender, settings).run(ownerContext);
      await waitUntil(() => sink.dataCommands() === 6, 'the last batch\'s slow sends at the server');
      const renewalsBefore = renewals.ids.length;
      const claimed = await queue.find({ status: 'sending' }, { claimToken: 1, leaseExpiresAt: 1 }).lean();
      expect(claimed.map((state) => state._id.toHexString()).sort()).toEqual(lastBatch);
      const ownerTokens = new Set(claimed.map((state) => state.claimToken));
      expect(ownerTokens.size).toBe(1);
      // Not renewed, the claims would lapse by this instant.
      const lapseWithoutRenewal = Math.max(...claimed.map((state) => state.leaseExpiresAt?.getTime() ?? Number.NaN));

      // Another worker runs every 200 ms until one of its runs started a second after that.
      const competitor = jobWith(competitorSender, settings, otherConnection);
      const competitorRuns: { startedAt: number; sent: number; retried: number; dead: number; skipped: number }[] = [];
      while (competitorRuns.at(-1) === undefined || (competitorRuns.at(-1)?.startedAt ?? 0) < lapseWithoutRenewal + 1000) {
        if (Date.now() > lapseWithoutRenewal + 15_000) throw new Error('the competitor did not run past the lease');
        const startedAt = Date.now();
        const context = createTestJobContext(systemClock);
        const { sent, retried, dead } = await competitor.run(context);
        const skipped = context.logger.messages('info').filter((message) => message.includes('claimed by another worker')).length;
        competitorRuns.push({ startedAt, sent, retried, dead, skipped });
        await pause(200);
      }
      const renewed = await queue.find({ _id: { $in: lastBatch } }, { claimToken: 1, leaseExpiresAt: 1, attempts: 1 }).lean();
      for (const state of renewed) {
        expect(ownerTokens.has(state.claimToken)).toBe(true);
        expect(state.attempts).toBe(1);
        expect(state.leaseExpiresAt?.getTime()).toBeGreaterThan(lapseWithoutRenewal);
      }
      // Renewed by one statement each time, naming only what is held: the settled batches were
      // let go (at most one renewal under way while the second batch settled named it too).
      const whileHeld = renewals.ids.slice(renewalsBefore + 1);
      expect(whileHeld.length).toBeGreaterThanOrEqual(1);
      for (const named of whileHeld) expect([...named].sort()).toEqual(lastBatch);
      for (const named of renewals.ids) expect(named.length).toBeLessThanOrEqual(2 * settings.batchSize);

      // The slow sends complete: their owner marks them sent under its own claim.
      replies.open();
      expect(await owner).toEqual({ sent: 6, retried: 0, dead: 0, pruned: 0 });
      expect(ownerContext.logger.messages('warn')).toEqual([]);
      for (const state of await queue.find({}, { status: 1, attempts: 1 }).lean()) {
        expect(state).toMatchObject({ status: 'sent', attempts: 1 });
      }
      expect(competitorRuns.every((run) => run.sent + run.retried + run.dead + run.skipped === 0)).toBe(true);
      await sink.waitForMessages(6);
      expect(sink.dataCommands()).toBe(6);
      expect(Object.fromEntries(deliveriesById(sink))).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
    });

    it('a run aborted mid-send (taken over, say) renews no more: its claim lapses and another run sends it again', async () => {
      const replies = gate();
      const { sink, sender: ownerSender } = await startSink({ holdReply: (index) => (index === 0 ? replies.promise : null) });
      const competitorSender = senderTo(sink);
      cleanups.push(() => replies.open());
      const [id = ''] = await enqueueNumbered(1, systemClock.now());
      const ownerContext = createTestJobContext(systemClock);
      const owner = jobWith(ownerSender, settings).run(ownerContext);
      await waitUntil(() => sink.dataCommands() === 1, 'the send at the server');
      ownerContext.abortController.abort();

      // The owner is still in its send, but no longer renews: the claim lapses and a
      // competitor takes it (without the abort stopping the renewal, it never would).
      const competitor = jobWith(competitorSender, settings);
      const abortedAt = Date.now();
      let resent = 0;
      while (resent === 0) {
        if (Date.now() - abortedAt > 15_000) throw new Error('the aborted run\'s claim did not lapse within 15 s');
        resent = (await competitor.run(createTestJobContext(systemClock))).sent;
        await pause(100);
      }
      expect(Date.now() - abortedAt).toBeLessThan(leaseSeconds * 1000 + 5000);
      replies.open();
      expect(await owner).toEqual({ sent: 1, retried: 0, dead: 0, pruned: 0 });
      expect(ownerContext.logger.messages('warn')).toContain('emails sent but no longer ours to mark');
      expect(await entry(id)).toMatchObject({ status: 'sent', attempts: 2 });
      await sink.waitForMessages(2);
      expect(Object.fromEntries(deliveriesById(sink))).toEqual({ [id]: 2 });
    });
  });

  it('stops sending when the signal is aborted and gives the unsent entries back', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    const ids = await enqueueNumbered(5, clock.now());
    const context = createTestJobContext(clock);
    const abortingSender: EmailSender = {
      async send(message) {
        const sent = await sender.send(message);
        context.abortController.abort();
        return sent;
      },
    };
    expect(await jobWith(abortingSender, { concurrency: 1 }).run(context)).toEqual({ sent: 1, retried: 0, dead: 0, pruned: 0 });
    const states = await Promise.all(ids.map((id) => entry(id)));
    expect(states.filter((state) => state.status === 'sent')).toHaveLength(1);
    const released = states.filter((state) => state.status === 'pending');
    expect(released).toHaveLength(4);
    for (const state of released) {
      expect(state.attempts).toBe(0);
      expect(state.claimToken).toBeUndefined();
    }

    expect(await jobWith(sender).run(createTestJobContext(clock))).toEqual({ sent: 4, retried: 0, dead: 0, pruned: 0 });
    await sink.waitForMessages(5);
    expect(new Set(headerValues(sink, emailQueueIdHeader)).size).toBe(5);
    expect(sink.dataCommands()).toBe(5);
  });

  it('gives back the batch claimed ahead when the run is aborted', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    const ids = await enqueueNumbered(6, clock.now());
    const context = createTestJobContext(clock);
    const abortingSender: EmailSender = {
      async send(message) {
        const sent = await sender.send(message);
        context.abortController.abort();
        return sent;
      },
    };
    const job = jobWith(abortingSender, { batchSize: 2, concurrency: 1 });
    expect(await job.run(context)).toEqual({ sent: 1, retried: 0, dead: 0, pruned: 0 });
    const states = await Promise.all(ids.map((id) => entry(id)));
    expect(states.filter((state) => state.status === 'sent')).toHaveLength(1);
    const released = states.filter((state) => state.status === 'pending');
    expect(released).toHaveLength(5);
    for (const state of released) {
      expect(state.attempts).toBe(0);
      expect(state.claimToken).toBeUndefined();
    }
    expect(await jobWith(sender).run(createTestJobContext(clock))).toEqual({ sent: 5, retried: 0, dead: 0, pruned: 0 });
    await sink.waitForMessages(6);
    expect(new Set(headerValues(sink, emailQueueIdHeader)).size).toBe(6);
  });

  it('claims nothing when aborted before the batch starts, and sends nothing when disabled', async () => {
    const { sink, sender } = await startSink();
    const clock = new FakeClock();
    await enqueueNumbered(2, clock.now());
    const aborted = createTestJobContext(clock);
    aborted.abortController.abort();
    expect(await jobWith(sender).run(aborted)).toEqual({ sent: 0, retried: 0, dead: 0, pruned: 0 });
    expect(await jobWith(sender, { enabled: false }).run(createTestJobContext(clock))).toEqual({
      sent: 0,
      retried: 0,
      dead: 0,
      pruned: 0,
    });
    expect(await countQueuedEmails(connection)).toMatchObject({ pending: 2, sending: 0 });
    expect(sink.dataCommands()).toBe(0);
  });

  it('keeps going when progress reporting fails', async () => {
    const { sender } = await startSink();
    const clock = new FakeClock();
    await enqueueNumbered(9, clock.now());
    const raw = await getEmailQueueModel(connection).collection.insertOne({
      to: ['raw@example.org'],
      subject: 'Raw',
      text: 'x',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: clock.now(),
    });
    const context = createTestJobContext(clock);
    const failingContext = { ...context, reportProgress: () => Promise.reject(new Error('lock lost')) };
    // No messageIdDomain, and a sender that reports no server reply.
    const job = createEmailQueueProcessJob({
      connection,
      sender: { send: async (message) => ({ messageId: (await sender.send(message)).messageId }) },
      settings: parseEmailQueueSettings({}),
    });
    expect(await job.run(failingContext)).toEqual({ sent: 10, retried: 0, dead: 0, pruned: 0 });
    // After every send (proof of life for the stall timeout) and after the batch.
    expect(context.logger.messages('warn').filter((message) => message === 'progress report failed')).toHaveLength(11);
    expect((await entry(raw.insertedId.toHexString())).smtpMessageId).toBe(
      `<${raw.insertedId.toHexString()}@email-queue.invalid>`,
    );
    expect(await countQueuedEmails(connection)).toMatchObject({ sent: 10 });
  });

  it('prunes sent entries after sentRetentionDays and dead ones after deadRetentionDays, in batches', async () => {
    const { sender } = await startSink();
    const clock = new FakeClock(new Date('2026-09-01T00:00:00.000Z'));
    const daysAgo = (days: number, extraMs = 0) => new Date(clock.now().getTime() - days * 86_400_000 - extraMs);
    const settled = (status: string, updatedAt: Date, subject: string) => ({
      to: ['x@example.org'],
      subject,
      text: 'x',
      status,
      attempts: 1,
      nextAttemptAt: daysAgo(200),
      createdAt: daysAgo(200),
      updatedAt,
    });
    await getEmailQueueModel(connection).collection.insertMany([
      ...Array.from({ length: 5 }, (_, index) => settled('sent', daysAgo(30, 1 + index), `old sent ${index}`)),
      settled('sent', daysAgo(30), 'sent at the cutoff'),
      settled('sent', daysAgo(1), 'recent sent'),
      settled('dead', daysAgo(90, 1), 'old dead'),
      settled('dead', daysAgo(31), 'dead, kept for 90 days'),
      settled('failed', daysAgo(400), 'operator hold'),
    ]);
    const context = createTestJobContext(clock);
    const commands = recordDeletes(connection);

    expect(await jobWith(sender, { batchSize: 2 }).run(context)).toEqual({ sent: 0, retried: 0, dead: 0, pruned: 6 });
    commands.stop();

    const left = await getEmailQueueModel(connection).find({}, { subject: 1 }).lean();
    expect(left.map((document) => document.subject).sort()).toEqual([
      'dead, kept for 90 days',
      'operator hold',
      'recent sent',
      'sent at the cutoff',
    ]);
    expect(context.progress.filter((progress) => progress.message === 'settled emails pruned')).toEqual([
      { completed: 2, message: 'settled emails pruned' },
      { completed: 4, message: 'settled emails pruned' },
      { completed: 5, message: 'settled emails pruned' },
      { completed: 6, message: 'settled emails pruned' },
    ]);
    // Bounded: every delete names at most batchSize ids.
    expect(commands.inListLengths()).toEqual([2, 2, 1, 1]);
    // Strictly older than the retention goes: 'recent sent' is exactly 1 day old and stays.
    const custom = jobWith(sender, { sentRetentionDays: 1, deadRetentionDays: 30 });
    expect((await custom.run(createTestJobContext(clock))).pruned).toBe(2);
    expect(await countQueuedEmails(connection)).toMatchObject({ sent: 1, dead: 0, failed: 1 });
  });
});

/** The `_id: { $in }` lists of the lease renewals (updates of `leaseExpiresAt` alone) sent to the queue. */
function recordRenewals(target: Connection): { readonly ids: string[][]; stop(): void } {
  const ids: string[][] = [];
  const client = target.getClient();
  const listener = (event: { commandName: string; command: Record<string, unknown> }): void => {
    if (event.commandName !== 'update' || event.command.update !== 'email_queue') return;
    const updates = event.command.updates as { q: { _id?: { $in?: { toHexString(): string }[] } }; u: { $set?: object } }[];
    for (const update of updates) {
      const set = update.u.$set ?? {};
      if (Object.keys(set).join() !== 'leaseExpiresAt') continue;
      ids.push((update.q._id?.$in ?? []).map((id) => id.toHexString()));
    }
  };
  client.on('commandStarted', listener);
  return { ids, stop: () => client.off('commandStarted', listener) };
}

/** The `_id: { $in }` list lengths of the delete statements sent to the queue. */
function recordDeletes(target: Connection): { inListLengths(): number[]; stop(): void } {
  const lengths: number[] = [];
  const client = target.getClient();
  const listener = (event: { commandName: string; command: Record<string, unknown> }): void => {
    if (event.commandName !== 'delete' || event.command.delete !== 'email_queue') return;
    for (const statement of event.command.deletes as { q: { _id?: { $in?: unknown[] } } }[]) {
      lengths.push(statement.q._id?.$in?.length ?? Number.NaN);
    }
  };
  client.on('commandStarted', listener);
  return { inListLengths: () => lengths, stop: () => client.off('commandStarted', listener) };
}

describe('queueDepth', () => {
  it('counts pending and sending entries up to a limit', async () => {
    const clock = new FakeClock();
    const ids = await enqueueNumbered(4, clock.now());
    await getEmailQueueModel(connection).updateOne({ _id: ids[0] }, { $set: { status: 'sending' } });
    await getEmailQueueModel(connection).updateOne({ _id: ids[1] }, { $set: { status: 'sent' } });
    expect(await queueDepth(connection)).toEqual({ pending: 2, sending: 1, atLimit: false });
    expect(await queueDepth(connection, { countLimit: 2 })).toEqual({ pending: 2, sending: 1, atLimit: true });
    await expect(queueDepth(connection, { countLimit: 0 })).rejects.toThrow(
      'queueDepth countLimit must be an integer >= 1, got 0',
    );
    expect(await countQueuedEmails(connection)).toEqual({ pending: 2, sending: 1, sent: 1, failed: 0, dead: 0 });
  });
});
