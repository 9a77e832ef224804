/** The built worker as a process: it refuses to open the console to the network, and CONSOLE_ENABLED=false serves no console. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabaseName } from '@app/mongo-local/testing';
import { describe, expect, it } from 'vitest';
import { baseEnvironment, getJson, runCli, spawnWorker } from '../support/worker-process.js';

describe('worker start and the console', () => {
  it('exits 2 naming CONSOLE_TOKENS when HTTP_HOST is not loopback and no token is set, before connecting', async () => {
    const result = await runCli(
      { ...baseEnvironment(`${testDatabaseName()}_open`), HTTP_HOST: '0.0.0.0', HTTP_PORT: '18080', MONGODB_URI: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200' },
      ['start'],
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Invalid worker configuration (1 problem):');
    expect(result.stderr).toContain('CONSOLE_TOKENS (console.tokens): required when HTTP_HOST (0.0.0.0) is not a loopback address');
    expect(result.stderr).toContain('CONSOLE_ENABLED=false');
    expect(result.stdout).toBe('');
  });

  it('exits 2 on a bad token naming CONSOLE_TOKENS_FILE, without printing the token', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'console-tokens-'));
    try {
      const file = join(directory, 'console_tokens.txt');
      writeFileSync(file, 'ops:operator:too-short-secret-17\n');
      const result = await runCli({ ...baseEnvironment(`${testDatabaseName()}_short`), CONSOLE_TOKENS_FILE: file }, ['start']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('CONSOLE_TOKENS_FILE (console.tokens): entry 1 ("ops"): the token must be at least 24 characters');
      expect(result.stderr + result.stdout).not.toContain('too-short-secret-17');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('serves no console with CONSOLE_ENABLED=false; the operator endpoints stay', async () => {
    const worker = await spawnWorker({ ...baseEnvironment(`${testDatabaseName()}_noconsole`), CONSOLE_ENABLED: 'false' });
    try {
      const ready = await worker.waitForLog((line) => line.msg === 'worker ready');
      expect(ready.console).toBe('disabled (CONSOLE_ENABLED=false)');
      expect((await getJson(worker.url('/healthz'))).status).toBe(200);
      expect(await getJson(worker.url('/api/jobs'))).toEqual({ status: 404, body: { error: 'not found', routes: ['/healthz', '/readyz', '/jobs', '/metrics'] } });
      expect((await getJson(worker.url('/'))).status).toBe(404);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.waitForExit();
    }
  });

  it('logs the console address in its `worker ready` line', async () => {
    const worker = await spawnWorker(baseEnvironment(`${testDatabaseName()}_ready`));
    try {
      const ready = await worker.waitForLog((line) => line.msg === 'worker ready');
      expect(ready).toMatchObject({ console: `http://127.0.0.1:${worker.port}/`, consoleAccess: 'loopback, no sign-in' });
      const page = await fetch(worker.url('/'));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script type="module" src="/assets/app.js"></script>');
      expect((await fetch(worker.url('/assets/app.js'))).status).toBe(200);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.waitForExit();
    }
  });
});
