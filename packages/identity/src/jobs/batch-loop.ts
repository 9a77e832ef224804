import type { JobContext } from '@app/shared-jobs';
import type { Types } from 'mongoose';

export interface BatchLoopOptions {
  readonly context: JobContext;
  readonly batchSize: number;
  /** What the loop does, for progress messages and logs (e.g. `deleted expired refresh tokens`). */
  readonly label: string;
  /** Returns at most `limit` ids of documents still to process. */
  selectBatch(limit: number): Promise<Types.ObjectId[]>;
  /** Processes those ids (re-checking the selection condition) and returns how many changed. */
  applyBatch(ids: Types.ObjectId[]): Promise<number>;
}

/**
 * Select ids with a limit, apply one bulk write to them, repeat: memory per round is one
 * batch of `_id`s whatever the number of documents. Checks `context.signal` before each
 * batch (an aborted run throws the abort reason after logging what it did) and reports
 * progress after each batch, which also keeps the run's lock alive.
 */
export async function runInBatches(options: BatchLoopOptions): Promise<number> {
  const { context, batchSize, label } = options;
  let processed = 0;
  let batches = 0;
  for (;;) {
    if (context.signal.aborted) {
      context.logger.warn(`stopped before finishing: ${label}`, { processed, batches });
      context.signal.throwIfAborted();
    }
    const ids = await options.selectBatch(batchSize);
    if (ids.length === 0) break;
    const changed = await options.applyBatch(ids);
    processed += changed;
    batches += 1;
    await context.reportProgress({ completed: processed, message: `${label}: ${processed}` });
    if (changed === 0) {
      // Selected but none changed (a concurrent writer got there first, or the server
      // refuses the write): stop instead of selecting the same documents forever.
      context.logger.warn(`a batch changed nothing; stopping: ${label}`, { selected: ids.length });
      break;
    }
    // A short batch was the last one at selection time: skip one more (possibly full-scan) query.
    if (ids.length < batchSize) break;
  }
  return processed;
}

const millisecondsPerDay = 24 * 60 * 60 * 1000;

/** `now - days` in fixed 24-hour days (UTC, no calendar or DST arithmetic). */
export function daysBefore(now: Date, days: number): Date {
  return new Date(now.getTime() - days * millisecondsPerDay);
}
