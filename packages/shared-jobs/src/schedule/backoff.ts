/**
 * Exponential backoff, shared by every "try again later": a failed run of a job
 * attempted again ("run retries", the job runtime) and an email sent again ("delivery
 * attempts", the email queue). The two concepts keep their own names in their
 * packages; the policy type and the delay function are this one.
 */

/** The shape of the delays. */
export interface BackoffPolicy {
  /** Delay before the first retry (milliseconds). */
  readonly initialDelayMs: number;
  /** No delay exceeds it, jitter included (milliseconds). */
  readonly maxDelayMs: number;
  /** Growth per retry; default 2 (doubling). */
  readonly factor?: number;
  /** Random spread as a fraction of the delay, 0 to 1; default 0.2 (±20 %). */
  readonly jitter?: number;
}

/**
 * Attempts and their delays. `factor` and `jitter` take effect where the delay comes from
 * {@link exponentialBackoffMs}; the Agenda runtime uses its defaults (2, 0.2) until it
 * switches to it.
 */
export interface RetryPolicy extends BackoffPolicy {
  /** Attempts per occurrence, the first included (1 = no retry). */
  readonly maxAttempts: number;
}

export const defaultBackoffFactor = 2;
export const defaultBackoffJitter = 0.2;

interface FieldProblem {
  readonly field: string;
  readonly requirement: string;
  readonly value: unknown;
}

function findBackoffProblem(policy: BackoffPolicy): FieldProblem | null {
  const { initialDelayMs, maxDelayMs, factor, jitter } = policy;
  if (!Number.isSafeInteger(initialDelayMs) || initialDelayMs < 0) {
    return {
      field: 'initialDelayMs',
      requirement: 'an integer >= 0 (milliseconds)',
      value: initialDelayMs,
    };
  }
  if (!Number.isSafeInteger(maxDelayMs) || maxDelayMs < initialDelayMs) {
    return {
      field: 'maxDelayMs',
      requirement: `an integer >= initialDelayMs (${initialDelayMs}, milliseconds)`,
      value: maxDelayMs,
    };
  }
  if (factor !== undefined && !(Number.isFinite(factor) && factor >= 1)) {
    return { field: 'factor', requirement: 'a finite number >= 1', value: factor };
  }
  if (jitter !== undefined && !(jitter >= 0 && jitter <= 1)) {
    return { field: 'jitter', requirement: 'a number from 0 to 1', value: jitter };
  }
  return null;
}

/**
 * Throws a RangeError naming the job and the field of an invalid retry policy:
 * `retry.maxAttempts of job "X" must be an integer >= 1, got 0`.
 */
export function assertValidRetryPolicy(jobName: string, policy: RetryPolicy): void {
  const problem: FieldProblem | null =
    !Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1
      ? { field: 'maxAttempts', requirement: 'an integer >= 1', value: policy.maxAttempts }
      : findBackoffProblem(policy);
  if (problem !== null) {
    throw new RangeError(
      `retry.${problem.field} of job "${jobName}" must be ${problem.requirement}, got ${String(problem.value)}`,
    );
  }
}

/**
 * The delay before retry number `retryNumber` (1 = the first retry, after the first
 * failure): `initialDelayMs * factor^(retryNumber - 1)`, capped at `maxDelayMs`, then
 * spread by ±`jitter` and capped again. Never negative, never above `maxDelayMs`, whole
 * milliseconds. `random` returns a number in [0, 1]: 0 gives the lowest delay, 1 the highest.
 */
export function exponentialBackoffMs(
  policy: BackoffPolicy,
  retryNumber: number,
  random: () => number = Math.random,
): number {
  const problem = findBackoffProblem(policy);
  if (problem !== null) {
    throw new RangeError(
      `backoff ${problem.field} must be ${problem.requirement}, got ${String(problem.value)}`,
    );
  }
  if (!Number.isSafeInteger(retryNumber) || retryNumber < 1) {
    throw new RangeError(
      `retryNumber must be an integer >= 1 (1 = the first retry), got ${String(retryNumber)}`,
    );
  }
  const draw = random();
  if (!(draw >= 0 && draw <= 1)) {
    throw new RangeError(`random() must return a number from 0 to 1, got ${String(draw)}`);
  }
  const factor = policy.factor ?? defaultBackoffFactor;
  const jitter = policy.jitter ?? defaultBackoffJitter;
  // factor^n overflows to Infinity for large n: cap first, and 0 x Infinity must stay 0.
  const nominal =
    policy.initialDelayMs === 0
      ? 0
      : Math.min(policy.maxDelayMs, policy.initialDelayMs * factor ** (retryNumber - 1));
  const spread = nominal * (1 + jitter * (2 * draw - 1));
  return Math.min(policy.maxDelayMs, Math.max(0, Math.round(spread)));
}
