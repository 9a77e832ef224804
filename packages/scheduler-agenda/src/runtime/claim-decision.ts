/**
 * What a worker does with an occurrence it was handed whose attempt already exists in
 * the ledger: a pure function of the occurrence's runs, now and the job's retry policy,
 * tested case by case (test/claim-decision.test.ts).
 *
 * Budget: the attempts that count against `retry.maxAttempts` are the ones that failed
 * or were abandoned (their worker stopped renewing the lease: it died, hung, or lost the
 * database). Interrupted attempts (a drain, a fenced worker that stopped its handler in
 * time) do not count. A rerun is one attempt of its own, outside the budget.
 */
import type { JobRun, OccurrenceCause, RetryPolicy } from '@app/shared-jobs';

export type ClaimDecision =
  /** Claim `attempt` and run it, after marking `abandon` (a lapsed run) abandoned. */
  | { readonly kind: 'run'; readonly attempt: number; readonly abandon: JobRun | null }
  /** The occurrence succeeded already: complete it from that run (heals a lost schedule write). */
  | { readonly kind: 'already-succeeded'; readonly succeeded: JobRun }
  /** A live worker is running it: nothing to do. */
  | { readonly kind: 'running-elsewhere'; readonly running: JobRun }
  /** No attempt is left: complete it as failed from its last run (after abandoning `abandon`). */
  | { readonly kind: 'exhausted'; readonly lastRun: JobRun; readonly abandon: JobRun | null };

export interface ClaimDecisionInput {
  /** Every attempt of the occurrence (at least the one whose claim failed). */
  readonly runs: readonly JobRun[];
  readonly now: Date;
  readonly retry: RetryPolicy;
  /** The cause of the occurrence as handed over. */
  readonly cause: OccurrenceCause;
}

/** Attempts that count against the retry budget. */
export function countedAttempts(runs: readonly JobRun[]): number {
  return runs.filter((run) => run.cause !== 'rerun' && (run.status === 'failed' || run.status === 'abandoned'))
    .length;
}

export function decideClaim(input: ClaimDecisionInput): ClaimDecision {
  const { runs, now, retry } = input;
  if (runs.length === 0) throw new RangeError('decideClaim needs the runs of the occurrence (none given)');
  const succeeded = runs.find((run) => run.status === 'succeeded');
  if (succeeded !== undefined) return { kind: 'already-succeeded', succeeded };
  const latest = runs.reduce((newest, run) => (run.attempt > newest.attempt ? run : newest));
  let abandon: JobRun | null = null;
  if (latest.status === 'running') {
    if (latest.leaseExpiresAt.getTime() > now.getTime()) return { kind: 'running-elsewhere', running: latest };
    abandon = latest;
  }
  if (input.cause === 'rerun') {
    // The rerun's own attempt exists (its claim failed): it ended, or its worker is gone.
    return { kind: 'exhausted', lastRun: latest, abandon };
  }
  const counted = countedAttempts(runs) + (abandon !== null && abandon.cause !== 'rerun' ? 1 : 0);
  if (counted < retry.maxAttempts) return { kind: 'run', attempt: latest.attempt + 1, abandon };
  return { kind: 'exhausted', lastRun: latest, abandon };
}

/**
 * After a run of the occurrence failed: whether another attempt is left under the
 * policy. `runs` are the occurrence's attempts, the failed one included.
 */
export function hasAttemptLeft(runs: readonly JobRun[], retry: RetryPolicy, cause: OccurrenceCause): boolean {
  if (cause === 'rerun') return false;
  return countedAttempts(runs) < retry.maxAttempts;
}
