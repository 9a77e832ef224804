/**
 * OpenTelemetry through the SDK's own set-up (`NodeSDK` of `@opentelemetry/sdk-node`): the
 * resource (default attributes, the detectors of OTEL_NODE_RESOURCE_DETECTORS,
 * OTEL_RESOURCE_ATTRIBUTES, service.version, service.instance.id), the context manager and
 * propagators, the sampler, span limits and the batch span processor (OTEL_BSP_*), and the
 * trace exporter chosen by OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_*: all from the
 * standard environment, which the worker validated first (telemetry-settings.ts).
 *
 * The worker adds what the SDK cannot know: the Prometheus reader served on its own
 * `/metrics` (so metric readers are passed explicitly, with the OTLP reader beside it when
 * metrics are exported), the MongoDB and Node.js runtime instrumentations, and routing of
 * the SDK's diagnostics into the worker's log. Nothing is exported unless an OTLP endpoint
 * (or an exporter) is configured.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RepeatedErrorLog } from '@app/scheduler-agenda';
import {
  context,
  diag,
  DiagLogLevel,
  metrics,
  propagation,
  trace,
  type DiagLogger,
  type ProxyTracerProvider,
} from '@opentelemetry/api';
import { OTLPMetricExporter as OtlpGrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtobufMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import {
  defaultResource,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
  type ResourceDetector,
} from '@opentelemetry/resources';
import {
  ConsoleMetricExporter,
  PeriodicExportingMetricReader,
  type IMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TelemetrySettings } from './config/telemetry-settings.js';
import { mongoDbInstrumentation } from './instrument.js';
import type { WorkerLogger } from './logger.js';

export interface TelemetryOptions {
  readonly settings: TelemetrySettings;
  /** service.version: the worker's package version. */
  readonly serviceVersion: string;
  /** service.instance.id: the job runtime's instance id of this process. */
  readonly instanceId: string;
  /** Where the SDK's diagnostics go (throttled); silent when absent. */
  readonly logger?: WorkerLogger;
  /** Tests: span processors used instead of the exporters the settings choose. */
  readonly spanProcessors?: readonly SpanProcessor[];
  /** The environment the SDK reads; `process.env` by default (the validated values are written into it). */
  readonly environment?: NodeJS.ProcessEnv;
}

export interface Telemetry {
  /** Whether spans or metrics leave the process (an OTLP or console exporter is on). */
  readonly exporting: boolean;
  /** The trace and metric exporters in use, e.g. `{ traces: ['otlp'], metrics: ['prometheus', 'otlp'] }`. */
  readonly exporters: { readonly traces: readonly string[]; readonly metrics: readonly string[] };
  /** Serves the Prometheus text format of every metric. */
  handleMetricsRequest(request: IncomingMessage, response: ServerResponse): void;
  /** Exports pending spans and metrics now. */
  flush(): Promise<void>;
  /** Flushes and stops the SDK; unregisters the globals. */
  shutdown(): Promise<void>;
}

function anyEndpoint(settings: TelemetrySettings, signal: 'traces' | 'metrics'): boolean {
  const specific = signal === 'traces' ? settings.otlpTracesEndpoint : settings.otlpMetricsEndpoint;
  return settings.otlpEndpoint !== undefined || specific !== undefined;
}

/** OTEL_TRACES_EXPORTER, defaulting to `otlp` only when an endpoint is configured. */
export function tracesExporters(settings: TelemetrySettings): string[] {
  const names = settings.tracesExporter ?? (anyEndpoint(settings, 'traces') ? ['otlp'] : ['none']);
  return names.includes('none') ? [] : [...new Set(names)];
}

/** Metric exporters besides Prometheus (always served), defaulting to `otlp` only when an endpoint is configured. */
export function metricsExporters(settings: TelemetrySettings): string[] {
  const names = settings.metricsExporter ?? (anyEndpoint(settings, 'metrics') ? ['otlp'] : ['none']);
  return names.includes('none') ? [] : [...new Set(names.filter((name) => name !== 'prometheus'))];
}

