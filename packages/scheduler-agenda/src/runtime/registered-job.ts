import {
  assertValidRetryPolicy,
  assertValidTiming,
  noRetry,
  type JobResultSummary,
  type JobTiming,
  type RecurringJob,
  type RetryPolicy,
} from '@app/shared-jobs';

/** A recurring job with its settings resolved and checked. */
export interface RegisteredJob {
  readonly definition: RecurringJob<JobResultSummary>;
  readonly jobName: string;
  /** Its configured timing (a pending occurrence may carry a newer deployment's). */
  readonly timing: JobTiming;
  readonly retry: RetryPolicy;
  /** Null: no stall watchdog. */
  readonly stallTimeoutMs: number | null;
}

/** Checks a job's settings (errors name the job and the field) and fills defaults. */
export function registerJob(definition: RecurringJob<JobResultSummary>): RegisteredJob {
  if (typeof definition.name !== 'string' || definition.name.trim() === '') {
    throw new TypeError('job name must be a non-empty string');
  }
  if (typeof definition.run !== 'function') {
    throw new TypeError(`job "${definition.name}": run must be a function`);
  }
  const timing: JobTiming = { schedule: definition.schedule, misfire: definition.misfire ?? { kind: 'once' } };
  assertValidTiming(definition.name, timing);
  const retry = definition.retry ?? noRetry;
  assertValidRetryPolicy(definition.name, retry);
  const stallTimeoutMs = definition.stallTimeoutMs ?? null;
  if (stallTimeoutMs !== null && (!Number.isSafeInteger(stallTimeoutMs) || stallTimeoutMs <= 0)) {
    throw new RangeError(
      `stallTimeoutMs of job "${definition.name}" must be a positive integer (milliseconds), got ${String(stallTimeoutMs)}`,
    );
  }
  return { definition, jobName: definition.name, timing, retry, stallTimeoutMs };
}
