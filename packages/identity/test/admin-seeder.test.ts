import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions, verify } from '@node-rs/argon2';
import type { Connection } from 'mongoose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AdminSeederError,
  getUserModel,
  parseAdminSeederSettings,
  seedAdminUser,
  type AdminSeederSettingsInput,
  type UserModel,
} from '../src/index.js';
import { RecordingLogger } from '@app/shared-jobs/testing';
import { openTestConnection } from './support.js';

const password = 'Corr3ct-Horse-Battery-Staple!';

let connection: Connection;
let users: UserModel;
let secretsDirectory: string;

function settings(overrides: AdminSeederSettingsInput = {}) {
  return parseAdminSeederSettings({
    email: 'Admin@Example.com',
    userName: 'root',
    roles: ['Admin', 'Operator'],
    ...(overrides.passwordFile === undefined ? { password } : {}),
    ...overrides,
  });
}

async function captureError(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  connection = await openTestConnection();
  users = getUserModel(connection);
  secretsDirectory = await mkdtemp(join(tmpdir(), 'identity-secrets-'));
});

afterAll(async () => {
  await connection.close();
  await rm(secretsDirectory, { recursive: true, force: true });
});

beforeEach(async () => {
  await users.collection.deleteMany({});
});

describe('seedAdminUser', () => {
  it('creates the admin with an argon2id hash of the password, and never logs or returns the password', async () => {
    const logger = new RecordingLogger();

    const result = await seedAdminUser({ connection, settings: settings(), logger });

    expect(result).toEqual({ created: true });
    expect(JSON.stringify(result)).not.toContain(password);
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(logger.text()).not.toContain(password);
    const admins = await users.collection.find({}).toArray();
    expect(admins).toHaveLength(1);
    const admin = admins[0]!;
    expect(admin).toMatchObject({
      email: 'admin@example.com',
      userName: 'root',
      roles: ['Admin', 'Operator'],
      lastLoginIp: null,
      lastLoginAt: null,
    });
    expect(admin.createdAt).toBeInstanceOf(Date);
    const passwordHash = admin.passwordHash as string;
    expect(passwordHash).not.toContain(password);
    expect(passwordHash.startsWith('$argon2id$')).toBe(true);
    expect(await verify(passwordHash, password)).toBe(true);
    expect(await verify(passwordHash, `${password}x`)).toBe(false);
    expect(parseOptions(passwordHash)).toMatchObject({
      memoryCost: 19_456,
      timeCost: 2,
      parallelism: 1,
    });
  });

  it('does not create a second admin or change the existing one on a restart', async () => {
    expect(await seedAdminUser({ connection, settings: settings() })).toEqual({ created: true });
    const before = await users.collection.findOne({});
    const logger = new RecordingLogger();
    expect(
      await seedAdminUser({
        connection,
        settings: settings({ password: 'another-password' }),
        logger,
      }),
    ).toEqual({ created: false });
    expect(await users.collection.find({}).toArray()).toEqual([before]);
    expect(logger.lines).toContainEqual({
      level: 'info',
      message: 'admin user already exists',
      fields: { email: 'admin@example.com' },
    });
  });

  it('treats an existing user with the same email in another case as the admin', async () => {
    await users.create({ email: 'ADMIN@example.COM', userName: 'someone', passwordHash: 'x' });
    expect(await seedAdminUser({ connection, settings: settings() })).toEqual({ created: false });
    expect(await users.countDocuments({})).toBe(1);
  });

  it('three workers starting at once (each with its own connection) create exactly one admin', async () => {
    const connections = await Promise.all([
      openTestConnection(),
      openTestConnection(),
      openTestConnection(),
    ]);
    try {
      const loggers = connections.map(() => new RecordingLogger());
      const results = await Promise.all(
        connections.map((workerConnection, index) =>
          seedAdminUser({
            connection: workerConnection,
            settings: settings(),
            logger: loggers[index],
          }),
        ),
      );
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(results.filter((result) => !result.created)).toHaveLength(2);
      expect(await users.collection.countDocuments({ email: 'admin@example.com' })).toBe(1);
      for (const logger of loggers) expect(logger.text()).not.toContain(password);
    } finally {
      await Promise.all(connections.map((workerConnection) => workerConnection.close()));
    }
  });

  it('reads the password from passwordFile and removes the trailing newline', async () => {
    const passwordFile = join(secretsDirectory, 'admin_password');
    await writeFile(passwordFile, 'from-the-secret-file\n');

    expect(await seedAdminUser({ connection, settings: settings({ passwordFile }) })).toEqual({
      created: true,
    });

    const admin = await users.collection.findOne({});
    expect(await verify(admin?.passwordHash as string, 'from-the-secret-file')).toBe(true);
    expect(await verify(admin?.passwordHash as string, 'from-the-secret-file\n')).toBe(false);
  });

  it('stops with an error naming both keys when no password is configured, creating nothing', async () => {
    const error = await captureError(
      seedAdminUser({
        connection,
        settings: parseAdminSeederSettings({ email: 'admin@example.com' }),
      }),
    );
    expect(error).toBeInstanceOf(AdminSeederError);
    expect(error.message).toContain('adminSeeder.password');
    expect(error.message).toContain('adminSeeder.passwordFile');
    expect(error.message).toContain('adminSeeder.enabled');
    expect(await users.countDocuments({})).toBe(0);
  });

  it('does nothing, and needs no password, when seeding is disabled', async () => {
    const logger = new RecordingLogger();
    const result = await seedAdminUser({
      connection,
      settings: parseAdminSeederSettings({ enabled: false }),
      logger,
    });
    expect(result).toEqual({ created: false });
    expect(await users.countDocuments({})).toBe(0);
    expect(logger.lines[0]?.message).toContain('disabled');
  });

  it('names the key and the path when the password file cannot be read', async () => {
    const passwordFile = join(secretsDirectory, 'missing');
    const error = await captureError(
      seedAdminUser({ connection, settings: settings({ passwordFile }) }),
    );
    expect(error.message).toBe(`adminSeeder.passwordFile: cannot read ${passwordFile} (ENOENT)`);
    expect(await users.countDocuments({})).toBe(0);
  });

  it('rejects an empty password file', async () => {
    const passwordFile = join(secretsDirectory, 'empty');
    await writeFile(passwordFile, '\r\n');
    await expect(
      seedAdminUser({ connection, settings: settings({ passwordFile }) }),
    ).rejects.toThrow(`adminSeeder.passwordFile: ${passwordFile} holds no password`);
  });

  it('rejects settings built without the parser that set both password sources, or an empty password', async () => {
    const both = { ...settings(), passwordFile: '/run/secrets/admin' };
    const bothError = await captureError(seedAdminUser({ connection, settings: both }));
    expect(bothError.message).toBe(
      'adminSeeder.password and adminSeeder.passwordFile are both set: set only one',
    );
    expect(bothError.message).not.toContain(password);
    await expect(
      seedAdminUser({ connection, settings: { ...settings(), password: '' } }),
    ).rejects.toThrow('adminSeeder.password: must not be empty');
  });

  it('passes other database errors on without the password in them', async () => {
    // An empty user name fails the model's validation (required), which is not a duplicate key.
    const error = await captureError(
      seedAdminUser({ connection, settings: { ...settings(), userName: '' } }),
    );
    expect(error.name).toBe('ValidationError');
    expect(error.message).toContain('userName');
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(password);
    expect(await users.countDocuments({})).toBe(0);
  });
});
