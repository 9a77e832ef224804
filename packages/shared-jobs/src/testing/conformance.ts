/**
 * Conformance suites: plain functions that register vitest tests. A real implementation
 * runs the suite against itself (the way Agenda's backends share one test suite); the
 * in-memory implementations run them too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InstanceIdentity } from '../instance.js';
import type { ClaimRunResult, JobRun, JobRunLedger } from '../job-run-ledger.js';
import type { MessageScheduler } from '../message-scheduler.js';
import type { ScheduledOccurrence } from '../occurrence.js';
import type {
  RecurringJobExecution,
  RecurringJobRepository,
} from '../recurring-job-repository.js';

/**
 * What a suite needs from an implementation, set up fresh before each test on an empty
 * store. `createInstance` may be called several times: every instance shares the store
 * (like separate worker processes on one database) but should use its own connection
 * where the implementation has one, so races are real.
 */
export interface ConformanceHarness<TInstance> {
  createInstance(): Promise<TInstance>;
  teardown(): Promise<void>;
}

export interface MessageSchedulerHarness extends ConformanceHarness<MessageScheduler> {
  /** How many pending records the store holds for a job (must never exceed 1). */
  countPendingRecords(jobName: string): Promise<number>;
}

const baseInstant = Date.parse('2026-03-01T12:00:00.000Z');

function instantAt(offsetMs: number): Date {
  return new Date(baseInstant + offsetMs);
}

function occurrenceOf(jobName: string, offsetMs: number, attempt = 1): ScheduledOccurrence {
  return { jobName, occurrenceAt: instantAt(offsetMs), runAt: instantAt(offsetMs), attempt };
}

function withHarness<THarness extends ConformanceHarness<unknown>>(
  setup: () => Promise<THarness>,
): () => THarness {
  let harness: THarness | undefined;
  beforeEach(async () => {
    harness = await setup();
  });
  afterEach(async () => {
    await (harness as THarness).teardown();
    harness = undefined;
  });
  return () => harness as THarness;
}

function claimedRun(claim: ClaimRunResult): JobRun {
  expect(claim.claimed).toBe(true);
  return (claim as Extract<ClaimRunResult, { claimed: true }>).run;
}

function existingRun(claim: ClaimRunResult): JobRun {
  expect(claim.claimed).toBe(false);
  return (claim as Extract<ClaimRunResult, { claimed: false }>).existing;
}

