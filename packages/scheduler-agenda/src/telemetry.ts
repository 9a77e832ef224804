/**
 * Spans and metrics through `@opentelemetry/api` only: without an installed SDK they are
 * no-ops; the worker installs the SDK and exporters.
 */
import {
  context,
  metrics,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Span,
} from '@opentelemetry/api';
import { toJobRunError, type JobResultSummary } from '@app/shared-jobs';

export const instrumentationName = '@app/scheduler-agenda';

export interface RunSpanInput {
  readonly jobName: string;
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly runId: string;
  readonly instance: string;
}

export interface RunTelemetry {
  /** Runs `work` inside a `job.run` span (its context active) and ends the span. */
  inRunSpan<TValue>(input: RunSpanInput, work: (span: Span) => Promise<TValue>): Promise<TValue>;
  recordOutcome(span: Span, outcome: string, result: JobResultSummary | null, error: unknown): void;
  countRun(jobName: string, outcome: string, durationMs: number): void;
  recordLag(jobName: string, lagMs: number): void;
  countLostClaim(jobName: string, reason: string): void;
}

export function createRunTelemetry(): RunTelemetry {
  const tracer = trace.getTracer(instrumentationName);
  const meter = metrics.getMeter(instrumentationName);
  const runs: Counter = meter.createCounter('job.runs', {
    description: 'Job runs by outcome',
  });
  const duration: Histogram = meter.createHistogram('job.run.duration', {
    description: 'Duration of a job run',
    unit: 'ms',
  });
  const lag: Histogram = meter.createHistogram('job.schedule.lag', {
    description: 'Handler start minus the instant the occurrence was due',
    unit: 'ms',
  });
  const lostClaims: Counter = meter.createCounter('job.claims.lost', {
    description: 'Occurrences skipped because another instance owned the claim',
  });
  return {
    async inRunSpan(input, work) {
      const attributes: Attributes = {
        'job.name': input.jobName,
        'job.occurrence_at': input.occurrenceAt.toISOString(),
        'job.attempt': input.attempt,
        'job.run_id': input.runId,
        'job.instance': input.instance,
      };
      const span = tracer.startSpan('job.run', { attributes });
      try {
        return await context.with(trace.setSpan(context.active(), span), () => work(span));
      } finally {
        span.end();
      }
    },
    recordOutcome(span, outcome, result, error) {
      span.setAttribute('job.outcome', outcome);
      for (const [key, value] of Object.entries(result ?? {})) {
        span.setAttribute(`job.result.${key}`, value);
      }
      if (error !== null && error !== undefined) {
        const { name, message } = toJobRunError(error);
        span.recordException(error instanceof Error ? error : { name, message });
        span.setStatus({ code: SpanStatusCode.ERROR, message });
      }
    },
    countRun(jobName, outcome, durationMs) {
      runs.add(1, { 'job.name': jobName, 'job.outcome': outcome });
      duration.record(durationMs, { 'job.name': jobName, 'job.outcome': outcome });
    },
    recordLag(jobName, lagMs) {
      lag.record(Math.max(0, lagMs), { 'job.name': jobName });
    },
    countLostClaim(jobName, reason) {
      lostClaims.add(1, { 'job.name': jobName, 'job.claim_lost_reason': reason });
    },
  };
}
