import { describe, expect, it } from 'vitest';
import {
  describeJobRunLedgerConformance,
  describeMessageSchedulerConformance,
  describeRecurringJobRepositoryConformance,
  InMemoryJobRunLedger,
  InMemoryMessageScheduler,
  InMemoryRecurringJobRepository,
} from '../src/testing/index.js';

describeMessageSchedulerConformance('in-memory', () => {
  const scheduler = new InMemoryMessageScheduler();
  return Promise.resolve({
    createInstance: () => Promise.resolve(scheduler),
    countPendingRecords: async (jobName) => ((await scheduler.getPending(jobName)) ? 1 : 0),
    teardown: () => Promise.resolve(),
  });
});

describeRecurringJobRepositoryConformance('in-memory', () => {
  const repository = new InMemoryRecurringJobRepository();
  return Promise.resolve({
    createInstance: () => Promise.resolve(repository),
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

describe('InMemoryJobRunLedger ordering', () => {
  it('orders runs that started together by occurrence, then by attempt', async () => {
    const ledger = new InMemoryJobRunLedger();
    const startedAt = new Date('2026-01-01T00:00:00.000Z');
    const claim = (occurrenceAt: Date, attempt: number) =>
      ledger.claim({
        jobName: 'job',
        occurrenceAt,
        attempt,
        instance: { hostName: 'host', processId: 1 },
        startedAt,
        leaseExpiresAt: startedAt,
      });
    await claim(new Date(1000), 1);
    await claim(new Date(2000), 1);
    await claim(new Date(2000), 2);
    const order = (await ledger.listRecentRuns('job', 5)).map((run) => [
      run.occurrenceAt.getTime(),
      run.attempt,
    ]);
    expect(order).toEqual([
      [2000, 2],
      [2000, 1],
      [1000, 1],
    ]);
  });
});
