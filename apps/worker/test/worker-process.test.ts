/**
 * End to end: the BUILT worker (`node dist/cli.js start`) as a real process against the
 * test server. The package's `test` script builds first (`tsup && vitest run`).
 */
import { getRefreshTokenModel, getUserModel } from '@app/identity';
import { getJobRunModel } from '@app/logging';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { enqueueEmail, getEmailQueueModel } from '@app/notifications';
import { defaultLeaseTimeoutMs } from '@app/scheduler-agenda';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSink } from '../src/smtp-sink.js';
import type { JobRow } from '../src/jobs-view.js';
import {
  baseEnvironment,
  getJson,
  runCli,
  spawnWorker,
  waitUntil,
  type WorkerProcess,
} from './support/worker-process.js';

const started: WorkerProcess[] = [];
const connections: Connection[] = [];
const extraSinks: SmtpSink[] = [];
let smtpSink: SmtpSink;

async function connect(databaseName: string): Promise<Connection> {
  const connection = await mongoose.createConnection(testMongoUri(), { dbName: databaseName }).asPromise();
  connections.push(connection);
  return connection;
}

async function launch(environment: Record<string, string>): Promise<WorkerProcess> {
  const worker = await spawnWorker(environment);
  started.push(worker);
  return worker;
}

async function jobRow(worker: WorkerProcess, jobName: string): Promise<JobRow | undefined> {
  const { body } = await getJson<{ jobs: JobRow[] }>(worker.url('/jobs'));
  return body.jobs.find((row) => row.job === jobName);
}

beforeAll(async () => {
  smtpSink = await startSmtpSink();
});

afterEach(async () => {
  for (const worker of started.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGKILL');
      await worker.waitForExit(10_000).catch(() => undefined);
    }
  }
  for (const sink of extraSinks.splice(0)) await sink.close();
});

afterAll(async () => {
  for (const connection of connections) await connection.close();
  await smtpSink.close();
});

