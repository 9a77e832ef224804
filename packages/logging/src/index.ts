export { MongooseInstanceRegistry } from './repositories/mongoose-instance-registry.js';
export { MongooseJobRunLedger } from './repositories/mongoose-job-run-ledger.js';
export {
  getJobRunModel,
  jobRunsCollection,
  type JobRunDocument,
  type JobRunErrorDocument,
} from './models/job-run-model.js';
export {
  getWorkerInstanceModel,
  workerInstancesCollection,
  type WorkerInstanceDocument,
} from './models/worker-instance-model.js';
export {
  getOperatorAuditModel,
  operatorAuditCollection,
  type OperatorAuditActor,
  type OperatorAuditDocument,
} from './models/operator-audit-model.js';
export {
  MongooseOperatorAuditTrail,
  type OperatorAuditInput,
  type OperatorAuditPosition,
  type OperatorAuditRecord,
} from './repositories/mongoose-operator-audit-trail.js';
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
  logCleanupDefaults,
  logCleanupJobModule,
  logCleanupJobName,
  type LogCleanupJobOptions,
  type LogCleanupJobServices,
  type LogCleanupResult,
} from './jobs/log-cleanup-job.js';
export { pruneJobRunHistory, pruneWorkerInstances } from './jobs/prune-job-run-history.js';
export {
  findLogFilePatternError,
  LogCleanupSettingsError,
  logCleanupSettingsSchema,
  parseLogCleanupSettings,
  type LogCleanupSettings,
  type LogCleanupSettingsInput,
} from './settings.js';
