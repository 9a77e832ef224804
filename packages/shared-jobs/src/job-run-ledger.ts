import type { InstanceIdentity } from './instance.js';
import type { JobResultSummary } from './job.js';

/**
 * `running` -> `succeeded` | `failed` | `interrupted` (drained at shutdown) |
 * `abandoned` (its worker died; a later attempt took over).
 */
export type JobRunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted' | 'abandoned';

export const finishedJobRunStatuses: readonly JobRunStatus[] = [
  'succeeded',
  'failed',
  'interrupted',
  'abandoned',
];

export interface JobRunError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** One attempt of one occurrence: the run history. */
export interface JobRun {
  /** Stable id of this record (the ledger decides its form). */
  readonly runId: string;
  readonly jobName: string;
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly status: JobRunStatus;
  readonly instance: InstanceIdentity;
  readonly startedAt: Date;
  /** While `running`: past this instant without renewal, the run counts as dead. */
  readonly leaseExpiresAt: Date;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  readonly error: JobRunError | null;
  readonly result: JobResultSummary | null;
}

export interface ClaimRunInput {
  readonly jobName: string;
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly instance: InstanceIdentity;
  readonly startedAt: Date;
  readonly leaseExpiresAt: Date;
}

/** The claim either created the run (this instance owns it) or found the one that exists. */
export type ClaimRunResult =
  | { readonly claimed: true; readonly run: JobRun }
  | { readonly claimed: false; readonly existing: JobRun };

export interface FinishRunInput {
  readonly status: Exclude<JobRunStatus, 'running'>;
  readonly finishedAt: Date;
  readonly error?: JobRunError | null;
  readonly result?: JobResultSummary | null;
}

/**
 * The occurrence ledger. `claim` is atomic: of any number of concurrent claims of
 * one `(jobName, occurrenceAt, attempt)`, exactly one returns `claimed: true` (a
 * unique index, the one primitive FerretDB makes atomic).
 */
export interface JobRunLedger {
  claim(input: ClaimRunInput): Promise<ClaimRunResult>;
  /** Moves a `running` run to a final status; false when it was no longer `running`. */
  finish(runId: string, input: FinishRunInput): Promise<boolean>;
  /** Extends the lease of a `running` run; false when it was no longer `running`. */
  renewLease(runId: string, leaseExpiresAt: Date): Promise<boolean>;
  /** Every attempt of one occurrence, by attempt ascending. */
  listOccurrenceRuns(jobName: string, occurrenceAt: Date): Promise<JobRun[]>;
  /** The latest `limit` runs of a job, newest (by start) first. */
  listRecentRuns(jobName: string, limit: number): Promise<JobRun[]>;
  /** The newest run of every job, sorted by job name. */
  listLatestRunPerJob(): Promise<JobRun[]>;
  /** Deletes finished runs that finished before `cutoff`; returns how many. */
  pruneFinishedBefore(cutoff: Date): Promise<number>;
}

/** An error turned into the plain data the ledger stores. */
export function toJobRunError(error: unknown): JobRunError {
  if (error instanceof Error) {
    return error.stack === undefined
      ? { name: error.name, message: error.message }
      : { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: 'NonError', message: String(error) };
}
