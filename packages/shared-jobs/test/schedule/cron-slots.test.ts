import { describe, expect, it } from 'vitest';
import { compileCron, cronLookBackYears } from '../../src/index.js';
import { CronCalendar, type SearchCounter } from '../../src/schedule/cron-calendar.js';
import { parseCronExpression } from '../../src/schedule/cron-expression.js';
import { isoStrings, walkSlots } from './support.js';

const utc = (expression: string) => compileCron(expression, 'UTC');

describe('nextAfter', () => {
  it('returns the first slot strictly after the instant', () => {
    const cron = utc('0 3 * * *');
    expect(cron.nextAfter(new Date('2026-05-10T02:59:59.999Z'))).toEqual(
      new Date('2026-05-10T03:00:00Z'),
    );
    expect(cron.nextAfter(new Date('2026-05-10T03:00:00.000Z'))).toEqual(
      new Date('2026-05-11T03:00:00Z'),
    );
    expect(cron.nextAfter(new Date('2026-05-10T03:00:00.001Z'))).toEqual(
      new Date('2026-05-11T03:00:00Z'),
    );
  });

  it('walks minutes, hours, days, months and years over their ends', () => {
    expect(walkSlots(utc('58-59 23 31 12 *'), '2026-12-31T23:58:30Z', 3)).toEqual([
      '2026-12-31T23:59:00.000Z',
      '2027-12-31T23:58:00.000Z',
      '2027-12-31T23:59:00.000Z',
    ]);
    expect(walkSlots(utc('*/20 * * * *'), '2026-01-31T23:30:00Z', 3)).toEqual([
      '2026-01-31T23:40:00.000Z',
      '2026-02-01T00:00:00.000Z',
      '2026-02-01T00:20:00.000Z',
    ]);
  });

  it('runs 6-field expressions to the second', () => {
    expect(walkSlots(utc('*/20 * * * * *'), '2026-01-01T00:00:30Z', 4)).toEqual([
      '2026-01-01T00:00:40.000Z',
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:01:20.000Z',
      '2026-01-01T00:01:40.000Z',
    ]);
    expect(walkSlots(utc('15,45 30 9 * * *'), '2026-01-01T09:30:15Z', 3)).toEqual([
      '2026-01-01T09:30:45.000Z',
      '2026-01-02T09:30:15.000Z',
      '2026-01-02T09:30:45.000Z',
    ]);
    expect(walkSlots(utc('59 59 23 * * *'), '2026-01-01T23:59:59Z', 1)).toEqual([
      '2026-01-02T23:59:59.000Z',
    ]);
  });

  it('skips the months without a 31st for 0 0 31 * *', () => {
    expect(walkSlots(utc('0 0 31 * *'), '2026-01-01T00:00:00Z', 7)).toEqual([
      '2026-01-31T00:00:00.000Z',
      '2026-03-31T00:00:00.000Z',
      '2026-05-31T00:00:00.000Z',
      '2026-07-31T00:00:00.000Z',
      '2026-08-31T00:00:00.000Z',
      '2026-10-31T00:00:00.000Z',
      '2026-12-31T00:00:00.000Z',
    ]);
  });

  it('finds February 29 in leap years only: 0 0 29 2 * from 2026 is 2028-02-29', () => {
    expect(walkSlots(utc('0 0 29 2 *'), '2026-01-01T00:00:00Z', 3)).toEqual([
      '2028-02-29T00:00:00.000Z',
      '2032-02-29T00:00:00.000Z',
      '2036-02-29T00:00:00.000Z',
    ]);
    // 2100 is not a leap year.
    expect(utc('0 0 29 2 *').nextAfter(new Date('2096-03-01T00:00:00Z'))).toEqual(
      new Date('2104-02-29T00:00:00Z'),
    );
  });

  it('with a day-of-week written with *, February 29 must also be that weekday (Vixie AND)', () => {
    // */7 is Sunday only; starting with *, the day fields must both match.
    expect(walkSlots(utc('0 0 29 2 */7'), '2026-01-01T00:00:00Z', 2)).toEqual([
      '2032-02-29T00:00:00.000Z',
      '2060-02-29T00:00:00.000Z',
    ]);
  });

  it('with both day fields restricted, a day matches either (Vixie OR): 0 0 29 2 1 is Feb 29 or any Monday of February', () => {
    expect(walkSlots(utc('0 0 29 2 1'), '2027-01-01T00:00:00Z', 6)).toEqual([
      '2027-02-01T00:00:00.000Z',
      '2027-02-08T00:00:00.000Z',
      '2027-02-15T00:00:00.000Z',
      '2027-02-22T00:00:00.000Z',
      '2028-02-07T00:00:00.000Z',
      '2028-02-14T00:00:00.000Z',
    ]);
    expect(walkSlots(utc('0 0 29 2 1'), '2028-02-22T00:00:00Z', 2)).toEqual([
      '2028-02-28T00:00:00.000Z',
      '2028-02-29T00:00:00.000Z',
    ]);
  });

  it('Vixie OR: the 1st and the 15th, and every Friday', () => {
    expect(walkSlots(utc('0 12 1,15 * FRI'), '2026-05-01T12:00:00Z', 6)).toEqual([
      '2026-05-08T12:00:00.000Z',
      '2026-05-15T12:00:00.000Z', // a Friday and the 15th: once
      '2026-05-22T12:00:00.000Z',
      '2026-05-29T12:00:00.000Z',
      '2026-06-01T12:00:00.000Z',
      '2026-06-05T12:00:00.000Z',
    ]);
  });

  it('Vixie AND when either day field starts with *: */2 days that are Mondays', () => {
    // Odd days of the month (1, 3, 5, ...) that are Mondays.
    expect(walkSlots(utc('0 0 */2 * MON'), '2026-06-01T00:00:00Z', 3)).toEqual([
      '2026-06-15T00:00:00.000Z',
      '2026-06-29T00:00:00.000Z',
      '2026-07-13T00:00:00.000Z',
    ]);
  });

  it('runs weekday names and ranges', () => {
    expect(walkSlots(utc('30 9 * * MON-FRI'), '2026-05-08T10:00:00Z', 3)).toEqual([
      '2026-05-11T09:30:00.000Z',
      '2026-05-12T09:30:00.000Z',
      '2026-05-13T09:30:00.000Z',
    ]);
    expect(walkSlots(utc('0 0 * * 7'), '2026-05-08T00:00:00Z', 1)).toEqual([
      '2026-05-10T00:00:00.000Z',
    ]);
  });

  it('runs the macros', () => {
    const from = '2026-05-10T08:30:00Z';
    expect(walkSlots(utc('@yearly'), from, 1)).toEqual(['2027-01-01T00:00:00.000Z']);
    expect(walkSlots(utc('@monthly'), from, 1)).toEqual(['2026-06-01T00:00:00.000Z']);
    expect(walkSlots(utc('@weekly'), from, 1)).toEqual(['2026-05-17T00:00:00.000Z']);
    expect(walkSlots(utc('@daily'), from, 1)).toEqual(['2026-05-11T00:00:00.000Z']);
    expect(walkSlots(utc('@hourly'), from, 1)).toEqual(['2026-05-10T09:00:00.000Z']);
  });

  it('computes slots in the time zone: 0 3 * * * in Europe/Berlin and Asia/Kolkata', () => {
    expect(walkSlots(compileCron('0 3 * * *', 'Europe/Berlin'), '2026-01-15T00:00:00Z', 1)).toEqual(
      ['2026-01-15T02:00:00.000Z'],
    );
    expect(walkSlots(compileCron('0 3 * * *', 'Europe/Berlin'), '2026-07-15T00:00:00Z', 1)).toEqual(
      ['2026-07-15T01:00:00.000Z'],
    );
    expect(walkSlots(compileCron('0 3 * * *', 'Asia/Kolkata'), '2026-07-15T00:00:00Z', 1)).toEqual([
      '2026-07-15T21:30:00.000Z',
    ]);
  });

  it('rejects an invalid instant', () => {
    const cron = utc('* * * * *');
    expect(() => cron.nextAfter(new Date(Number.NaN))).toThrow(
      new TypeError('instant must be a valid Date'),
    );
    expect(() => cron.nextAfter('2026-01-01' as unknown as Date)).toThrow(
      new TypeError('instant must be a valid Date'),
    );
    expect(() => cron.nextAfter(new Date('1899-12-31T23:59:59Z'))).toThrow(
      new RangeError('instant must be between 1900 and 9999, got 1899-12-31T23:59:59.000Z'),
    );
    expect(() => cron.latestAtOrBefore(new Date(Date.UTC(10_000, 0, 1)))).toThrow(RangeError);
  });
});

