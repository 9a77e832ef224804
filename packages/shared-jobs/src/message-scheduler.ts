import type { OccurrenceRef, ResumePoint, ScheduledOccurrence } from './occurrence.js';
import type { RecurringJobExecution, RecurringJobRepository } from './recurring-job-repository.js';

/** What a conditional write may carry besides the occurrence. */
export interface RecordOptions {
  /**
   * The job's execution record, written in the same write as the replacement (a
   * completion records its occurrence and advances the chain at once). It adds to the
   * write's condition: the stored record must not be of a later occurrence than this
   * one (as `upsertExecution`), else nothing is written and the write reports false.
   */
  readonly record?: RecurringJobExecution;
}

/** How a conditional replacement is written. */
export interface ReplaceOptions extends RecordOptions {
  /**
   * The caller ran `expected` and is done with it (a completion): the replacement is free
   * for any instance at once. An adapter that holds the pending occurrence while it runs
   * (Agenda's lock) releases that hold in the same write, so a completed run costs one
   * write on the pending record instead of a replacement and an unlock. Without it, a
   * hold stays: an operator's replacement must not start a second run beside one in flight.
   */
  readonly handOver?: boolean;
}

/**
 * Durable, delayed delivery of occurrences, keyed by job name: a job has at most one
 * pending occurrence. Scheduling replaces it, never adds a second one, even when
 * several instances schedule the same job at the same instant.
 *
 * The conditional replacements are compare-and-set writes on the one pending record:
 * of concurrent callers expecting the same occurrence, exactly one succeeds.
 *
 * It also keeps each job's execution record (the `RecurringJobRepository` half), beside
 * the pending occurrence: a completion writes the record and the next occurrence in one
 * write, and the record outlives a cancelled occurrence.
 */
export interface MessageScheduler extends RecurringJobRepository {
  /** Makes `occurrence` the single pending occurrence of `occurrence.jobName`. */
  schedule(occurrence: ScheduledOccurrence): Promise<void>;
  /** The pending occurrence of a job, or null when none is pending. */
  getPending(jobName: string): Promise<ScheduledOccurrence | null>;
  /** Removes the pending occurrence of a job (its execution record stays); true when there was one. */
  cancel(jobName: string): Promise<boolean>;
  /**
   * Replaces the pending occurrence with `next` if it is still the attempt `expected`
   * (same occurrence instant and attempt); false when it is another one or there is none.
   */
  replaceIfCurrent(expected: OccurrenceRef, next: ScheduledOccurrence, options?: ReplaceOptions): Promise<boolean>;
  /**
   * Sets the resume point of the pending occurrence of `jobName` to `next` if it is
   * currently `expected` (a rerun was put in front of `expected` while it ran); false
   * otherwise.
   */
  replaceResumeIfCurrent(
    jobName: string,
    expected: OccurrenceRef,
    next: ResumePoint,
    options?: RecordOptions,
  ): Promise<boolean>;
}
