import {
  parseMisfirePolicy,
  parseSchedule,
  type JobContext,
  type JobModule,
  type JobModuleDefaults,
  type JobTiming,
  type RecurringJob,
  type RetryPolicy,
} from '@app/shared-jobs';
import type { Connection } from 'mongoose';
import { MongooseInstanceRegistry } from '../repositories/mongoose-instance-registry.js';
import { MongooseJobRunLedger } from '../repositories/mongoose-job-run-ledger.js';
import { MongooseOperatorAuditTrail } from '../repositories/mongoose-operator-audit-trail.js';
import { logCleanupSettingsSchema, parseLogCleanupSettings, type LogCleanupSettings } from '../settings.js';
import { retentionCutoff } from './cutoff.js';
import { deleteLogEntriesBefore } from './delete-log-entries.js';
import { deleteLogFilesBefore } from './delete-log-files.js';
import { pruneJobRunHistory, pruneWorkerInstances } from './prune-job-run-history.js';

export const logCleanupJobName = 'LogCleanupJob';

export interface LogCleanupResult {
  readonly [key: string]: number;
  readonly deletedLogEntries: number;
  readonly deletedLogFiles: number;
  readonly skippedLogFiles: number;
  readonly deletedJobRuns: number;
  readonly deletedWorkerInstances: number;
  readonly deletedAuditRecords: number;
}

export interface LogCleanupJobOptions {
  readonly connection: Connection;
  readonly settings: LogCleanupSettings;
  /** When it runs (the worker resolves it from its `schedule`/`misfire` keys); module default when absent. */
  readonly timing?: JobTiming;
  /** Its run retries (the worker resolves them from its `retry` keys); module default when absent. */
  readonly retry?: RetryPolicy;
}

/** Services the worker gives LogCleanupJob. */
export interface LogCleanupJobServices {
  readonly connection: Connection;
}

/**
 * Daily; a failed run is retried 3 times after 5, 10 and 20 minutes (at most an hour): nothing
 * is urgent about old logs, so retries wait long enough for a failover or a full disk to be
 * dealt with, and a run that still fails leaves the work to the next day.
 */
export const logCleanupDefaults: JobModuleDefaults = {
  schedule: '24h',
  misfire: 'once',
  retry: { maxAttempts: 3, initialDelayMs: 5 * 60_000, maxDelayMs: 60 * 60_000 },
};

/**
 * Every batch (two bounded statements, or 500 directory entries) reports progress: ten minutes
 * without any means a hung connection or file system, not a slow batch.
 */
const stallTimeoutMs = 10 * 60_000;

const emptyResult: LogCleanupResult = {
  deletedLogEntries: 0,
  deletedLogFiles: 0,
  skippedLogFiles: 0,
  deletedJobRuns: 0,
  deletedWorkerInstances: 0,
  deletedAuditRecords: 0,
};

/**
 * LogCleanupJob: deletes database log entries and log files older than `retentionDays`,
 * finished job runs older than `jobHistoryRetentionDays`, worker instance records silent for
 * more than `workerInstanceRetentionDays` and operator audit records older than
 * `auditRetentionDays`, each in bounded batches with abort checks (and progress reports). The settings are validated again here (a bad pattern is refused when the
 * job is built, not at its first run). Disabled: runs do nothing and return zeros.
 */
export function createLogCleanupJob(options: LogCleanupJobOptions): RecurringJob<LogCleanupResult> {
  const settings = parseLogCleanupSettings(options.settings);
  const { connection } = options;
  const ledger = new MongooseJobRunLedger(connection);
  const registry = new MongooseInstanceRegistry(connection);
  const auditTrail = new MongooseOperatorAuditTrail(connection);
  const timing = options.timing ?? {
    schedule: parseSchedule(logCleanupDefaults.schedule),
    misfire: parseMisfirePolicy(logCleanupDefaults.misfire),
  };
  return {
    name: logCleanupJobName,
    schedule: timing.schedule,
    misfire: timing.misfire,
    retry: options.retry ?? logCleanupDefaults.retry,
    stallTimeoutMs,
    async run(context: JobContext): Promise<LogCleanupResult> {
      if (!settings.enabled) {
        context.logger.info('log cleanup is disabled');
        return emptyResult;
      }
      const cutoff = retentionCutoff(context.clock, settings.retentionDays);
      const deletedLogEntries = await deleteLogEntriesBefore(
        connection,
        cutoff,
        settings.batchSize,
        context,
      );
      const files =
        settings.logDirectory === undefined
          ? { deletedLogFiles: 0, skippedLogFiles: 0 }
          : await deleteLogFilesBefore(settings.logDirectory, settings.logFilePattern, cutoff, context);
      const deletedJobRuns = await pruneJobRunHistory({
        ledger,
        clock: context.clock,
        retentionDays: settings.jobHistoryRetentionDays,
        batchSize: settings.batchSize,
        context,
      });
      const deletedWorkerInstances = await pruneWorkerInstances({
        registry,
        clock: context.clock,
        retentionDays: settings.workerInstanceRetentionDays,
        batchSize: settings.batchSize,
        context,
      });
      context.signal.throwIfAborted();
      // The audit trail prunes itself in batches of its own (repository of the console).
      const deletedAuditRecords = await auditTrail.pruneBefore(
        retentionCutoff(context.clock, settings.auditRetentionDays),
      );
      const result = { deletedLogEntries, ...files, deletedJobRuns, deletedWorkerInstances, deletedAuditRecords };
      context.logger.info('log cleanup completed', { ...result, cutoff: cutoff.toISOString() });
      return result;
    },
  };
}

/** LogCleanupJob as a module: what the worker needs to configure and build it. */
export const logCleanupJobModule: JobModule<typeof logCleanupSettingsSchema, LogCleanupSettings, LogCleanupJobServices> = {
  jobName: logCleanupJobName,
  configKey: 'logCleanup',
  environmentPrefix: 'JOBS_LOG_CLEANUP_',
  description:
    'LogCleanupJob (@app/logging): deletes old log entries and log files, job history, worker instance records and operator audit records.',
  settingsSchema: logCleanupSettingsSchema,
  defaults: logCleanupDefaults,
  intervalAliases: [{ settingsKey: 'intervalHours', unitMs: 60 * 60 * 1000 }],
  create: ({ settings, timing, retry, services }) =>
    createLogCleanupJob({ connection: services.connection, settings, timing, retry }),
};
