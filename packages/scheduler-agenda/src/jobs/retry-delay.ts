import type { RetryPolicy } from '@app/shared-jobs';
import { exponential } from 'agenda';
import { retryJitter } from '../settings.js';

/** No retry: one attempt per occurrence. */
export const noRetry: RetryPolicy = { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 };

/** Throws an error naming the bad field of a retry policy. */
export function assertValidRetryPolicy(jobName: string, policy: RetryPolicy): void {
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(
      `retry.maxAttempts of job "${jobName}" must be an integer >= 1, got ${String(policy.maxAttempts)}`,
    );
  }
  for (const field of ['initialDelayMs', 'maxDelayMs'] as const) {
    if (!Number.isSafeInteger(policy[field]) || policy[field] < 0) {
      throw new RangeError(
        `retry.${field} of job "${jobName}" must be an integer >= 0 (milliseconds), got ${String(policy[field])}`,
      );
    }
  }
}

/**
 * Delay before the retry that follows the `failedAttempts`-th failure, or null when the
 * policy allows no more attempts. Agenda's `exponential` strategy: initialDelay x 2^(n-1),
 * capped at maxDelay, ±20 % jitter.
 */
export function retryDelayMs(
  jobName: string,
  policy: RetryPolicy,
  failedAttempts: number,
  error: Error,
): number | null {
  if (failedAttempts >= policy.maxAttempts) return null;
  const strategy = exponential({
    delay: policy.initialDelayMs,
    maxDelay: policy.maxDelayMs,
    factor: 2,
    jitter: retryJitter,
    maxRetries: policy.maxAttempts - 1,
  });
  return strategy({ attempt: failedAttempts, error, jobName, jobData: null });
}
