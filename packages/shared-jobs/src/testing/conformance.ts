/**
 * Conformance suites: plain functions that register vitest tests. A real implementation
 * runs the suite against itself (the way Agenda's backends share one test suite); the
 * in-memory implementations run them too.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InstanceIdentity } from '../instance.js';
import type { InstanceRegistry, WorkerInstanceIdentity } from '../instance-registry.js';
import type { ClaimRunInput, ClaimRunResult, JobRun, JobRunLedger } from '../job-run-ledger.js';
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
  return {
    jobName,
    occurrenceAt: instantAt(offsetMs),
    runAt: instantAt(offsetMs),
    attempt,
    cause: attempt > 1 ? 'retry' : 'schedule',
    requestedBy: null,
    resume: null,
    timing: null,
  };
}

/** Sets a fresh harness up before each test and tears it down after it (for the suites only). */
export function withHarness<THarness extends ConformanceHarness<unknown>>(
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
        cause: 'retry',
        requestedBy: null,
        resume: null,
        timing: {
          schedule: { kind: 'cron', expression: '*/5 * * * *', timeZone: 'Europe/Berlin' },
          misfire: { kind: 'catch-up', windowMs: 3_600_000, maxRuns: 12 },
          since: instantAt(-5000),
        },
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

    it('keeps who asked for an occurrence and the occurrence it resumes to', async () => {
      const scheduler = await currentHarness().createInstance();
      const rerun: ScheduledOccurrence = {
        ...occurrenceOf('report', -60_000, 3),
        runAt: instantAt(10),
        cause: 'rerun',
        requestedBy: 'console:alice',
        resume: { occurrenceAt: instantAt(60_000), runAt: instantAt(60_000), attempt: 1, cause: 'schedule' },
      };
      await scheduler.schedule(rerun);
      expect(await scheduler.getPending('report')).toEqual(rerun);
    });

    it('replaces the pending occurrence only while it is the expected attempt', async () => {
      const harness = currentHarness();
      const scheduler = await harness.createInstance();
      await scheduler.schedule(occurrenceOf('report', 0));
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 0, 2), occurrenceOf('report', 60_000))).toBe(false);
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 5000), occurrenceOf('report', 60_000))).toBe(false);
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 0));
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 0), occurrenceOf('report', 60_000))).toBe(true);
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 60_000));
      expect(await scheduler.replaceIfCurrent(occurrenceOf('other', 0), occurrenceOf('other', 60_000))).toBe(false);
      expect(await scheduler.getPending('other')).toBeNull();
      expect(await harness.countPendingRecords('report')).toBe(1);
    });

    it('hands an occurrence over with the same condition as a plain replacement', async () => {
      const harness = currentHarness();
      const scheduler = await harness.createInstance();
      await scheduler.schedule(occurrenceOf('report', 0));
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 5000), occurrenceOf('report', 60_000), { handOver: true })).toBe(false);
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 0));
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 0), occurrenceOf('report', 60_000), { handOver: true })).toBe(true);
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 60_000));
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 0), occurrenceOf('report', 120_000), { handOver: true })).toBe(false);
      expect(await harness.countPendingRecords('report')).toBe(1);
    });

    it('lets exactly one of concurrent conditional replacements of one attempt win', async () => {
      const harness = currentHarness();
      const schedulers = await Promise.all([0, 1, 2].map(() => harness.createInstance()));
      for (let round = 0; round < 5; round += 1) {
        const jobName = `contended-cas-${round}`;
        await schedulers[0]!.schedule(occurrenceOf(jobName, 0));
        const candidates = [...schedulers, ...schedulers].map((_, index) => occurrenceOf(jobName, (index + 1) * 1000));
        const outcomes = await Promise.all(
          candidates.map((candidate, index) => schedulers[index % schedulers.length]!.replaceIfCurrent(occurrenceOf(jobName, 0), candidate)),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        expect(await schedulers[1]!.getPending(jobName)).toEqual(candidates[outcomes.indexOf(true)]);
      }
    });

    it('moves the resume point of a pending rerun only while it is the expected attempt', async () => {
      const scheduler = await currentHarness().createInstance();
      const running = occurrenceOf('report', 0);
      const rerun: ScheduledOccurrence = {
        ...occurrenceOf('report', -60_000, 2),
        cause: 'rerun',
        requestedBy: 'cli:bob',
        resume: { occurrenceAt: running.occurrenceAt, runAt: running.runAt, attempt: 1, cause: 'schedule' },
      };
      await scheduler.schedule(rerun);
      const next = { occurrenceAt: instantAt(60_000), runAt: instantAt(60_000), attempt: 1, cause: 'schedule' as const };
      expect(await scheduler.replaceResumeIfCurrent('report', occurrenceOf('report', 5000), next)).toBe(false);
      expect(await scheduler.replaceResumeIfCurrent('report', running, next)).toBe(true);
      expect(await scheduler.getPending('report')).toEqual({ ...rerun, resume: next });
      expect(await scheduler.replaceResumeIfCurrent('report', running, next)).toBe(false);
      expect(await scheduler.replaceResumeIfCurrent('missing', running, next)).toBe(false);
    });

    it('writes an execution record with a replacement, and only when the replacement is made', async () => {
      const scheduler = await currentHarness().createInstance();
      await scheduler.schedule(occurrenceOf('report', 0));
      const record = executionOf('report', 0);
      const options = { handOver: true, record };
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 5000), occurrenceOf('report', 60_000), options)).toBe(false);
      expect(await scheduler.getLastExecution('report')).toBeNull();
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 0), occurrenceOf('report', 60_000), options)).toBe(true);
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 60_000));
      expect(await scheduler.getLastExecution('report')).toEqual(record);
      expect(await scheduler.listExecutions()).toEqual([record]);
    });

    it('makes no replacement carrying a record older than the stored one', async () => {
      const scheduler = await currentHarness().createInstance();
      await scheduler.upsertExecution(executionOf('report', 60_000, instanceB));
      await scheduler.schedule(occurrenceOf('report', 0));
      expect(
        await scheduler.replaceIfCurrent(occurrenceOf('report', 0), occurrenceOf('report', 60_000), {
          record: executionOf('report', 0),
        }),
      ).toBe(false);
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 0));
      expect(await scheduler.getLastExecution('report')).toEqual(executionOf('report', 60_000, instanceB));
      // The same record again (a takeover's completion) is not older: it applies.
      expect(
        await scheduler.replaceIfCurrent(occurrenceOf('report', 0), occurrenceOf('report', 120_000), {
          record: executionOf('report', 60_000, instanceA),
        }),
      ).toBe(true);
      expect(await scheduler.getLastExecution('report')).toEqual(executionOf('report', 60_000, instanceA));
    });

    it('writes an execution record with a resume replacement, and only when it is made', async () => {
      const scheduler = await currentHarness().createInstance();
      const running = occurrenceOf('report', 0);
      const rerun: ScheduledOccurrence = {
        ...occurrenceOf('report', -60_000, 2),
        cause: 'rerun',
        requestedBy: 'cli:bob',
        resume: { occurrenceAt: running.occurrenceAt, runAt: running.runAt, attempt: 1, cause: 'schedule' },
      };
      await scheduler.schedule(rerun);
      const next = { occurrenceAt: instantAt(60_000), runAt: instantAt(60_000), attempt: 1, cause: 'schedule' as const };
      const record = executionOf('report', 0);
      expect(await scheduler.replaceResumeIfCurrent('report', occurrenceOf('report', 5000), next, { record })).toBe(false);
      expect(await scheduler.getLastExecution('report')).toBeNull();
      expect(await scheduler.replaceResumeIfCurrent('report', running, next, { record })).toBe(true);
      expect(await scheduler.getPending('report')).toEqual({ ...rerun, resume: next });
      expect(await scheduler.getLastExecution('report')).toEqual(record);
    });

    it('keeps the execution record when the pending occurrence is cancelled or scheduled again', async () => {
      const harness = currentHarness();
      const scheduler = await harness.createInstance();
      await scheduler.schedule(occurrenceOf('report', 0));
      const record = executionOf('report', 0);
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 0), occurrenceOf('report', 60_000), { record })).toBe(true);
      expect(await scheduler.cancel('report')).toBe(true);
      expect(await scheduler.getPending('report')).toBeNull();
      expect(await harness.countPendingRecords('report')).toBe(0);
      expect(await scheduler.getLastExecution('report')).toEqual(record);
      // A cancelled occurrence is no longer the expected one: its completion moves nothing.
      expect(await scheduler.replaceIfCurrent(occurrenceOf('report', 60_000), occurrenceOf('report', 120_000))).toBe(false);
      expect(await scheduler.getPending('report')).toBeNull();
      await scheduler.schedule(occurrenceOf('report', 120_000));
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 120_000));
      expect(await scheduler.getLastExecution('report')).toEqual(record);
      expect(await harness.countPendingRecords('report')).toBe(1);
    });

    it('keeps the pending occurrence when a record is upserted, and a record alone is not pending', async () => {
      const harness = currentHarness();
      const scheduler = await harness.createInstance();
      await scheduler.schedule(occurrenceOf('report', 0));
      expect(await scheduler.upsertExecution(executionOf('report', -60_000))).toBe(true);
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 0));
      expect(await scheduler.upsertExecution(executionOf('recorded-only', 0))).toBe(true);
      expect(await scheduler.getPending('recorded-only')).toBeNull();
      expect(await harness.countPendingRecords('recorded-only')).toBe(0);
      expect(await scheduler.cancel('recorded-only')).toBe(false);
      await scheduler.schedule(occurrenceOf('recorded-only', 60_000));
      expect(await scheduler.getPending('recorded-only')).toEqual(occurrenceOf('recorded-only', 60_000));
      expect(await scheduler.getLastExecution('recorded-only')).toEqual(executionOf('recorded-only', 0));
      expect(await harness.countPendingRecords('recorded-only')).toBe(1);
    });

    it('rejects a record of another job or with an invalid field, writing nothing', async () => {
      const scheduler = await currentHarness().createInstance();
      await scheduler.schedule(occurrenceOf('report', 0));
      await expect(
        scheduler.replaceIfCurrent(occurrenceOf('report', 0), occurrenceOf('report', 60_000), {
          record: executionOf('other', 0),
        }),
      ).rejects.toThrow(/record\.jobName/u);
      await expect(
        scheduler.replaceIfCurrent(occurrenceOf('report', 0), occurrenceOf('report', 60_000), {
          record: { ...executionOf('report', 0), lastExecutedAt: new Date(Number.NaN) },
        }),
      ).rejects.toThrow(/lastExecutedAt/u);
      expect(await scheduler.getPending('report')).toEqual(occurrenceOf('report', 0));
      expect(await scheduler.getLastExecution('report')).toBeNull();
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
      expect(await repository.upsertExecution(executionOf('cleanup', 0, instanceA))).toBe(true);
      expect(await repository.upsertExecution(executionOf('cleanup', 60_000, instanceB))).toBe(true);
      expect(await repository.getLastExecution('cleanup')).toEqual(
        executionOf('cleanup', 60_000, instanceB),
      );
      expect(await repository.listExecutions()).toHaveLength(1);
    });

    it('refuses to replace a record of a later occurrence with an earlier one', async () => {
      const repository = await currentHarness().createInstance();
      expect(await repository.upsertExecution(executionOf('cleanup', 60_000, instanceB))).toBe(true);
      expect(await repository.upsertExecution(executionOf('cleanup', 0, instanceA))).toBe(false);
      expect(await repository.getLastExecution('cleanup')).toEqual(executionOf('cleanup', 60_000, instanceB));
      expect(await repository.upsertExecution(executionOf('cleanup', 60_000, instanceA))).toBe(true);
      expect(await repository.getLastExecution('cleanup')).toEqual(executionOf('cleanup', 60_000, instanceA));
    });

    it('lists every job sorted by name', async () => {
      const repository = await currentHarness().createInstance();
      await repository.upsertExecution(executionOf('zeta', 0));
      await repository.upsertExecution(executionOf('alpha', 0));
      await repository.upsertExecution(executionOf('mid', 0));
      const names = (await repository.listExecutions()).map((execution) => execution.jobName);
      expect(names).toEqual(['alpha', 'mid', 'zeta']);
    });

    it('rejects an invalid execution with an error naming the field, storing nothing', async () => {
      const repository = await currentHarness().createInstance();
      await expect(repository.upsertExecution({ ...executionOf('cleanup', 0), jobName: '' })).rejects.toThrow(/jobName/u);
      await expect(
        repository.upsertExecution({ ...executionOf('cleanup', 0), lastOccurrenceAt: new Date(Number.NaN) }),
      ).rejects.toThrow(/lastOccurrenceAt/u);
      await expect(
        repository.upsertExecution({ ...executionOf('cleanup', 0), nextScheduledAt: new Date(Number.NaN) }),
      ).rejects.toThrow(/nextScheduledAt/u);
      expect(await repository.listExecutions()).toEqual([]);
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
      // One record, and the latest occurrence's: an earlier one never replaces a later one.
      expect(executions).toEqual([executionOf('contended', 2000)]);
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

    const claimInput = (
      jobName: string,
      occurrenceOffsetMs: number,
      attempt: number,
      startOffsetMs = 0,
    ): ClaimRunInput => ({
      jobName,
      occurrenceAt: instantAt(occurrenceOffsetMs),
      attempt,
      cause: attempt > 1 ? 'retry' : 'schedule',
      requestedBy: null,
      instance: instanceA,
      instanceId: 'instance-a',
      startedAt: instantAt(startOffsetMs),
      leaseExpiresAt: instantAt(startOffsetMs + 30_000),
    });
    const finishedRun = async (
      ledger: JobRunLedger,
      input: ClaimRunInput,
      status: 'succeeded' | 'failed',
      finishedOffsetMs: number,
    ): Promise<JobRun> => {
      const run = claimedRun(await ledger.claim(input));
      await ledger.finish(run.runId, { status, finishedAt: instantAt(finishedOffsetMs), durationMs: finishedOffsetMs });
      return (await ledger.getRun(run.runId))!;
    };

    it('claims a new attempt as a running run that this instance owns', async () => {
      const ledger = await currentHarness().createInstance();
      const run = claimedRun(
        await ledger.claim({ ...claimInput('cleanup', 0, 2), cause: 'rerun', requestedBy: 'console:alice' }),
      );
      expect(run).toMatchObject({
        jobName: 'cleanup',
        occurrenceAt: instantAt(0),
        attempt: 2,
        cause: 'rerun',
        requestedBy: 'console:alice',
        status: 'running',
        instance: instanceA,
        instanceId: 'instance-a',
        startedAt: instantAt(0),
        leaseExpiresAt: instantAt(30_000),
        finishedAt: null,
        durationMs: null,
        error: null,
        result: null,
        progress: null,
        traceId: null,
      });
      expect(typeof run.runId).toBe('string');
      expect(await ledger.getRun(run.runId)).toEqual(run);
    });

    it('refuses a second claim of the same attempt and returns the existing run', async () => {
      const ledger = await currentHarness().createInstance();
      const first = claimedRun(await ledger.claim(claimInput('cleanup', 0, 1)));
      const second = existingRun(
        await ledger.claim({ ...claimInput('cleanup', 0, 1), instance: instanceB, instanceId: 'instance-b' }),
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

    it('finishes a running run once, with duration, error, result and trace id', async () => {
      const ledger = await currentHarness().createInstance();
      const run = claimedRun(await ledger.claim(claimInput('cleanup', 0, 1)));
      const finished = await ledger.finish(run.runId, {
        status: 'failed',
        finishedAt: instantAt(2500),
        durationMs: 2500,
        error: { name: 'Error', message: 'smtp down', stack: 'Error: smtp down\n    at send' },
        result: { sent: 3, note: 'partial', complete: false },
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      });
      expect(finished).toBe(true);
      expect(await ledger.finish(run.runId, { status: 'succeeded', finishedAt: instantAt(3000), durationMs: 3000 })).toBe(false);
      expect(await ledger.getRun(run.runId)).toMatchObject({
        status: 'failed',
        finishedAt: instantAt(2500),
        durationMs: 2500,
        error: { name: 'Error', message: 'smtp down', stack: 'Error: smtp down\n    at send' },
        result: { sent: 3, note: 'partial', complete: false },
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      });
      expect(await ledger.finish('no-such-run', { status: 'failed', finishedAt: instantAt(1), durationMs: 1 })).toBe(false);
    });

    it('lets exactly one of concurrent finishes of one run decide its end', async () => {
      const harness = currentHarness();
      const ledgers = await Promise.all([0, 1, 2].map(() => harness.createInstance()));
      for (let round = 0; round < 5; round += 1) {
        const run = claimedRun(await ledgers[0]!.claim(claimInput('contended-finish', round, 1)));
        const statuses = ['succeeded', 'abandoned', 'failed', 'interrupted', 'succeeded', 'abandoned'] as const;
        const outcomes = await Promise.all(
          statuses.map((status, index) =>
            ledgers[index % ledgers.length]!.finish(run.runId, { status, finishedAt: instantAt(1000 + index), durationMs: 1000 + index }),
          ),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const winner = outcomes.indexOf(true);
        expect((await ledgers[2]!.getRun(run.runId))?.status).toBe(statuses[winner]);
      }
    });

    it('renews the leases of running runs in one call and names the ones no longer running', async () => {
      const ledger = await currentHarness().createInstance();
      const first = claimedRun(await ledger.claim(claimInput('cleanup', 0, 1)));
      const second = claimedRun(await ledger.claim(claimInput('cleanup', 1000, 1)));
      expect(await ledger.renewLeases([first.runId, second.runId], instantAt(90_000))).toEqual([]);
      expect((await ledger.getRun(first.runId))?.leaseExpiresAt).toEqual(instantAt(90_000));
      expect((await ledger.getRun(second.runId))?.leaseExpiresAt).toEqual(instantAt(90_000));
      await ledger.finish(first.runId, { status: 'abandoned', finishedAt: instantAt(1000), durationMs: 1000 });
      expect(await ledger.renewLeases([first.runId, second.runId], instantAt(120_000))).toEqual([first.runId]);
      expect((await ledger.getRun(first.runId))?.leaseExpiresAt).toEqual(instantAt(90_000));
      expect((await ledger.getRun(second.runId))?.leaseExpiresAt).toEqual(instantAt(120_000));
      expect(await ledger.renewLeases([], instantAt(150_000))).toEqual([]);
    });

    it('stores the progress of a running run only', async () => {
      const ledger = await currentHarness().createInstance();
      const run = claimedRun(await ledger.claim(claimInput('cleanup', 0, 1)));
      expect(await ledger.reportProgress(run.runId, { completed: 40, total: 100, message: 'sending' })).toBe(true);
      expect((await ledger.getRun(run.runId))?.progress).toEqual({ completed: 40, total: 100, message: 'sending' });
      await ledger.finish(run.runId, { status: 'succeeded', finishedAt: instantAt(500), durationMs: 500 });
      expect(await ledger.reportProgress(run.runId, { completed: 50 })).toBe(false);
      expect((await ledger.getRun(run.runId))?.progress).toEqual({ completed: 40, total: 100, message: 'sending' });
    });

    it('answers null for an unknown or malformed run id', async () => {
      const ledger = await currentHarness().createInstance();
      expect(await ledger.getRun('no-such-run')).toBeNull();
      expect(await ledger.getRun('')).toBeNull();
    });

    it('lists the attempts of one occurrence in attempt order', async () => {
      const ledger = await currentHarness().createInstance();
      await ledger.claim(claimInput('cleanup', 0, 2, 5000));
      await ledger.claim(claimInput('cleanup', 0, 1, 0));
      await ledger.claim(claimInput('cleanup', 0, 3, 9000));
      await ledger.claim(claimInput('cleanup', 1000, 1, 9500));
      const attempts = (await ledger.listOccurrenceRuns('cleanup', instantAt(0))).map((run) => run.attempt);
      expect(attempts).toEqual([1, 2, 3]);
    });

    it('pages a job history newest first with a cursor, without gaps or repeats, ties by id across page ends', async () => {
      const ledger = await currentHarness().createInstance();
      // Eight runs: a pair and a triple started at the same instant (the cursor must break the tie).
      const starts = [0, 1000, 1000, 2000, 3000, 3000, 3000, 4000];
      for (const [index, start] of starts.entries()) await ledger.claim(claimInput('cleanup', index * 10, 1, start));
      await ledger.claim(claimInput('other', 0, 1, 3000));
      const byHistoryOrder = (left: JobRun, right: JobRun) =>
        right.startedAt.getTime() - left.startedAt.getTime() || (left.runId < right.runId ? 1 : left.runId > right.runId ? -1 : 0);
      let expected: string[] | undefined;
      // Page sizes 2 and 3 put page ends inside the triple and the pair; 1 inside every tie.
      for (const limit of [1, 2, 3, 20]) {
        const seen: JobRun[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 20; page += 1) {
          const result = await ledger.listRuns({ jobName: 'cleanup', limit, ...(cursor === undefined ? {} : { cursor }) });
          expect(result.runs.length).toBeLessThanOrEqual(limit);
          seen.push(...result.runs);
          if (result.nextCursor === null) break;
          cursor = result.nextCursor;
        }
        expect(seen).toHaveLength(8);
        expect(seen.every((run) => run.jobName === 'cleanup')).toBe(true);
        expect(seen.map((run) => run.runId)).toEqual([...seen].sort(byHistoryOrder).map((run) => run.runId));
        expected ??= seen.map((run) => run.runId);
        expect(seen.map((run) => run.runId)).toEqual(expected);
      }
    });

    it('filters a job history by status and start range', async () => {
      const ledger = await currentHarness().createInstance();
      await finishedRun(ledger, claimInput('cleanup', 0, 1, 0), 'succeeded', 100);
      await finishedRun(ledger, claimInput('cleanup', 1000, 1, 1000), 'failed', 1100);
      await finishedRun(ledger, claimInput('cleanup', 2000, 1, 2000), 'failed', 2100);
      await ledger.claim(claimInput('cleanup', 3000, 1, 3000));
      const failed = await ledger.listRuns({ jobName: 'cleanup', statuses: ['failed'], limit: 10 });
      expect(failed.runs.map((run) => run.startedAt)).toEqual([instantAt(2000), instantAt(1000)]);
      expect(failed.nextCursor).toBeNull();
      const finishedOrRunning = await ledger.listRuns({
        jobName: 'cleanup',
        statuses: ['succeeded', 'running'],
        limit: 10,
      });
      expect(finishedOrRunning.runs.map((run) => run.status)).toEqual(['running', 'succeeded']);
      const ranged = await ledger.listRuns({
        jobName: 'cleanup',
        startedFrom: instantAt(1000),
        startedBefore: instantAt(3000),
        limit: 10,
      });
      expect(ranged.runs.map((run) => run.startedAt)).toEqual([instantAt(2000), instantAt(1000)]);
    });

    it('rejects a malformed history query with an error naming the problem', async () => {
      const ledger = await currentHarness().createInstance();
      await expect(ledger.listRuns({ jobName: 'cleanup', limit: 0 })).rejects.toThrow(/limit/u);
      await expect(ledger.listRuns({ jobName: 'cleanup', limit: 5, cursor: 'not a cursor' })).rejects.toThrow(
        /cursor/u,
      );
      await expect(
        ledger.listRuns({ jobName: 'cleanup', limit: 5, startedFrom: instantAt(10), startedBefore: instantAt(0) }),
      ).rejects.toThrow(/startedFrom/u);
    });

    it('lists the newest run of each named job, sorted by job name', async () => {
      const ledger = await currentHarness().createInstance();
      await ledger.claim(claimInput('zeta', 0, 1, 0));
      await ledger.claim(claimInput('zeta', 1000, 1, 1000));
      await ledger.claim(claimInput('alpha', 0, 1, 500));
      await ledger.claim(claimInput('unlisted', 0, 1, 5000));
      const latest = await ledger.listLatestRunPerJob(['zeta', 'alpha', 'never-ran']);
      expect(latest.map((run) => [run.jobName, run.occurrenceAt])).toEqual([
        ['alpha', instantAt(0)],
        ['zeta', instantAt(1000)],
      ]);
      // Two runs started at the same newest instant: the one first in the history (greatest id).
      await ledger.claim(claimInput('zeta', 2000, 1, 3000));
      await ledger.claim(claimInput('zeta', 3000, 1, 3000));
      const [newestZeta] = (await ledger.listRuns({ jobName: 'zeta', limit: 1 })).runs;
      expect((await ledger.listLatestRunPerJob(['zeta']))[0]?.runId).toBe(newestZeta?.runId);
    });

    it('prunes finished runs older than the cutoff in batches, never a running one', async () => {
      const ledger = await currentHarness().createInstance();
      for (let index = 0; index < 5; index += 1) {
        await finishedRun(ledger, claimInput('cleanup', index * 1000, 1), 'succeeded', 1000 + index);
      }
      await finishedRun(ledger, claimInput('cleanup', 9000, 1), 'failed', 5000);
      await ledger.claim(claimInput('cleanup', 10_000, 1, -100_000));
      expect(await ledger.pruneFinishedBefore(instantAt(5000), 3)).toBe(3);
      expect(await ledger.pruneFinishedBefore(instantAt(5000), 3)).toBe(2);
      expect(await ledger.pruneFinishedBefore(instantAt(5000), 3)).toBe(0);
      const remaining = await ledger.listRuns({ jobName: 'cleanup', limit: 10 });
      expect(remaining.runs.map((run) => run.occurrenceAt.getTime()).sort((left, right) => left - right)).toEqual([
        instantAt(9000).getTime(),
        instantAt(10_000).getTime(),
      ]);
    });
  });
}

const registryInstant = (offsetMs: number) => instantAt(offsetMs);

function identityOf(instanceId: string, hostName = 'worker-a'): WorkerInstanceIdentity {
  return { instanceId, hostName, processId: 4242, version: '1.2.3', startedAt: registryInstant(-60_000) };
}

/** Registers the `InstanceRegistry` suite. */
export function describeInstanceRegistryConformance(
  implementationName: string,
  setup: () => Promise<ConformanceHarness<InstanceRegistry>>,
): void {
  describe(`InstanceRegistry conformance: ${implementationName}`, () => {
    const currentHarness = withHarness(setup);

    it('records heartbeats with the runs in flight and lists the most recent first', async () => {
      const registry = await currentHarness().createInstance();
      const run = { runId: 'run-1', jobName: 'cleanup', occurrenceAt: registryInstant(0), attempt: 1, startedAt: registryInstant(5) };
      await registry.heartbeat(identityOf('first'), registryInstant(1000), [run]);
      await registry.heartbeat(identityOf('second', 'worker-b'), registryInstant(2000), []);
      await registry.heartbeat(identityOf('first'), registryInstant(3000), [run]);
      const listed = await registry.list(10);
      expect(listed.map((record) => record.instanceId)).toEqual(['first', 'second']);
      expect(listed[0]).toEqual({ ...identityOf('first'), heartbeatAt: registryInstant(3000), stoppedAt: null, runsInFlight: [run] });
      expect(await registry.list(1)).toHaveLength(1);
    });

    it('marks an instance stopped and prunes the silent ones in batches', async () => {
      const registry = await currentHarness().createInstance();
      for (let index = 0; index < 4; index += 1) {
        await registry.heartbeat(identityOf(`old-${index}`), registryInstant(index), []);
      }
      await registry.heartbeat(identityOf('recent'), registryInstant(100_000), []);
      await registry.markStopped('old-0', registryInstant(50));
      expect((await registry.list(10)).find((record) => record.instanceId === 'old-0')?.stoppedAt).toEqual(
        registryInstant(50),
      );
      expect(await registry.pruneSilentBefore(registryInstant(10_000), 3)).toBe(3);
      expect(await registry.pruneSilentBefore(registryInstant(10_000), 3)).toBe(1);
      expect((await registry.list(10)).map((record) => record.instanceId)).toEqual(['recent']);
    });
  });
}
