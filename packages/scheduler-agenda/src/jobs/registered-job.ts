import {
  assertValidSchedule,
  type JobResultSummary,
  type RecurringJob,
  type RecurringJobSchedule,
  type RetryPolicy,
} from '@app/shared-jobs';
import { assertValidRetryPolicy, noRetry } from './retry-delay.js';

/** A recurring job with its settings resolved and checked. */
export interface RegisteredJob {
  readonly definition: RecurringJob<JobResultSummary>;
  readonly schedule: RecurringJobSchedule;
  readonly retry: RetryPolicy;
  readonly lockLifetimeMs: number;
}

/** Checks a job's settings (errors name the job and the field) and fills defaults. */
export function registerJob(
  definition: RecurringJob<JobResultSummary>,
  defaultLockLifetimeMs: number,
): RegisteredJob {
  const schedule: RecurringJobSchedule = {
    jobName: definition.name,
    intervalMs: definition.intervalMs,
    misfirePolicy: definition.misfirePolicy ?? 'once',
  };
  assertValidSchedule(schedule);
  if (typeof definition.run !== 'function') {
    throw new TypeError(`job "${definition.name}": run must be a function`);
  }
  const retry = definition.retry ?? noRetry;
  assertValidRetryPolicy(definition.name, retry);
  const lockLifetimeMs = definition.lockLifetimeMs ?? defaultLockLifetimeMs;
  if (!Number.isSafeInteger(lockLifetimeMs) || lockLifetimeMs <= 0) {
    throw new RangeError(
      `lockLifetimeMs of job "${definition.name}" must be a positive integer (milliseconds), got ${String(lockLifetimeMs)}`,
    );
  }
  return { definition, schedule, retry, lockLifetimeMs };
}
