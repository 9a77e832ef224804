import { describe, expect, it } from 'vitest';
import { computeNextOccurrence, reconsiderOverdue, type JobTiming, type RecurringJobExecution } from '../src/index.js';

const minute = 60_000;
const hour = 60 * minute;
const start = new Date('2026-05-10T08:30:00.000Z');
const worker = { hostName: 'worker-1', processId: 4242 };
const hourly: JobTiming = { schedule: { kind: 'interval', everyMs: hour }, misfire: { kind: 'once' } };
const everyQuarter = (misfire: JobTiming['misfire'], timeZone = 'UTC'): JobTiming => ({
  schedule: { kind: 'cron', expression: '*/15 * * * *', timeZone },
  misfire,
});

function executed(lastOccurrenceAt: Date, lastExecutedAt = lastOccurrenceAt): RecurringJobExecution {
  return { jobName: 'job', lastExecutedAt, lastOccurrenceAt, nextScheduledAt: null, lastExecutedBy: worker };
}

const at = (text: string) => new Date(text);

describe('computeNextOccurrence: intervals anchored to the last start', () => {
  it('makes the first occurrence due now, identified by the aligned interval window', () => {
    expect(computeNextOccurrence('job', hourly, null, start)).toEqual({
      jobName: 'job',
      occurrenceAt: at('2026-05-10T08:00:00.000Z'),
      runAt: start,
      attempt: 1,
      cause: 'schedule',
      requestedBy: null,
      resume: null,
      timing: hourly,
    });
  });

  it('gives instances starting in the same window the same first identity', () => {
    const early = computeNextOccurrence('job', hourly, null, at('2026-05-10T08:00:00.001Z'));
    const late = computeNextOccurrence('job', hourly, null, at('2026-05-10T08:59:59.999Z'));
    expect(early.occurrenceAt).toEqual(late.occurrenceAt);
  });

  it('schedules at the last start + interval when that is in the future', () => {
    const lastStart = new Date(start.getTime() - 10 * minute);
    const next = computeNextOccurrence('job', hourly, executed(lastStart), start);
    expect(next.occurrenceAt).toEqual(new Date(lastStart.getTime() + hour));
    expect(next.runAt).toEqual(next.occurrenceAt);
  });

  it('runs an overdue job once now, identified by the first missed slot (once)', () => {
    const lastStart = new Date(start.getTime() - 5 * hour - 7 * minute);
    const next = computeNextOccurrence('job', hourly, executed(lastStart), start);
    expect(next.occurrenceAt).toEqual(new Date(lastStart.getTime() + hour));
    expect(next.runAt).toEqual(start);
    // The same identity whenever an instance looks: it depends on persisted state only.
    const later = computeNextOccurrence('job', hourly, executed(lastStart), new Date(start.getTime() + 17_000));
    expect(later.occurrenceAt).toEqual(next.occurrenceAt);
  });

  it('skips missed slots to the next future one on the same grid (skip)', () => {
    const lastStart = new Date(start.getTime() - 5 * hour - 7 * minute);
    const next = computeNextOccurrence('job', { ...hourly, misfire: { kind: 'skip' } }, executed(lastStart), start);
    expect(next.occurrenceAt).toEqual(new Date(lastStart.getTime() + 6 * hour));
    expect(next.runAt).toEqual(next.occurrenceAt);
    const exactlyNow = computeNextOccurrence(
      'job',
      { ...hourly, misfire: { kind: 'skip' } },
      executed(new Date(start.getTime() - hour)),
      start,
    );
    expect(exactlyNow.occurrenceAt).toEqual(new Date(start.getTime() + hour));
  });
});

