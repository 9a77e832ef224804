import type { RecurringJob } from '@app/shared-jobs';
import type { Connection, Types } from 'mongoose';
import { getRefreshTokenModel } from '../models/refresh-token.js';
import type { RefreshTokenCleanupSettings } from '../settings.js';
import { daysBefore, runInBatches } from './batch-loop.js';

export const refreshTokenCleanupJobName = 'RefreshTokenCleanupJob';

export type RefreshTokenCleanupResult = {
  /** Tokens deleted by this run. */
  readonly deletedRefreshTokens: number;
  /** Tokens left alone because `expiresAt` is missing or not a date (bad data). */
  readonly skippedRefreshTokens: number;
};

export interface RefreshTokenCleanupJobOptions {
  readonly connection: Connection;
  readonly settings: RefreshTokenCleanupSettings;
}

/**
 * Deletes refresh tokens that expired MORE than `retentionDays` ago: `expiresAt < now - retentionDays`
 * (a token expiring exactly at the cutoff stays). `now` is `context.clock.now()`. Deletes in batches
 * of `batchSize` ids; idempotent. Tokens whose `expiresAt` is not a date are skipped and counted.
 */
export function createRefreshTokenCleanupJob(
  options: RefreshTokenCleanupJobOptions,
): RecurringJob<RefreshTokenCleanupResult> {
  const { connection, settings } = options;
  return {
    name: refreshTokenCleanupJobName,
    intervalMs: settings.intervalHours * 60 * 60 * 1000,
    misfirePolicy: 'once',
    async run(context) {
      const refreshTokens = getRefreshTokenModel(connection);
      const cutoff = daysBefore(context.clock.now(), settings.retentionDays);
      const expiredFilter = { expiresAt: { $type: 'date' as const, $lt: cutoff } };
      const deletedRefreshTokens = await runInBatches({
        context,
        batchSize: settings.batchSize,
        label: 'deleted expired refresh tokens',
        selectBatch: async (limit) => {
          const batch = await refreshTokens
            .find(expiredFilter, { _id: 1 })
            .limit(limit)
            .lean<{ _id: Types.ObjectId }[]>();
          return batch.map((token) => token._id);
        },
        applyBatch: async (ids) => {
          const result = await refreshTokens.deleteMany({ _id: { $in: ids }, ...expiredFilter });
          return result.deletedCount;
        },
      });
      const skippedRefreshTokens = await refreshTokens.countDocuments({
        expiresAt: { $not: { $type: 'date' } },
      });
      if (skippedRefreshTokens > 0) {
        context.logger.warn('refresh tokens without a valid expiresAt were left alone', {
          skippedRefreshTokens,
        });
      }
      context.logger.info('refresh token cleanup completed', {
        deletedRefreshTokens,
        cutoff: cutoff.toISOString(),
      });
      return { deletedRefreshTokens, skippedRefreshTokens };
    },
  };
}
