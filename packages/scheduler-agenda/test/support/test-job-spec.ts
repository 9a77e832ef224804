import type { RetryPolicy } from '@app/shared-jobs';

/** A test job of the worker-process fixture. */
export interface TestJobSpec {
  readonly name: string;
  readonly intervalMs: number;
  readonly lockLifetimeMs?: number;
  readonly retry?: RetryPolicy;
  /** How long the handler works (reporting progress every ~100 ms). */
  readonly durationMs: number;
  /** Overrides durationMs for attempt 1. */
  readonly firstAttemptDurationMs?: number;
  /** Attempts below this number throw at once. */
  readonly failAttemptsBelow?: number;
}
