import type { CronField, CronFields } from './cron-expression.js';

/**
 * Search for matching wall times (see `time-zone.ts`: calendar readings in seconds,
 * no time zone here) by field skipping: a month that does not match jumps to the next
 * allowed month, a day to the next matching day, then hour, minute and second. Finding
 * the next match costs a few steps per level, whatever the distance to it: never a
 * second-by-second (or minute-by-minute) walk.
 */

/** Counts the loop steps of a search; tests use it to prove searches skip fields. */
export interface SearchCounter {
  steps: number;
}

/** Per value, the first allowed value at or after it and the last at or before it (-1: none). */
interface FieldTable {
  readonly nextAtOrAfter: readonly number[];
  readonly previousAtOrBefore: readonly number[];
  readonly first: number;
  readonly last: number;
}

function tableFor(field: CronField, max: number): FieldTable {
  const allowed = new Set(field.values);
  const nextAtOrAfter: number[] = [];
  const previousAtOrBefore: number[] = [];
  let next = -1;
  for (let value = max; value >= 0; value -= 1) {
    if (allowed.has(value)) next = value;
    nextAtOrAfter[value] = next;
  }
  let previous = -1;
  for (let value = 0; value <= max; value += 1) {
    if (allowed.has(value)) previous = value;
    previousAtOrBefore[value] = previous;
  }
  return {
    nextAtOrAfter,
    previousAtOrBefore,
    first: Math.min(...field.values),
    last: Math.max(...field.values),
  };
}

/** Out of the table (an hour of 24, a minute of -1) means no allowed value. */
function nextAllowed(table: FieldTable, value: number): number {
  return table.nextAtOrAfter[value] ?? -1;
}

