/**
 * Cron schedules on real worker processes: three replicas competing for a job due every
 * second, and the misfire policies after a downtime.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMisfirePolicy } from '@app/shared-jobs';
import type { TestJobSpec } from '../support/test-job-spec.js';
import { terminate } from '../support/worker-processes.js';
import { openHarness, sleep, successesPerOccurrence, waitUntil, type ProcessHarness } from './harness.js';

let harness: ProcessHarness;

beforeAll(async () => {
  harness = await openHarness();
});

afterEach(async () => {
  await harness.killAll();
});

afterAll(async () => {
  await harness.close();
});

const second = 1000;

describe('worker processes: cron', () => {
  it('three workers, a job due every second under catch-up for 60 s: every slot succeeds exactly once', async () => {
    const spec: TestJobSpec = { name: 'every-second', schedule: '* * * * * *', misfire: 'catch-up:1m', durationMs: 50 };
    // Scan periods a little apart (the fixture's default is 200 ms): the replicas' scans drift
    // past each other every second or two, so no replica's phase stays ahead of the slots for
    // the whole minute and each one wins some (with equal periods, a phase that started ahead
    // stays ahead: one CI run had a replica with 2 of 60 slots).
    const workers = [170, 200, 230].map((processEveryMs) => harness.spawn([spec], { processEveryMs }));
    await Promise.all(workers.map((worker) => worker.waitFor((event) => event.event === 'ready')));
    const startedAt = Date.now();
    await sleep(60 * second);
    for (const result of await Promise.all(workers.map((worker) => terminate(worker)))) {
      expect(result).toEqual({ code: 0, signal: null });
    }
    const runs = await harness.allRuns(spec.name);
    const succeeded = runs.filter((run) => run.status === 'succeeded');
    expect(runs.filter((run) => run.status !== 'succeeded')).toEqual([]);
    expect([...successesPerOccurrence(runs).values()].every((count) => count === 1)).toBe(true);
    // Every slot from the first run to the last one is there: none skipped, none twice.
    const slots = succeeded.map((run) => run.occurrenceAt.getTime()).sort((left, right) => left - right);
    expect(slots.length).toBeGreaterThanOrEqual(55);
    for (let index = 1; index < slots.length; index += 1) expect(slots[index]! - slots[index - 1]!).toBe(second);
    expect(slots[0]).toBeLessThanOrEqual(startedAt + 2 * second);
    // No overlap: handler-observed starts and ends alternate.
    const events = await harness.database.collection('handler_events').find({ jobName: spec.name }).sort({ at: 1 }).toArray();
    for (let index = 1; index < events.length; index += 1) expect(events[index]!.type).not.toBe(events[index - 1]!.type);
    // The replicas competed: each ran slots, and each lost slots to another replica.
    const ranBy = new Map<number, number>();
    for (const run of succeeded) ranBy.set(run.instance.processId, (ranBy.get(run.instance.processId) ?? 0) + 1);
    // A refused lock attempt lost the race when the slot due at that instant (the latest whole
    // second) was run by another replica: this one came for it and found it taken.
    const runnerBySlot = new Map(succeeded.map((run) => [run.occurrenceAt.getTime(), run.instance.processId]));
    const lostBy = workers.map(
      (worker) =>
        worker.events.filter((event) => {
          if (event.event !== 'lock-refused' || typeof event.at !== 'string') return false;
          const runner = runnerBySlot.get(Math.floor(Date.parse(event.at) / second) * second);
          return runner !== undefined && runner !== worker.pid;
        }).length,
    );
    console.info(`every-second: runs per worker ${JSON.stringify([...ranBy.values()])}, locks lost per worker ${JSON.stringify(lostBy)}`);
    for (const worker of workers) expect(ranBy.get(worker.pid) ?? 0).toBeGreaterThanOrEqual(3);
    expect(lostBy.every((count) => count >= 1)).toBe(true);
  });

  it('after 30 s of downtime: catch-up runs each missed slot in its window once, oldest first; skip runs none; once runs one', async () => {
    const every5 = '*/5 * * * * *';
    const specs: TestJobSpec[] = [
      { name: 'catching-up', schedule: every5, misfire: 'catch-up:20s', durationMs: 20 },
      { name: 'skipping', schedule: every5, misfire: 'skip', durationMs: 20 },
      { name: 'collapsing', schedule: every5, misfire: 'once', durationMs: 20 },
    ];
    const first = harness.spawn(specs);
    for (const spec of specs) {
      await first.waitFor((event) => event.event === 'run' && event.jobName === spec.name && event.outcome === 'succeeded', 20_000);
    }
    await terminate(first);
    const stoppedAt = Date.now();
    const lastBefore = new Map<string, number>();
    for (const spec of specs) {
      lastBefore.set(spec.name, Math.max(...(await harness.allRuns(spec.name)).map((run) => run.occurrenceAt.getTime())));
    }
    // The downtime: a later event (the clock passing 30 s after the stop) proves it passed.
    await sleep(30 * second);
    const restarted = harness.spawn(specs);
    const restartedAt = Date.now();
    await restarted.waitFor((event) => event.event === 'ready');
    // Each job reaches a slot after the restart that is due on time (the regular chain resumed).
    for (const spec of specs) {
      await waitUntil(
        `${spec.name} to resume its regular chain`,
        async () => (await harness.allRuns(spec.name)).some((run) => run.status === 'succeeded' && run.cause === 'schedule' && run.occurrenceAt.getTime() > restartedAt),
        30_000,
      );
    }
    await terminate(restarted);
    const after = async (name: string) =>
      (await harness.allRuns(name)).filter((run) => run.occurrenceAt.getTime() > lastBefore.get(name)!);

    /**
     * The restarted worker's misfire decision for a job: it was handed the pending occurrence
     * left by the stop and replaced it. `appliedAt` is the instant the policy was applied (the
     * replacement's `runAt` under catch-up and once: due at once), `decidedAt` a moment later.
     */
    const misfireOf = async (name: string) => {
      const event = await restarted.waitFor((entry) => entry.event === 'run' && entry.jobName === name && entry.lostClaimReason === 'misfired');
      const replacement = event.scheduled as { occurrenceAt: string; runAt: string; cause: string };
      return {
        handed: Date.parse(String(event.occurrenceAt)),
        decidedAt: Date.parse(String(event.startedAt)),
        appliedAt: Date.parse(replacement.runAt),
        occurrenceAt: Date.parse(replacement.occurrenceAt),
        cause: replacement.cause,
      };
    };
    const slotAtOrBefore = (instant: number) => Math.floor(instant / (5 * second)) * 5 * second;

    // catch-up: the window is measured back from the instant the policy was applied. The slots
    // missed inside it (the newest `maxRuns` at most) ran, oldest first, each once; the older
    // missed slots were dropped; from the oldest kept slot on, every slot ran once, without a
    // gap, until the regular chain took over (after the last catch-up run, only `schedule`).
    const policy = parseMisfirePolicy(specs[0]!.misfire!);
    if (policy.kind !== 'catch-up') throw new Error('catching-up must catch up');
    const catchUpDecision = await misfireOf('catching-up');
    expect(catchUpDecision.handed).toBe(lastBefore.get('catching-up')! + 5 * second);
    expect(catchUpDecision.appliedAt).toBeGreaterThanOrEqual(restartedAt);
    expect(catchUpDecision.appliedAt).toBeLessThanOrEqual(catchUpDecision.decidedAt);
    const expected: number[] = [];
    for (
      let slot = slotAtOrBefore(catchUpDecision.appliedAt);
      slot > lastBefore.get('catching-up')! && slot >= catchUpDecision.appliedAt - policy.windowMs && expected.length < policy.maxRuns;
      slot -= 5 * second
    ) {
      expected.unshift(slot);
    }
    expect(expected).toHaveLength(catchUpDecision.appliedAt % (5 * second) === 0 ? 5 : 4);
    expect(expected[0]! - lastBefore.get('catching-up')!).toBeGreaterThan(5 * second);
    expect(expected[0]).toBeGreaterThan(stoppedAt);
    expect(catchUpDecision).toMatchObject({ occurrenceAt: expected[0], cause: 'catch-up' });
    const catchingUp = await after('catching-up');
    expect(catchingUp.filter((run) => run.status !== 'succeeded')).toEqual([]);
    const ranSlots = catchingUp.map((run) => run.occurrenceAt.getTime());
    expect(ranSlots.slice(0, expected.length)).toEqual(expected);
    expect(ranSlots).toEqual(ranSlots.map((_, index) => expected[0]! + index * 5 * second));
    expect(catchingUp.slice(0, expected.length).map((run) => run.cause)).toEqual(expected.map(() => 'catch-up'));
    // A slot that fell due while the missed ones ran is caught up too; then the chain is regular.
    const firstRegular = catchingUp.findIndex((run) => run.cause === 'schedule');
    expect(firstRegular).toBeGreaterThanOrEqual(expected.length);
    expect(catchingUp.slice(expected.length, firstRegular).every((run) => run.cause === 'catch-up')).toBe(true);
    expect(catchingUp.slice(firstRegular).map((run) => run.cause)).toEqual(catchingUp.slice(firstRegular).map(() => 'schedule'));

    const skipping = await after('skipping');
    expect(skipping.every((run) => run.occurrenceAt.getTime() > restartedAt)).toBe(true);

    // once: the missed slots collapse into the most recent one when the policy was applied.
    const onceDecision = await misfireOf('collapsing');
    expect(onceDecision.appliedAt).toBeGreaterThanOrEqual(restartedAt);
    expect(onceDecision).toMatchObject({ occurrenceAt: slotAtOrBefore(onceDecision.appliedAt), cause: 'schedule' });
    const collapsing = await after('collapsing');
    const collapsed = collapsing.filter((run) => run.occurrenceAt.getTime() <= onceDecision.appliedAt);
    expect(collapsed.map((run) => run.occurrenceAt.getTime())).toEqual([slotAtOrBefore(onceDecision.appliedAt)]);
    for (const name of ['catching-up', 'skipping', 'collapsing']) {
      expect([...successesPerOccurrence(await harness.allRuns(name)).values()].every((count) => count === 1)).toBe(true);
    }
  });
});
