import { describe, expect, it } from 'vitest';
import { describeSchedule, parseSchedule } from '../../src/index.js';

const describeText = (text: string, timeZone = 'UTC') =>
  describeSchedule(parseSchedule(text, timeZone));

describe('describeSchedule', () => {
  it.each([
    ['10s', 'every 10 seconds after the last start'],
    ['1s', 'every second after the last start'],
    ['24h', 'every 24 hours after the last start'],
    ['1h', 'every hour after the last start'],
    ['1h30m', 'every 90 minutes after the last start'],
    ['7d', 'every 7 days after the last start'],
    ['1500ms', 'every 1500 milliseconds after the last start'],
  ])('interval %s: %j', (text, words) => {
    expect(describeText(text)).toBe(words);
  });

  it.each([
    ['* * * * *', 'every minute'],
    ['*/15 * * * *', 'every 15 minutes'],
    ['0,20,40 * * * *', 'every 20 minutes'],
    ['0 * * * *', 'every hour at minute 0'],
    ['@hourly', 'every hour at minute 0'],
    ['45 * * * *', 'every hour at minute 45'],
    ['0 */6 * * *', 'every 6 hours at minute 0'],
    ['* * * * * *', 'every second'],
    ['*/10 * * * * *', 'every 10 seconds'],
    ['30 * * * * *', 'every minute at second 30'],
    ['30 */5 * * * *', 'every 5 minutes at second 30'],
  ])('cron %j: %j', (expression, words) => {
    expect(describeText(expression)).toBe(words);
  });

  it.each([
    ['0 3 * * *', 'Europe/Berlin', 'every day at 03:00 (Europe/Berlin)'],
    ['@daily', 'UTC', 'every day at 00:00 (UTC)'],
    ['30 0 3 * * *', 'UTC', 'every day at 03:00:30 (UTC)'],
    ['30 9 * * MON', 'UTC', 'every Monday at 09:30 (UTC)'],
    ['30 9 * * 1', 'UTC', 'every Monday at 09:30 (UTC)'],
    ['0 0 * * 7', 'UTC', 'every Sunday at 00:00 (UTC)'],
    ['@weekly', 'UTC', 'every Sunday at 00:00 (UTC)'],
    ['0 9 * * MON-FRI', 'UTC', 'every Monday to Friday at 09:00 (UTC)'],
    ['0 10 * * SAT,SUN', 'UTC', 'every Saturday and Sunday at 10:00 (UTC)'],
    ['0 8 * * MON,WED,FRI', 'UTC', 'every Monday, Wednesday and Friday at 08:00 (UTC)'],
    ['0 0 1 * *', 'UTC', 'on day 1 of every month at 00:00 (UTC)'],
    ['@monthly', 'America/New_York', 'on day 1 of every month at 00:00 (America/New_York)'],
    ['15 6 28 * *', 'UTC', 'on day 28 of every month at 06:15 (UTC)'],
    ['@yearly', 'UTC', 'every year on January 1 at 00:00 (UTC)'],
    ['0 12 25 DEC *', 'UTC', 'every year on December 25 at 12:00 (UTC)'],
    ['0 12 1-31 * MON', 'UTC', 'every day at 12:00 (UTC)'], // Vixie OR with every day of the month
    [' 0  9 * * * ', 'UTC', 'every day at 09:00 (UTC)'],
  ])('cron %j in %s: %j', (expression, timeZone, words) => {
    expect(describeText(expression, timeZone)).toBe(words);
  });

  it.each([
    ['0 9-17 * * 1-5', 'UTC'],
    ['*/7 * * * *', 'UTC'],
    ['0,15,30,44 * * * *', 'UTC'],
    ['*/7 * * * * *', 'UTC'],
    ['0 0 1 * MON', 'UTC'],
    ['0 0 1,15 * *', 'UTC'],
    ['0 0 1 1,7 *', 'UTC'],
    ['0 0 * 1 *', 'UTC'],
    ['0 * * * MON', 'Europe/Berlin'],
    ['0 0 */2 * MON', 'UTC'],
    ['30 0 * * * *', 'UTC'],
    ['0 */5 * * *', 'UTC'],
    ['0,30 9 * * *', 'UTC'],
    ['* 9 * * *', 'UTC'],
    ['0 0 * 1-10 *', 'UTC'],
    ['1,2 * * * * *', 'UTC'],
  ])('falls back to the expression for %j', (expression, timeZone) => {
    const schedule = parseSchedule(expression, timeZone);
    const shown = schedule.kind === 'cron' ? schedule.expression : '';
    expect(describeSchedule(schedule)).toBe(`cron "${shown}" (${timeZone})`);
  });

  it('rejects an invalid schedule', () => {
    expect(() => describeSchedule({ kind: 'interval', everyMs: 0 })).toThrow(RangeError);
  });
});