/** Registers the `MessageScheduler` suite. */
export function describeMessageSchedulerConformance(
  implementationName: string,
  setup: () => Promise<MessageSchedulerHarness>,
): void {
  describe(`MessageScheduler conformance: ${implementationName}`, () => {
    const currentHarness = withHarness(setup);

    it('has no pending occurrence for a job never scheduled', async () => {
      const scheduler = await currentHarness().createInstance();
      expect(await scheduler.getPending('never-scheduled')).toBeNull();
    });

    it('returns the scheduled occurrence with its identity, due instant and attempt', async () => {
      const scheduler = await currentHarness().createInstance();
      const occurrence: ScheduledOccurrence = {
        jobName: 'report',
        occurrenceAt: instantAt(0),
        runAt: instantAt(1500),
        attempt: 2,
      };
      await scheduler.schedule(occurrence);
      expect(await scheduler.getPending('report')).toEqual(occurrence);
    });

    it('replaces the pending occurrence instead of adding a second one', async () => {
      const harness = currentHarness();
      const scheduler = await harness.createInstance();
      await scheduler.schedule(occurrenceOf('report', 0));
      await scheduler.schedule(occurrenceOf('report', 60_000));
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 60_000));
      expect(await harness.countPendingRecords('report')).toBe(1);
    });

    it('keeps one pending occurrence after ten sequential start-ups schedule the job', async () => {
      const harness = currentHarness();
      for (let startUp = 0; startUp < 10; startUp += 1) {
        const scheduler = await harness.createInstance();
        await scheduler.schedule(occurrenceOf('cleanup', startUp * 1000));
      }
      expect(await harness.countPendingRecords('cleanup')).toBe(1);
      expect(await (await harness.createInstance()).getPending('cleanup')).toEqual(
        occurrenceOf('cleanup', 9000),
      );
    });

    it('keeps one pending occurrence when three instances schedule at the same instant', async () => {
      const harness = currentHarness();
      const schedulers = await Promise.all([0, 1, 2].map(() => harness.createInstance()));
      for (let round = 0; round < 5; round += 1) {
        const jobName = `contended-${round}`;
        const candidates = schedulers.map((_, index) => occurrenceOf(jobName, index * 1000));
        await Promise.all(
          schedulers.map((scheduler, index) => scheduler.schedule(candidates[index]!)),
        );
        expect(await harness.countPendingRecords(jobName)).toBe(1);
        expect(candidates).toContainEqual(await schedulers[0]!.getPending(jobName));
      }
    });

    it('keeps jobs independent of one another', async () => {
      const harness = currentHarness();
      const scheduler = await harness.createInstance();
      await scheduler.schedule(occurrenceOf('first', 0));
      await scheduler.schedule(occurrenceOf('second', 5000));
      expect(await scheduler.getPending('first')).toEqual(occurrenceOf('first', 0));
      expect(await scheduler.getPending('second')).toEqual(occurrenceOf('second', 5000));
      expect(await harness.countPendingRecords('first')).toBe(1);
    });

    it('cancels the pending occurrence and reports whether there was one', async () => {
      const harness = currentHarness();
      const scheduler = await harness.createInstance();
      await scheduler.schedule(occurrenceOf('report', 0));
      expect(await scheduler.cancel('report')).toBe(true);
      expect(await scheduler.getPending('report')).toBeNull();
      expect(await harness.countPendingRecords('report')).toBe(0);
      expect(await scheduler.cancel('report')).toBe(false);
    });

    it('rejects an invalid occurrence with an error naming the field, storing nothing', async () => {
      const harness = currentHarness();
      const scheduler = await harness.createInstance();
      await expect(scheduler.schedule(occurrenceOf('report', 0, 0))).rejects.toThrow(/attempt/u);
      await expect(
        scheduler.schedule({ ...occurrenceOf('report', 0), runAt: new Date(Number.NaN) }),
      ).rejects.toThrow(/runAt/u);
      await expect(scheduler.schedule(occurrenceOf('', 0))).rejects.toThrow(/jobName/u);
      expect(await harness.countPendingRecords('report')).toBe(0);
    });
  });
}

const instanceA: InstanceIdentity = { hostName: 'worker-a', processId: 101 };
const instanceB: InstanceIdentity = { hostName: 'worker-b', processId: 202 };

function executionOf(
  jobName: string,
  lastExecutedOffsetMs: number,
  executedBy: InstanceIdentity | null = instanceA,
): RecurringJobExecution {
  return {
    jobName,
    lastExecutedAt: instantAt(lastExecutedOffsetMs + 20),
    lastOccurrenceAt: instantAt(lastExecutedOffsetMs),
    nextScheduledAt: instantAt(lastExecutedOffsetMs + 60_020),
    lastExecutedBy: executedBy,
  };
}

/** Registers the `RecurringJobRepository` suite. */
export function describeRecurringJobRepositoryConformance(
  implementationName: string,
  setup: () => Promise<ConformanceHarness<RecurringJobRepository>>,
): void {
  describe(`RecurringJobRepository conformance: ${implementationName}`, () => {
    const currentHarness = withHarness(setup);

    it('returns null for a job never executed', async () => {
      const repository = await currentHarness().createInstance();
      expect(await repository.getLastExecution('never-run')).toBeNull();
    });

    it('round-trips an execution: instants, next slot and executing instance', async () => {
      const repository = await currentHarness().createInstance();
      await repository.upsertExecution(executionOf('cleanup', 0));
      expect(await repository.getLastExecution('cleanup')).toEqual(executionOf('cleanup', 0));
    });

    it('round-trips an execution without next slot or instance', async () => {
      const repository = await currentHarness().createInstance();
      const execution = { ...executionOf('cleanup', 0, null), nextScheduledAt: null };
      await repository.upsertExecution(execution);
      expect(await repository.getLastExecution('cleanup')).toEqual(execution);
    });

    it('keeps one record per job name: an upsert replaces it', async () => {
      const repository = await currentHarness().createInstance();
      await repository.upsertExecution(executionOf('cleanup', 0, instanceA));
      await repository.upsertExecution(executionOf('cleanup', 60_000, instanceB));
      expect(await repository.getLastExecution('cleanup')).toEqual(
        executionOf('cleanup', 60_000, instanceB),
      );
      expect(await repository.listExecutions()).toHaveLength(1);
    });

    it('lists every job sorted by name', async () => {
      const repository = await currentHarness().createInstance();
      await repository.upsertExecution(executionOf('zeta', 0));
      await repository.upsertExecution(executionOf('alpha', 0));
      await repository.upsertExecution(executionOf('mid', 0));
      const names = (await repository.listExecutions()).map((execution) => execution.jobName);
      expect(names).toEqual(['alpha', 'mid', 'zeta']);
    });

    it('keeps one record when three instances upsert the same job at once', async () => {
      const harness = currentHarness();
      const repositories = await Promise.all([0, 1, 2].map(() => harness.createInstance()));
      await Promise.all(
        repositories.map((repository, index) =>
          repository.upsertExecution(executionOf('contended', index * 1000)),
        ),
      );
      const executions = await repositories[0]!.listExecutions();
      expect(executions).toHaveLength(1);
      expect([0, 1000, 2000].map((offset) => executionOf('contended', offset))).toContainEqual(
        executions[0],
      );
    });
  });
}