/**
 * Writes the validated, normalised values into the environment the SDK reads: values from a
 * configuration file reach the SDK too, and the worker's defaults (no export without an
 * endpoint) replace the SDK's (export to localhost:4318).
 */
export function applyTelemetryEnvironment(settings: TelemetrySettings, environment: NodeJS.ProcessEnv): void {
  const values: Record<string, string | undefined> = {
    OTEL_SERVICE_NAME: settings.serviceName,
    OTEL_RESOURCE_ATTRIBUTES: settings.resourceAttributes,
    OTEL_EXPORTER_OTLP_ENDPOINT: settings.otlpEndpoint,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: settings.otlpTracesEndpoint,
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: settings.otlpMetricsEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: settings.otlpProtocol,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: settings.otlpTracesProtocol,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: settings.otlpMetricsProtocol,
    OTEL_EXPORTER_OTLP_HEADERS: settings.otlpHeaders,
    OTEL_TRACES_EXPORTER: tracesExporters(settings).join(',') || 'none',
    OTEL_TRACES_SAMPLER: settings.tracesSampler,
    OTEL_TRACES_SAMPLER_ARG: settings.tracesSamplerArg?.toString(),
    OTEL_METRIC_EXPORT_INTERVAL: String(settings.metricExportIntervalMs),
    OTEL_METRIC_EXPORT_TIMEOUT: String(Math.min(settings.metricExportTimeoutMs, settings.metricExportIntervalMs)),
  };
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) Reflect.deleteProperty(environment, name);
    else environment[name] = value;
  }
  // The SDK would install a console logger for its diagnostics (plain text among the JSON
  // lines); the worker installs its own (see routeDiagnostics).
  Reflect.deleteProperty(environment, 'OTEL_LOG_LEVEL');
}

/** The resource detectors of OTEL_NODE_RESOURCE_DETECTORS; `env` (OTEL_RESOURCE_ATTRIBUTES) last so it wins. */
export function resourceDetectors(settings: TelemetrySettings): ResourceDetector[] {
  const names = new Set(settings.resourceDetectors ?? ['host', 'os', 'process', 'env']);
  if (names.has('none')) return [];
  const all = names.has('all');
  const byName: [string, ResourceDetector][] = [
    ['host', hostDetector],
    ['os', osDetector],
    ['process', processDetector],
    ['env', envDetector],
  ];
  // `serviceinstance` would invent a second id: service.instance.id is the runtime's.
  return byName.filter(([name]) => all || names.has(name)).map(([, detector]) => detector);
}

function otlpMetricExporter(settings: TelemetrySettings): PushMetricExporter {
  // Each exporter reads its endpoint, headers, timeout, compression and temporality from the environment.
  switch (settings.otlpMetricsProtocol ?? settings.otlpProtocol) {
    case 'grpc':
      return new OtlpGrpcMetricExporter();
    case 'http/json':
      return new OtlpJsonMetricExporter();
    default:
      return new OtlpProtobufMetricExporter();
  }
}

const diagLevels: Readonly<Record<TelemetrySettings['logLevel'], DiagLogLevel>> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/** The SDK's diagnostics as worker log lines; a failing export repeats every interval, so errors are throttled. */
function routeDiagnostics(logger: WorkerLogger | undefined, level: TelemetrySettings['logLevel']): void {
  if (logger === undefined || level === 'none') return;
  const sdkLogger = logger.child({ component: 'opentelemetry' });
  const repeated = new RepeatedErrorLog({
    logger: {
      debug: (message, fields) => sdkLogger.debug(fields ?? {}, message),
      info: (message, fields) => sdkLogger.info(fields ?? {}, message),
      warn: (message, fields) => sdkLogger.warn(fields ?? {}, message),
      error: (message, fields) => sdkLogger.error(fields ?? {}, message),
    },
  });
  const text = (message: string, args: unknown[]): string =>
    [message, ...args.map((argument) => (argument instanceof Error ? argument.message : JSON.stringify(argument)))].join(' ');
  const diagLogger: DiagLogger = {
    error: (message, ...args) =>
      repeated.failure('opentelemetry sdk error', args.find((argument) => argument instanceof Error) ?? new Error(text(message, args))),
    warn: (message, ...args) => repeated.failure('opentelemetry sdk warning', new Error(text(message, args)), {}, 'warn'),
    info: (message, ...args) => sdkLogger.info(text(message, args)),
    debug: (message, ...args) => sdkLogger.debug(text(message, args)),
    verbose: (message, ...args) => sdkLogger.trace(text(message, args)),
  };
  diag.setLogger(diagLogger, { logLevel: diagLevels[level], suppressOverrideMessage: true });
}

