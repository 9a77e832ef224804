import { describe, expect, it } from 'vitest';
import {
  assertValidOccurrence,
  currentInstance,
  DefaultRecurringJobService,
  formatInstance,
  occurrenceKey,
  silentJobLogger,
  toJobRunError,
  type JobTiming,
  type ReplaceOptions,
  type RecurringJobExecution,
  type ScheduledOccurrence,
} from '../src/index.js';
import { FakeClock, InMemoryMessageScheduler } from '../src/testing/index.js';

const minute = 60_000;
const hour = 60 * minute;
const start = new Date('2026-05-10T08:30:00.000Z');
const jobName = 'RefreshTokenCleanupJob';
const hourly: JobTiming = { schedule: { kind: 'interval', everyMs: hour }, misfire: { kind: 'once' } };
const quarterly: JobTiming = {
  schedule: { kind: 'cron', expression: '*/15 * * * *', timeZone: 'UTC' },
  misfire: { kind: 'once' },
};
const worker = { hostName: 'worker-1', processId: 4242 };

function createService(clock = new FakeClock(start)) {
  const scheduler = new InMemoryMessageScheduler();
  const service = new DefaultRecurringJobService({ scheduler, clock });
  // The scheduler keeps the execution records too.
  return { service, repository: scheduler, scheduler, clock };
}

function executionAt(lastExecutedAt: Date, lastOccurrenceAt = lastExecutedAt): RecurringJobExecution {
  return { jobName, lastExecutedAt, lastOccurrenceAt, nextScheduledAt: null, lastExecutedBy: worker };
}

function occurrence(overrides: Partial<ScheduledOccurrence> = {}): ScheduledOccurrence {
  return {
    jobName,
    occurrenceAt: start,
    runAt: start,
    attempt: 1,
    cause: 'schedule',
    requestedBy: null,
    resume: null,
    timing: { ...hourly, since: new Date(0) },
    ...overrides,
  };
}

const withoutSince = (value: ScheduledOccurrence | null) =>
  value === null ? null : { ...value, timing: value.timing === null || value.timing === undefined ? value.timing : { schedule: value.timing.schedule, misfire: value.timing.misfire } };

