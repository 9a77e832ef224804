/**
 * The console API on a real worker (in this process, real fastify server, real database):
 * every route answers, and every bad input gets a clear 4xx naming the problem and changes
 * nothing (audit trail, pauses, pending occurrences and the email queue are compared).
 */
import { enqueueEmail, getEmailQueueModel } from '@app/notifications';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/worker-process.js';
import { anyString, call, containing, insertRuns, partial, jsonHeaders, rawRequest, startConsoleWorker, stateSnapshot, waitForFirstRuns, type ConsoleWorker } from './support.js';

let running: ConsoleWorker;
let api: string;
const firstStart = new Date('2026-01-01T00:00:00.000Z');

beforeAll(async () => {
  // LogCleanupJob is disabled (it must not run): its history is the 120 runs written below.
  running = await startConsoleWorker({ JOBS_LOG_CLEANUP_ENABLED: 'false' });
  api = `${running.baseUrl}/api`;
  await waitForFirstRuns(running.worker);
  await insertRuns(running.worker, 'LogCleanupJob', {
    count: 120,
    firstStart,
    status: (index) => (index % 10 === 3 ? 'failed' : 'succeeded'),
  });
});

afterAll(async () => {
  await running.stop();
});

/** Runs `request`, then checks that nothing an action could change has changed. */
async function expectNothingChanged(request: () => Promise<void>): Promise<void> {
  const before = await stateSnapshot(running.worker);
  await request();
  expect(await stateSnapshot(running.worker)).toEqual(before);
}

