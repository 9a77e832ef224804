import type { JobContext, JobProgress } from '@app/shared-jobs';
import { silentJobLogger } from '@app/shared-jobs';
import { FakeClock } from '@app/shared-jobs/testing';

export interface TestJobContext extends JobContext {
  readonly clock: FakeClock;
  readonly progress: JobProgress[];
  readonly controller: AbortController;
}

/** A job context as the runtime would give it, with a fake clock and recorded progress. */
export function createTestJobContext(clock: FakeClock = new FakeClock()): TestJobContext {
  const progress: JobProgress[] = [];
  const controller = new AbortController();
  return {
    jobName: 'EmailQueueProcessJob',
    runId: 'test-run',
    occurrenceAt: clock.now(),
    attempt: 1,
    clock,
    logger: silentJobLogger,
    signal: controller.signal,
    controller,
    progress,
    reportProgress(update: JobProgress): Promise<void> {
      progress.push(update);
      return Promise.resolve();
    },
  };
}
