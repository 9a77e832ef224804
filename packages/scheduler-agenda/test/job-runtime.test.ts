/** The runtime in-process against the real server with the Mongo ledger: operator controls. */
import { MongooseInstanceRegistry, MongooseJobRunLedger } from '@app/logging';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import type {
  InstanceIdentity,
  JobContext,
  JobResultSummary,
  JobRun,
  JobRunLedger,
  OccurrenceCause,
  RecurringJob,
  ScheduledOccurrence,
} from '@app/shared-jobs';
import { MongoClient, type Db } from 'mongodb';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActionRefusedError,
  createJobRuntime,
  resolveRuntimeSettings,
  UnknownJobError,
  type JobRuntime,
  type JobRuntimeOptions,
  type RunFinishedEvent,
} from '../src/index.js';

let clients: MongoClient[] = [];
let connection: Connection;
let ledger: MongooseJobRunLedger;
let instances: MongooseInstanceRegistry;

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));
const hour = 3_600_000;

async function newDatabase(): Promise<Db> {
  const client = new MongoClient(testMongoUri());
  await client.connect();
  clients.push(client);
  return client.db(testDatabaseName());
}

async function waitUntil(
  description: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
  explain: () => Promise<string> = () => Promise.resolve(''),
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}${await explain()}`);
    await sleep(50);
  }
}

/** The job's Agenda document and ledger runs, for a timeout's message. */
async function jobState(jobName: string, events: readonly RunFinishedEvent[]): Promise<string> {
  const database = await newDatabase();
  const document = await database.collection('agendaJobs').findOne({ name: jobName });
  const { runs } = await ledger.listRuns({ jobName, limit: 10 });
  return `\ndocument: ${JSON.stringify(document)}\nruns: ${JSON.stringify(runs)}\nevents: ${JSON.stringify(events)}`;
}

function countingJob(
  name: string,
  counter: { runs: number },
  everyMs = hour,
  extra: Partial<RecurringJob> = {},
): RecurringJob<JobResultSummary> {
  return {
    name,
    schedule: { kind: 'interval', everyMs },
    run: () => {
      counter.runs += 1;
      return Promise.resolve({ runs: counter.runs });
    },
    ...extra,
  };
}

async function runtimeWith(
  jobs: RecurringJob<JobResultSummary>[],
  events: RunFinishedEvent[] = [],
  collectionName?: string,
  extra: Partial<Pick<JobRuntimeOptions, 'instanceId' | 'onLockAttempt' | 'ledger'>> = {},
): Promise<JobRuntime> {
  return createJobRuntime({
    database: await newDatabase(),
    ledger,
    instances,
    version: '9.9.9-test',
    jobs,
    processEveryMs: 100,
    ...(collectionName === undefined ? {} : { collectionName }),
    onRunFinished: (event) => events.push(event),
    ...extra,
  });
}

beforeAll(async () => {
  connection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
  ledger = new MongooseJobRunLedger(connection);
  instances = new MongooseInstanceRegistry(connection);
  await ledger.ensureIndexes();
  await instances.ensureIndexes();
});

afterAll(async () => {
  await connection.close();
  await Promise.all(clients.map((client) => client.close()));
  clients = [];
});

describe('createJobRuntime', () => {
  it('lists jobs with timing, last run, next run and paused flag, and pages the history of one job', async () => {
    const counter = { runs: 0 };
    const events: RunFinishedEvent[] = [];
    const runtime = await runtimeWith([countingJob('listed', counter)], events);
    await runtime.start();
    await waitUntil('the first run', () => events.some((event) => event.outcome === 'succeeded'));
    const [overview] = await runtime.listJobs();
    expect(overview).toMatchObject({
      name: 'listed',
      timing: { schedule: { kind: 'interval', everyMs: hour }, misfire: { kind: 'once' } },
      paused: false,
      running: [],
      lastRun: { status: 'succeeded', attempt: 1, cause: 'schedule', instanceId: runtime.identity.instanceId },
    });
    expect(overview!.next!.runAt.getTime()).toBe(overview!.lastRun!.startedAt.getTime() + hour);
    expect(overview!.lastExecutedAt).toEqual(overview!.lastRun!.startedAt);
    const page = await runtime.history({ jobName: 'listed', limit: 5 });
    expect(page.runs.map((run) => run.status)).toEqual(['succeeded']);
    expect(page.nextCursor).toBeNull();
    expect(await runtime.getRun(page.runs[0]!.runId)).toEqual(page.runs[0]);
    await expect(runtime.history({ jobName: 'nope', limit: 5 })).rejects.toThrow(UnknownJobError);
    await expect(runtime.history({ jobName: 'listed', limit: 0 })).rejects.toThrow(/limit/u);
    await expect(runtime.start()).rejects.toThrow(/cannot start/u);
    expect(runtime.jobNames).toEqual(['listed']);
    expect(await runtime.drain(1000)).toEqual({ completedBeforeDeadline: true, interrupted: 0 });
  });

  it.each([1, 2, 3])(
    'triggers a job now as a new occurrence that runs once across two replicas (round %i)',
    async (round) => {
      const jobName = `triggered-${round}`;
      const counter = { runs: 0 };
      const events: RunFinishedEvent[] = [];
      // Each replica's scans for the job's document: the locks it got, the attempts refused.
      const scans = [0, 1].map(() => ({ locked: 0, refused: 0 }));
      /** Per run: the replica that ran it, and how often the other one was refused the lock while it ran. */
      const ran: { replica: number; otherRefused: number }[] = [];
      // Which replica wins a lock is up to the phase of its scans; what is certain is that the
      // other one competes for the due occurrence. Each run holds until the other replica's
      // scan was refused twice (the second attempt began after this run started: attempts of
      // one name never overlap), so the loser's attempts on the due, locked document are seen.
      const competingJob = (replica: number): RecurringJob<JobResultSummary> => ({
        name: jobName,
        schedule: { kind: 'interval', everyMs: hour },
        run: async () => {
          counter.runs += 1;
          const other = scans[1 - replica]!;
          const refusedBefore = other.refused;
          await waitUntil(`replica ${1 - replica} to be refused the lock held by replica ${replica}`, () => other.refused >= refusedBefore + 2);
          ran.push({ replica, otherRefused: other.refused - refusedBefore });
          return { runs: counter.runs };
        },
      });
      const onLockAttempt = (replica: number) => (name: string, locked: boolean) => {
        if (name === jobName) scans[replica]![locked ? 'locked' : 'refused'] += 1;
      };
      const replicas = [
        await runtimeWith([competingJob(0)], events, undefined, { onLockAttempt: onLockAttempt(0) }),
        await runtimeWith([competingJob(1)], events, undefined, { onLockAttempt: onLockAttempt(1) }),
      ];
      const explain = () => jobState(jobName, events);
      await Promise.all(replicas.map((replica) => replica.start()));
      await waitUntil('the first run', () => events.some((event) => event.outcome === 'succeeded'));
      const trigger = await replicas[round % 2]!.triggerNow(jobName, 'cli:tester');
      expect(trigger).toMatchObject({ cause: 'trigger', requestedBy: 'cli:tester', attempt: 1 });
      // A second run-now before it ran is the same request, not a second run.
      expect((await replicas[(round + 1) % 2]!.triggerNow(jobName, 'cli:other')).occurrenceAt).toEqual(trigger.occurrenceAt);
      await waitUntil(
        'the triggered run',
        () => events.some((event) => event.outcome === 'succeeded' && event.occurrenceAt.getTime() === trigger.occurrenceAt.getTime()),
        15_000,
        explain,
      );
      const runs = await ledger.listOccurrenceRuns(jobName, trigger.occurrenceAt);
      expect(runs.map((run) => [run.status, run.cause, run.requestedBy])).toEqual([['succeeded', 'trigger', 'cli:tester']]);
      const nextAfterTrigger = runs[0]!.startedAt.getTime() + hour;
      await waitUntil(
        'the next occurrence after the triggered run',
        async () => (await replicas[1]!.scheduler.getPending(jobName))?.occurrenceAt.getTime() === nextAfterTrigger,
        15_000,
        explain,
      );
      expect(counter.runs).toBe(2);
      // Both replicas competed for each occurrence: one locked and ran it (its run in the ledger
      // is attributed to it), the other was refused the lock while it ran. No claim was lost:
      // the lock alone kept the second replica out.
      expect(ran).toHaveLength(2);
      for (const { otherRefused } of ran) expect(otherRefused).toBeGreaterThanOrEqual(2);
      for (const replica of [0, 1]) {
        expect(scans[replica]!.locked).toBe(ran.filter((entry) => entry.replica === replica).length);
      }
      expect(runs[0]!.instanceId).toBe(replicas[ran[1]!.replica]!.identity.instanceId);
      expect(events.filter((event) => event.outcome === 'lost-claim')).toEqual([]);
      await Promise.all(replicas.map((replica) => replica.stop()));
    },
  );

  it('keeps an occurrence triggered during a run and records the run with it as next', async () => {
    const starts: Date[] = [];
    let runtime: JobRuntime | null = null;
    const state: { trigger?: ScheduledOccurrence } = {};
    const job: RecurringJob<JobResultSummary> = {
      name: 'trigger-during-run',
      schedule: { kind: 'interval', everyMs: hour },
      run: async (context) => {
        starts.push(context.occurrenceAt);
        if (starts.length === 1) state.trigger = await runtime!.triggerNow('trigger-during-run', 'console:ops');
        return {};
      },
    };
    runtime = await runtimeWith([job]);
    await runtime.start();
    await waitUntil('the triggered run', () => starts.length === 2);
    const trigger = state.trigger!;
    expect(starts[1]).toEqual(trigger.occurrenceAt);
    await waitUntil(
      'the triggered run recorded',
      async () =>
        (await runtime.scheduler.getLastExecution('trigger-during-run'))?.lastOccurrenceAt.getTime() === trigger.occurrenceAt.getTime(),
    );
    const [firstRun] = await ledger.listOccurrenceRuns('trigger-during-run', starts[0]!);
    expect(firstRun?.status).toBe('succeeded');
    const [triggeredRun] = await ledger.listOccurrenceRuns('trigger-during-run', trigger.occurrenceAt);
    await waitUntil(
      'the next occurrence after the triggered run',
      async () =>
        (await runtime.scheduler.getPending('trigger-during-run'))?.occurrenceAt.getTime() ===
        triggeredRun!.startedAt.getTime() + hour,
    );
    await runtime.stop();
  });

  it('reruns a failed occurrence once, attributed to who asked, and resumes the chain', async () => {
    let failing = true;
    const attempts: { occurrenceAt: Date; cause: string }[] = [];
    const job: RecurringJob<JobResultSummary> = {
      name: 'rerunnable',
      schedule: { kind: 'interval', everyMs: hour },
      run: (context: JobContext) => {
        attempts.push({ occurrenceAt: context.occurrenceAt, cause: context.cause });
        return failing ? Promise.reject(new Error('upstream down')) : Promise.resolve({ repaired: true });
      },
    };
    const events: RunFinishedEvent[] = [];
    const runtime = await runtimeWith([job], events);
    await runtime.start();
    await waitUntil('the failed run', () => events.some((event) => event.outcome === 'failed'));
    const failedAt = attempts[0]!.occurrenceAt;
    const pendingBefore = await runtime.scheduler.getPending('rerunnable');
    expect(pendingBefore?.occurrenceAt.getTime()).toBeGreaterThan(failedAt.getTime());
    await expect(runtime.rerun('rerunnable', new Date(0), 'cli:ops')).rejects.toThrow(/no run of the occurrence/u);
    failing = false;
    const rerun = await runtime.rerun('rerunnable', failedAt, 'console:alice');
    expect(rerun).toMatchObject({ occurrenceAt: failedAt, attempt: 2, cause: 'rerun', requestedBy: 'console:alice' });
    await expect(runtime.rerun('rerunnable', failedAt, 'console:bob')).rejects.toThrow(ActionRefusedError);
    await expect(runtime.triggerNow('rerunnable', 'console:bob')).rejects.toThrow(/rerun .* pending/u);
    await waitUntil('the rerun', () => events.filter((event) => event.outcome === 'succeeded').length === 1);
    const runs = await ledger.listOccurrenceRuns('rerunnable', failedAt);
    expect(runs.map((run) => [run.attempt, run.status, run.cause, run.requestedBy])).toEqual([
      [1, 'failed', 'schedule', null],
      [2, 'succeeded', 'rerun', 'console:alice'],
    ]);
    await waitUntil('the chain resumed', async () => {
      const pending = await runtime.scheduler.getPending('rerunnable');
      return pending?.cause === 'schedule' && pending.occurrenceAt.getTime() === pendingBefore!.occurrenceAt.getTime();
    });
    await expect(runtime.rerun('rerunnable', failedAt, 'cli:ops')).rejects.toThrow(/succeeded: there is nothing to rerun/u);
    await runtime.stop();
  });

  it('acts on a job that has no document yet, and refuses reruns that would collide', async () => {
    const counter = { runs: 0 };
    const runtime = await runtimeWith([countingJob('never-scheduled', counter)], [], 'agendaJobs_fresh');
    const [before] = await runtime.listJobs();
    expect(before).toMatchObject({ name: 'never-scheduled', next: null, lastRun: null, paused: false });
    await runtime.resume('never-scheduled', 'cli:ops');
    expect((await runtime.listJobs())[0]?.next).not.toBeNull();
    // Cancelled (its document stays, with nothing pending): pausing and resuming bring the chain back.
    await runtime.scheduler.cancel('never-scheduled');
    await runtime.pause('never-scheduled', 'cli:ops');
    expect((await runtime.listJobs())[0]).toMatchObject({ paused: true });
    expect((await runtime.listJobs())[0]?.next).not.toBeNull();
    await runtime.scheduler.cancel('never-scheduled');
    await runtime.resume('never-scheduled', 'cli:ops');
    expect((await runtime.listJobs())[0]).toMatchObject({ paused: false });
    expect((await runtime.listJobs())[0]?.next).not.toBeNull();
    // A failed occurrence whose retry is pending, and one still running, cannot be rerun.
    const occurrenceAt = new Date(Date.UTC(2026, 0, 1));
    const claim = async (attempt: number, status: 'failed' | 'running') => {
      const claimed = await ledger.claim({
        jobName: 'never-scheduled',
        occurrenceAt,
        attempt,
        cause: 'schedule',
        requestedBy: null,
        instance: { hostName: 'host', processId: 1 },
        instanceId: 'instance',
        startedAt: occurrenceAt,
        leaseExpiresAt: new Date(Date.now() + hour),
      });
      if (claimed.claimed && status === 'failed') {
        await ledger.finish(claimed.run.runId, { status, finishedAt: occurrenceAt, durationMs: 0 });
      }
    };
    await claim(1, 'failed');
    await runtime.scheduler.schedule({ jobName: 'never-scheduled', occurrenceAt, runAt: new Date(), attempt: 2, cause: 'retry' });
    await expect(runtime.rerun('never-scheduled', occurrenceAt, 'cli:ops')).rejects.toThrow(/pending again already/u);
    await claim(2, 'running');
    await expect(runtime.rerun('never-scheduled', occurrenceAt, 'cli:ops')).rejects.toThrow(/running now/u);
    await runtime.stop();
    const empty = await runtimeWith([], [], 'agendaJobs_empty');
    await expect(empty.triggerNow('anything', 'cli:ops')).rejects.toThrow(/registered jobs are \(none\)/u);
    await empty.stop();
  });

  it("is ready once Agenda's constructor-time index exists, without being started", async () => {
    const runtime = await runtimeWith([countingJob('ready-check', { runs: 0 })], [], 'agendaJobs_ready');
    await runtime.ready();
    const indexes = await (await newDatabase()).collection('agendaJobs_ready').indexes();
    expect(indexes.map((index) => index.name)).toContain('findAndLockNextJobIndex');
    await runtime.stop();
  });

  it('pauses persistently across replicas and restarts, and resumes', async () => {
    const counter = { runs: 0 };
    const witness = { runs: 0 };
    const jobs = () => [countingJob('pausable', counter, 300), countingJob('pause-witness', witness, 200)];
    const first = await runtimeWith(jobs());
    await first.pause('pausable', 'cli:ops');
    await first.start();
    const restarted = await runtimeWith(jobs());
    await restarted.start();
    // The witness, due as often, ran three times: the paused job had its chances.
    await waitUntil('three runs of the witness', () => witness.runs >= 3);
    expect(counter.runs).toBe(0);
    expect((await restarted.listJobs()).find((job) => job.name === 'pausable')?.paused).toBe(true);
    await restarted.resume('pausable', 'cli:ops');
    await waitUntil('a run after resume', () => counter.runs >= 1);
    expect((await first.listJobs()).find((job) => job.name === 'pausable')?.paused).toBe(false);
    await Promise.all([first.stop(), restarted.stop()]);
    await expect(first.triggerNow('unknown', 'cli:ops')).rejects.toThrow(/unknown job/u);
  });

  it('rejects bad configuration with errors naming the field', async () => {
    const counter = { runs: 0 };
    await expect(runtimeWith([countingJob('twice', counter), countingJob('twice', counter)])).rejects.toThrow(
      /"twice" is registered twice/u,
    );
    await expect(
      runtimeWith([countingJob('bad-retry', counter, hour, { retry: { maxAttempts: 0, initialDelayMs: 1, maxDelayMs: 1 } })]),
    ).rejects.toThrow(/maxAttempts/u);
    await expect(runtimeWith([countingJob('bad-stall', counter, hour, { stallTimeoutMs: -1 })])).rejects.toThrow(
      /stallTimeoutMs of job "bad-stall"/u,
    );
    await expect(runtimeWith([countingJob('bad-interval', counter, 0)])).rejects.toThrow(/bad-interval/u);
    await expect(
      runtimeWith([countingJob('bad-cron', counter, hour, { schedule: { kind: 'cron', expression: '61 * * * *', timeZone: 'UTC' } })]),
    ).rejects.toThrow(/bad-cron.*minute/u);
    expect(() => resolveRuntimeSettings({ processEveryMs: 0 })).toThrow(/processEveryMs/u);
    expect(() => resolveRuntimeSettings({ collectionName: ' ' })).toThrow(/collectionName/u);
    expect(() => resolveRuntimeSettings({ leaseTimeoutMs: 3000, heartbeatIntervalMs: 2000 })).toThrow(/heartbeatIntervalMs/u);
    const runtime = await runtimeWith([countingJob('never-started', counter)]);
    await expect(runtime.drain(-1)).rejects.toThrow(/deadlineMs/u);
    expect(await runtime.drain(0)).toEqual({ completedBeforeDeadline: true, interrupted: 0 });
  });

  it('reschedules a job whose pending document holds unreadable data, keeping its paused flag', async () => {
    const counter = { runs: 0 };
    const witness = { runs: 0 };
    const database = await newDatabase();
    const corrupted = (name: string, data: unknown, disabled: boolean) => ({
      name,
      data,
      nextRunAt: new Date(Date.now() - 1000),
      lockedAt: null,
      disabled,
      priority: 0,
      type: 'normal',
    });
    await database.collection('agendaJobs').insertMany([
      corrupted('corrupted', { attempt: 'x' }, false),
      corrupted('corrupted-paused', 'not an occurrence', true),
    ]);
    const pausedCounter = { runs: 0 };
    const runtime = await runtimeWith([
      countingJob('corrupted', counter),
      countingJob('corrupted-paused', pausedCounter),
      countingJob('corrupted-witness', witness, 200),
    ]);
    await runtime.start();
    await waitUntil('a run of the rescheduled job', () => counter.runs === 1);
    await waitUntil('three runs of the witness', () => witness.runs >= 3);
    expect(pausedCounter.runs).toBe(0);
    const overview = (await runtime.listJobs()).find((job) => job.name === 'corrupted-paused');
    expect(overview).toMatchObject({ paused: true });
    expect(overview!.next).not.toBeNull();
    await runtime.resume('corrupted-paused', 'cli:ops');
    await waitUntil('a run after resume', () => pausedCounter.runs === 1);
    expect(await database.collection('agendaJobs').countDocuments({ name: { $in: ['corrupted', 'corrupted-paused'] } })).toBe(2);
    await runtime.stop();
  });

  it('drains: a run past the deadline is aborted through its signal, marked interrupted and unlocked', async () => {
    let started = false;
    const database = await newDatabase();
    const longJob: RecurringJob<JobResultSummary> = {
      name: 'long-in-process',
      schedule: { kind: 'interval', everyMs: hour },
      run: async (context) => {
        started = true;
        while (!context.signal.aborted) {
          await context.reportProgress({ completed: 1, total: 2, message: 'halfway' });
          await sleep(50);
        }
        throw context.signal.reason;
      },
    };
    const lockAttempts: string[] = [];
    const runtime = await runtimeWith([longJob], [], undefined, {
      instanceId: 'given-instance-id',
      onLockAttempt: (jobName) => lockAttempts.push(jobName),
    });
    expect(runtime.identity.instanceId).toBe('given-instance-id');
    await runtime.start();
    await waitUntil('the run to start', () => started);
    expect(runtime.activeRuns).toBe(1);
    expect(lockAttempts).toContain('long-in-process');
    await waitUntil('the progress and the run in flight to show', async () => {
      const [overview] = await runtime.listJobs();
      const records = await runtime.listInstances();
      const mine = records.find((record) => record.instanceId === runtime.identity.instanceId);
      return (
        overview?.running[0]?.progress?.message === 'halfway' &&
        mine?.runsInFlight.some((run) => run.jobName === 'long-in-process') === true
      );
    });
    const locked = await database.collection('agendaJobs').findOne({ name: 'long-in-process' });
    expect(locked?.lockedAt).toBeInstanceOf(Date);
    expect(await runtime.drain(100)).toEqual({ completedBeforeDeadline: false, interrupted: 1 });
    const { runs } = await runtime.history({ jobName: 'long-in-process', limit: 1 });
    expect(runs[0]).toMatchObject({ status: 'interrupted', error: { name: 'RunInterruptedError' } });
    const document = await database.collection('agendaJobs').findOne({ name: 'long-in-process' });
    expect(document?.lockedAt).toBeNull();
    expect(runtime.activeRuns).toBe(0);
    const stopped = (await runtime.listInstances()).find((record) => record.instanceId === runtime.identity.instanceId);
    expect(stopped).toMatchObject({ version: '9.9.9-test', runsInFlight: [] });
    expect(stopped?.stoppedAt).toBeInstanceOf(Date);
  });
});

/**
 * The claim decisions of an occurrence whose attempt is in the ledger already, on the real
 * server (Agenda's lock and hand-over, the Mongo ledger): the state a crashed worker leaves
 * is written first, then a runtime is started on it.
 */
describe('createJobRuntime: an occurrence whose attempt is in the ledger already', () => {
  /** The worker that crashed (its runs stay in the ledger). */
  const crashed: InstanceIdentity = { hostName: 'crashed-host', processId: 4242 };

  /** A finished run of the crashed worker, as the ledger holds it. */
  async function finishedRun(
    jobName: string,
    occurrenceAt: Date,
    attempt: number,
    cause: OccurrenceCause,
    status: 'succeeded' | 'failed',
    startedAt: Date,
  ): Promise<JobRun> {
    const claimed = await ledger.claim({
      jobName,
      occurrenceAt,
      attempt,
      cause,
      requestedBy: null,
      instance: crashed,
      instanceId: 'crashed-instance',
      startedAt,
      leaseExpiresAt: new Date(startedAt.getTime() + 10_000),
    });
    if (!claimed.claimed) throw new Error(`attempt ${attempt} of ${jobName} exists already`);
    const finishedAt = new Date(startedAt.getTime() + 100);
    await ledger.finish(claimed.run.runId, {
      status,
      finishedAt,
      durationMs: 100,
      ...(status === 'failed' ? { error: { name: 'Error', message: 'smtp down' } } : { result: { sent: 1 } }),
    });
    return (await ledger.getRun(claimed.run.runId))!;
  }

  /** A job whose handler records every occurrence it is called for. */
  function recordingJob(name: string, everyMs: number, calls: JobContext[], extra: Partial<RecurringJob> = {}): RecurringJob<JobResultSummary> {
    return {
      name,
      schedule: { kind: 'interval', everyMs },
      run: (context) => {
        calls.push(context);
        return Promise.resolve({});
      },
      ...extra,
    };
  }

  /** The pending occurrence as the crashed worker left it (due, on the job's timing: kept at start-up). */
  function pendingAt(jobName: string, occurrenceAt: Date, everyMs: number, attempt = 1, cause: OccurrenceCause = 'schedule'): ScheduledOccurrence {
    return {
      jobName,
      occurrenceAt,
      runAt: occurrenceAt,
      attempt,
      cause,
      requestedBy: null,
      resume: null,
      timing: { schedule: { kind: 'interval', everyMs }, misfire: { kind: 'once' } },
    };
  }

  it('heals the chain when the occurrence already succeeded (its schedule write was lost to a crash)', async () => {
    const jobName = 'healed-after-crash';
    const calls: JobContext[] = [];
    const events: RunFinishedEvent[] = [];
    const runtime = await runtimeWith([recordingJob(jobName, hour, calls)], events);
    // The crashed worker ran the occurrence and recorded its success; the write that would
    // have scheduled the next occurrence (and released Agenda's lock) never happened.
    const occurrenceAt = new Date(Date.now() - 60_000);
    await runtime.scheduler.schedule(pendingAt(jobName, occurrenceAt, hour));
    const succeeded = await finishedRun(jobName, occurrenceAt, 1, 'schedule', 'succeeded', new Date(occurrenceAt.getTime() + 50));
    await runtime.start();
    await waitUntil('the occurrence to be handed over', () => events.length > 0, 15_000, () => jobState(jobName, events));
    const next = new Date(succeeded.startedAt.getTime() + hour);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      jobName,
      occurrenceAt,
      attempt: 1,
      outcome: 'lost-claim',
      runId: null,
      lostClaimReason: 'already-succeeded',
      scheduled: { occurrenceAt: next, runAt: next, attempt: 1, cause: 'schedule' },
    });
    // Its handler did not run: the decision came before any run, and the occurrence is no longer pending.
    expect(calls).toEqual([]);
    expect(await ledger.listOccurrenceRuns(jobName, occurrenceAt)).toEqual([succeeded]);
    expect(await runtime.scheduler.getPending(jobName)).toMatchObject({ occurrenceAt: next, runAt: next, attempt: 1, cause: 'schedule' });
    // Completed exactly as its run would have: recorded from that run, the lock handed over.
    expect(await runtime.scheduler.getLastExecution(jobName)).toMatchObject({
      lastOccurrenceAt: occurrenceAt,
      lastExecutedAt: succeeded.startedAt,
      lastExecutedBy: crashed,
      nextScheduledAt: next,
    });
    const document = await (await newDatabase()).collection('agendaJobs').findOne({ name: jobName });
    expect(document?.lockedAt).toBeNull();
    await runtime.stop();
    expect(calls).toEqual([]);
  });

  it('leaves a newer pending occurrence alone when a stale duplicate finds its occurrence succeeded', async () => {
    const jobName = 'stale-duplicate';
    const calls: JobContext[] = [];
    const events: RunFinishedEvent[] = [];
    const occurrenceAt = new Date(Date.now() - 60_000);
    const state: { trigger?: ScheduledOccurrence } = {};
    // The interleaving a stale duplicate meets: after this worker was handed the occurrence and
    // lost its claim, and before it decides, an operator's run-now replaces the pending occurrence.
    const hooked: JobRunLedger = new Proxy(ledger, {
      get(target, property, receiver) {
        if (property === 'listOccurrenceRuns') {
          return async (name: string, at: Date) => {
            if (name === jobName && at.getTime() === occurrenceAt.getTime() && state.trigger === undefined) {
              state.trigger = await runtime.triggerNow(jobName, 'cli:ops');
            }
            return target.listOccurrenceRuns(name, at);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const runtime = await runtimeWith([recordingJob(jobName, hour, calls)], events, undefined, { ledger: hooked });
    await runtime.scheduler.schedule(pendingAt(jobName, occurrenceAt, hour));
    await finishedRun(jobName, occurrenceAt, 1, 'schedule', 'succeeded', new Date(occurrenceAt.getTime() + 50));
    await runtime.start();
    // The later event: the newer occurrence runs. Had the stale completion replaced it, it never would.
    await waitUntil('the newer occurrence to run', () => calls.length > 0, 15_000, () => jobState(jobName, events));
    const trigger = state.trigger!;
    expect(trigger).toMatchObject({ cause: 'trigger', requestedBy: 'cli:ops', attempt: 1 });
    expect(calls.map((call) => [call.occurrenceAt, call.cause])).toEqual([[trigger.occurrenceAt, 'trigger']]);
    await waitUntil('the newer run recorded', () => events.length === 2, 15_000, () => jobState(jobName, events));
    expect(events.map((event) => [event.occurrenceAt, event.outcome, event.lostClaimReason])).toEqual([
      [occurrenceAt, 'lost-claim', 'already-succeeded'],
      [trigger.occurrenceAt, 'succeeded', null],
    ]);
    const [triggered] = await ledger.listOccurrenceRuns(jobName, trigger.occurrenceAt);
    expect(triggered).toMatchObject({ attempt: 1, status: 'succeeded', cause: 'trigger', requestedBy: 'cli:ops' });
    expect(await ledger.listOccurrenceRuns(jobName, occurrenceAt)).toHaveLength(1);
    await waitUntil(
      'the chain to go on after the newer occurrence',
      async () => (await runtime.scheduler.getPending(jobName))?.occurrenceAt.getTime() === triggered!.startedAt.getTime() + hour,
    );
    await runtime.stop();
  });

  it('continues the chain when attempts are used up but their worker did not schedule onwards', async () => {
    const jobName = 'exhausted-after-crash';
    const everyMs = 2000;
    const calls: JobContext[] = [];
    const events: RunFinishedEvent[] = [];
    const retry = { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 100 };
    const runtime = await runtimeWith([recordingJob(jobName, everyMs, calls, { retry })], events);
    // Both attempts failed; the worker of the second recorded its failure and crashed before
    // scheduling what follows: the retry stays pending.
    const occurrenceAt = new Date(Date.now() - 10_000);
    await finishedRun(jobName, occurrenceAt, 1, 'schedule', 'failed', new Date(occurrenceAt.getTime() + 50));
    const last = await finishedRun(jobName, occurrenceAt, 2, 'retry', 'failed', new Date(occurrenceAt.getTime() + 500));
    await runtime.scheduler.schedule({ ...pendingAt(jobName, occurrenceAt, everyMs, 2, 'retry'), runAt: new Date(occurrenceAt.getTime() + 400) });
    await runtime.start();
    // The later event: the next occurrence ran (it was due at once: its slot had passed).
    await waitUntil('the next occurrence to run', () => events.some((event) => event.outcome === 'succeeded'), 15_000, () =>
      jobState(jobName, events),
    );
    const next = new Date(last.startedAt.getTime() + everyMs);
    expect(calls[0]).toMatchObject({ occurrenceAt: next, attempt: 1, cause: 'schedule' });
    expect(calls.filter((call) => call.occurrenceAt.getTime() === occurrenceAt.getTime())).toEqual([]);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({
      jobName,
      occurrenceAt,
      attempt: 2,
      outcome: 'lost-claim',
      runId: null,
      lostClaimReason: 'exhausted',
      scheduled: { occurrenceAt: next, attempt: 1, cause: 'schedule' },
    });
    // No third attempt: the occurrence keeps its two failed runs.
    expect((await ledger.listOccurrenceRuns(jobName, occurrenceAt)).map((run) => [run.attempt, run.status, run.cause])).toEqual([
      [1, 'failed', 'schedule'],
      [2, 'failed', 'retry'],
    ]);
    expect(events[1]).toMatchObject({ occurrenceAt: next, attempt: 1, outcome: 'succeeded', lostClaimReason: null });
    const [nextRun] = await ledger.listOccurrenceRuns(jobName, next);
    expect(nextRun).toMatchObject({ attempt: 1, status: 'succeeded', cause: 'schedule', instanceId: runtime.identity.instanceId });
    await runtime.stop();
  });
});
