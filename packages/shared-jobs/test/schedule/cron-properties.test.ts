import { describe, expect, it } from 'vitest';
import { compileCron, cronLookBackYears, type CompiledCron } from '../../src/index.js';
import { seededRandom } from './support.js';

/*
 * Property-style checks over expressions and instants drawn from a seeded PRNG (the same
 * cases on every run): walking nextAfter equals slotsBetween, latestAtOrBefore agrees with
 * nextAfter, slots strictly increase (no slot twice across DST), and every slot is a
 * matching wall time or the end of a gap.
 */

const random = seededRandom(20_260_329);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const integer = (from: number, to: number) => from + Math.floor(random() * (to - from + 1));

const timeZones = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe', // 30-minute shifts
  'Pacific/Chatham', // +12:45 / +13:45
  'Antarctica/Troll', // 2-hour shifts
  'Asia/Kolkata', // +05:30, no DST
] as const;

function randomField(min: number, max: number, wildcardWeight: number): string {
  if (random() < wildcardWeight) return '*';
  const start = integer(min, max);
  const end = integer(start, max);
  switch (integer(0, 4)) {
    case 0:
      return `*/${integer(2, Math.min(30, max - min + 1))}`;
    case 1:
      return String(start);
    case 2:
      return `${start}-${end}`;
    case 3:
      return `${start},${integer(min, max)},${integer(min, max)}`;
    default:
      return `${start}-${end}/${integer(1, 5)}`;
  }
}

function randomExpression(): string {
  const fields = [
    randomField(0, 59, 0.3),
    randomField(0, 23, 0.4),
    randomField(1, 31, 0.7),
    randomField(1, 12, 0.8),
    randomField(0, 7, 0.7),
  ];
  return random() < 0.3 ? [randomField(0, 59, 0.3), ...fields].join(' ') : fields.join(' ');
}

const fixedExpressions = [
  '* * * * * *',
  '*/7 * * * * *',
  '* * * * *',
  '*/15 * * * *',
  '0 * * * *',
  '30 2 * * *',
  '15,45 1-3 * * *',
  '0 0 29 2 *',
  '0 0 31 * *',
  '0 9 * * MON-FRI',
  '0 0 1 * MON',
];

/** The zone's offset at an instant as Intl names it (`GMT+01:00`). */
function offsetNameAt(timeZone: string, instantMs: number): string {
  return (
    new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
      .formatToParts(new Date(instantMs))
      .find((part) => part.type === 'timeZoneName')?.value ?? ''
  );
}

/** The instants of 2026 where each zone's offset changes, to the hour (to draw instants near them). */
function transitionsOf(timeZone: string): number[] {
  const offsetAt = (instantMs: number) => offsetNameAt(timeZone, instantMs);
  const transitions: number[] = [];
  const startMs = Date.UTC(2026, 0, 1);
  for (let instantMs = startMs; instantMs < Date.UTC(2027, 0, 1); instantMs += 3_600_000) {
    if (offsetAt(instantMs) !== offsetAt(instantMs + 3_600_000)) transitions.push(instantMs);
  }
  return transitions;
}

function randomInstant(transitions: readonly number[]): Date {
  if (transitions.length > 0 && random() < 0.6) {
    // Near a transition, to the millisecond.
    const milliseconds = random() < 0.5 ? integer(1, 999) : 0;
    return new Date(pick(transitions) + integer(-3 * 3600, 4 * 3600) * 1000 + milliseconds);
  }
  return new Date(integer(Date.UTC(2020, 0, 1), Date.UTC(2035, 0, 1)));
}

/** Independent of the search: read the wall clock with Intl and test the parsed field sets. */
function wallMatches(cron: CompiledCron, instant: Date): boolean {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: cron.timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  const { fields } = cron;
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(
    String(parts['weekday']),
  );
  const byMonthDay = fields.dayOfMonth.values.includes(Number(parts['day']));
  const byWeekday = fields.dayOfWeek.values.includes(weekday);
  return (
    fields.second.values.includes(Number(parts['second'])) &&
    fields.minute.values.includes(Number(parts['minute'])) &&
    fields.hour.values.includes(Number(parts['hour'])) &&
    fields.month.values.includes(Number(parts['month'])) &&
    (fields.daysMatchEither ? byMonthDay || byWeekday : byMonthDay && byWeekday)
  );
}

