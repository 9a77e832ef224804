/**
 * Configuration of the email queue and the SMTP adapter, as zod schemas the worker
 * embeds in its own configuration schema. Parsers throw a {@link ValidationError}
 * naming every bad key and the reason; the SMTP password never appears in it.
 */
import { z } from 'zod';
import { toFieldIssues, ValidationError } from './validation.js';

const positiveInteger = (maximum: number) =>
  z
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be at least 1' })
    .max(maximum, { error: `must be at most ${maximum}` });

export const emailQueueSettingsSchema = z
  .object({
    /** When false the job runs and sends nothing. */
    enabled: z.boolean({ error: 'must be a boolean' }).default(true),
    processingIntervalSeconds: positiveInteger(86_400).default(10),
    /** Entries taken per run. */
    batchSize: positiveInteger(10_000).default(50),
    /** Sends in flight at once. */
    concurrency: positiveInteger(100).default(5),
    /** Send attempts per email, the first included. */
    maxAttempts: positiveInteger(100).default(5),
    initialRetryDelaySeconds: positiveInteger(86_400).default(30),
    maxRetryDelaySeconds: positiveInteger(7 * 86_400).default(3600),
    /** How long a `sending` entry stays claimed before it counts as a crashed worker's. */
    sendingLeaseSeconds: positiveInteger(86_400).default(300),
  })
  .strict()
  .refine((settings) => settings.maxRetryDelaySeconds >= settings.initialRetryDelaySeconds, {
    error: 'must be at least initialRetryDelaySeconds',
    path: ['maxRetryDelaySeconds'],
  });

export type EmailQueueSettings = z.output<typeof emailQueueSettingsSchema>;
export type EmailQueueSettingsInput = z.input<typeof emailQueueSettingsSchema>;

export const smtpSettingsSchema = z
  .object({
    host: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' }),
    port: z
      .number({ error: 'must be a number' })
      .int({ error: 'must be an integer' })
      .min(1, { error: 'must be between 1 and 65535' })
      .max(65_535, { error: 'must be between 1 and 65535' })
      .default(587),
    /** TLS from the first byte (port 465). When false, STARTTLS is used if offered. */
    secure: z.boolean({ error: 'must be a boolean' }).default(false),
    /** Refuse to send unless STARTTLS succeeds (ignored when `secure`). */
    requireTls: z.boolean({ error: 'must be a boolean' }).default(false),
    /** Verify the server certificate. */
    rejectUnauthorized: z.boolean({ error: 'must be a boolean' }).default(true),
    user: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).optional(),
    password: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .optional(),
    /** Default sender address of every email that does not set its own. */
    from: z.email({ error: 'must be an email address' }),
    /** Pooled SMTP connections. */
    maxConnections: positiveInteger(100).default(5),
    connectionTimeoutMs: positiveInteger(600_000).default(10_000),
  })
  .strict()
  .refine((settings) => (settings.user === undefined) === (settings.password === undefined), {
    error: 'user and password must be given together',
    path: ['password'],
  });

export type SmtpSettings = z.output<typeof smtpSettingsSchema>;
export type SmtpSettingsInput = z.input<typeof smtpSettingsSchema>;

/** Parses and defaults email queue settings; throws naming each bad key. */
export function parseEmailQueueSettings(input: unknown): EmailQueueSettings {
  const result = emailQueueSettingsSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ValidationError('invalid email queue settings', toFieldIssues(result.error));
  }
  return result.data;
}

/**
 * Parses and defaults SMTP settings; throws naming each bad key. zod's messages
 * never echo the value, so a bad password is named but never shown.
 */
export function parseSmtpSettings(input: unknown): SmtpSettings {
  const result = smtpSettingsSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ValidationError('invalid SMTP settings', toFieldIssues(result.error));
  }
  return result.data;
}
