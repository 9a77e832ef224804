/** The worker's own settings (connection, HTTP, telemetry, logging, job runtime, shutdown) as zod schemas. */
import { defaultLeaseTimeoutMs } from '@app/scheduler-agenda';
import { formatDuration, parseDuration } from '@app/shared-jobs';
import { z } from 'zod';
import { parseConsoleTokens } from '../console/tokens.js';
import { describeMongoUriProblem, uriSetsMaxPoolSize } from './mongo-uri.js';
import { clusterMetricsSettingsSchema, telemetrySettingsSchema } from './telemetry-settings.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export const mongodbSettingsSchema = z
  .strictObject({
    // Parsed as the driver parses it, so a malformed string is a configuration error (exit 2)
    // and not a connection failure; the message never quotes the string (it holds credentials).
    uri: z
      .string()
      .superRefine((uri, context) => {
        const problem = describeMongoUriProblem(uri);
        if (problem !== null) context.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    database: z
      .string()
      .min(1)
      .regex(/^[^/\\. "$]+$/u, 'must not contain / \\ . space " or $')
      .default('background_jobs'),
    embeddedDataDirectory: z.string().min(1).optional(),
    // Connections per worker process (the driver's own default is 100). Runs queue for one
    // instead of each opening its own: a burst of due runs does not grow the pool to 100.
    // Optional here: a MONGODB_URI with its own maxPoolSize keeps it (see defaultMaxPoolSize).
    maxPoolSize: z
      .int({ error: 'must be an integer (connections)' })
      .min(2, { error: 'must be >= 2' })
      .max(500, { error: 'must be <= 500' })
      .optional(),
  })
  .superRefine((settings, context) => {
    if (settings.maxPoolSize !== undefined && settings.uri !== undefined && uriSetsMaxPoolSize(settings.uri)) {
      context.addIssue({
        code: 'custom',
        path: ['maxPoolSize'],
        message: 'MONGODB_URI sets maxPoolSize too: give the pool size in one place',
      });
    }
  });

export const httpSettingsSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.int().min(0).max(65_535).default(8080),
});

export { telemetrySettingsSchema } from './telemetry-settings.js';

/** `name:role:token` entries (CONSOLE_TOKENS or its secrets file), parsed and checked. */
export const consoleTokensSchema = z
  .string({ error: 'must be text: name:role:token entries, one per line or comma-separated' })
  .transform((text, context) => {
    const parsed = parseConsoleTokens(text);
    for (const problem of parsed.problems) context.addIssue({ code: 'custom', message: problem });
    return parsed.problems.length === 0 ? parsed.tokens : z.NEVER;
  });

export const consoleSettingsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  tokens: consoleTokensSchema.optional(),
  secureCookies: z.boolean().default(false),
  sessionTtlMinutes: z
    .int({ error: 'must be an integer (minutes)' })
    .min(5, { error: 'must be >= 5' })
    .max(10_080, { error: 'must be <= 10080 (7 days)' })
    .default(480),
});

/**
 * The lease timeout the worker accepts (SCHEDULER_LEASE_TIMEOUT). Below 10 s the runtime
 * heartbeats every fifth of it and a worker whose heartbeats have not reached the database for
 * four fifths of it aborts its own runs: under 3 s (heartbeats every 600 ms, runs aborted after
 * 2.4 s) a short database stall or a busy host would abort runs. Agenda also locks a job up to
 * one scan (500 ms) before it is due, a lock the lease must outlive.
 */
export const leaseTimeoutLimitsMs = { min: 3000, max: 3_600_000 } as const;

/** A duration as an operator writes it: `10s`, `1h30m`. */
export function durationText(durationMs: number): string {
  return formatDuration(durationMs).replaceAll(' ', '');
}

/** A duration as text (`10s`, `1m30s`: the syntax of the job timing keys), kept as text. */
function durationWithin(limits: { readonly min: number; readonly max: number }, reason: string) {
  return z.string({ error: 'must be text: a duration such as 10s or 1m' }).superRefine((text, context) => {
    if (/^\s*-/u.test(text)) {
      context.addIssue({ code: 'custom', message: `must be a positive duration such as 10s (at least ${durationText(limits.min)})` });
      return;
    }
    let durationMs: number;
    try {
      durationMs = parseDuration(text);
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return;
    }
    if (durationMs < limits.min) {
      context.addIssue({ code: 'custom', message: `must be at least ${durationText(limits.min)} (${reason})` });
    } else if (durationMs > limits.max) {
      context.addIssue({ code: 'custom', message: `must be at most ${durationText(limits.max)}` });
    }
  });
}

/** The job runtime's settings (`createJobRuntime` of @app/scheduler-agenda). */
export const schedulerSettingsSchema = z.strictObject({
  // How long a worker may go without a heartbeat before another one takes over its runs and
  // Agenda locks. Text; the worker passes it to the runtime as leaseTimeoutMs.
  leaseTimeout: durationWithin(
    leaseTimeoutLimitsMs,
    'heartbeats come every fifth of it, and a worker whose heartbeats stop for four fifths of it aborts its runs: shorter, a brief database stall would abort runs',
  ).default(durationText(defaultLeaseTimeoutMs)),
});

export type SchedulerSettings = z.output<typeof schedulerSettingsSchema>;

/** The lease timeout in milliseconds (the text was checked by {@link schedulerSettingsSchema}). */
export function leaseTimeoutMsOf(settings: SchedulerSettings): number {
  return parseDuration(settings.leaseTimeout);
}

export const workerBaseSchema = z.strictObject({
  mongodb: mongodbSettingsSchema.prefault({}),
  backgroundJobsEnabled: z.boolean().default(true),
  http: httpSettingsSchema.prefault({}),
  telemetry: telemetrySettingsSchema.prefault({}),
  console: consoleSettingsSchema.prefault({}),
  clusterMetrics: clusterMetricsSettingsSchema.prefault({}),
  scheduler: schedulerSettingsSchema.prefault({}),
  shutdownDeadlineMs: z.int().min(0).max(3_600_000).default(30_000),
  logLevel: z.enum(logLevels).default('info'),
  logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

export type WorkerBaseSettings = z.infer<typeof workerBaseSchema>;
