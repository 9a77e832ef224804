import type { InstanceIdentity } from './instance.js';

/**
 * What is persisted about a recurring job's last completed occurrence. The next
 * occurrence is computed from it, so a restart never resets the schedule.
 */
export interface RecurringJobExecution {
  readonly jobName: string;
  /** When the last completed occurrence ran (the start of its run). */
  readonly lastExecutedAt: Date;
  /** The identity (slot) of that occurrence. */
  readonly lastOccurrenceAt: Date;
  /** The slot scheduled after it. */
  readonly nextScheduledAt: Date | null;
  /** The instance that ran it. */
  readonly lastExecutedBy: InstanceIdentity | null;
}

/** Persistence of executions, keyed by job name (one record per job). */
export interface RecurringJobRepository {
  getLastExecution(jobName: string): Promise<RecurringJobExecution | null>;
  /**
   * Inserts or replaces the record of `execution.jobName`, unless the stored record is
   * of a later occurrence (a stale completion never moves the chain back): returns false
   * then, true when written.
   */
  upsertExecution(execution: RecurringJobExecution): Promise<boolean>;
  /** Every job's record, sorted by job name. */
  listExecutions(): Promise<RecurringJobExecution[]>;
}
