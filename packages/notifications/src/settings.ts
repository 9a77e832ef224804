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

/** `smtp.connectionTimeoutMs` when not set. */
export const defaultSmtpConnectionTimeoutMs = 10_000;

/** The shortest claim lease (`sendingLeaseSeconds`): renewed every second. */
export const minimumSendingLeaseSeconds = 3;

/**
 * Keys of earlier releases: strict parsing rejects them, and the error names the new key (the
 * email queue's own retries are "delivery attempts"; `retry.*` keys are the job's run retries).
 */
export const renamedEmailQueueSettings: Readonly<Record<string, string>> = {
  maxAttempts: 'maxDeliveryAttempts',
  initialRetryDelaySeconds: 'deliveryBackoffInitialSeconds',
  maxRetryDelaySeconds: 'deliveryBackoffMaxSeconds',
};

export const emailQueueSettingsSchema = z
  .object({
    /** When false the job runs and sends nothing. */
    enabled: z.boolean({ error: 'must be a boolean' }).default(true),
    /**
     * The seed's interval setting, an alias of the worker's `schedule` key (setting both is an
     * error). No default: the default schedule is the job module's (`10s`).
     */
    processingIntervalSeconds: positiveInteger(86_400).optional(),
    /** Entries claimed by one statement (and marked sent by one statement). */
    batchSize: positiveInteger(10_000).default(100),
    /** Sends in flight at once. */
    concurrency: positiveInteger(100).default(5),
    /** Emails one run sends at most; the rest waits for the next run (a run stays short). */
    maxEmailsPerRun: positiveInteger(1_000_000).default(10_000),
    /** Delivery attempts per email, the first included (not the job's run retries). */
    maxDeliveryAttempts: positiveInteger(100).default(5),
    /** Delay before the second delivery attempt; it doubles per attempt, ±20 % jitter. */
    deliveryBackoffInitialSeconds: positiveInteger(86_400).default(30),
    /** No delay between delivery attempts exceeds this, jitter included. */
    deliveryBackoffMaxSeconds: positiveInteger(7 * 86_400).default(3600),
    /**
     * The claim lease: a `sending` entry whose claim was not renewed for this long counts as a
     * dead worker's and is claimed again. The live run renews its claims every third of it.
     */
    sendingLeaseSeconds: z
      .number({ error: 'must be a number' })
      .int({ error: 'must be an integer' })
      .min(minimumSendingLeaseSeconds, {
        error: `must be at least ${minimumSendingLeaseSeconds} (claims are renewed every third of the lease; a shorter one lapses on one slow statement)`,
      })
      .max(86_400, { error: 'must be at most 86400' })
      .default(30),
    /** `sent` entries are deleted this many days after they were sent. */
    sentRetentionDays: positiveInteger(36_600).default(30),
    /** `dead` entries are deleted this many days after they were given up (time to look into them). */
    deadRetentionDays: positiveInteger(36_600).default(90),
  })
  .strict()
  .refine((settings) => settings.deliveryBackoffMaxSeconds >= settings.deliveryBackoffInitialSeconds, {
    error: 'must be at least deliveryBackoffInitialSeconds',
    path: ['deliveryBackoffMaxSeconds'],
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
    connectionTimeoutMs: positiveInteger(600_000).default(defaultSmtpConnectionTimeoutMs),
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
    throw new ValidationError('invalid email queue settings', toFieldIssues(result.error, renamedEmailQueueSettings));
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
