import {
  describeInstanceRegistryConformance,
  describeJobRunLedgerConformance,
  describeMessageSchedulerConformance,
  describeRecurringJobRepositoryConformance,
  describeRecurringJobServiceConformance,
  InMemoryInstanceRegistry,
  InMemoryJobRunLedger,
  InMemoryMessageScheduler,
  type MessageSchedulerHarness,
} from '../src/testing/index.js';

/** One in-memory scheduler per test: every instance is that one store. */
function schedulerHarness(): Promise<MessageSchedulerHarness> {
  const scheduler = new InMemoryMessageScheduler();
  return Promise.resolve({
    createInstance: () => Promise.resolve(scheduler),
    countPendingRecords: async (jobName) => ((await scheduler.getPending(jobName)) ? 1 : 0),
    teardown: () => Promise.resolve(),
  });
}

describeMessageSchedulerConformance('in-memory', schedulerHarness);

describeRecurringJobServiceConformance('in-memory', schedulerHarness);

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
