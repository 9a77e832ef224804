import { silentJobLogger, type JobLogger } from '@app/shared-jobs';
import type { Connection } from 'mongoose';
import { getUserModel } from '../models/user.js';
import type { AdminSeederSettings } from '../settings.js';
import { hashPassword, resolveAdminPassword } from './password.js';

export interface SeedAdminUserOptions {
  readonly connection: Connection;
  readonly settings: AdminSeederSettings;
  readonly logger?: JobLogger;
}

export interface SeedAdminUserResult {
  /** True only for the one caller whose insert created the admin user. */
  readonly created: boolean;
}

const duplicateKeyErrorCode = 11000;

function isDuplicateKeyError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    error.code === duplicateKeyErrorCode
  );
}

/**
 * One-shot at start-up: creates the configured admin user unless a user with that email exists.
 * Safe with several workers starting at once: the unique `email` index decides (insert, and a
 * duplicate-key error E11000 means "already exists"); the `exists` check before hashing only
 * saves the argon2 work on ordinary restarts. The password is never logged nor returned.
 */
export async function seedAdminUser(options: SeedAdminUserOptions): Promise<SeedAdminUserResult> {
  const { connection, settings } = options;
  const logger = options.logger ?? silentJobLogger;
  if (!settings.enabled) {
    logger.info('admin seeding is disabled (adminSeeder.enabled = false)');
    return { created: false };
  }
  const password = await resolveAdminPassword(settings);
  const users = getUserModel(connection);
  // The guarantee rests on the unique email index: make sure it exists (idempotent).
  await users.createIndexes();
  const email = settings.email.trim().toLowerCase();
  if (await users.exists({ email })) {
    logger.info('admin user already exists', { email });
    return { created: false };
  }
  const passwordHash = await hashPassword(password);
  try {
    await users.create({
      email,
      userName: settings.userName,
      passwordHash,
      roles: [...settings.roles],
    });
  } catch (error) {
    if (isDuplicateKeyError(error)) {
      logger.info('admin user already exists (created concurrently by another instance)', {
        email,
      });
      return { created: false };
    }
    throw error;
  }
  logger.info('admin user created', { email, userName: settings.userName, roles: settings.roles });
  return { created: true };
}
