import type { MessageScheduler, ReplaceOptions } from '../message-scheduler.js';
import {
  findOccurrenceError,
  isSameAttempt,
  type OccurrenceRef,
  type ResumePoint,
  type ScheduledOccurrence,
} from '../occurrence.js';

/** One pending occurrence per job name, in a Map. For unit tests of pure logic. */
export class InMemoryMessageScheduler implements MessageScheduler {
  private readonly pendingByJobName = new Map<string, ScheduledOccurrence>();
  /** Every occurrence ever written, in order: lets tests see replacements. */
  readonly scheduledLog: ScheduledOccurrence[] = [];

  schedule(occurrence: ScheduledOccurrence): Promise<void> {
    const invalid = findOccurrenceError(occurrence);
    if (invalid !== null) return Promise.reject(invalid);
    this.write(occurrence);
    return Promise.resolve();
  }

  getPending(jobName: string): Promise<ScheduledOccurrence | null> {
    const pending = this.pendingByJobName.get(jobName);
    return Promise.resolve(pending === undefined ? null : cloneOccurrence(pending));
  }

  cancel(jobName: string): Promise<boolean> {
    return Promise.resolve(this.pendingByJobName.delete(jobName));
  }

  /** Keeps no holds (nothing runs inside it), so `handOver` changes nothing here. */
  replaceIfCurrent(expected: OccurrenceRef, next: ScheduledOccurrence, _options?: ReplaceOptions): Promise<boolean> {
    const invalid = findOccurrenceError(next);
    if (invalid !== null) return Promise.reject(invalid);
    const pending = this.pendingByJobName.get(next.jobName);
    if (pending === undefined || !isSameAttempt(pending, expected)) return Promise.resolve(false);
    this.write(next);
    return Promise.resolve(true);
  }

  replaceResumeIfCurrent(jobName: string, expected: OccurrenceRef, next: ResumePoint): Promise<boolean> {
    const pending = this.pendingByJobName.get(jobName);
    const resume = pending?.resume ?? null;
    if (pending === undefined || resume === null || !isSameAttempt(resume, expected)) return Promise.resolve(false);
    this.write({ ...pending, resume: next });
    return Promise.resolve(true);
  }

  private write(occurrence: ScheduledOccurrence): void {
    this.pendingByJobName.set(occurrence.jobName, cloneOccurrence(occurrence));
    this.scheduledLog.push(cloneOccurrence(occurrence));
  }
}

function cloneOccurrence(occurrence: ScheduledOccurrence): ScheduledOccurrence {
  const resume = occurrence.resume ?? null;
  const timing = occurrence.timing ?? null;
  return {
    jobName: occurrence.jobName,
    occurrenceAt: new Date(occurrence.occurrenceAt.getTime()),
    runAt: new Date(occurrence.runAt.getTime()),
    attempt: occurrence.attempt,
    cause: occurrence.cause,
    requestedBy: occurrence.requestedBy ?? null,
    resume:
      resume === null
        ? null
        : { ...resume, occurrenceAt: new Date(resume.occurrenceAt.getTime()), runAt: new Date(resume.runAt.getTime()) },
    timing:
      timing === null
        ? null
        : { ...timing, ...(timing.since === undefined ? {} : { since: new Date(timing.since.getTime()) }) },
  };
}