describe('DefaultRecurringJobService.ensureScheduled', () => {
  it('schedules a job never executed, recording its timing and when it was adopted', async () => {
    const { service, scheduler } = createService();
    const result = await service.ensureScheduled({ jobName, timing: hourly }, start);
    expect(result.change).toBe('created');
    expect(result.pending.runAt).toEqual(start);
    expect(result.pending.timing).toEqual({ ...hourly, since: start });
    expect(await scheduler.getPending(jobName)).toEqual(result.pending);
  });

  it('schedules an executed job at its last start + interval', async () => {
    const { service, scheduler, repository } = createService();
    const lastStart = new Date(start.getTime() - 20 * minute);
    await repository.upsertExecution(executionAt(lastStart));
    await service.ensureScheduled({ jobName, timing: hourly }, start);
    expect((await scheduler.getPending(jobName))?.runAt).toEqual(new Date(lastStart.getTime() + hour));
  });

  it('leaves one pending occurrence after ten start-ups, and does not move it', async () => {
    const { service, scheduler, clock } = createService();
    const first = await service.ensureScheduled({ jobName, timing: hourly }, start);
    for (let startUp = 0; startUp < 9; startUp += 1) {
      clock.advance(7 * minute);
      expect((await service.ensureScheduled({ jobName, timing: hourly }, clock.now())).change).toBe('kept');
    }
    expect(await scheduler.getPending(jobName)).toEqual(first.pending);
    expect(scheduler.scheduledLog).toHaveLength(1);
  });

  it('keeps a pending retry, run now or rerun on the same timing as it is', async () => {
    for (const cause of ['retry', 'trigger', 'rerun'] as const) {
      const { service, scheduler } = createService();
      const pending = occurrence({ cause, attempt: cause === 'retry' ? 3 : 1, requestedBy: cause === 'retry' ? null : 'cli:ops' });
      await scheduler.schedule(pending);
      expect(await service.ensureScheduled({ jobName, timing: hourly }, start)).toEqual({ pending, change: 'kept' });
    }
  });

  it('replaces the pending occurrence of a changed schedule by the new schedule next slot', async () => {
    const { service, scheduler, repository, clock } = createService();
    await repository.upsertExecution(executionAt(new Date(start.getTime() - 10 * minute)));
    await scheduler.schedule(occurrence({ occurrenceAt: new Date(start.getTime() + 50 * minute), runAt: new Date(start.getTime() + 50 * minute) }));
    clock.advance(minute);
    const result = await service.ensureScheduled({ jobName, timing: quarterly }, clock.now());
    expect(result.change).toBe('rescheduled');
    expect(result.pending.occurrenceAt).toEqual(new Date('2026-05-10T08:30:00.000Z'));
    expect(result.pending.timing).toEqual({ ...quarterly, since: clock.now() });
    expect(await scheduler.getPending(jobName)).toEqual(result.pending);
  });

  it('keeps a retry pending across a schedule change, on the new timing', async () => {
    const { service, scheduler } = createService();
    const retry = occurrence({ cause: 'retry', attempt: 2, runAt: new Date(start.getTime() + minute) });
    await scheduler.schedule(retry);
    const result = await service.ensureScheduled({ jobName, timing: quarterly }, start);
    expect(result.change).toBe('timing-adopted');
    expect(withoutSince(result.pending)).toEqual({ ...retry, timing: quarterly });
  });

  it('points a pending rerun to the new schedule when the schedule changed', async () => {
    const { service, scheduler, repository } = createService();
    await repository.upsertExecution(executionAt(new Date('2026-05-10T08:20:00Z')));
    const rerun = occurrence({
      occurrenceAt: new Date('2026-05-09T00:00:00Z'),
      attempt: 4,
      cause: 'rerun',
      requestedBy: 'console:alice',
      resume: { occurrenceAt: new Date('2026-05-10T09:20:00Z'), runAt: new Date('2026-05-10T09:20:00Z'), attempt: 1, cause: 'schedule' },
    });
    await scheduler.schedule(rerun);
    const result = await service.ensureScheduled({ jobName, timing: quarterly }, start);
    expect(result.pending.cause).toBe('rerun');
    expect(result.pending.resume?.occurrenceAt).toEqual(new Date('2026-05-10T08:30:00Z'));
  });

  it('follows a timing adopted after this replica started instead of switching it back', async () => {
    const { service, scheduler, clock } = createService();
    const replicaStartedAt = start;
    clock.advance(5 * minute);
    const newer = occurrence({ timing: { ...quarterly, since: clock.now() } });
    await scheduler.schedule(newer);
    const result = await service.ensureScheduled({ jobName, timing: hourly }, replicaStartedAt);
    expect(result).toEqual({ pending: newer, change: 'timing-deferred' });
    expect(scheduler.scheduledLog).toHaveLength(1);
  });

  it('adopts the configured timing on an occurrence written before timings were recorded', async () => {
    const { service, scheduler, repository } = createService();
    const lastStart = new Date(start.getTime() - 10 * minute);
    await repository.upsertExecution(executionAt(lastStart));
    const legacy = occurrence({ occurrenceAt: new Date(lastStart.getTime() + hour), runAt: new Date(lastStart.getTime() + hour), timing: null });
    await scheduler.schedule(legacy);
    const result = await service.ensureScheduled({ jobName, timing: hourly }, start);
    expect(result.change).toBe('timing-adopted');
    expect(result.pending).toEqual({ ...legacy, timing: { ...hourly, since: start } });
  });

  it('rejects an invalid timing naming the job before touching storage', async () => {
    const { service, scheduler } = createService();
    await expect(
      service.ensureScheduled({ jobName, timing: { schedule: { kind: 'interval', everyMs: -5 }, misfire: { kind: 'once' } } }, start),
    ).rejects.toThrow(new RegExp(jobName, 'u'));
    await expect(
      service.ensureScheduled({ jobName, timing: { ...hourly, misfire: { kind: 'catch-up', windowMs: hour, maxRuns: 5 } } }, start),
    ).rejects.toThrow(/cron/u);
    expect(scheduler.scheduledLog).toHaveLength(0);
  });
});

