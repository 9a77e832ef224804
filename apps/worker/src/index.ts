/** @app/worker: the deployable host. The CLI (`dist/cli.js`) is the usual entry point. */
export {
  coerceEnvironmentValue,
  fixedEnvironmentKeys,
  sectionEnvironmentKeys,
  toEnvironmentSuffix,
  type FixedEnvironmentKey,
  type SettingsSection,
} from './config/env-mapping.js';
export { ConfigurationError, loadConfiguration, type ConfigurationProblem } from './config/load.js';
export { redactConfiguration } from './config/redact.js';
export {
  loadWorkerConfiguration,
  settingsSections,
  workerConfigurationSchema,
  type JobSettings,
  type WorkerConfiguration,
} from './config/worker-config.js';
export { jobTimingSettingsSchema, resolveJobTiming, type JobTimingSettings, type ResolvedJobTiming, type WorkerJobModule } from './config/job-timing.js';
export { workerJobModules } from './job-modules.js';
export { consoleAddress, startHttpServer, type HttpStatusSource, type ReadinessReport, type WorkerHttpServer } from './http-server.js';
export { buildJobs, type BuiltJobs, type JobPlan } from './jobs.js';
export { buildJobRows, formatDuration, formatHistoryTable, formatJobsTable, type JobRow } from './jobs-view.js';
export { createJobLogger, createLogger, type WorkerLogger } from './logger.js';
export { startTelemetry, type Telemetry, type TelemetryOptions } from './telemetry.js';
export {
  defaultEmbeddedDataDirectory,
  ensureAllIndexes,
  openWorkerContext,
  startWorker,
  type RunningWorker,
  type WorkerContext,
} from './worker.js';
export {
  ConsoleBackendError,
  type AuditTrail,
  type ConsoleBackend,
  type ConsoleErrorCode,
} from './console/console-backend.js';
export type * from './console/api-types.js';
export { runStatuses, emailStatusList } from './console/api-types.js';
export { createConsoleBackend, createMongooseAuditTrail, type ConsoleBackendContext, type ConsoleBackendOptions } from './console/worker-console-backend.js';
export { registerConsole, type ConsoleEventLog, type ConsoleHttpOptions } from './console/console-routes.js';
export { parseConsoleTokens, isLoopbackHost, minimumTokenLength, type ConsoleRole, type ConsoleToken } from './console/tokens.js';
export { constantTimeEqual } from './console/security.js';
