/**
 * The scheduling keys the worker owns for every job module: when it runs (`SCHEDULE`,
 * `TIME_ZONE`, `MISFIRE`) and how a failed run is retried (`RETRY_*`). They share the job's
 * environment prefix (`JOBS_EMAIL_QUEUE_SCHEDULE`) and live at `timing.<configKey>` in the
 * configuration object, next to the package's own section at `jobs.<configKey>`.
 *
 * Each field is checked on its own by the schema; {@link resolveJobTiming} then combines the
 * fields with the module's defaults and its interval alias, and reports what only the
 * combination can show (a catch-up policy on an interval, both a schedule and an alias set).
 */
import {
  assertMisfireFitsSchedule,
  assertValidRetryPolicy,
  assertValidTimeZone,
  parseDuration,
  parseMisfirePolicy,
  parseSchedule,
  type JobModule,
  type JobTiming,
  type RetryPolicy,
} from '@app/shared-jobs';
import { z } from 'zod';
import type { SettingsSection } from './env-mapping.js';
import { toEnvironmentSuffix } from './env-mapping.js';
import { durationText } from './schema.js';
import type { ConfigurationProblem } from './load.js';

/** A job module as the worker holds it: settings, timing and services checked by the worker. */
export type WorkerJobModule = JobModule<z.ZodObject, unknown, unknown>;

/** A field whose text is checked by one of the shared parsers; the parser's message is the error. */
function parsedText(parse: (text: string) => unknown) {
  return z.string({ error: 'must be text' }).superRefine((text, context) => {
    try {
      parse(text);
    } catch (error) {
      context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    }
  });
}

/** No defaults here: a missing field takes the module's default in {@link resolveJobTiming}. */
export const jobTimingSettingsSchema = z.strictObject({
  // The time zone is checked with the schedule in resolveJobTiming; UTC here checks the syntax.
  schedule: parsedText((text) => parseSchedule(text)).optional(),
  timeZone: parsedText((text) => assertValidTimeZone(text)).optional(),
  misfire: parsedText(parseMisfirePolicy).optional(),
  retryMaxAttempts: z
    .int({ error: 'must be an integer (attempts, the first included)' })
    .min(1, { error: 'must be >= 1 (1 = no retry)' })
    .max(100, { error: 'must be <= 100' })
    .optional(),
  retryInitialDelay: parsedText(parseDuration).optional(),
  retryMaxDelay: parsedText(parseDuration).optional(),
});

export type JobTimingSettings = z.output<typeof jobTimingSettingsSchema>;

/** What each key means, for the configuration reference. */
const timingFieldMeaning: Readonly<Record<keyof JobTimingSettings, string>> = {
  schedule:
    'When it runs: an interval after the last start (`10s`, `24h`, `1h30m`) or a cron expression (`0 3 * * *`, 6 fields with seconds, `@daily`). docs/schedules.md',
  timeZone: 'IANA time zone of a cron schedule (`Europe/Berlin`); a cron schedule only.',
  misfire:
    'What happens to occurrences missed while no worker ran: `once` (one run now), `skip` (wait for the next), or `catch-up:<window>[:<max runs>]` (cron only).',
  retryMaxAttempts: 'Attempts per occurrence, the first included (1 = no retry).',
  retryInitialDelay: 'Delay before the first retry (`30s`, `5m`); doubles per retry, ±20 % jitter.',
  retryMaxDelay: 'Longest delay between retries.',
};

function formatDefault(module: WorkerJobModule, field: keyof JobTimingSettings): string {
  const { defaults } = module;
  switch (field) {
    case 'schedule':
      return defaults.schedule;
    case 'timeZone':
      return defaults.timeZone ?? 'UTC';
    case 'misfire':
      return defaults.misfire;
    case 'retryMaxAttempts':
      return String(defaults.retry.maxAttempts);
    case 'retryInitialDelay':
      return durationText(defaults.retry.initialDelayMs);
    case 'retryMaxDelay':
      return durationText(defaults.retry.maxDelayMs);
  }
}

/** The package's own section of a module: `jobs.<configKey>`. */
export function jobSettingsSection(module: WorkerJobModule): SettingsSection {
  return {
    path: `jobs.${module.configKey}`,
    environmentPrefix: module.environmentPrefix,
    schema: module.settingsSchema,
    renamedFields: module.renamedSettings ?? {},
    description: module.description,
    fieldReference: Object.fromEntries(
      (module.intervalAliases ?? []).map((alias) => [
        alias.settingsKey,
        {
          defaultValue: '-',
          meaning: `${module.jobName}: the interval in ${unitName(alias.unitMs)}, the older name of an interval ${environmentKeyOf(module, 'schedule')} (set one of them).`,
        },
      ]),
    ),
  };
}

function unitName(unitMs: number): string {
  const names: Readonly<Record<number, string>> = { 1000: 'seconds', 60_000: 'minutes', 3_600_000: 'hours', 86_400_000: 'days' };
  return names[unitMs] ?? `units of ${unitMs} ms`;
}

