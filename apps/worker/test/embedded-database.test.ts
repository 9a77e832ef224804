/** Without MONGODB_URI the worker starts (and later stops) the embedded local server itself. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive as isAlive } from '@app/mongo-local';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkerConfiguration } from '../src/config/worker-config.js';
import { createLogger } from '../src/logger.js';
import { defaultEmbeddedDataDirectory, openWorkerContext } from '../src/worker.js';
import { Writable } from 'node:stream';

const dataDirectory = mkdtempSync(join(tmpdir(), 'worker-embedded-'));

afterAll(() => {
  rmSync(dataDirectory, { recursive: true, force: true });
});


describe('embedded database', () => {
  it('defaults to .data/worker in the repository', () => {
    expect(defaultEmbeddedDataDirectory()).toMatch(/[/\\]\.data[/\\]worker$/u);
  });

  it('starts FerretDB on WORKER_DATA_DIR, lists jobs from it, and stops it on close', async () => {
    let logText = '';
    const logger = createLogger({
      level: 'info',
      format: 'json',
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          logText += chunk.toString('utf8');
          callback();
        },
      }),
    });
    const configuration = loadWorkerConfiguration({
      environment: { WORKER_DATA_DIR: dataDirectory, ADMIN_ENABLED: 'false', JOBS_EMAIL_QUEUE_ENABLED: 'false' },
    });
    const context = await openWorkerContext({ configuration, logger });
    const processId = context.embedded?.processId ?? null;
    expect(processId).not.toBeNull();
    // MONGODB_MAX_POOL_SIZE's default, not the driver's 100.
    expect(context.connection.getClient().options.maxPoolSize).toBe(10);
    expect(context.embedded?.dataDirectory).toBe(dataDirectory);
    const rows = await context.listJobRows();
    expect(rows.map((row) => row.job)).toEqual([
      'EmailQueueProcessJob',
      'IpAnonymizationJob',
      'LogCleanupJob',
      'RefreshTokenCleanupJob',
    ]);
    expect(rows.every((row) => row.lastRunAt === null)).toBe(true);
    expect(logText).toContain('started the embedded database');
    // The bundled server is our build (stock FerretDB is refused at start-up: units.test.ts).
    expect(logText).toMatch(/"server":"FerretDB v[\d.]+ \(this project's build, patch level \d+, sha256:[0-9a-f]{16}\)"/u);
    await context.close();
    await context.close();
    expect(processId !== null && isAlive(processId)).toBe(false);
  }, 60_000);
});
