import { Writable } from 'node:stream';
import type { JobOverview } from '@app/scheduler-agenda';
import type { JobRun, JobRunLedger } from '@app/shared-jobs';
import { InMemoryJobRunLedger } from '@app/shared-jobs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type WorkerHttpServer } from '../src/http-server.js';
import { buildJobRows, formatDuration, formatHistoryTable, formatJobsTable } from '../src/jobs-view.js';
import type { JobPlan } from '../src/jobs.js';
import { createJobLogger, createLogger } from '../src/logger.js';

describe('jobs view', () => {
  it('formats durations compactly', () => {
    expect(formatDuration(null)).toBe('-');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(86_400_000)).toBe('1d');
    expect(formatDuration(93_784_000)).toBe('1d2h');
  });

  const now = new Date('2026-01-01T12:00:00.000Z');
  const hourly = { schedule: { kind: 'interval' as const, everyMs: 3_600_000 }, misfire: { kind: 'once' as const } };
  const plans: JobPlan[] = [
    {
      configKey: 'refreshTokenCleanup',
      jobName: 'RefreshTokenCleanupJob',
      enabled: true,
      job: { name: 'RefreshTokenCleanupJob', schedule: hourly.schedule, run: () => Promise.resolve({}) },
    },
    { configKey: 'logCleanup', jobName: 'LogCleanupJob', enabled: false, job: null },
  ];
  const runOf = (overrides: Partial<JobRun>): JobRun => ({
    runId: 'run-1',
    jobName: 'RefreshTokenCleanupJob',
    occurrenceAt: new Date('2026-01-01T11:00:00.000Z'),
    attempt: 1,
    cause: 'schedule',
    requestedBy: null,
    status: 'succeeded',
    instance: { hostName: 'host', processId: 7 },
    instanceId: 'instance-7',
    startedAt: new Date('2026-01-01T11:00:00.000Z'),
    leaseExpiresAt: new Date('2026-01-01T11:10:00.000Z'),
    finishedAt: null,
    durationMs: null,
    error: null,
    result: null,
    progress: null,
    traceId: null,
    ...overrides,
  });
  const overview: JobOverview = {
    name: 'RefreshTokenCleanupJob',
    timing: hourly,
    configuredTiming: hourly,
    retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 10_000 },
    paused: true,
    next: {
      jobName: 'RefreshTokenCleanupJob',
      occurrenceAt: new Date('2026-01-01T13:00:00.000Z'),
      runAt: new Date('2026-01-01T13:00:00.000Z'),
      attempt: 1,
      cause: 'retry',
    },
    lastRun: runOf({
      status: 'failed',
      attempt: 2,
      cause: 'retry',
      startedAt: new Date('2026-01-01T11:59:00.000Z'),
      finishedAt: new Date('2026-01-01T11:59:01.500Z'),
      durationMs: 1500,
      error: { name: 'Error', message: 'boom' },
    }),
    running: [],
    lastExecutedAt: new Date('2026-01-01T11:00:00.000Z'),
  };

  it('merges the runtime overview with disabled jobs from the ledger and renders the table', async () => {
    const ledger: JobRunLedger = new InMemoryJobRunLedger();
    const claim = await ledger.claim({
      jobName: 'LogCleanupJob',
      occurrenceAt: new Date('2025-12-31T00:00:00.000Z'),
      attempt: 1,
      cause: 'schedule',
      requestedBy: null,
      instance: { hostName: 'host', processId: 7 },
      instanceId: 'instance-7',
      startedAt: new Date('2025-12-31T00:00:00.000Z'),
      leaseExpiresAt: new Date('2025-12-31T00:10:00.000Z'),
    });
    if (!claim.claimed) throw new Error('claim failed');
    await ledger.finish(claim.run.runId, {
      status: 'succeeded',
      finishedAt: new Date('2025-12-31T00:00:02.000Z'),
      durationMs: 2000,
      result: { deleted: 3 },
    });
    const rows = await buildJobRows({ plans, overviews: [overview], ledger });
    expect(rows.map((row) => [row.job, row.enabled, row.paused, row.lastOutcome])).toEqual([
      ['LogCleanupJob', false, false, 'succeeded'],
      ['RefreshTokenCleanupJob', true, true, 'failed'],
    ]);
    expect(rows[1]).toMatchObject({
      schedule: 'every hour after the last start',
      intervalMs: 3_600_000,
      nextRunAt: '2026-01-01T13:00:00.000Z',
      nextCause: 'retry',
      lastError: 'boom',
      lastAttempt: 2,
    });
    const table = formatJobsTable(rows, now).split('\n');
    expect(table[0]).toMatch(/^JOB\s+ENABLED\s+SCHEDULE\s+LAST RUN\s+OUTCOME\s+DURATION\s+NEXT RUN\s+PAUSED$/u);
    expect(table[1]).toMatch(/^LogCleanupJob\s+no\s+-\s+2025-12-31 00:00:00Z \(1d12h ago\)\s+succeeded\s+2s\s+-\s+no$/u);
    expect(table[2]).toMatch(
      /^RefreshTokenCleanupJob\s+yes\s+every hour after the last start\s+2026-01-01 11:59:00Z \(1m ago\)\s+failed \(attempt 2\)\s+2s\s+2026-01-01 13:00:00Z \(in 1h\) retry\s+yes$/u,
    );
  });

  it('shows this configuration\'s timing beside the followed one when a replica started later adopted its own', async () => {
    const configuredTiming = {
      schedule: { kind: 'cron' as const, expression: '0 3 * * *', timeZone: 'Europe/Berlin' },
      misfire: { kind: 'skip' as const },
    };
    const rowOf = async (entry: JobOverview) =>
      (await buildJobRows({ plans, overviews: [entry], ledger: new InMemoryJobRunLedger() })).find((row) => row.job === entry.name);
    const drifted = await rowOf({ ...overview, configuredTiming });
    expect(drifted).toMatchObject({
      schedule: 'every hour after the last start',
      configuredSchedule: 'every day at 03:00 (Europe/Berlin); missed slots are skipped (the next run is the next future slot)',
    });
    expect(formatJobsTable(drifted === undefined ? [] : [drifted], now).split('\n')[1]).toContain(
      'every hour after the last start (configured here: every day at 03:00 (Europe/Berlin); missed slots are skipped (the next run is the next future slot); not adopted)',
    );
    expect((await rowOf(overview))?.configuredSchedule).toBeNull();
  });

  it('renders the history with causes, results and errors', () => {
    const text = formatHistoryTable([
      runOf({ runId: 'a', status: 'succeeded', result: { deletedRefreshTokens: 4 }, durationMs: 12 }),
      runOf({ runId: 'b', status: 'failed', error: { name: 'Error', message: 'boom' }, cause: 'rerun', requestedBy: 'cli:ops@host' }),
      runOf({ runId: 'c', status: 'running' }),
    ]);
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/schedule\s+succeeded\s+12ms\s+host\/7\s+deletedRefreshTokens=4$/u);
    expect(lines[2]).toMatch(/rerun by cli:ops@host\s+failed\s+-\s+host\/7\s+Error: boom$/u);
    expect(lines[3]).toMatch(/running\s+-\s+host\/7\s+-$/u);
  });
});

