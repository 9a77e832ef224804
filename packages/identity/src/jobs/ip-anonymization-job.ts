import type { JobModule, JobModuleDefaults, RecurringJob } from '@app/shared-jobs';
import type { Connection, Types } from 'mongoose';
import { getUserModel, type User } from '../models/user.js';
import { ipAnonymizationSettingsSchema, type IpAnonymizationSettings } from '../settings.js';
import { daysBefore, runInBatches, type BatchSelection } from './batch-loop.js';
import { timingFromDefaults, type JobTimingOptions } from './module-timing.js';
import { identityJobStallTimeoutMs, type IdentityJobServices } from './refresh-token-cleanup-job.js';

export const ipAnonymizationJobName = 'IpAnonymizationJob';

export type IpAnonymizationResult = {
  /** Users whose `lastLoginIp` this run set to null. */
  readonly anonymizedUsers: number;
  /** Users with a login at or before the cutoff that the run looked at (anonymized or not). */
  readonly examinedUsers: number;
};

export interface IpAnonymizationJobOptions extends JobTimingOptions {
  readonly connection: Connection;
  readonly settings: IpAnonymizationSettings;
}

/**
 * Weekly; a failed run is retried 3 times after 1, 2 and 4 minutes (at most 15), for the same
 * reason as the token cleanup: the usual failure heals in minutes, and waiting a week would keep
 * IP addresses a week past their retention.
 */
export const ipAnonymizationDefaults: JobModuleDefaults = {
  schedule: '7d',
  misfire: 'once',
  retry: { maxAttempts: 3, initialDelayMs: 60_000, maxDelayMs: 15 * 60_000 },
};

type UserPageEntry = Pick<User, '_id' | 'lastLoginAt' | 'lastLoginIp'>;

/**
 * Where the walk of `{ lastLoginAt, _id }` resumes: at an instant (`from`: at or after it,
 * `after`: strictly after it), or inside the users of one instant, by `_id` (`tie`).
 */
type WalkCursor =
  | { readonly kind: 'from' | 'after'; readonly lastLoginAt: Date }
  | { readonly kind: 'tie'; readonly lastLoginAt: Date; readonly afterId: Types.ObjectId | null };

const pageProjection = { _id: 1, lastLoginAt: 1, lastLoginIp: 1 } as const;

/**
 * One page of the walk, one bounded statement. A range page is ordered by `lastLoginAt` only
 * and gives back the users of its last instant (they may continue past the page): the next
 * page starts at that instant. A page that is one instant from start to end switches to that
 * instant's users by `_id` (`tie` pages), then the walk goes on after the instant.
 */
async function selectUserPage(
  users: ReturnType<typeof getUserModel>,
  cutoff: Date,
  limit: number,
  cursor: WalkCursor | undefined,
): Promise<BatchSelection<UserPageEntry, WalkCursor>> {
  if (cursor?.kind === 'tie') {
    const page = await users
      .find(
        { lastLoginAt: cursor.lastLoginAt, ...(cursor.afterId === null ? {} : { _id: { $gt: cursor.afterId } }) },
        pageProjection,
      )
      .sort({ _id: 1 })
      .limit(limit)
      .lean<UserPageEntry[]>();
    const last = page.at(-1);
    return {
      items: page,
      next:
        last === undefined || page.length < limit
          ? { kind: 'after', lastLoginAt: cursor.lastLoginAt }
          : { kind: 'tie', lastLoginAt: cursor.lastLoginAt, afterId: last._id },
    };
  }
  const lowerBound =
    cursor === undefined ? {} : cursor.kind === 'from' ? { $gte: cursor.lastLoginAt } : { $gt: cursor.lastLoginAt };
  const page = await users
    .find({ lastLoginAt: { $type: 'date', ...lowerBound, $lte: cutoff } }, pageProjection)
    .sort({ lastLoginAt: 1 })
    .limit(limit)
    .lean<UserPageEntry[]>();
  if (page.length < limit) return { items: page, next: null };
  const lastInstant = page.at(-1)!.lastLoginAt!;
  const before = page.filter((user) => user.lastLoginAt!.getTime() < lastInstant.getTime());
  return before.length === 0
    ? { items: [], next: { kind: 'tie', lastLoginAt: lastInstant, afterId: null } }
    : { items: before, next: { kind: 'from', lastLoginAt: lastInstant } };
}

