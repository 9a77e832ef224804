/**
 * Unit tests of the occurrence runner with the in-memory fakes (which run the same
 * completion code as production) and an in-memory OTel SDK.
 */
import {
  DefaultRecurringJobService,
  type JobContext,
  type JobLogger,
  type JobResultSummary,
  type JobRun,
  type JobRunStatus,
  type OccurrenceCause,
  type RecurringJob,
  type ScheduledOccurrence,
} from '@app/shared-jobs';
import {
  FakeClock,
  InMemoryJobRunLedger,
  InMemoryMessageScheduler,
} from '@app/shared-jobs/testing';
import { context, metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRunTelemetry,
  runDurationBucketsSeconds,
  FencedRunError,
  LockManager,
  OccurrenceRunner,
  registerJob,
  RunInterruptedError,
  StalledRunError,
  type AgendaLockHandle,
  type RunFinishedEvent,
} from '../../src/index.js';

class TestMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const spanExporter = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spanExporter })] });
const metricReader = new TestMetricReader();
const instance = { hostName: 'unit-host', processId: 4242 };
const interval = 60_000;

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [metricReader] }));
});

afterAll(() => {
  trace.disable();
  metrics.disable();
  context.disable();
});

async function metricPoints(name: string): Promise<{ attributes: Record<string, unknown>; value: unknown }[]> {
  const { resourceMetrics } = await metricReader.collect();
  return resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .filter((metric) => metric.descriptor.name === name)
    .flatMap((metric) => metric.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value })));
}

interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

