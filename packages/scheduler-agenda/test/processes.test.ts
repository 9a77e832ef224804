/**
 * Real OS processes against the real server: three replicas, restarts, SIGKILL, retries
 * and SIGTERM drains, checked by counting ledger records. Sequential (one file).
 */
import { MongooseJobRunLedger, MongooseRecurringJobRepository } from '@app/logging';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import type { JobRun } from '@app/shared-jobs';
import { MongoClient, type Db } from 'mongodb';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AgendaMessageScheduler } from '../src/index.js';
import type { TestJobSpec } from './support/test-job-spec.js';
import {
  bundleWorkerFixture,
  kill,
  startWorker,
  terminate,
  type WorkerHandle,
} from './support/worker-processes.js';

let bundlePath: string;
let client: MongoClient;
let database: Db;
let connection: Connection;
let ledger: MongooseJobRunLedger;
let repository: MongooseRecurringJobRepository;
let scheduler: AgendaMessageScheduler;
const running: WorkerHandle[] = [];

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function spawnWorker(jobs: readonly TestJobSpec[], drainDeadlineMs?: number): WorkerHandle {
  const worker = startWorker({
    bundlePath,
    mongoUri: testMongoUri(),
    databaseName: testDatabaseName(),
    jobs,
    ...(drainDeadlineMs === undefined ? {} : { drainDeadlineMs }),
  });
  running.push(worker);
  return worker;
}

async function allRuns(jobName: string): Promise<JobRun[]> {
  return (await ledger.listRecentRuns(jobName, 10_000)).sort(
    (left, right) => left.startedAt.getTime() - right.startedAt.getTime(),
  );
}

async function waitUntil<TValue>(
  description: string,
  probe: () => Promise<TValue | null | undefined | false>,
  timeoutMs = 30_000,
): Promise<TValue> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  bundlePath = await bundleWorkerFixture();
  client = new MongoClient(testMongoUri());
  await client.connect();
  database = client.db(testDatabaseName());
  connection = await mongoose.createConnection(testMongoUri(), { dbName: testDatabaseName() }).asPromise();
  ledger = new MongooseJobRunLedger(connection);
  repository = new MongooseRecurringJobRepository(connection);
  await ledger.ensureIndexes();
  await repository.ensureIndexes();
  scheduler = new AgendaMessageScheduler(database);
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((worker) => kill(worker)));
});

afterAll(async () => {
  await connection.close();
  await client.close();
});