function previousAllowed(table: FieldTable, value: number): number {
  return table.previousAtOrBefore[value] ?? -1;
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function dayOfWeek(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

function wallOf(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number {
  return Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
}

/** The calendar fields of a wall time. */
function readWall(wall: number) {
  const date = new Date(wall * 1000);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
  };
}

/** The matcher of one parsed expression, with its lookup tables built once. */
export class CronCalendar {
  private readonly seconds: FieldTable;
  private readonly minutes: FieldTable;
  private readonly hours: FieldTable;
  private readonly months: FieldTable;
  private readonly daysOfMonth: ReadonlySet<number>;
  private readonly daysOfWeek: ReadonlySet<number>;
  private readonly daysMatchEither: boolean;

  constructor(fields: CronFields) {
    this.seconds = tableFor(fields.second, 59);
    this.minutes = tableFor(fields.minute, 59);
    this.hours = tableFor(fields.hour, 23);
    this.months = tableFor(fields.month, 12);
    this.daysOfMonth = new Set(fields.dayOfMonth.values);
    this.daysOfWeek = new Set(fields.dayOfWeek.values);
    this.daysMatchEither = fields.daysMatchEither;
  }

  /** Whether a day matches both day fields, or either of them (Vixie: both restricted). */
  dayMatches(day: number, weekday: number): boolean {
    const byMonthDay = this.daysOfMonth.has(day);
    const byWeekday = this.daysOfWeek.has(weekday);
    return this.daysMatchEither ? byMonthDay || byWeekday : byMonthDay && byWeekday;
  }

  private nextMatchingDay(
    year: number,
    month: number,
    fromDay: number,
    counter: SearchCounter,
  ): number {
    const lastDay = daysInMonth(year, month);
    let weekday = fromDay <= lastDay ? dayOfWeek(year, month, fromDay) : 0;
    for (let day = fromDay; day <= lastDay; day += 1) {
      counter.steps += 1;
      if (this.dayMatches(day, weekday)) return day;
      weekday = (weekday + 1) % 7;
    }
    return -1;
  }

  private previousMatchingDay(
    year: number,
    month: number,
    fromDay: number,
    counter: SearchCounter,
  ): number {
    const startDay = Math.min(fromDay, daysInMonth(year, month));
    let weekday = startDay >= 1 ? dayOfWeek(year, month, startDay) : 0;
    for (let day = startDay; day >= 1; day -= 1) {
      counter.steps += 1;
      if (this.dayMatches(day, weekday)) return day;
      weekday = (weekday + 6) % 7;
    }
    return -1;
  }

  /** The first matching wall time at or after `fromWall` and at or before `untilWall`, or null. */
  firstAtOrAfter(
    fromWall: number,
    untilWall: number,
    counter: SearchCounter = { steps: 0 },
  ): number | null {
    let { year, month, day, hour, minute, second } = readWall(fromWall);
    const lastYear = readWall(untilWall).year;
    while (year <= lastYear) {
      counter.steps += 1;
      const allowedMonth = nextAllowed(this.months, month);
      if (allowedMonth !== month) {
        if (allowedMonth < 0) {
          year += 1;
          month = this.months.first;
        } else {
          month = allowedMonth;
        }
        [day, hour, minute, second] = [1, 0, 0, 0];
        continue;
      }
      const matchingDay = this.nextMatchingDay(year, month, day, counter);
      if (matchingDay < 0) {
        [month, day, hour, minute, second] = [month + 1, 1, 0, 0, 0];
        if (month > 12) [year, month] = [year + 1, 1];
        continue;
      }
      if (matchingDay !== day) [day, hour, minute, second] = [matchingDay, 0, 0, 0];
      const allowedHour = nextAllowed(this.hours, hour);
      if (allowedHour < 0) {
        [day, hour, minute, second] = [day + 1, 0, 0, 0];
        continue;
      }
      if (allowedHour !== hour) [hour, minute, second] = [allowedHour, 0, 0];
      const allowedMinute = nextAllowed(this.minutes, minute);
      if (allowedMinute < 0) {
        [hour, minute, second] = [hour + 1, 0, 0];
        continue;
      }
      if (allowedMinute !== minute) [minute, second] = [allowedMinute, 0];
      const allowedSecond = nextAllowed(this.seconds, second);
      if (allowedSecond < 0) {
        [minute, second] = [minute + 1, 0];
        continue;
      }
      const wall = wallOf(year, month, day, hour, minute, allowedSecond);
      return wall <= untilWall ? wall : null;
    }
    return null;
  }

  /** The last matching wall time at or before `fromWall` and at or after `sinceWall`, or null. */
  lastAtOrBefore(
    fromWall: number,
    sinceWall: number,
    counter: SearchCounter = { steps: 0 },
  ): number | null {
    let { year, month, day, hour, minute, second } = readWall(fromWall);
    const firstYear = readWall(sinceWall).year;
    while (year >= firstYear) {
      counter.steps += 1;
      const allowedMonth = previousAllowed(this.months, month);
      if (allowedMonth !== month) {
        if (allowedMonth < 0) {
          year -= 1;
          month = this.months.last;
        } else {
          month = allowedMonth;
        }
        [day, hour, minute, second] = [31, 23, 59, 59];
        continue;
      }
      const matchingDay = this.previousMatchingDay(year, month, day, counter);
      if (matchingDay < 0) {
        [month, day, hour, minute, second] = [month - 1, 31, 23, 59, 59];
        if (month < 1) [year, month] = [year - 1, 12];
        continue;
      }
      if (matchingDay !== day) [day, hour, minute, second] = [matchingDay, 23, 59, 59];
      const allowedHour = previousAllowed(this.hours, hour);
      if (allowedHour < 0) {
        [day, hour, minute, second] = [day - 1, 23, 59, 59];
        continue;
      }
      if (allowedHour !== hour) [hour, minute, second] = [allowedHour, 59, 59];
      const allowedMinute = previousAllowed(this.minutes, minute);
      if (allowedMinute < 0) {
        [hour, minute, second] = [hour - 1, 59, 59];
        continue;
      }
      if (allowedMinute !== minute) [minute, second] = [allowedMinute, 59];
      const allowedSecond = previousAllowed(this.seconds, second);
      if (allowedSecond < 0) {
        [minute, second] = [minute - 1, 59];
        continue;
      }
      const wall = wallOf(year, month, day, hour, minute, allowedSecond);
      return wall >= sinceWall ? wall : null;
    }
    return null;
  }
}
