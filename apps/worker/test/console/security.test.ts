/**
 * Token mode on a real worker (in this process, real server and database): who may read,
 * who may act, CSRF, Origin, cookies, the failed sign-in slow-down, and no token in any log.
 * Every refused request is checked to have changed nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, type WorkerHttpServer } from '../../src/http-server.js';
import { createConsoleBackend } from '../../src/console/worker-console-backend.js';
import { dashboardDirectory } from '../../src/worker.js';
import { call, jsonHeaders, matching, partial, startConsoleWorker, stateSnapshot, waitForFirstRuns, type ConsoleWorker } from './support.js';

const operatorToken = 'op-3f9c1d2e8b7a6c5d4e3f2a1b0c9d8e7f';
const viewerToken = 'vw-0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const tokens = `alice:operator:${operatorToken}\nvictor:viewer:${viewerToken}`;

let running: ConsoleWorker;
let base: string;

beforeAll(async () => {
  running = await startConsoleWorker({ CONSOLE_TOKENS: tokens });
  base = running.baseUrl;
  await waitForFirstRuns(running.worker);
});

afterAll(async () => {
  await running.stop();
});

async function signIn(token: string, url = base): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const answer = await fetch(`${url}/sign-in`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ token }) });
  expect(answer.status).toBe(200);
  const setCookie = answer.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  const session = await call(`${url}/api/session`, { headers: { cookie } });
  return { cookie, csrf: String(session.body.csrfToken), setCookie };
}

async function expectNothingChanged(request: () => Promise<void>): Promise<void> {
  const before = await stateSnapshot(running.worker);
  await request();
  expect(await stateSnapshot(running.worker)).toEqual(before);
}

const pause = (headers: Record<string, string>) =>
  call(`${base}/api/jobs/RefreshTokenCleanupJob/pause`, { method: 'POST', headers: { ...jsonHeaders, ...headers }, body: '{}' });

describe('token mode: the 401/403 matrix', () => {
  it('refuses requests without credentials (401; the dashboard redirects to sign-in)', async () => {
    await expectNothingChanged(async () => {
      expect(await call(`${base}/api/jobs`)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
      expect((await call(`${base}/api/jobs`)).headers.get('www-authenticate')).toMatch(/^Bearer/u);
      expect((await pause({})).status).toBe(401);
      const page = await fetch(`${base}/`, { redirect: 'manual' });
      expect(page.status).toBe(302);
      expect(page.headers.get('location')).toBe('/sign-in');
      expect((await call(`${base}/api/jobs`, { headers: { authorization: 'Bearer not-a-token-at-all-but-long-enough' } })).status).toBe(401);
      expect((await call(`${base}/api/jobs`, { headers: { cookie: 'console_session=forged.value' } })).status).toBe(401);
    });
    // The operator endpoints stay open, as before.
    expect((await call(`${base}/healthz`)).status).toBe(200);
    expect((await call(`${base}/jobs`)).status).toBe(200);
    expect((await fetch(`${base}/assets/app.css`)).status).toBe(200);
    expect((await fetch(`${base}/sign-in`)).status).toBe(200);
  });

  it('lets a viewer read but not act (403), by bearer token and by session', async () => {
    const bearer = { authorization: `Bearer ${viewerToken}` };
    expect((await call(`${base}/api/jobs`, { headers: bearer })).status).toBe(200);
    const viewer = await signIn(viewerToken);
    const session = await call(`${base}/api/session`, { headers: { cookie: viewer.cookie } });
    expect(session.body).toMatchObject({ mode: 'token', canAct: false, actor: { name: 'victor', role: 'viewer', via: 'session' } });
    await expectNothingChanged(async () => {
      const byBearer = await pause(bearer);
      expect(byBearer).toMatchObject({ status: 403, body: { error: 'forbidden', message: '"victor" has the viewer role: it can read, not act (actions need the operator role)' } });
      expect((await pause({ cookie: viewer.cookie, 'x-csrf-token': viewer.csrf })).status).toBe(403);
      const requeue = await call(`${base}/api/email-queue/entries/0123456789abcdef01234567/requeue`, { method: 'POST', headers: { ...jsonHeaders, ...bearer }, body: '{}' });
      expect(requeue.status).toBe(403);
    });
  });

  it('refuses a session action with a missing, wrong or foreign CSRF token (403); the right one works', async () => {
    const operator = await signIn(operatorToken);
    const other = await signIn(operatorToken);
    expect(other.csrf).not.toBe(operator.csrf);
    await expectNothingChanged(async () => {
      expect(await pause({ cookie: operator.cookie })).toMatchObject({ status: 403, body: { message: matching(/^missing or wrong CSRF token/u) } });
      expect((await pause({ cookie: operator.cookie, 'x-csrf-token': 'wrong' })).status).toBe(403);
      expect((await pause({ cookie: operator.cookie, 'x-csrf-token': other.csrf })).status).toBe(403);
    });
    expect((await pause({ cookie: operator.cookie, 'x-csrf-token': operator.csrf })).status).toBe(200);
    expect(await running.worker.context.runtime.scheduler.isPaused('RefreshTokenCleanupJob')).toBe(true);
    const resumed = await call(`${base}/api/jobs/RefreshTokenCleanupJob/resume`, { method: 'POST', headers: { ...jsonHeaders, authorization: `Bearer ${operatorToken}` }, body: '{}' });
    expect(resumed.status).toBe(200);
    const audit = await call(`${base}/api/audit?limit=2`, { headers: { authorization: `Bearer ${viewerToken}` } });
    expect(audit.body.entries).toEqual([
      partial({ action: 'resume', actor: partial({ name: 'alice', role: 'operator', via: 'bearer' }) }),
      partial({ action: 'pause', actor: partial({ name: 'alice', via: 'session' }) }),
    ]);
  });

  it('refuses a foreign Origin (403) even with a valid session and CSRF token', async () => {
    const operator = await signIn(operatorToken);
    await expectNothingChanged(async () => {
      const crossSite = await pause({ cookie: operator.cookie, 'x-csrf-token': operator.csrf, origin: 'https://attacker.example' });
      expect(crossSite).toMatchObject({ status: 403, body: { message: 'Origin "https://attacker.example" is not this console\'s origin: cross-site requests are refused' } });
      expect((await call(`${base}/api/jobs`, { headers: { cookie: operator.cookie, origin: 'http://localhost:1' } })).status).toBe(403);
      const signInFromElsewhere = await fetch(`${base}/sign-in`, { method: 'POST', headers: { ...jsonHeaders, origin: 'https://attacker.example' }, body: JSON.stringify({ token: operatorToken }) });
      expect(signInFromElsewhere.status).toBe(403);
    });
    expect((await call(`${base}/api/jobs`, { headers: { cookie: operator.cookie, origin: base } })).status).toBe(200);
  });

  it('sets an HttpOnly, SameSite=Strict session cookie with an expiry; signing out clears it', async () => {
    const operator = await signIn(operatorToken);
    expect(operator.setCookie).toMatch(/^console_session=[^;]+; Max-Age=28800; Path=\/; HttpOnly; SameSite=Strict$/u);
    expect(operator.setCookie).not.toContain(operatorToken);
    const form = await fetch(`${base}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${operatorToken}`, redirect: 'manual' });
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe('/');
    const signOut = await call(`${base}/api/sign-out`, { method: 'POST', headers: { ...jsonHeaders, cookie: operator.cookie, 'x-csrf-token': operator.csrf } });
    expect(signOut.status).toBe(200);
    expect(signOut.headers.get('set-cookie')).toMatch(/^console_session=; Max-Age=0;|Expires=Thu, 01 Jan 1970/u);
  });

  it('never writes a token into a log line, a page or an error', async () => {
    const failedPage = await fetch(`${base}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${operatorToken}x` });
    expect(failedPage.status).toBe(401);
    const html = await failedPage.text();
    expect(html).toContain('That token is not valid.');
    expect(html).not.toContain(operatorToken);
    const logs = running.logText();
    expect(logs).toContain('console: signed in');
    expect(logs).toContain('console action');
    for (const secret of [operatorToken, viewerToken]) expect(logs).not.toContain(secret);
  });
});

describe('token mode: cookies and the failed sign-in slow-down (a second server on the same worker)', () => {
  let server: WorkerHttpServer;
  let url: string;
  beforeAll(async () => {
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      source: { readiness: () => running.worker.readiness(), listJobs: () => running.worker.context.listJobRows(), handleMetricsRequest: () => undefined },
      console: {
        backend: createConsoleBackend(running.worker.context),
        tokens: [{ name: 'alice', role: 'operator', token: operatorToken }],
        secureCookies: true,
        sessionTtlMs: 60_000,
        webRoot: dashboardDirectory(),
        version: 'test',
      },
    });
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('marks the cookie Secure with the __Host- prefix when CONSOLE_SECURE_COOKIES is set', async () => {
    const { setCookie } = await signIn(operatorToken, url);
    expect(setCookie).toMatch(/^__Host-console_session=[^;]+; Max-Age=60; Path=\/; HttpOnly; Secure; SameSite=Strict$/u);
  });

  it('blocks an address after repeated failures (429 with Retry-After, even for the right token)', async () => {
    const attempt = (token: string) => fetch(`${url}/sign-in`, { method: 'POST', headers: jsonHeaders, body: JSON.stringify({ token }) });
    for (let failure = 1; failure <= 3; failure += 1) {
      const answer = await attempt(`wrong-token-${failure}-aaaaaaaaaaaaaaaaaaaa`);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('retry-after')).toBeNull();
    }
    const fourth = await attempt('wrong-token-4-aaaaaaaaaaaaaaaaaaaa');
    expect(fourth.status).toBe(401);
    expect(fourth.headers.get('retry-after')).toBe('2');
    const blocked = await attempt(operatorToken);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await blocked.json()) as { message: string }).message).toMatch(/^Too many failed sign-ins from your address: try again in \d+ s\.$/u);
    // Bearer tokens are refused the same way while the address is blocked.
    expect((await call(`${url}/api/jobs`, { headers: { authorization: `Bearer ${operatorToken}` } })).status).toBe(429);
  });
});
