import type { OccurrenceRef, ResumePoint, ScheduledOccurrence } from './occurrence.js';

/** How a conditional replacement is written. */
export interface ReplaceOptions {
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
 */
export interface MessageScheduler {
  /** Makes `occurrence` the single pending occurrence of `occurrence.jobName`. */
  schedule(occurrence: ScheduledOccurrence): Promise<void>;
  /** The pending occurrence of a job, or null when none is pending. */
  getPending(jobName: string): Promise<ScheduledOccurrence | null>;
  /** Removes the pending occurrence of a job; true when there was one. */
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
  replaceResumeIfCurrent(jobName: string, expected: OccurrenceRef, next: ResumePoint): Promise<boolean>;
}