describe('worker processes', () => {
  it('restarts: 10 sequential start/stop cycles and 3 at once leave one pending job that follows the persisted execution', async () => {
    const spec: TestJobSpec = { name: 'restart-job', intervalMs: 60_000, durationMs: 50 };
    for (let cycle = 0; cycle < 10; cycle += 1) {
      const worker = spawnWorker([spec]);
      await worker.waitFor((event) => event.event === 'ready');
      if (cycle === 0) await worker.waitFor((event) => event.event === 'run' && event.outcome === 'succeeded');
      expect(await terminate(worker)).toEqual({ code: 0, signal: null });
    }
    const trio = [0, 1, 2].map(() => spawnWorker([spec]));
    await Promise.all(trio.map((worker) => worker.waitFor((event) => event.event === 'ready')));
    await sleep(500);
    for (const result of await Promise.all(trio.map((worker) => terminate(worker)))) {
      expect(result).toEqual({ code: 0, signal: null });
    }
    expect(await database.collection('agendaJobs').countDocuments({ name: 'restart-job' })).toBe(1);
    const runs = await allRuns('restart-job');
    expect(runs.map((run) => run.status)).toEqual(['succeeded']);
    const execution = await repository.getLastExecution('restart-job');
    expect(execution?.lastExecutedAt).toEqual(runs[0]!.startedAt);
    const pending = await scheduler.getPending('restart-job');
    expect(pending).toEqual({
      jobName: 'restart-job',
      occurrenceAt: new Date(runs[0]!.startedAt.getTime() + 60_000),
      runAt: new Date(runs[0]!.startedAt.getTime() + 60_000),
      attempt: 1,
    });
  });
  it('retries: fails twice then succeeds, with growing delays, and the chain continues', async () => {
    const spec: TestJobSpec = {
      name: 'flaky-job',
      intervalMs: 60_000,
      durationMs: 50,
      failAttemptsBelow: 3,
      retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 10_000 },
    };
    const worker = spawnWorker([spec]);
    await worker.waitFor((event) => event.event === 'run' && event.outcome === 'succeeded', 30_000);
    await terminate(worker);
    const runs = await allRuns('flaky-job');
    expect(runs.map((run) => [run.attempt, run.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
    expect(new Set(runs.map((run) => run.occurrenceAt.getTime())).size).toBe(1);
    expect(runs[0]!.error?.message).toBe('planned failure of attempt 1');
    expect(runs[1]!.error?.message).toBe('planned failure of attempt 2');
    const firstDelay = runs[1]!.startedAt.getTime() - runs[0]!.finishedAt!.getTime();
    const secondDelay = runs[2]!.startedAt.getTime() - runs[1]!.finishedAt!.getTime();
    expect(firstDelay).toBeGreaterThanOrEqual(800);
    expect(secondDelay).toBeGreaterThan(firstDelay);
    const pending = await scheduler.getPending('flaky-job');
    expect(pending?.occurrenceAt).toEqual(new Date(runs[2]!.startedAt.getTime() + 60_000));
    expect(pending?.attempt).toBe(1);
  });

  it('crash: SIGKILL mid-run in 5 cycles; each killed occurrence is completed by a later attempt, once', async () => {
    const spec: TestJobSpec = { name: 'crash-job', intervalMs: 1000, durationMs: 1500, lockLifetimeMs: 2000 };
    const killedRuns: string[] = [];
    for (let cycle = 0; cycle < 5; cycle += 1) {
      const worker = spawnWorker([spec]);
      await worker.waitFor((event) => event.event === 'ready');
      if (killedRuns.length > 0) {
        // The occurrence killed in the previous cycle is picked up by this worker.
        const killed = killedRuns.at(-1)!;
        await waitUntil('the killed occurrence to succeed', async () => {
          const [killedRun] = (await allRuns('crash-job')).filter((run) => run.runId === killed);
          const attempts = await ledger.listOccurrenceRuns('crash-job', killedRun!.occurrenceAt);
          return attempts.some((run) => run.status === 'succeeded');
        });
      }
      // Kill a run that starts from now on (not the recovery run, which may still be finishing).
      const alreadyStarted = new Set(
        worker.events.filter((event) => event.event === 'handler-start').map((event) => String(event.runId)),
      );
      const started = await worker.waitFor(
        (event) => event.event === 'handler-start' && !alreadyStarted.has(String(event.runId)),
        20_000,
      );
      await sleep(600);
      await kill(worker);
      killedRuns.push(String(started.runId));
    }
    const last = spawnWorker([spec]);
    const lastKilled = (await allRuns('crash-job')).find((run) => run.runId === killedRuns.at(-1));
    await waitUntil('the last killed occurrence to succeed', async () =>
      (await ledger.listOccurrenceRuns('crash-job', lastKilled!.occurrenceAt)).some(
        (run) => run.status === 'succeeded',
      ),
    );
    await terminate(last);
    const runs = await allRuns('crash-job');
    for (const killedRunId of killedRuns) {
      const killedRun = runs.find((run) => run.runId === killedRunId)!;
      expect(killedRun.status).toBe('abandoned');
      const attempts = runs.filter(
        (run) => run.occurrenceAt.getTime() === killedRun.occurrenceAt.getTime(),
      );
      const succeeded = attempts.filter((run) => run.status === 'succeeded');
      expect(succeeded).toHaveLength(1);
      expect(succeeded[0]!.attempt).toBeGreaterThan(killedRun.attempt);
    }
    const succeededPerOccurrence = new Map<number, number>();
    for (const run of runs.filter((entry) => entry.status === 'succeeded')) {
      const key = run.occurrenceAt.getTime();
      succeededPerOccurrence.set(key, (succeededPerOccurrence.get(key) ?? 0) + 1);
    }
    expect([...succeededPerOccurrence.values()].every((count) => count === 1)).toBe(true);
    expect(runs.filter((run) => run.status === 'running')).toEqual([]);
  });

  it('shutdown: SIGTERM finishes a run that ends before the deadline and interrupts one that would not', async () => {
    const short: TestJobSpec = { name: 'drain-short', intervalMs: 60_000, durationMs: 1500 };
    const long: TestJobSpec = {
      name: 'drain-long',
      intervalMs: 60_000,
      durationMs: 200,
      firstAttemptDurationMs: 30_000,
      lockLifetimeMs: 30_000,
    };
    const worker = spawnWorker([short, long], 3000);
    await worker.waitFor((event) => event.event === 'handler-start' && event.jobName === 'drain-short');
    await worker.waitFor((event) => event.event === 'handler-start' && event.jobName === 'drain-long');
    const signalledAt = Date.now();
    expect(await terminate(worker)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    const drained = worker.events.find((event) => event.event === 'drained');
    expect(drained).toMatchObject({ completedBeforeDeadline: false, interrupted: 1 });
    expect((await allRuns('drain-short')).map((run) => run.status)).toEqual(['succeeded']);
    const [interrupted] = await allRuns('drain-long');
    expect(interrupted).toMatchObject({ status: 'interrupted', attempt: 1 });
    expect(interrupted!.error?.name).toBe('RunInterruptedError');
    // The lock was released: another replica takes the occurrence as attempt 2 at once,
    // well before the 30 s lock lifetime would have expired.
    const successor = spawnWorker([short, long]);
    const resumedAt = Date.now();
    await successor.waitFor(
      (event) => event.event === 'run' && event.jobName === 'drain-long' && event.outcome === 'succeeded',
      20_000,
    );
    expect(Date.now() - resumedAt).toBeLessThan(20_000);
    await terminate(successor);
    const longRuns = await allRuns('drain-long');
    expect(longRuns.map((run) => [run.attempt, run.status])).toEqual([
      [1, 'interrupted'],
      [2, 'succeeded'],
    ]);
    expect(longRuns[1]!.occurrenceAt).toEqual(longRuns[0]!.occurrenceAt);
  });

  it('scale: three workers, three 1 s jobs, 60 s: each occurrence succeeds once, no overlap, no gap', async () => {
    const specs: TestJobSpec[] = ['scale-a', 'scale-b', 'scale-c'].map((name) => ({
      name,
      intervalMs: 1000,
      durationMs: 100,
      lockLifetimeMs: 3000,
    }));
    const workers = [0, 1, 2].map(() => spawnWorker(specs));
    await Promise.all(workers.map((worker) => worker.waitFor((event) => event.event === 'ready')));
    await sleep(61_000);
    for (const result of await Promise.all(workers.map((worker) => terminate(worker)))) {
      expect(result).toEqual({ code: 0, signal: null });
    }
    const lostClaims = workers.flatMap((worker) => worker.events).filter((event) => event.outcome === 'lost-claim');
    const handlerEvents = await database.collection('handler_events').find({ jobName: /^scale-/u }).toArray();
    for (const spec of specs) {
      const runs = await allRuns(spec.name);
      expect(runs.length).toBeGreaterThanOrEqual(50);
      expect(runs.every((run) => run.status === 'succeeded' && run.attempt === 1)).toBe(true);
      expect(new Set(runs.map((run) => run.occurrenceAt.getTime())).size).toBe(runs.length);
      for (let index = 1; index < runs.length; index += 1) {
        const previous = runs[index - 1]!;
        const current = runs[index]!;
        expect(current.startedAt.getTime()).toBeGreaterThanOrEqual(previous.finishedAt!.getTime());
        expect(current.occurrenceAt.getTime()).toBe(previous.startedAt.getTime() + spec.intervalMs);
      }
      const starts = handlerEvents
        .filter((event) => event.jobName === spec.name)
        .sort((left, right) => (left.at as Date).getTime() - (right.at as Date).getTime());
      for (let index = 1; index < starts.length; index += 1) {
        // Handler-observed: start, end, start, end... never two starts in a row.
        expect(starts[index]!.type).not.toBe(starts[index - 1]!.type);
      }
      const execution = await repository.getLastExecution(spec.name);
      expect(execution?.lastExecutedAt).toEqual(runs.at(-1)!.startedAt);
      expect(await database.collection('agendaJobs').countDocuments({ name: spec.name })).toBe(1);
    }
    const instances = new Set(
      (await Promise.all(specs.map((spec) => allRuns(spec.name)))).flat().map((run) => run.instance.processId),
    );
    console.info(
      `scale: ${instances.size} of 3 workers ran occurrences; ${lostClaims.length} lost claims were skipped`,
    );
  });
});
