/**
 * The worker's ONE configuration schema: its own settings plus the settings schemas of
 * the domain packages, each under an environment prefix (see env-mapping.ts).
 */
import { adminSeederSettingsSchema } from '@app/identity';
import { smtpSettingsSchema } from '@app/notifications';
import { isLoopbackHost, type ConsoleToken } from '../console/tokens.js';
import { workerJobModules } from '../job-modules.js';
import { toEnvironmentSuffix, type SettingsSection } from './env-mapping.js';
import { environmentKeyOf, jobSettingsSection, jobTimingSection, resolveJobTiming, type JobTimingSettings, type ResolvedJobTiming } from './job-timing.js';
import type { ClusterMetricsSettings, TelemetrySettings } from './telemetry-settings.js';
import {
  buildConfigurationSchema,
  ConfigurationError,
  loadConfiguration,
  valueAtPath,
  type ConfigurationProblem,
  type Environment,
} from './load.js';
import type { z } from 'zod';

/** Sections other than the jobs', which a job module may require (`requiredSections`). */
const sharedSections: readonly SettingsSection[] = [
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

/** Each job's own section and its scheduling keys (same prefix), then the shared sections. */
export const settingsSections: readonly SettingsSection[] = [
  ...workerJobModules.flatMap((module) => [
    { ...jobSettingsSection(module), retiredKeys: [{ suffix: 'INTERVAL_MS', replacement: `set ${environmentKeyOf(module, 'schedule')} (an interval such as 2s or 24h, or a cron expression)` }] },
    jobTimingSection(module),
  ]),
  ...sharedSections,
];

export const workerConfigurationSchema = buildConfigurationSchema(settingsSections);

/** A job's section: its package's settings, `enabled` among them. */
export type JobSettings = Readonly<Record<string, unknown>> & { readonly enabled?: boolean };

/** The shape of the parsed configuration (package sections typed by their own schemas). */
export interface WorkerConfiguration {
  readonly mongodb: { uri?: string | undefined; database: string; embeddedDataDirectory?: string | undefined; maxPoolSize?: number | undefined };
  readonly backgroundJobsEnabled: boolean;
  readonly http: { host: string; port: number };
  readonly telemetry: TelemetrySettings;
  readonly clusterMetrics: ClusterMetricsSettings;
  readonly console: {
    enabled: boolean;
    tokens?: ConsoleToken[] | undefined;
    secureCookies: boolean;
    sessionTtlMinutes: number;
  };
  readonly scheduler: { leaseTimeout: string };
  readonly shutdownDeadlineMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** Each job module's section, by its `configKey`. */
  readonly jobs: Readonly<Record<string, JobSettings>>;
  /** Each job module's scheduling keys as given, by its `configKey`. */
  readonly timing: Readonly<Record<string, JobTimingSettings>>;
  /** Each job module's timing and retries, resolved from its keys, aliases and defaults. */
  readonly resolvedTiming: Readonly<Record<string, ResolvedJobTiming>>;
  readonly smtp?: z.output<typeof smtpSettingsSchema> | undefined;
  readonly adminSeeder: z.output<typeof adminSeederSettingsSchema>;
}

export interface LoadWorkerConfigurationOptions {
  readonly environment?: Environment;
  readonly configFile?: string | undefined;
}

/** Loads and validates; throws ConfigurationError listing every bad key. */
export function loadWorkerConfiguration(options: LoadWorkerConfigurationOptions = {}): WorkerConfiguration {
  const parsed = loadConfiguration({
    environment: options.environment ?? process.env,
    configFile: options.configFile,
    sections: settingsSections,
    schema: workerConfigurationSchema,
    crossChecks: (values) => [...requireSectionsOfEnabledJobs(values), ...requireAdminPassword(values)],
  }) as Omit<WorkerConfiguration, 'resolvedTiming'>;
  const problems: ConfigurationProblem[] = [];
  const resolvedTiming: Record<string, ResolvedJobTiming> = {};
  for (const module of workerJobModules) {
    const resolution = resolveJobTiming(module, parsed.jobs[module.configKey] ?? {}, parsed.timing[module.configKey] ?? {});
    if (resolution.ok) resolvedTiming[module.configKey] = resolution.value;
    else problems.push(...resolution.problems);
  }
  if (problems.length > 0) throw new ConfigurationError(problems);
  return { ...parsed, resolvedTiming };
}

/** A section a job module requires (`smtp` for the email queue) must be set while the job is enabled. */
function requireSectionsOfEnabledJobs(values: Readonly<Record<string, unknown>>): ConfigurationProblem[] {
  if (valueAtPath(values, ['backgroundJobsEnabled']) === false) return [];
  const problems: ConfigurationProblem[] = [];
  for (const module of workerJobModules) {
    if (valueAtPath(values, ['jobs', module.configKey, 'enabled']) === false) continue;
    for (const sectionPath of module.requiredSections ?? []) {
      if (valueAtPath(values, sectionPath.split('.')) !== undefined) continue;
      const section = sharedSections.find((candidate) => candidate.path === sectionPath);
      if (section === undefined) throw new Error(`job module ${module.jobName} requires section "${sectionPath}", which the worker does not have`);
      const reason = `required while ${module.jobName} is enabled (or set ${environmentKeyOf(module, 'enabled')}=false)`;
      for (const [fieldName, fieldSchema] of Object.entries(section.schema.shape)) {
        // Fields with a default or optional ones are not asked for.
        if ((fieldSchema as z.ZodType).isOptional()) continue;
        problems.push({ key: `${section.environmentPrefix}${toEnvironmentSuffix(fieldName)}`, path: `${sectionPath}.${fieldName}`, message: reason });
      }
    }
  }
  return problems;
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

/**
 * The console must not be open to the network: on a non-loopback HTTP_HOST it needs tokens
 * (or CONSOLE_ENABLED=false). Checked by `worker start` (exit 2) and by `startWorker`.
 */
export function findConsoleExposureProblems(configuration: WorkerConfiguration): ConfigurationProblem[] {
  if (!configuration.console.enabled || isLoopbackHost(configuration.http.host)) return [];
  if ((configuration.console.tokens?.length ?? 0) > 0) return [];
  return [
    {
      key: 'CONSOLE_TOKENS',
      path: 'console.tokens',
      message:
        `required when HTTP_HOST (${configuration.http.host}) is not a loopback address: the console and /api would be open ` +
        'to the network. Set CONSOLE_TOKENS or CONSOLE_TOKENS_FILE (name:role:token per line), or CONSOLE_ENABLED=false',
    },
  ];
}
