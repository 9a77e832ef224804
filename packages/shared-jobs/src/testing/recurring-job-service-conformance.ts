/**
 * The `RecurringJobService` suite: the scheduling operations (start-up, completing an
 * occurrence, misfires) run by `DefaultRecurringJobService`, the one implementation, on
 * the `MessageScheduler` under test. The unit tests (the in-memory fake) and production (the
 * Agenda adapter) run the same code; this suite runs it on each.
 */
import { describe, expect, it } from 'vitest';
import type { MessageScheduler, RecordOptions, ReplaceOptions } from '../message-scheduler.js';
import type { OccurrenceRef, ResumePoint, ScheduledOccurrence } from '../occurrence.js';
import type { RecurringJobExecution } from '../recurring-job-repository.js';
import { DefaultRecurringJobService, type CompleteOccurrenceInput } from '../recurring-job-service.js';
import type { JobTiming } from '../timing.js';
import { withHarness, type MessageSchedulerHarness } from './conformance.js';
import { FakeClock } from './fake-clock.js';

const minute = 60_000;
const hour = 60 * minute;
const start = new Date('2026-05-10T08:30:00.000Z');
const jobName = 'RefreshTokenCleanupJob';
const hourly: JobTiming = { schedule: { kind: 'interval', everyMs: hour }, misfire: { kind: 'once' } };
const quarterly: JobTiming = {
  schedule: { kind: 'cron', expression: '*/15 * * * *', timeZone: 'UTC' },
  misfire: { kind: 'once' },
};
const worker = { hostName: 'worker-1', processId: 4242 };
const otherWorker = { hostName: 'worker-2', processId: 4343 };

const at = (offsetMs: number) => new Date(start.getTime() + offsetMs);

function executionAt(lastExecutedAt: Date, lastOccurrenceAt = lastExecutedAt): RecurringJobExecution {
  return { jobName, lastExecutedAt, lastOccurrenceAt, nextScheduledAt: null, lastExecutedBy: worker };
}

function occurrence(overrides: Partial<ScheduledOccurrence> = {}): ScheduledOccurrence {
  return {
    jobName,
    occurrenceAt: start,
    runAt: start,
    attempt: 1,
    cause: 'schedule',
    requestedBy: null,
    resume: null,
    timing: { ...hourly, since: new Date(0) },
    ...overrides,
  };
}

/** A rerun of yesterday's occurrence put in front of `resume`. */
function rerunBefore(resume: ResumePoint | null): ScheduledOccurrence {
  return occurrence({
    occurrenceAt: new Date('2026-05-09T00:00:00Z'),
    attempt: 3,
    cause: 'rerun',
    requestedBy: 'console:alice',
    resume,
  });
}

const resumePointOf = ({ occurrenceAt, runAt, attempt, cause }: ScheduledOccurrence): ResumePoint => ({
  occurrenceAt,
  runAt,
  attempt,
  cause,
});

function completion(handed: ScheduledOccurrence, overrides: Partial<CompleteOccurrenceInput> = {}): CompleteOccurrenceInput {
  return {
    occurrence: handed,
    timing: handed.timing ?? hourly,
    outcome: 'succeeded',
    attempt: handed.attempt,
    retryDelayMs: null,
    startedAt: handed.runAt,
    executedBy: worker,
    ...overrides,
  };
}

const withoutSince = (value: ScheduledOccurrence | null) =>
  value?.timing === null || value?.timing === undefined
    ? value
    : { ...value, timing: { schedule: value.timing.schedule, misfire: value.timing.misfire } };

const flag = (value: boolean) => (value ? 'yes' : 'no');

/** Delegates to a scheduler and notes every write the service asks for, with its answer. */
class WriteRecorder implements MessageScheduler {
  constructor(
    private readonly inner: MessageScheduler,
    private readonly writes: string[],
  ) {}

  async schedule(occurrence: ScheduledOccurrence): Promise<void> {
    await this.inner.schedule(occurrence);
    this.writes.push('schedule');
  }

