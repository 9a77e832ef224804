/**
 * The worker's ONE configuration schema: its own settings plus the settings schemas of
 * the domain packages, each under an environment prefix (see env-mapping.ts).
 */
import {
  adminSeederSettingsSchema,
  ipAnonymizationSettingsSchema,
  refreshTokenCleanupSettingsSchema,
} from '@app/identity';
import { logCleanupSettingsSchema } from '@app/logging';
import { emailQueueSettingsSchema, smtpSettingsSchema } from '@app/notifications';
import { z } from 'zod';
import type { SettingsSection } from './env-mapping.js';
import {
  buildConfigurationSchema,
  loadConfiguration,
  valueAtPath,
  type ConfigurationProblem,
  type Environment,
} from './load.js';

/** Configuration keys of the recurring jobs, in display order. */
export const jobSectionKeys = ['refreshTokenCleanup', 'ipAnonymization', 'emailQueue', 'logCleanup'] as const;
export type JobSectionKey = (typeof jobSectionKeys)[number];

function intervalOverride(jobKey: JobSectionKey): SettingsSection['extraKeys'] {
  return [
    {
      suffix: 'INTERVAL_MS',
      path: `intervalOverridesMs.${jobKey}`,
      kind: 'number',
      description:
        'Overrides the job interval in milliseconds (demos, tests); the package setting is used when unset.',
    },
  ];
}

export const settingsSections: readonly SettingsSection[] = [
  {
    path: 'jobs.refreshTokenCleanup',
    environmentPrefix: 'JOBS_REFRESH_TOKEN_CLEANUP_',
    schema: refreshTokenCleanupSettingsSchema,
    description: 'RefreshTokenCleanupJob (@app/identity): deletes long-expired refresh tokens.',
    extraKeys: intervalOverride('refreshTokenCleanup'),
  },
  {
    path: 'jobs.ipAnonymization',
    environmentPrefix: 'JOBS_IP_ANONYMIZATION_',
    schema: ipAnonymizationSettingsSchema,
    description: 'IpAnonymizationJob (@app/identity): clears old last-login IPs.',
    extraKeys: intervalOverride('ipAnonymization'),
  },
  {
    path: 'jobs.emailQueue',
    environmentPrefix: 'JOBS_EMAIL_QUEUE_',
    schema: emailQueueSettingsSchema,
    description: 'EmailQueueProcessJob (@app/notifications): sends queued emails over SMTP.',
    extraKeys: intervalOverride('emailQueue'),
  },
  {
    path: 'jobs.logCleanup',
    environmentPrefix: 'JOBS_LOG_CLEANUP_',
    schema: logCleanupSettingsSchema,
    description: 'LogCleanupJob (@app/logging): deletes old log entries, log files and job history.',
    extraKeys: intervalOverride('logCleanup'),
  },
  {
    path: 'smtp',
    environmentPrefix: 'SMTP_',
    schema: smtpSettingsSchema,
    description: 'SMTP server of the email queue (@app/notifications). Required while the email job is enabled.',
    optional: true,
  },
  {
    path: 'adminSeeder',
    environmentPrefix: 'ADMIN_',
    schema: adminSeederSettingsSchema,
    description: 'Admin seeder (@app/identity), run once at start-up.',
  },
];

const intervalOverridesSchema = z
  .strictObject(
    Object.fromEntries(
      jobSectionKeys.map((jobKey) => [
        jobKey,
        z.int({ error: 'must be an integer (milliseconds)' }).min(100, { error: 'must be >= 100' }).optional(),
      ]),
    ) as Record<JobSectionKey, z.ZodOptional<z.ZodInt>>,
  )
  .prefault({});

export const workerConfigurationSchema = buildConfigurationSchema(settingsSections).extend({
  intervalOverridesMs: intervalOverridesSchema,
});

/** The shape of the parsed configuration (package sections typed by their own schemas). */
export interface WorkerConfiguration extends z.output<typeof workerConfigurationSchema> {
  readonly mongodb: { uri?: string | undefined; database: string; embeddedDataDirectory?: string | undefined };
  readonly backgroundJobsEnabled: boolean;
  readonly http: { host: string; port: number };
  readonly telemetry: { otlpEndpoint?: string | undefined; serviceName: string; metricExportIntervalMs: number };
  readonly shutdownDeadlineMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  readonly logFormat: 'auto' | 'json' | 'pretty';
  readonly jobs: {
    readonly refreshTokenCleanup: z.output<typeof refreshTokenCleanupSettingsSchema>;
    readonly ipAnonymization: z.output<typeof ipAnonymizationSettingsSchema>;
    readonly emailQueue: z.output<typeof emailQueueSettingsSchema>;
    readonly logCleanup: z.output<typeof logCleanupSettingsSchema>;
  };
  readonly smtp?: z.output<typeof smtpSettingsSchema> | undefined;
  readonly adminSeeder: z.output<typeof adminSeederSettingsSchema>;
  readonly intervalOverridesMs: Partial<Record<JobSectionKey, number>>;
}

export interface LoadWorkerConfigurationOptions {
  readonly environment?: Environment;
  readonly configFile?: string | undefined;
}

/** Loads and validates; throws ConfigurationError listing every bad key. */
export function loadWorkerConfiguration(options: LoadWorkerConfigurationOptions = {}): WorkerConfiguration {
  return loadConfiguration({
    environment: options.environment ?? process.env,
    configFile: options.configFile,
    sections: settingsSections,
    schema: workerConfigurationSchema,
    crossChecks: (values) => [...requireSmtpForEmailJob(values), ...requireAdminPassword(values)],
  }) as WorkerConfiguration;
}

/** SMTP is required only while the email queue job would be scheduled. */
function requireSmtpForEmailJob(values: Readonly<Record<string, unknown>>): ConfigurationProblem[] {
  const jobsEnabled = valueAtPath(values, ['backgroundJobsEnabled']) !== false;
  const emailEnabled = valueAtPath(values, ['jobs', 'emailQueue', 'enabled']) !== false;
  if (!jobsEnabled || !emailEnabled || valueAtPath(values, ['smtp']) !== undefined) return [];
  const reason = 'required while the email queue job is enabled (or set JOBS_EMAIL_QUEUE_ENABLED=false)';
  return [
    { key: 'SMTP_HOST', path: 'smtp.host', message: reason },
    { key: 'SMTP_FROM', path: 'smtp.from', message: reason },
  ];
}

/** The seeder needs a password (or a file holding it) while it is enabled. */
function requireAdminPassword(values: Readonly<Record<string, unknown>>): ConfigurationProblem[] {
  if (valueAtPath(values, ['adminSeeder', 'enabled']) === false) return [];
  if (valueAtPath(values, ['adminSeeder', 'password']) !== undefined) return [];
  if (valueAtPath(values, ['adminSeeder', 'passwordFile']) !== undefined) return [];
  return [
    {
      key: 'ADMIN_PASSWORD',
      path: 'adminSeeder.password',
      message: 'required while the admin seeder is enabled (or set ADMIN_PASSWORD_FILE, or ADMIN_ENABLED=false)',
    },
  ];
}
