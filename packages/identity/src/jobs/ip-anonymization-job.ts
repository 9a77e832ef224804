import type { RecurringJob } from '@app/shared-jobs';
import type { Connection, Types } from 'mongoose';
import { getUserModel } from '../models/user.js';
import type { IpAnonymizationSettings } from '../settings.js';
import { daysBefore, runInBatches } from './batch-loop.js';

export const ipAnonymizationJobName = 'IpAnonymizationJob';

export type IpAnonymizationResult = {
  /** Users whose `lastLoginIp` this run set to null. */
  readonly anonymizedUsers: number;
  /** Users with an IP left alone because `lastLoginAt` is missing or not a date (bad data). */
  readonly skippedUsers: number;
};

export interface IpAnonymizationJobOptions {
  readonly connection: Connection;
  readonly settings: IpAnonymizationSettings;
}

/**
 * GDPR: sets `lastLoginIp` to null for users whose last login is AT LEAST `retentionDays` old:
 * `lastLoginAt <= now - retentionDays` (a login exactly at the cutoff is anonymized). `now` is
 * `context.clock.now()`. Updates in batches of `batchSize`; each update re-checks the condition,
 * so a user who logs in again meanwhile keeps the new IP. `updatedAt` is not touched.
 */
export function createIpAnonymizationJob(
  options: IpAnonymizationJobOptions,
): RecurringJob<IpAnonymizationResult> {
  const { connection, settings } = options;
  return {
    name: ipAnonymizationJobName,
    intervalMs: settings.intervalDays * 24 * 60 * 60 * 1000,
    misfirePolicy: 'once',
    async run(context) {
      const users = getUserModel(connection);
      const cutoff = daysBefore(context.clock.now(), settings.retentionDays);
      const dueFilter = {
        lastLoginIp: { $ne: null },
        lastLoginAt: { $type: 'date' as const, $lte: cutoff },
      };
      const anonymizedUsers = await runInBatches({
        context,
        batchSize: settings.batchSize,
        label: 'anonymized user IP addresses',
        selectBatch: async (limit) => {
          const batch = await users
            .find(dueFilter, { _id: 1 })
            .limit(limit)
            .lean<{ _id: Types.ObjectId }[]>();
          return batch.map((user) => user._id);
        },
        applyBatch: async (ids) => {
          const result = await users.updateMany(
            { _id: { $in: ids }, ...dueFilter },
            { $set: { lastLoginIp: null } },
            { timestamps: false },
          );
          return result.modifiedCount;
        },
      });
      const skippedUsers = await users.countDocuments({
        lastLoginIp: { $ne: null },
        lastLoginAt: { $not: { $type: 'date' } },
      });
      if (skippedUsers > 0) {
        context.logger.warn('users with an IP but no valid lastLoginAt were left alone', {
          skippedUsers,
        });
      }
      context.logger.info('IP anonymization completed', {
        anonymizedUsers,
        cutoff: cutoff.toISOString(),
      });
      return { anonymizedUsers, skippedUsers };
    },
  };
}
