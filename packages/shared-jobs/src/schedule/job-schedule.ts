import { compileCron } from './cron.js';
import { parseDuration } from './duration.js';
import { assertValidTimeZone } from './time-zone.js';

/**
 * When a job runs, as data. An interval is anchored at the last start (the next run is
 * the last start plus `everyMs`, measured by the runtime); a cron expression has slots of
 * its own on the wall clock of `timeZone` (see `cron.ts` for the daylight-saving rule).
 */
export type JobSchedule =
  | { readonly kind: 'interval'; readonly everyMs: number }
  | { readonly kind: 'cron'; readonly expression: string; readonly timeZone: string };

export const defaultScheduleTimeZone = 'UTC';

/**
 * Parses a schedule as operators write it: an interval (`10s`, `24h`, `1h30m`) or a cron
 * expression (`0 3 * * *`, `*∕10 * * * * *`, `@daily`), the latter in `timeZone` (IANA,
 * default UTC). Number-unit pairs, or a single word starting with a digit, are an interval;
 * anything else is cron.
 * Throws an error naming the text or the field and the reason.
 */
export function parseSchedule(
  text: string,
  timeZone: string = defaultScheduleTimeZone,
): JobSchedule {
  if (typeof text !== 'string') {
    throw new TypeError(`schedule must be a string, got ${typeof text}`);
  }
  assertValidTimeZone(timeZone);
  const trimmed = text.trim();
  if (trimmed === '') {
    throw new RangeError(
      'schedule "" is empty: write an interval (10s, 24h) or a cron expression (0 3 * * *)',
    );
  }
  // Number-unit pairs (`10s`, `1h 30m`) or a single word starting with a digit (`10x`,
  // to report its unit) are intervals; a cron field never puts letters after digits.
  if (/^\d\S*$/.test(trimmed) || /^(\d+[a-z]+\s*)+$/i.test(trimmed)) {
    const everyMs = parseDuration(trimmed);
    if (everyMs === 0)
      throw new RangeError(`schedule "${text}": an interval must be longer than 0`);
    return { kind: 'interval', everyMs };
  }
  // One space between fields: the stored expression is the one shown to operators.
  const expression = trimmed.split(/\s+/).join(' ');
  compileCron(expression, timeZone);
  return { kind: 'cron', expression, timeZone };
}

/**
 * Checks a schedule built as data; throws an error naming the field and the reason
 * (`schedule.everyMs must be ...`, `cron expression "0 25 * * *": hour 25 is out of
 * range 0-23`, `time zone "Europe/Berln" is not an IANA time zone`).
 */
export function assertValidJobSchedule(schedule: JobSchedule): void {
  switch (schedule.kind) {
    case 'interval':
      if (!Number.isSafeInteger(schedule.everyMs) || schedule.everyMs <= 0) {
        throw new RangeError(
          `schedule.everyMs must be a positive integer (milliseconds), got ${String(schedule.everyMs)}`,
        );
      }
      return;
    case 'cron':
      compileCron(schedule.expression, schedule.timeZone);
      return;
    default:
      throw new TypeError(
        `schedule.kind must be "interval" or "cron", got ${JSON.stringify((schedule as { kind?: unknown }).kind)}`,
      );
  }
}
