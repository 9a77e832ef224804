/**
 * Structured logs: pino JSON lines, pino-pretty when stdout is a terminal (LOG_FORMAT=auto).
 * Secrets are redacted by key wherever they appear, and connection strings lose their
 * credentials through {@link redactMongoUri} before they are logged.
 */
import type { JobLogger } from '@app/shared-jobs';
import { pino, type Logger, type LoggerOptions } from 'pino';

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
];

export function createLogger(options: CreateLoggerOptions): WorkerLogger {
  const baseOptions: LoggerOptions = {
    level: options.level,
    base: { service: 'worker', pid: process.pid },
    redact: { paths: redactedLogPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const pretty =
    options.format === 'pretty' ||
    (options.format === 'auto' && (options.isTerminal ?? process.stdout.isTTY));
  if (pretty && options.destination === undefined) {
    return pino({
      ...baseOptions,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
      },
    });
  }
  return options.destination === undefined
    ? pino(baseOptions)
    : pino(baseOptions, options.destination);
}

/** The shared-jobs JobLogger of one run: every line carries the job name and run id. */
export function createJobLogger(
  logger: WorkerLogger,
  fields: { readonly jobName: string; readonly runId: string } & Readonly<Record<string, unknown>>,
): JobLogger {
  const child = logger.child(fields);
  return {
    debug: (message, extra) => child.debug(extra ?? {}, message),
    info: (message, extra) => child.info(extra ?? {}, message),
    warn: (message, extra) => child.warn(extra ?? {}, message),
    error: (message, extra) => child.error(extra ?? {}, message),
  };
}
