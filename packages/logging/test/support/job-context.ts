import type { Clock, JobContext, JobLogger, JobProgress } from '@app/shared-jobs';

export interface RecordedLogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

export interface TestJobContext extends JobContext {
  readonly progressReports: JobProgress[];
  readonly logLines: RecordedLogLine[];
  readonly abortController: AbortController;
}

/** A real JobContext for one run: records progress and log lines; `onProgress` may abort. */
export function createTestJobContext(
  clock: Clock,
  onProgress: (progress: JobProgress, context: TestJobContext) => void = () => undefined,
): TestJobContext {
  const abortController = new AbortController();
  const progressReports: JobProgress[] = [];
  const logLines: RecordedLogLine[] = [];
  const record =
    (level: RecordedLogLine['level']) =>
    (message: string, fields?: Readonly<Record<string, unknown>>) => {
      logLines.push({ level, message, fields });
    };
  const logger: JobLogger = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
  const context: TestJobContext = {
    jobName: 'LogCleanupJob',
    runId: 'test-run',
    occurrenceAt: clock.now(),
    attempt: 1,
    clock,
    logger,
    signal: abortController.signal,
    abortController,
    progressReports,
    logLines,
    reportProgress(progress: JobProgress): Promise<void> {
      progressReports.push(progress);
      onProgress(progress, context);
      return Promise.resolve();
    },
  };
  return context;
}