describe('latestAtOrBefore', () => {
  it('returns the slot at the instant itself, else the one before', () => {
    const cron = utc('0 3 * * *');
    expect(cron.latestAtOrBefore(new Date('2026-05-10T03:00:00Z'))).toEqual(
      new Date('2026-05-10T03:00:00Z'),
    );
    expect(cron.latestAtOrBefore(new Date('2026-05-10T03:00:00.999Z'))).toEqual(
      new Date('2026-05-10T03:00:00Z'),
    );
    expect(cron.latestAtOrBefore(new Date('2026-05-10T02:59:59.999Z'))).toEqual(
      new Date('2026-05-09T03:00:00Z'),
    );
  });

  it('walks back over month, year and leap-day boundaries', () => {
    expect(utc('0 0 31 * *').latestAtOrBefore(new Date('2026-05-01T00:00:00Z'))).toEqual(
      new Date('2026-03-31T00:00:00Z'),
    );
    expect(utc('0 0 29 2 *').latestAtOrBefore(new Date('2026-05-01T00:00:00Z'))).toEqual(
      new Date('2024-02-29T00:00:00Z'),
    );
    expect(utc('30 59 23 * 12 *').latestAtOrBefore(new Date('2026-06-01T00:00:00Z'))).toEqual(
      new Date('2025-12-31T23:59:30Z'),
    );
    expect(utc('0 12 * * MON').latestAtOrBefore(new Date('2026-05-11T11:59:59Z'))).toEqual(
      new Date('2026-05-04T12:00:00Z'),
    );
    expect(utc('10 0 1 * *').latestAtOrBefore(new Date('2026-05-01T00:09:59Z'))).toEqual(
      new Date('2026-04-01T00:10:00Z'),
    );
    expect(utc('10 */2 * * * *').latestAtOrBefore(new Date('2026-05-01T00:00:09Z'))).toEqual(
      new Date('2026-04-30T23:58:10Z'),
    );
  });

  it(`returns null when no slot falls within the ${cronLookBackYears} years before`, () => {
    // February 29 on a Sunday: 2004, then 2032.
    const cron = utc('0 0 29 2 */7');
    expect(cron.latestAtOrBefore(new Date('2031-12-31T00:00:00Z'))).toBeNull();
    expect(cron.latestAtOrBefore(new Date('2008-01-01T00:00:00Z'))).toEqual(
      new Date('2004-02-29T00:00:00Z'),
    );
    expect(cron.latestAtOrBefore(new Date('2009-03-01T00:00:00Z'))).toBeNull();
  });
});

