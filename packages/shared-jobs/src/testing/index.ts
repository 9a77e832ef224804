export { FakeClock } from './fake-clock.js';
export { InMemoryInstanceRegistry } from './in-memory-instance-registry.js';
export { InMemoryJobRunLedger } from './in-memory-job-run-ledger.js';
export { InMemoryMessageScheduler } from './in-memory-message-scheduler.js';
export {
  describeInstanceRegistryConformance,
  describeJobRunLedgerConformance,
  describeMessageSchedulerConformance,
  describeRecurringJobRepositoryConformance,
  type ConformanceHarness,
  type MessageSchedulerHarness,
} from './conformance.js';
export { describeRecurringJobServiceConformance } from './recurring-job-service-conformance.js';
export {
  createJobModuleContext,
  createTestJobContext,
  defaultJobModuleTiming,
  RecordingLogger,
  type RecordedLogLevel,
  type RecordedLogLine,
  type TestJobContext,
  type TestJobContextOptions,
} from './job-context.js';