/** The worker's scheduling keys of a module: `timing.<configKey>`, same prefix. */
export function jobTimingSection(module: WorkerJobModule): SettingsSection {
  const fields = Object.keys(jobTimingSettingsSchema.shape) as (keyof JobTimingSettings)[];
  return {
    path: `timing.${module.configKey}`,
    environmentPrefix: module.environmentPrefix,
    schema: jobTimingSettingsSchema,
    description: `${module.jobName}: when it runs and how a failed run is retried.`,
    fieldReference: Object.fromEntries(
      fields.map((field) => [field, { defaultValue: formatDefault(module, field), meaning: `${module.jobName}: ${timingFieldMeaning[field]}` }]),
    ),
  };
}

/** The environment variable of a field of a module's sections (`JOBS_LOG_CLEANUP_INTERVAL_HOURS`). */
export function environmentKeyOf(module: WorkerJobModule, fieldName: string): string {
  return `${module.environmentPrefix}${toEnvironmentSuffix(fieldName)}`;
}

export interface ResolvedJobTiming {
  readonly timing: JobTiming;
  readonly retry: RetryPolicy;
}

export type JobTimingResolution =
  | { readonly ok: true; readonly value: ResolvedJobTiming }
  | { readonly ok: false; readonly problems: readonly ConfigurationProblem[] };

/**
 * Combines a module's timing keys, its interval alias (the seed's `intervalHours`, ...) and its
 * defaults. `settings` is the module's parsed section; `timing` the parsed timing section.
 */
export function resolveJobTiming(
  module: WorkerJobModule,
  settings: Readonly<Record<string, unknown>>,
  timing: JobTimingSettings,
): JobTimingResolution {
  const problems: ConfigurationProblem[] = [];
  const problem = (field: string, section: 'jobs' | 'timing', message: string): void => {
    problems.push({ key: environmentKeyOf(module, field), path: `${section}.${module.configKey}.${field}`, message });
  };
  const scheduleKey = environmentKeyOf(module, 'schedule');
  const aliases = (module.intervalAliases ?? []).filter((alias) => settings[alias.settingsKey] !== undefined);
  for (const alias of aliases) {
    if (timing.schedule !== undefined) {
      problem(alias.settingsKey, 'jobs', `set either ${scheduleKey} or ${environmentKeyOf(module, alias.settingsKey)}, not both (${alias.settingsKey} is the older name of an interval schedule)`);
    }
  }
  if (aliases.length > 1) {
    problem(aliases[1]?.settingsKey ?? '', 'jobs', `set only one of ${aliases.map((alias) => environmentKeyOf(module, alias.settingsKey)).join(', ')}`);
  }
  const [alias] = aliases;
  const aliasText = alias === undefined ? undefined : `${Number(settings[alias.settingsKey]) * alias.unitMs}ms`;
  const scheduleText = timing.schedule ?? aliasText ?? module.defaults.schedule;
  const timeZone = timing.timeZone ?? module.defaults.timeZone;
  let resolved: ResolvedJobTiming | null = null;
  try {
    const schedule = parseSchedule(scheduleText, timeZone);
    if (timing.timeZone !== undefined && schedule.kind === 'interval') {
      problem('timeZone', 'timing', `a time zone applies to a cron schedule; the schedule "${scheduleText}" is an interval (remove ${environmentKeyOf(module, 'timeZone')} or use a cron expression)`);
    }
    const misfire = parseMisfirePolicy(timing.misfire ?? module.defaults.misfire);
    try {
      assertMisfireFitsSchedule(schedule, misfire);
    } catch (error) {
      problem('misfire', 'timing', (error as Error).message);
    }
    const retry: RetryPolicy = {
      maxAttempts: timing.retryMaxAttempts ?? module.defaults.retry.maxAttempts,
      initialDelayMs: timing.retryInitialDelay === undefined ? module.defaults.retry.initialDelayMs : parseDuration(timing.retryInitialDelay),
      maxDelayMs: timing.retryMaxDelay === undefined ? module.defaults.retry.maxDelayMs : parseDuration(timing.retryMaxDelay),
    };
    try {
      assertValidRetryPolicy(module.jobName, retry);
    } catch (error) {
      problem(retry.maxDelayMs < retry.initialDelayMs ? 'retryMaxDelay' : 'retryInitialDelay', 'timing', (error as Error).message);
    }
    resolved = { timing: { schedule, misfire }, retry };
  } catch (error) {
    // The schedule read with its time zone (each was valid alone), or an alias out of range.
    problem(timing.schedule === undefined && alias !== undefined ? alias.settingsKey : 'schedule', timing.schedule === undefined && alias !== undefined ? 'jobs' : 'timing', (error as Error).message);
  }
  return problems.length > 0 || resolved === null ? { ok: false, problems } : { ok: true, value: resolved };
}
