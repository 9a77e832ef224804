/** One run's lease on its own: abort, the stall watchdog, progress throttling, fencing by the ledger's answer. */
import type { JobProgress } from '@app/shared-jobs';
import { FakeClock } from '@app/shared-jobs/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RunLease, RunTakenOverError, StalledRunError } from '../../src/index.js';

function lease(options: { stallTimeoutMs?: number | null; storeAnswers?: boolean[] } = {}) {
  const clock = new FakeClock(new Date('2026-03-01T12:00:00.000Z'));
  const stored: JobProgress[] = [];
  const answers = [...(options.storeAnswers ?? [])];
  const runLease = new RunLease({
    jobName: 'nightly-report',
    clock,
    stallTimeoutMs: options.stallTimeoutMs ?? null,
    storeProgress: (progress) => {
      stored.push(progress);
      return Promise.resolve(answers.shift() ?? true);
    },
    progressWriteEveryMs: 1000,
  });
  return { clock, stored, runLease };
}

describe('RunLease', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts the handler signal once, with the first reason', async () => {
    const { runLease } = lease();
    const first = new Error('drain deadline');
    runLease.abort(first);
    runLease.abort(new Error('a later reason'));
    expect(runLease.signal.aborted).toBe(true);
    expect(runLease.signal.reason).toBe(first);
    await expect(runLease.aborted).resolves.toBe(first);
  });

  it('fails a run that reports no progress within the stall timeout, naming the job and the timeout', async () => {
    const { runLease } = lease({ stallTimeoutMs: 5000 });
    vi.advanceTimersByTime(4999);
    expect(runLease.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    const reason = await runLease.aborted;
    expect(reason).toBeInstanceOf(StalledRunError);
    expect(reason.message).toBe('job "nightly-report" reported no progress within its stall timeout of 5000 ms');
  });

  it('re-arms the watchdog on every progress report, written or not', async () => {
    const { runLease, stored } = lease({ stallTimeoutMs: 5000 });
    for (let step = 0; step < 4; step += 1) {
      vi.advanceTimersByTime(4000);
      await runLease.reportProgress({ completed: step });
    }
    // 16 s in, four reports 4 s apart: alive, although the fake clock never moved and only the first was written.
    expect(runLease.signal.aborted).toBe(false);
    expect(stored).toEqual([{ completed: 0 }]);
    vi.advanceTimersByTime(5000);
    expect(runLease.signal.aborted).toBe(true);
  });

  it('has no watchdog without a stall timeout, and none after dispose', () => {
    const without = lease({ stallTimeoutMs: null });
    vi.advanceTimersByTime(24 * 60 * 60 * 1000);
    expect(without.runLease.signal.aborted).toBe(false);

    const disposed = lease({ stallTimeoutMs: 5000 });
    disposed.runLease.dispose();
    vi.advanceTimersByTime(60_000);
    expect(disposed.runLease.signal.aborted).toBe(false);
  });

  it('writes progress at most once per interval of the clock', async () => {
    const { runLease, stored, clock } = lease();
    await runLease.reportProgress({ completed: 1 });
    clock.advance(999);
    await runLease.reportProgress({ completed: 2 });
    clock.advance(1);
    await runLease.reportProgress({ completed: 3 });
    expect(stored).toEqual([{ completed: 1 }, { completed: 3 }]);
  });

  it('aborts with RunTakenOverError when the ledger says the run is no longer running, and writes nothing after', async () => {
    const { runLease, stored, clock } = lease({ storeAnswers: [true, false] });
    await runLease.reportProgress({ completed: 1 });
    expect(runLease.signal.aborted).toBe(false);
    clock.advance(1000);
    await runLease.reportProgress({ completed: 2 });
    expect(await runLease.aborted).toBeInstanceOf(RunTakenOverError);
    clock.advance(1000);
    await runLease.reportProgress({ completed: 3 });
    expect(stored).toEqual([{ completed: 1 }, { completed: 2 }]);
  });
});
