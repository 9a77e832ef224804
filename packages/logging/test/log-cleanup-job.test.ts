import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import type { ClaimRunInput, JobRunLedger } from '@app/shared-jobs';
import { createJobModuleContext, createTestJobContext, FakeClock } from '@app/shared-jobs/testing';
import { lstat, lutimes, mkdir, mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createLogCleanupJob,
  ensureLogEntryIndexes,
  getJobRunModel,
  getLogEntryModel,
  getWorkerInstanceModel,
  logCleanupJobModule,
  logCleanupSettingsSchema,
  MongooseInstanceRegistry,
  MongooseJobRunLedger,
  parseLogCleanupSettings,
  pruneJobRunHistory,
  pruneWorkerInstances,
  type JobRunDocument,
  type LogCleanupSettingsInput,
} from '../src/index.js';
import { deleteLogFilesBefore } from '../src/jobs/delete-log-files.js';

const dayMs = 24 * 60 * 60 * 1000;
const now = new Date('2026-03-01T12:00:00.000Z');
/** retentionDays 30 everywhere below. */
const cutoff = new Date(now.getTime() - 30 * dayMs);

let connection: Connection;
const temporaryDirectories: string[] = [];

beforeAll(async () => {
  connection = await mongoose
    .createConnection(testMongoUri(), { dbName: testDatabaseName() })
    .asPromise();
  await ensureLogEntryIndexes(connection);
  await new MongooseJobRunLedger(connection).ensureIndexes();
  await new MongooseInstanceRegistry(connection).ensureIndexes();
});

afterAll(async () => {
  await connection.dropDatabase();
  await connection.close();
});

beforeEach(async () => {
  await getLogEntryModel(connection).deleteMany({});
  await connection.collection('job_runs').deleteMany({});
  await connection.collection('worker_instances').deleteMany({});
});

afterEach(async () => {
  await Promise.all(
    temporaryDirectories.splice(0).map((directory) => rm(directory, { recursive: true, force: true })),
  );
});

async function temporaryDirectory(label: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), `logging-${label}-`));
  temporaryDirectories.push(directory);
  return directory;
}

function cleanupJob(settings: LogCleanupSettingsInput) {
  return createLogCleanupJob({
    connection,
    settings: parseLogCleanupSettings({ retentionDays: 30, ...settings }),
  });
}

/** `count` entries at `timestamp`, `timestamp - 1 ms`, ... (or all at `timestamp` when `sameInstant`). */
async function insertEntries(
  label: string,
  timestamp: Date,
  count: number,
  sameInstant = false,
): Promise<void> {
  await getLogEntryModel(connection).insertMany(
    Array.from({ length: count }, (_, index) => ({
      timestamp: new Date(timestamp.getTime() - (sameInstant ? 0 : index)),
      level: 'info' as const,
      message: `${label} ${index}`,
      source: 'test',
    })),
  );
}

async function remainingMessages(): Promise<string[]> {
  const entries = await getLogEntryModel(connection).find({}, { message: 1 }).lean().exec();
  return entries.map((entry) => entry.message).sort();
}

async function writeFileAged(path: string, modifiedAt: Date, content = 'line\n'): Promise<void> {
  await writeFile(path, content);
  await utimes(path, modifiedAt, modifiedAt);
}

