import { describe, expect, it } from 'vitest';
import { compileCron, parseCronExpression, type CronFields } from '../../src/index.js';

const range = (from: number, to: number, step = 1) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, index) => from + index * step);

function valuesOf(fields: CronFields) {
  return {
    second: fields.second.values,
    minute: fields.minute.values,
    hour: fields.hour.values,
    dayOfMonth: fields.dayOfMonth.values,
    month: fields.month.values,
    dayOfWeek: fields.dayOfWeek.values,
  };
}

describe('parseCronExpression: syntax', () => {
  it('reads 5 fields as minute hour day-of-month month day-of-week, with second 0', () => {
    expect(valuesOf(parseCronExpression('5 4 3 2 1'))).toEqual({
      second: [0],
      minute: [5],
      hour: [4],
      dayOfMonth: [3],
      month: [2],
      dayOfWeek: [1],
    });
  });

  it('reads 6 fields with seconds first', () => {
    expect(valuesOf(parseCronExpression('6 5 4 3 2 1'))).toMatchObject({
      second: [6],
      minute: [5],
    });
  });

  it('expands * to the whole range of each field (day-of-week 0-6)', () => {
    expect(valuesOf(parseCronExpression('* * * * * *'))).toEqual({
      second: range(0, 59),
      minute: range(0, 59),
      hour: range(0, 23),
      dayOfMonth: range(1, 31),
      month: range(1, 12),
      dayOfWeek: range(0, 6),
    });
  });

  it.each([
    ['lists', '1,5,3 * * * *', [1, 3, 5]],
    ['ranges', '10-15 * * * *', range(10, 15)],
    ['steps over *', '*/15 * * * *', [0, 15, 30, 45]],
    ['steps over a range', '10-30/10 * * * *', [10, 20, 30]],
    ['steps from a start', '50/3 * * * *', [50, 53, 56, 59]],
    ['lists of ranges and steps', '0-2,30-40/5,59 * * * *', [0, 1, 2, 30, 35, 40, 59]],
    ['duplicates once', '5,5,1-5 * * * *', [1, 2, 3, 4, 5]],
    ['a step that does not divide the range', '*/7 * * * *', [0, 7, 14, 21, 28, 35, 42, 49, 56]],
    ['a step as long as the range', '*/60 * * * *', [0]],
  ])('reads %s', (_, expression, minutes) => {
    expect(parseCronExpression(expression).minute.values).toEqual(minutes);
  });

  it('reads month names JAN-DEC in any case, alone and in ranges', () => {
    expect(parseCronExpression('0 0 1 jan,Mar,DEC *').month.values).toEqual([1, 3, 12]);
    expect(parseCronExpression('0 0 1 FEB-apr *').month.values).toEqual([2, 3, 4]);
    expect(parseCronExpression('0 0 1 JAN-DEC/3 *').month.values).toEqual([1, 4, 7, 10]);
  });

  it('reads day names SUN-SAT in any case, alone and in ranges', () => {
    expect(parseCronExpression('0 0 * * sun,Wed,SAT').dayOfWeek.values).toEqual([0, 3, 6]);
    expect(parseCronExpression('0 0 * * MON-FRI').dayOfWeek.values).toEqual([1, 2, 3, 4, 5]);
  });

  it('reads day-of-week 0 and 7 as Sunday', () => {
    expect(parseCronExpression('0 0 * * 7').dayOfWeek.values).toEqual([0]);
    expect(parseCronExpression('0 0 * * 0,7').dayOfWeek.values).toEqual([0]);
    expect(parseCronExpression('0 0 * * 5-7').dayOfWeek.values).toEqual([0, 5, 6]);
    expect(parseCronExpression('0 0 * * 0-7').dayOfWeek.values).toEqual(range(0, 6));
  });

  it('ends open day-of-week steps at Saturday, so 7 does not add Sunday back', () => {
    expect(parseCronExpression('0 0 * * */2').dayOfWeek.values).toEqual([0, 2, 4, 6]);
    expect(parseCronExpression('0 0 * * 1/2').dayOfWeek.values).toEqual([1, 3, 5]);
    expect(parseCronExpression('0 0 * * */7').dayOfWeek.values).toEqual([0]);
  });

  it.each([
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
    ['@monthly', '0 0 1 * *'],
    ['@weekly', '0 0 * * 0'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@hourly', '0 * * * *'],
    ['@DAILY', '0 0 * * *'],
  ])('expands the macro %s to %s', (macro, expansion) => {
    expect(parseCronExpression(macro)).toEqual(parseCronExpression(expansion));
  });

  it('accepts any whitespace between fields', () => {
    expect(parseCronExpression('  0\t3  * *\n*  ')).toEqual(parseCronExpression('0 3 * * *'));
  });

  it('marks day fields written with a leading * (Vixie cron: then both must match)', () => {
    expect(parseCronExpression('0 0 * * MON')).toMatchObject({
      dayOfMonth: { wildcard: true },
      dayOfWeek: { wildcard: false },
      daysMatchEither: false,
    });
    expect(parseCronExpression('0 0 */2 * MON').daysMatchEither).toBe(false);
    expect(parseCronExpression('0 0 1 * MON').daysMatchEither).toBe(true);
    expect(parseCronExpression('0 0 1-31 * MON').daysMatchEither).toBe(true);
  });
});

describe('parseCronExpression: errors name the expression, the field and the reason', () => {
  it.each([
    ['0 25 * * *', 'hour 25 is out of range 0-23'],
    ['60 * * * *', 'minute 60 is out of range 0-59'],
    ['60 0 * * * *', 'second 60 is out of range 0-59'],
    ['0 0 0 * *', 'day-of-month 0 is out of range 1-31'],
    ['0 0 32 * *', 'day-of-month 32 is out of range 1-31'],
    ['0 0 1 13 *', 'month 13 is out of range 1-12'],
    ['0 0 1 0 *', 'month 0 is out of range 1-12'],
    ['0 0 * * 8', 'day-of-week 8 is out of range 0-7'],
    ['0 0-25 * * *', 'hour 25 is out of range 0-23'],
    ['x * * * *', 'minute "x" is not a number'],
    ['0 MON * * *', 'hour "MON" is not a number'],
    ['0 0 1 FOO *', 'month "FOO" is not a number or a month name (JAN-DEC)'],
    ['0 0 * * MONDAY', 'day-of-week "MONDAY" is not a number or a day name (SUN-SAT)'],
    ['0 0 * JAN MON-', 'day-of-week "" is not a number or a day name (SUN-SAT)'],
    ['1,,2 * * * *', 'minute "1,,2" has an empty list item'],
    ['1, * * * *', 'minute "1," has an empty list item'],
    ['*/0 * * * *', 'minute "*/0": step "0" must be a whole number from 1 to 60'],
    ['*/61 * * * *', 'minute "*/61": step "61" must be a whole number from 1 to 60'],
    ['*/x * * * *', 'minute "*/x": step "x" must be a whole number from 1 to 60'],
    ['*/ * * * *', 'minute "*/": step "" must be a whole number from 1 to 60'],
    ['0 0 * * */8', 'day-of-week "*/8": step "8" must be a whole number from 1 to 7'],
    ['*/2/3 * * * *', 'minute "*/2/3" has more than one "/"'],
    ['1-2-3 * * * *', 'minute "1-2-3" has a range with more than one "-"'],
    ['0 5-2 * * *', 'hour "5-2": range 5-2 runs backwards (write the smaller bound first)'],
    [
      '0 0 * * FRI-MON',
      'day-of-week "FRI-MON": range FRI-MON runs backwards (write the smaller bound first)',
    ],
    [
      '* * * *',
      'expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got 4',
    ],
    [
      '* * * * * * *',
      'expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got 7',
    ],
    ['', 'is empty'],
    ['  ', 'is empty'],
    [
      '@reboot',
      'unknown macro (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly; @reboot and others are not supported)',
    ],
    [
      '@daily 5',
      'unknown macro (use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly; @reboot and others are not supported)',
    ],
  ])('%j: %s', (expression, reason) => {
    expect(() => parseCronExpression(expression)).toThrow(
      new RangeError(`cron expression "${expression}": ${reason}`),
    );
  });

  it.each([
    ['0 0 L * *', 'day-of-month "L"'],
    ['0 0 15W * *', 'day-of-month "15W"'],
    ['0 0 LW * *', 'day-of-month "LW"'],
    ['0 0 * * 5L', 'day-of-week "5L"'],
    ['0 0 * * 5#2', 'day-of-week "5#2"'],
    ['0 0 ? * MON', 'day-of-month "?"'],
    ['0 0 * * ?', 'day-of-week "?"'],
    ['0 0 1,L * *', 'day-of-month "1,L"'],
  ])('rejects the Quartz extension in %j as not supported', (expression, field) => {
    expect(() => parseCronExpression(expression)).toThrow(
      new RangeError(
        `cron expression "${expression}": ${field} is not supported (L, W, # and ? are Quartz extensions; use lists and ranges)`,
      ),
    );
  });

  it('rejects a value that is not a string', () => {
    expect(() => parseCronExpression(5 as unknown as string)).toThrow(
      new TypeError('cron expression must be a string, got number'),
    );
  });

  it('keeps month names out of the L check (JUL has an L)', () => {
    expect(parseCronExpression('0 0 1 JUL *').month.values).toEqual([7]);
  });
});

describe('compileCron: validation', () => {
  it.each(['0 0 30 2 *', '0 0 31 4,6,9,11 *', '0 0 31 FEB-APR/2 *'])(
    'rejects %j, which never matches',
    (expression) => {
      expect(() => compileCron(expression, 'UTC')).toThrow(
        new RangeError(
          `cron expression "${expression}" never matches: no date has the day and month it asks for`,
        ),
      );
    },
  );

  it('accepts February 29, which exists in leap years, with or without a weekday', () => {
    expect(() => compileCron('0 0 29 2 *', 'UTC')).not.toThrow();
    expect(() => compileCron('0 0 29 2 */7', 'UTC')).not.toThrow();
  });

  it('accepts an impossible day-of-month when the weekday may match instead (Vixie OR)', () => {
    expect(compileCron('0 0 30 2 MON', 'UTC').nextAfter(new Date('2026-01-01T00:00:00Z'))).toEqual(
      new Date('2026-02-02T00:00:00Z'),
    );
  });

  it('rejects an unknown time zone', () => {
    expect(() => compileCron('0 3 * * *', 'Europe/Berln')).toThrow(
      new RangeError(
        'time zone "Europe/Berln" is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)',
      ),
    );
  });

  it('keeps the expression and the zone it was compiled with', () => {
    const cron = compileCron('@daily', 'Europe/Berlin');
    expect(cron.expression).toBe('@daily');
    expect(cron.timeZone).toBe('Europe/Berlin');
    expect(cron.fields.hour.values).toEqual([0]);
  });
});
