import type { Clock } from './clock.js';
import { currentInstance, type InstanceIdentity } from './instance.js';
import type { MisfirePolicy } from './job.js';
import type { MessageScheduler } from './message-scheduler.js';
import type { ScheduledOccurrence } from './occurrence.js';
import type { RecurringJobExecution, RecurringJobRepository } from './recurring-job-repository.js';

/** The schedule of a recurring job, as data. */
export interface RecurringJobSchedule {
  readonly jobName: string;
  readonly intervalMs: number;
  readonly misfirePolicy?: MisfirePolicy;
}

export interface RecordExecutionInput {
  /** The slot of the occurrence that completed. */
  readonly occurrenceAt: Date;
  /** When its run started. The next slot is `executedAt + interval`. */
  readonly executedAt: Date;
}

/** Orchestrates scheduling from persisted state and recording of completed occurrences. */
export interface RecurringJobService {
  /**
   * Makes sure the job has its one pending occurrence, computed from the persisted last
   * execution. Idempotent: ten start-ups leave one pending occurrence. A pending
   * occurrence with the computed identity is kept as is (its attempt count included).
   */
  ensureScheduled(schedule: RecurringJobSchedule): Promise<ScheduledOccurrence>;
  /**
   * Persists the completed occurrence (last executed at, next scheduled at, this
   * instance) and schedules the next one. Only the owner of the run may call it.
   */
  recordAndScheduleNext(
    schedule: RecurringJobSchedule,
    input: RecordExecutionInput,
  ): Promise<ScheduledOccurrence>;
}

/** Checks a schedule; throws an error naming the bad field. */
export function assertValidSchedule(schedule: RecurringJobSchedule): void {
  if (typeof schedule.jobName !== 'string' || schedule.jobName.trim() === '') {
    throw new TypeError('schedule.jobName must be a non-empty string');
  }
  if (!Number.isSafeInteger(schedule.intervalMs) || schedule.intervalMs <= 0) {
    throw new RangeError(
      `schedule.intervalMs of job "${schedule.jobName}" must be a positive integer (milliseconds), got ${String(schedule.intervalMs)}`,
    );
  }
  const policy = schedule.misfirePolicy;
  if (policy !== undefined && policy !== 'once' && policy !== 'skip') {
    throw new TypeError(
      `schedule.misfirePolicy of job "${schedule.jobName}" must be "once" or "skip", got ${String(policy)}`,
    );
  }
}

/**
 * The next occurrence of a job, a pure function of the persisted last execution and now:
 *
 * - never executed: the first-run slot, the start of the current interval window
 *   (aligned to the Unix epoch, so instances starting together compute the same
 *   identity), due now;
 * - executed, next slot in the future: `lastExecutedAt + interval`, due then;
 * - executed, overdue, policy `once`: identity is the missed slot, due now (one run,
 *   however many slots were missed);
 * - executed, overdue, policy `skip`: the first slot after now on the same grid, due then.
 */
export function computeNextOccurrence(
  schedule: RecurringJobSchedule,
  lastExecution: RecurringJobExecution | null,
  now: Date,
): ScheduledOccurrence {
  assertValidSchedule(schedule);
  const nowMs = now.getTime();
  const { jobName, intervalMs } = schedule;
  if (lastExecution === null) {
    const firstSlotMs = Math.floor(nowMs / intervalMs) * intervalMs;
    return { jobName, occurrenceAt: new Date(firstSlotMs), runAt: now, attempt: 1 };
  }
  const nextSlotMs = lastExecution.lastExecutedAt.getTime() + intervalMs;
  if (nextSlotMs > nowMs) {
    const slot = new Date(nextSlotMs);
    return { jobName, occurrenceAt: slot, runAt: slot, attempt: 1 };
  }
  if ((schedule.misfirePolicy ?? 'once') === 'skip') {
    const missedSlots = Math.floor((nowMs - nextSlotMs) / intervalMs) + 1;
    const slot = new Date(nextSlotMs + missedSlots * intervalMs);
    return { jobName, occurrenceAt: slot, runAt: slot, attempt: 1 };
  }
  return { jobName, occurrenceAt: new Date(nextSlotMs), runAt: now, attempt: 1 };
}

export interface DefaultRecurringJobServiceOptions {
  readonly repository: RecurringJobRepository;
  readonly scheduler: MessageScheduler;
  readonly clock: Clock;
  /** Recorded as `lastExecutedBy`; defaults to this process. */
  readonly instance?: InstanceIdentity;
}

/** The implementation of {@link RecurringJobService}; depends on the contracts only. */
export class DefaultRecurringJobService implements RecurringJobService {
  private readonly repository: RecurringJobRepository;
  private readonly scheduler: MessageScheduler;
  private readonly clock: Clock;
  private readonly instance: InstanceIdentity;

  constructor(options: DefaultRecurringJobServiceOptions) {
    this.repository = options.repository;
    this.scheduler = options.scheduler;
    this.clock = options.clock;
    this.instance = options.instance ?? currentInstance();
  }

  async ensureScheduled(schedule: RecurringJobSchedule): Promise<ScheduledOccurrence> {
    assertValidSchedule(schedule);
    // Pending first, then the execution: if another instance records a completion in
    // between, we compute from the newer execution and agree with what it scheduled.
    const pending = await this.scheduler.getPending(schedule.jobName);
    const lastExecution = await this.repository.getLastExecution(schedule.jobName);
    if (pending !== null && lastExecution === null) {
      // First run already pending (maybe running now): another start-up must not move it.
      return pending;
    }
    const next = computeNextOccurrence(schedule, lastExecution, this.clock.now());
    if (pending !== null && pending.occurrenceAt.getTime() === next.occurrenceAt.getTime()) {
      return pending;
    }
    await this.scheduler.schedule(next);
    return next;
  }

  async recordAndScheduleNext(
    schedule: RecurringJobSchedule,
    input: RecordExecutionInput,
  ): Promise<ScheduledOccurrence> {
    assertValidSchedule(schedule);
    const nextSlot = new Date(input.executedAt.getTime() + schedule.intervalMs);
    const execution: RecurringJobExecution = {
      jobName: schedule.jobName,
      lastExecutedAt: input.executedAt,
      lastOccurrenceAt: input.occurrenceAt,
      nextScheduledAt: nextSlot,
      lastExecutedBy: this.instance,
    };
    await this.repository.upsertExecution(execution);
    const next = computeNextOccurrence(schedule, execution, this.clock.now());
    await this.scheduler.schedule(next);
    return next;
  }
}
