/**
 * The two scheduling operations every replica runs: make sure a job has its pending
 * occurrence (start-up), and complete an occurrence (record it, schedule what follows).
 * Written once, on the contracts only, so the unit tests (in-memory fakes) and
 * production (Agenda, Mongoose) run the same code.
 */
import type { Clock } from './clock.js';
import type { InstanceIdentity } from './instance.js';
import type { MessageScheduler } from './message-scheduler.js';
import { computeNextOccurrence, reconsiderOverdue } from './next-occurrence.js';
import type { ScheduledOccurrence } from './occurrence.js';
import type { RecurringJobExecution } from './recurring-job-repository.js';
import { assertValidTiming, isSameTiming, type JobTiming } from './timing.js';

/** A job as the scheduling operations see it. */
export interface ScheduledJob {
  readonly jobName: string;
  readonly timing: JobTiming;
}

export type EnsureScheduledChange =
  /** The pending occurrence was right: nothing written. */
  | 'kept'
  /** The job had none (first start, or its chain had stopped): one was scheduled. */
  | 'created'
  /** The timing changed (or was unknown): the pending occurrence was replaced by the new one's next slot. */
  | 'rescheduled'
  /** The pending occurrence already matched the timing, which was recorded on it. */
  | 'timing-adopted'
  /** The pending occurrence carries a timing adopted after this replica started: followed, not replaced. */
  | 'timing-deferred';

export interface EnsureScheduledResult {
  readonly pending: ScheduledOccurrence;
  readonly change: EnsureScheduledChange;
}

export interface CompleteOccurrenceInput {
  /** The pending occurrence that was handed over and ran (or was found done). */
  readonly occurrence: ScheduledOccurrence;
  /** The timing to continue on: the occurrence's own, else the job's configured one. */
  readonly timing: JobTiming;
  readonly outcome: 'succeeded' | 'failed';
  /** The attempt number of the run that ended (above the handed one after a takeover). */
  readonly attempt: number;
  /** For a failure: the delay before the next attempt, or null when there is none (a rerun has none). */
  readonly retryDelayMs: number | null;
  /** When the run started: intervals are anchored to it. */
  readonly startedAt: Date;
  readonly executedBy: InstanceIdentity;
}

export interface CompletionResult {
  /** What follows the completed occurrence. */
  readonly next: ScheduledOccurrence;
  /**
   * `advanced`: it became the pending occurrence, handed over (`ReplaceOptions.handOver`:
   * the caller's hold on the completed one is released by that write). `resume-updated`: a
   * rerun was put in front of the completed occurrence while it ran; it now resumes to `next`. `kept`:
   * the pending occurrence had been replaced meanwhile (an operator, a newer
   * completion): it stays.
   */
  readonly applied: 'advanced' | 'resume-updated' | 'kept';
}

export interface RecurringJobService {
  /**
   * Makes sure the job has its one pending occurrence. Idempotent: ten start-ups leave
   * one pending occurrence, and a pending occurrence on the same timing is kept as it is
   * (a retry, an operator's run, its attempt count). A changed timing replaces it with
   * the new timing's next slot, unless the pending occurrence's timing was adopted
   * after `replicaStartedAt` (a newer deployment's): that one is followed.
   */
  ensureScheduled(job: ScheduledJob, replicaStartedAt: Date): Promise<EnsureScheduledResult>;
  /**
   * Completes an occurrence: a failure with a retry left schedules the next attempt;
   * otherwise the execution is recorded (not for reruns, which never move the chain) and
   * the next occurrence is scheduled, replacing the completed one only if it is still
   * the pending one.
   */
  completeOccurrence(input: CompleteOccurrenceInput): Promise<CompletionResult>;
  /**
   * Applies the misfire policy to a regular occurrence handed over late (see
   * `reconsiderOverdue`): null when it runs as it is; else the occurrence that replaced
   * it, written only if it is still the pending one (whatever is pending is returned).
   */
  applyMisfire(occurrence: ScheduledOccurrence, timing: JobTiming): Promise<ScheduledOccurrence | null>;
}

export interface DefaultRecurringJobServiceOptions {
  /** The pending occurrences and the execution records. */
  readonly scheduler: MessageScheduler;
  readonly clock: Clock;
}

/** How often a compare-and-set at start-up is retried when a concurrent writer won. */
const maxStartUpRounds = 5;

export class DefaultRecurringJobService implements RecurringJobService {
  private readonly scheduler: MessageScheduler;
  private readonly clock: Clock;

  constructor(options: DefaultRecurringJobServiceOptions) {
    this.scheduler = options.scheduler;
    this.clock = options.clock;
  }

