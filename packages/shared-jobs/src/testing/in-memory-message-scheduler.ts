import type { MessageScheduler } from '../message-scheduler.js';
import { findOccurrenceError, type ScheduledOccurrence } from '../occurrence.js';

/** One pending occurrence per job name, in a Map. For unit tests of pure logic. */
export class InMemoryMessageScheduler implements MessageScheduler {
  private readonly pendingByJobName = new Map<string, ScheduledOccurrence>();
  /** Every occurrence ever scheduled, in order: lets tests see replacements. */
  readonly scheduledLog: ScheduledOccurrence[] = [];

  schedule(occurrence: ScheduledOccurrence): Promise<void> {
    const invalid = findOccurrenceError(occurrence);
    if (invalid !== null) return Promise.reject(invalid);
    const copy = cloneOccurrence(occurrence);
    this.pendingByJobName.set(copy.jobName, copy);
    this.scheduledLog.push(cloneOccurrence(copy));
    return Promise.resolve();
  }

  getPending(jobName: string): Promise<ScheduledOccurrence | null> {
    const pending = this.pendingByJobName.get(jobName);
    return Promise.resolve(pending === undefined ? null : cloneOccurrence(pending));
  }

  cancel(jobName: string): Promise<boolean> {
    return Promise.resolve(this.pendingByJobName.delete(jobName));
  }
}

function cloneOccurrence(occurrence: ScheduledOccurrence): ScheduledOccurrence {
  return {
    jobName: occurrence.jobName,
    occurrenceAt: new Date(occurrence.occurrenceAt.getTime()),
    runAt: new Date(occurrence.runAt.getTime()),
    attempt: occurrence.attempt,
  };
}
