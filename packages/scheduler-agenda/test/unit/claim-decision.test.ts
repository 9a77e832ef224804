/** The claim decision, case by case: pure function of the occurrence's runs, now and the policy. */
import type { JobRun, JobRunStatus, OccurrenceCause } from '@app/shared-jobs';
import { describe, expect, it } from 'vitest';
import { decideClaim, hasAttemptLeft } from '../../src/index.js';

const now = new Date('2026-03-01T12:00:00.000Z');
const retry = { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 10_000 };

function run(attempt: number, status: JobRunStatus, options: { leaseMs?: number; cause?: OccurrenceCause } = {}): JobRun {
  return {
    runId: `run-${attempt}`,
    jobName: 'job',
    occurrenceAt: new Date('2026-03-01T11:00:00.000Z'),
    attempt,
    cause: options.cause ?? (attempt > 1 ? 'retry' : 'schedule'),
    requestedBy: null,
    status,
    instance: { hostName: 'host', processId: attempt },
    instanceId: `instance-${attempt}`,
    startedAt: new Date(now.getTime() - 60_000 + attempt),
    leaseExpiresAt: new Date(now.getTime() + (options.leaseMs ?? 5000)),
    finishedAt: status === 'running' ? null : now,
    durationMs: status === 'running' ? null : 1,
    error: null,
    result: null,
    progress: null,
    traceId: null,
  };
}

const decide = (runs: JobRun[], cause: OccurrenceCause = 'schedule') => decideClaim({ runs, now, retry, cause });

describe('decideClaim', () => {
  it('heals from a succeeded attempt, whatever came after it', () => {
    const succeeded = run(2, 'succeeded');
    expect(decide([run(1, 'failed'), succeeded, run(3, 'running')])).toEqual({ kind: 'already-succeeded', succeeded });
  });

  it('leaves a run with a live lease to its worker (a slow handler is not a dead worker)', () => {
    const running = run(1, 'running', { leaseMs: 1 });
    expect(decide([running])).toEqual({ kind: 'running-elsewhere', running });
  });

  it('abandons a run whose lease lapsed and claims the next attempt', () => {
    const lapsed = run(1, 'running', { leaseMs: -1 });
    expect(decide([lapsed])).toEqual({ kind: 'run', attempt: 2, abandon: lapsed });
  });

  it('treats a lease that expires exactly now as lapsed', () => {
    const lapsed = run(1, 'running', { leaseMs: 0 });
    expect(decide([lapsed]).kind).toBe('run');
  });

  it('claims the next attempt after a failure with attempts left (a lost retry write)', () => {
    expect(decide([run(1, 'failed')])).toEqual({ kind: 'run', attempt: 2, abandon: null });
  });

  it('gives up when failed and abandoned attempts used the budget: complete from the last run', () => {
    const last = run(3, 'failed');
    expect(decide([run(1, 'failed'), run(2, 'abandoned'), last])).toEqual({ kind: 'exhausted', lastRun: last, abandon: null });
  });

  it('counts the lapsed run it abandons against the budget', () => {
    const lapsed = run(3, 'running', { leaseMs: -10 });
    expect(decide([run(1, 'failed'), run(2, 'failed'), lapsed])).toEqual({ kind: 'exhausted', lastRun: lapsed, abandon: lapsed });
  });

  it('does not count interrupted attempts (a drain) against the budget', () => {
    expect(decide([run(1, 'interrupted'), run(2, 'interrupted'), run(3, 'failed')])).toEqual({
      kind: 'run',
      attempt: 4,
      abandon: null,
    });
  });

  it('judges by the latest attempt, not by the one handed over', () => {
    // Agenda handed attempt 1 (its document was stale); attempts 1 and 2 exist, 2 is running.
    const running = run(2, 'running');
    expect(decide([run(1, 'failed'), running])).toEqual({ kind: 'running-elsewhere', running });
  });

  it('gives a rerun exactly one attempt: a claimed rerun that ended or lapsed completes it', () => {
    const rerunEnded = run(4, 'failed', { cause: 'rerun' });
    expect(decide([run(1, 'failed'), run(2, 'failed'), run(3, 'failed'), rerunEnded], 'rerun')).toEqual({
      kind: 'exhausted',
      lastRun: rerunEnded,
      abandon: null,
    });
    const rerunLapsed = run(4, 'running', { cause: 'rerun', leaseMs: -1 });
    expect(decide([run(3, 'failed'), rerunLapsed], 'rerun')).toEqual({ kind: 'exhausted', lastRun: rerunLapsed, abandon: rerunLapsed });
  });

  it('does not count rerun attempts against the regular budget', () => {
    expect(decide([run(1, 'failed'), run(2, 'failed', { cause: 'rerun' }), run(3, 'abandoned', { cause: 'rerun' })])).toEqual({
      kind: 'run',
      attempt: 4,
      abandon: null,
    });
  });

  it('refuses an empty list of runs (the claim that failed always leaves one)', () => {
    expect(() => decide([])).toThrow(/runs/u);
  });
});

describe('hasAttemptLeft', () => {
  it('allows attempts up to the budget and none after a rerun', () => {
    expect(hasAttemptLeft([run(1, 'failed')], retry, 'schedule')).toBe(true);
    expect(hasAttemptLeft([run(1, 'failed'), run(2, 'failed')], retry, 'retry')).toBe(true);
    expect(hasAttemptLeft([run(1, 'failed'), run(2, 'abandoned'), run(3, 'failed')], retry, 'retry')).toBe(false);
    expect(hasAttemptLeft([run(4, 'failed', { cause: 'rerun' })], retry, 'rerun')).toBe(false);
    expect(hasAttemptLeft([run(1, 'failed')], { ...retry, maxAttempts: 1 }, 'schedule')).toBe(false);
  });
});
