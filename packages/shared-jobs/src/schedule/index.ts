export {
  assertValidRetryPolicy,
  defaultBackoffFactor,
  defaultBackoffJitter,
  exponentialBackoffMs,
  type BackoffPolicy,
  type RetryPolicy,
} from './backoff.js';
export { compileCron, cronLookAheadYears, cronLookBackYears, type CompiledCron } from './cron.js';
export {
  parseCronExpression,
  type CronField,
  type CronFieldName,
  type CronFields,
} from './cron-expression.js';
export { describeSchedule } from './describe-schedule.js';
export { formatDuration, parseDuration } from './duration.js';
export {
  assertValidJobSchedule,
  defaultScheduleTimeZone,
  parseSchedule,
  type JobSchedule,
} from './job-schedule.js';
export {
  assertMisfireFitsSchedule,
  assertValidMisfirePolicy,
  defaultCatchUpMaxRuns,
  defaultMisfirePolicy,
  describeMisfirePolicy,
  formatMisfirePolicy,
  parseMisfirePolicy,
  type MisfirePolicy,
} from './misfire-policy.js';
export { assertValidTimeZone } from './time-zone.js';
