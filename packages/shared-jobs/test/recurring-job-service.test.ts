import { describe, expect, it } from 'vitest';
import {
  assertValidOccurrence,
  assertValidSchedule,
  computeNextOccurrence,
  currentInstance,
  DefaultRecurringJobService,
  formatInstance,
  occurrenceKey,
  silentJobLogger,
  systemClock,
  toJobRunError,
  type RecurringJobExecution,
  type RecurringJobSchedule,
} from '../src/index.js';
import {
  FakeClock,
  InMemoryMessageScheduler,
  InMemoryRecurringJobRepository,
} from '../src/testing/index.js';

const minute = 60_000;
const hour = 60 * minute;
const start = new Date('2026-05-10T08:30:00.000Z');
const schedule: RecurringJobSchedule = { jobName: 'RefreshTokenCleanupJob', intervalMs: hour };
const worker = { hostName: 'worker-1', processId: 4242 };

function executionAt(lastExecutedAt: Date, lastOccurrenceAt = lastExecutedAt): RecurringJobExecution {
  return {
    jobName: schedule.jobName,
    lastExecutedAt,
    lastOccurrenceAt,
    nextScheduledAt: new Date(lastExecutedAt.getTime() + hour),
    lastExecutedBy: worker,
  };
}

function createService(clock = new FakeClock(start)) {
  const repository = new InMemoryRecurringJobRepository();
  const scheduler = new InMemoryMessageScheduler();
  const service = new DefaultRecurringJobService({ repository, scheduler, clock, instance: worker });
  return { service, repository, scheduler, clock };
}

describe('computeNextOccurrence', () => {
  it('makes the first occurrence of a job never executed due now, on the aligned slot', () => {
    const next = computeNextOccurrence(schedule, null, start);
    expect(next).toEqual({
      jobName: schedule.jobName,
      occurrenceAt: new Date('2026-05-10T08:00:00.000Z'),
      runAt: start,
      attempt: 1,
    });
  });

  it('gives instances starting in the same interval window the same first identity', () => {
    const early = computeNextOccurrence(schedule, null, new Date('2026-05-10T08:00:00.001Z'));
    const late = computeNextOccurrence(schedule, null, new Date('2026-05-10T08:59:59.999Z'));
    expect(early.occurrenceAt).toEqual(late.occurrenceAt);
  });

  it('schedules at lastExecutedAt + interval when that slot is in the future', () => {
    const lastExecutedAt = new Date(start.getTime() - 10 * minute);
    const next = computeNextOccurrence(schedule, executionAt(lastExecutedAt), start);
    const slot = new Date(lastExecutedAt.getTime() + hour);
    expect(next).toEqual({ jobName: schedule.jobName, occurrenceAt: slot, runAt: slot, attempt: 1 });
  });

  it('runs an overdue job once now, identified by the missed slot (policy once)', () => {
    const lastExecutedAt = new Date(start.getTime() - 5 * hour - 7 * minute);
    const next = computeNextOccurrence(schedule, executionAt(lastExecutedAt), start);
    expect(next.occurrenceAt).toEqual(new Date(lastExecutedAt.getTime() + hour));
    expect(next.runAt).toEqual(start);
  });

  it('treats a slot exactly at now as overdue and due now', () => {
    const lastExecutedAt = new Date(start.getTime() - hour);
    const next = computeNextOccurrence(schedule, executionAt(lastExecutedAt), start);
    expect(next.occurrenceAt).toEqual(start);
    expect(next.runAt).toEqual(start);
  });

  it('computes the same overdue identity on every instance, whenever it looks', () => {
    const lastExecutedAt = new Date(start.getTime() - 3 * hour);
    const seenByFirst = computeNextOccurrence(schedule, executionAt(lastExecutedAt), start);
    const seenBySecond = computeNextOccurrence(
      schedule,
      executionAt(lastExecutedAt),
      new Date(start.getTime() + 17_000),
    );
    expect(seenByFirst.occurrenceAt).toEqual(seenBySecond.occurrenceAt);
  });

  it('skips missed slots to the next future slot on the same grid (policy skip)', () => {
    const lastExecutedAt = new Date(start.getTime() - 5 * hour - 7 * minute);
    const next = computeNextOccurrence(
      { ...schedule, misfirePolicy: 'skip' },
      executionAt(lastExecutedAt),
      start,
    );
    const expectedSlot = new Date(lastExecutedAt.getTime() + 6 * hour);
    expect(next.occurrenceAt).toEqual(expectedSlot);
    expect(next.runAt).toEqual(expectedSlot);
    expect(expectedSlot.getTime()).toBeGreaterThan(start.getTime());
  });

  it('skips to the following slot when the missed slot is exactly now (policy skip)', () => {
    const lastExecutedAt = new Date(start.getTime() - hour);
    const next = computeNextOccurrence(
      { ...schedule, misfirePolicy: 'skip' },
      executionAt(lastExecutedAt),
      start,
    );
    expect(next.occurrenceAt).toEqual(new Date(start.getTime() + hour));
  });
});

describe('assertValidSchedule', () => {
  it.each([
    [{ jobName: '', intervalMs: 1000 }, /jobName/u],
    [{ jobName: 'job', intervalMs: 0 }, /intervalMs/u],
    [{ jobName: 'job', intervalMs: 1.5 }, /intervalMs/u],
    [{ jobName: 'job', intervalMs: 1000, misfirePolicy: 'twice' }, /misfirePolicy/u],
  ])('rejects %o naming the field', (badSchedule, message) => {
    expect(() => assertValidSchedule(badSchedule as RecurringJobSchedule)).toThrow(message);
  });
});

