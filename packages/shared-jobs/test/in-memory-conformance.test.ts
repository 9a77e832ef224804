import {
  describeInstanceRegistryConformance,
  describeJobRunLedgerConformance,
  describeMessageSchedulerConformance,
  describeRecurringJobRepositoryConformance,
  InMemoryInstanceRegistry,
  InMemoryJobRunLedger,
  InMemoryMessageScheduler,
} from '../src/testing/index.js';

describeMessageSchedulerConformance('in-memory', () => {
  const scheduler = new InMemoryMessageScheduler();
  return Promise.resolve({
    createInstance: () => Promise.resolve(scheduler),
    countPendingRecords: async (jobName) => ((await scheduler.getPending(jobName)) ? 1 : 0),
    teardown: () => Promise.resolve(),
  });
});

describeRecurringJobRepositoryConformance('in-memory message scheduler', () => {
  const scheduler = new InMemoryMessageScheduler();
  return Promise.resolve({
    createInstance: () => Promise.resolve(scheduler),
    teardown: () => Promise.resolve(),
  });
});

describeJobRunLedgerConformance('in-memory', () => {
  const ledger = new InMemoryJobRunLedger();
  return Promise.resolve({
    createInstance: () => Promise.resolve(ledger),
    teardown: () => Promise.resolve(),
  });
});

describeInstanceRegistryConformance('in-memory', () => {
  const registry = new InMemoryInstanceRegistry();
  return Promise.resolve({
    createInstance: () => Promise.resolve(registry),
    teardown: () => Promise.resolve(),
  });
});
