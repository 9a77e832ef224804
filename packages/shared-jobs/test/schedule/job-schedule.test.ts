import { describe, expect, it } from 'vitest';
import {
  assertValidJobSchedule,
  assertValidTimeZone,
  parseSchedule,
  type JobSchedule,
} from '../../src/index.js';

describe('parseSchedule', () => {
  it.each([
    ['10s', 10_000],
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    [' 500ms ', 500],
    ['1h 30m', 5_400_000],
  ])('reads the interval %j', (text, everyMs) => {
    expect(parseSchedule(text)).toEqual({ kind: 'interval', everyMs });
  });

  it('reads a cron expression, in UTC by default', () => {
    expect(parseSchedule('0 3 * * *')).toEqual({
      kind: 'cron',
      expression: '0 3 * * *',
      timeZone: 'UTC',
    });
  });

  it('reads a cron expression in a time zone, with one space between fields', () => {
    expect(parseSchedule('  0   3 *\t* MON-FRI ', 'Europe/Berlin')).toEqual({
      kind: 'cron',
      expression: '0 3 * * MON-FRI',
      timeZone: 'Europe/Berlin',
    });
  });

  it('reads 6-field expressions and macros as cron', () => {
    expect(parseSchedule('*/10 * * * * *')).toMatchObject({
      kind: 'cron',
      expression: '*/10 * * * * *',
    });
    expect(parseSchedule('@daily', 'America/New_York')).toEqual({
      kind: 'cron',
      expression: '@daily',
      timeZone: 'America/New_York',
    });
  });

  it.each([
    ['10x', 'duration "10x": unknown unit "x" (use ms, s, m, h, d)'],
    ['1h 30x', 'duration "1h 30x": unknown unit "x" (use ms, s, m, h, d)'],
    ['1.5h', 'duration "1.5h": only whole numbers are allowed (write 1h30m, not 1.5h)'],
    ['0s', 'schedule "0s": an interval must be longer than 0'],
    ['', 'schedule "" is empty: write an interval (10s, 24h) or a cron expression (0 3 * * *)'],
    ['0 25 * * *', 'cron expression "0 25 * * *": hour 25 is out of range 0-23'],
    [
      '0 0 30 2 *',
      'cron expression "0 0 30 2 *" never matches: no date has the day and month it asks for',
    ],
    [
      'every day',
      'cron expression "every day": expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got 2',
    ],
    [
      '*',
      'cron expression "*": expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got 1',
    ],
  ])('rejects %j naming the field and the reason', (text, message) => {
    expect(() => parseSchedule(text)).toThrow(new RangeError(message));
  });

  it('rejects an unknown time zone, for intervals too', () => {
    const message =
      'time zone "Europe/Berln" is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)';
    expect(() => parseSchedule('0 3 * * *', 'Europe/Berln')).toThrow(new RangeError(message));
    expect(() => parseSchedule('10s', 'Europe/Berln')).toThrow(new RangeError(message));
  });

  it('rejects a value that is not a string', () => {
    expect(() => parseSchedule(undefined as unknown as string)).toThrow(
      new TypeError('schedule must be a string, got undefined'),
    );
  });
});

describe('assertValidTimeZone', () => {
  it.each([
    'UTC',
    'Europe/Berlin',
    'America/New_York',
    'Australia/Lord_Howe',
    'Asia/Kolkata',
    'Etc/GMT-1',
  ])('accepts %s', (timeZone) => {
    expect(() => assertValidTimeZone(timeZone)).not.toThrow();
  });

  it.each(['Europe/Berln', '', ' UTC', '+01:00', '-05:00', 'Mars/Olympus_Mons'])(
    'rejects %j',
    (timeZone) => {
      expect(() => assertValidTimeZone(timeZone)).toThrow(
        new RangeError(
          `time zone "${timeZone}" is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)`,
        ),
      );
    },
  );

  it('rejects a value that is not a string', () => {
    expect(() => assertValidTimeZone(1)).toThrow(
      new TypeError('time zone must be a string, got number'),
    );
  });
});

describe('assertValidJobSchedule', () => {
  it('accepts valid schedules', () => {
    expect(() => assertValidJobSchedule({ kind: 'interval', everyMs: 1 })).not.toThrow();
    expect(() =>
      assertValidJobSchedule({ kind: 'cron', expression: '0 3 * * *', timeZone: 'Europe/Berlin' }),
    ).not.toThrow();
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects an interval of %d ms, naming everyMs', (everyMs) => {
    expect(() => assertValidJobSchedule({ kind: 'interval', everyMs })).toThrow(
      new RangeError(
        `schedule.everyMs must be a positive integer (milliseconds), got ${String(everyMs)}`,
      ),
    );
  });

  it('rejects a bad cron expression or time zone, naming it', () => {
    expect(() =>
      assertValidJobSchedule({ kind: 'cron', expression: '0 25 * * *', timeZone: 'UTC' }),
    ).toThrow('cron expression "0 25 * * *": hour 25 is out of range 0-23');
    expect(() =>
      assertValidJobSchedule({ kind: 'cron', expression: '0 3 * * *', timeZone: 'Europe/Berln' }),
    ).toThrow('time zone "Europe/Berln" is not an IANA time zone');
  });

  it('rejects an unknown kind', () => {
    expect(() => assertValidJobSchedule({ kind: 'daily' } as unknown as JobSchedule)).toThrow(
      new TypeError('schedule.kind must be "interval" or "cron", got "daily"'),
    );
  });
});
