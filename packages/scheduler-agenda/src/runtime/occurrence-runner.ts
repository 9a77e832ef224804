/**
 * One due occurrence, from claim to what follows it: the claim (the ledger, and the
 * claim decision when the attempt exists), the run (its lease and the lock manager), the
 * record (the run recorder) and the completion (`RecurringJobService.completeOccurrence`).
 * It does not depend on Agenda (it gets an {@link AgendaLockHandle}), so it is unit
 * tested with the in-memory fakes, which run the same completion code as production.
 */
import {
  exponentialBackoffMs,
  formatInstance,
  toJobRunError,
  type Clock,
  type InstanceIdentity,
  type JobContext,
  type JobLogger,
  type JobResultSummary,
  type JobRun,
  type JobRunError,
  type JobRunLedger,
  type RecurringJobService,
  type ScheduledOccurrence,
} from '@app/shared-jobs';
import type { RunTelemetry } from '../telemetry.js';
import { countedAttempts, decideClaim, hasAttemptLeft } from './claim-decision.js';
import { retryWhileUnreachable } from './database-errors.js';
import { FencedRunError, RunTakenOverError, type LockManager } from './lock-manager.js';
import type { RegisteredJob } from './registered-job.js';
import { RunInterruptedError, RunLease } from './run-lease.js';
import { RunRecorder, type RunEnd } from './run-recorder.js';

/** Agenda's lock on the job's document, as the runner needs it. */
export interface AgendaLockHandle {
  readonly documentId: string;
  /** Updates the lock instant Agenda keeps in memory (its own expiry check reads it). */
  setLockedAt(at: Date): void;
  /** Clears the lock (if this worker still holds it) so another replica can take the occurrence now. */
  release(): Promise<void>;
  /**
   * The completion's write released the lock with the next occurrence (`ReplaceOptions.handOver`):
   * Agenda's own unlock at the end of this run is not written.
   */
  handedOver(): void;
}

/** A due occurrence as Agenda hands it over. */
export interface DueOccurrence {
  readonly occurrence: ScheduledOccurrence;
  /** When it was due (`nextRunAt`): the scheduling lag is measured from it. */
  readonly dueAt: Date;
}

export type RunOutcome = 'succeeded' | 'failed' | 'interrupted' | 'lost-claim';

/**
 * Why nothing ran here: done already, running on a live worker, claimed by another one
 * first, out of attempts, or replaced by its misfire policy (handed over too late).
 */
export type LostClaimReason = 'already-succeeded' | 'running-elsewhere' | 'claimed-elsewhere' | 'exhausted' | 'misfired';

/** What happened to one due occurrence: given to `onRunFinished`. */
export interface RunFinishedEvent {
  readonly jobName: string;
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly outcome: RunOutcome;
  /** Null when nothing ran here. */
  readonly runId: string | null;
  readonly startedAt: Date;
  readonly durationMs: number | null;
  readonly error: JobRunError | null;
  readonly result: JobResultSummary | null;
  /** Set when nothing ran here. */
  readonly lostClaimReason: LostClaimReason | null;
  /** What this worker scheduled next (a retry or the next occurrence), if anything. */
  readonly scheduled: ScheduledOccurrence | null;
}

export interface OccurrenceRunnerDependencies {
  readonly ledger: JobRunLedger;
  readonly service: RecurringJobService;
  readonly clock: Clock;
  readonly instance: InstanceIdentity;
  readonly instanceId: string;
  readonly logger: JobLogger;
  readonly telemetry: RunTelemetry;
  readonly lockManager: LockManager;
  /** Progress is stored on the run at most this often. */
  readonly progressWriteEveryMs: number;
  /** How long the writes after a run are retried while the database is out of reach. */
  readonly recordDeadlineMs: number;
  readonly onRunFinished?: (event: RunFinishedEvent) => void;
}

interface ActiveRun {
  interrupt(reason: string): void;
  readonly settled: Promise<unknown>;
}