describe('DefaultRecurringJobService.completeOccurrence', () => {
  const completion = (handed: ScheduledOccurrence, overrides: Partial<Parameters<DefaultRecurringJobService['completeOccurrence']>[0]> = {}) => ({
    occurrence: handed,
    timing: handed.timing ?? hourly,
    outcome: 'succeeded' as const,
    attempt: handed.attempt,
    retryDelayMs: null,
    startedAt: handed.runAt,
    executedBy: worker,
    ...overrides,
  });

  it('records the execution and advances to the next occurrence', async () => {
    const { service, scheduler, repository } = createService();
    const handed = occurrence();
    await scheduler.schedule(handed);
    const result = await service.completeOccurrence(completion(handed));
    const nextSlot = new Date(start.getTime() + hour);
    expect(result.applied).toBe('advanced');
    expect(result.next).toMatchObject({ occurrenceAt: nextSlot, runAt: nextSlot, attempt: 1, cause: 'schedule' });
    expect(await scheduler.getPending(jobName)).toEqual(result.next);
    expect(await repository.getLastExecution(jobName)).toEqual({
      jobName,
      lastExecutedAt: start,
      lastOccurrenceAt: start,
      nextScheduledAt: nextSlot,
      lastExecutedBy: worker,
    });
  });

  it('hands the next occurrence and a retry over in one write each, the record in the same write', async () => {
    const writes: string[] = [];
    const scheduler = new (class extends InMemoryMessageScheduler {
      override replaceIfCurrent(expected: ScheduledOccurrence, next: ScheduledOccurrence, options?: ReplaceOptions) {
        writes.push(`replace handOver=${String(options?.handOver)} record=${options?.record === undefined ? 'no' : 'yes'}`);
        return super.replaceIfCurrent(expected, next, options);
      }
      override upsertExecution(execution: RecurringJobExecution) {
        writes.push('upsertExecution');
        return super.upsertExecution(execution);
      }
    })();
    const service = new DefaultRecurringJobService({ scheduler, clock: new FakeClock(start) });
    const handed = occurrence();
    await scheduler.schedule(handed);
    const retry = await service.completeOccurrence(completion(handed, { outcome: 'failed', retryDelayMs: 1000 }));
    await service.completeOccurrence(completion(retry.next));
    expect(writes).toEqual(['replace handOver=true record=no', 'replace handOver=true record=yes']);
    expect(await scheduler.getLastExecution(jobName)).toMatchObject({ lastOccurrenceAt: start });
    // Start-up's replacement is not a completion: a run in flight keeps its hold.
    await service.ensureScheduled({ jobName, timing: quarterly }, start);
    expect(writes.at(-1)).toBe('replace handOver=undefined record=no');
  });

  it('schedules the retry of a failure with attempts left, without recording an execution', async () => {
    const { service, scheduler, repository } = createService();
    const handed = occurrence();
    await scheduler.schedule(handed);
    const result = await service.completeOccurrence(completion(handed, { outcome: 'failed', retryDelayMs: 30_000, attempt: 2 }));
    expect(result.next).toMatchObject({ occurrenceAt: start, attempt: 3, cause: 'retry', runAt: new Date(start.getTime() + 30_000) });
    expect(await scheduler.getPending(jobName)).toEqual(result.next);
    expect(await repository.getLastExecution(jobName)).toBeNull();
  });

  it('moves on to the next occurrence after the last attempt failed', async () => {
    const { service, scheduler, repository } = createService();
    const handed = occurrence({ attempt: 3, cause: 'retry' });
    await scheduler.schedule(handed);
    const result = await service.completeOccurrence(completion(handed, { outcome: 'failed' }));
    expect(result.next).toMatchObject({ occurrenceAt: new Date(start.getTime() + hour), cause: 'schedule', attempt: 1 });
    expect((await repository.getLastExecution(jobName))?.lastOccurrenceAt).toEqual(start);
  });

  it('keeps a newer pending occurrence (an operator run during the run) and still records', async () => {
    const { service, scheduler, repository, clock } = createService();
    const handed = occurrence();
    const trigger = occurrence({ occurrenceAt: new Date(start.getTime() + 5000), runAt: new Date(start.getTime() + 5000), cause: 'trigger', requestedBy: 'cli:ops' });
    await scheduler.schedule(trigger);
    clock.advance(10_000);
    const result = await service.completeOccurrence(completion(handed));
    expect(result.applied).toBe('kept');
    expect(await scheduler.getPending(jobName)).toEqual(trigger);
    expect((await repository.getLastExecution(jobName))?.lastOccurrenceAt).toEqual(start);
  });

  it('makes a rerun put in front of a running occurrence resume to what follows it', async () => {
    const { service, scheduler } = createService();
    const running = occurrence();
    const rerun = occurrence({
      occurrenceAt: new Date('2026-05-09T00:00:00Z'),
      attempt: 3,
      cause: 'rerun',
      requestedBy: 'console:alice',
      resume: { occurrenceAt: running.occurrenceAt, runAt: running.runAt, attempt: 1, cause: 'schedule' },
    });
    await scheduler.schedule(rerun);
    const result = await service.completeOccurrence(completion(running));
    expect(result.applied).toBe('resume-updated');
    const pending = await scheduler.getPending(jobName);
    expect(pending?.cause).toBe('rerun');
    expect(pending?.resume).toEqual({ occurrenceAt: result.next.occurrenceAt, runAt: result.next.runAt, attempt: 1, cause: 'schedule' });
  });

  it('continues the chain where it was after a rerun, without moving the execution record', async () => {
    const { service, scheduler, repository } = createService();
    await repository.upsertExecution(executionAt(new Date(start.getTime() - 10 * minute)));
    const resumeAt = new Date(start.getTime() + 50 * minute);
    const rerun = occurrence({
      occurrenceAt: new Date('2026-05-09T00:00:00Z'),
      attempt: 3,
      cause: 'rerun',
      requestedBy: 'console:alice',
      resume: { occurrenceAt: resumeAt, runAt: resumeAt, attempt: 1, cause: 'schedule' },
    });
    await scheduler.schedule(rerun);
    for (const outcome of ['succeeded', 'failed'] as const) {
      await scheduler.schedule(rerun);
      const result = await service.completeOccurrence(completion(rerun, { outcome, retryDelayMs: null }));
      expect(result.next).toMatchObject({ occurrenceAt: resumeAt, runAt: resumeAt, cause: 'schedule', requestedBy: null, resume: null });
      expect(await scheduler.getPending(jobName)).toEqual(result.next);
      expect((await repository.getLastExecution(jobName))?.lastOccurrenceAt).toEqual(new Date(start.getTime() - 10 * minute));
    }
  });

  it('gives a healing replica and the run owner the same next occurrence, in either order', async () => {
    const { service, scheduler, repository } = createService();
    const handed = occurrence();
    await scheduler.schedule(handed);
    const owner = await service.completeOccurrence(completion(handed));
    const healer = await service.completeOccurrence(completion(handed));
    expect(healer.applied).toBe('kept');
    expect(await scheduler.getPending(jobName)).toEqual(owner.next);
    expect(await repository.getLastExecution(jobName)).toMatchObject({ lastOccurrenceAt: start });
  });

  it('never moves the execution record back for a stale completion', async () => {
    const { service, repository, scheduler } = createService();
    const later = new Date(start.getTime() + 2 * hour);
    await repository.upsertExecution(executionAt(later));
    const stale = occurrence();
    await scheduler.schedule(stale);
    const result = await service.completeOccurrence(completion(stale));
    expect((await repository.getLastExecution(jobName))?.lastOccurrenceAt).toEqual(later);
    expect(result.next.occurrenceAt).toEqual(new Date(later.getTime() + hour));
  });
});

