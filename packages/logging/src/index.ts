export { MongooseJobRunLedger } from './repositories/mongoose-job-run-ledger.js';
export { MongooseRecurringJobRepository } from './repositories/mongoose-recurring-job-repository.js';
export {
  getJobRunModel,
  jobRunsCollection,
  type JobRunDocument,
} from './models/job-run-model.js';
export {
  getRecurringJobExecutionModel,
  recurringJobExecutionsCollection,
  type RecurringJobExecutionDocument,
} from './models/recurring-job-execution-model.js';