describe('slotsBetween', () => {
  it('returns the slots in (after, until], ascending', () => {
    const cron = utc('0 * * * *');
    expect(
      isoStrings(
        cron.slotsBetween(new Date('2026-05-10T08:00:00Z'), new Date('2026-05-10T11:00:00Z'), 10),
      ),
    ).toEqual(['2026-05-10T09:00:00.000Z', '2026-05-10T10:00:00.000Z', '2026-05-10T11:00:00.000Z']);
  });

  it('returns at most max slots, the earliest ones', () => {
    const cron = utc('* * * * * *');
    expect(
      isoStrings(
        cron.slotsBetween(new Date('2026-05-10T08:00:00Z'), new Date('2026-05-11T08:00:00Z'), 2),
      ),
    ).toEqual(['2026-05-10T08:00:01.000Z', '2026-05-10T08:00:02.000Z']);
    expect(
      cron.slotsBetween(new Date('2026-05-10T08:00:00Z'), new Date('2026-05-11T08:00:00Z'), 0),
    ).toEqual([]);
  });

  it('returns nothing for an empty or reversed window', () => {
    const cron = utc('* * * * *');
    const instant = new Date('2026-05-10T08:00:00Z');
    expect(cron.slotsBetween(instant, instant, 5)).toEqual([]);
    expect(cron.slotsBetween(instant, new Date('2026-05-10T07:00:00Z'), 5)).toEqual([]);
    expect(cron.slotsBetween(instant, new Date('2026-05-10T08:00:59.999Z'), 5)).toEqual([]);
  });

  it('rejects a bad max or instant, naming it', () => {
    const cron = utc('* * * * *');
    const instant = new Date('2026-05-10T08:00:00Z');
    for (const max of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => cron.slotsBetween(instant, instant, max)).toThrow(
        new RangeError(`max must be an integer >= 0, got ${String(max)}`),
      );
    }
    expect(() => cron.slotsBetween(new Date(Number.NaN), instant, 1)).toThrow(
      new TypeError('afterExclusive must be a valid Date'),
    );
    expect(() => cron.slotsBetween(instant, new Date(Number.NaN), 1)).toThrow(
      new TypeError('untilInclusive must be a valid Date'),
    );
  });
});

