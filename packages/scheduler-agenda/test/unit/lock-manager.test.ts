/** The lock manager with the in-memory ledger and a fake clock: renewal, takeover detection, fencing. */
import type { JobLogger, RunInFlight } from '@app/shared-jobs';
import { FakeClock, InMemoryJobRunLedger } from '@app/shared-jobs/testing';
import { describe, expect, it } from 'vitest';
import { FencedRunError, LockManager, RunTakenOverError, type TrackedRun } from '../../src/index.js';

const instance = { hostName: 'unit-host', processId: 7 };

function setup(options: { failHeartbeat?: () => boolean } = {}) {
  const clock = new FakeClock(new Date('2026-03-01T12:00:00.000Z'));
  const ledger = new InMemoryJobRunLedger();
  const renewedLocks: { ids: readonly string[]; at: Date }[] = [];
  const heartbeats: { at: Date; runs: readonly RunInFlight[] }[] = [];
  const logLines: { level: string; message: string; fields: Readonly<Record<string, unknown>> }[] = [];
  const log = (level: string) => (message: string, fields: Readonly<Record<string, unknown>> = {}) => {
    logLines.push({ level, message, fields });
  };
  const logger: JobLogger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const manager = new LockManager({
    clock,
    ledger,
    renewLocks: (ids, at) => {
      renewedLocks.push({ ids, at });
      return Promise.resolve();
    },
    heartbeat: (at, runs) => {
      if (options.failHeartbeat?.() === true) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:27017'));
      heartbeats.push({ at, runs });
      return Promise.resolve();
    },
    heartbeatIntervalMs: 2000,
    leaseTimeoutMs: 10_000,
    logger,
  });
  return { clock, ledger, manager, renewedLocks, heartbeats, logLines };
}

async function trackedRun(
  { ledger, clock, manager }: ReturnType<typeof setup>,
  documentId: string,
): Promise<{ run: TrackedRun; aborts: Error[]; lockedAt: Date[] }> {
  const claim = await ledger.claim({
    jobName: 'job',
    occurrenceAt: clock.now(),
    attempt: 1,
    cause: 'schedule',
    requestedBy: null,
    instance,
    instanceId: 'instance-1',
    startedAt: clock.now(),
    leaseExpiresAt: manager.leaseExpiry(),
  });
  if (!claim.claimed) throw new Error('setup claim failed');
  const aborts: Error[] = [];
  const lockedAt: Date[] = [];
  const run: TrackedRun = {
    runId: claim.run.runId,
    jobName: 'job',
    occurrenceAt: claim.run.occurrenceAt,
    attempt: 1,
    startedAt: claim.run.startedAt,
    lock: { documentId, setLockedAt: (at) => lockedAt.push(at) },
    abort: (error) => aborts.push(error),
  };
  manager.track(run);
  return { run, aborts, lockedAt };
}