describe('LogCleanupJob: database log entries', () => {
  it('is a module: named, keyed, 24h by default with 3 run attempts from 5 minutes to an hour apart', () => {
    const module = logCleanupJobModule;
    expect(module).toMatchObject({
      jobName: 'LogCleanupJob',
      configKey: 'logCleanup',
      environmentPrefix: 'JOBS_LOG_CLEANUP_',
      defaults: {
        schedule: '24h',
        misfire: 'once',
        retry: { maxAttempts: 3, initialDelayMs: 300_000, maxDelayMs: 3_600_000 },
      },
      intervalAliases: [{ settingsKey: 'intervalHours', unitMs: 3_600_000 }],
    });
    expect(module.settingsSchema).toBe(logCleanupSettingsSchema);
    const job = module.create(
      createJobModuleContext(module, { settings: parseLogCleanupSettings({ intervalHours: 6 }), services: { connection } }),
    );
    expect(job.name).toBe('LogCleanupJob');
    // The alias is the worker's to resolve: the job runs on the timing it is given.
    expect(job.schedule).toEqual({ kind: 'interval', everyMs: dayMs });
    expect(job.misfire).toEqual({ kind: 'once' });
    expect(job.retry).toEqual(module.defaults.retry);
    expect(job.stallTimeoutMs).toBe(10 * 60_000);
    const timing = { schedule: { kind: 'interval', everyMs: 60_000 }, misfire: { kind: 'skip' } } as const;
    const retry = { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 };
    const configured = module.create(
      createJobModuleContext(module, { settings: parseLogCleanupSettings({}), services: { connection }, timing, retry }),
    );
    expect([configured.schedule, configured.misfire, configured.retry]).toEqual([timing.schedule, timing.misfire, retry]);
  });

  it('deletes entries older than the cutoff in batches; the one exactly at the cutoff stays', async () => {
    await insertEntries('ancient', new Date(cutoff.getTime() - 400 * dayMs), 4);
    await insertEntries('just-older', new Date(cutoff.getTime() - 1), 3);
    await insertEntries('at-cutoff', cutoff, 1);
    await insertEntries('just-newer', new Date(cutoff.getTime() + 1), 1);
    await insertEntries('recent', now, 2);
    const context = createTestJobContext(new FakeClock(now));

    const result = await cleanupJob({ batchSize: 3 }).run(context);

    expect(result).toEqual({
      deletedLogEntries: 7,
      deletedLogFiles: 0,
      skippedLogFiles: 0,
      deletedJobRuns: 0,
      deletedWorkerInstances: 0,
      deletedAuditRecords: 0,
    });
    expect(await remainingMessages()).toEqual(['at-cutoff 0', 'just-newer 0', 'recent 0', 'recent 1']);
    // 7 entries in batches of 3: 3, 6, 7.
    expect(context.progress.map((progress) => progress.completed)).toEqual([3, 6, 7]);
    expect(context.logger.lines).toContainEqual(
      expect.objectContaining({ level: 'info', message: 'log cleanup completed' }),
    );
  });

  it('deletes entries sharing one timestamp in batches of batchSize: ties never enlarge a statement', async () => {
    await insertEntries('same-instant', new Date(cutoff.getTime() - dayMs), 5, true);
    await insertEntries('older', new Date(cutoff.getTime() - 2 * dayMs), 1);
    const context = createTestJobContext(new FakeClock(now));
    expect((await cleanupJob({ batchSize: 2 }).run(context)).deletedLogEntries).toBe(6);
    expect(context.progress.map((progress) => progress.completed)).toEqual([2, 4, 6]);
    expect(await remainingMessages()).toEqual([]);
  });

  it('deletes an exact multiple of the batch size and stops on the empty batch', async () => {
    await insertEntries('old', new Date(cutoff.getTime() - dayMs), 6);
    const context = createTestJobContext(new FakeClock(now));
    expect((await cleanupJob({ batchSize: 3 }).run(context)).deletedLogEntries).toBe(6);
    expect(await remainingMessages()).toEqual([]);
  });

  it('is idempotent: a second run deletes nothing', async () => {
    await insertEntries('old', new Date(cutoff.getTime() - dayMs), 5);
    await insertEntries('recent', now, 1);
    const job = cleanupJob({ batchSize: 2 });
    expect((await job.run(createTestJobContext(new FakeClock(now)))).deletedLogEntries).toBe(5);
    const second = await job.run(createTestJobContext(new FakeClock(now)));
    expect(second.deletedLogEntries).toBe(0);
    expect(await remainingMessages()).toEqual(['recent 0']);
  });

  it('computes the cutoff from the context clock, not the wall clock', async () => {
    await insertEntries('old-for-2026', new Date(cutoff.getTime() - dayMs), 2);
    // Ten years earlier, those entries are in the future: nothing is old.
    const pastClock = new FakeClock(new Date('2016-03-01T00:00:00.000Z'));
    expect((await cleanupJob({}).run(createTestJobContext(pastClock))).deletedLogEntries).toBe(0);
    expect(await remainingMessages()).toHaveLength(2);
  });

  it('stops between batches when the run is aborted, leaving the rest for the next run', async () => {
    await insertEntries('old', new Date(cutoff.getTime() - dayMs), 5);
    const context = createTestJobContext(new FakeClock(now), {
      onProgress: (_progress, runContext) => runContext.abortController.abort(new Error('draining for shutdown')),
    });
    await expect(cleanupJob({ batchSize: 2 }).run(context)).rejects.toThrow('draining for shutdown');
    expect(await remainingMessages()).toHaveLength(3);
    const resumed = await cleanupJob({ batchSize: 2 }).run(createTestJobContext(new FakeClock(now)));
    expect(resumed.deletedLogEntries).toBe(3);
  });

  it('does nothing when disabled', async () => {
    await insertEntries('old', new Date(cutoff.getTime() - dayMs), 2);
    const context = createTestJobContext(new FakeClock(now));
    expect(await cleanupJob({ enabled: false }).run(context)).toEqual({
      deletedLogEntries: 0,
      deletedLogFiles: 0,
      skippedLogFiles: 0,
      deletedJobRuns: 0,
      deletedWorkerInstances: 0,
      deletedAuditRecords: 0,
    });
    expect(await remainingMessages()).toHaveLength(2);
    expect(context.logger.lines.map((line) => line.message)).toEqual(['log cleanup is disabled']);
  });

  it('refuses settings it was given unparsed when they are invalid, naming the key', () => {
    expect(() =>
      createLogCleanupJob({
        connection,
        settings: { ...parseLogCleanupSettings({}), logFilePattern: '../*.log' },
      }),
    ).toThrow("logCleanup.logFilePattern: must not contain '..'");
  });
});