/** Registers the `JobRunLedger` suite. */
export function describeJobRunLedgerConformance(
  implementationName: string,
  setup: () => Promise<ConformanceHarness<JobRunLedger>>,
): void {
  describe(`JobRunLedger conformance: ${implementationName}`, () => {
    const currentHarness = withHarness(setup);

    const claimInput = (jobName: string, occurrenceOffsetMs: number, attempt: number, startOffsetMs = 0) => ({
      jobName,
      occurrenceAt: instantAt(occurrenceOffsetMs),
      attempt,
      instance: instanceA,
      startedAt: instantAt(startOffsetMs),
      leaseExpiresAt: instantAt(startOffsetMs + 30_000),
    });

    it('claims a new attempt as a running run that this instance owns', async () => {
      const ledger = await currentHarness().createInstance();
      const run = claimedRun(await ledger.claim(claimInput('cleanup', 0, 1)));
      expect(run).toMatchObject({
        jobName: 'cleanup',
        occurrenceAt: instantAt(0),
        attempt: 1,
        status: 'running',
        instance: instanceA,
        startedAt: instantAt(0),
        leaseExpiresAt: instantAt(30_000),
        finishedAt: null,
        durationMs: null,
        error: null,
        result: null,
      });
      expect(typeof run.runId).toBe('string');
    });

    it('refuses a second claim of the same attempt and returns the existing run', async () => {
      const ledger = await currentHarness().createInstance();
      const first = claimedRun(await ledger.claim(claimInput('cleanup', 0, 1)));
      const second = existingRun(
        await ledger.claim({ ...claimInput('cleanup', 0, 1), instance: instanceB }),
      );
      expect(second.runId).toBe(first.runId);
      expect(second.instance).toEqual(instanceA);
    });

    it('lets exactly one of many concurrent claims of one attempt win', async () => {
      const harness = currentHarness();
      const ledgers = await Promise.all([0, 1, 2].map(() => harness.createInstance()));
      for (let round = 0; round < 5; round += 1) {
        const claims = await Promise.all(
          [...ledgers, ...ledgers].map((ledger) => ledger.claim(claimInput('contended', round, 1))),
        );
        expect(claims.filter((claim) => claim.claimed)).toHaveLength(1);
      }
    });

    it('treats another attempt or another occurrence as a separate claim', async () => {
      const ledger = await currentHarness().createInstance();
      expect((await ledger.claim(claimInput('cleanup', 0, 1))).claimed).toBe(true);
      expect((await ledger.claim(claimInput('cleanup', 0, 2))).claimed).toBe(true);
      expect((await ledger.claim(claimInput('cleanup', 1000, 1))).claimed).toBe(true);
      expect((await ledger.claim(claimInput('other', 0, 1))).claimed).toBe(true);
    });

    it('finishes a running run once, with duration, error and result', async () => {
      const ledger = await currentHarness().createInstance();
      const claim = { run: claimedRun(await ledger.claim(claimInput('cleanup', 0, 1))) };
      const finished = await ledger.finish(claim.run.runId, {
        status: 'failed',
        finishedAt: instantAt(2500),
        error: { name: 'Error', message: 'smtp down' },
        result: { sent: 3, note: 'partial', complete: false },
      });
      expect(finished).toBe(true);
      expect(
        await ledger.finish(claim.run.runId, { status: 'succeeded', finishedAt: instantAt(3000) }),
      ).toBe(false);
      const [run] = await ledger.listOccurrenceRuns('cleanup', instantAt(0));
      expect(run).toMatchObject({
        status: 'failed',
        finishedAt: instantAt(2500),
        durationMs: 2500,
        error: { name: 'Error', message: 'smtp down' },
        result: { sent: 3, note: 'partial', complete: false },
      });
    });

    it('renews the lease of a running run only', async () => {
      const ledger = await currentHarness().createInstance();
      const claim = { run: claimedRun(await ledger.claim(claimInput('cleanup', 0, 1))) };
      expect(await ledger.renewLease(claim.run.runId, instantAt(90_000))).toBe(true);
      const [renewed] = await ledger.listOccurrenceRuns('cleanup', instantAt(0));
      expect(renewed?.leaseExpiresAt).toEqual(instantAt(90_000));
      await ledger.finish(claim.run.runId, { status: 'abandoned', finishedAt: instantAt(1000) });
      expect(await ledger.renewLease(claim.run.runId, instantAt(120_000))).toBe(false);
      expect(await ledger.renewLease('no-such-run', instantAt(120_000))).toBe(false);
      expect(await ledger.finish('no-such-run', { status: 'failed', finishedAt: instantAt(1) })).toBe(
        false,
      );
    });

    it('lists the attempts of one occurrence in attempt order', async () => {
      const ledger = await currentHarness().createInstance();
      await ledger.claim(claimInput('cleanup', 0, 2, 5000));
      await ledger.claim(claimInput('cleanup', 0, 1, 0));
      await ledger.claim(claimInput('cleanup', 0, 3, 9000));
      await ledger.claim(claimInput('cleanup', 1000, 1, 9500));
      const attempts = (await ledger.listOccurrenceRuns('cleanup', instantAt(0))).map(
        (run) => run.attempt,
      );
      expect(attempts).toEqual([1, 2, 3]);
    });

    it('lists the latest runs of a job, newest first, up to the limit', async () => {
      const ledger = await currentHarness().createInstance();
      for (let index = 0; index < 5; index += 1) {
        await ledger.claim(claimInput('cleanup', index * 1000, 1, index * 1000));
      }
      await ledger.claim(claimInput('other', 9000, 1, 9000));
      const recent = await ledger.listRecentRuns('cleanup', 3);
      expect(recent.map((run) => run.occurrenceAt)).toEqual([
        instantAt(4000),
        instantAt(3000),
        instantAt(2000),
      ]);
    });

    it('lists the newest run of every job, sorted by job name', async () => {
      const ledger = await currentHarness().createInstance();
      await ledger.claim(claimInput('zeta', 0, 1, 0));
      await ledger.claim(claimInput('zeta', 1000, 1, 1000));
      await ledger.claim(claimInput('alpha', 0, 1, 500));
      const latest = await ledger.listLatestRunPerJob();
      expect(latest.map((run) => [run.jobName, run.occurrenceAt])).toEqual([
        ['alpha', instantAt(0)],
        ['zeta', instantAt(1000)],
      ]);
    });

    it('prunes finished runs older than the cutoff and never a running one', async () => {
      const ledger = await currentHarness().createInstance();
      const finishAt = async (occurrenceOffsetMs: number, finishedOffsetMs: number) => {
        const claim = { run: claimedRun(await ledger.claim(claimInput('cleanup', occurrenceOffsetMs, 1))) };
        await ledger.finish(claim.run.runId, {
          status: 'succeeded',
          finishedAt: instantAt(finishedOffsetMs),
        });
      };
      await finishAt(0, 1000);
      await finishAt(1000, 4999);
      await finishAt(2000, 5000);
      await ledger.claim(claimInput('cleanup', 3000, 1, -100_000));
      expect(await ledger.pruneFinishedBefore(instantAt(5000))).toBe(2);
      const remaining = await ledger.listRecentRuns('cleanup', 10);
      expect(remaining.map((run) => run.occurrenceAt).sort((left, right) => left.getTime() - right.getTime())).toEqual([
        instantAt(2000),
        instantAt(3000),
      ]);
    });
  });
}