describe('LockManager', () => {
  it('refuses a lease timeout shorter than three heartbeats', () => {
    expect(
      () =>
        new LockManager({
          clock: new FakeClock(),
          ledger: new InMemoryJobRunLedger(),
          renewLocks: () => Promise.resolve(),
          heartbeat: () => Promise.resolve(),
          heartbeatIntervalMs: 5000,
          leaseTimeoutMs: 10_000,
          logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
        }),
    ).toThrow(/leaseTimeoutMs/u);
    expect(
      () =>
        new LockManager({
          clock: new FakeClock(),
          ledger: new InMemoryJobRunLedger(),
          renewLocks: () => Promise.resolve(),
          heartbeat: () => Promise.resolve(),
          heartbeatIntervalMs: 0,
          leaseTimeoutMs: 10_000,
          logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
        }),
    ).toThrow(/heartbeatIntervalMs/u);
  });

  it('renews the Agenda locks, the run leases and the heartbeat of the runs in flight on every tick', async () => {
    const context = setup();
    const { run, lockedAt } = await trackedRun(context, 'document-1');
    context.clock.advance(2000);
    await context.manager.tick();
    expect(context.renewedLocks).toEqual([{ ids: ['document-1'], at: context.clock.now() }]);
    expect(lockedAt).toEqual([context.clock.now()]);
    expect((await context.ledger.getRun(run.runId))?.leaseExpiresAt).toEqual(new Date(context.clock.now().getTime() + 10_000));
    expect(context.heartbeats.at(-1)).toEqual({
      at: context.clock.now(),
      runs: [{ runId: run.runId, jobName: 'job', occurrenceAt: run.occurrenceAt, attempt: 1, startedAt: run.startedAt }],
    });
  });

  it('writes only the heartbeat when no run is in flight', async () => {
    const context = setup();
    await context.manager.tick();
    expect(context.renewedLocks).toEqual([]);
    expect(context.heartbeats).toHaveLength(1);
  });

  it('aborts a run that another worker took over, once', async () => {
    const context = setup();
    const { run, aborts } = await trackedRun(context, 'document-1');
    await context.ledger.finish(run.runId, { status: 'abandoned', finishedAt: context.clock.now(), durationMs: 0 });
    await context.manager.tick();
    await context.manager.tick();
    expect(aborts).toHaveLength(1);
    expect(aborts[0]).toBeInstanceOf(RunTakenOverError);
  });

  it('fences its runs once heartbeats failed for the lease timeout minus one interval, and recovers', async () => {
    let failing = false;
    const context = setup({ failHeartbeat: () => failing });
    const { aborts } = await trackedRun(context, 'document-1');
    await context.manager.tick();
    failing = true;
    context.clock.advance(2000);
    await context.manager.tick();
    await context.manager.tick();
    expect(context.manager.healthy).toBe(false);
    // A second failed heartbeat is counted, not logged again.
    await context.manager.tick();
    context.clock.advance(5999);
    context.manager.fenceIfSilent();
    expect(aborts).toEqual([]);
    context.clock.advance(1);
    context.manager.fenceIfSilent();
    context.manager.fenceIfSilent();
    expect(aborts).toHaveLength(1);
    expect(aborts[0]).toBeInstanceOf(FencedRunError);
    expect(aborts[0]?.message).toMatch(/8000 ms/u);
    failing = false;
    await context.manager.tick();
    expect(context.manager.healthy).toBe(true);
    expect(context.logLines.map((line) => line.message)).toEqual([
      'heartbeat failed',
      'run fenced: no heartbeat reached the database in time',
      'heartbeat failed: recovered',
    ]);
    expect(context.logLines[0]?.fields).toMatchObject({ fenceAfterMs: 8000, error: { name: 'Error' } });
    expect(context.logLines[2]?.fields).toMatchObject({ failures: 3 });
  });

  it('shares one tick between concurrent callers', async () => {
    const context = setup();
    await Promise.all([context.manager.tick(), context.manager.tick(), context.manager.tick()]);
    expect(context.heartbeats).toHaveLength(1);
  });

  it('forgets a run once untracked', async () => {
    const context = setup();
    const claim = await trackedRun(context, 'document-1');
    const untrack = context.manager.track(claim.run);
    untrack();
    await context.manager.tick();
    expect(context.heartbeats.at(-1)?.runs).toEqual([]);
  });
});

describe('sweepLapsedRuns', () => {
  it('abandons the lapsed runs of other workers only, once', async () => {
    const { sweepLapsedRuns } = await import('../../src/runtime/lapsed-run-sweeper.js');
    const context = setup();
    const lapsed = await trackedRun(context, 'document-1');
    context.clock.advance(1);
    const local = await trackedRun(context, 'document-2');
    const live = await context.ledger.claim({
      jobName: 'job',
      occurrenceAt: new Date(0),
      attempt: 1,
      cause: 'schedule',
      requestedBy: null,
      instance,
      instanceId: 'instance-2',
      startedAt: context.clock.now(),
      leaseExpiresAt: new Date(context.clock.now().getTime() + 60_000),
    });
    context.clock.advance(10_001);
    const sweep = () =>
      sweepLapsedRuns({
        ledger: context.ledger,
        clock: context.clock,
        logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
        jobNames: ['job'],
        isLocal: (runId) => runId === local.run.runId,
      });
    expect(await sweep()).toBe(1);
    expect(await sweep()).toBe(0);
    expect((await context.ledger.getRun(lapsed.run.runId))).toMatchObject({ status: 'abandoned', error: { name: 'LeaseLapsedError' } });
    expect((await context.ledger.getRun(local.run.runId))?.status).toBe('running');
    if (!live.claimed) throw new Error('setup claim failed');
    expect((await context.ledger.getRun(live.run.runId))?.status).toBe('running');
  });
});
