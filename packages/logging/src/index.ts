export { MongooseJobRunLedger } from './repositories/mongoose-job-run-ledger.js';
export { MongooseRecurringJobRepository } from './repositories/mongoose-recurring-job-repository.js';
export {
  getJobRunModel,
  jobRunsCollection,
  type JobRunDocument,
  type JobRunErrorDocument,
} from './models/job-run-model.js';
export {
  getRecurringJobExecutionModel,
  recurringJobExecutionsCollection,
  type RecurringJobExecutionDocument,
} from './models/recurring-job-execution-model.js';
export {
  getJobRunFinishModel,
  jobRunFinishesCollection,
  type JobRunFinishDocument,
} from './models/job-run-finish-model.js';
export type { InstanceDocument } from './models/instance-schema.js';
export {
  ensureLogEntryIndexes,
  getLogEntryModel,
  logEntriesCollection,
  logLevels,
  type LogEntryDocument,
  type LogEntryException,
  type LogLevel,
} from './models/log-entry-model.js';
export {
  createLogCleanupJob,
  logCleanupJobName,
  type LogCleanupJobOptions,
  type LogCleanupResult,
} from './jobs/log-cleanup-job.js';
export { pruneJobRunHistory } from './jobs/prune-job-run-history.js';
export {
  findLogFilePatternError,
  LogCleanupSettingsError,
  logCleanupSettingsSchema,
  parseLogCleanupSettings,
  type LogCleanupSettings,
  type LogCleanupSettingsInput,
} from './settings.js';
