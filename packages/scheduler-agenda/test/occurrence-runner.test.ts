/** Unit tests of the runner's logic with the in-memory fakes and an in-memory OTel SDK. */
import {
  DefaultRecurringJobService,
  type FinishRunInput,
  type JobContext,
  type JobLogger,
  type JobResultSummary,
  type RecurringJob,
} from '@app/shared-jobs';
import {
  FakeClock,
  InMemoryJobRunLedger,
  InMemoryMessageScheduler,
  InMemoryRecurringJobRepository,
} from '@app/shared-jobs/testing';
import { context, metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRunTelemetry,
  OccurrenceRunner,
  registerJob,
  type LockControl,
  type RunFinishedEvent,
} from '../src/index.js';

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

function recordingLock(): LockControl & { touches: (number | undefined)[]; releases: number } {
  const lock = {
    touches: [] as (number | undefined)[],
    releases: 0,
    touch: (percent: number | undefined) => {
      lock.touches.push(percent);
      return Promise.resolve();
    },
    release: () => {
      lock.releases += 1;
      return Promise.resolve();
    },
  };
  return lock;
}

function setup(options: { onRunFinished?: (event: RunFinishedEvent) => void } = {}) {
  const clock = new FakeClock(new Date('2026-03-01T12:00:00.000Z'));
  const ledger = new InMemoryJobRunLedger();
  const scheduler = new InMemoryMessageScheduler();
  const repository = new InMemoryRecurringJobRepository();
  const service = new DefaultRecurringJobService({ repository, scheduler, clock, instance });
  const lines: LogLine[] = [];
  const events: RunFinishedEvent[] = [];
  const runner = new OccurrenceRunner({
    ledger,
    scheduler,
    repository,
    service,
    clock,
    instance,
    logger: recordingLogger(lines),
    telemetry: createRunTelemetry(),
    onRunFinished:
      options.onRunFinished ??
      ((event) => {
        events.push(event);
      }),
  });
  return { clock, ledger, scheduler, repository, service, runner, lines, events };
}

/** Attempt 1 of the occurrence, claimed by this instance and finished at once with `ending`. */
async function recordFinishedAttempt(
  ledger: InMemoryJobRunLedger,
  jobName: string,
  occurrenceAt: Date,
  ending: Omit<FinishRunInput, 'finishedAt'>,
): Promise<void> {
  const claim = await ledger.claim({
    jobName,
    occurrenceAt,
    attempt: 1,
    instance,
    startedAt: occurrenceAt,
    leaseExpiresAt: new Date(occurrenceAt.getTime() + 1000),
  });
  if (!claim.claimed) throw new Error('setup claim failed');
  await ledger.finish(claim.run.runId, { ...ending, finishedAt: occurrenceAt });
}

/** A run of the occurrence that succeeded, with its execution recorded (as its owner would). */
async function recordSucceededRun(
  { ledger, repository }: ReturnType<typeof setup>,
  jobName: string,
  occurrenceAt: Date,
  nextScheduledAt: Date | null,
): Promise<void> {
  await recordFinishedAttempt(ledger, jobName, occurrenceAt, { status: 'succeeded' });
  await repository.upsertExecution({
    jobName,
    lastExecutedAt: occurrenceAt,
    lastOccurrenceAt: occurrenceAt,
    nextScheduledAt,
    lastExecutedBy: instance,
  });
}

function job(
  name: string,
  run: (context: JobContext) => Promise<JobResultSummary>,
  extra: Partial<RecurringJob> = {},
) {
  return registerJob({ name, intervalMs: 60_000, run, ...extra }, 30_000);
}