describe('LogCleanupJob: job run history', () => {
  async function finishedRun(ledger: JobRunLedger, jobName: string, finishedAt: Date): Promise<void> {
    const claim = await ledger.claim(
      claimInput(jobName, finishedAt, new Date(finishedAt.getTime() - 1000), finishedAt),
    );
    if (!claim.claimed) throw new Error('expected a new claim');
    await ledger.finish(claim.run.runId, { status: 'succeeded', finishedAt, durationMs: 1000 });
  }

  function claimInput(jobName: string, occurrenceAt: Date, startedAt: Date, leaseExpiresAt: Date): ClaimRunInput {
    return {
      jobName,
      occurrenceAt,
      attempt: 1,
      cause: 'schedule',
      requestedBy: null,
      instance: { hostName: 'test', processId: 1 },
      instanceId: 'test-instance',
      startedAt,
      leaseExpiresAt,
    };
  }

  it('prunes finished runs older than jobHistoryRetentionDays and keeps running ones', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    const historyCutoff = new Date(now.getTime() - 10 * dayMs);
    await finishedRun(ledger, 'old', new Date(historyCutoff.getTime() - 1));
    await finishedRun(ledger, 'at-cutoff', historyCutoff);
    await finishedRun(ledger, 'recent', now);
    await ledger.claim(claimInput('still-running', new Date(0), new Date(0), new Date(1000)));
    const job = cleanupJob({ jobHistoryRetentionDays: 10 });
    expect((await job.run(createTestJobContext(new FakeClock(now)))).deletedJobRuns).toBe(1);
    const remaining = (await ledger.listLatestRunPerJob(['old', 'at-cutoff', 'recent', 'still-running'])).map(
      (run) => run.jobName,
    );
    expect(remaining).toEqual(['at-cutoff', 'recent', 'still-running']);
    expect((await job.run(createTestJobContext(new FakeClock(now)))).deletedJobRuns).toBe(0);
  });

  it('pruneJobRunHistory rejects a retention that is not a positive integer', async () => {
    const ledger = new MongooseJobRunLedger(connection);
    await expect(
      pruneJobRunHistory({ ledger, clock: new FakeClock(now), retentionDays: 0, batchSize: 10 }),
    ).rejects.toThrow('retentionDays must be an integer >= 1, got 0');
    await expect(
      pruneWorkerInstances({
        registry: new MongooseInstanceRegistry(connection),
        clock: new FakeClock(now),
        retentionDays: 1.5,
        batchSize: 10,
      }),
    ).rejects.toThrow('retentionDays must be an integer >= 1, got 1.5');
  });

  /** A finished run as the ledger stores it. */
  function runDocument(jobName: string, index: number, finishedAt: Date): Omit<JobRunDocument, '_id'> {
    const startedAt = new Date(finishedAt.getTime() - 1000);
    return {
      jobName,
      occurrenceAt: new Date(Date.UTC(2020, 0, 1) + index * 1000), // unique per job and index
      attempt: 1,
      cause: 'schedule',
      requestedBy: null,
      status: 'succeeded',
      instance: { hostName: 'test', processId: 1 },
      instanceId: 'test-instance',
      startedAt,
      leaseExpiresAt: finishedAt,
      finishedAt,
      durationMs: 1000,
      error: null,
      result: { deleted: index },
      progress: null,
      traceId: null,
    };
  }

  it('prunes 60,000 runs older than the retention in bounded batches and keeps the recent ones', async () => {
    const runs = getJobRunModel(connection);
    const historyCutoff = new Date(now.getTime() - 90 * dayMs);
    const oldCount = 60_000;
    for (let start = 0; start < oldCount; start += 10_000) {
      await runs.insertMany(
        Array.from({ length: 10_000 }, (_, offset) =>
          runDocument('old', start + offset, new Date(historyCutoff.getTime() - 1 - ((start + offset) % 5000) * 60_000)),
        ),
        { lean: true },
      );
    }
    await runs.insertMany(
      Array.from({ length: 50 }, (_, index) => runDocument('recent', index, new Date(historyCutoff.getTime() + index))),
      { lean: true },
    );
    const context = createTestJobContext(new FakeClock(now));

    const result = await cleanupJob({ batchSize: 5000 }).run(context);

    expect(result.deletedJobRuns).toBe(oldCount);
    expect(await runs.countDocuments({ jobName: 'old' })).toBe(0);
    expect(await runs.countDocuments({ jobName: 'recent' })).toBe(50);
    const pruned = context.progress.filter((progress) => progress.message === 'job runs pruned');
    expect(pruned.map((progress) => progress.completed)).toEqual(
      Array.from({ length: 12 }, (_, index) => (index + 1) * 5000),
    );
  }, 120_000);

  it('stops pruning runs when aborted between batches; the next run finishes', async () => {
    const runs = getJobRunModel(connection);
    await runs.insertMany(
      Array.from({ length: 7 }, (_, index) => runDocument('old', index, new Date(now.getTime() - 100 * dayMs))),
      { lean: true },
    );
    const context = createTestJobContext(new FakeClock(now), {
      onProgress: (progress, runContext) => {
        if (progress.message === 'job runs pruned') runContext.abortController.abort(new Error('drain'));
      },
    });
    await expect(cleanupJob({ batchSize: 3 }).run(context)).rejects.toThrow('drain');
    expect(await runs.countDocuments({})).toBe(4);
    expect((await cleanupJob({ batchSize: 3 }).run(createTestJobContext(new FakeClock(now)))).deletedJobRuns).toBe(4);
  });
});

