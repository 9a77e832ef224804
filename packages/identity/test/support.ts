import type { JobContext, JobLogger, JobProgress } from '@app/shared-jobs';
import type { FakeClock } from '@app/shared-jobs/testing';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import mongoose, { type Connection } from 'mongoose';

export interface RecordedLogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

/** A logger that keeps every line, to assert on (and to check that secrets never reach it). */
export class RecordingLogger implements JobLogger {
  readonly lines: RecordedLogLine[] = [];
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  info(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level: 'error', message, fields });
  }
  /** Everything logged, serialised. */
  text(): string {
    return JSON.stringify(this.lines);
  }
}

export interface TestJobContext extends JobContext {
  readonly logger: RecordingLogger;
  readonly progress: JobProgress[];
  readonly abortController: AbortController;
}

/** A JobContext for one run at the fake clock's instant; `onProgress` can abort mid-run. */
export function createTestJobContext(
  clock: FakeClock,
  onProgress?: (progress: JobProgress, abortController: AbortController) => void,
): TestJobContext {
  const abortController = new AbortController();
  const progress: JobProgress[] = [];
  return {
    jobName: 'test',
    runId: 'run-1',
    occurrenceAt: clock.now(),
    attempt: 1,
    clock,
    logger: new RecordingLogger(),
    signal: abortController.signal,
    progress,
    abortController,
    reportProgress: (entry) => {
      progress.push(entry);
      onProgress?.(entry, abortController);
      return Promise.resolve();
    },
  };
}

/** A connection of its own to this test file's database (never the global default connection). */
export async function openTestConnection(): Promise<Connection> {
  const connection = mongoose.createConnection(testMongoUri(), {
    dbName: testDatabaseName(),
    serverSelectionTimeoutMS: 10_000,
  });
  await connection.asPromise();
  return connection;
}

export const millisecondsPerDay = 24 * 60 * 60 * 1000;
