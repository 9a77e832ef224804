import type { Connection } from 'mongoose';
import { getRefreshTokenModel } from './refresh-token.js';
import { getUserModel } from './user.js';

/**
 * Creates the identity indexes explicitly (idempotent; the worker calls it at start-up):
 * `users`: unique `email`, `lastLoginAt`; `refresh_tokens`: unique `tokenHash`, `expiresAt`, `userId`.
 * Uses `createIndexes` (never `syncIndexes`, which would drop indexes it does not know).
 */
export async function ensureIdentityIndexes(connection: Connection): Promise<void> {
  await getUserModel(connection).createIndexes();
  await getRefreshTokenModel(connection).createIndexes();
}
