export {
  AgendaMessageScheduler,
  uniqueJobNameIndexName,
  type AgendaMessageSchedulerOptions,
} from './agenda-message-scheduler.js';
export {
  createJobRuntime,
  type DrainResult,
  type JobOverview,
  type JobRuntime,
  type JobRuntimeOptions,
} from './job-runtime.js';
export {
  LeaseExpiredError,
  OccurrenceRunner,
  RunInterruptedError,
  runLogger,
  type DueOccurrence,
  type LockControl,
  type LostClaimReason,
  type ConditionalScheduling,
  type OccurrenceRunnerDependencies,
  type RunFinishedEvent,
  type RunOutcome,
} from './jobs/occurrence-runner.js';
export { registerJob, type RegisteredJob } from './jobs/registered-job.js';
export { assertValidRetryPolicy, noRetry, retryDelayMs } from './jobs/retry-delay.js';
export {
  UnreadableOccurrenceError,
  type PendingOccurrenceData,
  type PendingOccurrenceDocument,
} from './models/pending-occurrence-document.js';
export { OccurrenceGuardBackend } from './occurrence-guard-backend.js';
export {
  defaultJobsCollectionName,
  defaultLockLifetimeMs,
  defaultProcessEveryMs,
  defaultWriteSettleMs,
  resolveRuntimeSettings,
  type RuntimeSettings,
  type RuntimeSettingsInput,
} from './settings.js';
export { createRunTelemetry, instrumentationName, type RunTelemetry } from './telemetry.js';