describe('computeNextOccurrence: cron slots', () => {
  it('starts a job never executed at its next slot, not now', () => {
    const next = computeNextOccurrence('job', everyQuarter({ kind: 'once' }), null, at('2026-05-10T08:31:00Z'));
    expect(next.occurrenceAt).toEqual(at('2026-05-10T08:45:00Z'));
    expect(next.runAt).toEqual(next.occurrenceAt);
    expect(next.cause).toBe('schedule');
  });

  it('follows the slot after the last occurrence, whenever the run started', () => {
    const next = computeNextOccurrence(
      'job',
      everyQuarter({ kind: 'once' }),
      executed(at('2026-05-10T08:30:00Z'), at('2026-05-10T08:30:02Z')),
      at('2026-05-10T08:31:00Z'),
    );
    expect(next.occurrenceAt).toEqual(at('2026-05-10T08:45:00Z'));
  });

  it('continues from an operator run at the next slot after it', () => {
    const next = computeNextOccurrence(
      'job',
      everyQuarter({ kind: 'once' }),
      executed(at('2026-05-10T08:37:12.345Z')),
      at('2026-05-10T08:38:00Z'),
    );
    expect(next.occurrenceAt).toEqual(at('2026-05-10T08:45:00Z'));
  });

  it('collapses missed slots into one run now, identified by the latest missed slot (once)', () => {
    const next = computeNextOccurrence(
      'job',
      everyQuarter({ kind: 'once' }),
      executed(at('2026-05-10T06:00:00Z')),
      at('2026-05-10T08:31:00Z'),
    );
    expect(next.occurrenceAt).toEqual(at('2026-05-10T08:30:00Z'));
    expect(next.runAt).toEqual(at('2026-05-10T08:31:00Z'));
    expect(next.cause).toBe('schedule');
    // After it, the chain resumes at the next slot: one run for the whole gap.
    const after = computeNextOccurrence('job', everyQuarter({ kind: 'once' }), executed(next.occurrenceAt), at('2026-05-10T08:31:05Z'));
    expect(after.occurrenceAt).toEqual(at('2026-05-10T08:45:00Z'));
  });

  it('waits for the next future slot when slots were missed (skip)', () => {
    const next = computeNextOccurrence(
      'job',
      everyQuarter({ kind: 'skip' }),
      executed(at('2026-05-10T06:00:00Z')),
      at('2026-05-10T08:31:00Z'),
    );
    expect(next.occurrenceAt).toEqual(at('2026-05-10T08:45:00Z'));
    expect(next.runAt).toEqual(next.occurrenceAt);
  });

  it('walks every missed slot inside the window, oldest first, one at a time (catch-up)', () => {
    const timing = everyQuarter({ kind: 'catch-up', windowMs: hour, maxRuns: 100 });
    let last = executed(at('2026-05-10T06:00:00Z'));
    const now = at('2026-05-10T08:31:00Z');
    const walked: string[] = [];
    for (let step = 0; step < 10; step += 1) {
      const next = computeNextOccurrence('job', timing, last, now);
      if (next.runAt.getTime() > now.getTime()) break;
      expect(next.cause).toBe('catch-up');
      walked.push(next.occurrenceAt.toISOString());
      last = executed(next.occurrenceAt, now);
    }
    // The window starts at 08:31 - 1 h = 07:31: the 06:15 to 07:30 slots are dropped.
    expect(walked).toEqual(['2026-05-10T07:45:00.000Z', '2026-05-10T08:00:00.000Z', '2026-05-10T08:15:00.000Z', '2026-05-10T08:30:00.000Z']);
    expect(computeNextOccurrence('job', timing, last, now).occurrenceAt).toEqual(at('2026-05-10T08:45:00Z'));
  });

  it('keeps only the newest missed slots up to the cap (catch-up)', () => {
    const timing = everyQuarter({ kind: 'catch-up', windowMs: 24 * hour, maxRuns: 3 });
    const next = computeNextOccurrence('job', timing, executed(at('2026-05-10T00:00:00Z')), at('2026-05-10T08:31:00Z'));
    expect(next.occurrenceAt).toEqual(at('2026-05-10T08:00:00Z'));
    expect(next.cause).toBe('catch-up');
  });

  it('drops missed slots older than the window and waits for the next slot (catch-up)', () => {
    const timing = everyQuarter({ kind: 'catch-up', windowMs: 10 * minute, maxRuns: 100 });
    const next = computeNextOccurrence('job', timing, executed(at('2026-05-10T06:00:00Z')), at('2026-05-10T08:41:00Z'));
    expect(next.occurrenceAt).toEqual(at('2026-05-10T08:45:00Z'));
    expect(next.cause).toBe('schedule');
  });

  it('computes slots in the time zone of the schedule', () => {
    const daily: JobTiming = {
      schedule: { kind: 'cron', expression: '0 3 * * *', timeZone: 'Europe/Berlin' },
      misfire: { kind: 'once' },
    };
    const next = computeNextOccurrence('job', daily, executed(at('2026-05-09T01:00:00Z')), at('2026-05-09T12:00:00Z'));
    expect(next.occurrenceAt).toEqual(at('2026-05-10T01:00:00Z'));
  });
});