describe('field skipping (a guard on work, not on time)', () => {
  const searchSteps = (expression: string, from: string, until: string) => {
    const calendar = new CronCalendar(parseCronExpression(expression));
    const counter: SearchCounter = { steps: 0 };
    const wall = calendar.firstAtOrAfter(
      Date.parse(from) / 1000,
      Date.parse(until) / 1000,
      counter,
    );
    return {
      wall: wall === null ? null : new Date(wall * 1000).toISOString(),
      steps: counter.steps,
    };
  };

  it('finds a sparse expression decades away in a few hundred steps', () => {
    // February 29 that is a Sunday, at 23:59:59: six years away.
    const result = searchSteps('59 59 23 29 2 */7', '2026-01-01T00:00:00Z', '2126-01-01T00:00:00Z');
    expect(result.wall).toBe('2032-02-29T23:59:59.000Z');
    // 2026-01-01T00:00:00 to 2032-02-29T23:59:59 is 193 million seconds.
    expect(result.steps).toBeLessThan(500);
  });

  it('gives up on an expression that cannot match after a bounded search of 100 years', () => {
    const result = searchSteps('0 0 30 2 *', '2026-01-01T00:00:00Z', '2126-01-01T00:00:00Z');
    expect(result.wall).toBeNull();
    expect(result.steps).toBeLessThan(100 * 40);
  });

  it('resolves the Vixie OR reading of 0 0 29 2 1 and an every-second expression in a few steps', () => {
    expect(searchSteps('0 0 29 2 1', '2026-03-01T00:00:00Z', '2126-01-01T00:00:00Z')).toMatchObject(
      {
        wall: '2027-02-01T00:00:00.000Z',
      },
    );
    expect(
      searchSteps('0 0 29 2 1', '2026-03-01T00:00:00Z', '2126-01-01T00:00:00Z').steps,
    ).toBeLessThan(50);
    expect(
      searchSteps('* * * * * *', '2026-03-01T00:00:00Z', '2126-01-01T00:00:00Z').steps,
    ).toBeLessThan(5);
  });

  it('walks back in steps too', () => {
    const calendar = new CronCalendar(parseCronExpression('0 0 0 29 2 */7'));
    const counter: SearchCounter = { steps: 0 };
    const wall = calendar.lastAtOrBefore(Date.parse('2031-12-31T00:00:00Z') / 1000, 0, counter);
    expect(wall === null ? null : new Date(wall * 1000).toISOString()).toBe(
      '2004-02-29T00:00:00.000Z',
    );
    expect(counter.steps).toBeLessThan(1000);
  });

  it('resolves 0 0 29 2 1 and other sparse expressions through compileCron, with the default counter', () => {
    expect(utc('0 0 29 2 */7').nextAfter(new Date('2032-03-01T00:00:00Z'))).toEqual(
      new Date('2060-02-29T00:00:00Z'),
    );
  });
});
