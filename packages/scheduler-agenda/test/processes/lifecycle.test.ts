/**
 * Real worker processes on the test server: restarts, run retries, drains, schedule
 * changes between deployments and during a rolling one, and an operator's rerun.
 */
import { MongooseInstanceRegistry } from '@app/logging';
import { parseSchedule, type JobResultSummary, type RecurringJob } from '@app/shared-jobs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJobRuntime } from '../../src/index.js';
import type { TestJobSpec } from '../support/test-job-spec.js';
import { terminate } from '../support/worker-processes.js';
import { openHarness, sleep, successesPerOccurrence, waitUntil, type ProcessHarness } from './harness.js';

let harness: ProcessHarness;

beforeAll(async () => {
  harness = await openHarness();
});

afterEach(async () => {
  await harness.killAll();
});

afterAll(async () => {
  await harness.close();
});

const hour = 3_600_000;

describe('worker processes: lifecycle', () => {
  it('restarts: 10 sequential start/stop cycles and 3 at once leave one pending job that follows the persisted execution', async () => {
    const spec: TestJobSpec = { name: 'restart-job', schedule: '1h', durationMs: 50 };
    for (let cycle = 0; cycle < 10; cycle += 1) {
      const worker = harness.spawn([spec]);
      await worker.waitFor((event) => event.event === 'ready');
      if (cycle === 0) await worker.waitFor((event) => event.event === 'run' && event.outcome === 'succeeded');
      expect(await terminate(worker)).toEqual({ code: 0, signal: null });
    }
    const trio = [0, 1, 2].map(() => harness.spawn([spec]));
    await Promise.all(trio.map((worker) => worker.waitFor((event) => event.event === 'ready')));
    for (const result of await Promise.all(trio.map((worker) => terminate(worker)))) {
      expect(result).toEqual({ code: 0, signal: null });
    }
    expect(await harness.database.collection('agendaJobs').countDocuments({ name: 'restart-job' })).toBe(1);
    const runs = await harness.allRuns('restart-job');
    expect(runs.map((run) => run.status)).toEqual(['succeeded']);
    const execution = await harness.scheduler.getLastExecution('restart-job');
    expect(execution?.lastExecutedAt).toEqual(runs[0]!.startedAt);
    const pending = await harness.scheduler.getPending('restart-job');
    expect(pending).toMatchObject({
      occurrenceAt: new Date(runs[0]!.startedAt.getTime() + hour),
      runAt: new Date(runs[0]!.startedAt.getTime() + hour),
      attempt: 1,
      cause: 'schedule',
      timing: { schedule: { kind: 'interval', everyMs: hour }, misfire: { kind: 'once' } },
    });
    // Every start-up wrote a heartbeat, and every clean stop marked its instance stopped.
    const instances = await harness.instances.list(100);
    expect(instances.length).toBeGreaterThanOrEqual(13);
    expect(instances.every((instance) => instance.stoppedAt !== null)).toBe(true);
  });

  it('run retries: fails twice then succeeds, with growing delays, and the chain continues', async () => {
    const spec: TestJobSpec = {
      name: 'flaky-job',
      schedule: '1h',
      durationMs: 50,
      failAttemptsBelow: 3,
      retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 10_000 },
    };
    const worker = harness.spawn([spec]);
    await worker.waitFor((event) => event.event === 'run' && event.outcome === 'succeeded', 30_000);
    const runs = await harness.allRuns('flaky-job');
    expect(runs.map((run) => [run.attempt, run.status, run.cause])).toEqual([
      [1, 'failed', 'schedule'],
      [2, 'failed', 'retry'],
      [3, 'succeeded', 'retry'],
    ]);
    expect(new Set(runs.map((run) => run.occurrenceAt.getTime())).size).toBe(1);
    expect(runs[0]!.error?.message).toBe('planned failure of attempt 1');
    const firstDelay = runs[1]!.startedAt.getTime() - runs[0]!.finishedAt!.getTime();
    const secondDelay = runs[2]!.startedAt.getTime() - runs[1]!.finishedAt!.getTime();
    expect(firstDelay).toBeGreaterThanOrEqual(800);
    expect(secondDelay).toBeGreaterThan(firstDelay);
    await waitUntil('the next occurrence', async () => (await harness.scheduler.getPending('flaky-job'))?.cause === 'schedule');
    const pending = await harness.scheduler.getPending('flaky-job');
    expect(pending?.occurrenceAt).toEqual(new Date(runs[2]!.startedAt.getTime() + hour));
    await terminate(worker);
  });

  it('shutdown: SIGTERM finishes a run that ends before the deadline and interrupts one that would not', async () => {
    const short: TestJobSpec = { name: 'drain-short', schedule: '1h', durationMs: 1500 };
    const long: TestJobSpec = { name: 'drain-long', schedule: '1h', durationMs: 200, firstAttemptDurationMs: 30_000 };
    const worker = harness.spawn([short, long], { drainDeadlineMs: 3000 });
    await worker.waitFor((event) => event.event === 'handler-start' && event.jobName === 'drain-short');
    await worker.waitFor((event) => event.event === 'handler-start' && event.jobName === 'drain-long');
    const signalledAt = Date.now();
    expect(await terminate(worker)).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(15_000);
    expect(worker.events.find((event) => event.event === 'drained')).toMatchObject({ completedBeforeDeadline: false, interrupted: 1 });
    expect((await harness.allRuns('drain-short')).map((run) => run.status)).toEqual(['succeeded']);
    const [interrupted] = await harness.allRuns('drain-long');
    expect(interrupted).toMatchObject({ status: 'interrupted', attempt: 1, error: { name: 'RunInterruptedError' } });
    // The lock was released: a successor takes the occurrence as attempt 2 at once,
    // well before the 10 s lease would have lapsed.
    const successor = harness.spawn([short, long]);
    await successor.waitFor((event) => event.event === 'ready');
    const readyAt = Date.now();
    await successor.waitFor((event) => event.event === 'handler-start' && event.jobName === 'drain-long', 20_000);
    expect(Date.now() - readyAt).toBeLessThan(5000);
    await successor.waitFor((event) => event.event === 'run' && event.jobName === 'drain-long' && event.outcome === 'succeeded');
    const longRuns = await harness.allRuns('drain-long');
    expect(longRuns.map((run) => [run.attempt, run.status])).toEqual([
      [1, 'interrupted'],
      [2, 'succeeded'],
    ]);
    expect(longRuns[1]!.occurrenceAt).toEqual(longRuns[0]!.occurrenceAt);
  });

  it('a schedule changed between deployments replaces the pending occurrence with the new next slot; history stays', async () => {
    const before: TestJobSpec = { name: 'rescheduled', schedule: '1h', durationMs: 20 };
    const first = harness.spawn([before]);
    await first.waitFor((event) => event.event === 'run' && event.outcome === 'succeeded');
    await terminate(first);
    const [oldRun] = await harness.allRuns('rescheduled');
    expect((await harness.scheduler.getPending('rescheduled'))?.occurrenceAt).toEqual(new Date(oldRun!.startedAt.getTime() + hour));
    const after: TestJobSpec = { ...before, schedule: '*/2 * * * * *' };
    const second = harness.spawn([after]);
    await second.waitFor((event) => event.event === 'ready');
    const pending = await harness.scheduler.getPending('rescheduled');
    expect(pending?.timing).toMatchObject({ schedule: { kind: 'cron', expression: '*/2 * * * * *', timeZone: 'UTC' } });
    expect(pending!.occurrenceAt.getTime() % 2000).toBe(0);
    expect(pending!.occurrenceAt.getTime()).toBeLessThan(Date.now() + 2500);
    await waitUntil('two runs on the new schedule', async () => (await harness.allRuns('rescheduled')).filter((run) => run.status === 'succeeded').length >= 3);
    await terminate(second);
    const runs = await harness.allRuns('rescheduled');
    expect(runs[0]!.runId).toBe(oldRun!.runId);
    for (const run of runs.slice(1)) expect(run.occurrenceAt.getTime() % 2000).toBe(0);
  });

  it('a rolling deployment switches the pending occurrence to the new schedule once; old replicas follow it', async () => {
    const oldConfig: TestJobSpec = { name: 'rolling', schedule: '1h', durationMs: 20 };
    const newConfig: TestJobSpec = { ...oldConfig, schedule: '* * * * * *' };
    const oldReplica = harness.spawn([oldConfig]);
    await oldReplica.waitFor((event) => event.event === 'run' && event.outcome === 'succeeded');
    const newReplica = harness.spawn([newConfig]);
    await newReplica.waitFor((event) => event.event === 'ready');
    // Watch the pending timing while both run: it must never go back to the interval.
    const fingerprints = new Set<string>();
    const watchUntil = Date.now() + 8000;
    while (Date.now() < watchUntil) {
      const pending = await harness.scheduler.getPending('rolling');
      fingerprints.add(pending?.timing?.schedule.kind ?? 'none');
      await sleep(100);
    }
    expect([...fingerprints]).toEqual(['cron']);
    await Promise.all([terminate(oldReplica), terminate(newReplica)]);
    const runs = (await harness.allRuns('rolling')).slice(1);
    expect(runs.length).toBeGreaterThanOrEqual(5);
    expect(runs.every((run) => run.occurrenceAt.getTime() % 1000 === 0)).toBe(true);
    expect([...successesPerOccurrence(runs).values()].every((count) => count === 1)).toBe(true);
    // Both replicas ran slots of the new schedule: the old one followed the document.
    const pids = new Set(runs.map((run) => run.instance.processId));
    expect(pids).toEqual(new Set([oldReplica.pid, newReplica.pid]));
  });

  it("reruns a failed occurrence from an operator's command: one new attempt, attributed, then the chain resumes", async () => {
    const spec: TestJobSpec = { name: 'repairable', schedule: '1h', durationMs: 20, failAttemptsBelow: 2 };
    const worker = harness.spawn([spec]);
    await worker.waitFor((event) => event.event === 'run' && event.outcome === 'failed');
    await waitUntil('the next occurrence', async () => (await harness.scheduler.getPending('repairable'))?.cause === 'schedule');
    const [failed] = await harness.allRuns('repairable');
    const pendingBefore = await harness.scheduler.getPending('repairable');
    // The operator's command: a runtime that is never started (as `worker jobs rerun` does).
    const job: RecurringJob<JobResultSummary> = { name: spec.name, schedule: parseSchedule(spec.schedule), run: () => Promise.resolve({}) };
    const command = createJobRuntime({
      database: harness.database,
      ledger: harness.ledger,
      instances: new MongooseInstanceRegistry(harness.connection),
      version: 'cli',
      jobs: [job],
    });
    const rerun = await command.rerun('repairable', failed!.occurrenceAt, 'cli:operator@test');
    await command.stop();
    expect(rerun).toMatchObject({ attempt: 2, cause: 'rerun', requestedBy: 'cli:operator@test' });
    await worker.waitFor((event) => event.event === 'run' && event.outcome === 'succeeded');
    const runs = await harness.ledger.listOccurrenceRuns('repairable', failed!.occurrenceAt);
    expect(runs.map((run) => [run.attempt, run.status, run.cause, run.requestedBy])).toEqual([
      [1, 'failed', 'schedule', null],
      [2, 'succeeded', 'rerun', 'cli:operator@test'],
    ]);
    await waitUntil('the chain to resume', async () => (await harness.scheduler.getPending('repairable'))?.cause === 'schedule');
    expect((await harness.scheduler.getPending('repairable'))?.occurrenceAt).toEqual(pendingBefore!.occurrenceAt);
    await terminate(worker);
  });
});