describe('worker start', () => {
  it('becomes ready, runs every job against real data, answers the HTTP endpoints, exits 0 on SIGTERM', async () => {
    const databaseName = `${testDatabaseName()}_main`;
    const connection = await connect(databaseName);
    const now = Date.now();
    const dayMs = 86_400_000;
    const userId = new mongoose.Types.ObjectId();
    await getRefreshTokenModel(connection).insertMany([
      { userId, tokenHash: 'expired-long-ago', expiresAt: new Date(now - 30 * dayMs) },
      { userId, tokenHash: 'still-valid', expiresAt: new Date(now + dayMs) },
    ]);
    await getUserModel(connection).create({
      email: 'old-login@example.test',
      userName: 'old-login',
      passwordHash: 'not-a-real-hash',
      lastLoginAt: new Date(now - 200 * dayMs),
      lastLoginIp: '203.0.113.9',
    });
    await enqueueEmail(connection, { to: ['ops@example.test'], subject: 'e2e hello', text: 'body' });

    const worker = await launch({
      ...baseEnvironment(databaseName),
      JOBS_EMAIL_QUEUE_ENABLED: 'true',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtpSink.port),
      SMTP_FROM: 'worker@example.test',
      JOBS_EMAIL_QUEUE_PROCESSING_INTERVAL_SECONDS: '1',
      JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE: '2000ms',
      JOBS_LOG_CLEANUP_SCHEDULE: '2000ms',
      METRICS_REFRESH_INTERVAL_MS: '500',
    });
    const ready = await worker.waitForLog((line) => line.msg === 'worker ready');
    expect(ready.http).toBe(`http://127.0.0.1:${worker.port}`);

    expect((await getJson(worker.url('/healthz'))).status).toBe(200);
    const readiness = await getJson<{ status: string; checks: Record<string, boolean> }>(worker.url('/readyz'));
    expect(readiness).toEqual({ status: 200, body: { status: 'ready', checks: { database: true, scheduler: true } } });

    // Every job runs (first runs are due at start) and does its domain work.
    for (const jobName of ['RefreshTokenCleanupJob', 'IpAnonymizationJob', 'EmailQueueProcessJob', 'LogCleanupJob']) {
      await waitUntil(
        async () => ((await jobRow(worker, jobName))?.lastOutcome === 'succeeded' ? true : undefined),
        30_000,
        `${jobName} to succeed`,
      );
    }
    expect(await getRefreshTokenModel(connection).find({}, { tokenHash: 1 }).lean()).toMatchObject([
      { tokenHash: 'still-valid' },
    ]);
    const user = await getUserModel(connection).findOne({ email: 'old-login@example.test' }).lean();
    expect(user?.lastLoginIp).toBeNull();
    await waitUntil(() => Promise.resolve(smtpSink.received.length > 0 ? true : undefined), 20_000, 'the email');
    expect(smtpSink.received[0]?.to).toEqual(['ops@example.test']);
    expect(smtpSink.received[0]?.raw).toContain('Subject: e2e hello');
    expect(await getEmailQueueModel(connection).countDocuments({ status: 'sent' })).toBe(1);
    expect(await getUserModel(connection).countDocuments({ email: 'admin@localhost.localdomain' })).toBe(1);

    // Short interval: the refresh token job runs again on its own.
    await waitUntil(
      async () =>
        (await getJobRunModel(connection).countDocuments({ jobName: 'RefreshTokenCleanupJob', status: 'succeeded' })) >= 2
          ? true
          : undefined,
      20_000,
      'a second scheduled run',
    );

    // Every line of a run carries the job name and the run id.
    const runLines = worker.lines.filter((line) => line.msg === 'refresh token cleanup completed');
    expect(runLines.length).toBeGreaterThan(0);
    for (const line of runLines) {
      expect(line.jobName).toBe('RefreshTokenCleanupJob');
      expect(typeof line.runId).toBe('string');
    }

    const jobs = await getJson<{ jobs: JobRow[] }>(worker.url('/jobs'));
    expect(jobs.body.jobs.map((row) => row.job)).toEqual([
      'EmailQueueProcessJob',
      'IpAnonymizationJob',
      'LogCleanupJob',
      'RefreshTokenCleanupJob',
    ]);
    const metricsResponse = await fetch(worker.url('/metrics'));
    expect(metricsResponse.status).toBe(200);
    expect(await metricsResponse.text()).toMatch(/job_runs_total\{[^}]*job_name="RefreshTokenCleanupJob"[^}]*job_outcome="succeeded"/u);
    // The queue gauge is read in the background (every 500 ms here), not by the scrape.
    await waitUntil(
      async () => (/email_queue_depth\{[^}]*email_status="sent"[^}]*\} 1/u.test(await (await fetch(worker.url('/metrics'))).text()) ? true : undefined),
      10_000,
      'the sent email in email_queue_depth',
    );
    expect((await fetch(worker.url('/nope'))).status).toBe(404);

    // No secret in any log line.
    expect(worker.rawOutput()).not.toContain('E2e-Admin-Password-42');

    const stoppingAt = Date.now();
    worker.child.kill('SIGTERM');
    const exit = await worker.waitForExit(15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppingAt).toBeLessThan(5000 + 3000);
    expect(worker.lines.some((line) => line.msg === 'drained')).toBe(true);
  }, 120_000);

  it('after SIGKILL, a restart resumes the schedule from the persisted last execution', async () => {
    const databaseName = `${testDatabaseName()}_restart`;
    const connection = await connect(databaseName);
    const environment = {
      ...baseEnvironment(databaseName),
      JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE: '60000ms',
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      JOBS_LOG_CLEANUP_ENABLED: 'false',
    };
    const first = await launch(environment);
    await first.waitForLog((line) => line.msg === 'worker ready');
    const agendaJobs = connection.collection('agendaJobs');
    const execution = await waitUntil(
      async () => {
        const document = await agendaJobs.findOne({ name: 'RefreshTokenCleanupJob', lastExecution: { $ne: null } });
        return document === null ? undefined : { lastExecutedAt: (document.lastExecution as { executedAt: Date }).executedAt };
      },
      30_000,
      'the first execution record',
    );
    first.child.kill('SIGKILL');
    expect(await first.waitForExit(10_000)).toEqual({ code: null, signal: 'SIGKILL' });

    const second = await launch(environment);
    await second.waitForLog((line) => line.msg === 'worker ready');
    const row = await jobRow(second, 'RefreshTokenCleanupJob');
    const expectedNext = new Date(execution.lastExecutedAt.getTime() + 60_000).toISOString();
    expect(row?.nextOccurrenceAt).toBe(expectedNext);
    expect(row?.nextRunAt).toBe(expectedNext);
    expect(row?.lastExecutedAt).toBe(execution.lastExecutedAt.toISOString());
    // The restart did not run the job again: one run in the ledger.
    expect(await getJobRunModel(connection).countDocuments({ jobName: 'RefreshTokenCleanupJob' })).toBe(1);
    second.child.kill('SIGTERM');
    expect((await second.waitForExit(15_000)).code).toBe(0);

    // Master switch off: nothing scheduled, and the pending occurrence is cancelled (the
    // execution record stays on the job's document).
    expect(await agendaJobs.countDocuments({ name: 'RefreshTokenCleanupJob', nextRunAt: { $ne: null } })).toBe(1);
    const third = await launch({ ...environment, BACKGROUND_JOBS_ENABLED: 'false' });
    await third.waitForLog((line) => line.msg === 'worker ready');
    expect(await agendaJobs.countDocuments({ name: 'RefreshTokenCleanupJob', nextRunAt: { $ne: null } })).toBe(0);
    expect(await agendaJobs.findOne({ name: 'RefreshTokenCleanupJob' })).toMatchObject({
      data: null,
      lastExecution: { executedAt: execution.lastExecutedAt },
    });
    const disabledRow = await jobRow(third, 'RefreshTokenCleanupJob');
    expect(disabledRow).toMatchObject({ enabled: false, nextRunAt: null, lastOutcome: 'succeeded' });
    third.child.kill('SIGTERM');
    expect((await third.waitForExit(15_000)).code).toBe(0);
  }, 90_000);

  it('refuses a bad configuration before touching the database, naming every bad key', async () => {
    const worker = await launch({
      ...baseEnvironment(`${testDatabaseName()}_bad`),
      MONGODB_URI: 'mongodb://user:TopSecret@127.0.0.1:1/',
      HTTP_PORT: '70000',
      SHUTDOWN_DEADLINE_MS: 'later',
      SCHEDULER_LEASE_TIMEOUT: '1s',
      JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_HOURS: '0',
      JOBS_LOG_CLEANUP_RETENTON_DAYS: '3',
      JOBS_EMAIL_QUEUE_ENABLED: 'true',
    });
    const exit = await worker.waitForExit(15_000);
    expect(exit.code).toBe(2);
    const output = worker.rawOutput();
    for (const key of [
      'HTTP_PORT',
      'SHUTDOWN_DEADLINE_MS',
      'SCHEDULER_LEASE_TIMEOUT (scheduler.leaseTimeout): must be at least 3s',
      'JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_HOURS',
      'JOBS_LOG_CLEANUP_RETENTON_DAYS',
      'SMTP_HOST',
      'SMTP_FROM',
    ]) {
      expect(output).toContain(key);
    }
    expect(output).toMatch(/^Invalid worker configuration \(7 problems\)/u);
    expect(output).not.toContain('ADMIN_PASSWORD');
    expect(output).not.toContain('TopSecret');
  }, 30_000);

  it('gives the job runtime SCHEDULER_LEASE_TIMEOUT: a run is leased for that long', async () => {
    const databaseName = `${testDatabaseName()}_lease`;
    const connection = await connect(databaseName);
    const worker = await launch({
      ...baseEnvironment(databaseName),
      SCHEDULER_LEASE_TIMEOUT: '4s',
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      JOBS_LOG_CLEANUP_ENABLED: 'false',
    });
    await worker.waitForLog((line) => line.msg === 'worker ready');
    const run = await waitUntil(
      async () => (await getJobRunModel(connection).findOne({ jobName: 'RefreshTokenCleanupJob', status: 'succeeded' }).lean()) ?? undefined,
      30_000,
      'the first run',
    );
    // The claim leases the run for the timeout (a heartbeat during the run renews it from a
    // later instant, by milliseconds for this run): 4 s, not the runtime's default of 10 s.
    const leasedForMs = run.leaseExpiresAt.getTime() - run.startedAt.getTime();
    expect(leasedForMs).toBeGreaterThanOrEqual(4000);
    expect(leasedForMs).toBeLessThan(defaultLeaseTimeoutMs);
    worker.child.kill('SIGTERM');
    expect((await worker.waitForExit(15_000)).code).toBe(0);
  }, 60_000);

  it('refuses an unreadable ADMIN_PASSWORD_FILE before connecting', async () => {
    const { ADMIN_PASSWORD: _password, ...withoutPassword } = baseEnvironment(`${testDatabaseName()}_nofile`);
    const worker = await launch({ ...withoutPassword, ADMIN_PASSWORD_FILE: '/nonexistent/admin_password' });
    expect((await worker.waitForExit(15_000)).code).toBe(2);
    expect(worker.rawOutput()).toContain('ADMIN_PASSWORD_FILE');
    expect(worker.rawOutput()).toContain('ENOENT');
    expect(worker.lines.some((line) => line.msg === 'connected to the database')).toBe(false);
  }, 30_000);
});

