/**
 * One due occurrence, from claim to the next schedule: the part of the runtime that does
 * not depend on Agenda (it gets a {@link LockControl} for Agenda's lock), so it is unit
 * tested with the in-memory fakes.
 */
import {
  computeNextOccurrence,
  formatInstance,
  toJobRunError,
  type Clock,
  type InstanceIdentity,
  type JobContext,
  type JobLogger,
  type JobProgress,
  type JobResultSummary,
  type JobRun,
  type JobRunError,
  type JobRunLedger,
  type MessageScheduler,
  type RecurringJobExecution,
  type RecurringJobRepository,
  type RecurringJobService,
  type ScheduledOccurrence,
} from '@app/shared-jobs';
import type { Span } from '@opentelemetry/api';
import type { RunTelemetry } from '../telemetry.js';
import type { RegisteredJob } from './registered-job.js';
import { retryDelayMs } from './retry-delay.js';

/** Agenda's lock on the job's document, as the runner needs it. */
export interface LockControl {
  /** Renews the lock (Agenda `job.touch`); `progressPercent` is 0-100 when known. */
  touch(progressPercent: number | undefined): Promise<void>;
  /** Clears the lock so another replica can take the occurrence now. */
  release(): Promise<void>;
}

/** A due occurrence as Agenda hands it over. */
export interface DueOccurrence {
  readonly occurrenceAt: Date;
  readonly attempt: number;
  /** When it was due (`nextRunAt`): the scheduling lag is measured from it. */
  readonly dueAt: Date;
}

export type RunOutcome = 'succeeded' | 'failed' | 'interrupted' | 'lost-claim';

export type LostClaimReason = 'already-succeeded' | 'running-elsewhere' | 'claimed-elsewhere';

/** What happened to one due occurrence: given to `onRunFinished`. */
export interface RunFinishedEvent {
  readonly jobName: string;
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly outcome: RunOutcome;
  /** Null for a lost claim (nothing ran). */
  readonly runId: string | null;
  readonly startedAt: Date;
  readonly durationMs: number | null;
  readonly error: JobRunError | null;
  readonly result: JobResultSummary | null;
  /** Set for a lost claim. */
  readonly lostClaimReason: LostClaimReason | null;
  /** What this run scheduled next (a retry or the next occurrence), if anything. */
  readonly scheduled: ScheduledOccurrence | null;
}

/**
 * A scheduler that can replace the pending occurrence unless it is newer than a given
 * occurrence in one write ({@link AgendaMessageScheduler.scheduleUnlessNewer}); without
 * it the runner reads the pending occurrence first.
 */
export interface ConditionalScheduling {
  scheduleUnlessNewer(occurrence: ScheduledOccurrence, than: Date): Promise<ScheduledOccurrence | null>;
}

export interface OccurrenceRunnerDependencies {
  readonly ledger: JobRunLedger;
  readonly scheduler: MessageScheduler & Partial<ConditionalScheduling>;
  readonly repository: RecurringJobRepository;
  readonly service: RecurringJobService;
  readonly clock: Clock;
  readonly instance: InstanceIdentity;
  readonly logger: JobLogger;
  readonly telemetry: RunTelemetry;
  readonly onRunFinished?: (event: RunFinishedEvent) => void;
}

/** Raised into a run whose lease lapsed (no progress reported within the lock lifetime). */
export class LeaseExpiredError extends Error {
  override readonly name = 'LeaseExpiredError';
}

/** Raised into a run that a drain deadline interrupted. */
export class RunInterruptedError extends Error {
  override readonly name = 'RunInterruptedError';
}

interface ActiveRun {
  readonly jobName: string;
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

function progressPercent(progress: JobProgress): number | undefined {
  if (progress.completed === undefined || progress.total === undefined || progress.total <= 0) {
    return undefined;
  }
  return Math.max(0, Math.min(100, Math.round((progress.completed / progress.total) * 100)));
}

type HandlerSettlement =
  | { readonly kind: 'returned'; readonly result: JobResultSummary }
  | { readonly kind: 'threw'; readonly error: unknown }
  | { readonly kind: 'interrupted'; readonly error: RunInterruptedError };

export class OccurrenceRunner {
  private readonly activeRuns = new Map<string, ActiveRun>();

