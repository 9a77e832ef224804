import type { ScheduledOccurrence } from './occurrence.js';

/**
 * Durable, delayed delivery of occurrences, keyed by job name: a job has at most one
 * pending occurrence. Scheduling replaces it, never adds a second one, even when
 * several instances schedule the same job at the same instant.
 */
export interface MessageScheduler {
  /** Makes `occurrence` the single pending occurrence of `occurrence.jobName`. */
  schedule(occurrence: ScheduledOccurrence): Promise<void>;
  /** The pending occurrence of a job, or null when none is pending. */
  getPending(jobName: string): Promise<ScheduledOccurrence | null>;
  /** Removes the pending occurrence of a job; true when there was one. */
  cancel(jobName: string): Promise<boolean>;
}
