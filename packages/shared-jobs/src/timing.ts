/**
 * When a job runs: its schedule and what happens to slots it missed. The pair travels
 * with the pending occurrence (see `ScheduledOccurrence.timing`).
 */
import {
  assertMisfireFitsSchedule,
  assertValidJobSchedule,
  assertValidMisfirePolicy,
  type JobSchedule,
  type MisfirePolicy,
} from './schedule/index.js';

export interface JobTiming {
  readonly schedule: JobSchedule;
  readonly misfire: MisfirePolicy;
  /**
   * When this timing was adopted for the job (written with the pending occurrence). A
   * replica configured differently replaces it only if it started after this instant,
   * so replicas of an older deployment never switch the job back.
   */
  readonly since?: Date;
}

/** Whether two timings describe the same schedule and misfire policy (`since` aside). */
export function isSameTiming(left: JobTiming, right: JobTiming): boolean {
  return timingFingerprint(left) === timingFingerprint(right);
}

/** A canonical text of a timing's schedule and misfire policy, for comparison and logs. */
export function timingFingerprint(timing: JobTiming): string {
  const { schedule, misfire } = timing;
  const scheduleText =
    schedule.kind === 'interval'
      ? `interval ${schedule.everyMs}ms`
      : `cron "${schedule.expression}" ${schedule.timeZone}`;
  const misfireText =
    misfire.kind === 'catch-up' ? `catch-up ${misfire.windowMs}ms max ${misfire.maxRuns}` : misfire.kind;
  return `${scheduleText}; misfire ${misfireText}`;
}

/** Checks a job's timing; throws an error naming the job, the field and the reason. */
export function assertValidTiming(jobName: string, timing: JobTiming): void {
  try {
    assertValidJobSchedule(timing.schedule);
    assertValidMisfirePolicy(timing.misfire);
    assertMisfireFitsSchedule(timing.schedule, timing.misfire);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new RangeError(`job "${jobName}": ${reason}`, { cause: error });
  }
}
