/**
 * Time-zone offsets from `Intl.DateTimeFormat` (the tz database shipped with Node.js),
 * and the mapping between instants and the local wall clock that cron slots are
 * computed on.
 *
 * Times here are whole seconds. A "wall time" is the local date and time read on the
 * zone's clock, stored as the seconds since 1970-01-01T00:00 of that reading taken as
 * if it were UTC, so calendar fields come from the `getUTC*` getters.
 */

const secondsPerDay = 86_400;

/** One formatter per zone: constructing one costs far more than formatting with it. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * Throws unless `timeZone` is an IANA time zone name this runtime knows (`UTC`,
 * `Europe/Berlin`, ...): `time zone "Europe/Berln" is not an IANA time zone`. Offsets
 * such as `+01:00`, which `Intl` also accepts, are rejected: they have no daylight saving
 * and are better written as `Etc/GMT-1` or, mostly, as the place's real zone.
 */
export function assertValidTimeZone(timeZone: unknown): asserts timeZone is string {
  if (typeof timeZone !== 'string') {
    throw new TypeError(`time zone must be a string, got ${typeof timeZone}`);
  }
  const isOffset = /^[+-]/.test(timeZone);
  let known = !isOffset && timeZone.trim() === timeZone && timeZone !== '';
  if (known) {
    try {
      formatterFor(timeZone);
    } catch {
      known = false;
    }
  }
  if (!known) {
    throw new RangeError(
      `time zone "${timeZone}" is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)`,
    );
  }
}

/** The zone's UTC offset in seconds at an instant (seconds): +3600 for CET. */
export function offsetSecondsAt(timeZone: string, instantSeconds: number): number {
  if (timeZone === 'UTC') return 0;
  const reading = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(new Date(instantSeconds * 1000))) {
    if (part.type in reading) reading[part.type as keyof typeof reading] = Number(part.value);
  }
  const wallMs = Date.UTC(
    reading.year,
    reading.month - 1,
    reading.day,
    reading.hour,
    reading.minute,
    reading.second,
  );
  return wallMs / 1000 - instantSeconds;
}

/** The wall time the zone's clock shows at an instant. */
export function wallAt(timeZone: string, instantSeconds: number): number {
  return instantSeconds + offsetSecondsAt(timeZone, instantSeconds);
}

/** The smallest instant in (low, high] that satisfies `isAfter`, given it is false at low and true at high. */
function firstInstantWhere(
  low: number,
  high: number,
  isAfter: (instant: number) => boolean,
): number {
  let before = low;
  let after = high;
  while (after - before > 1) {
    const middle = Math.floor((before + after) / 2);
    if (isAfter(middle)) after = middle;
    else before = middle;
  }
  return after;
}

/** Where a wall time runs: the instant, and the wall time the clock shows then. */
export interface ResolvedWallTime {
  readonly instant: number;
  /** Equal to the wall time asked for, except in a gap, where it is the end of the gap. */
  readonly wall: number;
}

/**
 * The first instant at which the zone's clock shows `wall` or later: the daylight-saving
 * rule of cron slots in one sentence. A wall time that occurs once runs then; one that
 * occurs twice (the clock is set back) runs at its first occurrence; one that does not
 * occur (the clock jumps over it) runs when the jump lands, at the end of the gap.
 *
 * Offsets are probed a day before and after, which assumes the zone changes its offset
 * at most once in two days (true of every transition of the tz database since 1900
 * except a handful of date-line moves, which are gaps and still resolve to the gap's end).
 */
export function resolveWallTime(timeZone: string, wall: number): ResolvedWallTime {
  const offsetBefore = offsetSecondsAt(timeZone, wall - secondsPerDay);
  const offsetAfter = offsetSecondsAt(timeZone, wall + secondsPerDay);
  // With the larger offset first, the earlier of two readings of an overlap comes first.
  for (const offset of offsetBefore >= offsetAfter
    ? [offsetBefore, offsetAfter]
    : [offsetAfter, offsetBefore]) {
    const instant = wall - offset;
    if (offsetSecondsAt(timeZone, instant) === offset) return { instant, wall };
  }
  // A gap: the clock jumps from before `wall` to after it between these two instants.
  const instant = firstInstantWhere(
    wall - Math.max(offsetBefore, offsetAfter),
    wall - Math.min(offsetBefore, offsetAfter),
    (candidate) => wallAt(timeZone, candidate) >= wall,
  );
  return { instant, wall: wallAt(timeZone, instant) };
}

/**
 * The latest wall time the zone's clock has shown at or before an instant. It is the
 * clock's current reading, except during the second pass of a repeated hour (after the
 * clock was set back), when it is the last second shown before the setback.
 */
export function latestWallShownBy(timeZone: string, instantSeconds: number): number {
  const offsetNow = offsetSecondsAt(timeZone, instantSeconds);
  const wallNow = instantSeconds + offsetNow;
  const offsetDayBefore = offsetSecondsAt(timeZone, instantSeconds - secondsPerDay);
  const setBackBy = offsetDayBefore - offsetNow;
  if (setBackBy <= 0 || offsetSecondsAt(timeZone, instantSeconds - setBackBy) === offsetNow) {
    return wallNow;
  }
  // Within `setBackBy` of a setback: find it, the clock showed up to just before it.
  const setBackAt = firstInstantWhere(
    instantSeconds - setBackBy,
    instantSeconds,
    (candidate) => offsetSecondsAt(timeZone, candidate) === offsetNow,
  );
  return setBackAt - 1 + offsetDayBefore;
}