async function forceFlushGlobals(): Promise<void> {
  const tracerProvider = (trace.getTracerProvider() as ProxyTracerProvider).getDelegate();
  if ('forceFlush' in tracerProvider && typeof tracerProvider.forceFlush === 'function') {
    await (tracerProvider.forceFlush as () => Promise<void>)();
  }
  const meterProvider = metrics.getMeterProvider();
  if ('forceFlush' in meterProvider && typeof meterProvider.forceFlush === 'function') {
    await (meterProvider.forceFlush as () => Promise<void>)();
  }
}

export function startTelemetry(options: TelemetryOptions): Telemetry {
  const { settings } = options;
  const environment = options.environment ?? process.env;
  if (settings.sdkDisabled) {
    return {
      exporting: false,
      exporters: { traces: [], metrics: [] },
      handleMetricsRequest: (_request, response) => {
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('# metrics are off: OTEL_SDK_DISABLED=true\n');
      },
      flush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    };
  }
  applyTelemetryEnvironment(settings, environment);
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const metricReaders: IMetricReader[] = [prometheus];
  const metricExporterNames = metricsExporters(settings);
  for (const name of metricExporterNames) {
    metricReaders.push(
      new PeriodicExportingMetricReader({
        exporter: name === 'console' ? new ConsoleMetricExporter() : otlpMetricExporter(settings),
        exportIntervalMillis: settings.metricExportIntervalMs,
        exportTimeoutMillis: Math.min(settings.metricExportTimeoutMs, settings.metricExportIntervalMs),
      }),
    );
  }
  const traceExporterNames = options.spanProcessors === undefined ? tracesExporters(settings) : ['test'];
  // Detected last, so service.instance.id is always the runtime's instance id.
  const instanceDetector: ResourceDetector = {
    detect: () => ({ attributes: { [ATTR_SERVICE_INSTANCE_ID]: options.instanceId } }),
  };
  const sdk = new NodeSDK({
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: settings.serviceName,
        [ATTR_SERVICE_VERSION]: options.serviceVersion,
      }),
    ),
    resourceDetectors: [...resourceDetectors(settings), instanceDetector],
    instrumentations: [mongoDbInstrumentation, new RuntimeNodeInstrumentation()],
    metricReaders,
    // The worker logs with pino; no OpenTelemetry log pipeline.
    logRecordProcessors: [],
    // Traces: the SDK builds the exporters of OTEL_TRACES_EXPORTER (written above); none
    // configured means no tracer provider at all.
    ...(options.spanProcessors === undefined ? {} : { spanProcessors: [...options.spanProcessors] }),
  });
  sdk.start();
  routeDiagnostics(options.logger, settings.logLevel);
  let stopped = false;
  return {
    exporting: traceExporterNames.length > 0 || metricExporterNames.length > 0,
    exporters: { traces: traceExporterNames, metrics: ['prometheus', ...metricExporterNames] },
    handleMetricsRequest: (request, response) => prometheus.getMetricsRequestHandler(request, response),
    flush: forceFlushGlobals,
    shutdown: async () => {
      if (stopped) return;
      stopped = true;
      await sdk.shutdown().catch(() => undefined);
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
      diag.disable();
    },
  };
}