describe('LogCleanupJob: worker instance records', () => {
  it('prunes instances silent for more than workerInstanceRetentionDays, in batches, and keeps live ones', async () => {
    const registry = new MongooseInstanceRegistry(connection);
    const identity = (instanceId: string) => ({
      instanceId,
      hostName: 'host',
      processId: 1,
      version: '1.0.0',
      startedAt: new Date(now.getTime() - 30 * dayMs),
    });
    const instanceCutoff = new Date(now.getTime() - 7 * dayMs);
    for (let index = 0; index < 5; index += 1) {
      await registry.heartbeat(identity(`gone-${index}`), new Date(instanceCutoff.getTime() - 1 - index * dayMs), []);
    }
    await registry.markStopped('gone-0', new Date(instanceCutoff.getTime() - 1));
    await registry.heartbeat(identity('at-cutoff'), instanceCutoff, []);
    await registry.heartbeat(identity('live'), now, []);
    const context = createTestJobContext(new FakeClock(now));

    const result = await cleanupJob({ batchSize: 2 }).run(context);

    expect(result.deletedWorkerInstances).toBe(5);
    const remaining = await getWorkerInstanceModel(connection).find({}, { _id: 1 }).lean().exec();
    expect(remaining.map((record) => record._id).sort()).toEqual(['at-cutoff', 'live']);
    expect(
      context.progress
        .filter((progress) => progress.message === 'worker instance records pruned')
        .map((progress) => progress.completed),
    ).toEqual([2, 4, 5]);
    const custom = await cleanupJob({ workerInstanceRetentionDays: 1 }).run(createTestJobContext(new FakeClock(now)));
    expect(custom.deletedWorkerInstances).toBe(1);
  });
});

