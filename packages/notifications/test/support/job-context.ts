import type { JobContext, JobLogger, JobProgress } from '@app/shared-jobs';
import { FakeClock } from '@app/shared-jobs/testing';

export interface TestJobContext extends JobContext {
  readonly clock: FakeClock;
  readonly progress: JobProgress[];
  readonly controller: AbortController;
  readonly logs: { level: string; message: string; fields: Record<string, unknown> }[];
}

/** A job context as the runtime would give it, with a fake clock and recorded progress. */
export function createTestJobContext(clock: FakeClock = new FakeClock()): TestJobContext {
  const progress: JobProgress[] = [];
  const controller = new AbortController();
  const logs: TestJobContext['logs'] = [];
  const record =
    (level: string) =>
    (message: string, fields: Readonly<Record<string, unknown>> = {}): void => {
      logs.push({ level, message, fields: { ...fields } });
    };
  const logger: JobLogger = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
  return {
    jobName: 'EmailQueueProcessJob',
    runId: 'test-run',
    occurrenceAt: clock.now(),
    attempt: 1,
    clock,
    logger,
    logs,
    signal: controller.signal,
    controller,
    progress,
    reportProgress(update: JobProgress): Promise<void> {
      progress.push(update);
      return Promise.resolve();
    },
  };
}