describe('HTTP endpoints', () => {
  let server: WorkerHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('answers each route, 503 when not ready, 404/405 otherwise, 500 when a source fails', async () => {
    let ready = false;
    const errors: unknown[] = [];
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      source: {
        readiness: () => Promise.resolve({ ready, checks: { database: true, scheduler: ready } }),
        listJobs: () => (ready ? Promise.resolve([{ job: 'A' }]) : Promise.reject(new Error('db down'))),
        handleMetricsRequest: (_request, response) => {
          response.writeHead(200, { 'content-type': 'text/plain' });
          response.end('# metrics\n');
        },
      },
      onError: (error) => errors.push(error),
    });
    const base = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'not ready', checks: { database: true, scheduler: false } });
    expect((await fetch(`${base}/jobs`)).status).toBe(500);
    expect(errors).toHaveLength(1);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${base}/jobs`)).json()).toEqual({ jobs: [{ job: 'A' }] });
    expect(await (await fetch(`${base}/metrics`)).text()).toBe('# metrics\n');
    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/jobs`, { method: 'POST' })).status).toBe(405);
  });

  it('reports a port already in use', async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      source: { readiness: () => Promise.resolve({ ready: true, checks: {} }), listJobs: () => Promise.resolve([]), handleMetricsRequest: () => undefined },
    });
    await expect(
      startHttpServer({
        host: '127.0.0.1',
        port: server.port,
        source: { readiness: () => Promise.resolve({ ready: true, checks: {} }), listJobs: () => Promise.resolve([]), handleMetricsRequest: () => undefined },
      }),
    ).rejects.toThrow(/EADDRINUSE/u);
  });
});

describe('logger', () => {
  it('writes JSON lines with job name and run id and redacts secrets by key', () => {
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString('utf8');
        callback();
      },
    });
    const logger = createLogger({ level: 'debug', format: 'auto', destination, isTerminal: true });
    const jobLogger = createJobLogger(logger, { jobName: 'RefreshTokenCleanupJob', runId: 'run-9' });
    jobLogger.debug('debugging');
    jobLogger.info('deleted', { deletedRefreshTokens: 3 });
    jobLogger.warn('careful', { settings: { password: 'hunter2' } });
    jobLogger.error('failed', { uri: 'mongodb://user:pw@host/' });
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatchObject({ jobName: 'RefreshTokenCleanupJob', runId: 'run-9', service: 'worker' });
    expect(lines[1]).toMatchObject({ msg: 'deleted', deletedRefreshTokens: 3, level: 30 });
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('user:pw');
  });

  it('drops lines below the level', () => {
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        text += chunk.toString('utf8');
        callback();
      },
    });
    const logger = createLogger({ level: 'warn', format: 'json', destination });
    logger.info('hidden');
    logger.warn('shown');
    expect(text).not.toContain('hidden');
    expect(text).toContain('shown');
  });
});
