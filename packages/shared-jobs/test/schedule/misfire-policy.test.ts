import { describe, expect, it } from 'vitest';
import {
  assertMisfireFitsSchedule,
  assertValidMisfirePolicy,
  defaultCatchUpMaxRuns,
  defaultMisfirePolicy,
  describeMisfirePolicy,
  formatMisfirePolicy,
  parseMisfirePolicy,
  type MisfirePolicy,
} from '../../src/index.js';

const syntaxHint =
  'use once, skip, catch-up:<window> or catch-up:<window>:<max runs>, e.g. catch-up:24h:50';

describe('parseMisfirePolicy', () => {
  it.each([
    ['once', { kind: 'once' }],
    ['skip', { kind: 'skip' }],
    [' skip ', { kind: 'skip' }],
    ['catch-up:24h', { kind: 'catch-up', windowMs: 86_400_000, maxRuns: 100 }],
    ['catch-up:1h30m:5', { kind: 'catch-up', windowMs: 5_400_000, maxRuns: 5 }],
    ['catch-up:2d:1', { kind: 'catch-up', windowMs: 172_800_000, maxRuns: 1 }],
  ])('reads %j', (text, policy) => {
    expect(parseMisfirePolicy(text)).toEqual(policy);
  });

  it('defaults maxRuns to 100', () => {
    expect(defaultCatchUpMaxRuns).toBe(100);
  });

  it.each([
    ['later', `unknown policy (${syntaxHint})`],
    ['Once', `unknown policy (${syntaxHint})`],
    ['', `unknown policy (${syntaxHint})`],
    ['catch-up-24h', `unknown policy (${syntaxHint})`],
    ['catch-up', `catch-up needs a window (${syntaxHint})`],
    ['catch-up:', `catch-up needs a window (${syntaxHint})`],
    ['catch-up::5', `catch-up needs a window (${syntaxHint})`],
    ['catch-up:1h:5:6', `too many ":" (${syntaxHint})`],
    ['catch-up:1x', 'duration "1x": unknown unit "x" (use ms, s, m, h, d)'],
    ['catch-up:0s', 'the window must be longer than 0'],
    ['catch-up:1h:0', 'max runs "0" must be a whole number >= 1'],
    ['catch-up:1h:', 'max runs "" must be a whole number >= 1'],
    ['catch-up:1h:-1', 'max runs "-1" must be a whole number >= 1'],
    ['catch-up:1h:2.5', 'max runs "2.5" must be a whole number >= 1'],
    [
      'catch-up:1h:99999999999999999999',
      'max runs "99999999999999999999" must be a whole number >= 1',
    ],
  ])('rejects %j naming the text and the reason', (text, reason) => {
    expect(() => parseMisfirePolicy(text)).toThrow(
      new RangeError(`misfire policy "${text}": ${reason}`),
    );
  });

  it('rejects a value that is not a string', () => {
    expect(() => parseMisfirePolicy(null as unknown as string)).toThrow(
      new TypeError('misfire policy must be a string, got object'),
    );
  });
});

describe('formatMisfirePolicy', () => {
  it.each(['once', 'skip', 'catch-up:1d:100', 'catch-up:1h30m:5', 'catch-up:1s500ms:3'])(
    'prints %j, which parses back',
    (text) => {
      expect(formatMisfirePolicy(parseMisfirePolicy(text))).toBe(text);
    },
  );
});

describe('describeMisfirePolicy', () => {
  it('says each policy in words', () => {
    expect(describeMisfirePolicy(defaultMisfirePolicy)).toBe(
      'missed slots run once (collapsed into one run)',
    );
    expect(describeMisfirePolicy({ kind: 'skip' })).toBe(
      'missed slots are skipped (the next run is the next future slot)',
    );
    expect(describeMisfirePolicy(parseMisfirePolicy('catch-up:24h:50'))).toBe(
      'each slot missed in the last 1d runs once, oldest first (at most the newest 50)',
    );
    expect(describeMisfirePolicy(parseMisfirePolicy('catch-up:1h30m'))).toBe(
      'each slot missed in the last 1h 30m runs once, oldest first (at most the newest 100)',
    );
  });
});

describe('assertValidMisfirePolicy', () => {
  it.each([
    [
      { kind: 'later' },
      new TypeError('misfirePolicy.kind must be "once", "skip" or "catch-up", got "later"'),
    ],
    [
      { kind: 'catch-up', windowMs: 0, maxRuns: 1 },
      new RangeError('misfirePolicy.windowMs must be a positive integer (milliseconds), got 0'),
    ],
    [
      { kind: 'catch-up', windowMs: 1.5, maxRuns: 1 },
      new RangeError('misfirePolicy.windowMs must be a positive integer (milliseconds), got 1.5'),
    ],
    [
      { kind: 'catch-up', windowMs: 1000, maxRuns: 0 },
      new RangeError('misfirePolicy.maxRuns must be an integer >= 1, got 0'),
    ],
    [
      { kind: 'catch-up', windowMs: 1000, maxRuns: Number.NaN },
      new RangeError('misfirePolicy.maxRuns must be an integer >= 1, got NaN'),
    ],
  ])('rejects %j naming the field', (policy, error) => {
    expect(() => assertValidMisfirePolicy(policy as MisfirePolicy)).toThrow(error);
  });
});

describe('assertMisfireFitsSchedule', () => {
  const interval = { kind: 'interval', everyMs: 10_000 } as const;
  const cron = { kind: 'cron', expression: '0 3 * * *', timeZone: 'UTC' } as const;
  const catchUp = parseMisfirePolicy('catch-up:24h:10');

  it('accepts once and skip with any schedule, catch-up with cron', () => {
    for (const schedule of [interval, cron]) {
      expect(() => assertMisfireFitsSchedule(schedule, { kind: 'once' })).not.toThrow();
      expect(() => assertMisfireFitsSchedule(schedule, { kind: 'skip' })).not.toThrow();
    }
    expect(() => assertMisfireFitsSchedule(cron, catchUp)).not.toThrow();
  });

  it('rejects catch-up with an interval schedule: it has no slots to catch up', () => {
    expect(() => assertMisfireFitsSchedule(interval, catchUp)).toThrow(
      new RangeError(
        'misfire policy "catch-up:1d:10" needs a cron schedule: an interval schedule is anchored to the last start ' +
          'and has no slots to catch up (use once or skip, or a cron expression)',
      ),
    );
  });

  it('rejects an invalid policy', () => {
    expect(() =>
      assertMisfireFitsSchedule(cron, { kind: 'catch-up', windowMs: -1, maxRuns: 1 }),
    ).toThrow('misfirePolicy.windowMs');
  });
});