/** A logger that adds the run's fields to every line. */
export function runLogger(base: JobLogger, fields: Readonly<Record<string, unknown>>): JobLogger {
  const withFields = (extra?: Readonly<Record<string, unknown>>) => ({ ...fields, ...extra });
  return {
    debug: (message, extra) => base.debug(message, withFields(extra)),
    info: (message, extra) => base.info(message, withFields(extra)),
    warn: (message, extra) => base.warn(message, withFields(extra)),
    error: (message, extra) => base.error(message, withFields(extra)),
  };
}

/** How a handler's run ended, before it is recorded. */
function toRunEnd(settlement: HandlerSettlement): RunEnd {
  if (settlement.kind === 'returned') return { status: 'succeeded', result: settlement.result };
  const cause = settlement.kind === 'aborted' ? settlement.reason : settlement.error;
  // A stalled handler failed; a drained, fenced or taken-over one was stopped from outside.
  const stoppedFromOutside =
    settlement.kind === 'aborted' &&
    (cause instanceof RunInterruptedError || cause instanceof FencedRunError || cause instanceof RunTakenOverError);
  return { status: stoppedFromOutside ? 'interrupted' : 'failed', cause };
}

type HandlerSettlement =
  | { readonly kind: 'returned'; readonly result: JobResultSummary }
  | { readonly kind: 'threw'; readonly error: unknown }
  | { readonly kind: 'aborted'; readonly reason: Error };

export class OccurrenceRunner {
  private readonly activeRuns = new Map<string, ActiveRun>();
  private readonly recorder: RunRecorder;

  constructor(private readonly dependencies: OccurrenceRunnerDependencies) {
    this.recorder = new RunRecorder(dependencies);
  }

  /** Runs currently executing in this process. */
  get activeCount(): number {
    return this.activeRuns.size;
  }

  /**
   * Interrupts every active run: aborts its signal, marks it `interrupted` and releases
   * its lock. Resolves when each is recorded (it does not wait for handlers that ignore
   * the signal).
   */
  async interruptAll(reason: string): Promise<void> {
    const runs = [...this.activeRuns.values()];
    for (const run of runs) run.interrupt(reason);
    await Promise.allSettled(runs.map((run) => run.settled));
  }

  /** Claims and runs one due occurrence of `job`. Never throws for handler errors. */
  async runDue(job: RegisteredJob, due: DueOccurrence, lock: AgendaLockHandle): Promise<RunFinishedEvent> {
    const { clock, ledger, telemetry, lockManager, instance, instanceId } = this.dependencies;
    const { occurrence } = due;
    const misfired = await this.dependencies.service.applyMisfire(occurrence, occurrence.timing ?? job.timing);
    if (misfired !== null) return this.lostClaim(job, occurrence, clock.now(), 'misfired', misfired);
    const claimAt = (attempt: number, startedAt: Date) =>
      ledger.claim({
        jobName: job.jobName,
        occurrenceAt: occurrence.occurrenceAt,
        attempt,
        cause: occurrence.cause,
        requestedBy: occurrence.requestedBy ?? null,
        instance,
        instanceId,
        startedAt,
        leaseExpiresAt: lockManager.leaseExpiry(startedAt),
      });
    const startedAt = clock.now();
    const first = await claimAt(occurrence.attempt, startedAt);
    if (first.claimed) {
      telemetry.recordLag(job.jobName, startedAt.getTime() - due.dueAt.getTime());
      return this.execute(job, occurrence, first.run, lock);
    }
    const runs = await ledger.listOccurrenceRuns(job.jobName, occurrence.occurrenceAt);
    const decision = decideClaim({ runs, now: clock.now(), retry: job.retry, cause: occurrence.cause });
    const lost = (reason: LostClaimReason, scheduled: ScheduledOccurrence | null) =>
      this.lostClaim(job, occurrence, startedAt, reason, scheduled);
    switch (decision.kind) {
      case 'running-elsewhere':
        return lost('running-elsewhere', null);
      case 'already-succeeded': {
        // Done already: complete it exactly as its run would have (heals a schedule write lost to a crash).
        const completion = await this.complete(job, occurrence, lock, decision.succeeded, 'succeeded', null);
        return lost('already-succeeded', completion);
      }
      case 'exhausted': {
        if (decision.abandon !== null) await this.abandon(decision.abandon);
        const completion = await this.complete(job, occurrence, lock, decision.lastRun, 'failed', null);
        return lost('exhausted', completion);
      }
      case 'run': {
        if (decision.abandon !== null) await this.abandon(decision.abandon);
        const retriedAt = clock.now();
        const next = await claimAt(decision.attempt, retriedAt);
        if (!next.claimed) return lost('claimed-elsewhere', null);
        telemetry.recordLag(job.jobName, retriedAt.getTime() - due.dueAt.getTime());
        return this.execute(job, occurrence, next.run, lock);
      }
    }
  }