  getPending(name: string): Promise<ScheduledOccurrence | null> {
    return this.inner.getPending(name);
  }

  async cancel(name: string): Promise<boolean> {
    return this.note('cancel', await this.inner.cancel(name));
  }

  async replaceIfCurrent(expected: OccurrenceRef, next: ScheduledOccurrence, options?: ReplaceOptions): Promise<boolean> {
    const call = `replaceIfCurrent handOver=${flag(options?.handOver === true)} record=${flag(options?.record !== undefined)}`;
    return this.note(call, await this.inner.replaceIfCurrent(expected, next, options));
  }

  async replaceResumeIfCurrent(
    name: string,
    expected: OccurrenceRef,
    next: ResumePoint,
    options?: RecordOptions,
  ): Promise<boolean> {
    const call = `replaceResumeIfCurrent record=${flag(options?.record !== undefined)}`;
    return this.note(call, await this.inner.replaceResumeIfCurrent(name, expected, next, options));
  }

  getLastExecution(name: string): Promise<RecurringJobExecution | null> {
    return this.inner.getLastExecution(name);
  }

  async upsertExecution(execution: RecurringJobExecution): Promise<boolean> {
    return this.note('upsertExecution', await this.inner.upsertExecution(execution));
  }

  listExecutions(): Promise<RecurringJobExecution[]> {
    return this.inner.listExecutions();
  }

  private note(call: string, written: boolean): boolean {
    this.writes.push(`${call}: ${String(written)}`);
    return written;
  }
}

/**
 * Registers the `RecurringJobService` suite: `DefaultRecurringJobService` on the schedulers
 * of `setup` (each replica on its own `createInstance()`, one store), with a fake clock
 * the suite moves (the scheduler must not depend on the wall clock for these operations).
 */
