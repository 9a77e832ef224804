/** Recording a run's end on its own: the ledger's decisive write, the span, the log line, an outage, a run taken over. */
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { JobRun, JobRunLedger } from '@app/shared-jobs';
import { FakeClock, InMemoryJobRunLedger, RecordingLogger } from '@app/shared-jobs/testing';
import { describe, expect, it } from 'vitest';
import { createRunTelemetry } from '../../src/index.js';
import { RunRecorder } from '../../src/runtime/run-recorder.js';

async function setup(options: { unreachableFinishes?: number; recordDeadlineMs?: number } = {}) {
  const clock = new FakeClock(new Date('2026-03-01T12:00:00.000Z'));
  const memory = new InMemoryJobRunLedger();
  let unreachableLeft = options.unreachableFinishes ?? 0;
  let finishCalls = 0;
  const ledger: JobRunLedger = Object.assign(Object.create(memory) as JobRunLedger, {
    finish: (...args: Parameters<JobRunLedger['finish']>) => {
      finishCalls += 1;
      if (unreachableLeft > 0) {
        unreachableLeft -= 1;
        return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:27017'), { name: 'MongoNetworkError' }));
      }
      return memory.finish(...args);
    },
  });
  const claimed = await memory.claim({
    jobName: 'nightly-report',
    occurrenceAt: new Date('2026-03-01T11:00:00.000Z'),
    attempt: 1,
    cause: 'schedule',
    requestedBy: null,
    instance: { hostName: 'unit-host', processId: 7 },
    instanceId: 'instance-1',
    startedAt: clock.now(),
    leaseExpiresAt: new Date(clock.now().getTime() + 10_000),
  });
  if (!claimed.claimed) throw new Error('the fresh ledger refused the claim');
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const span = provider.getTracer('test').startSpan('job.run');
  const recorder = new RunRecorder({
    ledger,
    telemetry: createRunTelemetry(),
    clock,
    recordDeadlineMs: options.recordDeadlineMs ?? 10_000,
  });
  const finishedSpan = () => {
    span.end();
    const [finished] = exporter.getFinishedSpans();
    if (finished === undefined) throw new Error('no span was exported');
    return finished;
  };
  return { clock, memory, run: claimed.run, span, recorder, logger: new RecordingLogger(), finishedSpan, finishCalls: () => finishCalls };
}

async function storedRun(memory: InMemoryJobRunLedger, run: JobRun): Promise<JobRun> {
  const stored = await memory.getRun(run.runId);
  if (stored === null) throw new Error(`run ${run.runId} is missing`);
  return stored;
}

describe('RunRecorder', () => {
  it('records a success: the ledger row, its duration and trace, the span outcome, one info line', async () => {
    const { clock, memory, run, span, recorder, logger, finishedSpan } = await setup();
    clock.advance(1500);
    const recorded = await recorder.recordEnd(run, { status: 'succeeded', result: { sent: 3 } }, span, logger);

    expect(recorded).toEqual({ owned: true, finishedAt: clock.now(), durationMs: 1500, error: null });
    const stored = await storedRun(memory, run);
    expect(stored).toMatchObject({ status: 'succeeded', durationMs: 1500, result: { sent: 3 }, error: null });
    expect(stored.traceId).toBe(span.spanContext().traceId);
    expect(finishedSpan().attributes).toMatchObject({ 'job.outcome': 'succeeded', 'job.result.sent': 3 });
    expect(logger.linesAt()).toEqual([{ level: 'info', message: 'job run succeeded', fields: { durationMs: 1500, result: { sent: 3 } } }]);
  });

  it('records a failure with its error on the row and the span, logged as an error', async () => {
    const { clock, memory, run, span, recorder, logger, finishedSpan } = await setup();
    clock.advance(20);
    const recorded = await recorder.recordEnd(run, { status: 'failed', cause: new TypeError('no such template') }, span, logger);

    expect(recorded.error).toMatchObject({ name: 'TypeError', message: 'no such template' });
    expect(await storedRun(memory, run)).toMatchObject({ status: 'failed', result: null, error: { name: 'TypeError', message: 'no such template' } });
    const finished = finishedSpan();
    expect(finished.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no such template' });
    expect(finished.attributes['job.outcome']).toBe('failed');
    expect(logger.messages()).toEqual(['job run failed']);
  });

  it('reports a run another worker ended first as not owned, and leaves that worker\'s record alone', async () => {
    const { clock, memory, run, span, recorder, logger } = await setup();
    clock.advance(12_000);
    await memory.finish(run.runId, { status: 'abandoned', finishedAt: clock.now(), durationMs: 12_000 });
    const recorded = await recorder.recordEnd(run, { status: 'succeeded', result: {} }, span, logger);

    expect(recorded.owned).toBe(false);
    expect(await storedRun(memory, run)).toMatchObject({ status: 'abandoned', durationMs: 12_000 });
    expect(logger.linesAt()).toEqual([
      {
        level: 'warn',
        message: 'run was no longer ours when it ended (taken over): its outcome is not recorded',
        fields: { outcome: 'succeeded', durationMs: 12_000 },
      },
    ]);
  });

  it('retries the decisive write while the database is out of reach, warning once', async () => {
    const { memory, run, span, recorder, logger, finishCalls } = await setup({ unreachableFinishes: 2 });
    const recorded = await recorder.recordEnd(run, { status: 'succeeded', result: {} }, span, logger);

    expect(recorded.owned).toBe(true);
    expect(finishCalls()).toBe(3);
    expect((await storedRun(memory, run)).status).toBe('succeeded');
    expect(logger.messages('warn')).toEqual(['database out of reach: retrying the record of the run']);
  });

  it('gives up with the database error once the record deadline has passed, leaving the run running', async () => {
    const { memory, run, span, recorder, logger } = await setup({ unreachableFinishes: 100, recordDeadlineMs: 700 });
    await expect(recorder.recordEnd(run, { status: 'succeeded', result: {} }, span, logger)).rejects.toMatchObject({
      name: 'MongoNetworkError',
    });
    expect((await storedRun(memory, run)).status).toBe('running');
  });
});
