/**
 * Structured logs: pino JSON lines; pretty lines (pino-pretty, a development dependency)
 * when stdout is a terminal and the package is installed. Errors are serialized with
 * their stack wherever they are logged (`error` or `err`), and every line written while a
 * span is active carries its `trace_id` and `span_id` (the names of the OpenTelemetry log
 * data model), so a run's lines lead to its trace. Secrets are redacted by key wherever
 * they appear, and connection strings lose their credentials through `redactMongoUri`.
 */
import { createRequire } from 'node:module';
import type { JobLogger } from '@app/shared-jobs';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, stdSerializers, type Logger, type LoggerOptions } from 'pino';

export type WorkerLogger = Logger;

export interface CreateLoggerOptions {
  readonly level: string;
  readonly format: 'auto' | 'json' | 'pretty';
  /** Where JSON lines go (tests capture them); defaults to stdout. */
  readonly destination?: NodeJS.WritableStream;
  readonly isTerminal?: boolean;
}

/** Key names whose values never reach a log line, at any depth pino's redaction reaches. */
export const redactedLogPaths = [
  'password',
  '*.password',
  '*.*.password',
  'pass',
  '*.pass',
  '*.*.pass',
  'auth.pass',
  '*.auth.pass',
  'adminPassword',
  '*.adminPassword',
  'uri',
  '*.uri',
  'mongoUri',
  '*.mongoUri',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'otlpHeaders',
  '*.otlpHeaders',
];

/**
 * An error as a log field: `{ type, message, stack, code?, cause? }` for an `Error` (pino's
 * serializer, causes included); a plain `{ name, message, stack }` (the runtime's
 * JobRunError) or any other value is kept as it is.
 */
export function serializeError(value: unknown): unknown {
  return value instanceof Error ? stdSerializers.errWithCause(value) : value;
}

/** The trace and span ids of the active span, for every log line written inside it. */
export function activeTraceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return {
    trace_id: spanContext.traceId,
    span_id: spanContext.spanId,
    trace_flags: `0${spanContext.traceFlags.toString(16)}`.slice(-2),
  };
}

/** Whether pino-pretty can be loaded (a development dependency: absent from the production image). */
export function isPrettyPrinterAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function createLogger(options: CreateLoggerOptions): WorkerLogger {
  const baseOptions: LoggerOptions = {
    level: options.level,
    base: { service: 'worker', pid: process.pid },
    redact: { paths: redactedLogPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { error: serializeError, err: serializeError },
    mixin: activeTraceFields,
  };
  const wantsPretty =
    options.format === 'pretty' ||
    (options.format === 'auto' && (options.isTerminal ?? process.stdout.isTTY));
  if (wantsPretty && options.destination === undefined && isPrettyPrinterAvailable()) {
    return pino({
      ...baseOptions,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
      },
    });
  }
  const logger =
    options.destination === undefined ? pino(baseOptions) : pino(baseOptions, options.destination);
  if (options.format === 'pretty' && options.destination === undefined) {
    logger.warn('LOG_FORMAT=pretty but pino-pretty is not installed (a development dependency): JSON lines instead');
  }
  return logger;
}

/** The shared-jobs JobLogger over a pino logger (the runtime's and the handlers' lines). */
export function toJobLogger(logger: WorkerLogger): JobLogger {
  return {
    debug: (message, fields) => logger.debug(fields ?? {}, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  };
}

/** The shared-jobs JobLogger of one run: every line carries the job name and run id. */
export function createJobLogger(
  logger: WorkerLogger,
  fields: { readonly jobName: string; readonly runId: string } & Readonly<Record<string, unknown>>,
): JobLogger {
  return toJobLogger(logger.child(fields));
}
