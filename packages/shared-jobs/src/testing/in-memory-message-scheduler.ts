import type { MessageScheduler, RecordOptions, ReplaceOptions } from '../message-scheduler.js';
import {
  findOccurrenceError,
  isSameAttempt,
  type OccurrenceRef,
  type ResumePoint,
  type ScheduledOccurrence,
} from '../occurrence.js';
import { findExecutionError, type RecurringJobExecution } from '../recurring-job-repository.js';

/**
 * One pending occurrence and one execution record per job name, in Maps. For unit tests
 * of pure logic.
 */
export class InMemoryMessageScheduler implements MessageScheduler {
  private readonly pendingByJobName = new Map<string, ScheduledOccurrence>();
  private readonly executionsByJobName = new Map<string, RecurringJobExecution>();
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
  replaceIfCurrent(expected: OccurrenceRef, next: ScheduledOccurrence, options: ReplaceOptions = {}): Promise<boolean> {
    const invalid = findOccurrenceError(next) ?? this.findRecordError(next.jobName, options);
    if (invalid !== null) return Promise.reject(invalid);
    const pending = this.pendingByJobName.get(next.jobName);
    if (pending === undefined || !isSameAttempt(pending, expected) || !this.recordApplies(options)) {
      return Promise.resolve(false);
    }
    this.write(next);
    this.writeRecord(options);
    return Promise.resolve(true);
  }

  replaceResumeIfCurrent(
    jobName: string,
    expected: OccurrenceRef,
    next: ResumePoint,
    options: RecordOptions = {},
  ): Promise<boolean> {
    const invalid = this.findRecordError(jobName, options);
    if (invalid !== null) return Promise.reject(invalid);
    const pending = this.pendingByJobName.get(jobName);
    const resume = pending?.resume ?? null;
    if (pending === undefined || resume === null || !isSameAttempt(resume, expected) || !this.recordApplies(options)) {
      return Promise.resolve(false);
    }
    this.write({ ...pending, resume: next });
    this.writeRecord(options);
    return Promise.resolve(true);
  }

  getLastExecution(jobName: string): Promise<RecurringJobExecution | null> {
    const execution = this.executionsByJobName.get(jobName);
    return Promise.resolve(execution === undefined ? null : cloneExecution(execution));
  }

  upsertExecution(execution: RecurringJobExecution): Promise<boolean> {
    const invalid = findExecutionError(execution);
    if (invalid !== null) return Promise.reject(invalid);
    if (!this.recordApplies({ record: execution })) return Promise.resolve(false);
    this.writeRecord({ record: execution });
    return Promise.resolve(true);
  }

  listExecutions(): Promise<RecurringJobExecution[]> {
    return Promise.resolve(
      [...this.executionsByJobName.values()]
        .sort((left, right) => (left.jobName < right.jobName ? -1 : left.jobName > right.jobName ? 1 : 0))
        .map(cloneExecution),
    );
  }

  private findRecordError(jobName: string, options: RecordOptions): TypeError | null {
    if (options.record === undefined) return null;
    if (options.record.jobName !== jobName) {
      return new TypeError(`options.record.jobName must be the replaced job's name "${jobName}"`);
    }
    return findExecutionError(options.record);
  }

  /** Whether the stored record is not of a later occurrence than the one to write. */
  private recordApplies({ record }: RecordOptions): boolean {
    if (record === undefined) return true;
    const stored = this.executionsByJobName.get(record.jobName);
    return stored === undefined || stored.lastOccurrenceAt.getTime() <= record.lastOccurrenceAt.getTime();
  }

  private writeRecord({ record }: RecordOptions): void {
    if (record !== undefined) this.executionsByJobName.set(record.jobName, cloneExecution(record));
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

function cloneExecution(execution: RecurringJobExecution): RecurringJobExecution {
  return {
    jobName: execution.jobName,
    lastExecutedAt: new Date(execution.lastExecutedAt.getTime()),
    lastOccurrenceAt: new Date(execution.lastOccurrenceAt.getTime()),
    nextScheduledAt: execution.nextScheduledAt === null ? null : new Date(execution.nextScheduledAt.getTime()),
    lastExecutedBy: execution.lastExecutedBy === null ? null : { ...execution.lastExecutedBy },
  };
}
