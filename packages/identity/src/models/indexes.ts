import type { Connection } from 'mongoose';
import { getRefreshTokenModel } from './refresh-token.js';
import { getUserModel, legacyUserIndexNames } from './user.js';

const indexNotFoundCode = 27;

/**
 * Creates the identity indexes explicitly (idempotent; the worker calls it at start-up):
 * `users`: unique `email`, `{ lastLoginAt, _id }`; `refresh_tokens`: unique `tokenHash`,
 * `expiresAt`, `userId`. Uses `createIndexes` (never `syncIndexes`, which would drop indexes
 * it does not know), then drops the indexes of earlier releases that these replace.
 */
export async function ensureIdentityIndexes(connection: Connection): Promise<void> {
  const users = getUserModel(connection);
  await users.createIndexes();
  await getRefreshTokenModel(connection).createIndexes();
  for (const name of legacyUserIndexNames) {
    try {
      await users.collection.dropIndex(name);
    } catch (error) {
      if ((error as { code?: unknown }).code !== indexNotFoundCode) throw error;
    }
  }
}
