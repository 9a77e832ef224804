import type { InstanceIdentity } from './instance.js';
import type { JobProgress, JobResultSummary } from './job.js';
import type { OccurrenceCause } from './occurrence.js';

/**
 * `running` -> `succeeded` | `failed` | `interrupted` (drained at shutdown, or cut off
 * from the database and fenced) | `abandoned` (its worker stopped renewing the lease; a
 * later attempt took over).
 */
export type JobRunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted' | 'abandoned';

export const jobRunStatuses: readonly JobRunStatus[] = [
  'running',
  'succeeded',
  'failed',
  'interrupted',
  'abandoned',
];

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
  /** Why this attempt ran: its schedule, a retry, an operator's run-now or rerun, a catch-up. */
  readonly cause: OccurrenceCause;
  /** Who asked for it (operator runs and reruns), e.g. `console:alice`; null otherwise. */
  readonly requestedBy: string | null;
  readonly status: JobRunStatus;
  readonly instance: InstanceIdentity;
  /** The worker process (its instances record); null for runs written before instances existed. */
  readonly instanceId: string | null;
  readonly startedAt: Date;
  /**
   * While `running`: the owner renews it on every heartbeat; once it has passed, the
   * owner counts as gone and another worker may take the occurrence over.
   */
  readonly leaseExpiresAt: Date;
  readonly finishedAt: Date | null;
  readonly durationMs: number | null;
  readonly error: JobRunError | null;
  readonly result: JobResultSummary | null;
  /** The last progress the handler reported. */
  readonly progress: JobProgress | null;
  /** The OpenTelemetry trace of the run, when telemetry was on. */
  readonly traceId: string | null;
}

export interface ClaimRunInput {
  readonly jobName: string;
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly cause: OccurrenceCause;
  readonly requestedBy: string | null;
  readonly instance: InstanceIdentity;
  readonly instanceId: string;
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
  /** `finishedAt` minus the run's `startedAt` (the caller holds the run: no read needed). */
  readonly durationMs: number;
  readonly error?: JobRunError | null;
  readonly result?: JobResultSummary | null;
  readonly traceId?: string | null;
}

/** A page of a job's history: newest first (by start), filtered. */
export interface RunQuery {
  readonly jobName: string;
  /** Only these statuses (all when absent or empty). */
  readonly statuses?: readonly JobRunStatus[];
  /** Runs that started at or after this instant. */
  readonly startedFrom?: Date;
  /** Runs that started strictly before this instant. */
  readonly startedBefore?: Date;
  /** Page size, 1 to 1000. */
  readonly limit: number;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface RunPage {
  readonly runs: readonly JobRun[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

/** Page sizes a ledger accepts. */
export const maxRunPageSize = 1000;

/**
 * The occurrence ledger. `claim` is atomic: of any number of concurrent claims of
 * one `(jobName, occurrenceAt, attempt)`, exactly one returns `claimed: true` (a
 * unique index). `finish` is a conditional update: of concurrent calls on one run
 * exactly one moves it out of `running`.
 */
export interface JobRunLedger {
  claim(input: ClaimRunInput): Promise<ClaimRunResult>;
  /** Moves a `running` run to a final status; false when it was no longer `running`. */
  finish(runId: string, input: FinishRunInput): Promise<boolean>;
  /**
   * Extends the lease of the given runs that are still `running`, in one write; returns
   * the ids of those that are not (finished elsewhere, e.g. abandoned by a taker).
   */
  renewLeases(runIds: readonly string[], leaseExpiresAt: Date): Promise<string[]>;
  /** Stores the progress of a `running` run; false when it is no longer `running`. */
  reportProgress(runId: string, progress: JobProgress): Promise<boolean>;
  /** One run, or null (an unknown or malformed id). */
  getRun(runId: string): Promise<JobRun | null>;
  /** Every attempt of one occurrence, by attempt ascending. */
  listOccurrenceRuns(jobName: string, occurrenceAt: Date): Promise<JobRun[]>;
  /** A page of a job's runs, newest first; see {@link RunQuery}. */
  listRuns(query: RunQuery): Promise<RunPage>;
  /** The newest run of each named job (jobs without runs are left out), sorted by job name. */
  listLatestRunPerJob(jobNames: readonly string[]): Promise<JobRun[]>;
  /**
   * Deletes up to `batchSize` finished runs that finished before `cutoff`, in statements
   * of at most one batch; returns how many. Call until it returns less than `batchSize`.
   */
  pruneFinishedBefore(cutoff: Date, batchSize: number): Promise<number>;
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

/** Throws a RangeError naming the problem when a run query is malformed. */
export function assertValidRunQuery(query: RunQuery): void {
  if (typeof query.jobName !== 'string' || query.jobName.trim() === '') {
    throw new TypeError('run query jobName must be a non-empty string');
  }
  if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > maxRunPageSize) {
    throw new RangeError(`run query limit must be an integer from 1 to ${maxRunPageSize}, got ${String(query.limit)}`);
  }
  for (const status of query.statuses ?? []) {
    if (!jobRunStatuses.includes(status)) {
      throw new RangeError(`run query status "${String(status)}" is not one of ${jobRunStatuses.join(', ')}`);
    }
  }
  for (const field of ['startedFrom', 'startedBefore'] as const) {
    const value = query[field];
    if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime()))) {
      throw new TypeError(`run query ${field} must be a valid Date`);
    }
  }
  if (
    query.startedFrom !== undefined &&
    query.startedBefore !== undefined &&
    query.startedFrom.getTime() >= query.startedBefore.getTime()
  ) {
    throw new RangeError('run query startedFrom must be before startedBefore');
  }
}

/** A history cursor: the start instant and id of the last run of a page. */
export interface RunCursor {
  readonly startedAt: Date;
  readonly runId: string;
}

/** Encodes a cursor as opaque URL-safe text. */
export function encodeRunCursor(cursor: RunCursor): string {
  return Buffer.from(`${cursor.startedAt.getTime()}:${cursor.runId}`, 'utf8').toString('base64url');
}

/** Decodes {@link encodeRunCursor}'s text; throws a RangeError for anything else. */
export function decodeRunCursor(text: string): RunCursor {
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  const match = /^(-?\d{1,16}):([\w.@#:-]{1,200})$/u.exec(decoded);
  if (match === null || Buffer.from(decoded, 'utf8').toString('base64url') !== text) {
    throw new RangeError('run query cursor is malformed (pass the nextCursor of a previous page)');
  }
  return { startedAt: new Date(Number(match[1])), runId: match[2]! };
}