describe('LogCleanupJob: log files', () => {
  it('deletes old matching files only, skips and counts links and undeletable entries', async () => {
    const logDirectory = await temporaryDirectory('logs');
    const outsideDirectory = await temporaryDirectory('outside');
    const old = new Date(cutoff.getTime() - 5 * dayMs);
    await writeFileAged(join(logDirectory, 'app-1.log'), old);
    await writeFileAged(join(logDirectory, 'app-2.log'), new Date(cutoff.getTime() - 1000));
    await writeFileAged(join(logDirectory, 'at-cutoff.log'), cutoff);
    await writeFileAged(join(logDirectory, 'recent.log'), now);
    await writeFileAged(join(logDirectory, 'notes.txt'), old);
    await writeFileAged(join(logDirectory, '.hidden.log'), old);
    // Not traversed: a subdirectory's files stay even when they match.
    await mkdir(join(logDirectory, 'nested'));
    await writeFileAged(join(logDirectory, 'nested', 'deep.log'), old);
    // A link to a file outside the directory: the link is skipped, its target survives.
    const outsideTarget = join(outsideDirectory, 'precious.log');
    await writeFileAged(outsideTarget, old, 'keep me\n');
    await symlink(outsideTarget, join(logDirectory, 'escape.log'));
    await lutimes(join(logDirectory, 'escape.log'), old, old);
    // A directory matching the pattern: unlink cannot remove it (even as root): skipped.
    await mkdir(join(logDirectory, 'archive.log'));
    await writeFileAged(join(logDirectory, 'archive.log', 'inside.txt'), old);
    await utimes(join(logDirectory, 'archive.log'), old, old);
    await utimes(join(logDirectory, 'nested'), old, old);

    const job = cleanupJob({ logDirectory });
    const context = createTestJobContext(new FakeClock(now));
    const result = await job.run(context);

    expect(result).toEqual({
      deletedLogEntries: 0,
      deletedLogFiles: 2,
      skippedLogFiles: 2,
      deletedJobRuns: 0,
      deletedWorkerInstances: 0,
      deletedAuditRecords: 0,
    });
    expect((await readdir(logDirectory)).sort()).toEqual([
      '.hidden.log',
      'archive.log',
      'at-cutoff.log',
      'escape.log',
      'nested',
      'notes.txt',
      'recent.log',
    ]);
    expect(await readFile(outsideTarget, 'utf8')).toBe('keep me\n');
    expect((await lstat(join(logDirectory, 'escape.log'))).isSymbolicLink()).toBe(true);
    expect(await readdir(join(logDirectory, 'nested'))).toEqual(['deep.log']);
    expect(await readdir(join(logDirectory, 'archive.log'))).toEqual(['inside.txt']);
    const warnings = context.logger.lines.filter((line) => line.level === 'warn');
    expect(warnings.map((line) => line.message).sort()).toEqual([
      'could not delete a log file; skipped',
      'skipped a symbolic link in the log directory',
    ]);
    expect(warnings.find((line) => line.message.startsWith('could not'))?.fields).toEqual({
      file: join(logDirectory, 'archive.log'),
      code: expect.stringMatching(/^(EISDIR|EPERM)$/u) as unknown,
    });

    const second = await job.run(createTestJobContext(new FakeClock(now)));
    expect(second).toMatchObject({ deletedLogFiles: 0, skippedLogFiles: 2 });
  });

  it('matches the configured pattern with glob syntax', async () => {
    const logDirectory = await temporaryDirectory('pattern');
    const old = new Date(cutoff.getTime() - dayMs);
    for (const name of ['worker-1.txt', 'worker-2.log', 'api-1.txt', 'worker.json']) {
      await writeFileAged(join(logDirectory, name), old);
    }
    const result = await cleanupJob({ logDirectory, logFilePattern: 'worker-*.{txt,log}' }).run(
      createTestJobContext(new FakeClock(now)),
    );
    expect(result.deletedLogFiles).toBe(2);
    expect((await readdir(logDirectory)).sort()).toEqual(['api-1.txt', 'worker.json']);
  });

  it('cleans nothing and logs it when the log directory does not exist', async () => {
    const parent = await temporaryDirectory('missing');
    const context = createTestJobContext(new FakeClock(now));
    const result = await cleanupJob({ logDirectory: join(parent, 'absent') }).run(context);
    expect(result).toMatchObject({ deletedLogFiles: 0, skippedLogFiles: 0 });
    expect(context.logger.lines).toContainEqual(
      expect.objectContaining({ message: 'log directory does not exist: no log files to clean' }),
    );
  });

  it('fails with the file system error when logDirectory is not a directory', async () => {
    const parent = await temporaryDirectory('not-a-directory');
    const filePath = join(parent, 'plain-file');
    await writeFile(filePath, 'x');
    await expect(
      cleanupJob({ logDirectory: filePath }).run(createTestJobContext(new FakeClock(now))),
    ).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('reports progress through a large directory and stops when aborted', async () => {
    const logDirectory = await temporaryDirectory('many');
    const old = new Date(cutoff.getTime() - dayMs);
    for (let index = 0; index < 1200; index += 1) {
      await writeFileAged(join(logDirectory, `file-${index}.log`), old);
    }
    const context = createTestJobContext(new FakeClock(now), {
      onProgress: (progress, runContext) => {
        if (progress.message === 'log directory entries examined') runContext.abortController.abort();
      },
    });
    await expect(cleanupJob({ logDirectory }).run(context)).rejects.toThrow(/abort/iu);
    expect(context.progress).toContainEqual({
      completed: 500,
      message: 'log directory entries examined',
    });
    const left = (await readdir(logDirectory)).length;
    expect(left).toBeGreaterThanOrEqual(700);
    expect(left).toBeLessThan(1200);
    const resumed = await cleanupJob({ logDirectory }).run(createTestJobContext(new FakeClock(now)));
    expect(resumed.deletedLogFiles).toBe(left);
    expect(await readdir(logDirectory)).toEqual([]);
  });

  it('refuses an unsafe pattern even when called directly', async () => {
    const logDirectory = await temporaryDirectory('direct');
    await expect(
      deleteLogFilesBefore(logDirectory, '../*', cutoff, createTestJobContext(new FakeClock(now))),
    ).rejects.toThrow("logFilePattern must not contain '..'");
  });
});
