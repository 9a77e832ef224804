/**
 * OpenTelemetry SDK set-up: a tracer provider (the runtime's `job.run` spans and the
 * MongoDB driver's child spans), a meter provider read by the Prometheus exporter for
 * `/metrics`, and OTLP/HTTP exporters only when an endpoint is configured. It registers
 * the globals that `@opentelemetry/api` users (the scheduler package) write to.
 *
 * The MongoDB instrumentation itself is registered by `instrument.ts`, which must be
 * imported before mongoose/mongodb load; here it receives the real providers.
 */
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type IMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { mongoDbInstrumentation } from './instrument.js';

export interface TelemetryOptions {
  readonly serviceName: string;
  readonly serviceVersion?: string;
  /** OTLP/HTTP base URL; undefined: nothing is exported over the network. */
  readonly otlpEndpoint?: string | undefined;
  readonly metricExportIntervalMs?: number;
  /** Extra span processors (tests pass a SimpleSpanProcessor over an InMemorySpanExporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

export interface Telemetry {
  readonly tracerProvider: TracerProvider;
  readonly meterProvider: MeterProvider;
  /** Whether spans and metrics are sent to an OTLP endpoint. */
  readonly exporting: boolean;
  /** Serves the Prometheus text format of every metric. */
  handleMetricsRequest(request: IncomingMessage, response: ServerResponse): void;
  /** Flushes pending spans/metrics. */
  flush(): Promise<void>;
  /** Flushes and stops exporters; unregisters the globals. */
  shutdown(): Promise<void>;
}

function joinUrl(base: string, suffix: string): string {
  return `${base.replace(/\/+$/u, '')}/${suffix}`;
}

export function startTelemetry(options: TelemetryOptions): Telemetry {
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: options.serviceName,
    [ATTR_SERVICE_VERSION]: options.serviceVersion ?? '0.0.0',
    'service.instance.id': `${hostname()}/${process.pid}`,
  });
  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  const metricReaders: IMetricReader[] = [];
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  metricReaders.push(prometheus);
  const endpoint = options.otlpEndpoint;
  if (endpoint !== undefined) {
    spanProcessors.push(
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: joinUrl(endpoint, 'v1/traces') }),
        scheduledDelayMillis: 1000,
      }),
    );
    metricReaders.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: joinUrl(endpoint, 'v1/metrics') }),
        exportIntervalMillis: options.metricExportIntervalMs ?? 60_000,
      }),
    );
  }
  const tracerProvider = new TracerProvider({ resource, spanProcessors });
  const meterProvider = new MeterProvider({ resource, readers: metricReaders });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  mongoDbInstrumentation.setTracerProvider(tracerProvider);
  mongoDbInstrumentation.setMeterProvider(meterProvider);
  return {
    tracerProvider,
    meterProvider,
    exporting: endpoint !== undefined,
    handleMetricsRequest: (request, response) => prometheus.getMetricsRequestHandler(request, response),
    flush: async () => {
      await tracerProvider.forceFlush();
      await meterProvider.forceFlush();
    },
    shutdown: async () => {
      await tracerProvider.shutdown().catch(() => undefined);
      await meterProvider.shutdown().catch(() => undefined);
      trace.disable();
      metrics.disable();
      context.disable();
    },
  };
}
