/** The run span's outcome: result attributes, and errors that are not Error instances. */
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { createRunTelemetry } from '../../src/index.js';

describe('run telemetry', () => {
  it('records a thrown non-Error as an exception event and an error status', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const span = provider.getTracer('test').startSpan('job.run');
    const telemetry = createRunTelemetry();
    telemetry.recordOutcome(span, 'failed', null, 'a string was thrown');
    span.end();
    const [finished] = exporter.getFinishedSpans();
    expect(finished?.attributes['job.outcome']).toBe('failed');
    expect(finished?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'a string was thrown' });
    expect(finished?.events[0]?.attributes).toMatchObject({ 'exception.type': 'NonError', 'exception.message': 'a string was thrown' });
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
