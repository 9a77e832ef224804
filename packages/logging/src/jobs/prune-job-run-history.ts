import type { Clock, JobRunLedger } from '@app/shared-jobs';
import { retentionCutoff } from './cutoff.js';

/**
 * Deletes finished job runs that finished more than `retentionDays` ago (never a running
 * one). FerretDB has no TTL indexes, so history is pruned in code; LogCleanupJob calls this
 * with `jobHistoryRetentionDays`.
 */
export async function pruneJobRunHistory(options: {
  readonly ledger: JobRunLedger;
  readonly clock: Clock;
  readonly retentionDays: number;
}): Promise<number> {
  if (!Number.isInteger(options.retentionDays) || options.retentionDays < 1) {
    throw new RangeError(
      `retentionDays must be an integer >= 1, got ${String(options.retentionDays)}`,
    );
  }
  return options.ledger.pruneFinishedBefore(retentionCutoff(options.clock, options.retentionDays));
}
