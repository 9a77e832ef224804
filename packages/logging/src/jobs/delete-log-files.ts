import type { JobContext } from '@app/shared-jobs';
import { lstat, opendir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { findLogFilePatternError } from '../settings.js';

export interface LogFileCleanupResult {
  readonly deletedLogFiles: number;
  readonly skippedLogFiles: number;
}

/** How many directory entries between two progress reports. */
const progressEvery = 500;

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) return String(error.code);
  return 'unknown';
}

/**
 * Deletes entries directly in `directory` whose name matches `pattern` and whose own last
 * write time (lstat: links are never followed) is before `cutoff`. Never recurses and
 * only ever calls `unlink` (which cannot remove a directory). Symbolic links are skipped;
 * an entry that cannot be deleted (a directory, a permission error) is skipped. Both are
 * counted in `skippedLogFiles`. A missing directory cleans nothing.
 */
export async function deleteLogFilesBefore(
  directory: string,
  pattern: string,
  cutoff: Date,
  context: Pick<JobContext, 'signal' | 'reportProgress' | 'logger'>,
): Promise<LogFileCleanupResult> {
  const patternError = findLogFilePatternError(pattern);
  if (patternError !== null) throw new TypeError(`logFilePattern ${patternError}`);
  const matchesPattern = picomatch(pattern, { dot: false });
  let deletedLogFiles = 0;
  let skippedLogFiles = 0;
  let directoryHandle;
  try {
    directoryHandle = await opendir(directory);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      context.logger.info('log directory does not exist: no log files to clean', { directory });
      return { deletedLogFiles, skippedLogFiles };
    }
    throw error;
  }
  let examined = 0;
  // The async iterator closes the directory handle when the loop ends or throws.
  for await (const entry of directoryHandle) {
    context.signal.throwIfAborted();
    examined += 1;
    if (examined % progressEvery === 0) {
      await context.reportProgress({ completed: examined, message: 'log directory entries examined' });
    }
    if (!matchesPattern(entry.name)) continue;
    const entryPath = join(directory, entry.name);
    let stats;
    try {
      stats = await lstat(entryPath);
    } catch {
      continue; // removed since it was listed
    }
    if (stats.mtimeMs >= cutoff.getTime()) continue;
    if (stats.isSymbolicLink()) {
      skippedLogFiles += 1;
      context.logger.warn('skipped a symbolic link in the log directory', { file: entryPath });
      continue;
    }
    try {
      await unlink(entryPath);
      deletedLogFiles += 1;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') continue; // deleted concurrently
      skippedLogFiles += 1;
      context.logger.warn('could not delete a log file; skipped', { file: entryPath, code });
    }
  }
  return { deletedLogFiles, skippedLogFiles };
}