  /** Marks a run whose owner stopped renewing its lease as abandoned. */
  private async abandon(run: JobRun): Promise<void> {
    const { ledger, clock, logger } = this.dependencies;
    const finishedAt = clock.now();
    const abandoned = await ledger.finish(run.runId, {
      status: 'abandoned',
      finishedAt,
      durationMs: finishedAt.getTime() - run.startedAt.getTime(),
      error: {
        name: 'LeaseLapsedError',
        message:
          `run lease lapsed at ${run.leaseExpiresAt.toISOString()}: worker ${formatInstance(run.instance)} ` +
          'stopped renewing it (stopped, hung or cut off from the database); the next attempt takes over',
      },
    });
    if (abandoned) {
      logger.warn('took over an occurrence whose worker stopped renewing its lease', {
        jobName: run.jobName,
        runId: run.runId,
        attempt: run.attempt,
        previousInstance: formatInstance(run.instance),
        leaseExpiredAt: run.leaseExpiresAt.toISOString(),
      });
    }
  }

  private async execute(
    job: RegisteredJob,
    occurrence: ScheduledOccurrence,
    run: JobRun,
    lock: AgendaLockHandle,
  ): Promise<RunFinishedEvent> {
    const { clock, telemetry, ledger, lockManager, progressWriteEveryMs } = this.dependencies;
    const logger = runLogger(this.dependencies.logger, {
      jobName: job.jobName,
      runId: run.runId,
      attempt: run.attempt,
      occurrenceAt: run.occurrenceAt.toISOString(),
      cause: run.cause,
    });
    const lease = new RunLease({
      jobName: job.jobName,
      clock,
      stallTimeoutMs: job.stallTimeoutMs,
      storeProgress: (progress) => ledger.reportProgress(run.runId, progress),
      progressWriteEveryMs,
    });
    const untrack = lockManager.track({
      runId: run.runId,
      jobName: job.jobName,
      occurrenceAt: run.occurrenceAt,
      attempt: run.attempt,
      startedAt: run.startedAt,
      lock,
      abort: (error) => lease.abort(error),
    });
    const endActive = telemetry.trackActiveRun(job.jobName);
    let settleActive: () => void = () => undefined;
    this.activeRuns.set(run.runId, {
      interrupt: (reason) => lease.abort(new RunInterruptedError(reason)),
      settled: new Promise<void>((resolve) => {
        settleActive = resolve;
      }),
    });
    const context: JobContext = {
      jobName: job.jobName,
      runId: run.runId,
      occurrenceAt: run.occurrenceAt,
      attempt: run.attempt,
      cause: run.cause,
      clock,
      logger,
      signal: lease.signal,
      reportProgress: (progress) => lease.reportProgress(progress),
    };
    try {
      return await telemetry.inRunSpan(
        {
          jobName: job.jobName,
          occurrenceAt: run.occurrenceAt,
          attempt: run.attempt,
          runId: run.runId,
          instance: formatInstance(run.instance),
        },
        async (span) => {
          logger.info('job run started');
          const handler = Promise.resolve()
            .then(() => job.definition.run(context))
            .then(
              (result): HandlerSettlement => ({ kind: 'returned', result }),
              (error: unknown): HandlerSettlement =>
                lease.signal.aborted
                  ? { kind: 'aborted', reason: lease.signal.reason as Error }
                  : { kind: 'threw', error },
            );
          const aborted = lease.aborted.then((reason): HandlerSettlement => ({ kind: 'aborted', reason }));
          const end = toRunEnd(await Promise.race([handler, aborted]));
          lease.dispose();
          const recorded = await this.recorder.recordEnd(run, end, span, logger);
          let scheduled: ScheduledOccurrence | null = null;
          if (recorded.owned && end.status === 'interrupted') {
            // Another replica can take the next attempt now instead of waiting for the lock to lapse.
            await lock.release().catch(() => undefined);
          } else if (recorded.owned) {
            scheduled = await this.completeAfterRun(job, occurrence, lock, run, end.status === 'succeeded');
          }
          return this.finished({
            jobName: job.jobName,
            occurrenceAt: run.occurrenceAt,
            attempt: run.attempt,
            outcome: end.status,
            runId: run.runId,
            startedAt: run.startedAt,
            durationMs: recorded.durationMs,
            error: recorded.error,
            result: end.status === 'succeeded' ? end.result : null,
            lostClaimReason: null,
            scheduled,
          });
        },
      );
    } finally {
      lease.dispose();
      untrack();
      endActive();
      this.activeRuns.delete(run.runId);
      settleActive();
    }
  }

