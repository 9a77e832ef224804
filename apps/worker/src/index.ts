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
  jobSectionKeys,
  loadWorkerConfiguration,
  settingsSections,
  workerConfigurationSchema,
  type JobSectionKey,
  type WorkerConfiguration,
} from './config/worker-config.js';
export { startHttpServer, type HttpStatusSource, type ReadinessReport, type WorkerHttpServer } from './http-server.js';
export { buildJobs, jobNameBySection, type BuiltJobs, type JobPlan } from './jobs.js';
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
