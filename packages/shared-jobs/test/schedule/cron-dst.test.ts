import { describe, expect, it } from 'vitest';
import { compileCron } from '../../src/index.js';
import { isoStrings, walkSlots } from './support.js';

/*
 * Transitions used below (2026):
 * Europe/Berlin        03-29 01:00Z 02:00 CET -> 03:00 CEST    10-25 01:00Z 03:00 CEST -> 02:00 CET
 * America/New_York     03-08 07:00Z 02:00 EST -> 03:00 EDT     11-01 06:00Z 02:00 EDT -> 01:00 EST
 * Australia/Lord_Howe  04-04 15:00Z 02:00 +11 -> 01:30 +10:30  10-03 15:30Z 02:00 +10:30 -> 02:30 +11
 */

const berlin = (expression: string) => compileCron(expression, 'Europe/Berlin');
const newYork = (expression: string) => compileCron(expression, 'America/New_York');
const lordHowe = (expression: string) => compileCron(expression, 'Australia/Lord_Howe');

describe('daylight saving: Europe/Berlin', () => {
  it('fall back, 0 * * * *: 02:00 CEST, then 03:00 CET two real hours later (02:00 CET is the repeat)', () => {
    expect(walkSlots(berlin('0 * * * *'), '2026-10-24T22:30:00Z', 4)).toEqual([
      '2026-10-24T23:00:00.000Z', // 01:00 CEST
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T02:00:00.000Z', // 03:00 CET
      '2026-10-25T03:00:00.000Z', // 04:00 CET
    ]);
  });

  it('spring forward, 0 * * * *: the missing 02:00 runs at 03:00 CEST, one slot with the real 03:00', () => {
    expect(walkSlots(berlin('0 * * * *'), '2026-03-28T23:30:00Z', 3)).toEqual([
      '2026-03-29T00:00:00.000Z', // 01:00 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST (02:00 and 03:00)
      '2026-03-29T02:00:00.000Z', // 04:00 CEST
    ]);
  });

  it('spring forward, */15 * * * *: no 02:00-02:45 slots, they coalesce into the 03:00 slot', () => {
    expect(walkSlots(berlin('*/15 * * * *'), '2026-03-29T00:20:00Z', 4)).toEqual([
      '2026-03-29T00:30:00.000Z', // 01:30 CET
      '2026-03-29T00:45:00.000Z', // 01:45 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST
      '2026-03-29T01:15:00.000Z', // 03:15 CEST
    ]);
  });

  it('30 2 * * * runs at 03:00 CEST on the spring-forward day and once on the fall-back day', () => {
    expect(walkSlots(berlin('30 2 * * *'), '2026-03-28T00:00:00Z', 3)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST: 02:30 does not exist
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
    expect(walkSlots(berlin('30 2 * * *'), '2026-10-24T00:00:00Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, the first of two
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
  });

  it('every second: the clock jumps forward with the slots, and the repeated hour has none', () => {
    expect(walkSlots(berlin('* * * * * *'), '2026-03-29T00:59:57Z', 4)).toEqual([
      '2026-03-29T00:59:58.000Z', // 01:59:58 CET
      '2026-03-29T00:59:59.000Z',
      '2026-03-29T01:00:00.000Z', // 03:00:00 CEST: all of 02:00:00-02:59:59 and 03:00:00
      '2026-03-29T01:00:01.000Z',
    ]);
    expect(walkSlots(berlin('* * * * * *'), '2026-10-25T00:59:57Z', 4)).toEqual([
      '2026-10-25T00:59:58.000Z', // 02:59:58 CEST
      '2026-10-25T00:59:59.000Z', // 02:59:59 CEST
      '2026-10-25T02:00:00.000Z', // 03:00:00 CET
      '2026-10-25T02:00:01.000Z',
    ]);
  });

  it('from inside the repeated hour, the next slot is after it and the latest one is in its first pass', () => {
    const hourly = berlin('0 * * * *');
    const secondPass = new Date('2026-10-25T01:30:00Z'); // 02:30 CET
    expect(hourly.nextAfter(secondPass)).toEqual(new Date('2026-10-25T02:00:00Z'));
    expect(hourly.latestAtOrBefore(secondPass)).toEqual(new Date('2026-10-25T00:00:00Z'));
    expect(berlin('* * * * *').latestAtOrBefore(secondPass)).toEqual(
      new Date('2026-10-25T00:59:00Z'),
    );
    expect(berlin('* * * * *').nextAfter(secondPass)).toEqual(new Date('2026-10-25T02:00:00Z'));
    // The first pass behaves like any hour.
    const firstPass = new Date('2026-10-25T00:30:00Z'); // 02:30 CEST
    expect(berlin('* * * * *').nextAfter(firstPass)).toEqual(new Date('2026-10-25T00:31:00Z'));
    expect(berlin('* * * * *').latestAtOrBefore(firstPass)).toEqual(firstPass);
  });

  it('latestAtOrBefore finds a coalesced gap slot at its instant', () => {
    const cron = berlin('30 2 * * *');
    expect(cron.latestAtOrBefore(new Date('2026-03-29T01:00:00Z'))).toEqual(
      new Date('2026-03-29T01:00:00Z'),
    );
    expect(cron.latestAtOrBefore(new Date('2026-03-29T00:59:59Z'))).toEqual(
      new Date('2026-03-28T01:30:00Z'),
    );
  });

  it('slotsBetween over a transition lists each instant once', () => {
    const cron = berlin('*/15 * * * *');
    expect(
      isoStrings(
        cron.slotsBetween(new Date('2026-03-29T00:30:00Z'), new Date('2026-03-29T01:30:00Z'), 100),
      ),
    ).toEqual([
      '2026-03-29T00:45:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:15:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]);
    expect(
      isoStrings(
        cron.slotsBetween(new Date('2026-10-25T00:30:00Z'), new Date('2026-10-25T02:30:00Z'), 100),
      ),
    ).toEqual([
      '2026-10-25T00:45:00.000Z', // 02:45 CEST
      '2026-10-25T02:00:00.000Z', // 03:00 CET
      '2026-10-25T02:15:00.000Z',
      '2026-10-25T02:30:00.000Z',
    ]);
  });
});

describe('daylight saving: America/New_York', () => {
  it('fall back, 0 * * * *: 01:00 EDT and not again at 01:00 EST (2 real hours until 02:00 EST)', () => {
    expect(walkSlots(newYork('0 * * * *'), '2026-11-01T03:30:00Z', 4)).toEqual([
      '2026-11-01T04:00:00.000Z', // 00:00 EDT
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T08:00:00.000Z', // 03:00 EST
    ]);
  });

  it('fixed hours: 30 1 * * * once on the fall-back day, 30 2 * * * at 03:00 EDT on the spring-forward day', () => {
    expect(walkSlots(newYork('30 1 * * *'), '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00.000Z', // 01:30 EDT, the first of two
      '2026-11-02T06:30:00.000Z', // 01:30 EST
    ]);
    expect(walkSlots(newYork('30 2 * * *'), '2026-03-07T12:00:00Z', 2)).toEqual([
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-09T06:30:00.000Z', // 02:30 EDT
    ]);
  });

  it('spring forward, */30 * * * *: 02:00 and 02:30 coalesce into 03:00 EDT', () => {
    expect(walkSlots(newYork('*/30 * * * *'), '2026-03-08T06:00:00Z', 3)).toEqual([
      '2026-03-08T06:30:00.000Z', // 01:30 EST
      '2026-03-08T07:00:00.000Z', // 03:00 EDT
      '2026-03-08T07:30:00.000Z', // 03:30 EDT
    ]);
  });

  it('every second across both transitions', () => {
    expect(walkSlots(newYork('* * * * * *'), '2026-03-08T06:59:58Z', 2)).toEqual([
      '2026-03-08T06:59:59.000Z',
      '2026-03-08T07:00:00.000Z',
    ]);
    expect(walkSlots(newYork('* * * * * *'), '2026-11-01T05:59:58Z', 2)).toEqual([
      '2026-11-01T05:59:59.000Z', // 01:59:59 EDT
      '2026-11-01T07:00:00.000Z', // 02:00:00 EST
    ]);
  });
});

describe('daylight saving: Australia/Lord_Howe (30-minute shifts)', () => {
  it('fall back 02:00 -> 01:30: the repeated half hour runs once', () => {
    expect(walkSlots(lordHowe('*/30 * * * *'), '2026-04-04T13:50:00Z', 4)).toEqual([
      '2026-04-04T14:00:00.000Z', // 01:00 +11
      '2026-04-04T14:30:00.000Z', // 01:30 +11, the first of two
      '2026-04-04T15:30:00.000Z', // 02:00 +10:30
      '2026-04-04T16:00:00.000Z', // 02:30 +10:30
    ]);
    expect(walkSlots(lordHowe('0 * * * *'), '2026-04-04T13:50:00Z', 3)).toEqual([
      '2026-04-04T14:00:00.000Z', // 01:00 +11
      '2026-04-04T15:30:00.000Z', // 02:00 +10:30: 90 real minutes later
      '2026-04-04T16:30:00.000Z',
    ]);
    expect(walkSlots(lordHowe('45 1 * * *'), '2026-04-04T00:00:00Z', 2)).toEqual([
      '2026-04-04T14:45:00.000Z', // 01:45 +11 on 04-05, the first of two
      '2026-04-05T15:15:00.000Z', // 01:45 +10:30 on 04-06
    ]);
  });

  it('spring forward 02:00 -> 02:30: the missing half hour runs at 02:30', () => {
    expect(walkSlots(lordHowe('*/15 * * * *'), '2026-10-03T15:00:00Z', 3)).toEqual([
      '2026-10-03T15:15:00.000Z', // 01:45 +10:30
      '2026-10-03T15:30:00.000Z', // 02:30 +11: 02:00, 02:15 and 02:30
      '2026-10-03T15:45:00.000Z', // 02:45 +11
    ]);
    expect(walkSlots(lordHowe('0 * * * *'), '2026-10-03T14:00:00Z', 3)).toEqual([
      '2026-10-03T14:30:00.000Z', // 01:00 +10:30
      '2026-10-03T15:30:00.000Z', // 02:30 +11 for 02:00
      '2026-10-03T16:00:00.000Z', // 03:00 +11: 30 real minutes later
    ]);
    expect(walkSlots(lordHowe('15 2 * * *'), '2026-10-03T00:00:00Z', 2)).toEqual([
      '2026-10-03T15:30:00.000Z', // 02:30 +11 on 10-04
      '2026-10-04T15:15:00.000Z', // 02:15 +11 on 10-05
    ]);
  });

  it('every second across both transitions', () => {
    expect(walkSlots(lordHowe('* * * * * *'), '2026-04-04T14:59:58Z', 2)).toEqual([
      '2026-04-04T14:59:59.000Z', // 01:59:59 +11
      '2026-04-04T15:30:00.000Z', // 02:00:00 +10:30
    ]);
    expect(walkSlots(lordHowe('* * * * * *'), '2026-10-03T15:29:58Z', 3)).toEqual([
      '2026-10-03T15:29:59.000Z', // 01:59:59 +10:30
      '2026-10-03T15:30:00.000Z', // 02:30:00 +11
      '2026-10-03T15:30:01.000Z',
    ]);
  });
});

/**
 * An independent oracle of the rule "a matching wall time runs at the first instant the
 * clock shows it or a later time": scan instants, read the clock with Intl, and emit an
 * instant when some matching wall time lies between the highest reading so far
 * (exclusive) and the current reading (inclusive).
 */
function oracleSlots(
  timeZone: string,
  fromIso: string,
  untilIso: string,
  stepSeconds: number,
  matches: (wall: Date) => boolean,
): string[] {
  const formatter = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const readWall = (instantMs: number) => {
    const text = formatter.format(new Date(instantMs));
    const [, month, day, year, hour, minute, second] =
      /(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)/.exec(text) ?? [];
    return Date.UTC(
      Number(year),
      Number(month) - 1,
      Number(day),
      Number(hour),
      Number(minute),
      Number(second),
    );
  };
  const slots: string[] = [];
  const fromMs = Date.parse(fromIso);
  let highestShownMs = readWall(fromMs);
  for (
    let instantMs = fromMs + stepSeconds * 1000;
    instantMs <= Date.parse(untilIso);
    instantMs += stepSeconds * 1000
  ) {
    const shownMs = readWall(instantMs);
    let due = false;
    for (
      let wallMs = highestShownMs + stepSeconds * 1000;
      wallMs <= shownMs;
      wallMs += stepSeconds * 1000
    ) {
      if (matches(new Date(wallMs))) due = true;
    }
    if (due) slots.push(new Date(instantMs).toISOString());
    highestShownMs = Math.max(highestShownMs, shownMs);
  }
  return slots;
}

describe('daylight saving: agreement with a brute-force oracle', () => {
  const transitions = [
    ['Europe/Berlin', '2026-03-29T01:00:00Z'],
    ['Europe/Berlin', '2026-10-25T01:00:00Z'],
    ['America/New_York', '2026-03-08T07:00:00Z'],
    ['America/New_York', '2026-11-01T06:00:00Z'],
    ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
    ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
  ] as const;
  const minuteExpressions: ReadonlyArray<readonly [string, (wall: Date) => boolean]> = [
    ['* * * * *', () => true],
    ['0 * * * *', (wall) => wall.getUTCMinutes() === 0],
    ['*/15 * * * *', (wall) => wall.getUTCMinutes() % 15 === 0],
    ['*/30 * * * *', (wall) => wall.getUTCMinutes() % 30 === 0],
    ['30 2 * * *', (wall) => wall.getUTCHours() === 2 && wall.getUTCMinutes() === 30],
    ['45 1 * * *', (wall) => wall.getUTCHours() === 1 && wall.getUTCMinutes() === 45],
    [
      '15,45 1-3 * * *',
      (wall) =>
        wall.getUTCHours() >= 1 && wall.getUTCHours() <= 3 && wall.getUTCMinutes() % 30 === 15,
    ],
  ];

  it.each(transitions)(
    '%s around %s: minute-level expressions over 12 hours',
    (timeZone, transitionIso) => {
      const fromIso = new Date(Date.parse(transitionIso) - 6 * 3_600_000).toISOString();
      const untilIso = new Date(Date.parse(transitionIso) + 6 * 3_600_000).toISOString();
      for (const [expression, matches] of minuteExpressions) {
        const cron = compileCron(expression, timeZone);
        const expected = oracleSlots(timeZone, fromIso, untilIso, 60, matches);
        expect(expected.length).toBeGreaterThan(0);
        expect({
          expression,
          slots: isoStrings(cron.slotsBetween(new Date(fromIso), new Date(untilIso), 1000)),
        }).toEqual({
          expression,
          slots: expected,
        });
      }
    },
  );

  it.each(transitions)(
    '%s around %s: second-level expressions over 40 minutes',
    (timeZone, transitionIso) => {
      const fromIso = new Date(Date.parse(transitionIso) - 20 * 60_000).toISOString();
      const untilIso = new Date(Date.parse(transitionIso) + 20 * 60_000).toISOString();
      const secondExpressions: ReadonlyArray<readonly [string, (wall: Date) => boolean]> = [
        ['* * * * * *', () => true],
        ['*/20 * * * * *', (wall) => wall.getUTCSeconds() % 20 === 0],
      ];
      for (const [expression, matches] of secondExpressions) {
        const cron = compileCron(expression, timeZone);
        const expected = oracleSlots(timeZone, fromIso, untilIso, 1, matches);
        expect(expected.length).toBeGreaterThan(50);
        expect(
          cron
            .slotsBetween(new Date(fromIso), new Date(untilIso), 10_000)
            .map((slot) => slot.toISOString()),
        ).toEqual(expected);
      }
    },
  );
});