  /** After this worker recorded its run: the retry, or what follows the occurrence. */
  private async completeAfterRun(
    job: RegisteredJob,
    occurrence: ScheduledOccurrence,
    lock: AgendaLockHandle,
    run: JobRun,
    succeeded: boolean,
  ): Promise<ScheduledOccurrence | null> {
    if (succeeded) return this.complete(job, occurrence, lock, run, 'succeeded', null);
    const runs = await this.dependencies.ledger.listOccurrenceRuns(job.jobName, run.occurrenceAt);
    const retryDelayMs = hasAttemptLeft(runs, job.retry, occurrence.cause)
      ? exponentialBackoffMs(job.retry, countedAttempts(runs))
      : null;
    return this.complete(job, occurrence, lock, run, 'failed', retryDelayMs);
  }

  /**
   * `completeOccurrence` from a run, retried while the database is out of reach. When the
   * next occurrence replaced the completed one, that write also released Agenda's lock.
   */
  private async complete(
    job: RegisteredJob,
    occurrence: ScheduledOccurrence,
    lock: AgendaLockHandle,
    run: JobRun,
    outcome: 'succeeded' | 'failed',
    retryDelayMs: number | null,
  ): Promise<ScheduledOccurrence | null> {
    const { service, recordDeadlineMs, logger } = this.dependencies;
    try {
      const completion = await retryWhileUnreachable(
        () =>
          service.completeOccurrence({
            occurrence,
            timing: occurrence.timing ?? job.timing,
            outcome,
            attempt: run.attempt,
            retryDelayMs,
            startedAt: run.startedAt,
            executedBy: run.instance,
          }),
        { deadlineMs: recordDeadlineMs, retryEveryMs: 500 },
      );
      if (completion.applied === 'advanced') lock.handedOver();
      return completion.next;
    } catch (error) {
      // The occurrence stays pending: once its lock lapses, a replica finds it done and completes it.
      logger.error('could not schedule what follows the occurrence: it is healed once its lock lapses', {
        jobName: job.jobName,
        occurrenceAt: occurrence.occurrenceAt.toISOString(),
        error: toJobRunError(error),
      });
      return null;
    }
  }

  private lostClaim(
    job: RegisteredJob,
    occurrence: ScheduledOccurrence,
    startedAt: Date,
    reason: LostClaimReason,
    scheduled: ScheduledOccurrence | null,
  ): RunFinishedEvent {
    this.dependencies.telemetry.countLostClaim(job.jobName, reason);
    this.dependencies.logger.info('occurrence not run here', {
      jobName: job.jobName,
      occurrenceAt: occurrence.occurrenceAt.toISOString(),
      attempt: occurrence.attempt,
      reason,
    });
    return this.finished({
      jobName: job.jobName,
      occurrenceAt: occurrence.occurrenceAt,
      attempt: occurrence.attempt,
      outcome: 'lost-claim',
      runId: null,
      startedAt,
      durationMs: null,
      error: null,
      result: null,
      lostClaimReason: reason,
      scheduled,
    });
  }

  private finished(event: RunFinishedEvent): RunFinishedEvent {
    try {
      this.dependencies.onRunFinished?.(event);
    } catch (error) {
      this.dependencies.logger.error('onRunFinished callback threw', { error: toJobRunError(error) });
    }
    return event;
  }
}

