/**
 * The chain production walks, with a fake clock, across daylight-saving changes: the service
 * schedules a cron job, the clock moves to each pending occurrence, the run completes and the
 * service schedules the next one (and applies the misfire policy when the clock jumped past
 * slots). The slot arithmetic itself is checked against an oracle in cron-dst.test.ts; this
 * checks that the chain built from it runs each slot once, in order, across the transitions.
 */
import { describe, expect, it } from 'vitest';
import {
  DefaultRecurringJobService,
  parseMisfirePolicy,
  type JobTiming,
  type ScheduledOccurrence,
} from '../../src/index.js';
import { FakeClock, InMemoryMessageScheduler } from '../../src/testing/index.js';

const jobName = 'DstChainJob';
const worker = { hostName: 'unit-host', processId: 1 };

function cronTiming(expression: string, timeZone: string, misfire = 'once'): JobTiming {
  return { schedule: { kind: 'cron', expression, timeZone }, misfire: parseMisfirePolicy(misfire) };
}

/**
 * Starts the job at `fromIso` and runs `runs` occurrences, each when it is due (`lateMs`
 * after it) unless `downUntilIso` says no worker ran before then; returns each run's
 * occurrence and cause.
 */
async function walkChain(
  timing: JobTiming,
  fromIso: string,
  runs: number,
  options: { readonly downUntilIso?: string; readonly lateMs?: number } = {},
): Promise<string[]> {
  const clock = new FakeClock(new Date(fromIso));
  const scheduler = new InMemoryMessageScheduler();
  const service = new DefaultRecurringJobService({ scheduler, clock });
  let pending: ScheduledOccurrence = (await service.ensureScheduled({ jobName, timing }, clock.now())).pending;
  const ran: string[] = [];
  let downUntil = options.downUntilIso === undefined ? null : new Date(options.downUntilIso);
  while (ran.length < runs) {
    const dueMs = pending.runAt.getTime() + (options.lateMs ?? 0);
    clock.set(new Date(downUntil === null ? dueMs : Math.max(dueMs, downUntil.getTime())));
    downUntil = null;
    // What a worker does with an occurrence handed over late: the misfire policy decides.
    const replacement = await service.applyMisfire(pending, timing);
    if (replacement !== null) pending = replacement;
    if (pending.runAt.getTime() > clock.now().getTime()) continue;
    ran.push(`${pending.occurrenceAt.toISOString()} ${pending.cause}`);
    const completion = await service.completeOccurrence({
      occurrence: pending,
      timing,
      outcome: 'succeeded',
      attempt: pending.attempt,
      retryDelayMs: null,
      startedAt: clock.now(),
      executedBy: worker,
    });
    expect(completion.applied).toBe('advanced');
    pending = completion.next;
  }
  return ran;
}

describe('the chain across daylight saving, with a fake clock', () => {
  it('Europe/Berlin, 30 2 * * *: 03:00 CEST on the spring-forward day, once on the fall-back day', async () => {
    expect(await walkChain(cronTiming('30 2 * * *', 'Europe/Berlin'), '2026-03-28T00:00:00Z', 3, { lateMs: 20 })).toEqual([
      '2026-03-28T01:30:00.000Z schedule', // 02:30 CET
      '2026-03-29T01:00:00.000Z schedule', // 03:00 CEST: 02:30 does not exist
      '2026-03-30T00:30:00.000Z schedule', // 02:30 CEST
    ]);
    expect(await walkChain(cronTiming('30 2 * * *', 'Europe/Berlin'), '2026-10-24T00:00:00Z', 3, { lateMs: 20 })).toEqual([
      '2026-10-24T00:30:00.000Z schedule', // 02:30 CEST
      '2026-10-25T00:30:00.000Z schedule', // 02:30 CEST, the first of two: the repeat does not run
      '2026-10-26T01:30:00.000Z schedule', // 02:30 CET
    ]);
  });

  it('Europe/Berlin, 0 * * * *: through the fall-back night, every real hour once', async () => {
    expect(await walkChain(cronTiming('0 * * * *', 'Europe/Berlin'), '2026-10-24T22:30:00Z', 4)).toEqual([
      '2026-10-24T23:00:00.000Z schedule', // 01:00 CEST
      '2026-10-25T00:00:00.000Z schedule', // 02:00 CEST
      '2026-10-25T02:00:00.000Z schedule', // 03:00 CET (02:00 CET, the repeat, has no slot)
      '2026-10-25T03:00:00.000Z schedule', // 04:00 CET
    ]);
  });

  it('America/New_York, */30 * * * *: the spring-forward gap coalesces into 03:00 EDT', async () => {
    expect(await walkChain(cronTiming('*/30 * * * *', 'America/New_York'), '2026-03-08T06:10:00Z', 3)).toEqual([
      '2026-03-08T06:30:00.000Z schedule', // 01:30 EST
      '2026-03-08T07:00:00.000Z schedule', // 03:00 EDT: 02:00 and 02:30 do not exist
      '2026-03-08T07:30:00.000Z schedule', // 03:30 EDT
    ]);
  });

  it('Australia/Lord_Howe, */30 * * * *: the repeated half hour runs once when it falls back', async () => {
    expect(await walkChain(cronTiming('*/30 * * * *', 'Australia/Lord_Howe'), '2026-04-04T14:10:00Z', 3)).toEqual([
      '2026-04-04T14:30:00.000Z schedule', // 01:30 +11, the first of two
      '2026-04-04T15:30:00.000Z schedule', // 02:00 +10:30 (15:00Z, 01:30 +10:30, is the repeat: no run)
      '2026-04-04T16:00:00.000Z schedule', // 02:30 +10:30
    ]);
  });

  it('catch-up after a downtime spanning the New York fall-back: each missed real slot once, oldest first', async () => {
    // Down from 00:05 EDT to 02:40 EST: the hourly slots 01:00 EDT and 02:00 EST were missed
    // (01:00 EST, the repeat, is no slot). The pending 01:00 EDT occurrence is inside the
    // window and runs as it is; the next missed slot runs as a catch-up; then the chain resumes.
    const timing = cronTiming('0 * * * *', 'America/New_York', 'catch-up:4h');
    expect(
      await walkChain(timing, '2026-11-01T04:05:00Z', 5, { downUntilIso: '2026-11-01T07:40:00Z' }),
    ).toEqual([
      '2026-11-01T05:00:00.000Z schedule', // 01:00 EDT, the pending occurrence
      '2026-11-01T07:00:00.000Z catch-up', // 02:00 EST
      '2026-11-01T08:00:00.000Z schedule', // 03:00 EST
      '2026-11-01T09:00:00.000Z schedule',
      '2026-11-01T10:00:00.000Z schedule',
    ]);
  });

  it('once after the same downtime: the missed slots collapse into the newest', async () => {
    const timing = cronTiming('0 * * * *', 'America/New_York', 'once');
    expect(
      await walkChain(timing, '2026-11-01T04:05:00Z', 2, { downUntilIso: '2026-11-01T07:40:00Z' }),
    ).toEqual(['2026-11-01T07:00:00.000Z schedule', '2026-11-01T08:00:00.000Z schedule']);
  });
});
