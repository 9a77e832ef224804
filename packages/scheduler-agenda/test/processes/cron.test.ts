/**
 * Cron schedules on real worker processes: three replicas competing for a job due every
 * second, and the misfire policies after a downtime.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
    const workers = [0, 1, 2].map(() => harness.spawn([spec]));
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
    // The replicas competed: each ran slots, and each lost due slots to another replica's lock.
    const ranBy = new Map<number, number>();
    for (const run of succeeded) ranBy.set(run.instance.processId, (ranBy.get(run.instance.processId) ?? 0) + 1);
    const lostBy = workers.map((worker) => worker.events.filter((event) => event.event === 'lock-lost').length);
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
    const missedSlots = (name: string) => {
      const slots: number[] = [];
      for (let slot = lastBefore.get(name)! + 5 * second; slot <= restartedAt; slot += 5 * second) slots.push(slot);
      return slots;
    };

    const catchingUp = await after('catching-up');
    const caughtUp = catchingUp.filter((run) => run.cause === 'catch-up');
    const window = missedSlots('catching-up').filter((slot) => slot >= restartedAt - 20 * second - second);
    // Each missed slot inside the 20 s window ran once, oldest first (starts in slot order).
    expect(caughtUp.length).toBeGreaterThanOrEqual(3);
    expect(caughtUp.length).toBeLessThanOrEqual(window.length);
    const caughtSlots = caughtUp.map((run) => run.occurrenceAt.getTime());
    expect(caughtSlots).toEqual([...caughtSlots].sort((left, right) => left - right));
    expect(new Set(caughtSlots).size).toBe(caughtSlots.length);
    for (let index = 1; index < caughtSlots.length; index += 1) expect(caughtSlots[index]! - caughtSlots[index - 1]!).toBe(5 * second);
    expect(Math.min(...caughtSlots)).toBeGreaterThanOrEqual(restartedAt - 21 * second);
    expect(Math.min(...caughtSlots)).toBeGreaterThan(stoppedAt);

    const skipping = await after('skipping');
    expect(skipping.every((run) => run.occurrenceAt.getTime() > restartedAt)).toBe(true);

    const collapsing = await after('collapsing');
    const collapsed = collapsing.filter((run) => run.occurrenceAt.getTime() <= restartedAt);
    expect(collapsed).toHaveLength(1);
    expect(collapsed[0]!.occurrenceAt.getTime()).toBe(Math.max(...missedSlots('collapsing')));
    for (const name of ['catching-up', 'skipping', 'collapsing']) {
      expect([...successesPerOccurrence(await harness.allRuns(name)).values()].every((count) => count === 1)).toBe(true);
    }
  });
});