describe('operator CLI', () => {
  it('lists, triggers, pauses and resumes jobs; unknown jobs name the known ones', async () => {
    const databaseName = `${testDatabaseName()}_cli`;
    const connection = await connect(databaseName);
    const environment = {
      ...baseEnvironment(databaseName),
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      JOBS_LOG_CLEANUP_ENABLED: 'false',
    };
    const worker = await launch(environment);
    await worker.waitForLog((line) => line.msg === 'worker ready');
    const runs = getJobRunModel(connection);
    await waitUntil(
      async () => ((await runs.countDocuments({ jobName: 'RefreshTokenCleanupJob', status: 'succeeded' })) === 1 ? true : undefined),
      30_000,
      'the first run',
    );

    const list = await runCli(environment, ['jobs', 'list']);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^JOB\s+ENABLED\s+SCHEDULE\s+LAST RUN\s+OUTCOME\s+DURATION\s+NEXT RUN\s+PAUSED$/u);
    expect(lines.find((line) => line.startsWith('RefreshTokenCleanupJob'))).toMatch(/yes\s+every 24 hours after the last start\s+.*succeeded.*no$/u);
    expect(lines.find((line) => line.startsWith('IpAnonymizationJob'))).toMatch(/^IpAnonymizationJob\s+no\s/u);

    const listed = await runCli(environment, ['jobs', 'list', '--json']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(listed.stdout) as JobRow[]).find((row) => row.job === 'RefreshTokenCleanupJob')).toMatchObject({
      enabled: true,
      lastOutcome: 'succeeded',
      paused: false,
    });

    const triggered = await runCli(environment, ['jobs', 'run', 'RefreshTokenCleanupJob', '--json']);
    expect(triggered).toMatchObject({ code: 0, stderr: '' });
    const scheduled = JSON.parse(triggered.stdout) as { job: string; action: string; cause: string; runAt: string };
    expect(scheduled).toMatchObject({ job: 'RefreshTokenCleanupJob', action: 'run', cause: 'trigger' });
    expect(Math.abs(new Date(scheduled.runAt).getTime() - Date.now())).toBeLessThan(10_000);
    await waitUntil(
      async () => ((await runs.countDocuments({ jobName: 'RefreshTokenCleanupJob', status: 'succeeded' })) === 2 ? true : undefined),
      20_000,
      'the triggered run',
    );

    const history = await runCli(environment, ['jobs', 'history', 'RefreshTokenCleanupJob', '--json']);
    expect(history).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(history.stdout) as unknown[]).length).toBe(2);

    expect((await runCli(environment, ['jobs', 'pause', 'RefreshTokenCleanupJob'])).code).toBe(0);
    expect((await jobRow(worker, 'RefreshTokenCleanupJob'))?.paused).toBe(true);
    expect((await runCli(environment, ['jobs', 'resume', 'RefreshTokenCleanupJob'])).code).toBe(0);
    expect((await jobRow(worker, 'RefreshTokenCleanupJob'))?.paused).toBe(false);

    const unknown = await runCli(environment, ['jobs', 'run', 'NoSuchJob']);
    expect(unknown).toMatchObject({ code: 3 });
    expect(unknown.stderr).toContain(
      'unknown job "NoSuchJob": known jobs are RefreshTokenCleanupJob, IpAnonymizationJob, EmailQueueProcessJob, LogCleanupJob',
    );
    expect(unknown.stderr).toContain('Usage: worker jobs run [options] <job>');
    const disabled = await runCli(environment, ['jobs', 'pause', 'LogCleanupJob']);
    expect(disabled.code).toBe(3);
    expect(disabled.stderr).toContain('disabled by configuration');
    const disabledHistory = await runCli(environment, ['jobs', 'history', 'LogCleanupJob']);
    expect(disabledHistory).toMatchObject({ code: 0, stderr: '' });
    expect(disabledHistory.stdout.trim().split('\n')).toHaveLength(1);
    expect((await runCli(environment, ['jobs', 'history', 'NoSuchJob'])).code).toBe(3);
    expect((await runCli(environment, ['jobs', 'history', 'RefreshTokenCleanupJob', '-n', '0'])).code).toBe(3);

    const config = await runCli({ ...environment, MONGODB_URI: testMongoUri().replace('mongodb://', 'mongodb://ops:Pw-123@') }, ['config']);
    expect(config).toMatchObject({ code: 0, stderr: '' });
    expect(config.stdout).toContain('"password": "***"');
    expect(config.stdout).not.toContain('E2e-Admin-Password-42');
    expect(config.stdout).not.toContain('Pw-123');

    worker.child.kill('SIGINT');
    expect((await worker.waitForExit(15_000)).code).toBe(0);
    expect(worker.lines.find((line) => line.msg === 'shutting down: draining')?.reason).toBe('SIGINT');
  }, 120_000);
});

