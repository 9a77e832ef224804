import type { JobContext } from '@app/shared-jobs';
import type { Connection, Types } from 'mongoose';
import { getLogEntryModel } from '../models/log-entry-model.js';

/**
 * Deletes log entries with `timestamp < cutoff` in batches of `batchSize`: fetch up to
 * `batchSize` `_id`s through the timestamp index, delete them by `_id`, repeat. Client
 * memory is one batch of ids whatever the number of entries. Checks the abort signal
 * before each batch and reports progress after it.
 */
export async function deleteLogEntriesBefore(
  connection: Connection,
  cutoff: Date,
  batchSize: number,
  context: Pick<JobContext, 'signal' | 'reportProgress'>,
): Promise<number> {
  const model = getLogEntryModel(connection);
  let deleted = 0;
  for (;;) {
    context.signal.throwIfAborted();
    const batch = await model
      .find({ timestamp: { $lte: cutoff } }, { _id: 1 })
      .limit(batchSize)
      .lean<{ _id: Types.ObjectId }[]>()
      .exec();
    if (batch.length === 0) return deleted;
    const deletion = await model
      .deleteMany({ _id: { $in: batch.map((entry) => entry._id) } })
      .exec();
    deleted += deletion.deletedCount;
    await context.reportProgress({ completed: deleted, message: 'log entries deleted' });
    if (batch.length < batchSize) return deleted;
  }
}
