import type { JobProgress } from '../job.js';
import {
  assertValidRunQuery,
  decodeRunCursor,
  encodeRunCursor,
  type ClaimRunInput,
  type ClaimRunResult,
  type FinishRunInput,
  type JobRun,
  type JobRunLedger,
  type RunPage,
  type RunQuery,
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
      cause: input.cause,
      requestedBy: input.requestedBy,
      status: 'running',
      instance: { ...input.instance },
      instanceId: input.instanceId,
      startedAt: new Date(input.startedAt.getTime()),
      leaseExpiresAt: new Date(input.leaseExpiresAt.getTime()),
      finishedAt: null,
      durationMs: null,
      error: null,
      result: null,
      progress: null,
      traceId: null,
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
      durationMs: input.durationMs,
      error: input.error ?? null,
      result: input.result ?? null,
      traceId: input.traceId ?? run.traceId,
    });
    return Promise.resolve(true);
  }

  renewLeases(runIds: readonly string[], leaseExpiresAt: Date): Promise<string[]> {
    const notRunning: string[] = [];
    for (const runId of runIds) {
      const run = this.runsById.get(runId);
      if (run === undefined || run.status !== 'running') {
        notRunning.push(runId);
        continue;
      }
      this.runsById.set(runId, { ...run, leaseExpiresAt: new Date(leaseExpiresAt.getTime()) });
    }
    return Promise.resolve(notRunning);
  }

  reportProgress(runId: string, progress: JobProgress): Promise<boolean> {
    const run = this.runsById.get(runId);
    if (run === undefined || run.status !== 'running') return Promise.resolve(false);
    this.runsById.set(runId, { ...run, progress: { ...progress } });
    return Promise.resolve(true);
  }

  getRun(runId: string): Promise<JobRun | null> {
    const run = this.runsById.get(runId);
    return Promise.resolve(run === undefined ? null : cloneRun(run));
  }

  listOccurrenceRuns(jobName: string, occurrenceAt: Date): Promise<JobRun[]> {
    return Promise.resolve(
      this.allRuns()
        .filter((run) => run.jobName === jobName && run.occurrenceAt.getTime() === occurrenceAt.getTime())
        .sort((left, right) => left.attempt - right.attempt),
    );
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    await Promise.resolve();
    assertValidRunQuery(query);
    const cursor = query.cursor === undefined ? null : decodeRunCursor(query.cursor);
    const statuses = query.statuses ?? [];
    const matching = this.allRuns()
      .filter(
        (run) =>
          run.jobName === query.jobName &&
          (statuses.length === 0 || statuses.includes(run.status)) &&
          (query.startedFrom === undefined || run.startedAt.getTime() >= query.startedFrom.getTime()) &&
          (query.startedBefore === undefined || run.startedAt.getTime() < query.startedBefore.getTime()) &&
          (cursor === null || newestFirst(run, { startedAt: cursor.startedAt, runId: cursor.runId }) > 0),
      )
      .sort(newestFirst);
    const runs = matching.slice(0, query.limit);
    const last = runs.at(-1);
    return {
      runs,
      nextCursor:
        matching.length > query.limit && last !== undefined
          ? encodeRunCursor({ startedAt: last.startedAt, runId: last.runId })
          : null,
    };
  }

  listLatestRunPerJob(jobNames: readonly string[]): Promise<JobRun[]> {
    const latestByJob = new Map<string, JobRun>();
    for (const run of this.allRuns().sort(newestFirst)) {
      if (jobNames.includes(run.jobName) && !latestByJob.has(run.jobName)) latestByJob.set(run.jobName, run);
    }
    return Promise.resolve(
      [...latestByJob.values()].sort((left, right) => left.jobName.localeCompare(right.jobName)),
    );
  }

  pruneFinishedBefore(cutoff: Date, batchSize: number): Promise<number> {
    let pruned = 0;
    for (const [runId, run] of this.runsById) {
      if (pruned >= batchSize) break;
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

/** Newest start first; runs started at the same instant by id, descending (the cursor's order). */
function newestFirst(left: Pick<JobRun, 'startedAt' | 'runId'>, right: Pick<JobRun, 'startedAt' | 'runId'>): number {
  const byStart = right.startedAt.getTime() - left.startedAt.getTime();
  if (byStart !== 0) return byStart;
  if (left.runId === right.runId) return 0;
  return left.runId < right.runId ? 1 : -1;
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
    progress: run.progress === null ? null : { ...run.progress },
  };
}
