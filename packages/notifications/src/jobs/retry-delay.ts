/**
 * The delay before the next attempt after `failedAttempts` failed ones: exponential
 * (`initial * 2^(failedAttempts - 1)`), capped at `max`, with "equal jitter" — half of the
 * delay fixed, the other half random — so retries of a failed batch spread out but never
 * come sooner than half the nominal delay.
 *
 * Hand-written (eight lines) rather than taken from `exponential-backoff`: that library
 * runs a retry loop around a function in memory, while here the delay is persisted as
 * `nextAttemptAt` and the "loop" is the recurring job itself.
 */
export function computeRetryDelayMs(
  failedAttempts: number,
  policy: { readonly initialDelayMs: number; readonly maxDelayMs: number },
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failedAttempts - 1);
  const nominal = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(exponent, 52));
  const half = nominal / 2;
  return Math.round(half + half * random());
}