export function describeRecurringJobServiceConformance(
  implementationName: string,
  setup: () => Promise<MessageSchedulerHarness>,
): void {
  describe(`RecurringJobService conformance: ${implementationName}`, () => {
    const currentHarness = withHarness(setup);

    /**
     * One test's world: `store` (a scheduler to arrange and inspect with, unrecorded) and
     * `replica()` (a service on its own scheduler instance; its writes go to `writes`).
     */
    const arrange = async (clock = new FakeClock(start)) => {
      const harness = currentHarness();
      const store = await harness.createInstance();
      const writes: string[] = [];
      const replica = async () =>
        new DefaultRecurringJobService({ scheduler: new WriteRecorder(await harness.createInstance(), writes), clock });
      return { harness, store, writes, clock, replica, service: await replica() };
    };

    describe('ensureScheduled', () => {
      it('schedules a job never executed, recording its timing and when it was adopted', async () => {
        const { service, store, harness } = await arrange();
        const result = await service.ensureScheduled({ jobName, timing: hourly }, start);
        expect(result.change).toBe('created');
        expect(result.pending.runAt).toEqual(start);
        expect(result.pending.timing).toEqual({ ...hourly, since: start });
        expect(await store.getPending(jobName)).toEqual(result.pending);
        expect(await harness.countPendingRecords(jobName)).toBe(1);
      });

      it('schedules an executed job at its last start + interval', async () => {
        const { service, store } = await arrange();
        const lastStart = at(-20 * minute);
        await store.upsertExecution(executionAt(lastStart));
        await service.ensureScheduled({ jobName, timing: hourly }, start);
        expect((await store.getPending(jobName))?.runAt).toEqual(new Date(lastStart.getTime() + hour));
      });

      it('leaves one pending occurrence after ten start-ups on separate instances, and does not move it', async () => {
        const { service, store, harness, writes, clock, replica } = await arrange();
        const first = await service.ensureScheduled({ jobName, timing: hourly }, start);
        for (let startUp = 0; startUp < 9; startUp += 1) {
          clock.advance(7 * minute);
          const result = await (await replica()).ensureScheduled({ jobName, timing: hourly }, clock.now());
          expect(result.change).toBe('kept');
        }
        expect(await store.getPending(jobName)).toEqual(first.pending);
        expect(await harness.countPendingRecords(jobName)).toBe(1);
        expect(writes).toEqual(['schedule']);
      });

      it('keeps a pending retry, run now or rerun on the same timing as it is', async () => {
        const { service, store, writes } = await arrange();
        for (const cause of ['retry', 'trigger', 'rerun'] as const) {
          const pending = occurrence({
            jobName: `${jobName}-${cause}`,
            cause,
            attempt: cause === 'retry' ? 3 : 1,
            requestedBy: cause === 'retry' ? null : 'cli:ops',
          });
          await store.schedule(pending);
          const result = await service.ensureScheduled({ jobName: pending.jobName, timing: hourly }, start);
          expect(result).toEqual({ pending, change: 'kept' });
          expect(await store.getPending(pending.jobName)).toEqual(pending);
        }
        expect(writes).toEqual([]);
      });

      it('replaces the pending occurrence of a changed schedule by the new schedule next slot', async () => {
        const { service, store, clock } = await arrange();
        await store.upsertExecution(executionAt(at(-10 * minute)));
        await store.schedule(occurrence({ occurrenceAt: at(50 * minute), runAt: at(50 * minute) }));
        clock.advance(minute);
        const result = await service.ensureScheduled({ jobName, timing: quarterly }, clock.now());
        expect(result.change).toBe('rescheduled');
        expect(result.pending.occurrenceAt).toEqual(new Date('2026-05-10T08:30:00.000Z'));
        expect(result.pending.timing).toEqual({ ...quarterly, since: clock.now() });
        expect(await store.getPending(jobName)).toEqual(result.pending);
      });

      it('keeps a retry pending across a schedule change, on the new timing', async () => {
        const { service, store } = await arrange();
        const retry = occurrence({ cause: 'retry', attempt: 2, runAt: at(minute) });
        await store.schedule(retry);
        const result = await service.ensureScheduled({ jobName, timing: quarterly }, start);
        expect(result.change).toBe('timing-adopted');
        expect(withoutSince(result.pending)).toEqual({ ...retry, timing: quarterly });
        expect(await store.getPending(jobName)).toEqual(result.pending);
      });

      it('points a pending rerun to the new schedule when the schedule changed', async () => {
        const { service, store } = await arrange();
        await store.upsertExecution(executionAt(new Date('2026-05-10T08:20:00Z')));
        const nextHourly = new Date('2026-05-10T09:20:00Z');
        const rerun = rerunBefore({ occurrenceAt: nextHourly, runAt: nextHourly, attempt: 1, cause: 'schedule' });
        await store.schedule(rerun);
        const result = await service.ensureScheduled({ jobName, timing: quarterly }, start);
        expect(result.pending).toMatchObject({ cause: 'rerun', occurrenceAt: rerun.occurrenceAt, attempt: 3 });
        expect(result.pending.resume?.occurrenceAt).toEqual(new Date('2026-05-10T08:30:00Z'));
        expect(await store.getPending(jobName)).toEqual(result.pending);
      });

      it('follows a timing adopted after this replica started instead of switching it back', async () => {
        const { service, store, clock, writes } = await arrange();
        const replicaStartedAt = start;
        clock.advance(5 * minute);
        const newer = occurrence({ timing: { ...quarterly, since: clock.now() } });
        await store.schedule(newer);
        const result = await service.ensureScheduled({ jobName, timing: hourly }, replicaStartedAt);
        expect(result).toEqual({ pending: newer, change: 'timing-deferred' });
        expect(await store.getPending(jobName)).toEqual(newer);
        expect(writes).toEqual([]);
      });

      it('an old replica restarted after the switch switches it back once; the newer replicas follow it', async () => {
        const { service, store, clock, replica } = await arrange();
        const oldReplicaStartedAt = start;
        await service.ensureScheduled({ jobName, timing: hourly }, oldReplicaStartedAt);
        clock.advance(minute);
        const newReplicaStartedAt = clock.now();
        const newReplica = await replica();
        const switched = await newReplica.ensureScheduled({ jobName, timing: quarterly }, newReplicaStartedAt);
        expect(switched.change).toBe('rescheduled');
        // An old replica that crashes during the rollout and comes back is the newest start: it cannot
        // be told apart from the first replica of a rollback, so it switches the job back, once.
        clock.advance(minute);
        const restartedOld = await replica();
        const back = await restartedOld.ensureScheduled({ jobName, timing: hourly }, clock.now());
        expect(back.change).toBe('rescheduled');
        expect(back.pending.timing).toEqual({ ...hourly, since: clock.now() });
        // The newer replicas, started before that, follow it from then on: no flapping.
        for (let round = 0; round < 3; round += 1) {
          clock.advance(minute);
          expect((await newReplica.ensureScheduled({ jobName, timing: quarterly }, newReplicaStartedAt)).change).toBe('timing-deferred');
          expect((await restartedOld.ensureScheduled({ jobName, timing: hourly }, clock.now())).change).toBe('kept');
        }
        expect(await store.getPending(jobName)).toEqual(back.pending);
        // One newer replica restarting switches it forward, once.
        const restartedNew = await replica();
        expect((await restartedNew.ensureScheduled({ jobName, timing: quarterly }, clock.now())).change).toBe('rescheduled');
        expect((await store.getPending(jobName))?.timing).toEqual({ ...quarterly, since: clock.now() });
      });

      it('adopts the configured timing on an occurrence written before timings were recorded', async () => {
        const { service, store } = await arrange();
        const lastStart = at(-10 * minute);
        await store.upsertExecution(executionAt(lastStart));
        const nextSlot = new Date(lastStart.getTime() + hour);
        const legacy = occurrence({ occurrenceAt: nextSlot, runAt: nextSlot, timing: null });
        await store.schedule(legacy);
        const result = await service.ensureScheduled({ jobName, timing: hourly }, start);
        expect(result.change).toBe('timing-adopted');
        expect(result.pending).toEqual({ ...legacy, timing: { ...hourly, since: start } });
        expect(await store.getPending(jobName)).toEqual(result.pending);
      });

      it('lets one of three replicas adopting a changed schedule at once reschedule, the others keep its occurrence', async () => {
        const { store, harness, replica } = await arrange();
        await store.upsertExecution(executionAt(at(-10 * minute)));
        await store.schedule(occurrence({ occurrenceAt: at(50 * minute), runAt: at(50 * minute) }));
        const replicas = await Promise.all([0, 1, 2].map(() => replica()));
        const results = await Promise.all(
          replicas.map((service) => service.ensureScheduled({ jobName, timing: quarterly }, start)),
        );
        expect(results.map((result) => result.change).sort()).toEqual(['kept', 'kept', 'rescheduled']);
        const pending = await store.getPending(jobName);
        expect(pending?.occurrenceAt).toEqual(new Date('2026-05-10T08:30:00.000Z'));
        for (const result of results) expect(result.pending).toEqual(pending);
        expect(await harness.countPendingRecords(jobName)).toBe(1);
      });
    });

    describe('completeOccurrence', () => {
      it('records the execution and advances to the next occurrence: interval, from the start of the run', async () => {
        const { service, store, clock } = await arrange();
        const handed = occurrence();
        await store.schedule(handed);
        const startedAt = at(2000);
        clock.set(at(10_000));
        const result = await service.completeOccurrence(completion(handed, { startedAt }));
        const nextSlot = new Date(startedAt.getTime() + hour);
        expect(result.applied).toBe('advanced');
        expect(result.next).toMatchObject({ occurrenceAt: nextSlot, runAt: nextSlot, attempt: 1, cause: 'schedule' });
        expect(await store.getPending(jobName)).toEqual(result.next);
        expect(await store.getLastExecution(jobName)).toEqual({
          jobName,
          lastExecutedAt: startedAt,
          lastOccurrenceAt: start,
          nextScheduledAt: nextSlot,
          lastExecutedBy: worker,
        });
      });

      it('records the execution and advances to the next occurrence: cron, the slot after the completed one', async () => {
        const { service, store, clock } = await arrange();
        const handed = occurrence({ timing: { ...quarterly, since: new Date(0) } });
        await store.schedule(handed);
        clock.set(at(3 * minute));
        const result = await service.completeOccurrence(completion(handed, { startedAt: at(1000) }));
        const nextSlot = new Date('2026-05-10T08:45:00.000Z');
        expect(result).toEqual({
          applied: 'advanced',
          next: { ...occurrence({ occurrenceAt: nextSlot, runAt: nextSlot }), timing: handed.timing },
        });
        expect(await store.getPending(jobName)).toEqual(result.next);
        expect(await store.getLastExecution(jobName)).toEqual({
          jobName,
          lastExecutedAt: at(1000),
          lastOccurrenceAt: start,
          nextScheduledAt: nextSlot,
          lastExecutedBy: worker,
        });
      });

      it('hands the next occurrence and a retry over in one write each, the record in the same write', async () => {
        const { service, store, writes } = await arrange();
        const handed = occurrence();
        await store.schedule(handed);
        const retry = await service.completeOccurrence(completion(handed, { outcome: 'failed', retryDelayMs: 1000 }));
        await service.completeOccurrence(completion(retry.next));
        expect(writes).toEqual([
          'replaceIfCurrent handOver=yes record=no: true',
          'replaceIfCurrent handOver=yes record=yes: true',
        ]);
        expect(await store.getLastExecution(jobName)).toMatchObject({ lastOccurrenceAt: start });
        // Start-up's replacement is not a completion: a run in flight keeps its hold.
        await service.ensureScheduled({ jobName, timing: quarterly }, start);
        expect(writes.at(-1)).toBe('replaceIfCurrent handOver=no record=no: true');
      });

      it('schedules the retry of a failure with attempts left, without recording an execution', async () => {
        const { service, store } = await arrange();
        const handed = occurrence();
        await store.schedule(handed);
        const result = await service.completeOccurrence(
          completion(handed, { outcome: 'failed', retryDelayMs: 30_000, attempt: 2 }),
        );
        expect(result.applied).toBe('advanced');
        expect(result.next).toMatchObject({ occurrenceAt: start, attempt: 3, cause: 'retry', runAt: at(30_000) });
        expect(await store.getPending(jobName)).toEqual(result.next);
        expect(await store.getLastExecution(jobName)).toBeNull();
      });

      it('leaves an operator run written during a failed run pending instead of its retry', async () => {
        const { service, store } = await arrange();
        const handed = occurrence();
        const trigger = occurrence({ occurrenceAt: at(5000), runAt: at(5000), cause: 'trigger', requestedBy: 'cli:ops' });
        await store.schedule(trigger);
        const result = await service.completeOccurrence(completion(handed, { outcome: 'failed', retryDelayMs: 30_000 }));
        expect(result.applied).toBe('kept');
        expect(await store.getPending(jobName)).toEqual(trigger);
        expect(await store.getLastExecution(jobName)).toBeNull();
      });

      it('moves on to the next occurrence after the last attempt failed, recording it', async () => {
        const { service, store } = await arrange();
        const handed = occurrence({ attempt: 3, cause: 'retry' });
        await store.schedule(handed);
        const result = await service.completeOccurrence(completion(handed, { outcome: 'failed' }));
        expect(result.applied).toBe('advanced');
        expect(result.next).toMatchObject({ occurrenceAt: at(hour), cause: 'schedule', attempt: 1 });
        expect(await store.getPending(jobName)).toEqual(result.next);
        expect((await store.getLastExecution(jobName))?.lastOccurrenceAt).toEqual(start);
      });

      it('keeps a newer pending occurrence (an operator run during the run) and still records', async () => {
        const { service, store, clock } = await arrange();
        const handed = occurrence();
        const trigger = occurrence({ occurrenceAt: at(5000), runAt: at(5000), cause: 'trigger', requestedBy: 'cli:ops' });
        await store.schedule(trigger);
        clock.advance(10_000);
        const result = await service.completeOccurrence(completion(handed));
        expect(result.applied).toBe('kept');
        expect(await store.getPending(jobName)).toEqual(trigger);
        expect(await store.getLastExecution(jobName)).toMatchObject({ lastOccurrenceAt: start, lastExecutedBy: worker });
      });

      it('keeps a newer pending occurrence and the record of a later occurrence when both moved on', async () => {
        const { service, store } = await arrange();
        const later = executionAt(at(2 * hour));
        await store.upsertExecution(later);
        const trigger = occurrence({ occurrenceAt: at(3 * hour), runAt: at(3 * hour), cause: 'trigger', requestedBy: 'cli:ops' });
        await store.schedule(trigger);
        const result = await service.completeOccurrence(completion(occurrence()));
        expect(result.applied).toBe('kept');
        expect(await store.getPending(jobName)).toEqual(trigger);
        expect(await store.getLastExecution(jobName)).toEqual(later);
      });

      it('makes a rerun put in front of a running occurrence resume to what follows it, recording the run', async () => {
        const { service, store } = await arrange();
        const running = occurrence();
        const rerun = rerunBefore(resumePointOf(running));
        await store.schedule(rerun);
        const result = await service.completeOccurrence(completion(running));
        expect(result.applied).toBe('resume-updated');
        expect(result.next).toMatchObject({ occurrenceAt: at(hour), cause: 'schedule' });
        expect(await store.getPending(jobName)).toEqual({ ...rerun, resume: resumePointOf(result.next) });
        expect(await store.getLastExecution(jobName)).toMatchObject({ lastOccurrenceAt: start, nextScheduledAt: at(hour) });
      });

      it('continues the chain where it was after a rerun, without moving the execution record', async () => {
        const { service, store } = await arrange();
        const record = executionAt(at(-70 * minute));
        await store.upsertExecution(record);
        // The rerun was put in front of a pending retry: that retry comes back, as it was.
        const resume: ResumePoint = { occurrenceAt: at(-10 * minute), runAt: at(5 * minute), attempt: 2, cause: 'retry' };
        const rerun = rerunBefore(resume);
        for (const outcome of ['succeeded', 'failed'] as const) {
          await store.schedule(rerun);
          const result = await service.completeOccurrence(completion(rerun, { outcome, retryDelayMs: null }));
          expect(result).toEqual({
            applied: 'advanced',
            next: { jobName, ...resume, requestedBy: null, resume: null, timing: rerun.timing },
          });
          expect(await store.getPending(jobName)).toEqual(result.next);
          expect(await store.getLastExecution(jobName)).toEqual(record);
        }
      });

      it('continues a rerun that remembers no occurrence from the execution record', async () => {
        const { service, store } = await arrange();
        const record = executionAt(at(-10 * minute));
        await store.upsertExecution(record);
        const rerun = rerunBefore(null);
        await store.schedule(rerun);
        const result = await service.completeOccurrence(completion(rerun));
        expect(result.applied).toBe('advanced');
        expect(result.next).toMatchObject({ occurrenceAt: at(50 * minute), cause: 'schedule', resume: null });
        expect(await store.getPending(jobName)).toEqual(result.next);
        expect(await store.getLastExecution(jobName)).toEqual(record);
      });

      it('gives a failed rerun no retry, even with a retry delay: the remembered occurrence is pending again', async () => {
        const { service, store } = await arrange();
        const resumeAt = at(50 * minute);
        const rerun = rerunBefore({ occurrenceAt: resumeAt, runAt: resumeAt, attempt: 1, cause: 'schedule' });
        await store.schedule(rerun);
        const result = await service.completeOccurrence(completion(rerun, { outcome: 'failed', retryDelayMs: 1000 }));
        expect(result.applied).toBe('advanced');
        expect(result.next).toMatchObject({ occurrenceAt: resumeAt, runAt: resumeAt, attempt: 1, cause: 'schedule', resume: null });
        expect(await store.getPending(jobName)).toEqual(result.next);
        expect(await store.getLastExecution(jobName)).toBeNull();
      });

      it('gives a healing replica and the run owner the same next occurrence, in either order', async () => {
        const { service, store, replica } = await arrange();
        const handed = occurrence();
        await store.schedule(handed);
        const owner = await service.completeOccurrence(completion(handed));
        const healer = await (await replica()).completeOccurrence(completion(handed, { executedBy: otherWorker }));
        expect(owner.applied).toBe('advanced');
        expect(healer).toEqual({ next: owner.next, applied: 'kept' });
        expect(await store.getPending(jobName)).toEqual(owner.next);
        expect(await store.getLastExecution(jobName)).toMatchObject({ lastOccurrenceAt: start });
      });

      it('lets one of two replicas completing the same occurrence at once advance the chain', async () => {
        const { store, harness, replica } = await arrange();
        const handed = occurrence();
        await store.schedule(handed);
        const [owner, healer] = await Promise.all([replica(), replica()]);
        const [first, second] = await Promise.all([
          owner.completeOccurrence(completion(handed)),
          healer.completeOccurrence(completion(handed, { executedBy: otherWorker })),
        ]);
        expect([first.applied, second.applied].sort()).toEqual(['advanced', 'kept']);
        expect(first.next).toEqual(second.next);
        expect(await store.getPending(jobName)).toEqual(first.next);
        expect(await harness.countPendingRecords(jobName)).toBe(1);
        expect(await store.getLastExecution(jobName)).toMatchObject({ lastOccurrenceAt: start, nextScheduledAt: at(hour) });
      });

      it('never moves the execution record back for a stale completion: what follows comes from the stored record', async () => {
        const { service, store } = await arrange();
        const later = executionAt(at(2 * hour));
        await store.upsertExecution(later);
        const stale = occurrence();
        await store.schedule(stale);
        const result = await service.completeOccurrence(completion(stale));
        expect(await store.getLastExecution(jobName)).toEqual(later);
        expect(result.applied).toBe('advanced');
        expect(result.next.occurrenceAt).toEqual(at(3 * hour));
        expect(await store.getPending(jobName)).toEqual(result.next);
      });
    });

    describe('applyMisfire', () => {
      const everyQuarterSkip: JobTiming = { ...quarterly, misfire: { kind: 'skip' } };

      it('replaces a missed pending slot as its policy says, once, and leaves an on-time one alone', async () => {
        const { service, store, clock, writes } = await arrange(new FakeClock(new Date('2026-05-10T08:31:00Z')));
        const missedAt = new Date('2026-05-10T06:00:00Z');
        const missed = occurrence({ occurrenceAt: missedAt, runAt: missedAt, timing: everyQuarterSkip });
        await store.schedule(missed);
        const replacement = await service.applyMisfire(missed, everyQuarterSkip);
        expect(replacement).toMatchObject({ occurrenceAt: new Date('2026-05-10T08:45:00Z') });
        expect(await store.getPending(jobName)).toEqual(replacement);
        // A second replica handed the same stale occurrence finds the replacement pending.
        expect(await service.applyMisfire(missed, everyQuarterSkip)).toEqual(replacement);
        expect(writes).toEqual(['replaceIfCurrent handOver=no record=no: true', 'replaceIfCurrent handOver=no record=no: false']);
        const onTime = occurrence({ occurrenceAt: new Date('2026-05-10T08:30:00Z'), timing: everyQuarterSkip });
        clock.set(new Date('2026-05-10T08:30:01Z'));
        expect(await service.applyMisfire(onTime, everyQuarterSkip)).toBeNull();
        expect(writes).toHaveLength(2);
      });
    });
  });
}
