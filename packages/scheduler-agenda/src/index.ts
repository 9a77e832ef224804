export {
  AgendaMessageScheduler,
  uniqueJobNameIndexName,
  type AgendaMessageSchedulerOptions,
} from './agenda-message-scheduler.js';
export {
  ActionRefusedError,
  agendaErrorKind,
  createJobRuntime,
  UnknownJobError,
  type Actor,
  type DrainResult,
  type JobOverview,
  type JobRuntime,
  type JobRuntimeOptions,
} from './job-runtime.js';
export {
  UnreadableOccurrenceError,
  type PendingOccurrenceData,
  type PendingOccurrenceDocument,
} from './models/pending-occurrence-document.js';
export { OccurrenceGuardBackend } from './occurrence-guard-backend.js';
export { decideClaim, hasAttemptLeft, type ClaimDecision, type ClaimDecisionInput } from './runtime/claim-decision.js';
export {
  FencedRunError,
  heartbeatFailureKind,
  LockManager,
  RunTakenOverError,
  type TrackedRun,
} from './runtime/lock-manager.js';
export {
  defaultDistinctMessagesPerWindow,
  defaultSummaryEveryMs,
  RepeatedErrorLog,
  type FailureLevel,
  type RepeatedErrorLogOptions,
} from './runtime/repeated-error-log.js';
export {
  OccurrenceRunner,
  runLogger,
  type AgendaLockHandle,
  type DueOccurrence,
  type LostClaimReason,
  type OccurrenceRunnerDependencies,
  type RunFinishedEvent,
  type RunOutcome,
} from './runtime/occurrence-runner.js';
export { registerJob, type RegisteredJob } from './runtime/registered-job.js';
export { RunInterruptedError, RunLease, StalledRunError } from './runtime/run-lease.js';
export {
  defaultHeartbeatIntervalMs,
  defaultJobsCollectionName,
  defaultLeaseTimeoutMs,
  defaultProcessEveryMs,
  resolveRuntimeSettings,
  type RuntimeSettings,
  type RuntimeSettingsInput,
} from './settings.js';
export {
  createRunTelemetry,
  instrumentationName,
  runDurationBucketsSeconds,
  runtimeMetricNames,
  scheduleLagBucketsSeconds,
  type RunTelemetry,
} from './telemetry.js';