describe('console API: reading', () => {
  it('lists the routes, the session (loopback mode) and every job with schedule, stats and window', async () => {
    expect((await call(api)).body.routes).toContain('GET /api/jobs/:name/runs');
    const session = await call(`${api}/session`);
    expect(session.body).toMatchObject({ mode: 'loopback', canAct: true, csrfToken: null, actor: { via: 'loopback', role: 'operator' } });
    const jobs = await call(`${api}/jobs`);
    expect(jobs.status).toBe(200);
    const list = jobs.body.jobs as { name: string; enabled: boolean; schedule: { description: string }; stats: { window: string; runs: number; successRate: number; durationMs: { p50: number; p95: number } } }[];
    expect(list.map((job) => job.name)).toEqual(['EmailQueueProcessJob', 'IpAnonymizationJob', 'LogCleanupJob', 'RefreshTokenCleanupJob']);
    const cleanup = list.find((job) => job.name === 'LogCleanupJob');
    expect(cleanup).toMatchObject({ enabled: false, schedule: { description: 'not scheduled (disabled)' } });
    // The newest 100 of 120 runs; index % 10 === 3 failed: 10 of them.
    expect(cleanup?.stats).toMatchObject({ window: 'last 100 finished runs', runs: 100, succeeded: 90, failed: 10, successRate: 0.9 });
    // Durations 10 + index for index 20..119: p50 is the 50th (index 69), p95 the 95th (index 114).
    expect(cleanup?.stats.durationMs).toEqual({ p50: 79, p95: 124 });
    expect(list.find((job) => job.name === 'RefreshTokenCleanupJob')?.schedule).toMatchObject({
      description: 'every 24 hours after the last start',
      configured: null,
    });
    const one = await call(`${api}/jobs/RefreshTokenCleanupJob`);
    expect(one.body).toMatchObject({ name: 'RefreshTokenCleanupJob', enabled: true, paused: false });
  });

  it('pages a job\'s runs newest first with an opaque cursor, filtered by status and start time', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 4; page += 1) {
      const answer = await call(`${api}/jobs/LogCleanupJob/runs?limit=50${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(answer.status).toBe(200);
      const runs = answer.body.runs as { runId: string; startedAt: string }[];
      seen.push(...runs.map((run) => run.startedAt));
      cursor = answer.body.nextCursor as string | null;
      if (cursor === null) break;
    }
    expect(seen).toHaveLength(120);
    expect(seen[0]).toBe(new Date(firstStart.getTime() + 119_000).toISOString());
    expect(new Set(seen).size).toBe(120);
    expect([...seen].sort().reverse()).toEqual(seen);
    const failed = await call(`${api}/jobs/LogCleanupJob/runs?status=failed&limit=200`);
    expect((failed.body.runs as { status: string }[]).map((run) => run.status)).toEqual(Array.from({ length: 12 }, () => 'failed'));
    const window = await call(
      `${api}/jobs/LogCleanupJob/runs?status=failed,succeeded&from=${new Date(firstStart.getTime() + 10_000).toISOString()}&to=${new Date(firstStart.getTime() + 15_000).toISOString()}`,
    );
    expect((window.body.runs as { startedAt: string }[]).map((run) => run.startedAt.slice(17, 19))).toEqual(['14', '13', '12', '11', '10']);
  });

  it('shows one run with its error and stack, result, attempt, occurrence and instance', async () => {
    const [failedRun] = (await call(`${api}/jobs/LogCleanupJob/runs?status=failed&limit=1`)).body.runs as { runId: string }[];
    const run = await call(`${api}/runs/${failedRun?.runId ?? ''}`);
    expect(run.body).toMatchObject({
      jobName: 'LogCleanupJob',
      status: 'failed',
      attempt: 1,
      instance: { hostName: 'test-host', processId: 4242 },
      error: { name: 'Error', message: 'failure 113', stack: containing('at test') },
      cause: 'schedule',
      requestedBy: null,
      traceId: null,
    });
  });

  it('summarises the email queue and lists dead and failed entries with their last error', async () => {
    const { connection } = running.worker.context;
    const dead = await enqueueEmail(connection, { to: ['dead@example.org'], subject: 'Dead letter', text: 'x' });
    await enqueueEmail(connection, { to: ['pending@example.org'], subject: 'Pending', text: 'x' });
    await getEmailQueueModel(connection).updateOne({ _id: dead.id }, { $set: { status: 'dead', attempts: 5, lastError: 'permanent failure on attempt 5/5: 550 mailbox unavailable' } });
    const summary = await call(`${api}/email-queue`);
    expect(summary.body).toMatchObject({ counts: { pending: 1, dead: 1, sent: 0, sending: 0, failed: 0 }, oldestPending: { createdAt: anyString() } });
    const entries = await call(`${api}/email-queue/entries?status=dead`);
    expect(entries.body.entries).toEqual([
      partial({ id: dead.id, status: 'dead', lastError: 'permanent failure on attempt 5/5: 550 mailbox unavailable', to: ['dead@example.org'] }),
    ]);
  });

  it('lists the worker instances with their heartbeat and runs in flight', async () => {
    const instances = await call(`${api}/instances`);
    expect(instances.status).toBe(200);
    expect(instances.body.instances).toContainEqual(
      partial({ instanceId: running.worker.context.runtime.identity.instanceId, state: 'alive', stoppedAt: null, lastHeartbeatAt: anyString() }),
    );
  });
});

describe('console API: actions', () => {
  it('triggers, pauses and resumes a job, each recorded in the audit trail with who, what, when and outcome', async () => {
    const job = `${api}/jobs/RefreshTokenCleanupJob`;
    const paused = await call(`${job}/pause`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ reason: 'maintenance window' }) });
    expect(paused.body).toMatchObject({ action: 'pause', outcome: 'succeeded', message: 'paused on every replica' });
    expect(await running.worker.context.runtime.scheduler.isPaused('RefreshTokenCleanupJob')).toBe(true);
    const triggered = await call(`${job}/trigger`, { method: 'POST', headers: jsonHeaders, body: '' });
    expect(triggered.body).toMatchObject({ action: 'trigger', occurrenceAt: anyString(), message: containing('paused') });
    const pending = await running.worker.context.runtime.scheduler.getPending('RefreshTokenCleanupJob');
    expect(pending?.occurrenceAt.toISOString()).toBe(triggered.body.occurrenceAt);
    const resumed = await call(`${job}/resume`, { method: 'POST', headers: jsonHeaders, body: '{}' });
    expect(resumed.body).toMatchObject({ action: 'resume', message: 'resumed on every replica' });
    expect(await running.worker.context.runtime.scheduler.isPaused('RefreshTokenCleanupJob')).toBe(false);
    const audit = await call(`${api}/audit?limit=2`);
    expect(audit.body.entries).toEqual([
      partial({ action: 'resume', target: 'RefreshTokenCleanupJob', outcome: 'succeeded', actor: partial({ name: 'local', via: 'loopback' }) }),
      partial({ action: 'trigger', occurrenceAt: triggered.body.occurrenceAt }),
    ]);
    const older = await call(`${api}/audit?limit=2&cursor=${String(audit.body.nextCursor)}`);
    expect(older.body.entries).toEqual([partial({ action: 'pause', reason: 'maintenance window' })]);
    expect(older.body.nextCursor).toBeNull();
    // The triggered occurrence runs once resumed; wait for it (and its successor) so later
    // tests compare a settled schedule.
    const occurrenceAt = new Date(String(triggered.body.occurrenceAt));
    await waitUntil(
      async () => {
        const runs = await running.worker.context.ledger.listOccurrenceRuns('RefreshTokenCleanupJob', occurrenceAt);
        const next = await running.worker.context.runtime.scheduler.getPending('RefreshTokenCleanupJob');
        return runs.some((run) => run.status === 'succeeded') && next !== null && next.occurrenceAt.getTime() !== occurrenceAt.getTime() ? true : undefined;
      },
      20_000,
      'the triggered occurrence to run',
    );
  });

  it('requeues a dead email (and only a dead one)', async () => {
    const { connection } = running.worker.context;
    const dead = await getEmailQueueModel(connection).findOne({ status: 'dead' }).lean();
    const pending = await getEmailQueueModel(connection).findOne({ status: 'pending' }).lean();
    const id = dead?._id.toHexString() ?? '';
    await expectNothingChanged(async () => {
      const conflict = await call(`${api}/email-queue/entries/${pending?._id.toHexString() ?? ''}/requeue`, { method: 'POST', headers: jsonHeaders, body: '{}' });
      expect(conflict.status).toBe(409);
      expect(conflict.body.message).toMatch(/is pending: only dead entries can be requeued/u);
      const missing = await call(`${api}/email-queue/entries/0123456789abcdef01234567/requeue`, { method: 'POST', headers: jsonHeaders, body: '{}' });
      expect(missing).toMatchObject({ status: 404, body: { error: 'not_found', message: 'no email queue entry "0123456789abcdef01234567"' } });
    });
    const requeued = await call(`${api}/email-queue/entries/${id}/requeue`, { method: 'POST', headers: jsonHeaders, body: '{}' });
    expect(requeued.body).toMatchObject({ action: 'requeue-email', target: `email:${id}`, message: containing('attempt 6 is next') });
    expect((await getEmailQueueModel(connection).findById(id).lean())?.status).toBe('pending');
  });
});

describe('console API: errors are clear 4xx answers and change nothing', () => {
  const cases: readonly [string, string, RequestInit | undefined, number, RegExp][] = [
    ['unknown job', '/jobs/NoSuchJob', undefined, 404, /^unknown job "NoSuchJob": known jobs are EmailQueueProcessJob, IpAnonymizationJob, LogCleanupJob, RefreshTokenCleanupJob$/u],
    ['unknown job runs', '/jobs/NoSuchJob/runs', undefined, 404, /unknown job "NoSuchJob"/u],
    ['unknown job action', '/jobs/NoSuchJob/trigger', { method: 'POST', headers: jsonHeaders, body: '{}' }, 404, /unknown job "NoSuchJob": known jobs are/u],
    ['limit not a number', '/jobs/LogCleanupJob/runs?limit=abc', undefined, 400, /^limit must be an integer between 1 and 200, got "abc"$/u],
    ['limit too large', '/jobs/LogCleanupJob/runs?limit=201', undefined, 400, /^limit must be an integer between 1 and 200, got "201"$/u],
    ['limit zero', '/audit?limit=0', undefined, 400, /limit must be an integer between 1 and 200, got "0"/u],
    ['limit twice', '/audit?limit=1&limit=2', undefined, 400, /^limit is given 2 times; give it once$/u],
    ['malformed cursor', '/jobs/LogCleanupJob/runs?cursor=not-a-cursor', undefined, 400, /^cursor is malformed/u],
    ['cursor of another listing', `/jobs/LogCleanupJob/runs?cursor=${Buffer.from(JSON.stringify({ v: 1, k: 'audit', t: 1, i: 'x' })).toString('base64url')}`, undefined, 400, /cursor belongs to another listing \(audit\), not to runs/u],
    ['forged run cursor', `/jobs/LogCleanupJob/runs?cursor=${Buffer.from(JSON.stringify({ v: 1, k: 'runs', t: 1, i: 'x' })).toString('base64url')}`, undefined, 400, /cursor is malformed/u],
    ['empty cursor', '/audit?cursor=', undefined, 400, /cursor must not be empty/u],
    ['bad status', '/jobs/LogCleanupJob/runs?status=failed,exploded', undefined, 400, /^status "exploded" is not one of running, succeeded, failed, interrupted, abandoned$/u],
    ['bad email status', '/email-queue/entries?status=sent', undefined, 400, /status "sent" is not one of dead, failed/u],
    ['bad instant', '/jobs/LogCleanupJob/runs?from=yesterday', undefined, 400, /^from must be an ISO 8601 instant with a time zone, e\.g\. 2026-03-01T12:00:00Z; got "yesterday"$/u],
    ['instant without zone', '/jobs/LogCleanupJob/runs?to=2026-01-01T00:00:00', undefined, 400, /to must be an ISO 8601 instant with a time zone/u],
    ['inverted range', '/jobs/LogCleanupJob/runs?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', undefined, 400, /^the time range is empty or inverted: from \(2026-02-01T00:00:00\.000Z\) must be before to \(2026-01-01T00:00:00\.000Z\)$/u],
    ['unknown parameter', '/jobs/LogCleanupJob/runs?stauts=failed', undefined, 400, /^unknown query parameter "stauts"; accepted: status, from, to, limit, cursor$/u],
    ['unknown run', '/runs/0123456789abcdef01234567', undefined, 404, /^no run "0123456789abcdef01234567"$/u],
    ['unknown API route', '/nothing-here', undefined, 404, /^no route GET \/api\/nothing-here; GET \/api lists the API routes$/u],
    ['wrong method', '/jobs', { method: 'DELETE' }, 405, /^DELETE is not allowed on \/api\/jobs; use GET$/u],
    ['action without JSON content type', '/jobs/RefreshTokenCleanupJob/pause', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }, 415, /^actions take Content-Type: application\/json, got "text\/plain"$/u],
    ['action without content type', '/jobs/RefreshTokenCleanupJob/trigger', { method: 'POST' }, 415, /got none$/u],
    ['action body too large', '/jobs/RefreshTokenCleanupJob/pause', { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ reason: 'x'.repeat(20_000) }) }, 413, /^the request body is too large/u],
    ['action body not JSON', '/jobs/RefreshTokenCleanupJob/pause', { method: 'POST', headers: jsonHeaders, body: '{"reason":' }, 400, /^the body is not valid JSON$/u],
    ['action body not an object', '/jobs/RefreshTokenCleanupJob/pause', { method: 'POST', headers: jsonHeaders, body: '[1]' }, 400, /the body must be a JSON object/u],
    ['action body unknown field', '/jobs/RefreshTokenCleanupJob/pause', { method: 'POST', headers: jsonHeaders, body: '{"force":true}' }, 400, /^unknown body field "force"; accepted: reason$/u],
    ['action reason too long', '/jobs/RefreshTokenCleanupJob/pause', { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ reason: 'y'.repeat(501) }) }, 400, /reason must be at most 500 characters, got 501/u],
    ['action on a disabled job', '/jobs/LogCleanupJob/trigger', { method: 'POST', headers: jsonHeaders, body: '{}' }, 409, /job "LogCleanupJob" is disabled by configuration/u],
    ['rerun with a bad instant', '/jobs/LogCleanupJob/occurrences/last-tuesday/rerun', { method: 'POST', headers: jsonHeaders, body: '{}' }, 400, /occurrenceAt must be an ISO 8601 instant/u],
    ['requeue with a bad id', '/email-queue/entries/42/requeue', { method: 'POST', headers: jsonHeaders, body: '{}' }, 400, /^id must be an email queue entry id \(24 hexadecimal digits\), got "42"$/u],
  ];
  for (const [what, path, init, status, message] of cases) {
    it(`${what}: ${status}`, async () => {
      await expectNothingChanged(async () => {
        const answer = await call(`${api}${path}`, init);
        expect(answer.status, JSON.stringify(answer.body)).toBe(status);
        expect(answer.body.message).toMatch(message);
        expect(typeof answer.body.error).toBe('string');
      });
    });
  }

  it('a rerun the runtime refuses is a 409 with its reason, changes nothing else and is audited as failed', async () => {
    const before = await stateSnapshot(running.worker);
    const answer = await call(`${api}/jobs/RefreshTokenCleanupJob/occurrences/2026-01-01T00:00:00Z/rerun`, { method: 'POST', headers: jsonHeaders, body: '{"reason":"check"}' });
    expect(answer.status, JSON.stringify(answer.body)).toBe(409);
    expect(answer.body.message).toMatch(/^job "RefreshTokenCleanupJob" has no run of the occurrence 2026-01-01T00:00:00.000Z$/u);
    const after = await stateSnapshot(running.worker);
    // An attempt the runtime refused is on the trail (decisions: audit trail); nothing else moved.
    expect({ ...after, audit: before.audit }).toEqual(before);
    expect(after.audit).toBe(before.audit + 1);
    const [entry] = (await call(`${api}/audit?limit=1`)).body.entries as { action: string; target: string; outcome: string; message: string; reason: string }[];
    expect(entry).toMatchObject({ action: 'rerun', target: 'RefreshTokenCleanupJob', outcome: 'failed', reason: 'check', message: answer.body.message });
  });

  it('keeps the operator routes as they were: 404 and 405 shapes, /jobs rows', async () => {
    expect(await call(`${running.baseUrl}/nothing`)).toMatchObject({ status: 404, body: { error: 'not found', routes: ['/healthz', '/readyz', '/jobs', '/metrics', '/', '/api'] } });
    expect(await call(`${running.baseUrl}/jobs`, { method: 'POST' })).toMatchObject({ status: 405, body: { error: 'method not allowed' } });
    expect(await call(`${running.baseUrl}/healthz`)).toMatchObject({ status: 200, body: { status: 'alive' } });
    expect(((await call(`${running.baseUrl}/jobs`)).body.jobs as unknown[]).length).toBe(4);
  });
});

describe('loopback mode: DNS rebinding and cross-site requests', () => {
  it('refuses a foreign Host or Origin with 403, and nothing changes', async () => {
    const port = running.worker.http.port;
    await expectNothingChanged(async () => {
      const rebound = await rawRequest(port, { path: '/api/jobs', headers: { host: `attacker.example:${port}` } });
      expect(rebound.status).toBe(403);
      expect(rebound.body.message).toMatch(/^Host "attacker\.example:\d+" is not a loopback name/u);
      const otherPort = await rawRequest(port, { path: '/jobs', headers: { host: '127.0.0.1:1' } });
      expect(otherPort.status).toBe(403);
      const crossSite = await rawRequest(port, {
        method: 'POST',
        path: '/api/jobs/RefreshTokenCleanupJob/pause',
        headers: { host: `127.0.0.1:${port}`, origin: 'https://attacker.example', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(crossSite.status).toBe(403);
      expect(crossSite.body.message).toMatch(/^Origin "https:\/\/attacker\.example" is not this worker on a loopback name/u);
    });
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      expect((await rawRequest(port, { path: '/api/session', headers: { host, origin: `http://${host}` } })).status).toBe(200);
    }
  });
});