describe('DefaultRecurringJobService.applyMisfire', () => {
  const everyQuarterSkip: JobTiming = { ...quarterly, misfire: { kind: 'skip' } };

  it('replaces a missed pending slot as its policy says, once, and leaves an on-time one alone', async () => {
    const { service, scheduler, clock } = createService(new FakeClock(new Date('2026-05-10T08:31:00Z')));
    const missed = occurrence({ occurrenceAt: new Date('2026-05-10T06:00:00Z'), runAt: new Date('2026-05-10T06:00:00Z'), timing: everyQuarterSkip });
    await scheduler.schedule(missed);
    const replacement = await service.applyMisfire(missed, everyQuarterSkip);
    expect(replacement).toMatchObject({ occurrenceAt: new Date('2026-05-10T08:45:00Z') });
    expect(await scheduler.getPending(jobName)).toEqual(replacement);
    // A second replica handed the same stale occurrence finds the replacement pending.
    expect(await service.applyMisfire(missed, everyQuarterSkip)).toEqual(replacement);
    expect(scheduler.scheduledLog).toHaveLength(2);
    const onTime = occurrence({ occurrenceAt: new Date('2026-05-10T08:30:00Z'), timing: everyQuarterSkip });
    clock.set(new Date('2026-05-10T08:30:01Z'));
    expect(await service.applyMisfire(onTime, everyQuarterSkip)).toBeNull();
  });
});

