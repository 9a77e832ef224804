import type { JobModule, JobModuleDefaults, RecurringJob } from '@app/shared-jobs';
import type { Connection, Types } from 'mongoose';
import { getRefreshTokenModel } from '../models/refresh-token.js';
import {
  refreshTokenCleanupSettingsSchema,
  type RefreshTokenCleanupSettings,
} from '../settings.js';
import { daysBefore, runInBatches } from './batch-loop.js';
import { timingFromDefaults, type JobTimingOptions } from './module-timing.js';

export const refreshTokenCleanupJobName = 'RefreshTokenCleanupJob';

export type RefreshTokenCleanupResult = {
  /** Tokens deleted by this run. */
  readonly deletedRefreshTokens: number;
};

export interface RefreshTokenCleanupJobOptions extends JobTimingOptions {
  readonly connection: Connection;
  readonly settings: RefreshTokenCleanupSettings;
}

/** Services the worker gives the identity jobs. */
export interface IdentityJobServices {
  readonly connection: Connection;
}

/**
 * Daily; a failed run is retried 3 times after 1, 2 and 4 minutes (at most 15): the usual
 * cause is a database failover or a dropped connection, which heals in minutes, and a run
 * that waited a day instead would leave a day's tokens more.
 */
export const refreshTokenCleanupDefaults: JobModuleDefaults = {
  schedule: '24h',
  misfire: 'once',
  retry: { maxAttempts: 3, initialDelayMs: 60_000, maxDelayMs: 15 * 60_000 },
};

/**
 * A batch is two bounded statements (well under a second on MongoDB): ten minutes without
 * progress means a hung connection, not a slow batch.
 */
export const identityJobStallTimeoutMs = 10 * 60_000;

/**
 * Deletes refresh tokens that expired MORE than `retentionDays` ago: `expiresAt < now - retentionDays`
 * (a token expiring exactly at the cutoff stays). `now` is `context.clock.now()`.
 *
 * Per batch: the `batchSize` oldest expired `_id`s through the `expiresAt` index (one round
 * trip), then one `deleteMany` of those ids. The condition is not repeated in the delete: a
 * token's `expiresAt` is written once, when it is issued (rotation issues a new token), so a
 * token selected as expired stays expired; and a filter of `_id`s alone is deleted without
 * reading the tokens again on the bundled server (docs/ferretdb.md, patch 0008). Deleted
 * tokens leave the index, so each selection starts at the oldest remaining expired token.
 * Tokens whose `expiresAt` is not a date never match (left alone). Idempotent.
 */
export function createRefreshTokenCleanupJob(
  options: RefreshTokenCleanupJobOptions,
): RecurringJob<RefreshTokenCleanupResult> {
  const { connection, settings } = options;
  const timing = options.timing ?? timingFromDefaults(refreshTokenCleanupDefaults);
  return {
    name: refreshTokenCleanupJobName,
    schedule: timing.schedule,
    misfire: timing.misfire,
    retry: options.retry ?? refreshTokenCleanupDefaults.retry,
    stallTimeoutMs: identityJobStallTimeoutMs,
    async run(context) {
      const refreshTokens = getRefreshTokenModel(connection);
      const cutoff = daysBefore(context.clock.now(), settings.retentionDays);
      const expiredFilter = { expiresAt: { $type: 'date' as const, $lt: cutoff } };
      const { changed: deletedRefreshTokens } = await runInBatches<Types.ObjectId, 'again'>({
        context,
        batchSize: settings.batchSize,
        label: 'deleted expired refresh tokens',
        appliedLeaveSelection: true,
        selectBatch: async (limit) => {
          const batch = await refreshTokens
            .find(expiredFilter, { _id: 1 })
            .sort({ expiresAt: 1 })
            .limit(limit)
            .batchSize(limit)
            .lean<{ _id: Types.ObjectId }[]>();
          // Deleted tokens leave the index: the next selection starts over at the oldest left.
          return { items: batch.map((token) => token._id), next: batch.length < limit ? null : 'again' };
        },
        applyBatch: async (ids) => {
          const result = await refreshTokens.deleteMany({ _id: { $in: ids } });
          return result.deletedCount;
        },
      });
      context.logger.info('refresh token cleanup completed', {
        deletedRefreshTokens,
        cutoff: cutoff.toISOString(),
      });
      return { deletedRefreshTokens };
    },
  };
}

/** RefreshTokenCleanupJob as a module: what the worker needs to configure and build it. */
export const refreshTokenCleanupJobModule: JobModule<
  typeof refreshTokenCleanupSettingsSchema,
  RefreshTokenCleanupSettings,
  IdentityJobServices
> = {
  jobName: refreshTokenCleanupJobName,
  configKey: 'refreshTokenCleanup',
  environmentPrefix: 'JOBS_REFRESH_TOKEN_CLEANUP_',
  description:
    'RefreshTokenCleanupJob (@app/identity): deletes refresh tokens that expired more than retentionDays ago.',
  settingsSchema: refreshTokenCleanupSettingsSchema,
  defaults: refreshTokenCleanupDefaults,
  intervalAliases: [{ settingsKey: 'intervalHours', unitMs: 60 * 60 * 1000 }],
  create: ({ settings, timing, retry, services }) =>
    createRefreshTokenCleanupJob({ connection: services.connection, settings, timing, retry }),
};
