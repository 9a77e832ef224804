import {
  parseMisfirePolicy,
  parseSchedule,
  type JobModuleDefaults,
  type JobTiming,
  type RetryPolicy,
} from '@app/shared-jobs';

/** Timing and run retries given to a job factory; the module's defaults when absent. */
export interface JobTimingOptions {
  /** When it runs (the worker resolves it from its `schedule`/`misfire` keys). */
  readonly timing?: JobTiming;
  /** Its run retries (the worker resolves them from its `retry` keys). */
  readonly retry?: RetryPolicy;
}

/** The timing a worker resolves from a module's defaults when nothing is configured. */
export function timingFromDefaults(defaults: JobModuleDefaults): JobTiming {
  return {
    schedule: parseSchedule(defaults.schedule, defaults.timeZone),
    misfire: parseMisfirePolicy(defaults.misfire),
  };
}
