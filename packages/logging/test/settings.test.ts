import { isAbsolute, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LogCleanupSettingsError,
  logCleanupSettingsSchema,
  parseLogCleanupSettings,
} from '../src/index.js';

function problemsOf(input: unknown): readonly string[] {
  try {
    parseLogCleanupSettings(input);
  } catch (error) {
    expect(error).toBeInstanceOf(LogCleanupSettingsError);
    return (error as LogCleanupSettingsError).problems;
  }
  throw new Error('expected the settings to be rejected');
}

describe('parseLogCleanupSettings', () => {
  it('applies the defaults to an empty or missing section', () => {
    const expected = {
      enabled: true,
      retentionDays: 30,
      logFilePattern: '*.log',
      batchSize: 1000,
      jobHistoryRetentionDays: 90,
      workerInstanceRetentionDays: 7,
      auditRetentionDays: 90,
    };
    expect(parseLogCleanupSettings({})).toEqual(expected);
    expect(parseLogCleanupSettings(undefined)).toEqual(expected);
  });

  it('keeps given values and resolves a relative log directory against the working directory', () => {
    const settings = parseLogCleanupSettings({
      enabled: false,
      intervalHours: 6,
      retentionDays: 7,
      logDirectory: 'var/logs',
      logFilePattern: 'app-*.{log,txt}',
      batchSize: 50,
      jobHistoryRetentionDays: 14,
      workerInstanceRetentionDays: 3,
      auditRetentionDays: 30,
    });
    expect(settings).toEqual({
      enabled: false,
      intervalHours: 6,
      retentionDays: 7,
      logDirectory: join(process.cwd(), 'var/logs'),
      logFilePattern: 'app-*.{log,txt}',
      batchSize: 50,
      jobHistoryRetentionDays: 14,
      workerInstanceRetentionDays: 3,
      auditRetentionDays: 30,
    });
    expect(isAbsolute(settings.logDirectory ?? '')).toBe(true);
  });

  it('names each bad key and the reason in one error', () => {
    const problems = problemsOf({ retentionDays: 0, batchSize: 2.5, intervalHours: 'daily' });
    expect(problems).toEqual(
      expect.arrayContaining([
        'logCleanup.retentionDays: must be >= 1',
        'logCleanup.batchSize: must be an integer',
        'logCleanup.intervalHours: must be a number',
      ]),
    );
    expect(problems).toHaveLength(3);
    expect(() => parseLogCleanupSettings({ retentionDays: 0 })).toThrow(
      /logCleanup\.retentionDays: must be >= 1/u,
    );
  });

  it('uses the section path it is given', () => {
    expect(() => parseLogCleanupSettings({ enabled: 'yes' }, 'jobs.logCleanup')).toThrow(
      'jobs.logCleanup.enabled: must be true or false',
    );
  });

  it.each([
    ['../*.log', "must not contain '..'"],
    ['..', "must not contain '..'"],
    ['logs..*.log', "must not contain '..'"],
    ['/var/log/*.log', 'must be a file name pattern, not an absolute path'],
    ['C:\\logs\\*.log', 'must be a file name pattern, not an absolute path'],
    ['\\\\server\\share\\*.log', 'must be a file name pattern, not an absolute path'],
    ['nested/*.log', 'must not contain / or \\'],
    ['nested\\*.log', 'must not contain / or \\'],
    ['  ', 'must not be empty'],
    ['a\0.log', 'must not contain a NUL character'],
  ])('rejects the log file pattern %j', (pattern, reason) => {
    const problems = problemsOf({ logFilePattern: pattern });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`logCleanup.logFilePattern: ${reason}`);
  });

  it('rejects an empty log directory, unknown keys and a non-object section', () => {
    expect(problemsOf({ logDirectory: ' ' })).toEqual(['logCleanup.logDirectory: must not be empty']);
    expect(problemsOf({ logDirectory: 'a\0b' })).toEqual([
      'logCleanup.logDirectory: must not contain a NUL character',
    ]);
    expect(problemsOf({ retentionDay: 3 })).toEqual(['logCleanup.retentionDay: unknown key']);
    expect(problemsOf('everything')).toEqual(['logCleanup: must be an object']);
  });

  it('exports the schema for embedding in the worker configuration', () => {
    const embedded = logCleanupSettingsSchema.safeParse({ retentionDays: 36_601 });
    expect(embedded.success).toBe(false);
    expect(embedded.error?.issues[0]?.path).toEqual(['retentionDays']);
    expect(embedded.error?.issues[0]?.message).toBe('must be <= 36600');
  });
});