describe('reconsiderOverdue', () => {
  const pending = (occurrenceAt: Date, timing: JobTiming, cause: 'schedule' | 'retry' | 'trigger' = 'schedule') => ({
    jobName: 'job',
    occurrenceAt,
    runAt: occurrenceAt,
    attempt: 1,
    cause,
    requestedBy: null,
    resume: null,
    timing,
  });
  const now = at('2026-05-10T08:31:00Z');

  it('runs an occurrence as it is while the slot after it has not passed', () => {
    expect(reconsiderOverdue(pending(at('2026-05-10T08:30:00Z'), everyQuarter({ kind: 'skip' })), everyQuarter({ kind: 'skip' }), now)).toBeNull();
    expect(reconsiderOverdue(pending(at('2026-05-10T07:45:00Z'), hourly), hourly, now)).toBeNull();
  });

  it('never reconsiders retries and operator runs', () => {
    const timing = everyQuarter({ kind: 'skip' });
    expect(reconsiderOverdue(pending(at('2026-05-10T06:00:00Z'), timing, 'retry'), timing, now)).toBeNull();
    expect(reconsiderOverdue(pending(at('2026-05-10T06:00:00Z'), timing, 'trigger'), timing, now)).toBeNull();
  });

  it('replaces a missed slot by the latest missed one (once), by the next future one (skip)', () => {
    const once = everyQuarter({ kind: 'once' });
    expect(reconsiderOverdue(pending(at('2026-05-10T06:00:00Z'), once), once, now)).toMatchObject({
      occurrenceAt: at('2026-05-10T08:30:00Z'),
      runAt: now,
      cause: 'schedule',
    });
    const skip = everyQuarter({ kind: 'skip' });
    expect(reconsiderOverdue(pending(at('2026-05-10T06:00:00Z'), skip), skip, now)).toMatchObject({
      occurrenceAt: at('2026-05-10T08:45:00Z'),
      runAt: at('2026-05-10T08:45:00Z'),
    });
  });

  it('keeps a missed slot inside the catch-up window, and replaces one older than it', () => {
    const catchUp = everyQuarter({ kind: 'catch-up', windowMs: hour, maxRuns: 100 });
    expect(reconsiderOverdue(pending(at('2026-05-10T07:45:00Z'), catchUp), catchUp, now)).toBeNull();
    expect(reconsiderOverdue(pending(at('2026-05-10T06:00:00Z'), catchUp), catchUp, now)).toMatchObject({
      occurrenceAt: at('2026-05-10T07:45:00Z'),
      cause: 'catch-up',
    });
  });

  it('moves a missed interval slot to the next slot on its grid (skip), and runs it (once)', () => {
    const skip: JobTiming = { ...hourly, misfire: { kind: 'skip' } };
    expect(reconsiderOverdue(pending(at('2026-05-10T05:10:00Z'), skip), skip, now)).toMatchObject({
      occurrenceAt: at('2026-05-10T09:10:00Z'),
    });
    expect(reconsiderOverdue(pending(at('2026-05-10T05:10:00Z'), hourly), hourly, now)).toBeNull();
  });
});
