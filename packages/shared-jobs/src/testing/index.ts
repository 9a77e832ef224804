export { FakeClock } from './fake-clock.js';
export { InMemoryJobRunLedger } from './in-memory-job-run-ledger.js';
export { InMemoryMessageScheduler } from './in-memory-message-scheduler.js';
export { InMemoryRecurringJobRepository } from './in-memory-recurring-job-repository.js';
export {
  describeJobRunLedgerConformance,
  describeMessageSchedulerConformance,
  describeRecurringJobRepositoryConformance,
  type ConformanceHarness,
  type MessageSchedulerHarness,
} from './conformance.js';
