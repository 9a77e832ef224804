/// <reference lib="dom" />
/**
 * The dashboard in Debian's Chromium against a real worker process (token mode) on the
 * test database: sign in, see every job, run one now, pause and resume by keyboard, filter
 * the history, open a failed run's error (LogCleanupJob on a "log directory" that is a
 * file: opendir fails with ENOTDIR), requeue a dead email, a viewer who cannot act, and the
 * unreachable banner. Each test saves a screenshot under test-artifacts/.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabaseName } from '@app/mongo-local/testing';
import { enqueueEmail, getEmailQueueModel } from '@app/notifications';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnvironment, spawnWorker, type WorkerProcess } from '../support/worker-process.js';
import { openBrowser, screenshot, tabTo, type BrowserSession } from './browser-support.js';

const operatorToken = 'browser-operator-7c1e9a4b2d8f6e3a5c0b';
const viewerToken = 'browser-viewer-2f8d6b4a9c1e7d3f5a0e';
const databaseName = `${testDatabaseName()}_browser`;

let worker: WorkerProcess;
let operator: BrowserSession;
let connection: Connection;
let scratch: string;
let deadEmailId: string;

async function apiAs<TBody>(path: string, init: RequestInit = {}): Promise<{ status: number; body: TBody }> {
  const response = await fetch(worker.url(path), { ...init, headers: { authorization: `Bearer ${operatorToken}`, ...(init.headers as Record<string, string> | undefined) } });
  return { status: response.status, body: (await response.json()) as TBody };
}

async function isPaused(job: string): Promise<boolean> {
  return (await apiAs<{ paused: boolean }>(`/api/jobs/${job}`)).body.paused;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'console-browser-'));
  const notADirectory = join(scratch, 'logs-is-a-file');
  writeFileSync(notADirectory, 'not a directory\n');
  const tokensFile = join(scratch, 'console_tokens.txt');
  writeFileSync(tokensFile, `# operator and viewer\nalice:operator:${operatorToken}\nvictor:viewer:${viewerToken}\n`);
  const environment = baseEnvironment(databaseName);
  connection = await mongoose.createConnection(environment.MONGODB_URI ?? '', { dbName: databaseName }).asPromise();
  const dead = await enqueueEmail(connection, { to: ['bounced@example.org'], subject: 'Your weekly report', text: 'x' });
  deadEmailId = dead.id;
  await getEmailQueueModel(connection).updateOne(
    { _id: dead.id },
    { $set: { status: 'dead', attempts: 5, lastError: 'permanent failure on attempt 5/5: 550 5.1.1 mailbox does not exist' } },
  );
  worker = await spawnWorker({
    ...environment,
    CONSOLE_TOKENS_FILE: tokensFile,
    JOBS_LOG_CLEANUP_LOG_DIRECTORY: notADirectory,
    JOBS_LOG_CLEANUP_SCHEDULE: '4s',
    // Failures are final (no retry pending), so a failed occurrence can be rerun by hand.
    JOBS_LOG_CLEANUP_RETRY_MAX_ATTEMPTS: '1',
  });
  await worker.waitForLog((line) => line.msg === 'worker ready');
  operator = await openBrowser();
}, 90_000);

afterAll(async () => {
  await operator?.close();
  if (worker !== undefined && worker.child.exitCode === null) {
    worker.child.kill('SIGTERM');
    await worker.waitForExit();
  }
  await connection?.dropDatabase();
  await connection?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('console in a browser', { timeout: 60_000 }, () => {
  it('signs in with a token and shows every job', async () => {
    const { page } = operator;
    await page.goto(worker.url('/'));
    await page.waitForURL(/\/sign-in$/u);
    await page.getByLabel('Access token').fill(operatorToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(worker.url('/'));
    await page.getByTestId('who').filter({ hasText: 'Signed in as alice (operator)' }).waitFor();
    for (const job of ['EmailQueueProcessJob', 'IpAnonymizationJob', 'LogCleanupJob', 'RefreshTokenCleanupJob']) {
      await page.locator(`tr[data-job="${job}"]`).waitFor();
    }
    expect(await page.getByTestId('count-jobs').textContent()).toBe('4');
    expect(await page.locator('tr[data-job="EmailQueueProcessJob"]').textContent()).toContain('disabled');
    // Wait until the failing job shows as such, then take the overview picture.
    await page.locator('tr[data-job="LogCleanupJob"] .badge-failing').waitFor({ timeout: 30_000 });
    await screenshot(page, 'console-overview');
  });

  it('runs a job now and shows its run appear in the history', async () => {
    const { page } = operator;
    await page.goto(worker.url('/#/jobs/RefreshTokenCleanupJob'));
    const rows = page.locator('[data-testid="history"] tbody tr[data-status]');
    await rows.first().waitFor();
    const before = await rows.count();
    await page.getByRole('button', { name: 'Run now' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.getByRole('heading').textContent()).toBe('Run RefreshTokenCleanupJob now?');
    await dialog.getByLabel('Reason (optional, kept in the audit trail)').fill('browser test');
    await dialog.getByRole('button', { name: 'Run now' }).click();
    const notice = page.getByTestId('notice');
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/Run now: RefreshTokenCleanupJob: occurrence \S+ is due now/u);
    await page.waitForFunction(
      (count) => document.querySelectorAll('[data-testid="history"] tbody tr[data-status="succeeded"]').length > count,
      before,
      { timeout: 30_000 },
    );
    const audit = await apiAs<{ entries: { action: string; reason: string | null; actor: { name: string } }[] }>('/api/audit?limit=1');
    expect(audit.body.entries[0]).toMatchObject({ action: 'trigger', reason: 'browser test', actor: { name: 'alice' } });
    await screenshot(page, 'console-run-now');
  });

  it('pauses and resumes a job with the keyboard only, focus visible', async () => {
    const { page } = operator;
    await page.goto(worker.url('/#/jobs/IpAnonymizationJob'));
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    await tabTo(page, 'Pause');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    // The modal dialog holds the focus: Enter in its field confirms.
    expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true);
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    expect(await isPaused('IpAnonymizationJob')).toBe(true);
    await screenshot(page, 'console-paused');
    await tabTo(page, 'Resume');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Resume');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    expect(await isPaused('IpAnonymizationJob')).toBe(false);
    // Escape cancels a dialog and changes nothing.
    await tabTo(page, 'Pause');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    expect(await isPaused('IpAnonymizationJob')).toBe(false);
    // Every other control of the page is on the Tab path too.
    for (const label of ['Run now', 'Apply filters', 'Clear', 'Sign out', 'Email queue', 'Audit trail']) await tabTo(page, label);
  });

  it('filters the history by status and time range, and opens a failed run with its error and stack', async () => {
    const { page } = operator;
    await page.goto(worker.url('/#/jobs/LogCleanupJob'));
    await page.locator('[data-testid="history"] tbody tr[data-status="failed"]').first().waitFor({ timeout: 30_000 });
    await page.getByRole('checkbox', { name: 'failed' }).check();
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="history"] tbody tr[data-status]')];
      return rows.length > 0 && rows.every((row) => row.getAttribute('data-status') === 'failed');
    });
    expect(await page.locator('svg[role="img"]').getAttribute('aria-label')).toMatch(/failed/u);
    // An inverted range: the API's message is shown, nothing else.
    await page.getByLabel('Started from').fill('2026-06-02T00:00:00');
    await page.getByLabel('Started before').fill('2026-06-01T00:00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('alert').filter({ hasText: 'the time range is empty or inverted' }).waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByRole('checkbox', { name: 'failed' }).check();
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const failedRun = page.locator('[data-testid="history"] tbody tr[data-status="failed"] a').first();
    await failedRun.waitFor();
    await screenshot(page, 'console-job-history');
    await failedRun.click();
    await page.getByTestId('error-message').waitFor();
    expect(await page.getByTestId('error-message').textContent()).toMatch(/ENOTDIR: not a directory, opendir/u);
    expect(await page.getByTestId('error-stack').textContent()).toMatch(/ENOTDIR/u);
    expect(await page.getByTestId('attempt').textContent()).toBe('1');
    expect(await page.getByTestId('instance').textContent()).toBe(`${String(await hostName())}/${String(worker.child.pid)}`);
    await screenshot(page, 'console-failed-run');
    // Rerun it: one new attempt of that occurrence, attributed to the operator.
    const occurrenceAt = (await page.getByTestId('occurrence').textContent()) ?? '';
    await page.getByRole('button', { name: /^Rerun the occurrence of/u }).click();
    await page.getByRole('dialog').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Rerun' }).click();
    await page.getByTestId('notice').filter({ hasText: 'runs again now as attempt 2' }).waitFor();
    const rerunRun = async () => {
      const runs = await apiAs<{ runs: { attempt: number; cause: string; requestedBy: string | null; occurrenceAt: string; status: string }[] }>(
        '/api/jobs/LogCleanupJob/runs?limit=50',
      );
      return runs.body.runs.find((run) => run.cause === 'rerun' && run.status !== 'running');
    };
    for (let waited = 0; (await rerunRun()) === undefined && waited < 30_000; waited += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await rerunRun()).toMatchObject({ attempt: 2, requestedBy: 'console:alice' });
    expect(new Date((await rerunRun())!.occurrenceAt).getTime()).toBe(new Date(occurrenceAt).getTime());
  });

  it('requeues a dead email with the keyboard', async () => {
    const { page } = operator;
    await page.goto(worker.url('/#/email-queue'));
    const row = page.locator(`tr[data-email="${deadEmailId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('550 5.1.1 mailbox does not exist');
    expect(await page.getByTestId('email-count-dead').textContent()).toBe('1');
    await tabTo(page, 'Requeue the email "Your weekly report" to bounced@example.org');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Enter');
    await page.getByTestId('notice').filter({ hasText: 'Requeue: email:' }).waitFor();
    await row.waitFor({ state: 'detached' });
    expect((await getEmailQueueModel(connection).findById(deadEmailId).lean())?.status).toBe('pending');
    await screenshot(page, 'console-email-queue');
  });

  it('shows two worker instances, and the audit trail of every action', async () => {
    const { page } = operator;
    const second = await spawnWorker({ ...baseEnvironment(databaseName), CONSOLE_TOKENS_FILE: join(scratch, 'console_tokens.txt') });
    try {
      await second.waitForLog((line) => line.msg === 'worker ready');
      await page.goto(worker.url('/#/instances'));
      const alive = page.locator('[data-testid="instances"] tbody tr[data-state="alive"]');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="instances"] tbody tr[data-state="alive"]').length >= 2, undefined, { timeout: 20_000 });
      const text = (await alive.allTextContents()).join('\n');
      expect(text).toContain(String(worker.child.pid));
      expect(text).toContain(String(second.child.pid));
      await screenshot(page, 'console-instances');
    } finally {
      second.child.kill('SIGTERM');
      await second.waitForExit();
    }
    await page.goto(worker.url('/#/audit'));
    const audit = page.getByTestId('audit');
    await audit.locator('tbody tr').nth(4).waitFor();
    const auditText = await audit.textContent();
    for (const action of ['trigger', 'pause', 'resume', 'rerun', 'requeue-email']) expect(auditText).toContain(action);
    await screenshot(page, 'console-audit');
  });

  it('gives a viewer no action, and the API refuses one sent from the viewer\'s page (nothing changes)', async () => {
    const viewer = await openBrowser();
    try {
      const { page } = viewer;
      await page.goto(worker.url('/sign-in'));
      await page.getByLabel('Access token').fill(viewerToken);
      await page.keyboard.press('Enter');
      await page.getByTestId('who').filter({ hasText: 'Signed in as victor (viewer)' }).waitFor();
      await page.locator('tr[data-job="RefreshTokenCleanupJob"]').waitFor();
      expect(await page.getByRole('button', { name: /Run now|Pause|Resume/u }).count()).toBe(0);
      const auditBefore = (await apiAs<{ entries: unknown[] }>('/api/audit?limit=200')).body.entries.length;
      const status = await page.evaluate(async () => {
        const session = (await (await fetch('/api/session')).json()) as { csrfToken: string };
        const response = await fetch('/api/jobs/RefreshTokenCleanupJob/pause', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken },
          body: '{}',
        });
        return response.status;
      });
      expect(status).toBe(403);
      expect(await isPaused('RefreshTokenCleanupJob')).toBe(false);
      expect((await apiAs<{ entries: unknown[] }>('/api/audit?limit=200')).body.entries.length).toBe(auditBefore);
      await page.goto(worker.url('/#/email-queue'));
      await page.getByTestId('email-entries').waitFor();
      expect(await page.getByRole('button', { name: /Requeue/u }).count()).toBe(0);
      await screenshot(page, 'console-viewer');
    } finally {
      await viewer.close();
    }
  });

  it('shows a banner when the worker is unreachable, and no token ever reached its logs', async () => {
    const { page } = operator;
    await page.goto(worker.url('/'));
    await page.locator('tr[data-job="LogCleanupJob"]').waitFor();
    worker.child.kill('SIGTERM');
    await worker.waitForExit();
    await page.getByTestId('unreachable').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('unreachable').textContent()).toMatch(/The worker is unreachable since .*retrying every 3 s/u);
    await screenshot(page, 'console-unreachable');
    const logs = worker.rawOutput();
    expect(logs).toContain('console: signed in');
    for (const token of [operatorToken, viewerToken]) expect(logs).not.toContain(token);
  });
});

async function hostName(): Promise<string> {
  const { hostname } = await import('node:os');
  return hostname();
}

