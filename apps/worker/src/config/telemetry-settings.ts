/**
 * The `OTEL_*` settings the worker relies on, validated like every other setting (a bad
 * value is named at start-up, exit code 2), and the cluster-metrics settings. The names
 * and meanings are the OpenTelemetry SDK's own (the environment variable specification);
 * the SDK reads the same environment, so the values validated here are the ones it uses.
 * `OTEL_*` variables not listed here are left to the SDK as they are.
 */
import { z } from 'zod';

/** One fixed environment variable (the shape of env-mapping's FixedEnvironmentKey; no import, no cycle). */
export interface TelemetryEnvironmentKey {
  readonly name: string;
  readonly path: string;
  readonly kind: 'string' | 'number' | 'boolean' | 'array';
  readonly description: string;
  readonly defaultValue?: string;
  readonly secret?: boolean;
}

export const otlpProtocols = ['http/protobuf', 'http/json', 'grpc'] as const;
export const tracesExporterNames = ['otlp', 'console', 'none'] as const;
export const metricsExporterNames = ['otlp', 'prometheus', 'console', 'none'] as const;
export const tracesSamplerNames = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export const resourceDetectorNames = ['host', 'os', 'process', 'env', 'serviceinstance', 'all', 'none'] as const;
export const otelLogLevels = ['none', 'error', 'warn', 'info', 'debug', 'verbose', 'all'] as const;

/**
 * Whether `text` is a W3C-baggage-style list `key=value,key2=value2` (the format of
 * OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS), values percent-decodable.
 */
export function isKeyValueList(text: string): boolean {
  return text
    .split(',')
    .filter((entry) => entry.trim() !== '')
    .every((entry) => {
      const separator = entry.indexOf('=');
      if (separator <= 0 || entry.slice(0, separator).trim() === '') return false;
      try {
        decodeURIComponent(entry.slice(separator + 1));
        return true;
      } catch {
        return false;
      }
    });
}

const keyValueList = (what: string) =>
  z.string().refine(isKeyValueList, { error: `must be a comma-separated list of key=value ${what} (values percent-encoded)` });

const lowerCaseEnum = <TValues extends readonly [string, ...string[]]>(values: TValues) =>
  z
    .string()
    .transform((value) => value.trim().toLowerCase())
    .pipe(z.enum(values, { error: `must be one of ${values.join(', ')}` }));

const exporterList = <TValues extends readonly [string, ...string[]]>(values: TValues) =>
  z.array(lowerCaseEnum(values)).min(1, { error: `must name at least one of ${values.join(', ')}` });

const httpUrl = z.url({ protocol: /^https?$/u, error: 'must be an http:// or https:// URL' });

export const telemetrySettingsSchema = z.strictObject({
  sdkDisabled: z.boolean().default(false),
  serviceName: z.string().min(1).default('background-jobs-worker'),
  resourceAttributes: keyValueList('attributes').optional(),
  otlpEndpoint: httpUrl.optional(),
  otlpTracesEndpoint: httpUrl.optional(),
  otlpMetricsEndpoint: httpUrl.optional(),
  otlpProtocol: lowerCaseEnum(otlpProtocols).default('http/protobuf'),
  otlpTracesProtocol: lowerCaseEnum(otlpProtocols).optional(),
  otlpMetricsProtocol: lowerCaseEnum(otlpProtocols).optional(),
  otlpHeaders: keyValueList('headers').optional(),
  tracesExporter: exporterList(tracesExporterNames).optional(),
  metricsExporter: exporterList(metricsExporterNames).optional(),
  metricExportIntervalMs: z.int().min(100).max(3_600_000).default(60_000),
  metricExportTimeoutMs: z.int().min(100).max(3_600_000).default(30_000),
  tracesSampler: lowerCaseEnum(tracesSamplerNames).optional(),
  tracesSamplerArg: z.number().min(0).max(1).optional(),
  resourceDetectors: exporterList(resourceDetectorNames).optional(),
  logLevel: lowerCaseEnum(otelLogLevels).default('warn'),
});

export type TelemetrySettings = z.output<typeof telemetrySettingsSchema>;

/** The alert gauges read from the database (see cluster-metrics.ts). */
export const clusterMetricsSettingsSchema = z.strictObject({
  overdueThresholdMs: z.int().min(0).max(86_400_000).default(60_000),
  refreshIntervalMs: z.int().min(100).max(3_600_000).default(15_000),
});

export type ClusterMetricsSettings = z.output<typeof clusterMetricsSettingsSchema>;

const otlp = 'OTLP exporters';

