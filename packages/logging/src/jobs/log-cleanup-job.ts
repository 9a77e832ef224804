import type { JobContext, RecurringJob } from '@app/shared-jobs';
import type { Connection } from 'mongoose';
import { MongooseJobRunLedger } from '../repositories/mongoose-job-run-ledger.js';
import { parseLogCleanupSettings, type LogCleanupSettings } from '../settings.js';
import { retentionCutoff } from './cutoff.js';
import { deleteLogEntriesBefore } from './delete-log-entries.js';
import { deleteLogFilesBefore } from './delete-log-files.js';
import { pruneJobRunHistory } from './prune-job-run-history.js';

export const logCleanupJobName = 'LogCleanupJob';

export interface LogCleanupResult {
  readonly [key: string]: number;
  readonly deletedLogEntries: number;
  readonly deletedLogFiles: number;
  readonly skippedLogFiles: number;
  readonly deletedJobRuns: number;
}

export interface LogCleanupJobOptions {
  readonly connection: Connection;
  readonly settings: LogCleanupSettings;
}

const hourMs = 60 * 60 * 1000;

/**
 * LogCleanupJob: deletes database log entries and log files older than `retentionDays`
 * and finished job runs older than `jobHistoryRetentionDays`. The settings are validated
 * again here (a bad pattern is refused at configuration time, not at the first run).
 * Disabled: runs do nothing and return zeros.
 */
export function createLogCleanupJob(options: LogCleanupJobOptions): RecurringJob<LogCleanupResult> {
  const settings = parseLogCleanupSettings(options.settings);
  const { connection } = options;
  const ledger = new MongooseJobRunLedger(connection);
  return {
    name: logCleanupJobName,
    intervalMs: settings.intervalHours * hourMs,
    misfirePolicy: 'once',
    async run(context: JobContext): Promise<LogCleanupResult> {
      if (!settings.enabled) {
        context.logger.info('log cleanup is disabled');
        return { deletedLogEntries: 0, deletedLogFiles: 0, skippedLogFiles: 0, deletedJobRuns: 0 };
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
      context.signal.throwIfAborted();
      const deletedJobRuns = await pruneJobRunHistory({
        ledger,
        clock: context.clock,
        retentionDays: settings.jobHistoryRetentionDays,
      });
      const result = { deletedLogEntries, ...files, deletedJobRuns };
      context.logger.info('log cleanup completed', { ...result, cutoff: cutoff.toISOString() });
      return result;
    },
  };
}