function recordingLogger(lines: LogLine[]): JobLogger {
  const at = (level: string) => (message: string, fields?: Readonly<Record<string, unknown>>) => {
    lines.push({ level, message, fields: { ...fields } });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function recordingLock(): AgendaLockHandle & { releases: number; handOvers: number } {
  const lock = {
    documentId: '65f0c0ffee0000000000beef',
    releases: 0,
    handOvers: 0,
    setLockedAt: () => undefined,
    release: () => {
      lock.releases += 1;
      return Promise.resolve();
    },
    handedOver: () => {
      lock.handOvers += 1;
    },
  };
  return lock;
}

/** A promise settled from outside: a handler the test releases when it wants. */
function deferred<TValue>() {
  let resolve: (value: TValue) => void = () => undefined;
  const promise = new Promise<TValue>((resolvePromise) => {
    resolve = resolvePromise;
  });
  return { promise, resolve };
}

function setup(options: { onRunFinished?: (event: RunFinishedEvent) => void } = {}) {
  const clock = new FakeClock(new Date('2026-03-01T12:00:00.000Z'));
  const ledger = new InMemoryJobRunLedger();
  const scheduler = new InMemoryMessageScheduler();
  const repository = scheduler; // the scheduler keeps the execution records
  const service = new DefaultRecurringJobService({ scheduler, clock });
  const lines: LogLine[] = [];
  const events: RunFinishedEvent[] = [];
  const logger = recordingLogger(lines);
  const lockManager = new LockManager({
    clock,
    ledger,
    renewLocks: () => Promise.resolve(),
    heartbeat: () => Promise.resolve(),
    heartbeatIntervalMs: 2000,
    leaseTimeoutMs: 10_000,
    logger,
  });
  const runner = new OccurrenceRunner({
    ledger,
    service,
    clock,
    instance,
    instanceId: 'instance-under-test',
    logger,
    telemetry: createRunTelemetry(),
    lockManager,
    progressWriteEveryMs: 1000,
    recordDeadlineMs: 1000,
    onRunFinished:
      options.onRunFinished ??
      ((event) => {
        events.push(event);
      }),
  });
  return { clock, ledger, scheduler, repository, runner, lockManager, lines, events };
}

function job(
  name: string,
  run: (jobContext: JobContext) => Promise<JobResultSummary>,
  extra: Partial<RecurringJob> = {},
) {
  return registerJob({ name, schedule: { kind: 'interval', everyMs: interval }, run, ...extra });
}

function handed(
  jobName: string,
  occurrenceAt: Date,
  overrides: Partial<ScheduledOccurrence> = {},
): { occurrence: ScheduledOccurrence; dueAt: Date } {
  const occurrence: ScheduledOccurrence = {
    jobName,
    occurrenceAt,
    runAt: occurrenceAt,
    attempt: 1,
    cause: 'schedule',
    requestedBy: null,
    resume: null,
    timing: null,
    ...overrides,
  };
  return { occurrence, dueAt: occurrence.runAt };
}

/** A run of the occurrence by another worker, finished with `status` (or still running). */
async function recordRun(
  ledger: InMemoryJobRunLedger,
  jobName: string,
  occurrenceAt: Date,
  attempt: number,
  status: JobRunStatus,
  options: { leaseExpiresAt?: Date; cause?: OccurrenceCause } = {},
): Promise<JobRun> {
  const claim = await ledger.claim({
    jobName,
    occurrenceAt,
    attempt,
    cause: options.cause ?? (attempt > 1 ? 'retry' : 'schedule'),
    requestedBy: null,
    instance: { hostName: 'other-host', processId: 1 },
    instanceId: 'other-instance',
    startedAt: occurrenceAt,
    leaseExpiresAt: options.leaseExpiresAt ?? new Date(occurrenceAt.getTime() + 10_000),
  });
  if (!claim.claimed) throw new Error('setup claim failed');
  if (status !== 'running') {
    await ledger.finish(claim.run.runId, { status, finishedAt: occurrenceAt, durationMs: 0 });
  }
  return (await ledger.getRun(claim.run.runId))!;
}

describe('OccurrenceRunner', () => {
  beforeEach(() => {
    spanExporter.reset();
  });

  it('claims, runs the handler in a span with its context, records success and schedules from the run start', async () => {
    const { runner, ledger, scheduler, repository, clock, lines, events } = setup();
    const occurrenceAt = clock.now();
    let activeSpanInHandler: unknown;
    let seenContext: JobContext | undefined;
    let activeDuringRun: Awaited<ReturnType<typeof metricPoints>> = [];
    const registered = job('report', async (jobContext) => {
      activeSpanInHandler = trace.getActiveSpan();
      activeDuringRun = await metricPoints('job.active_runs');
      seenContext = jobContext;
      jobContext.logger.info('working', { rows: 3 });
      clock.advance(250);
      return Promise.resolve({ deletedRows: 3, note: 'ok' });
    });
    const due = handed('report', occurrenceAt);
    await scheduler.schedule(due.occurrence);
    const lock = recordingLock();
    const event = await runner.runDue(registered, { ...due, dueAt: new Date(occurrenceAt.getTime() - 40) }, lock);
    expect(event).toMatchObject({ outcome: 'succeeded', attempt: 1, durationMs: 250, result: { deletedRows: 3, note: 'ok' } });
    // The next occurrence's write released the lock: Agenda's unlock is not needed.
    expect(lock).toMatchObject({ handOvers: 1, releases: 0 });
    expect(seenContext).toMatchObject({ jobName: 'report', attempt: 1, cause: 'schedule', occurrenceAt });
    const [run] = await ledger.listOccurrenceRuns('report', occurrenceAt);
    expect(run).toMatchObject({ status: 'succeeded', result: { deletedRows: 3, note: 'ok' }, instance, instanceId: 'instance-under-test' });
    expect(run?.traceId).toMatch(/^[0-9a-f]{32}$/u);
    expect(await repository.getLastExecution('report')).toMatchObject({
      lastExecutedAt: occurrenceAt,
      lastOccurrenceAt: occurrenceAt,
      lastExecutedBy: instance,
    });
    const expectedNext = new Date(occurrenceAt.getTime() + interval);
    expect(await scheduler.getPending('report')).toMatchObject({
      occurrenceAt: expectedNext,
      runAt: expectedNext,
      attempt: 1,
      cause: 'schedule',
    });
    expect(event.scheduled?.occurrenceAt).toEqual(expectedNext);
    expect(events).toEqual([event]);
    const workingLine = lines.find((line) => line.message === 'working');
    expect(workingLine?.fields).toMatchObject({ jobName: 'report', runId: run!.runId, rows: 3, attempt: 1 });
    await tracerProvider.forceFlush();
    const [span] = spanExporter.getFinishedSpans();
    expect(span?.name).toBe('job.run');
    expect(span?.spanContext().traceId).toBe(run?.traceId);
    expect(span?.spanContext().spanId).toBe(
      (activeSpanInHandler as { spanContext(): { spanId: string } }).spanContext().spanId,
    );
    expect(span?.attributes).toMatchObject({
      'job.name': 'report',
      'job.occurrence_at': occurrenceAt.toISOString(),
      'job.attempt': 1,
      'job.run_id': run!.runId,
      'job.outcome': 'succeeded',
      'job.result.deletedRows': 3,
    });
    expect((await metricPoints('job.schedule.lag')).some((point) => point.attributes['job.name'] === 'report')).toBe(true);
    // Durations in seconds with buckets up to an hour; the run counted in flight while it ran.
    const durations = await metricPoints('job.run.duration');
    expect(durations.find((point) => point.attributes['job.name'] === 'report')?.value).toMatchObject({
      count: 1,
      sum: 0.25,
      buckets: { boundaries: [...runDurationBucketsSeconds] },
    });
    expect(runDurationBucketsSeconds.at(-1)).toBe(3600);
    expect(activeDuringRun).toContainEqual({ attributes: { 'job.name': 'report' }, value: 1 });
    expect(await metricPoints('job.active_runs')).toContainEqual({ attributes: { 'job.name': 'report' }, value: 0 });
  });

  it('skips and counts a claim whose attempt runs elsewhere with a live lease, never running the handler', async () => {
    const { runner, ledger, clock, events } = setup();
    const occurrenceAt = clock.now();
    await recordRun(ledger, 'busy', occurrenceAt, 1, 'running');
    let handlerRan = false;
    const event = await runner.runDue(
      job('busy', () => {
        handlerRan = true;
        return Promise.resolve({});
      }),
      handed('busy', occurrenceAt),
      recordingLock(),
    );
    expect(handlerRan).toBe(false);
    expect(event).toMatchObject({ outcome: 'lost-claim', lostClaimReason: 'running-elsewhere', scheduled: null });
    expect(events).toHaveLength(1);
    const lost = await metricPoints('job.lost_claims');
    expect(lost).toContainEqual({ attributes: { 'job.name': 'busy', 'job.lost_claim.reason': 'running-elsewhere' }, value: 1 });
  });

  it('heals the chain when the occurrence already succeeded (its schedule write was lost to a crash)', async () => {
    const { runner, ledger, scheduler, repository, clock } = setup();
    const occurrenceAt = clock.now();
    const due = handed('healed', occurrenceAt);
    await scheduler.schedule(due.occurrence);
    await recordRun(ledger, 'healed', occurrenceAt, 1, 'succeeded');
    clock.advance(5000);
    const event = await runner.runDue(job('healed', () => Promise.reject(new Error('must not run'))), due, recordingLock());
    expect(event).toMatchObject({ outcome: 'lost-claim', lostClaimReason: 'already-succeeded' });
    const next = new Date(occurrenceAt.getTime() + interval);
    expect(await scheduler.getPending('healed')).toMatchObject({ occurrenceAt: next, cause: 'schedule' });
    expect((await repository.getLastExecution('healed'))?.lastExecutedBy).toEqual({ hostName: 'other-host', processId: 1 });
  });

  it('leaves a newer pending occurrence alone when a stale duplicate finds its occurrence succeeded', async () => {
    const { runner, ledger, scheduler, clock } = setup();
    const occurrenceAt = clock.now();
    await recordRun(ledger, 'stale', occurrenceAt, 1, 'succeeded');
    const newer = handed('stale', new Date(occurrenceAt.getTime() + 1000), { cause: 'trigger', requestedBy: 'cli:ops' });
    await scheduler.schedule(newer.occurrence);
    const lock = recordingLock();
    await runner.runDue(job('stale', () => Promise.reject(new Error('must not run'))), handed('stale', occurrenceAt), lock);
    expect(await scheduler.getPending('stale')).toEqual(newer.occurrence);
    // Nothing was replaced, so nothing released the lock: Agenda's unlock stays.
    expect(lock.handOvers).toBe(0);
  });

  it('marks a run whose lease lapsed abandoned and runs the next attempt', async () => {
    const { runner, ledger, scheduler, clock, lines } = setup();
    const occurrenceAt = clock.now();
    const lapsed = await recordRun(ledger, 'takeover', occurrenceAt, 1, 'running', {
      leaseExpiresAt: new Date(occurrenceAt.getTime() + 10_000),
    });
    const due = handed('takeover', occurrenceAt);
    await scheduler.schedule(due.occurrence);
    clock.advance(10_001);
    const event = await runner.runDue(job('takeover', () => Promise.resolve({ done: true }), { retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 10 } }), due, recordingLock());
    expect(event).toMatchObject({ outcome: 'succeeded', attempt: 2 });
    const abandoned = await ledger.getRun(lapsed.runId);
    expect(abandoned).toMatchObject({ status: 'abandoned', error: { name: 'LeaseLapsedError' } });
    expect(abandoned?.error?.message).toContain('other-host/1');
    expect(lines.some((line) => line.message.startsWith('took over an occurrence'))).toBe(true);
    expect((await scheduler.getPending('takeover'))?.occurrenceAt).toEqual(new Date(clock.now().getTime() + interval));
  });

  it('retries a failure with backoff as attempt + 1, then moves on after the last attempt', async () => {
    const { runner, ledger, scheduler, repository, clock, events } = setup();
    const occurrenceAt = clock.now();
    const retry = { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 1500 };
    const failing = job('flaky', () => Promise.reject(new Error('smtp down')), { retry });
    let due = handed('flaky', occurrenceAt);
    await scheduler.schedule(due.occurrence);
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const event = await runner.runDue(failing, due, recordingLock());
      expect(event).toMatchObject({ outcome: 'failed', attempt, error: { name: 'Error', message: 'smtp down' } });
      const pending = (await scheduler.getPending('flaky'))!;
      if (attempt < 3) {
        expect(pending).toMatchObject({ occurrenceAt, attempt: attempt + 1, cause: 'retry' });
        delays.push(pending.runAt.getTime() - clock.now().getTime());
        clock.set(pending.runAt);
        due = { occurrence: pending, dueAt: pending.runAt };
      } else {
        expect(pending).toMatchObject({ attempt: 1, cause: 'schedule' });
        expect(pending.occurrenceAt.getTime()).toBeGreaterThan(occurrenceAt.getTime());
      }
    }
    expect(delays[0]).toBeGreaterThanOrEqual(800);
    expect(delays[0]).toBeLessThanOrEqual(1200);
    expect(delays[1]).toBeGreaterThanOrEqual(1200);
    expect(delays[1]).toBeLessThanOrEqual(1500);
    expect((await ledger.listOccurrenceRuns('flaky', occurrenceAt)).map((run) => run.status)).toEqual(['failed', 'failed', 'failed']);
    expect((await repository.getLastExecution('flaky'))?.lastOccurrenceAt).toEqual(occurrenceAt);
    expect(events.map((event) => event.outcome)).toEqual(['failed', 'failed', 'failed']);
    await tracerProvider.forceFlush();
    expect(spanExporter.getFinishedSpans()[0]?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('continues the chain when attempts are used up but their worker did not schedule onwards', async () => {
    const { runner, ledger, scheduler, clock } = setup();
    const occurrenceAt = clock.now();
    await recordRun(ledger, 'exhausted', occurrenceAt, 1, 'failed');
    await recordRun(ledger, 'exhausted', occurrenceAt, 2, 'failed');
    const due = handed('exhausted', occurrenceAt, { attempt: 2, cause: 'retry' });
    await scheduler.schedule(due.occurrence);
    const event = await runner.runDue(
      job('exhausted', () => Promise.reject(new Error('must not run')), { retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } }),
      due,
      recordingLock(),
    );
    expect(event).toMatchObject({ outcome: 'lost-claim', lostClaimReason: 'exhausted' });
    expect(await scheduler.getPending('exhausted')).toMatchObject({ attempt: 1, cause: 'schedule' });
  });

  it('interrupts active runs: aborts the signal, records interrupted, releases the lock, without waiting for the handler', async () => {
    const { runner, ledger, scheduler, clock } = setup();
    const occurrenceAt = clock.now();
    const started = deferred<AbortSignal>();
    const neverEnds = job('stuck', (jobContext) => {
      started.resolve(jobContext.signal);
      return new Promise(() => undefined);
    });
    const due = handed('stuck', occurrenceAt);
    await scheduler.schedule(due.occurrence);
    const lock = recordingLock();
    const running = runner.runDue(neverEnds, due, lock);
    const signal = await started.promise;
    expect(runner.activeCount).toBe(1);
    await runner.interruptAll('drain deadline passed');
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(RunInterruptedError);
    const event = await running;
    expect(event).toMatchObject({ outcome: 'interrupted', error: { name: 'RunInterruptedError', message: 'drain deadline passed' } });
    expect(lock.releases).toBe(1);
    expect(runner.activeCount).toBe(0);
    expect((await ledger.listOccurrenceRuns('stuck', occurrenceAt))[0]?.status).toBe('interrupted');
    expect(await scheduler.getPending('stuck')).toEqual(due.occurrence);
  });

  it('fails a run that reports no progress within its stall timeout', async () => {
    const { runner, scheduler, clock } = setup();
    const due = handed('hung', clock.now());
    await scheduler.schedule(due.occurrence);
    const event = await runner.runDue(
      job('hung', () => new Promise(() => undefined), { stallTimeoutMs: 30 }),
      due,
      recordingLock(),
    );
    expect(event).toMatchObject({ outcome: 'failed', error: { name: 'StalledRunError' } });
    expect(event.error?.message).toContain('30 ms');
    expect(new StalledRunError('x')).toBeInstanceOf(Error);
  });

  it('keeps a stalling run alive while it reports progress, and stores the progress (throttled)', async () => {
    const { runner, ledger, scheduler, clock } = setup();
    const due = handed('progressing', clock.now());
    await scheduler.schedule(due.occurrence);
    const progressed = job(
      'progressing',
      async (jobContext) => {
        for (let step = 1; step <= 6; step += 1) {
          await new Promise((resolve) => setTimeout(resolve, 15));
          clock.advance(400);
          await jobContext.reportProgress({ completed: step, total: 6, message: `step ${step}` });
        }
        return { steps: 6 };
      },
      { stallTimeoutMs: 40 },
    );
    const observed: (JobRun['progress'])[] = [];
    const running = runner.runDue(progressed, due, recordingLock());
    const event = await running;
    const [run] = await ledger.listOccurrenceRuns('progressing', due.occurrence.occurrenceAt);
    observed.push(run?.progress ?? null);
    expect(event).toMatchObject({ outcome: 'succeeded', result: { steps: 6 } });
    // Written at steps 1, 4 (1200 ms later) only: at most once per second of the run's clock.
    expect(observed).toEqual([{ completed: 4, total: 6, message: 'step 4' }]);
  });

  it('stops a run that another worker took over when it reports progress, and schedules nothing', async () => {
    const { runner, ledger, scheduler, clock } = setup();
    const due = handed('taken', clock.now());
    await scheduler.schedule(due.occurrence);
    const event = await runner.runDue(
      job('taken', async (jobContext) => {
        const [run] = await ledger.listOccurrenceRuns('taken', due.occurrence.occurrenceAt);
        await ledger.finish(run!.runId, { status: 'abandoned', finishedAt: clock.now(), durationMs: 0 });
        await jobContext.reportProgress({ completed: 1 });
        expect(jobContext.signal.aborted).toBe(true);
        return new Promise(() => undefined);
      }),
      due,
      recordingLock(),
    );
    expect(event).toMatchObject({ outcome: 'interrupted', error: { name: 'RunTakenOverError' }, scheduled: null });
    expect(await scheduler.getPending('taken')).toEqual(due.occurrence);
  });

  it('fences a run when its worker cannot reach the database in time: interrupted and its lock released', async () => {
    const { runner, ledger, scheduler, clock, lockManager } = setup();
    const due = handed('fenced', clock.now());
    await scheduler.schedule(due.occurrence);
    const started = deferred<AbortSignal>();
    const lock = recordingLock();
    const running = runner.runDue(
      job('fenced', (jobContext) => {
        started.resolve(jobContext.signal);
        return new Promise(() => undefined);
      }),
      due,
      lock,
    );
    const signal = await started.promise;
    clock.advance(lockManager.fenceAfterMs);
    lockManager.fenceIfSilent();
    expect(signal.reason).toBeInstanceOf(FencedRunError);
    const event = await running;
    expect(event).toMatchObject({ outcome: 'interrupted', error: { name: 'FencedRunError' } });
    expect(lock.releases).toBe(1);
    expect((await ledger.listOccurrenceRuns('fenced', due.occurrence.occurrenceAt))[0]?.status).toBe('interrupted');
  });

  it('keeps an operator run scheduled during the run, and records the execution', async () => {
    const { runner, scheduler, repository, clock } = setup();
    const occurrenceAt = clock.now();
    const due = handed('triggered', occurrenceAt);
    await scheduler.schedule(due.occurrence);
    const trigger = handed('triggered', new Date(occurrenceAt.getTime() + 100), { cause: 'trigger', requestedBy: 'console:ops' });
    const event = await runner.runDue(
      job('triggered', async () => {
        await scheduler.schedule(trigger.occurrence);
        return {};
      }),
      due,
      recordingLock(),
    );
    expect(event.outcome).toBe('succeeded');
    expect(await scheduler.getPending('triggered')).toEqual(trigger.occurrence);
    expect((await repository.getLastExecution('triggered'))?.lastOccurrenceAt).toEqual(occurrenceAt);
  });

  it('runs a rerun once, attributed to who asked, and resumes the chain where it was', async () => {
    const { runner, ledger, scheduler, repository, clock } = setup();
    const failedAt = new Date(clock.now().getTime() - 3_600_000);
    await recordRun(ledger, 'repair', failedAt, 1, 'failed');
    const resumeAt = new Date(clock.now().getTime() + 30_000);
    const rerun = handed('repair', failedAt, {
      attempt: 2,
      runAt: clock.now(),
      cause: 'rerun',
      requestedBy: 'console:alice',
      resume: { occurrenceAt: resumeAt, runAt: resumeAt, attempt: 1, cause: 'schedule' },
    });
    await scheduler.schedule(rerun.occurrence);
    const event = await runner.runDue(
      job('repair', () => Promise.reject(new Error('still broken')), { retry: { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1 } }),
      rerun,
      recordingLock(),
    );
    expect(event).toMatchObject({ outcome: 'failed', attempt: 2 });
    const runs = await ledger.listOccurrenceRuns('repair', failedAt);
    expect(runs[1]).toMatchObject({ cause: 'rerun', requestedBy: 'console:alice', status: 'failed' });
    // One attempt: no retry of a rerun; the chain resumes, the execution record does not move.
    expect(await scheduler.getPending('repair')).toMatchObject({ occurrenceAt: resumeAt, cause: 'schedule', resume: null });
    expect(await repository.getLastExecution('repair')).toBeNull();
  });

  it('does not run a regular occurrence handed over too late: its misfire policy replaces it', async () => {
    const { runner, scheduler, clock, ledger } = setup();
    const timing = {
      schedule: { kind: 'cron' as const, expression: '*/5 * * * *', timeZone: 'UTC' },
      misfire: { kind: 'skip' as const },
    };
    const stale = handed('late', new Date(clock.now().getTime() - 3_600_000), { timing });
    await scheduler.schedule(stale.occurrence);
    let handlerRan = false;
    const event = await runner.runDue(
      registerJob({ name: 'late', schedule: timing.schedule, misfire: timing.misfire, run: () => { handlerRan = true; return Promise.resolve({}); } }),
      stale,
      recordingLock(),
    );
    expect(handlerRan).toBe(false);
    expect(event).toMatchObject({ outcome: 'lost-claim', lostClaimReason: 'misfired' });
    expect(event.scheduled?.occurrenceAt).toEqual(new Date('2026-03-01T12:05:00.000Z'));
    expect(await scheduler.getPending('late')).toEqual(event.scheduled);
    expect(await ledger.listOccurrenceRuns('late', stale.occurrence.occurrenceAt)).toEqual([]);
  });

  it('ignores progress and aborts once a run was stopped', async () => {
    const { clock } = setup();
    const { RunLease } = await import('../../src/index.js');
    let stored = 0;
    const lease = new RunLease({
      jobName: 'stopped',
      clock,
      stallTimeoutMs: null,
      storeProgress: () => {
        stored += 1;
        return Promise.resolve(true);
      },
      progressWriteEveryMs: 0,
    });
    await lease.reportProgress({ completed: 1 });
    lease.abort(new RunInterruptedError('first'));
    lease.abort(new RunInterruptedError('second'));
    await lease.reportProgress({ completed: 2 });
    expect(stored).toBe(1);
    expect(((await lease.aborted)).message).toBe('first');
    lease.dispose();
  });

  it('logs an onRunFinished callback that throws instead of failing the run', async () => {
    const { runner, scheduler, lines, clock } = setup({
      onRunFinished: () => {
        throw new Error('listener broke');
      },
    });
    const due = handed('noisy', clock.now());
    await scheduler.schedule(due.occurrence);
    const event = await runner.runDue(job('noisy', () => Promise.resolve({})), due, recordingLock());
    expect(event.outcome).toBe('succeeded');
    expect(lines.some((line) => line.level === 'error' && line.message === 'onRunFinished callback threw')).toBe(true);
  });
});