describe('DefaultRecurringJobService.ensureScheduled', () => {
  it('schedules a job never executed to run now', async () => {
    const { service, scheduler } = createService();
    const scheduled = await service.ensureScheduled(schedule);
    expect(scheduled.runAt).toEqual(start);
    expect(await scheduler.getPending(schedule.jobName)).toEqual(scheduled);
  });

  it('schedules an executed job at lastExecutedAt + interval', async () => {
    const { service, scheduler, repository } = createService();
    const lastExecutedAt = new Date(start.getTime() - 20 * minute);
    await repository.upsertExecution(executionAt(lastExecutedAt));
    await service.ensureScheduled(schedule);
    expect((await scheduler.getPending(schedule.jobName))?.runAt).toEqual(
      new Date(lastExecutedAt.getTime() + hour),
    );
  });

  it('leaves one pending occurrence after ten start-ups, and does not move it', async () => {
    const { service, scheduler, clock } = createService();
    const first = await service.ensureScheduled(schedule);
    for (let startUp = 0; startUp < 9; startUp += 1) {
      clock.advance(7 * minute);
      await service.ensureScheduled(schedule);
    }
    expect(await scheduler.getPending(schedule.jobName)).toEqual(first);
    expect(scheduler.scheduledLog).toHaveLength(1);
  });

  it('keeps a pending retry of the computed occurrence with its attempt count', async () => {
    const { service, scheduler, repository } = createService();
    const lastExecutedAt = new Date(start.getTime() - 2 * hour);
    await repository.upsertExecution(executionAt(lastExecutedAt));
    const retry = {
      jobName: schedule.jobName,
      occurrenceAt: new Date(lastExecutedAt.getTime() + hour),
      runAt: new Date(start.getTime() + 30_000),
      attempt: 3,
    };
    await scheduler.schedule(retry);
    expect(await service.ensureScheduled(schedule)).toEqual(retry);
    expect(await scheduler.getPending(schedule.jobName)).toEqual(retry);
  });

  it('replaces a pending occurrence that no longer matches the persisted execution', async () => {
    const { service, scheduler, repository } = createService();
    const lastExecutedAt = new Date(start.getTime() - 10 * minute);
    await repository.upsertExecution(executionAt(lastExecutedAt));
    await scheduler.schedule({
      jobName: schedule.jobName,
      occurrenceAt: new Date(0),
      runAt: new Date(0),
      attempt: 1,
    });
    const scheduled = await service.ensureScheduled(schedule);
    expect(scheduled.occurrenceAt).toEqual(new Date(lastExecutedAt.getTime() + hour));
    expect(await scheduler.getPending(schedule.jobName)).toEqual(scheduled);
  });

  it('rejects an invalid schedule before touching storage', async () => {
    const { service, scheduler } = createService();
    await expect(service.ensureScheduled({ jobName: 'job', intervalMs: -5 })).rejects.toThrow(
      /intervalMs/u,
    );
    expect(scheduler.scheduledLog).toHaveLength(0);
  });
});

describe('DefaultRecurringJobService.recordAndScheduleNext', () => {
  it('persists last executed at, next scheduled at and the instance, then schedules the next', async () => {
    const { service, scheduler, repository } = createService();
    const occurrenceAt = new Date(start.getTime() - 2000);
    const next = await service.recordAndScheduleNext(schedule, { occurrenceAt, executedAt: start });
    const nextSlot = new Date(start.getTime() + hour);
    expect(await repository.getLastExecution(schedule.jobName)).toEqual({
      jobName: schedule.jobName,
      lastExecutedAt: start,
      lastOccurrenceAt: occurrenceAt,
      nextScheduledAt: nextSlot,
      lastExecutedBy: worker,
    });
    expect(next).toEqual({ jobName: schedule.jobName, occurrenceAt: nextSlot, runAt: nextSlot, attempt: 1 });
    expect(await scheduler.getPending(schedule.jobName)).toEqual(next);
  });

  it('makes the next occurrence due now when the run outlasted the interval', async () => {
    const { service, scheduler, clock } = createService();
    clock.advance(2 * hour);
    await service.recordAndScheduleNext(schedule, { occurrenceAt: start, executedAt: start });
    const pending = await scheduler.getPending(schedule.jobName);
    expect(pending?.occurrenceAt).toEqual(new Date(start.getTime() + hour));
    expect(pending?.runAt).toEqual(clock.now());
  });

  it('records this process by default', async () => {
    const repository = new InMemoryRecurringJobRepository();
    const service = new DefaultRecurringJobService({
      repository,
      scheduler: new InMemoryMessageScheduler(),
      clock: systemClock,
    });
    const executedAt = systemClock.now();
    await service.recordAndScheduleNext(schedule, { occurrenceAt: executedAt, executedAt });
    expect((await repository.getLastExecution(schedule.jobName))?.lastExecutedBy).toEqual(
      currentInstance(),
    );
  });

  it('keeps the chain: start-up after a recorded run agrees with what was scheduled', async () => {
    const { service, scheduler, clock } = createService();
    const recorded = await service.recordAndScheduleNext(schedule, {
      occurrenceAt: start,
      executedAt: start,
    });
    clock.advance(5 * minute);
    expect(await service.ensureScheduled(schedule)).toEqual(recorded);
    expect(await scheduler.getPending(schedule.jobName)).toEqual(recorded);
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
    const valid = { jobName: 'job', occurrenceAt: start, runAt: start, attempt: 1 };
    expect(() => assertValidOccurrence(valid)).not.toThrow();
    expect(() => assertValidOccurrence({ ...valid, occurrenceAt: new Date(Number.NaN) })).toThrow(
      /occurrenceAt/u,
    );
  });
});
