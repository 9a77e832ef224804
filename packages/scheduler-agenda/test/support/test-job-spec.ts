import type { RetryPolicy } from '@app/shared-jobs';

/** A test job of the worker-process fixture. */
export interface TestJobSpec {
  readonly name: string;
  /** An interval (`1s`) or a cron expression (`* * * * * *`). */
  readonly schedule: string;
  readonly timeZone?: string;
  /** `once`, `skip` or `catch-up:<window>[:<max>]`. */
  readonly misfire?: string;
  readonly retry?: RetryPolicy;
  readonly stallTimeoutMs?: number;
  /** How long the handler works (reporting progress every ~100 ms). */
  readonly durationMs: number;
  /** Overrides durationMs for attempt 1. */
  readonly firstAttemptDurationMs?: number;
  /** Attempts below this number throw at once. */
  readonly failAttemptsBelow?: number;
  /** Never reports progress (a slow handler that stays silent). */
  readonly silent?: boolean;
  /** Every run of these occurrences (ISO instants) throws. */
  readonly failOccurrences?: readonly string[];
}