describe('replicas', () => {
  it('three workers on one database run each occurrence exactly once, and competed: each ran occurrences and lost others', async () => {
    const databaseName = `${testDatabaseName()}_replicas`;
    const connection = await connect(databaseName);
    // Three jobs with short, different intervals: many due instants, each a race between the
    // replicas' scans (each replica scans at its own period, 500 ms ±10 %), sampled at phases
    // that differ from job to job, so that every replica wins some of them.
    const environment = {
      ...baseEnvironment(databaseName),
      JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE: '700ms',
      JOBS_IP_ANONYMIZATION_SCHEDULE: '900ms',
      JOBS_LOG_CLEANUP_SCHEDULE: '1100ms',
    };
    const replicas = await Promise.all([launch(environment), launch(environment), launch(environment)]);
    const readyLines = await Promise.all(replicas.map((replica) => replica.waitForLog((line) => line.msg === 'worker ready')));
    const instanceIds = readyLines.map((line) => String(line.instanceId));
    const readyAt = readyLines.map((line) => new Date(String(line.time)).getTime());
    const runs = getJobRunModel(connection);
    type Run = { jobName: string; occurrenceAt: Date; instanceId: string | null; startedAt: Date; status: string };
    const succeededRuns = async (): Promise<Run[]> => runs.find({ status: 'succeeded' }, { jobName: 1, occurrenceAt: 1, instanceId: 1, startedAt: 1, status: 1 }).lean<Run[]>();
    // Agenda's lock decides who takes a due occurrence before anyone claims it, so a replica that
    // loses the race never sees the occurrence (it is not a lost claim in the runtime's sense:
    // those need a lapsed lock). What the replicas leave is who ran what: a replica lost an
    // occurrence when another one ran it while this one was up and scanning (after its
    // `worker ready`, before it began to shut down).
    const competition = (succeeded: readonly Run[], until: readonly number[]) =>
      instanceIds.map((instanceId, index) => ({
        ran: succeeded.filter((run) => run.instanceId === instanceId).length,
        lost: succeeded.filter((run) => {
          const startedAt = run.startedAt.getTime();
          return run.instanceId !== instanceId && startedAt >= (readyAt[index] ?? Infinity) && startedAt <= (until[index] ?? 0);
        }).length,
      }));
    const waitedFrom = Date.now();
    await waitUntil(
      async () => {
        const succeeded = await succeededRuns();
        const now = Date.now();
        const enough = succeeded.filter((run) => run.jobName === 'RefreshTokenCleanupJob').length >= 5;
        const competed = competition(succeeded, [now, now, now]).every((replica) => replica.ran >= 1 && replica.lost >= 1);
        return enough && competed ? true : undefined;
      },
      60_000,
      'five refresh token runs and every replica to run and to lose an occurrence',
    );
    const competedAfterMs = Date.now() - waitedFrom;
    await Promise.all(
      replicas.map(async (replica) => {
        replica.child.kill('SIGTERM');
        expect((await replica.waitForExit(15_000)).code).toBe(0);
      }),
    );
    const perOccurrence = await runs.aggregate<{ _id: { jobName: string; occurrenceAt: Date }; succeeded: number }>([
      { $match: { status: 'succeeded' } },
      { $group: { _id: { jobName: '$jobName', occurrenceAt: '$occurrenceAt' }, succeeded: { $sum: 1 } } },
    ]);
    expect(perOccurrence.length).toBeGreaterThanOrEqual(5);
    expect(perOccurrence.filter((group) => group.succeeded !== 1)).toEqual([]);
    // Nothing but succeeded runs, each by one of the three replicas.
    expect(await runs.countDocuments({ status: { $ne: 'succeeded' } })).toBe(0);
    const succeeded = await succeededRuns();
    expect(succeeded.filter((run) => !instanceIds.includes(run.instanceId ?? ''))).toEqual([]);
    // The replicas competed, read again from the final ledger and each one's own log: every
    // replica ran occurrences (its own `job run succeeded` lines agree with the ledger), and
    // lost occurrences to the others while it was up.
    const drainingAt = replicas.map((replica) => {
      const line = replica.lines.find((candidate) => candidate.msg === 'shutting down: draining');
      return line === undefined ? 0 : new Date(String(line.time)).getTime();
    });
    const final = competition(succeeded, drainingAt);
    console.info(`replicas competed within ${competedAfterMs} ms: ${JSON.stringify(final)}`);
    for (const [index, replica] of replicas.entries()) {
      expect(final[index]?.ran).toBeGreaterThanOrEqual(1);
      expect(final[index]?.lost).toBeGreaterThanOrEqual(1);
      expect(replica.lines.filter((line) => line.msg === 'job run succeeded').length).toBe(final[index]?.ran);
    }
    // One admin user although three seeders ran at once.
    expect(await getUserModel(connection).countDocuments({ email: 'admin@localhost.localdomain' })).toBe(1);
    // One Agenda document per job, whatever the number of replicas that scheduled it.
    const documents = await connection.collection('agendaJobs').aggregate<{ count: number }>([
      { $group: { _id: '$name', count: { $sum: 1 } } },
    ]).toArray();
    expect(documents.every((group) => group.count === 1)).toBe(true);
  }, 120_000);
});