/** The environment variables of {@link telemetrySettingsSchema} and {@link clusterMetricsSettingsSchema}. */
export const telemetryEnvironmentKeys: readonly TelemetryEnvironmentKey[] = [
  {
    name: 'OTEL_SDK_DISABLED',
    path: 'telemetry.sdkDisabled',
    kind: 'boolean',
    description: 'true: no traces and no metrics at all (/metrics answers 503).',
    defaultValue: 'false',
  },
  {
    name: 'OTEL_SERVICE_NAME',
    path: 'telemetry.serviceName',
    kind: 'string',
    description: 'service.name of traces and metrics.',
    defaultValue: 'background-jobs-worker',
  },
  {
    name: 'OTEL_RESOURCE_ATTRIBUTES',
    path: 'telemetry.resourceAttributes',
    kind: 'string',
    description:
      'Extra resource attributes, key=value,... (e.g. deployment.environment.name=prod). service.version (the package version) and service.instance.id (the runtime instance id) are set by the worker.',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    path: 'telemetry.otlpEndpoint',
    kind: 'string',
    description:
      'OTLP base URL (e.g. http://collector:4318; :4317 for grpc). Set: traces and metrics are exported (unless OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER say otherwise). Not set: nothing leaves the process; Prometheus /metrics always works.',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    path: 'telemetry.otlpTracesEndpoint',
    kind: 'string',
    description: `Full URL for traces (overrides the base URL's /v1/traces), ${otlp}.`,
  },
  {
    name: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
    path: 'telemetry.otlpMetricsEndpoint',
    kind: 'string',
    description: `Full URL for metrics (overrides the base URL's /v1/metrics), ${otlp}.`,
  },
  {
    name: 'OTEL_EXPORTER_OTLP_PROTOCOL',
    path: 'telemetry.otlpProtocol',
    kind: 'string',
    description: 'http/protobuf, http/json or grpc.',
    defaultValue: 'http/protobuf',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
    path: 'telemetry.otlpTracesProtocol',
    kind: 'string',
    description: 'Protocol for traces only (else OTEL_EXPORTER_OTLP_PROTOCOL).',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL',
    path: 'telemetry.otlpMetricsProtocol',
    kind: 'string',
    description: 'Protocol for metrics only (else OTEL_EXPORTER_OTLP_PROTOCOL).',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_HEADERS',
    path: 'telemetry.otlpHeaders',
    kind: 'string',
    description: `Headers of every OTLP request, key=value,... (e.g. an API key; a secret: redacted, may be given as _FILE), ${otlp}.`,
    secret: true,
  },
  {
    name: 'OTEL_TRACES_EXPORTER',
    path: 'telemetry.tracesExporter',
    kind: 'array',
    description: 'otlp, console or none (comma-separated). Default: otlp when an OTLP endpoint is set, else none.',
  },
  {
    name: 'OTEL_METRICS_EXPORTER',
    path: 'telemetry.metricsExporter',
    kind: 'array',
    description:
      'otlp, prometheus, console or none (comma-separated). Default: otlp when an OTLP endpoint is set, else none. Prometheus is always served on /metrics.',
  },
  {
    name: 'OTEL_METRIC_EXPORT_INTERVAL',
    path: 'telemetry.metricExportIntervalMs',
    kind: 'number',
    description: 'Milliseconds between OTLP metric exports.',
    defaultValue: '60000',
  },
  {
    name: 'OTEL_METRIC_EXPORT_TIMEOUT',
    path: 'telemetry.metricExportTimeoutMs',
    kind: 'number',
    description: 'Milliseconds an OTLP metric export may take (at most the interval).',
    defaultValue: '30000',
  },
  {
    name: 'OTEL_TRACES_SAMPLER',
    path: 'telemetry.tracesSampler',
    kind: 'string',
    description: 'always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio (the SDK default: parentbased_always_on).',
  },
  {
    name: 'OTEL_TRACES_SAMPLER_ARG',
    path: 'telemetry.tracesSamplerArg',
    kind: 'number',
    description: 'Sampling ratio 0..1 of the traceidratio samplers.',
  },
  {
    name: 'OTEL_NODE_RESOURCE_DETECTORS',
    path: 'telemetry.resourceDetectors',
    kind: 'array',
    description:
      'host, os, process, env, serviceinstance, all or none (comma-separated). Default: host, os, process, env (service.instance.id is always the runtime instance id).',
  },
  {
    name: 'OTEL_LOG_LEVEL',
    path: 'telemetry.logLevel',
    kind: 'string',
    description: "The SDK's own diagnostics, written as worker log lines: none, error, warn, info, debug, verbose or all.",
    defaultValue: 'warn',
  },
  {
    name: 'METRICS_OVERDUE_THRESHOLD_MS',
    path: 'clusterMetrics.overdueThresholdMs',
    kind: 'number',
    description:
      'job.overdue is 1 for a job whose pending occurrence is due for longer than this, not paused and not running.',
    defaultValue: '60000',
  },
  {
    name: 'METRICS_REFRESH_INTERVAL_MS',
    path: 'clusterMetrics.refreshIntervalMs',
    kind: 'number',
    description:
      'How often the cluster gauges (last success, overdue, paused, next run, email queue depth) are read from the database, in the background: a scrape reads no database.',
    defaultValue: '15000',
  },
];
