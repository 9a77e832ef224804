/**
 * Scheduling as one concern: the next occurrence of a job, a pure function of its timing,
 * its persisted last execution and now. Every replica computes the same identity from
 * the same persisted state.
 *
 * Interval schedules are anchored to the last start (`lastExecutedAt + every`); the first
 * run is due at once, identified by the start of the current interval window (aligned to
 * the Unix epoch, so replicas starting together agree).
 *
 * Cron schedules follow their slots: the first run is the next slot; afterwards the slot
 * after the last completed occurrence. When that slot has passed (the job was down,
 * paused, or its run took longer than the gap between slots), the misfire policy decides:
 * - `once`: one run now, identified by the most recent missed slot;
 * - `skip`: no run now; the next future slot;
 * - `catch-up`: each missed slot inside the window (at most `maxRuns`, the newest ones),
 *   one at a time, oldest first, each due now; slots older than the window are dropped.
 * Intervals know only `once` (identified by the first missed slot) and `skip`.
 *
 * The same policies apply to a pending occurrence that was not run in time (every worker
 * was down, or the job was paused): see {@link reconsiderOverdue}.
 */
import type { RecurringJobExecution } from './recurring-job-repository.js';
import type { ScheduledOccurrence } from './occurrence.js';
import { compileCron, type CompiledCron } from './schedule/index.js';
import type { JobTiming } from './timing.js';

const compiledCrons = new Map<string, CompiledCron>();

/** A compiled cron expression, cached: the same few schedules are asked for all day. */
export function cronOf(expression: string, timeZone: string): CompiledCron {
  const key = `${timeZone}\u0000${expression}`;
  let compiled = compiledCrons.get(key);
  if (compiled === undefined) {
    compiled = compileCron(expression, timeZone);
    if (compiledCrons.size > 256) compiledCrons.clear();
    compiledCrons.set(key, compiled);
  }
  return compiled;
}

export function computeNextOccurrence(
  jobName: string,
  timing: JobTiming,
  lastExecution: RecurringJobExecution | null,
  now: Date,
): ScheduledOccurrence {
  const regular = (occurrenceAt: Date, runAt: Date, cause: 'schedule' | 'catch-up' = 'schedule') => ({
    jobName,
    occurrenceAt,
    runAt,
    attempt: 1,
    cause,
    requestedBy: null,
    resume: null,
    timing,
  });
  const { schedule, misfire } = timing;
  const nowMs = now.getTime();
  if (schedule.kind === 'interval') {
    const everyMs = schedule.everyMs;
    if (lastExecution === null) {
      return regular(new Date(Math.floor(nowMs / everyMs) * everyMs), now);
    }
    const nextSlotMs = lastExecution.lastExecutedAt.getTime() + everyMs;
    if (nextSlotMs > nowMs) return regular(new Date(nextSlotMs), new Date(nextSlotMs));
    if (misfire.kind === 'skip') {
      const slot = new Date(nextSlotMs + (Math.floor((nowMs - nextSlotMs) / everyMs) + 1) * everyMs);
      return regular(slot, slot);
    }
    return regular(new Date(nextSlotMs), now);
  }
  const cron = cronOf(schedule.expression, schedule.timeZone);
  if (lastExecution === null) {
    const slot = cron.nextAfter(now);
    return regular(slot, slot);
  }
  const lastOccurrenceAt = lastExecution.lastOccurrenceAt;
  const candidate = cron.nextAfter(lastOccurrenceAt);
  if (candidate.getTime() > nowMs) return regular(candidate, candidate);
  if (misfire.kind === 'once') {
    // The most recent missed slot (at least the candidate, which has passed).
    return regular(cron.latestAtOrBefore(now) ?? candidate, now);
  }
  if (misfire.kind === 'catch-up') {
    const windowStartMs = nowMs - misfire.windowMs;
    let oldestKept: Date | null = null;
    let kept = 0;
    let slot = cron.latestAtOrBefore(now);
    while (
      slot !== null &&
      kept < misfire.maxRuns &&
      slot.getTime() > lastOccurrenceAt.getTime() &&
      slot.getTime() >= windowStartMs
    ) {
      oldestKept = slot;
      kept += 1;
      slot = cron.latestAtOrBefore(new Date(slot.getTime() - 1));
    }
    if (oldestKept !== null) return regular(oldestKept, now, 'catch-up');
  }
  const next = cron.nextAfter(now);
  return regular(next, next);
}

/**
 * What to do with a regular occurrence handed over late: null when it runs as it is (it
 * is on time, or its lateness is within what the misfire policy runs anyway), else the
 * occurrence that replaces it. An occurrence counts as missed once the slot after it
 * has passed too. Then `once` runs the most recent missed slot instead (intervals: the
 * missed one itself, as today), `skip` waits for the next future slot, and `catch-up`
 * runs it only if it is among the newest `maxRuns` missed slots inside the window (else
 * the oldest of those). Retries and operator runs are never reconsidered.
 */
export function reconsiderOverdue(
  occurrence: ScheduledOccurrence,
  timing: JobTiming,
  now: Date,
): ScheduledOccurrence | null {
  if (occurrence.cause !== 'schedule' && occurrence.cause !== 'catch-up') return null;
  const { schedule, misfire } = timing;
  const nowMs = now.getTime();
  const occurrenceMs = occurrence.occurrenceAt.getTime();
  const jobName = occurrence.jobName;
  const replacement = (occurrenceAt: Date, runAt: Date, cause: 'schedule' | 'catch-up' = 'schedule'): ScheduledOccurrence => ({
    jobName,
    occurrenceAt,
    runAt,
    attempt: 1,
    cause,
    requestedBy: null,
    resume: occurrence.resume ?? null,
    timing: occurrence.timing ?? timing,
  });
  if (schedule.kind === 'interval') {
    const everyMs = schedule.everyMs;
    if (occurrenceMs + everyMs > nowMs || misfire.kind !== 'skip') return null;
    const slot = new Date(occurrenceMs + (Math.floor((nowMs - occurrenceMs) / everyMs) + 1) * everyMs);
    return replacement(slot, slot);
  }
  const cron = cronOf(schedule.expression, schedule.timeZone);
  if (cron.nextAfter(occurrence.occurrenceAt).getTime() > nowMs) return null;
  if (misfire.kind === 'once') {
    const latest = cron.latestAtOrBefore(now);
    return latest === null || latest.getTime() === occurrenceMs ? null : replacement(latest, now);
  }
  if (misfire.kind === 'skip') {
    const next = cron.nextAfter(now);
    return replacement(next, next);
  }
  // catch-up: the handed slot plays the role of the first missed one.
  const caughtUp = computeNextOccurrence(
    jobName,
    timing,
    { jobName, lastExecutedAt: now, lastOccurrenceAt: new Date(occurrenceMs - 1), nextScheduledAt: null, lastExecutedBy: null },
    now,
  );
  return caughtUp.occurrenceAt.getTime() === occurrenceMs ? null : { ...caughtUp, resume: occurrence.resume ?? null, timing: occurrence.timing ?? timing };
}
