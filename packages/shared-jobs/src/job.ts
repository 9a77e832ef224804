import type { Clock } from './clock.js';

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
  readonly clock: Clock;
  readonly logger: JobLogger;
  /** Aborted when the worker drains past its deadline: stop soon, leave data consistent. */
  readonly signal: AbortSignal;
  /** Reports progress and keeps the run's lock alive: call it in long loops. */
  reportProgress(progress: JobProgress): Promise<void>;
}

/**
 * `once` (default): a missed slot runs once now, whatever number of slots were missed.
 * `skip`: missed slots are skipped; the next run is the next future slot.
 */
export type MisfirePolicy = 'once' | 'skip';

export interface RetryPolicy {
  /** Attempts per occurrence, the first included (1 = no retry). */
  readonly maxAttempts: number;
  /** Delay before the second attempt; it doubles each attempt (with jitter). */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

/** A recurring job: schedule as data, plus a handler that does the domain work. */
export interface RecurringJob<TResult extends JobResultSummary = JobResultSummary> {
  readonly name: string;
  readonly intervalMs: number;
  readonly misfirePolicy?: MisfirePolicy;
  readonly retry?: RetryPolicy;
  /** How long a run may go without reporting progress before it counts as dead. */
  readonly lockLifetimeMs?: number;
  run(context: JobContext): Promise<TResult>;
}

/** A logger that drops everything. */
export const silentJobLogger: JobLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
