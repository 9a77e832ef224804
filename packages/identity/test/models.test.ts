import mongoose, { Types, type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureIdentityIndexes,
  getRefreshTokenModel,
  getUserModel,
  refreshTokenCollectionName,
  userCollectionName,
} from '../src/index.js';
import { openTestConnection } from './support.js';

let connection: Connection;

beforeAll(async () => {
  connection = await openTestConnection();
});

afterAll(async () => {
  await connection.close();
});

function indexSummary(indexes: Record<string, unknown>[]): Record<string, unknown>[] {
  return indexes
    .map((index) => ({ name: index.name, key: index.key, unique: index.unique === true }))
    .sort((left, right) => String(left.name).localeCompare(String(right.name)));
}

describe('identity models', () => {
  it('creates no index and no collection before ensureIdentityIndexes', async () => {
    getUserModel(connection);
    getRefreshTokenModel(connection);
    const collections = await connection.db!.listCollections().toArray();
    expect(collections.map((collection) => collection.name)).toEqual([]);
  });

  it('ensureIdentityIndexes creates the named indexes, none of them TTL, and is idempotent', async () => {
    await ensureIdentityIndexes(connection);
    await ensureIdentityIndexes(connection);
    const userIndexes = await connection.db!.collection(userCollectionName).indexes();
    const tokenIndexes = await connection.db!.collection(refreshTokenCollectionName).indexes();
    expect(indexSummary(userIndexes)).toEqual([
      { name: '_id_', key: { _id: 1 }, unique: false },
      { name: 'email_unique', key: { email: 1 }, unique: true },
      { name: 'lastLoginAt_id', key: { lastLoginAt: 1, _id: 1 }, unique: false },
    ]);
    expect(indexSummary(tokenIndexes)).toEqual([
      { name: '_id_', key: { _id: 1 }, unique: false },
      { name: 'expiresAt', key: { expiresAt: 1 }, unique: false },
      { name: 'tokenHash_unique', key: { tokenHash: 1 }, unique: true },
      { name: 'userId', key: { userId: 1 }, unique: false },
    ]);
    for (const index of [...userIndexes, ...tokenIndexes]) {
      expect(index).not.toHaveProperty('expireAfterSeconds');
    }
  });

  it('ensureIdentityIndexes drops the lastLoginAt index of earlier releases', async () => {
    const users = connection.db!.collection(userCollectionName);
    await users.createIndex({ lastLoginAt: 1 }, { name: 'lastLoginAt' });
    await ensureIdentityIndexes(connection);
    expect((await users.indexes()).map((index) => index.name).sort()).toEqual([
      '_id_',
      'email_unique',
      'lastLoginAt_id',
    ]);
  });

  it('stores emails lower-cased and trimmed, and the unique index refuses a second user with that email', async () => {
    const users = getUserModel(connection);
    const user = await users.create({
      email: '  Jane@Example.ORG ',
      userName: 'jane',
      passwordHash: 'h',
    });
    expect(user.email).toBe('jane@example.org');
    expect(user.roles).toEqual([]);
    expect(user.lastLoginIp).toBeNull();
    await expect(
      users.create({ email: 'JANE@example.org', userName: 'other', passwordHash: 'h' }),
    ).rejects.toMatchObject({ code: 11000 });
    expect(await users.countDocuments({ email: 'jane@example.org' })).toBe(1);
  });

  it('refuses two refresh tokens with the same hash and requires expiresAt', async () => {
    const refreshTokens = getRefreshTokenModel(connection);
    const userId = new Types.ObjectId();
    const token = await refreshTokens.create({
      userId,
      tokenHash: 'abc',
      expiresAt: new Date('2030-01-01'),
    });
    expect(token.createdAt).toBeInstanceOf(Date);
    expect(token.revokedAt).toBeNull();
    await expect(
      refreshTokens.create({ userId, tokenHash: 'abc', expiresAt: new Date('2030-01-01') }),
    ).rejects.toMatchObject({ code: 11000 });
    await expect(refreshTokens.create({ userId, tokenHash: 'def' })).rejects.toThrow(/expiresAt/u);
  });

  it('binds models to the given connection only, once per connection, never to the default one', async () => {
    const other = await openTestConnection();
    try {
      expect(getUserModel(connection)).toBe(getUserModel(connection));
      expect(getRefreshTokenModel(connection)).toBe(getRefreshTokenModel(connection));
      expect(getUserModel(other)).not.toBe(getUserModel(connection));
      expect(getUserModel(other).db).toBe(other);
      expect(getRefreshTokenModel(other).db).toBe(other);
      expect(mongoose.modelNames()).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