  constructor(private readonly dependencies: OccurrenceRunnerDependencies) {}

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
  async runDue(job: RegisteredJob, due: DueOccurrence, lock: LockControl): Promise<RunFinishedEvent> {
    const { clock, telemetry } = this.dependencies;
    const jobName = job.schedule.jobName;
    const startedAt = clock.now();
    const claim = await this.claimNextAttempt(job, due, startedAt);
    if (!claim.claimed) {
      telemetry.countLostClaim(jobName, claim.reason);
      this.dependencies.logger.info('occurrence claimed elsewhere: skipped', {
        jobName,
        occurrenceAt: due.occurrenceAt.toISOString(),
        attempt: due.attempt,
        reason: claim.reason,
      });
      return this.finished({
        jobName,
        occurrenceAt: due.occurrenceAt,
        attempt: due.attempt,
        outcome: 'lost-claim',
        runId: null,
        startedAt,
        durationMs: null,
        error: null,
        result: null,
        lostClaimReason: claim.reason,
        scheduled: claim.scheduled,
      });
    }
    telemetry.recordLag(jobName, startedAt.getTime() - due.dueAt.getTime());
    return this.execute(job, claim.run, lock);
  }

  /**
   * Claims the attempt Agenda handed over; when that attempt exists already, works out
   * from the ledger what the occurrence needs: nothing (succeeded: heal the schedule),
   * nothing yet (a live run elsewhere), or the next attempt (the last one died or ended).
   */
  private async claimNextAttempt(
    job: RegisteredJob,
    due: DueOccurrence,
    now: Date,
  ): Promise<
    | { claimed: true; run: JobRun }
    | { claimed: false; reason: LostClaimReason; scheduled: ScheduledOccurrence | null }
  > {
    const { ledger, instance, service, scheduler } = this.dependencies;
    const jobName = job.schedule.jobName;
    const claimInput = (attempt: number) => ({
      jobName,
      occurrenceAt: due.occurrenceAt,
      attempt,
      instance,
      startedAt: now,
      leaseExpiresAt: new Date(now.getTime() + job.lockLifetimeMs),
    });
    const first = await ledger.claim(claimInput(due.attempt));
    if (first.claimed) return { claimed: true, run: first.run };
    const runs = await ledger.listOccurrenceRuns(jobName, due.occurrenceAt);
    const succeeded = runs.find((run) => run.status === 'succeeded');
    if (succeeded !== undefined) {
      // Done already: the chain must not stop. A pending occurrence newer than this one is
      // the chain (the next one, or an operator's trigger): leave it. Otherwise the run
      // that succeeded may still be scheduling onwards, or died before it could: write
      // exactly what it writes (its execution, then its next occurrence unless a newer one
      // is pending), computed from the ledger's run rather than an execution record that
      // may not show it yet, so the two writes agree in either order.
      const pending = await scheduler.getPending(jobName);
      const scheduled =
        pending !== null && pending.occurrenceAt.getTime() > due.occurrenceAt.getTime()
          ? pending
          : await this.scheduleAfterCompletion(job, succeeded.occurrenceAt, succeeded.startedAt, succeeded.instance);
      return { claimed: false, reason: 'already-succeeded', scheduled };
    }
    const latest = runs.reduce((newest, run) => (run.attempt > newest.attempt ? run : newest), first.existing);
    if (latest.status === 'running') {
      if (latest.leaseExpiresAt.getTime() > now.getTime()) {
        return { claimed: false, reason: 'running-elsewhere', scheduled: null };
      }
      await ledger.finish(latest.runId, {
        status: 'abandoned',
        finishedAt: now,
        error: {
          name: 'LeaseExpiredError',
          message: `run lease expired at ${latest.leaseExpiresAt.toISOString()} (worker ${formatInstance(latest.instance)} presumed dead)`,
        },
      });
    }
    const failedAttempts = runs.filter((run) => run.status === 'failed').length;
    if (failedAttempts >= job.retry.maxAttempts) {
      // The last attempt failed but its worker did not schedule onwards: do it now.
      const scheduled = await service.recordAndScheduleNext(job.schedule, {
        occurrenceAt: due.occurrenceAt,
        executedAt: latest.startedAt,
      });
      return { claimed: false, reason: 'claimed-elsewhere', scheduled };
    }
    const next = await ledger.claim(claimInput(latest.attempt + 1));
    if (next.claimed) return { claimed: true, run: next.run };
    return { claimed: false, reason: 'claimed-elsewhere', scheduled: null };
  }

