import { describe, expect, it } from 'vitest';
import {
  assertValidOccurrence,
  computeNextOccurrence,
  currentInstance,
  DefaultRecurringJobService,
  formatInstance,
  occurrenceKey,
  silentJobLogger,
  toJobRunError,
  type JobTiming,
} from '../src/index.js';
import { FakeClock, InMemoryMessageScheduler } from '../src/testing/index.js';

// The scheduling operations on a store (start-up, completing an occurrence, misfires) are
// the RecurringJobService conformance suite (src/testing/recurring-job-service-conformance.ts),
// run on the in-memory fake by in-memory-conformance.test.ts and on Agenda by
// @app/scheduler-agenda. What stays here is logic that never reaches a store.

const minute = 60_000;
const hour = 60 * minute;
const start = new Date('2026-05-10T08:30:00.000Z');
const jobName = 'RefreshTokenCleanupJob';
const hourly: JobTiming = { schedule: { kind: 'interval', everyMs: hour }, misfire: { kind: 'once' } };
const worker = { hostName: 'worker-1', processId: 4242 };

describe('DefaultRecurringJobService.ensureScheduled', () => {
  it('rejects an invalid timing naming the job before touching storage', async () => {
    const scheduler = new InMemoryMessageScheduler();
    const service = new DefaultRecurringJobService({ scheduler, clock: new FakeClock(start) });
    await expect(
      service.ensureScheduled({ jobName, timing: { schedule: { kind: 'interval', everyMs: -5 }, misfire: { kind: 'once' } } }, start),
    ).rejects.toThrow(new RegExp(jobName, 'u'));
    await expect(
      service.ensureScheduled({ jobName, timing: { ...hourly, misfire: { kind: 'catch-up', windowMs: hour, maxRuns: 5 } } }, start),
    ).rejects.toThrow(/cron/u);
    expect(scheduler.scheduledLog).toHaveLength(0);
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
    // A scheduled occurrence as the service writes it.
    const valid = computeNextOccurrence(jobName, hourly, null, start);
    expect(() => assertValidOccurrence(valid)).not.toThrow();
    expect(() => assertValidOccurrence({ ...valid, occurrenceAt: new Date(Number.NaN) })).toThrow(/occurrenceAt/u);
    expect(() => assertValidOccurrence({ ...valid, cause: 'whim' as never })).toThrow(/cause/u);
    expect(() => assertValidOccurrence({ ...valid, attempt: 0 })).toThrow(/attempt/u);
  });
});
