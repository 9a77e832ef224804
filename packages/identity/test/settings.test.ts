import { describe, expect, it } from 'vitest';
import {
  adminSeederSettingsSchema,
  parseAdminSeederSettings,
  parseIpAnonymizationSettings,
  parseRefreshTokenCleanupSettings,
  redactAdminSeederSettings,
  refreshTokenCleanupSettingsSchema,
  SettingsValidationError,
} from '../src/index.js';

function captureError(action: () => unknown): SettingsValidationError {
  try {
    action();
  } catch (error) {
    if (error instanceof SettingsValidationError) return error;
    throw error;
  }
  throw new Error('expected a SettingsValidationError');
}

describe('refreshTokenCleanup settings', () => {
  it('fills the documented defaults for missing keys and for no section at all', () => {
    // No interval: the schedule's default is the job module's (the worker resolves the alias).
    const expected = { enabled: true, retentionDays: 7, batchSize: 5000 };
    expect(parseRefreshTokenCleanupSettings({})).toEqual(expected);
    expect(parseRefreshTokenCleanupSettings(undefined)).toEqual(expected);
    expect(parseRefreshTokenCleanupSettings({ retentionDays: 30, intervalHours: 6 })).toEqual({
      ...expected,
      retentionDays: 30,
      intervalHours: 6,
    });
  });

  it('names the key and the reason of a bad value', () => {
    expect(() => parseRefreshTokenCleanupSettings({ retentionDays: 0 })).toThrow(
      'refreshTokenCleanup.retentionDays: must be >= 1',
    );
  });

  it('lists every bad key at once', () => {
    const error = captureError(() =>
      parseRefreshTokenCleanupSettings({
        intervalHours: 1.5,
        batchSize: '500',
        enabled: 'yes',
        colour: 'red',
      }),
    );
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { key: 'refreshTokenCleanup.intervalHours', reason: 'must be an integer' },
        { key: 'refreshTokenCleanup.batchSize', reason: 'must be a number' },
        { key: 'refreshTokenCleanup.enabled', reason: 'must be true or false' },
        { key: 'refreshTokenCleanup.colour', reason: 'unknown key' },
      ]),
    );
    expect(error.issues).toHaveLength(4);
    expect(error.message).toContain('refreshTokenCleanup.batchSize: must be a number');
  });

  it('rejects values above the maximum and uses the given key prefix', () => {
    expect(() => parseRefreshTokenCleanupSettings({ batchSize: 100_001 }, 'jobs.tokens')).toThrow(
      'jobs.tokens.batchSize: must be <= 100000',
    );
    expect(parseRefreshTokenCleanupSettings({ batchSize: 100_000 }).batchSize).toBe(100_000);
  });

  it('exports the schema for embedding in a bigger config schema', () => {
    expect(refreshTokenCleanupSettingsSchema.parse({ batchSize: 10 }).batchSize).toBe(10);
  });
});

describe('ipAnonymization settings', () => {
  it('fills the documented defaults', () => {
    expect(parseIpAnonymizationSettings({})).toEqual({
      enabled: true,
      retentionDays: 90,
      batchSize: 1000,
    });
    expect(parseIpAnonymizationSettings({ intervalDays: 3 }).intervalDays).toBe(3);
  });

  it('names the key and the reason of a bad value', () => {
    expect(() => parseIpAnonymizationSettings({ retentionDays: -3 })).toThrow(
      'ipAnonymization.retentionDays: must be >= 1',
    );
    expect(() => parseIpAnonymizationSettings({ intervalDays: null })).toThrow(
      'ipAnonymization.intervalDays: must be a number',
    );
  });

  it('rejects a section that is not an object', () => {
    expect(() => parseIpAnonymizationSettings('weekly')).toThrow(/ipAnonymization: /u);
  });
});

describe('adminSeeder settings', () => {
  it('fills defaults and normalises the email', () => {
    expect(parseAdminSeederSettings({ email: '  Root@Example.COM ', password: 'pw' })).toEqual({
      enabled: true,
      email: 'root@example.com',
      userName: 'admin',
      roles: ['Admin'],
      password: 'pw',
    });
  });

  it('rejects a bad email, an empty user name and an empty role list, naming each key', () => {
    const error = captureError(() =>
      parseAdminSeederSettings({ email: 'not-an-email', userName: '  ', roles: [] }),
    );
    expect(error.issues).toEqual([
      { key: 'adminSeeder.email', reason: 'must be an email address' },
      { key: 'adminSeeder.userName', reason: 'must not be empty (a user name)' },
      { key: 'adminSeeder.roles', reason: 'must name at least one role' },
    ]);
  });

  it('rejects password and passwordFile together without echoing the password', () => {
    const error = captureError(() =>
      parseAdminSeederSettings({ password: 'Sup3r-Secret!', passwordFile: '/run/secrets/admin' }),
    );
    expect(error.message).toBe(
      'Invalid settings: adminSeeder.passwordFile: set either password or passwordFile, not both',
    );
    expect(JSON.stringify(error.issues)).not.toContain('Sup3r-Secret!');
  });

  it('rejects an empty password', () => {
    expect(() => parseAdminSeederSettings({ password: '' })).toThrow(
      'adminSeeder.password: must not be empty',
    );
  });

  it('allows no password at parse time (the seeder reports it when seeding is enabled)', () => {
    expect(adminSeederSettingsSchema.parse({ enabled: false })).toMatchObject({ enabled: false });
  });

  it('redacts the password for logging and keeps everything else', () => {
    const settings = parseAdminSeederSettings({ password: 'Sup3r-Secret!' });
    const redacted = redactAdminSeederSettings(settings);
    expect(redacted).toEqual({ ...settings, password: '***' });
    expect(JSON.stringify(redacted)).not.toContain('Sup3r-Secret!');
    const fromFile = parseAdminSeederSettings({ passwordFile: '/run/secrets/admin' });
    expect(redactAdminSeederSettings(fromFile)).toEqual(fromFile);
  });
});