  private async execute(job: RegisteredJob, run: JobRun, lock: LockControl): Promise<RunFinishedEvent> {
    const { clock, telemetry, ledger } = this.dependencies;
    const jobName = job.schedule.jobName;
    const logger = runLogger(this.dependencies.logger, {
      jobName,
      runId: run.runId,
      attempt: run.attempt,
      occurrenceAt: run.occurrenceAt.toISOString(),
    });
    const controller = new AbortController();
    let interruptRun: (error: RunInterruptedError) => void = () => undefined;
    const interrupted = new Promise<HandlerSettlement>((resolve) => {
      interruptRun = (error) => resolve({ kind: 'interrupted', error });
    });
    let leaseTimer: NodeJS.Timeout | undefined;
    let failLease: (error: LeaseExpiredError) => void = () => undefined;
    const leaseLapsed = new Promise<HandlerSettlement>((resolve) => {
      failLease = (error) => resolve({ kind: 'threw', error });
    });
    const armLease = () => {
      clearTimeout(leaseTimer);
      leaseTimer = setTimeout(() => {
        const error = new LeaseExpiredError(
          `job "${jobName}" reported no progress within its lock lifetime of ${job.lockLifetimeMs} ms`,
        );
        controller.abort(error);
        failLease(error);
      }, job.lockLifetimeMs);
    };
    armLease();
    let lastTouchMs = clock.now().getTime();
    const touchEveryMs = Math.max(1, Math.floor(job.lockLifetimeMs / 5));
    const context: JobContext = {
      jobName,
      runId: run.runId,
      occurrenceAt: run.occurrenceAt,
      attempt: run.attempt,
      clock,
      logger,
      signal: controller.signal,
      reportProgress: async (progress) => {
        if (controller.signal.aborted) return;
        armLease();
        const nowMs = clock.now().getTime();
        // Writes at most every lockLifetime/5: a handler may report progress per item.
        if (nowMs - lastTouchMs < touchEveryMs) return;
        lastTouchMs = nowMs;
        await lock.touch(progressPercent(progress));
        const renewed = await ledger.renewLease(run.runId, new Date(nowMs + job.lockLifetimeMs));
        if (!renewed) {
          const error = new LeaseExpiredError(`run ${run.runId} is no longer running in the ledger`);
          controller.abort(error);
          failLease(error);
        }
      },
    };

    let settleActive: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => {
      settleActive = resolve;
    });
    this.activeRuns.set(run.runId, {
      jobName,
      interrupt: (reason) => {
        const error = new RunInterruptedError(reason);
        controller.abort(error);
        interruptRun(error);
      },
      settled,
    });

    try {
      return await telemetry.inRunSpan(
        {
          jobName,
          occurrenceAt: run.occurrenceAt,
          attempt: run.attempt,
          runId: run.runId,
          instance: formatInstance(run.instance),
        },
        async (span) => {
          logger.info('job run started');
          const handler: Promise<HandlerSettlement> = job.definition
            .run(context)
            .then(
              (result): HandlerSettlement => ({ kind: 'returned', result }),
              (error: unknown): HandlerSettlement => ({ kind: 'threw', error }),
            );
          const settlement = await Promise.race([handler, interrupted, leaseLapsed]);
          clearTimeout(leaseTimer);
          return this.record(job, run, settlement, lock, logger, span);
        },
      );
    } finally {
      clearTimeout(leaseTimer);
      this.activeRuns.delete(run.runId);
      settleActive();
    }
  }

  private async record(
    job: RegisteredJob,
    run: JobRun,
    settlement: HandlerSettlement,
    lock: LockControl,
    logger: JobLogger,
    span: Span,
  ): Promise<RunFinishedEvent> {
    const { clock, ledger, telemetry } = this.dependencies;
    const jobName = job.schedule.jobName;
    const finishedAt = clock.now();
    const durationMs = finishedAt.getTime() - run.startedAt.getTime();
    const base = {
      jobName,
      occurrenceAt: run.occurrenceAt,
      attempt: run.attempt,
      runId: run.runId,
      startedAt: run.startedAt,
      durationMs,
      lostClaimReason: null,
    };
    if (settlement.kind === 'returned') {
      const owned = await ledger.finish(run.runId, {
        status: 'succeeded',
        finishedAt,
        result: settlement.result,
      });
      telemetry.recordOutcome(span, 'succeeded', settlement.result, null);
      telemetry.countRun(jobName, 'succeeded', durationMs);
      logger.info('job run succeeded', { durationMs, result: settlement.result });
      const scheduled = owned
        ? await this.scheduleAfterCompletion(job, run.occurrenceAt, run.startedAt)
        : null;
      if (!owned) logger.warn('run was no longer ours when it finished: next occurrence not scheduled');
      return this.finished({
        ...base,
        outcome: 'succeeded',
        error: null,
        result: settlement.result,
        scheduled,
      });
    }
    const error = toJobRunError(settlement.error);
    if (settlement.kind === 'interrupted') {
      await ledger.finish(run.runId, { status: 'interrupted', finishedAt, error });
      await lock.release();
      telemetry.recordOutcome(span, 'interrupted', null, settlement.error);
      telemetry.countRun(jobName, 'interrupted', durationMs);
      logger.warn('job run interrupted', { durationMs, error: error.message });
      return this.finished({ ...base, outcome: 'interrupted', error, result: null, scheduled: null });
    }
    const owned = await ledger.finish(run.runId, { status: 'failed', finishedAt, error });
    telemetry.recordOutcome(span, 'failed', null, settlement.error);
    telemetry.countRun(jobName, 'failed', durationMs);
    logger.error('job run failed', { durationMs, error: error.message });
    const scheduled = owned ? await this.scheduleAfterFailure(job, run, settlement.error) : null;
    return this.finished({ ...base, outcome: 'failed', error, result: null, scheduled });
  }