describe('OccurrenceRunner', () => {
  beforeEach(() => {
    spanExporter.reset();
  });

  it('claims, runs the handler in a span with its context, records success and schedules from the run start', async () => {
    const { runner, ledger, scheduler, repository, clock, lines, events } = setup();
    const occurrenceAt = clock.now();
    let activeSpanInHandler: unknown;
    const registered = job('report', async (jobContext) => {
      activeSpanInHandler = trace.getActiveSpan();
      jobContext.logger.info('working', { rows: 3 });
      clock.advance(250);
      return Promise.resolve({ deletedRows: 3, note: 'ok' });
    });
    const event = await runner.runDue(
      registered,
      { occurrenceAt, attempt: 1, dueAt: new Date(occurrenceAt.getTime() - 40) },
      recordingLock(),
    );
    expect(event).toMatchObject({ outcome: 'succeeded', attempt: 1, durationMs: 250, result: { deletedRows: 3, note: 'ok' } });
    const [run] = await ledger.listOccurrenceRuns('report', occurrenceAt);
    expect(run).toMatchObject({ status: 'succeeded', result: { deletedRows: 3, note: 'ok' }, instance });
    expect(await repository.getLastExecution('report')).toMatchObject({
      lastExecutedAt: occurrenceAt,
      lastOccurrenceAt: occurrenceAt,
      lastExecutedBy: instance,
    });
    const expectedNext = new Date(occurrenceAt.getTime() + 60_000);
    expect(await scheduler.getPending('report')).toEqual({
      jobName: 'report',
      occurrenceAt: expectedNext,
      runAt: expectedNext,
      attempt: 1,
    });
    expect(events).toEqual([event]);
    const workingLine = lines.find((line) => line.message === 'working');
    expect(workingLine?.fields).toMatchObject({ jobName: 'report', runId: run!.runId, rows: 3, attempt: 1 });
    await tracerProvider.forceFlush();
    const [span] = spanExporter.getFinishedSpans();
    expect(span?.name).toBe('job.run');
    expect(activeSpanInHandler).toBeDefined();
    expect(span?.spanContext().spanId).toBe(
      (activeSpanInHandler as { spanContext(): { spanId: string } }).spanContext().spanId,
    );
    expect(span?.attributes).toMatchObject({
      'job.name': 'report',
      'job.occurrence_at': occurrenceAt.toISOString(),
      'job.attempt': 1,
      'job.run_id': run!.runId,
      'job.instance': 'unit-host/4242',
      'job.outcome': 'succeeded',
      'job.result.deletedRows': 3,
      'job.result.note': 'ok',
    });
    const lag = await metricPoints('job.schedule.lag');
    expect(lag.some((point) => point.attributes['job.name'] === 'report')).toBe(true);
    const runs = await metricPoints('job.runs');
    expect(runs).toContainEqual({ attributes: { 'job.name': 'report', 'job.outcome': 'succeeded' }, value: 1 });
  });

  it('skips and counts a claim whose attempt runs elsewhere with a live lease, never running the handler', async () => {
    const { runner, ledger, clock, events } = setup();
    const occurrenceAt = clock.now();
    await ledger.claim({
      jobName: 'busy',
      occurrenceAt,
      attempt: 1,
      instance: { hostName: 'other', processId: 1 },
      startedAt: clock.now(),
      leaseExpiresAt: new Date(clock.now().getTime() + 10_000),
    });
    let handlerRuns = 0;
    const registered = job('busy', () => {
      handlerRuns += 1;
      return Promise.resolve({});
    });
    const event = await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(event).toMatchObject({ outcome: 'lost-claim', lostClaimReason: 'running-elsewhere', runId: null });
    expect(handlerRuns).toBe(0);
    expect(events).toHaveLength(1);
    const lost = await metricPoints('job.claims.lost');
    expect(lost.some((point) => point.attributes['job.name'] === 'busy')).toBe(true);
  });

  it('heals the chain when the occurrence already succeeded (the pending occurrence was lost)', async () => {
    const fixture = setup();
    const { runner, scheduler, clock } = fixture;
    const occurrenceAt = clock.now();
    await recordSucceededRun(fixture, 'healed', occurrenceAt, null);
    let handlerRuns = 0;
    const registered = job('healed', () => {
      handlerRuns += 1;
      return Promise.resolve({});
    });
    const event = await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(event.lostClaimReason).toBe('already-succeeded');
    expect(handlerRuns).toBe(0);
    expect((await scheduler.getPending('healed'))?.occurrenceAt).toEqual(new Date(occurrenceAt.getTime() + 60_000));
  });

  it('leaves a newer pending occurrence alone when a stale duplicate finds its occurrence succeeded', async () => {
    const fixture = setup();
    const { runner, scheduler, clock } = fixture;
    const occurrenceAt = clock.now();
    await recordSucceededRun(fixture, 'stale-duplicate', occurrenceAt, new Date(occurrenceAt.getTime() + 60_000));
    // An operator's trigger, pending before its run records an execution: recomputing
    // the next occurrence from the execution above would replace it.
    clock.advance(10);
    const trigger = { jobName: 'stale-duplicate', occurrenceAt: clock.now(), runAt: clock.now(), attempt: 1 };
    await scheduler.schedule(trigger);
    const registered = job('stale-duplicate', () => Promise.resolve({}));
    const event = await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(event).toMatchObject({ lostClaimReason: 'already-succeeded', scheduled: trigger });
    expect(await scheduler.getPending('stale-duplicate')).toEqual(trigger);
  });

  it('marks a run whose lease expired abandoned and runs the next attempt', async () => {
    const { runner, ledger, clock } = setup();
    const occurrenceAt = clock.now();
    await ledger.claim({
      jobName: 'recovered',
      occurrenceAt,
      attempt: 1,
      instance: { hostName: 'dead', processId: 9 },
      startedAt: occurrenceAt,
      leaseExpiresAt: new Date(occurrenceAt.getTime() + 2000),
    });
    clock.advance(5000);
    const registered = job('recovered', (jobContext) => Promise.resolve({ attempt: jobContext.attempt }));
    const event = await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(event).toMatchObject({ outcome: 'succeeded', attempt: 2, result: { attempt: 2 } });
    const runs = await ledger.listOccurrenceRuns('recovered', occurrenceAt);
    expect(runs.map((run) => [run.attempt, run.status])).toEqual([
      [1, 'abandoned'],
      [2, 'succeeded'],
    ]);
    expect(runs[0]!.error?.name).toBe('LeaseExpiredError');
  });

  it('retries a failure as attempt + 1 with backoff, then schedules the next occurrence after the last attempt', async () => {
    const { runner, ledger, scheduler, repository, clock } = setup();
    const occurrenceAt = clock.now();
    const registered = job(
      'failing',
      () => Promise.reject(new Error('smtp down')),
      { retry: { maxAttempts: 2, initialDelayMs: 1000, maxDelayMs: 5000 } },
    );
    const first = await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(first.outcome).toBe('failed');
    expect(first.error?.message).toBe('smtp down');
    const retry = await scheduler.getPending('failing');
    expect(retry?.attempt).toBe(2);
    expect(retry?.occurrenceAt).toEqual(occurrenceAt);
    const delay = retry!.runAt.getTime() - clock.now().getTime();
    expect(delay).toBeGreaterThanOrEqual(800);
    expect(delay).toBeLessThanOrEqual(1200);
    await tracerProvider.forceFlush();
    const [failedSpan] = spanExporter.getFinishedSpans();
    expect(failedSpan?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failedSpan?.events.some((spanEvent) => spanEvent.name === 'exception')).toBe(true);
    clock.advance(delay);
    const second = await runner.runDue(registered, { occurrenceAt, attempt: 2, dueAt: retry!.runAt }, recordingLock());
    expect(second.outcome).toBe('failed');
    expect(await repository.getLastExecution('failing')).toMatchObject({ lastOccurrenceAt: occurrenceAt });
    const next = await scheduler.getPending('failing');
    expect(next).toMatchObject({ attempt: 1 });
    expect(next!.occurrenceAt.getTime()).toBeGreaterThan(occurrenceAt.getTime());
    expect((await ledger.listOccurrenceRuns('failing', occurrenceAt)).map((run) => run.status)).toEqual([
      'failed',
      'failed',
    ]);
  });

  it('continues the chain when the last attempt failed but its worker did not schedule onwards', async () => {
    const { runner, ledger, scheduler, clock } = setup();
    const occurrenceAt = clock.now();
    await recordFinishedAttempt(ledger, 'exhausted', occurrenceAt, {
      status: 'failed',
      error: { name: 'Error', message: 'x' },
    });
    const registered = job('exhausted', () => Promise.resolve({}));
    const event = await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(event.outcome).toBe('lost-claim');
    expect((await scheduler.getPending('exhausted'))?.occurrenceAt).toEqual(new Date(occurrenceAt.getTime() + 60_000));
  });

  it('interrupts active runs: aborts the signal, records interrupted, releases the lock, without waiting for the handler', async () => {
    const { runner, ledger, scheduler, clock } = setup();
    const occurrenceAt = clock.now();
    let sawAbort = false;
    let handlerStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      handlerStarted = resolve;
    });
    const registered = job('stubborn', (jobContext) => {
      jobContext.signal.addEventListener('abort', () => {
        sawAbort = true;
      });
      handlerStarted();
      return new Promise(() => undefined); // ignores the signal, never settles
    });
    const lock = recordingLock();
    const running = runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, lock);
    await started;
    expect(runner.activeCount).toBe(1);
    await runner.interruptAll('deadline');
    const event = await running;
    expect(event).toMatchObject({ outcome: 'interrupted', error: { name: 'RunInterruptedError', message: 'deadline' } });
    expect(sawAbort).toBe(true);
    expect(lock.releases).toBe(1);
    expect(runner.activeCount).toBe(0);
    expect((await ledger.listOccurrenceRuns('stubborn', occurrenceAt))[0]?.status).toBe('interrupted');
    expect(await scheduler.getPending('stubborn')).toBeNull();
  });

  it('fails a run that reports no progress within its lock lifetime', async () => {
    const { runner } = setup();
    const occurrenceAt = new Date();
    const registered = job('hung', () => new Promise(() => undefined), { lockLifetimeMs: 50 });
    const event = await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(event).toMatchObject({ outcome: 'failed', error: { name: 'LeaseExpiredError' } });
  });

  it('keeps the lock alive on progress (throttled) and stops a run the ledger no longer holds', async () => {
    const { runner, ledger, clock } = setup();
    const occurrenceAt = clock.now();
    const lock = recordingLock();
    const registered = job(
      'progressing',
      async (jobContext) => {
        clock.advance(500);
        await jobContext.reportProgress({ completed: 1, total: 4 });
        await jobContext.reportProgress({ completed: 2, total: 4 }); // within lockLifetime/5: no write
        clock.advance(500);
        await jobContext.reportProgress({ message: 'no totals' });
        const [running] = await ledger.listOccurrenceRuns('progressing', occurrenceAt);
        await ledger.finish(running!.runId, { status: 'abandoned', finishedAt: clock.now() });
        clock.advance(500);
        await jobContext.reportProgress({ completed: 3, total: 4 });
        await jobContext.reportProgress({ completed: 4, total: 4 }); // aborted already: ignored
        return { aborted: jobContext.signal.aborted };
      },
      { lockLifetimeMs: 2000 },
    );
    const event = await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, lock);
    expect(lock.touches).toEqual([25, undefined, 75]);
    expect(event.outcome).toBe('failed');
    expect(event.error?.name).toBe('LeaseExpiredError');
  });

  it('keeps a newer occurrence scheduled during the run (an operator trigger) and records the execution', async () => {
    const { runner, scheduler, repository, clock } = setup();
    const occurrenceAt = clock.now();
    const triggerAt = new Date(occurrenceAt.getTime() + 100);
    const registered = job('triggered', async () => {
      await scheduler.schedule({ jobName: 'triggered', occurrenceAt: triggerAt, runAt: triggerAt, attempt: 1 });
      return {};
    });
    await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect((await scheduler.getPending('triggered'))?.occurrenceAt).toEqual(triggerAt);
    expect(await repository.getLastExecution('triggered')).toMatchObject({
      lastOccurrenceAt: occurrenceAt,
      nextScheduledAt: triggerAt,
    });
  });

  it('does not schedule onwards when its finished run was taken over meanwhile', async () => {
    const { runner, ledger, scheduler, clock, lines } = setup();
    const occurrenceAt = clock.now();
    const registered = job('overtaken', async () => {
      const [running] = await ledger.listOccurrenceRuns('overtaken', occurrenceAt);
      await ledger.finish(running!.runId, { status: 'abandoned', finishedAt: clock.now() });
      return {};
    });
    const event = await runner.runDue(registered, { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(event.scheduled).toBeNull();
    expect(await scheduler.getPending('overtaken')).toBeNull();
    expect(lines.some((line) => line.level === 'warn')).toBe(true);
  });

  it('logs an onRunFinished callback that throws instead of failing the run', async () => {
    const { runner, lines, clock } = setup({
      onRunFinished: () => {
        throw new Error('listener broke');
      },
    });
    const occurrenceAt = clock.now();
    const event = await runner.runDue(job('listened', () => Promise.resolve({})), { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(event.outcome).toBe('succeeded');
    expect(lines).toContainEqual({ level: 'error', message: 'onRunFinished callback threw', fields: { error: 'listener broke' } });
  });

  it('judges an occurrence by its latest attempt, not by the attempt Agenda handed over', async () => {
    const { runner, ledger, clock } = setup();
    const occurrenceAt = clock.now();
    for (const attempt of [1, 2]) {
      const claim = await ledger.claim({
        jobName: 'raced',
        occurrenceAt,
        attempt,
        instance,
        startedAt: occurrenceAt,
        leaseExpiresAt: occurrenceAt,
      });
      if (claim.claimed && attempt === 1) {
        await ledger.finish(claim.run.runId, { status: 'interrupted', finishedAt: occurrenceAt });
      }
    }
    // Attempt 2 is "running" with an expired lease, but attempt 3 already runs elsewhere.
    await ledger.claim({
      jobName: 'raced',
      occurrenceAt,
      attempt: 3,
      instance,
      startedAt: occurrenceAt,
      leaseExpiresAt: new Date(occurrenceAt.getTime() + 10_000),
    });
    clock.advance(10);
    const event = await runner.runDue(job('raced', () => Promise.resolve({})), { occurrenceAt, attempt: 1, dueAt: occurrenceAt }, recordingLock());
    expect(event).toMatchObject({ outcome: 'lost-claim', lostClaimReason: 'running-elsewhere' });
  });
});
