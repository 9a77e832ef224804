import type { JobContext } from '@app/shared-jobs';
import type { Connection, Types } from 'mongoose';
import { getLogEntryModel } from '../models/log-entry-model.js';

/**
 * Deletes log entries with `timestamp < cutoff`, oldest first, in batches of `batchSize`:
 * the ids of the oldest old entries through the `timestamp` index (one bounded `find`), then
 * one `deleteMany` of those ids with the condition repeated; repeat until a batch comes back
 * short. Every statement holds at most `batchSize` entries and the process one batch of ids,
 * whatever the size of the collection. `context.signal` is checked before each batch (an
 * abort throws; deleted batches stay deleted) and progress is reported after each.
 */
export async function deleteLogEntriesBefore(
  connection: Connection,
  cutoff: Date,
  batchSize: number,
  context: Pick<JobContext, 'signal' | 'reportProgress'>,
): Promise<number> {
  const model = getLogEntryModel(connection);
  const oldFilter = { timestamp: { $lt: cutoff } };
  let deleted = 0;
  for (;;) {
    context.signal.throwIfAborted();
    const batch = await model
      .find(oldFilter, { _id: 1 })
      .sort({ timestamp: 1 })
      .limit(batchSize)
      .lean<{ _id: Types.ObjectId }[]>()
      .exec();
    if (batch.length === 0) return deleted;
    const deletion = await model
      .deleteMany({ _id: { $in: batch.map((entry) => entry._id) }, ...oldFilter })
      .exec();
    deleted += deletion.deletedCount;
    await context.reportProgress({ completed: deleted, message: 'log entries deleted' });
    // A short batch was the last; a batch that deleted nothing (a concurrent cleanup got there
    // first) would be selected again, so it ends the loop too.
    if (batch.length < batchSize || deletion.deletedCount === 0) return deleted;
  }
}
