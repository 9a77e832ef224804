/**
 * A recurring job as a module: everything the worker needs to configure and build it.
 * Each domain package exports one per job; the worker loops over the list, so adding a
 * job is adding one entry there (its settings, environment keys, schedule keys, defaults
 * and factory come from the module).
 */
import type { JobResultSummary, RecurringJob } from './job.js';
import type { RetryPolicy } from './schedule/index.js';
import type { JobTiming } from './timing.js';

/** What the worker hands a job factory. */
export interface JobModuleContext<TSettings, TServices> {
  /** The job's own settings section, validated by its schema (defaults applied). */
  readonly settings: TSettings;
  /** When it runs, resolved from the configuration (schedule, time zone, misfire). */
  readonly timing: JobTiming;
  /** Its run retries, resolved from the configuration. */
  readonly retry: RetryPolicy;
  /** Shared services the worker owns (the database connection, other sections the job requires). */
  readonly services: TServices;
}

/** The defaults of the scheduling keys the worker owns for every job. */
export interface JobModuleDefaults {
  /** An interval (`10s`, `24h`) or a cron expression. */
  readonly schedule: string;
  /** IANA time zone of a cron schedule (default UTC). */
  readonly timeZone?: string;
  /** `once`, `skip` or `catch-up:<window>[:<max>]`. */
  readonly misfire: string;
  readonly retry: RetryPolicy;
}

/** A legacy interval setting of the job's section, still accepted in place of the schedule. */
export interface IntervalAlias {
  /** Key in the settings section, e.g. `intervalHours`. */
  readonly settingsKey: string;
  /** Milliseconds per unit of that setting. */
  readonly unitMs: number;
}

export interface JobModule<TSchema, TSettings, TServices> {
  readonly jobName: string;
  /** Key of its settings section (`jobs.<configKey>` in the configuration file). */
  readonly configKey: string;
  /** Environment prefix of its keys, e.g. `JOBS_REFRESH_TOKEN_CLEANUP_`. */
  readonly environmentPrefix: string;
  /** One line for the configuration reference. */
  readonly description: string;
  /** The schema of its settings section (in this project: a zod object). */
  readonly settingsSchema: TSchema;
  readonly defaults: JobModuleDefaults;
  /** The seed's interval settings, aliases of the schedule (setting both is an error). */
  readonly intervalAliases?: readonly IntervalAlias[];
  /** Other configuration sections it needs while enabled (e.g. `smtp`). */
  readonly requiredSections?: readonly string[];
  /** Settings keys of earlier releases and their new names: a host names the new key when an old one is set. */
  readonly renamedSettings?: Readonly<Record<string, string>>;
  create(context: JobModuleContext<TSettings, TServices>): RecurringJob<JobResultSummary>;
}
