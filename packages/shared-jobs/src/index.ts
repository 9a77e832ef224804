export { systemClock, type Clock } from './clock.js';
export { currentInstance, formatInstance, type InstanceIdentity } from './instance.js';
export type {
  InstanceRegistry,
  RunInFlight,
  WorkerInstanceIdentity,
  WorkerInstanceRecord,
} from './instance-registry.js';
export type { IntervalAlias, JobModule, JobModuleContext, JobModuleDefaults } from './job-module.js';
export {
  noRetry,
  silentJobLogger,
  type JobContext,
  type JobLogger,
  type JobProgress,
  type JobResultSummary,
  type RecurringJob,
} from './job.js';
export {
  assertValidRunQuery,
  decodeRunCursor,
  encodeRunCursor,
  finishedJobRunStatuses,
  jobRunStatuses,
  maxRunPageSize,
  toJobRunError,
  type ClaimRunInput,
  type ClaimRunResult,
  type FinishRunInput,
  type JobRun,
  type JobRunError,
  type JobRunLedger,
  type JobRunStatus,
  type RunCursor,
  type RunPage,
  type RunQuery,
} from './job-run-ledger.js';
export type { MessageScheduler, RecordOptions, ReplaceOptions } from './message-scheduler.js';
export { computeNextOccurrence, cronOf, reconsiderOverdue } from './next-occurrence.js';
export {
  assertValidOccurrence,
  findOccurrenceError,
  isSameAttempt,
  occurrenceCauses,
  occurrenceKey,
  type OccurrenceCause,
  type OccurrenceRef,
  type ResumePoint,
  type ScheduledOccurrence,
} from './occurrence.js';
export { findExecutionError } from './recurring-job-repository.js';
export type { RecurringJobExecution, RecurringJobRepository } from './recurring-job-repository.js';
export {
  DefaultRecurringJobService,
  type CompleteOccurrenceInput,
  type CompletionResult,
  type DefaultRecurringJobServiceOptions,
  type EnsureScheduledChange,
  type EnsureScheduledResult,
  type RecurringJobService,
  type ScheduledJob,
} from './recurring-job-service.js';
export * from './schedule/index.js';
export { assertValidTiming, isSameTiming, timingFingerprint, type JobTiming } from './timing.js';
