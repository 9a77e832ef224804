import type { Clock, InstanceRegistry, JobContext, JobRunLedger } from '@app/shared-jobs';
import { retentionCutoff } from './cutoff.js';

type PruneContext = Pick<JobContext, 'signal' | 'reportProgress'>;

function assertRetentionDays(retentionDays: number): void {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new RangeError(`retentionDays must be an integer >= 1, got ${String(retentionDays)}`);
  }
}

/**
 * Calls `pruneBatch` (one bounded deletion of at most `batchSize` documents) until it deletes
 * less than a batch, checking the signal before and reporting progress after each batch.
 */
async function pruneInBatches(
  pruneBatch: () => Promise<number>,
  batchSize: number,
  message: string,
  context: PruneContext | undefined,
): Promise<number> {
  let pruned = 0;
  for (;;) {
    context?.signal.throwIfAborted();
    const deleted = await pruneBatch();
    pruned += deleted;
    if (deleted > 0) await context?.reportProgress({ completed: pruned, message });
    if (deleted < batchSize) return pruned;
  }
}

/**
 * Deletes finished job runs that finished more than `retentionDays` ago (never a running
 * one), one bounded batch per `pruneFinishedBefore` call, until none is left. History is
 * pruned in code (no TTL index); LogCleanupJob calls this with `jobHistoryRetentionDays`.
 */
export async function pruneJobRunHistory(options: {
  readonly ledger: JobRunLedger;
  readonly clock: Clock;
  readonly retentionDays: number;
  readonly batchSize: number;
  readonly context?: PruneContext;
}): Promise<number> {
  assertRetentionDays(options.retentionDays);
  const cutoff = retentionCutoff(options.clock, options.retentionDays);
  return pruneInBatches(
    () => options.ledger.pruneFinishedBefore(cutoff, options.batchSize),
    options.batchSize,
    'job runs pruned',
    options.context,
  );
}

/**
 * Deletes the records of worker instances whose last heartbeat is more than `retentionDays`
 * old (stopped or crashed workers; a live worker writes its heartbeat every few seconds), in
 * bounded batches. LogCleanupJob calls this with `workerInstanceRetentionDays`.
 */
export async function pruneWorkerInstances(options: {
  readonly registry: InstanceRegistry;
  readonly clock: Clock;
  readonly retentionDays: number;
  readonly batchSize: number;
  readonly context?: PruneContext;
}): Promise<number> {
  assertRetentionDays(options.retentionDays);
  const cutoff = retentionCutoff(options.clock, options.retentionDays);
  return pruneInBatches(
    () => options.registry.pruneSilentBefore(cutoff, options.batchSize),
    options.batchSize,
    'worker instance records pruned',
    options.context,
  );
}
