import type {
  RecurringJobExecution,
  RecurringJobRepository,
} from '../recurring-job-repository.js';

/** Executions in a Map keyed by job name. For unit tests of pure logic. */
export class InMemoryRecurringJobRepository implements RecurringJobRepository {
  private readonly executionsByJobName = new Map<string, RecurringJobExecution>();

  getLastExecution(jobName: string): Promise<RecurringJobExecution | null> {
    const execution = this.executionsByJobName.get(jobName);
    return Promise.resolve(execution === undefined ? null : cloneExecution(execution));
  }

  upsertExecution(execution: RecurringJobExecution): Promise<boolean> {
    const stored = this.executionsByJobName.get(execution.jobName);
    if (stored !== undefined && stored.lastOccurrenceAt.getTime() > execution.lastOccurrenceAt.getTime()) {
      return Promise.resolve(false);
    }
    this.executionsByJobName.set(execution.jobName, cloneExecution(execution));
    return Promise.resolve(true);
  }

  listExecutions(): Promise<RecurringJobExecution[]> {
    return Promise.resolve(
      [...this.executionsByJobName.values()]
        .sort((left, right) => left.jobName.localeCompare(right.jobName))
        .map(cloneExecution),
    );
  }
}

function cloneExecution(execution: RecurringJobExecution): RecurringJobExecution {
  return {
    jobName: execution.jobName,
    lastExecutedAt: new Date(execution.lastExecutedAt.getTime()),
    lastOccurrenceAt: new Date(execution.lastOccurrenceAt.getTime()),
    nextScheduledAt:
      execution.nextScheduledAt === null ? null : new Date(execution.nextScheduledAt.getTime()),
    lastExecutedBy: execution.lastExecutedBy === null ? null : { ...execution.lastExecutedBy },
  };
}
