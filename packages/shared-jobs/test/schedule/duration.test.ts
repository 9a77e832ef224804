import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/index.js';
import { describeDurationInWords } from '../../src/schedule/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['1h 30m', 5_400_000],
    ['  10s  ', 10_000],
    ['0s', 0],
    ['007s', 7000],
  ])('reads %j as %i ms', (text, expectedMs) => {
    expect(parseDuration(text)).toBe(expectedMs);
  });

  it.each([
    ['10x', 'duration "10x": unknown unit "x" (use ms, s, m, h, d)'],
    ['10S', 'duration "10S": unknown unit "S" (use ms, s, m, h, d)'],
    ['10', 'duration "10": missing unit after 10 (use ms, s, m, h, d)'],
    ['1h30', 'duration "1h30": missing unit after 30 (use ms, s, m, h, d)'],
    ['10 s', 'duration "10 s": missing unit after 10 (use ms, s, m, h, d)'],
    ['1.5h', 'duration "1.5h": only whole numbers are allowed (write 1h30m, not 1.5h)'],
    ['1,5h', 'duration "1,5h": only whole numbers are allowed (write 1h30m, not 1.5h)'],
    ['.5h', 'duration ".5h": only whole numbers are allowed (write 1h30m, not 1.5h)'],
    ['-5s', 'duration "-5s": expected a number at "-5s" (use ms, s, m, h, d)'],
    ['h', 'duration "h": expected a number at "h" (use ms, s, m, h, d)'],
    ['10s!', 'duration "10s!": expected a number at "!" (use ms, s, m, h, d)'],
    ['', 'duration "": is empty; write e.g. 10s, 5m, 24h or 1h30m'],
    ['   ', 'duration "   ": is empty; write e.g. 10s, 5m, 24h or 1h30m'],
    [
      '30m1h',
      'duration "30m1h": unit "h" is out of order or repeated (write units from largest to smallest, each once)',
    ],
    [
      '1m1m',
      'duration "1m1m": unit "m" is out of order or repeated (write units from largest to smallest, each once)',
    ],
    ['99999999999999999d', 'duration "99999999999999999d": is too large'],
  ])('rejects %j naming the text and the reason', (text, message) => {
    expect(() => parseDuration(text)).toThrow(new RangeError(message));
  });

  it('rejects a value that is not a string', () => {
    expect(() => parseDuration(10 as unknown as string)).toThrow(
      new TypeError('duration must be a string, got number'),
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [10_000, '10s'],
    [90_000, '1m 30s'],
    [5_400_000, '1h 30m'],
    [86_400_000, '1d'],
    [93_784_005, '1d 2h 3m 4s 5ms'],
  ])('prints %i ms as %j, which parses back', (durationMs, text) => {
    expect(formatDuration(durationMs)).toBe(text);
    expect(parseDuration(text)).toBe(durationMs);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %d', (durationMs) => {
    expect(() => formatDuration(durationMs)).toThrow(RangeError);
    expect(() => formatDuration(durationMs)).toThrow(
      /duration must be an integer >= 0 \(milliseconds\)/,
    );
  });
});

describe('describeDurationInWords', () => {
  it.each([
    [1000, 'second'],
    [10_000, '10 seconds'],
    [60_000, 'minute'],
    [5_400_000, '90 minutes'],
    [3_600_000, 'hour'],
    [86_400_000, '24 hours'],
    [129_600_000, '36 hours'],
    [172_800_000, '2 days'],
    [1500, '1500 milliseconds'],
    [1, 'millisecond'],
  ])('says %i ms in words with the largest exact unit: %j', (durationMs, words) => {
    expect(describeDurationInWords(durationMs)).toBe(words);
  });
});
