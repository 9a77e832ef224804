/**
 * Cron schedules in IANA time zones: compile an expression once, then ask it for slots.
 *
 * Why not croner or cron-parser: `@app/shared-jobs` has no runtime dependency by design
 * (dependency-cruiser checks it), and the daylight-saving behaviour below is part of the
 * contract with operators, so it must be exactly what runs; cron libraries differ on it
 * and have changed it between versions. The engine is small: parsing
 * (`cron-expression.ts`), a field-skipping calendar search (`cron-calendar.ts`) and the
 * wall-clock mapping (`time-zone.ts`, on `Intl.DateTimeFormat`).
 *
 * Daylight-saving rule. Slots are computed on the local wall clock of the time zone; a
 * matching wall time runs at the FIRST instant at which the zone's clock shows that time
 * or a later one. So:
 * (a) a matching time that does not exist (spring-forward gap) runs once, at the first
 *     valid instant after the gap (Europe/Berlin 2026-03-29 02:30 -> 03:00 CEST); all the
 *     matching times of one gap, and a real slot at the gap's end, are ONE slot;
 * (b) a matching time that occurs twice (fall-back overlap) runs once, at its first
 *     occurrence (the earlier offset); the clock's second pass through the repeated hour
 *     has no slots;
 * (c) hence `0 * * * *` in Europe/Berlin on 2026-10-25 runs at 02:00 CEST and next at
 *     03:00 CET, two real hours later; `*∕15 * * * *` on 2026-03-29 has no 02:00-02:45
 *     slots, they coalesce into the 03:00 CEST slot; `30 2 * * *` runs at 03:00 CEST on
 *     2026-03-29 and once (02:30 CEST) on 2026-10-25.
 * Slots are instants (whole seconds); the same instant is never returned twice, and
 * successive slots strictly increase.
 */
import { CronCalendar } from './cron-calendar.js';
import { cronExpressionError, parseCronExpression, type CronFields } from './cron-expression.js';
import { assertValidTimeZone, latestWallShownBy, resolveWallTime } from './time-zone.js';

/** A cron expression compiled for one time zone. */
export interface CompiledCron {
  readonly expression: string;
  readonly timeZone: string;
  readonly fields: CronFields;
  /** The first slot strictly after `instant`. */
  nextAfter(instant: Date): Date;
  /** The most recent slot at or before `instant`, or null when none in the 5 years before it. */
  latestAtOrBefore(instant: Date): Date | null;
  /** The slots in (afterExclusive, untilInclusive], ascending, at most `max` (the earliest ones). */
  slotsBetween(afterExclusive: Date, untilInclusive: Date, max: number): Date[];
}

/** How far `nextAfter` searches; a date pattern that can match recurs within 40 years. */
export const cronLookAheadYears = 100;
/** How far `latestAtOrBefore` looks back before answering null. */
export const cronLookBackYears = 5;

/** Wall times are seconds, like instants; this keeps calendar arithmetic in one place. */
function shiftYears(wall: number, years: number): number {
  const date = new Date(wall * 1000);
  date.setUTCFullYear(date.getUTCFullYear() + years);
  return date.getTime() / 1000;
}

/** The supported instants: the tz database is reliable from 1900, and years stay 4-digit. */
const earliestInstantMs = Date.UTC(1900, 0, 1);
const latestInstantMs = Date.UTC(10_000, 0, 1) - 1;

function toSeconds(instant: Date, name: string): number {
  if (!(instant instanceof Date) || Number.isNaN(instant.getTime())) {
    throw new TypeError(`${name} must be a valid Date`);
  }
  const instantMs = instant.getTime();
  if (instantMs < earliestInstantMs || instantMs > latestInstantMs) {
    throw new RangeError(`${name} must be between 1900 and 9999, got ${instant.toISOString()}`);
  }
  return Math.floor(instantMs / 1000);
}

function toDate(instantSeconds: number): Date {
  return new Date(instantSeconds * 1000);
}

/** A reference century for the "never matches" check: it holds every day-month-weekday combination. */
const referenceStartWall = Date.UTC(2000, 0, 1) / 1000;
const referenceEndWall = Date.UTC(2100, 0, 1) / 1000 - 1;

/**
 * Compiles a cron expression (see `cron-expression.ts` for the syntax) for an IANA time
 * zone. Throws a RangeError naming the expression or the zone and the reason, including
 * `cron expression "0 0 30 2 *" never matches`.
 */
export function compileCron(expression: string, timeZone: string): CompiledCron {
  const fields = parseCronExpression(expression);
  assertValidTimeZone(timeZone);
  const calendar = new CronCalendar(fields);
  if (calendar.firstAtOrAfter(referenceStartWall, referenceEndWall) === null) {
    throw new RangeError(
      `cron expression "${expression}" never matches: no date has the day and month it asks for`,
    );
  }
  return {
    expression,
    timeZone,
    fields,
    nextAfter(instant) {
      const shownWall = latestWallShownBy(timeZone, toSeconds(instant, 'instant'));
      const wall = calendar.firstAtOrAfter(
        shownWall + 1,
        shiftYears(shownWall, cronLookAheadYears),
      );
      /* v8 ignore if -- unreachable: a compiled expression matches at least once every 40 years */
      if (wall === null) {
        throw cronExpressionError(
          expression,
          `no slot within ${cronLookAheadYears} years after ${instant.toISOString()}`,
        );
      }
      return toDate(resolveWallTime(timeZone, wall).instant);
    },
    latestAtOrBefore(instant) {
      const shownWall = latestWallShownBy(timeZone, toSeconds(instant, 'instant'));
      const wall = calendar.lastAtOrBefore(shownWall, shiftYears(shownWall, -cronLookBackYears));
      return wall === null ? null : toDate(resolveWallTime(timeZone, wall).instant);
    },
    slotsBetween(afterExclusive, untilInclusive, max) {
      const afterSeconds = toSeconds(afterExclusive, 'afterExclusive');
      const untilSeconds = toSeconds(untilInclusive, 'untilInclusive');
      if (!Number.isSafeInteger(max) || max < 0) {
        throw new RangeError(`max must be an integer >= 0, got ${String(max)}`);
      }
      // Wall times up to what the clock has shown by `untilInclusive` run by then.
      const untilWall = latestWallShownBy(timeZone, untilSeconds);
      let wall = latestWallShownBy(timeZone, afterSeconds);
      const slots: Date[] = [];
      while (slots.length < max) {
        const matchingWall = calendar.firstAtOrAfter(wall + 1, untilWall);
        if (matchingWall === null) break;
        const resolved = resolveWallTime(timeZone, matchingWall);
        slots.push(toDate(resolved.instant));
        // In a gap, continue from its end: the gap's other times are this same slot.
        wall = resolved.wall;
      }
      return slots;
    },
  };
}