/**
 * GDPR: sets `lastLoginIp` to null for users whose last login is AT LEAST `retentionDays` old:
 * `lastLoginAt <= now - retentionDays` (a login exactly at the cutoff is anonymized). `now` is
 * `context.clock.now()`. `updatedAt` is not touched.
 *
 * Anonymized users keep their `lastLoginAt`, so they stay below the cutoff forever: selecting
 * "users below the cutoff WITH an IP" would walk past all of them in one statement. Instead the
 * run walks the `{ lastLoginAt, _id }` index in pages of `batchSize` (keyset: each page starts
 * where the previous one ended, see `selectUserPage`), and per page updates only the users that
 * still have an IP, by `_id` with the condition repeated (a user who logs in meanwhile keeps the
 * new IP). Every statement touches at most `batchSize` users. Users whose `lastLoginAt` is not a
 * date are never selected (left alone).
 */
export function createIpAnonymizationJob(
  options: IpAnonymizationJobOptions,
): RecurringJob<IpAnonymizationResult> {
  const { connection, settings } = options;
  const timing = options.timing ?? timingFromDefaults(ipAnonymizationDefaults);
  return {
    name: ipAnonymizationJobName,
    schedule: timing.schedule,
    misfire: timing.misfire,
    retry: options.retry ?? ipAnonymizationDefaults.retry,
    stallTimeoutMs: identityJobStallTimeoutMs,
    async run(context) {
      const users = getUserModel(connection);
      const cutoff = daysBefore(context.clock.now(), settings.retentionDays);
      const { changed: anonymizedUsers, examined: examinedUsers } = await runInBatches<UserPageEntry, WalkCursor>({
        context,
        batchSize: settings.batchSize,
        label: 'anonymized user IP addresses',
        appliedLeaveSelection: false,
        selectBatch: (limit, cursor) => selectUserPage(users, cutoff, limit, cursor),
        applyBatch: async (page) => {
          const withAddress = page.filter((user) => user.lastLoginIp !== null && user.lastLoginIp !== undefined);
          if (withAddress.length === 0) return 0;
          const result = await users.updateMany(
            {
              _id: { $in: withAddress.map((user) => user._id) },
              lastLoginIp: { $ne: null },
              lastLoginAt: { $type: 'date', $lte: cutoff },
            },
            { $set: { lastLoginIp: null } },
            { timestamps: false },
          );
          return result.modifiedCount;
        },
      });
      context.logger.info('IP anonymization completed', {
        anonymizedUsers,
        examinedUsers,
        cutoff: cutoff.toISOString(),
      });
      return { anonymizedUsers, examinedUsers };
    },
  };
}

/** IpAnonymizationJob as a module: what the worker needs to configure and build it. */
export const ipAnonymizationJobModule: JobModule<
  typeof ipAnonymizationSettingsSchema,
  IpAnonymizationSettings,
  IdentityJobServices
> = {
  jobName: ipAnonymizationJobName,
  configKey: 'ipAnonymization',
  environmentPrefix: 'JOBS_IP_ANONYMIZATION_',
  description:
    'IpAnonymizationJob (@app/identity): clears the last-login IP of users whose last login is at least retentionDays old.',
  settingsSchema: ipAnonymizationSettingsSchema,
  defaults: ipAnonymizationDefaults,
  intervalAliases: [{ settingsKey: 'intervalDays', unitMs: 24 * 60 * 60 * 1000 }],
  create: ({ settings, timing, retry, services }) =>
    createIpAnonymizationJob({ connection: services.connection, settings, timing, retry }),
};
