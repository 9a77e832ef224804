/** The worker's own settings (connection, HTTP, telemetry, logging, shutdown) as zod schemas. */
import { z } from 'zod';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export const mongodbSettingsSchema = z.strictObject({
  uri: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//u, 'must start with mongodb:// or mongodb+srv://')
    .optional(),
  database: z
    .string()
    .min(1)
    .regex(/^[^/\\. "$]+$/u, 'must not contain / \\ . space " or $')
    .default('background_jobs'),
  embeddedDataDirectory: z.string().min(1).optional(),
});

export const httpSettingsSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.int().min(0).max(65_535).default(8080),
});

export const telemetrySettingsSchema = z.strictObject({
  otlpEndpoint: z.url({ protocol: /^https?$/u }).optional(),
  serviceName: z.string().min(1).default('background-jobs-worker'),
  metricExportIntervalMs: z.int().min(100).default(60_000),
});

export const workerBaseSchema = z.strictObject({
  mongodb: mongodbSettingsSchema.prefault({}),
  backgroundJobsEnabled: z.boolean().default(true),
  http: httpSettingsSchema.prefault({}),
  telemetry: telemetrySettingsSchema.prefault({}),
  shutdownDeadlineMs: z.int().min(0).max(3_600_000).default(30_000),
  logLevel: z.enum(logLevels).default('info'),
  logFormat: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

export type WorkerBaseSettings = z.infer<typeof workerBaseSchema>;
