/**
 * BENCH_EMAILS (default 5,000) emails through EmailQueueProcessJob vs the same messages sent
 * directly with nodemailer and the same pool settings, in the same run, into one SMTP sink on
 * loopback. Also times the database floor: the statements no queue can avoid, one claim
 * `updateMany` and one sent-mark `updateMany` per batch, as plain driver calls on a copy of the
 * queue with the same indexes. Each round measures direct, job and floor back to back (the
 * machine is shared: rounds show the noise). Prints the throughput ratios and checks that the
 * sink received every email exactly once (custom header count).
 *
 * Environment: BENCH_EMAILS (5000), BENCH_BATCH_SIZE (500), BENCH_CONCURRENCY (20),
 * BENCH_MAX_CONNECTIONS (5), BENCH_ROUNDS (2).
 */
import { createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose, { type Connection } from 'mongoose';
import { createTransport } from 'nodemailer';
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
  queueDepth,
  type SmtpSettings,
} from '../src/index.js';
import { headerValues, startSmtpSink, type SmtpSink } from '../test/support/smtp-sink.js';

const emailCount = Number(process.env.BENCH_EMAILS ?? 5000);
const batchSize = Number(process.env.BENCH_BATCH_SIZE ?? 500);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 20);
const maxConnections = Number(process.env.BENCH_MAX_CONNECTIONS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);

let connection: Connection;
let floorConnection: Connection;

beforeAll(async () => {
  connection = await mongoose
    .createConnection(testMongoUri(), { dbName: testDatabaseName(), monitorCommands: true })
    .asPromise();
  floorConnection = await mongoose
    .createConnection(testMongoUri(), { dbName: `${testDatabaseName()}_floor` })
    .asPromise();
});

afterAll(async () => {
  for (const target of [connection, floorConnection]) {
    await target.dropDatabase();
    await target.close();
  }
});

function message(index: number) {
  return {
    to: [`user${index}@example.org`],
    subject: `Benchmark message ${index}`,
    text: `Hello user ${index},\n\nthis is benchmark message number ${index}.\n`,
    html: `<p>Hello user ${index},</p><p>this is benchmark message number <b>${index}</b>.</p>`,
  };
}

function duplicates(values: readonly string[]): number {
  return values.length - new Set(values).size;
}

const seconds = (milliseconds: number) => (milliseconds / 1000).toFixed(2);
const perSecond = (milliseconds: number) => ((emailCount / milliseconds) * 1000).toFixed(0);

async function freshQueue(target: Connection): Promise<number> {
  await target.dropDatabase();
  await ensureNotificationIndexes(target);
  const started = performance.now();
  for (let start = 0; start < emailCount; start += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, emailCount - start) }, (_, offset) =>
        enqueueEmail(target, message(start + offset)),
      ),
    );
  }
  return performance.now() - started;
}

/** nodemailer directly, same pool settings, every message handed to the pool at once. */
async function timeDirect(smtp: SmtpSettings, sink: SmtpSink): Promise<number> {
  const transport = createTransport({
    pool: true,
    host: smtp.host,
    port: smtp.port,
    secure: false,
    maxConnections,
    maxMessages: Number.POSITIVE_INFINITY,
    logger: false,
  });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: emailCount }, (_, index) =>
      transport.sendMail({ from: smtp.from, ...message(index), headers: { 'X-Bench-Id': String(index) } }),
    ),
  );
  const elapsedMs = performance.now() - started;
  transport.close();
  expect(sink.rawHeaders).toHaveLength(emailCount);
  return elapsedMs;
}

/** The job, run back to back until a run sends nothing, as a worker would. */
async function timeJob(smtp: SmtpSettings, sink: SmtpSink): Promise<{ elapsedMs: number; report: string[] }> {
  const sender = createSmtpEmailSender(smtp);
  const job = createEmailQueueProcessJob({
    connection,
    sender,
    settings: parseEmailQueueSettings({ batchSize, concurrency }),
    messageIdDomain: 'bench.example.org',
  });
  const clock = new FakeClock(new Date());
  // Database time of the job's statements, by command (they overlap each other and the sends).
  const commandTimes = new Map<string, { count: number; totalMs: number }>();
  const onCommand = (event: { commandName: string; duration: number }): void => {
    const entry = commandTimes.get(event.commandName) ?? { count: 0, totalMs: 0 };
    commandTimes.set(event.commandName, { count: entry.count + 1, totalMs: entry.totalMs + event.duration });
  };
  connection.getClient().on('commandSucceeded', onCommand);
  const problems = new Map<string, number>();
  let runs = 0;
  let sent = 0;
  const started = performance.now();
  for (;;) {
    const context = createTestJobContext(clock);
    const result = await job.run(context);
    for (const line of [...context.logger.linesAt('error'), ...context.logger.linesAt('warn')]) {
      problems.set(line.message, (problems.get(line.message) ?? 0) + 1);
    }
    runs += 1;
    sent += result.sent;
    expect(result.retried + result.dead).toBe(0);
    if (result.sent === 0) break;
  }
  const elapsedMs = performance.now() - started;
  connection.getClient().off('commandSucceeded', onCommand);
  sender.close();

  const queueIds = headerValues(sink, emailQueueIdHeader).filter((value) => value !== '');
  expect(sent).toBe(emailCount);
  expect(queueIds).toHaveLength(emailCount);
  expect(duplicates(queueIds)).toBe(0);
  expect(await countQueuedEmails(connection)).toEqual({ pending: 0, sending: 0, sent: emailCount, failed: 0, dead: 0 });
  expect(await getEmailQueueModel(connection).countDocuments({ attempts: { $ne: 1 } })).toBe(0);
  return {
    elapsedMs,
    report: [
      `job: ${seconds(elapsedMs)} s (${perSecond(elapsedMs)} emails/s) in ${runs} runs; statements ` +
        [...commandTimes].map(([name, time]) => `${time.count} ${name} ${seconds(time.totalMs)} s`).join(', '),
      `job errors/warnings: ${problems.size === 0 ? 'none' : [...problems].map(([text, count]) => `${count}x ${text}`).join('; ')}; ` +
        `delivered ${queueIds.length}, distinct ${new Set(queueIds).size}, duplicates ${duplicates(queueIds)}`,
    ],
  };
}

