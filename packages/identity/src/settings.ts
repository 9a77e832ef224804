/**
 * Settings of the identity jobs and the admin seeder: zod schemas (the worker embeds them in its
 * config schema), their inferred types, and parsers whose errors name each bad key and the reason.
 */
import { z } from 'zod';

const positiveInteger = (maximum: number) =>
  z
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be >= 1' })
    .max(maximum, { error: `must be <= ${maximum}` });

/**
 * A batch is one `_id` list held by the process and sent as one `$in`: 100,000 ObjectIds are
 * about 2.2 MB of command, far below MongoDB's 16 MB limit, and already more than one statement
 * should hold (each batch is one bounded pair of statements; larger batches gain nothing).
 */
const maximumBatchSize = 100_000;

const enabledFlag = z.boolean({ error: 'must be true or false' }).default(true);

/** RefreshTokenCleanupJob: deletes refresh tokens that expired more than `retentionDays` ago. */
export const refreshTokenCleanupSettingsSchema = z
  .object({
    enabled: enabledFlag,
    /**
     * The seed's interval setting, an alias of the worker's `schedule` key (setting both is an
     * error). No default: the default schedule is the job module's (`24h`).
     */
    intervalHours: positiveInteger(24 * 366).optional(),
    /** A token is deleted when it expired MORE than this many days ago. */
    retentionDays: positiveInteger(36_600).default(7),
    /**
     * Tokens deleted per statement (the process holds one `_id` per token of a batch). 5,000: a
     * 90 KB `$in` list; against 1,000, a fifth of the round trips and statements per token
     * (README, benchmarks).
     */
    batchSize: positiveInteger(maximumBatchSize).default(5000),
  })
  .strict();

/** IpAnonymizationJob: clears `lastLoginIp` of users whose last login is at least `retentionDays` old. */
export const ipAnonymizationSettingsSchema = z
  .object({
    enabled: enabledFlag,
    /**
     * The seed's interval setting, an alias of the worker's `schedule` key (setting both is an
     * error). No default: the default schedule is the job module's (`7d`).
     */
    intervalDays: positiveInteger(366).optional(),
    /** An IP is cleared when the last login is AT LEAST this many days old (GDPR). */
    retentionDays: positiveInteger(36_600).default(90),
    /** Users examined per statement (one page of the `lastLoginAt` index walk). */
    batchSize: positiveInteger(maximumBatchSize).default(1000),
  })
  .strict();

const nonEmptyTrimmed = (what: string) =>
  z
    .string({ error: `must be a string (${what})` })
    .trim()
    .min(1, { error: `must not be empty (${what})` });

/** The one-shot admin seeder run at worker start-up. */
export const adminSeederSettingsSchema = z
  .object({
    enabled: enabledFlag,
    email: z
      .string({ error: 'must be a string (an email address)' })
      .trim()
      .toLowerCase()
      .pipe(z.email({ error: 'must be an email address' }))
      .default('admin@localhost.localdomain'),
    userName: nonEmptyTrimmed('a user name').default('admin'),
    roles: z
      .array(nonEmptyTrimmed('a role name'), { error: 'must be a list of role names' })
      .min(1, { error: 'must name at least one role' })
      .default(['Admin']),
    /** The admin password, e.g. from ADMIN_PASSWORD. Never logged; see `redactAdminSeederSettings`. */
    password: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .optional(),
    /** A file holding the password (e.g. a Docker secret); one trailing newline is removed. */
    passwordFile: nonEmptyTrimmed('a file path').optional(),
  })
  .strict()
  .superRefine((settings, context) => {
    if (settings.password !== undefined && settings.passwordFile !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['passwordFile'],
        message: 'set either password or passwordFile, not both',
      });
    }
  });

export type RefreshTokenCleanupSettings = z.output<typeof refreshTokenCleanupSettingsSchema>;
export type RefreshTokenCleanupSettingsInput = z.input<typeof refreshTokenCleanupSettingsSchema>;
export type IpAnonymizationSettings = z.output<typeof ipAnonymizationSettingsSchema>;
export type IpAnonymizationSettingsInput = z.input<typeof ipAnonymizationSettingsSchema>;
export type AdminSeederSettings = z.output<typeof adminSeederSettingsSchema>;
export type AdminSeederSettingsInput = z.input<typeof adminSeederSettingsSchema>;

/** One bad setting: its full key (e.g. `refreshTokenCleanup.retentionDays`) and why. */
export interface SettingsIssue {
  readonly key: string;
  readonly reason: string;
}

/** Thrown by the parsers; the message lists every bad key with its reason, never a value. */
export class SettingsValidationError extends Error {
  override readonly name = 'SettingsValidationError';
  readonly issues: readonly SettingsIssue[];

  constructor(issues: readonly SettingsIssue[]) {
    super(`Invalid settings: ${issues.map((issue) => `${issue.key}: ${issue.reason}`).join('; ')}`);
    this.issues = issues;
  }
}

function describeIssue(issue: z.core.$ZodIssue, keyPrefix: string): SettingsIssue {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => [keyPrefix, ...path, key].join('.'));
    return { key: keys.join(', '), reason: 'unknown key' };
  }
  return { key: [keyPrefix, ...path].join('.'), reason: issue.message };
}

function parseWith<TSchema extends z.ZodType>(
  schema: TSchema,
  input: unknown,
  keyPrefix: string,
): z.output<TSchema> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new SettingsValidationError(
    result.error.issues.map((issue) => describeIssue(issue, keyPrefix)),
  );
}

/** Parses `refreshTokenCleanup` settings (missing keys get defaults); throws `SettingsValidationError`. */
export function parseRefreshTokenCleanupSettings(
  input: unknown,
  keyPrefix = 'refreshTokenCleanup',
): RefreshTokenCleanupSettings {
  return parseWith(refreshTokenCleanupSettingsSchema, input, keyPrefix);
}

/** Parses `ipAnonymization` settings (missing keys get defaults); throws `SettingsValidationError`. */
export function parseIpAnonymizationSettings(
  input: unknown,
  keyPrefix = 'ipAnonymization',
): IpAnonymizationSettings {
  return parseWith(ipAnonymizationSettingsSchema, input, keyPrefix);
}

/** Parses `adminSeeder` settings (missing keys get defaults); throws `SettingsValidationError`. */
export function parseAdminSeederSettings(
  input: unknown,
  keyPrefix = 'adminSeeder',
): AdminSeederSettings {
  return parseWith(adminSeederSettingsSchema, input, keyPrefix);
}

/** A copy safe to log: the password is replaced by `***` (the file path is kept). */
export function redactAdminSeederSettings(
  settings: AdminSeederSettings,
): Omit<AdminSeederSettings, 'password'> & { password?: '***' } {
  const { password, ...rest } = settings;
  return password === undefined ? rest : { ...rest, password: '***' };
}
