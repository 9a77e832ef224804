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

/**
 * Persistence of executions, keyed by job name (one record per job). The
 * `MessageScheduler` carries it: the record lives beside the job's pending occurrence, so
 * a completion writes both at once (see `ReplaceOptions.record`).
 */
export interface RecurringJobRepository {
  getLastExecution(jobName: string): Promise<RecurringJobExecution | null>;
  /**
   * Inserts or replaces the record of `execution.jobName`, unless the stored record is
   * of a later occurrence (a stale completion never moves the chain back): returns false
   * then, true when written. A job's pending occurrence is left as it is.
   */
  upsertExecution(execution: RecurringJobExecution): Promise<boolean>;
  /** Every job's record, sorted by job name. */
  listExecutions(): Promise<RecurringJobExecution[]>;
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** Why an execution cannot be stored (an error naming the field), or null when it can. */
export function findExecutionError(execution: RecurringJobExecution): TypeError | null {
  if (typeof execution.jobName !== 'string' || execution.jobName.trim() === '') {
    return new TypeError('execution.jobName must be a non-empty string');
  }
  for (const field of ['lastExecutedAt', 'lastOccurrenceAt'] as const) {
    if (!isValidDate(execution[field])) return new TypeError(`execution.${field} must be a valid Date`);
  }
  if (execution.nextScheduledAt !== null && !isValidDate(execution.nextScheduledAt)) {
    return new TypeError('execution.nextScheduledAt must be a valid Date or null');
  }
  const executedBy = execution.lastExecutedBy;
  if (executedBy !== null && (typeof executedBy.hostName !== 'string' || !Number.isInteger(executedBy.processId))) {
    return new TypeError('execution.lastExecutedBy must be null or { hostName: string, processId: integer }');
  }
  return null;
}