describe('small helpers', () => {
  it('formats instances and occurrence keys', () => {
    expect(formatInstance(worker)).toBe('worker-1/4242');
    expect(occurrenceKey('job', start)).toBe('job@2026-05-10T08:30:00.000Z');
    expect(currentInstance().processId).toBe(process.pid);
  });

  it('turns errors and non-errors into ledger errors', () => {
    const withStack = toJobRunError(new RangeError('too far'));
    expect(withStack).toMatchObject({ name: 'RangeError', message: 'too far' });
    expect(withStack.stack).toContain('too far');
    const withoutStack = new Error('plain');
    delete withoutStack.stack;
    expect(toJobRunError(withoutStack)).toEqual({ name: 'Error', message: 'plain' });
    expect(toJobRunError('text')).toEqual({ name: 'NonError', message: 'text' });
  });

  it('has a silent logger that accepts every level', () => {
    for (const level of ['debug', 'info', 'warn', 'error'] as const) {
      expect(silentJobLogger[level]('message', { key: 1 })).toBeUndefined();
    }
  });

  it('fake clock moves only when told', () => {
    const clock = new FakeClock();
    const before = clock.now();
    expect(clock.advance(1000).getTime() - before.getTime()).toBe(1000);
    clock.set(start);
    expect(clock.now()).toEqual(start);
  });
});

describe('assertValidOccurrence', () => {
  it('accepts a valid occurrence and names the bad field of an invalid one', () => {
    const valid = occurrence();
    expect(() => assertValidOccurrence(valid)).not.toThrow();
    expect(() => assertValidOccurrence({ ...valid, occurrenceAt: new Date(Number.NaN) })).toThrow(/occurrenceAt/u);
    expect(() => assertValidOccurrence({ ...valid, cause: 'whim' as never })).toThrow(/cause/u);
    expect(() => assertValidOccurrence({ ...valid, attempt: 0 })).toThrow(/attempt/u);
  });
});