/** The floor's database part: per batch one claim and one sent mark, plain driver statements. */
async function timeFloorStatements(): Promise<number> {
  const queue = floorConnection.collection(emailQueueCollectionName);
  const ids = (await queue.find({}, { projection: { _id: 1 } }).toArray()).map((document) => document._id);
  const started = performance.now();
  for (let start = 0; start < ids.length; start += batchSize) {
    const batch = ids.slice(start, start + batchSize);
    const claimToken = `floor-${start}`;
    await queue.updateMany(
      { _id: { $in: batch }, status: 'pending' },
      { $set: { status: 'sending', claimToken, leaseExpiresAt: new Date() }, $inc: { attempts: 1 } },
    );
    await queue.updateMany(
      { _id: { $in: batch }, claimToken },
      { $set: { status: 'sent', sentAt: new Date() }, $unset: { leaseExpiresAt: 1 } },
    );
  }
  const elapsedMs = performance.now() - started;
  expect(await queue.countDocuments({ status: 'sent' })).toBe(emailCount);
  return elapsedMs;
}

it(`sends ${emailCount} emails through the job; ratio to direct nodemailer and to the database floor`, async () => {
  console.log(
    `[bench] ${emailCount} emails, pool maxConnections=${maxConnections}, job batchSize=${batchSize} concurrency=${concurrency}, ${rounds} rounds`,
  );
  const totals = { direct: 0, job: 0, floor: 0 };
  for (let round = 1; round <= rounds; round += 1) {
    const enqueueMs = await freshQueue(connection);
    await freshQueue(floorConnection);
    const depthStarted = performance.now();
    expect(await queueDepth(connection)).toMatchObject({ pending: emailCount, sending: 0 });
    const depthMs = performance.now() - depthStarted;

    const directSink = await startSmtpSink({ parse: false });
    const smtp = parseSmtpSettings({ host: '127.0.0.1', port: directSink.port, from: 'bench@example.org', maxConnections });
    const directMs = await timeDirect(smtp, directSink);
    await directSink.close();
    const jobSink = await startSmtpSink({ parse: false });
    const job = await timeJob({ ...smtp, port: jobSink.port }, jobSink);
    await jobSink.close();
    const floorMs = directMs + (await timeFloorStatements());
    totals.direct += directMs;
    totals.job += job.elapsedMs;
    totals.floor += floorMs;
    console.log(
      [
        `[bench] round ${round}: direct nodemailer ${seconds(directMs)} s (${perSecond(directMs)} emails/s); ` +
          `floor = direct + claim and sent-mark statements ${seconds(floorMs)} s (${(directMs / floorMs).toFixed(2)}x of direct)`,
        ...job.report.map((line) => `[bench] round ${round}: ${line}`),
        `[bench] round ${round}: job / direct ${(directMs / job.elapsedMs).toFixed(2)}x; job time / floor time ${(job.elapsedMs / floorMs).toFixed(2)}`,
        `[bench] round ${round}: enqueueEmail (not in the ratios) ${seconds(enqueueMs)} s (${perSecond(enqueueMs)} emails/s); ` +
          `queueDepth at ${emailCount} pending ${depthMs.toFixed(0)} ms`,
      ].join('\n'),
    );
  }
  console.log(
    `[bench] all rounds: job / direct ${(totals.direct / totals.job).toFixed(2)}x (target >= 0.80x); ` +
      `floor / direct ${(totals.direct / totals.floor).toFixed(2)}x; job time / floor time ${(totals.job / totals.floor).toFixed(2)} (target <= 1.25 when the floor is below 0.80x)`,
  );
});