  private async scheduleAfterFailure(
    job: RegisteredJob,
    run: JobRun,
    cause: unknown,
  ): Promise<ScheduledOccurrence> {
    const { ledger, clock, scheduler } = this.dependencies;
    const runs = await ledger.listOccurrenceRuns(run.jobName, run.occurrenceAt);
    const failedAttempts = Math.max(1, runs.filter((entry) => entry.status === 'failed').length);
    const delayMs = retryDelayMs(
      run.jobName,
      job.retry,
      failedAttempts,
      cause instanceof Error ? cause : new Error(String(cause)),
    );
    if (delayMs === null) {
      // Out of attempts: record the execution so the chain continues from persisted state.
      return this.scheduleAfterCompletion(job, run.occurrenceAt, run.startedAt);
    }
    const retry: ScheduledOccurrence = {
      jobName: run.jobName,
      occurrenceAt: run.occurrenceAt,
      runAt: new Date(clock.now().getTime() + delayMs),
      attempt: run.attempt + 1,
    };
    await scheduler.schedule(retry);
    return retry;
  }

  /**
   * Records the completed occurrence and schedules the next one, unless a newer
   * occurrence was scheduled while this one ran (an operator's trigger, say): then the
   * execution is recorded and the newer occurrence is kept.
   */
  private async scheduleAfterCompletion(
    job: RegisteredJob,
    occurrenceAt: Date,
    executedAt: Date,
    executedBy: InstanceIdentity = this.dependencies.instance,
  ): Promise<ScheduledOccurrence> {
    const { scheduler, service, repository, clock } = this.dependencies;
    const jobName = job.schedule.jobName;
    if (scheduler.scheduleUnlessNewer !== undefined) {
      // The execution first (a crash before the schedule is healed from it at start-up),
      // then the next occurrence in one conditional write: no read in the steady state.
      const execution: RecurringJobExecution = {
        jobName,
        lastExecutedAt: executedAt,
        lastOccurrenceAt: occurrenceAt,
        nextScheduledAt: new Date(executedAt.getTime() + job.schedule.intervalMs),
        lastExecutedBy: executedBy,
      };
      await repository.upsertExecution(execution);
      const next = computeNextOccurrence(job.schedule, execution, clock.now());
      const newer = await scheduler.scheduleUnlessNewer(next, occurrenceAt);
      if (newer === null) return next;
      await repository.upsertExecution({ ...execution, nextScheduledAt: newer.occurrenceAt });
      return newer;
    }
    const pending = await scheduler.getPending(jobName);
    if (pending !== null && pending.occurrenceAt.getTime() > occurrenceAt.getTime()) {
      await repository.upsertExecution({
        jobName,
        lastExecutedAt: executedAt,
        lastOccurrenceAt: occurrenceAt,
        nextScheduledAt: pending.occurrenceAt,
        lastExecutedBy: executedBy,
      });
      return pending;
    }
    return service.recordAndScheduleNext(job.schedule, { occurrenceAt, executedAt });
  }

  private finished(event: RunFinishedEvent): RunFinishedEvent {
    try {
      this.dependencies.onRunFinished?.(event);
    } catch (error) {
      this.dependencies.logger.error('onRunFinished callback threw', {
        error: toJobRunError(error).message,
      });
    }
    return event;
  }
}