  async ensureScheduled(job: ScheduledJob, replicaStartedAt: Date): Promise<EnsureScheduledResult> {
    assertValidTiming(job.jobName, job.timing);
    for (let round = 1; ; round += 1) {
      // Pending first, then the execution: if another instance records a completion in
      // between, we compute from the newer execution and agree with what it scheduled.
      const pending = await this.scheduler.getPending(job.jobName);
      const lastExecution = await this.scheduler.getLastExecution(job.jobName);
      const now = this.clock.now();
      const adopted: JobTiming = { ...job.timing, since: now };
      if (pending === null) {
        const created = computeNextOccurrence(job.jobName, adopted, lastExecution, now);
        await this.scheduler.schedule(created);
        return { pending: created, change: 'created' };
      }
      const pendingTiming = pending.timing ?? null;
      if (pendingTiming !== null && isSameTiming(pendingTiming, job.timing)) return { pending, change: 'kept' };
      if (
        pendingTiming?.since !== undefined &&
        pendingTiming.since.getTime() > replicaStartedAt.getTime()
      ) {
        return { pending, change: 'timing-deferred' };
      }
      const next = computeNextOccurrence(job.jobName, adopted, lastExecution, now);
      const replacement = replacementOnTimingChange(pending, next, adopted, pendingTiming === null);
      if (await this.scheduler.replaceIfCurrent(pending, replacement)) {
        return {
          pending: replacement,
          change: replacement.occurrenceAt.getTime() === pending.occurrenceAt.getTime() &&
            replacement.attempt === pending.attempt
            ? 'timing-adopted'
            : 'rescheduled',
        };
      }
      if (round >= maxStartUpRounds) {
        throw new Error(
          `job "${job.jobName}": the pending occurrence kept changing during start-up (${maxStartUpRounds} rounds)`,
        );
      }
    }
  }

  async completeOccurrence(input: CompleteOccurrenceInput): Promise<CompletionResult> {
    const { occurrence, timing } = input;
    const jobName = occurrence.jobName;
    const now = this.clock.now();
    if (occurrence.cause === 'rerun') {
      // A rerun repairs an old occurrence: the chain continues where it was, unrecorded.
      // It has one attempt (a retry would lose where to resume): a retry delay is ignored.
      const resume = occurrence.resume ?? null;
      const next: ScheduledOccurrence =
        resume === null
          ? computeNextOccurrence(jobName, timing, await this.scheduler.getLastExecution(jobName), now)
          : { jobName, ...resume, requestedBy: null, resume: null, timing };
      return { next, applied: await this.advance(occurrence, next) };
    }
    if (input.outcome === 'failed' && input.retryDelayMs !== null) {
      const retry: ScheduledOccurrence = {
        jobName,
        occurrenceAt: occurrence.occurrenceAt,
        runAt: new Date(now.getTime() + input.retryDelayMs),
        attempt: input.attempt + 1,
        cause: 'retry',
        requestedBy: null,
        resume: occurrence.resume ?? null,
        timing,
      };
      return { next: retry, applied: await this.advance(occurrence, retry) };
    }
    const completed: RecurringJobExecution = {
      jobName,
      lastExecutedAt: input.startedAt,
      lastOccurrenceAt: occurrence.occurrenceAt,
      nextScheduledAt: null,
      lastExecutedBy: input.executedBy,
    };
    const next = computeNextOccurrence(jobName, timing, completed, now);
    const record: RecurringJobExecution = { ...completed, nextScheduledAt: next.occurrenceAt };
    const applied = await this.advance(occurrence, next, record);
    // Neither write was made: the pending occurrence was replaced meanwhile (the record is
    // then stored alone), or a later occurrence's record is stored (a stale completion):
    // what follows is computed from that record.
    if (applied !== 'kept' || (await this.scheduler.upsertExecution(record))) return { next, applied };
    const after = computeNextOccurrence(jobName, timing, await this.scheduler.getLastExecution(jobName), now);
    return { next: after, applied: await this.advance(occurrence, after) };
  }

  async applyMisfire(occurrence: ScheduledOccurrence, timing: JobTiming): Promise<ScheduledOccurrence | null> {
    const replacement = reconsiderOverdue(occurrence, timing, this.clock.now());
    if (replacement === null) return null;
    if (await this.scheduler.replaceIfCurrent(occurrence, replacement)) return replacement;
    return (await this.scheduler.getPending(occurrence.jobName)) ?? replacement;
  }

  /**
   * Makes `next` follow `completed`, with the completed occurrence's record in the same
   * write (one write per completion). When no write is made the record is not written.
   */
  private async advance(
    completed: ScheduledOccurrence,
    next: ScheduledOccurrence,
    record?: RecurringJobExecution,
  ): Promise<CompletionResult['applied']> {
    const withRecord = record === undefined ? {} : { record };
    // The caller ran `completed`: the next one is free for any instance at once.
    if (await this.scheduler.replaceIfCurrent(completed, next, { handOver: true, ...withRecord })) return 'advanced';
    const resume = { occurrenceAt: next.occurrenceAt, runAt: next.runAt, attempt: next.attempt, cause: next.cause };
    if (await this.scheduler.replaceResumeIfCurrent(completed.jobName, completed, resume, withRecord)) {
      return 'resume-updated';
    }
    return 'kept';
  }
}

/**
 * What replaces a pending occurrence when the timing changed. A regular occurrence of
 * the old timing gives way to the new timing's next one. A retry, an operator's run or
 * a rerun stays pending, with the new timing (a rerun then resumes to the new chain),
 * and so does an occurrence of unknown timing (written before timings were recorded)
 * that already is the new timing's next one.
 */
function replacementOnTimingChange(
  pending: ScheduledOccurrence,
  next: ScheduledOccurrence,
  timing: JobTiming,
  timingWasUnknown: boolean,
): ScheduledOccurrence {
  const sameIdentity = pending.occurrenceAt.getTime() === next.occurrenceAt.getTime();
  if (pending.cause === 'schedule' || pending.cause === 'catch-up') {
    return timingWasUnknown && sameIdentity ? { ...pending, timing } : next;
  }
  const resume =
    pending.cause === 'rerun'
      ? { occurrenceAt: next.occurrenceAt, runAt: next.runAt, attempt: next.attempt, cause: next.cause }
      : (pending.resume ?? null);
  return { ...pending, resume, timing };
}
