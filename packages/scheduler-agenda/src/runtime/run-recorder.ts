/**
 * Recording the end of a run: the ledger's decisive write (retried while the database is
 * out of reach, so a worker that comes back after an outage records at once), the
 * span's outcome, the run counters and the log line.
 */
import type { Span } from '@opentelemetry/api';
import {
  toJobRunError,
  type Clock,
  type JobLogger,
  type JobResultSummary,
  type JobRun,
  type JobRunError,
  type JobRunLedger,
} from '@app/shared-jobs';
import type { RunTelemetry } from '../telemetry.js';
import { retryWhileUnreachable } from './database-errors.js';

export type RunEnd =
  | { readonly status: 'succeeded'; readonly result: JobResultSummary }
  | { readonly status: 'failed' | 'interrupted'; readonly cause: unknown };

export interface RecordedRun {
  /** Whether this worker's write ended the run (false: another worker had taken it over). */
  readonly owned: boolean;
  readonly finishedAt: Date;
  readonly durationMs: number;
  readonly error: JobRunError | null;
}

export interface RunRecorderDependencies {
  readonly ledger: JobRunLedger;
  readonly telemetry: RunTelemetry;
  readonly clock: Clock;
  /** How long the decisive write is retried while the database is out of reach. */
  readonly recordDeadlineMs: number;
}

export class RunRecorder {
  constructor(private readonly dependencies: RunRecorderDependencies) {}

  async recordEnd(run: JobRun, end: RunEnd, span: Span, logger: JobLogger): Promise<RecordedRun> {
    const { ledger, telemetry, clock, recordDeadlineMs } = this.dependencies;
    const finishedAt = clock.now();
    const durationMs = finishedAt.getTime() - run.startedAt.getTime();
    const error = end.status === 'succeeded' ? null : toJobRunError(end.cause);
    const traceId = span.spanContext().traceId;
    const owned = await retryWhileUnreachable(
      () =>
        ledger.finish(run.runId, {
          status: end.status,
          finishedAt,
          durationMs,
          error,
          result: end.status === 'succeeded' ? end.result : null,
          traceId: /^0+$/u.test(traceId) ? null : traceId,
        }),
      {
        deadlineMs: recordDeadlineMs,
        retryEveryMs: 500,
        onRetry: (cause) =>
          logger.warn('database out of reach: retrying the record of the run', { error: toJobRunError(cause) }),
      },
    );
    telemetry.recordOutcome(span, end.status, end.status === 'succeeded' ? end.result : null, error === null ? null : end.status === 'succeeded' ? null : end.cause);
    telemetry.countRun(run.jobName, end.status, durationMs);
    if (!owned) {
      logger.warn('run was no longer ours when it ended (taken over): its outcome is not recorded', {
        outcome: end.status,
        durationMs,
      });
    } else if (end.status === 'succeeded') {
      logger.info('job run succeeded', { durationMs, result: end.result });
    } else if (end.status === 'failed') {
      logger.error('job run failed', { durationMs, error });
    } else {
      logger.warn('job run interrupted', { durationMs, error });
    }
    return { owned, finishedAt, durationMs, error };
  }
}