describe('email queue across a worker death', () => {
  it('a worker SIGKILLed while sending: the emails it had claimed are sent by another worker soon after, not after the old 5-minute lease', async () => {
    const databaseName = `${testDatabaseName()}_killed_sender`;
    const connection = await connect(databaseName);
    const queue = getEmailQueueModel(connection);
    const leaseMs = 6000;
    const schedulerLeaseTimeoutMs = 4000;
    // A's SMTP server receives every message and never answers it: A dies mid-send. B's accepts.
    const withholding = await startSmtpSink({ withholdReplies: true });
    const accepting = await startSmtpSink();
    extraSinks.push(withholding, accepting);
    // 8 emails, batches of 3: A sends the first batch (3 sends in flight, concurrency 5) and has
    // claimed the second ahead; 2 stay pending (the third batch is claimed after the first is sent).
    const enqueued: string[] = [];
    for (let index = 0; index < 8; index += 1) {
      const { id } = await enqueueEmail(connection, { to: [`user${index}@example.test`], subject: `killed sender ${index}`, text: 'body' });
      enqueued.push(id);
    }
    const environment = {
      ...baseEnvironment(databaseName),
      JOBS_REFRESH_TOKEN_CLEANUP_ENABLED: 'false',
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      JOBS_LOG_CLEANUP_ENABLED: 'false',
      JOBS_EMAIL_QUEUE_ENABLED: 'true',
      JOBS_EMAIL_QUEUE_SCHEDULE: '1s',
      JOBS_EMAIL_QUEUE_BATCH_SIZE: '3',
      JOBS_EMAIL_QUEUE_SENDING_LEASE_SECONDS: String(leaseMs / 1000),
      // Shorter than the claim lease (default 10 s): B's first run takes A's run over before A's
      // claims lapse, so the claim lease, not the run takeover, decides when they are sent.
      SCHEDULER_LEASE_TIMEOUT: `${schedulerLeaseTimeoutMs / 1000}s`,
      SMTP_HOST: '127.0.0.1',
      SMTP_FROM: 'worker@example.test',
    };
    type Claim = { _id: mongoose.Types.ObjectId; status: string; claimToken?: string; leaseExpiresAt?: Date; attempts: number };
    const readEntries = async (): Promise<Claim[]> =>
      queue.find({}, { status: 1, claimToken: 1, leaseExpiresAt: 1, attempts: 1 }).lean<Claim[]>();

    const workerA = await launch({ ...environment, SMTP_PORT: String(withholding.port) });
    // A has claimed two batches and the first one's three messages reached its SMTP server.
    const claimedByA = await waitUntil(
      async () => {
        const sending = (await readEntries()).filter((entry) => entry.status === 'sending');
        const tokens = new Set(sending.map((entry) => entry.claimToken));
        return sending.length === 6 && tokens.size === 2 && new Set(withholding.received.map((email) => email.header('X-Email-Queue-Id'))).size === 3
          ? sending
          : undefined;
      },
      30_000,
      'A to claim two batches and to have three messages in flight',
    );
    const tokensOfA = new Set(claimedByA.map((entry) => entry.claimToken));
    const idsOfA = new Set(claimedByA.map((entry) => entry._id.toHexString()));
    const inFlight = new Set(withholding.received.map((email) => email.header('X-Email-Queue-Id')));
    expect([...inFlight].every((id) => idsOfA.has(id ?? ''))).toBe(true);
    // A is alive and renews its claims: wait for one renewal, so that the lapse below counts
    // from a renewal, not from the claim.
    const claimedLease = new Map(claimedByA.map((entry) => [entry._id.toHexString(), entry.leaseExpiresAt?.getTime() ?? 0]));
    await waitUntil(
      async () =>
        (await readEntries()).some((entry) => (entry.leaseExpiresAt?.getTime() ?? 0) > (claimedLease.get(entry._id.toHexString()) ?? Infinity))
          ? true
          : undefined,
      10_000,
      'a renewal of the claims of A',
    );

    const killedAt = Date.now();
    workerA.child.kill('SIGKILL');
    expect(await workerA.waitForExit(10_000)).toEqual({ code: null, signal: 'SIGKILL' });
    // The last lease A wrote on each of its entries (a renewal sent just before the kill may land
    // after it), watched until the entry leaves A's claim.
    const lastLeaseOfA = new Map<string, number>();
    let watching = true;
    const watchLeases = (async () => {
      while (watching) {
        for (const entry of await readEntries()) {
          if (entry.status === 'sending' && tokensOfA.has(entry.claimToken)) {
            lastLeaseOfA.set(entry._id.toHexString(), entry.leaseExpiresAt?.getTime() ?? 0);
          }
        }
        await new Promise((resolveSleep) => setTimeout(resolveSleep, 100));
      }
    })();

    const workerB = await launch({ ...environment, SMTP_PORT: String(accepting.port) });
    try {
      await waitUntil(
        () => Promise.resolve(enqueued.every((id) => accepting.received.some((email) => email.header('X-Email-Queue-Id') === id)) ? true : undefined),
        30_000,
        'every email at the SMTP server of B',
      );
    } finally {
      watching = false;
      await watchLeases;
    }
    await waitUntil(
      async () => ((await queue.countDocuments({ status: 'sent' })) === enqueued.length ? true : undefined),
      10_000,
      'every entry marked sent',
    );

    // Each email reached B's server once; the withheld ones carry the Message-ID A sent them with.
    expect(accepting.received.map((email) => email.header('X-Email-Queue-Id')).sort()).toEqual([...enqueued].sort());
    expect(withholding.received).toHaveLength(3);
    for (const email of withholding.received) {
      const queueId = email.header('X-Email-Queue-Id');
      const resent = accepting.received.find((other) => other.header('X-Email-Queue-Id') === queueId);
      expect(resent?.header('Message-ID')).toBe(email.header('Message-ID'));
    }
    // A's claims were sent after they lapsed (one lease after A's last renewal, which was before
    // the kill), and soon after: the run takeover, the lease and a few scans, not 300 s.
    const delays = [...idsOfA].map((id) => {
      const receivedAt = accepting.received.find((email) => email.header('X-Email-Queue-Id') === id)?.receivedAt ?? Infinity;
      const lapsedAt = lastLeaseOfA.get(id) ?? Infinity;
      expect(lapsedAt).toBeLessThanOrEqual(killedAt + leaseMs);
      expect(receivedAt).toBeGreaterThanOrEqual(lapsedAt);
      return { afterKillMs: receivedAt - killedAt, afterLapseMs: receivedAt - lapsedAt };
    });
    const worstAfterKillMs = Math.max(...delays.map((delay) => delay.afterKillMs));
    console.info(
      `claims of the killed worker sent ${Math.min(...delays.map((delay) => delay.afterKillMs))}-${worstAfterKillMs} ms after the kill, ` +
        `${Math.min(...delays.map((delay) => delay.afterLapseMs))}-${Math.max(...delays.map((delay) => delay.afterLapseMs))} ms after their lease lapsed`,
    );
    expect(worstAfterKillMs).toBeLessThan(leaseMs + schedulerLeaseTimeoutMs + 5000);
    // Attempts: A's claims were attempt 1, B's delivery attempt 2; the pending ones B sent first.
    const entries = await readEntries();
    expect(entries.every((entry) => entry.status === 'sent')).toBe(true);
    for (const entry of entries) {
      expect(entry.attempts, entry._id.toHexString()).toBe(idsOfA.has(entry._id.toHexString()) ? 2 : 1);
    }
    // B took the killed worker's run over (its run lease lapsed) before sending anything.
    expect(workerB.lines.some((line) => line.msg === 'took over an occurrence whose worker stopped renewing its lease')).toBe(true);
  }, 90_000);
});
