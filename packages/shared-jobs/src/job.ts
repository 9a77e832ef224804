import type { Clock } from './clock.js';
import type { OccurrenceCause } from './occurrence.js';
import type { JobSchedule, MisfirePolicy, RetryPolicy } from './schedule/index.js';

/** What a handler returns: counts and short facts, stored in the history and on the span. */
export type JobResultSummary = Readonly<Record<string, number | string | boolean>>;

/** Structured logger given to handlers; every line carries the job name and run id. */
export interface JobLogger {
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface JobProgress {
  readonly completed?: number;
  readonly total?: number;
  readonly message?: string;
}

/** What the runtime gives a handler for one run. */
export interface JobContext {
  readonly jobName: string;
  readonly runId: string;
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly cause: OccurrenceCause;
  readonly clock: Clock;
  readonly logger: JobLogger;
  /**
   * Aborted when the run must stop: the worker drains past its deadline, the run stalled
   * (no progress within the job's stall timeout), or the worker lost the database long
   * enough that another one may take the run over. Stop soon, leave data consistent.
   */
  readonly signal: AbortSignal;
  /** Reports progress: shown to operators, and proof of life for the stall timeout. */
  reportProgress(progress: JobProgress): Promise<void>;
}

/** One attempt per occurrence. */
export const noRetry: RetryPolicy = { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 };

/** A recurring job: schedule as data, plus a handler that does the domain work. */
export interface RecurringJob<TResult extends JobResultSummary = JobResultSummary> {
  readonly name: string;
  readonly schedule: JobSchedule;
  /** What happens to slots missed while no worker ran the job (default `once`). */
  readonly misfire?: MisfirePolicy;
  /** Run retries (default: none). */
  readonly retry?: RetryPolicy;
  /**
   * A run that reports no progress for this long is failed as stalled and aborted (a
   * hung handler). None by default: a slow handler on a live worker keeps its run.
   */
  readonly stallTimeoutMs?: number;
  run(context: JobContext): Promise<TResult>;
  /** Releases what the job holds (an SMTP pool, say); the worker calls it at shutdown. */
  dispose?(): Promise<void> | void;
}

/** A logger that drops everything. */
export const silentJobLogger: JobLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
