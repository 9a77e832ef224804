/**
 * Marks `abandoned` the runs whose lease lapsed although nobody will be handed their
 * occurrence again: an operator's run now or rerun replaced the pending occurrence while
 * it ran, and then its worker died. (A lapsed run whose occurrence is still pending is
 * abandoned by the claim decision when a worker takes it over; doing it here as well is
 * harmless: the end of a run is one conditional write.) Without this, such a run would
 * show as running forever.
 */
import { formatInstance, type Clock, type JobLogger, type JobRunLedger } from '@app/shared-jobs';

export interface LapsedRunSweeperDependencies {
  readonly ledger: JobRunLedger;
  readonly clock: Clock;
  readonly logger: JobLogger;
  /** The jobs to look at (a page of running runs each). */
  readonly jobNames: readonly string[];
  /** Runs in flight in this process: never swept here (their lease is renewed by this process). */
  readonly isLocal: (runId: string) => boolean;
}

/** Running runs looked at per job and sweep (more than a job ever has in flight). */
const pageSize = 50;

export async function sweepLapsedRuns(dependencies: LapsedRunSweeperDependencies): Promise<number> {
  const { ledger, clock, logger } = dependencies;
  let abandoned = 0;
  for (const jobName of dependencies.jobNames) {
    const { runs } = await ledger.listRuns({ jobName, statuses: ['running'], limit: pageSize });
    const now = clock.now();
    for (const run of runs) {
      if (run.leaseExpiresAt.getTime() > now.getTime() || dependencies.isLocal(run.runId)) continue;
      const ended = await ledger.finish(run.runId, {
        status: 'abandoned',
        finishedAt: now,
        durationMs: now.getTime() - run.startedAt.getTime(),
        error: {
          name: 'LeaseLapsedError',
          message:
            `run lease lapsed at ${run.leaseExpiresAt.toISOString()}: worker ${formatInstance(run.instance)} ` +
            'stopped renewing it (stopped, hung or cut off from the database)',
        },
      });
      if (ended) {
        abandoned += 1;
        logger.warn('marked a run abandoned: its worker stopped renewing its lease', {
          jobName,
          runId: run.runId,
          attempt: run.attempt,
          previousInstance: formatInstance(run.instance),
        });
      }
    }
  }
  return abandoned;
}