function offsetChangesAt(timeZone: string, instant: Date): boolean {
  return (
    offsetNameAt(timeZone, instant.getTime() - 1000) !== offsetNameAt(timeZone, instant.getTime())
  );
}

describe('cron slots: properties over seeded random expressions, zones and instants', () => {
  const cases: { expression: string; timeZone: string; instant: Date }[] = [];
  const transitions = new Map(timeZones.map((timeZone) => [timeZone, transitionsOf(timeZone)]));
  while (cases.length < 400) {
    const expression =
      cases.length < fixedExpressions.length * 6 ? pick(fixedExpressions) : randomExpression();
    const timeZone = pick(timeZones);
    try {
      compileCron(expression, timeZone);
    } catch {
      continue; // e.g. a random "0 0 31 2 *", which never matches
    }
    cases.push({ expression, timeZone, instant: randomInstant(transitions.get(timeZone) ?? []) });
  }

  it('draws transitions for every zone with daylight saving', () => {
    expect(timeZones.map((timeZone) => transitions.get(timeZone)?.length)).toEqual([
      0, 2, 2, 2, 2, 2, 0,
    ]);
  });

  it('walking nextAfter equals slotsBetween; slots strictly increase and are whole seconds', () => {
    for (const { expression, timeZone, instant } of cases) {
      const cron = compileCron(expression, timeZone);
      const walked: Date[] = [];
      let cursor = instant;
      for (let index = 0; index < 12; index += 1) {
        cursor = cron.nextAfter(cursor);
        walked.push(cursor);
      }
      const context = `${expression} (${timeZone}) after ${instant.toISOString()}`;
      const last = walked.at(-1) as Date;
      expect(cron.slotsBetween(instant, last, 100), context).toEqual(walked);
      expect(cron.slotsBetween(instant, last, 5), context).toEqual(walked.slice(0, 5));
      expect(cron.slotsBetween(instant, new Date(last.getTime() - 1), 100), context).toEqual(
        walked.slice(0, -1),
      );
      let previous = instant.getTime();
      for (const slot of walked) {
        expect(slot.getTime(), context).toBeGreaterThan(previous);
        expect(slot.getTime() % 1000, context).toBe(0);
        previous = slot.getTime();
      }
    }
  });

  it('latestAtOrBefore(nextAfter(t)) is nextAfter(t), and nothing lies between latestAtOrBefore(t) and t', () => {
    for (const { expression, timeZone, instant } of cases) {
      const cron = compileCron(expression, timeZone);
      const context = `${expression} (${timeZone}) at ${instant.toISOString()}`;
      const next = cron.nextAfter(instant);
      expect(cron.latestAtOrBefore(next), context).toEqual(next);
      const latest = cron.latestAtOrBefore(instant);
      if (latest !== null) {
        expect(latest.getTime(), context).toBeLessThanOrEqual(instant.getTime());
        expect(cron.nextAfter(latest), context).toEqual(next);
        // Within the bounded look-back, the latest slot before the next one is this one.
        if (next.getTime() - latest.getTime() < cronLookBackYears * 365 * 86_400_000) {
          expect(cron.latestAtOrBefore(new Date(next.getTime() - 1)), context).toEqual(latest);
        }
      }
    }
  });

  it('every slot is a matching wall time, or the instant a daylight-saving gap ends', () => {
    for (const { expression, timeZone, instant } of cases.slice(0, 150)) {
      const cron = compileCron(expression, timeZone);
      for (const slot of cron.slotsBetween(
        instant,
        new Date(instant.getTime() + 8 * 3_600_000),
        20,
      )) {
        const context = `${expression} (${timeZone}) slot ${slot.toISOString()}`;
        expect(wallMatches(cron, slot) || offsetChangesAt(timeZone, slot), context).toBe(true);
      }
    }
  });
});
