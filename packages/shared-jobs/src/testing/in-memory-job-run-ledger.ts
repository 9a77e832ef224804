import type {
  ClaimRunInput,
  ClaimRunResult,
  FinishRunInput,
  JobRun,
  JobRunLedger,
} from '../job-run-ledger.js';

/** The run ledger in a Map keyed like the unique index. For unit tests of pure logic. */
export class InMemoryJobRunLedger implements JobRunLedger {
  private readonly runsById = new Map<string, JobRun>();

  claim(input: ClaimRunInput): Promise<ClaimRunResult> {
    const runId = runKey(input.jobName, input.occurrenceAt, input.attempt);
    const existing = this.runsById.get(runId);
    if (existing !== undefined) return Promise.resolve({ claimed: false, existing: cloneRun(existing) });
    const run: JobRun = {
      runId,
      jobName: input.jobName,
      occurrenceAt: new Date(input.occurrenceAt.getTime()),
      attempt: input.attempt,
      status: 'running',
      instance: { ...input.instance },
      startedAt: new Date(input.startedAt.getTime()),
      leaseExpiresAt: new Date(input.leaseExpiresAt.getTime()),
      finishedAt: null,
      durationMs: null,
      error: null,
      result: null,
    };
    this.runsById.set(runId, run);
    return Promise.resolve({ claimed: true, run: cloneRun(run) });
  }

  finish(runId: string, input: FinishRunInput): Promise<boolean> {
    const run = this.runsById.get(runId);
    if (run === undefined || run.status !== 'running') return Promise.resolve(false);
    this.runsById.set(runId, {
      ...run,
      status: input.status,
      finishedAt: new Date(input.finishedAt.getTime()),
      durationMs: input.finishedAt.getTime() - run.startedAt.getTime(),
      error: input.error ?? null,
      result: input.result ?? null,
    });
    return Promise.resolve(true);
  }

  renewLease(runId: string, leaseExpiresAt: Date): Promise<boolean> {
    const run = this.runsById.get(runId);
    if (run === undefined || run.status !== 'running') return Promise.resolve(false);
    this.runsById.set(runId, { ...run, leaseExpiresAt: new Date(leaseExpiresAt.getTime()) });
    return Promise.resolve(true);
  }

  listOccurrenceRuns(jobName: string, occurrenceAt: Date): Promise<JobRun[]> {
    return Promise.resolve(
      this.allRuns()
        .filter(
          (run) =>
            run.jobName === jobName && run.occurrenceAt.getTime() === occurrenceAt.getTime(),
        )
        .sort((left, right) => left.attempt - right.attempt),
    );
  }

  listRecentRuns(jobName: string, limit: number): Promise<JobRun[]> {
    return Promise.resolve(
      this.allRuns()
        .filter((run) => run.jobName === jobName)
        .sort(newestFirst)
        .slice(0, limit),
    );
  }

  listLatestRunPerJob(): Promise<JobRun[]> {
    const latestByJob = new Map<string, JobRun>();
    for (const run of this.allRuns().sort(newestFirst)) {
      if (!latestByJob.has(run.jobName)) latestByJob.set(run.jobName, run);
    }
    return Promise.resolve(
      [...latestByJob.values()].sort((left, right) => left.jobName.localeCompare(right.jobName)),
    );
  }

  pruneFinishedBefore(cutoff: Date): Promise<number> {
    let pruned = 0;
    for (const [runId, run] of this.runsById) {
      if (run.finishedAt !== null && run.finishedAt.getTime() < cutoff.getTime()) {
        this.runsById.delete(runId);
        pruned += 1;
      }
    }
    return Promise.resolve(pruned);
  }

  private allRuns(): JobRun[] {
    return [...this.runsById.values()].map(cloneRun);
  }
}

function runKey(jobName: string, occurrenceAt: Date, attempt: number): string {
  return `${jobName}@${occurrenceAt.toISOString()}#${attempt}`;
}

function newestFirst(left: JobRun, right: JobRun): number {
  return (
    right.startedAt.getTime() - left.startedAt.getTime() ||
    right.occurrenceAt.getTime() - left.occurrenceAt.getTime() ||
    right.attempt - left.attempt
  );
}

function cloneRun(run: JobRun): JobRun {
  return {
    ...run,
    occurrenceAt: new Date(run.occurrenceAt.getTime()),
    instance: { ...run.instance },
    startedAt: new Date(run.startedAt.getTime()),
    leaseExpiresAt: new Date(run.leaseExpiresAt.getTime()),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt.getTime()),
    error: run.error === null ? null : { ...run.error },
    result: run.result === null ? null : { ...run.result },
  };
}
