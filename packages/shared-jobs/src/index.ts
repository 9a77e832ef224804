export { systemClock, type Clock } from './clock.js';
export { currentInstance, formatInstance, type InstanceIdentity } from './instance.js';
export {
  silentJobLogger,
  type JobContext,
  type JobLogger,
  type JobProgress,
  type JobResultSummary,
  type MisfirePolicy,
  type RecurringJob,
  type RetryPolicy,
} from './job.js';
export {
  finishedJobRunStatuses,
  toJobRunError,
  type ClaimRunInput,
  type ClaimRunResult,
  type FinishRunInput,
  type JobRun,
  type JobRunError,
  type JobRunLedger,
  type JobRunStatus,
} from './job-run-ledger.js';
export type { MessageScheduler } from './message-scheduler.js';
export {
  assertValidOccurrence,
  findOccurrenceError,
  occurrenceKey,
  type ScheduledOccurrence,
} from './occurrence.js';
export type {
  RecurringJobExecution,
  RecurringJobRepository,
} from './recurring-job-repository.js';
export {
  assertValidSchedule,
  computeNextOccurrence,
  DefaultRecurringJobService,
  type DefaultRecurringJobServiceOptions,
  type RecordExecutionInput,
  type RecurringJobSchedule,
  type RecurringJobService,
} from './recurring-job-service.js';
