/**
 * Spans and metrics through `@opentelemetry/api` only: without an installed SDK they are
 * no-ops; the worker installs the SDK and exporters.
 *
 * Names follow the OpenTelemetry naming rules: dot-separated namespaces, snake_case within
 * a component, units in `unit` (UCUM; `{run}` style annotations for counts), never in
 * the name. Durations are seconds, with explicit buckets from 10 ms up to an hour (the
 * SDK's default buckets stop at 10 s, and jobs run for minutes).
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
  type UpDownCounter,
} from '@opentelemetry/api';
import { toJobRunError, type JobResultSummary } from '@app/shared-jobs';

export const instrumentationName = '@app/scheduler-agenda';

/** The runtime's metric names (OpenTelemetry names; Prometheus shows dots as underscores). */
export const runtimeMetricNames = {
  /** Counter `{run}`: runs that ended, by `job.name` and `job.outcome`. */
  runs: 'job.runs',
  /** Histogram `s`: how long runs took, by `job.name` and `job.outcome`. */
  runDuration: 'job.run.duration',
  /** Histogram `s`: handler start minus the instant the occurrence was due, by `job.name`. */
  scheduleLag: 'job.schedule.lag',
  /** Counter `{claim}`: due occurrences not run here, by `job.name` and `job.lost_claim.reason`. */
  lostClaims: 'job.lost_claims',
  /** UpDownCounter `{run}`: runs executing in this process now, by `job.name`. */
  activeRuns: 'job.active_runs',
} as const;

/** Bucket boundaries (seconds) of `job.run.duration`: 10 ms to one hour. */
export const runDurationBucketsSeconds: readonly number[] = [
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600,
];

/** Bucket boundaries (seconds) of `job.schedule.lag`: 5 ms to one hour. */
export const scheduleLagBucketsSeconds: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
];

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
  /** Counts a run as executing in this process; call the returned function once, when it ends. */
  trackActiveRun(jobName: string): () => void;
}

export function createRunTelemetry(): RunTelemetry {
  const tracer = trace.getTracer(instrumentationName);
  const meter = metrics.getMeter(instrumentationName);
  const runs: Counter = meter.createCounter(runtimeMetricNames.runs, {
    description: 'Job runs that ended, by outcome',
    unit: '{run}',
  });
  const duration: Histogram = meter.createHistogram(runtimeMetricNames.runDuration, {
    description: 'Duration of a job run',
    unit: 's',
    advice: { explicitBucketBoundaries: [...runDurationBucketsSeconds] },
  });
  const lag: Histogram = meter.createHistogram(runtimeMetricNames.scheduleLag, {
    description: 'Handler start minus the instant the occurrence was due',
    unit: 's',
    advice: { explicitBucketBoundaries: [...scheduleLagBucketsSeconds] },
  });
  const lostClaims: Counter = meter.createCounter(runtimeMetricNames.lostClaims, {
    description: 'Due occurrences not run here: done already, running or claimed elsewhere, exhausted, misfired',
    unit: '{claim}',
  });
  const activeRuns: UpDownCounter = meter.createUpDownCounter(runtimeMetricNames.activeRuns, {
    description: 'Job runs executing in this process',
    unit: '{run}',
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
      duration.record(Math.max(0, durationMs) / 1000, { 'job.name': jobName, 'job.outcome': outcome });
    },
    recordLag(jobName, lagMs) {
      lag.record(Math.max(0, lagMs) / 1000, { 'job.name': jobName });
    },
    countLostClaim(jobName, reason) {
      lostClaims.add(1, { 'job.name': jobName, 'job.lost_claim.reason': reason });
    },
    trackActiveRun(jobName) {
      const attributes = { 'job.name': jobName };
      activeRuns.add(1, attributes);
      return () => activeRuns.add(-1, attributes);
    },
  };
}
