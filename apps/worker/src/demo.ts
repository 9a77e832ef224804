/**
 * `worker demo`: the embedded database, a loopback SMTP sink, sample data for every job,
 * and the real worker on intervals of a few seconds. Prints the jobs table as it changes
 * and stops by itself (default 60 s) or on Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRefreshTokenModel, getUserModel } from '@app/identity';
import { getLogEntryModel } from '@app/logging';
import { findRepositoryRoot, startLocalMongo } from '@app/mongo-local';
import { enqueueEmail, getEmailQueueModel } from '@app/notifications';
import mongoose, { type Connection } from 'mongoose';
import { loadWorkerConfiguration } from './config/worker-config.js';
import { formatJobsTable } from './jobs-view.js';
import { createLogger } from './logger.js';
import type { SmtpSink, startSmtpSink } from './smtp-sink.js';
import { startTelemetry } from './telemetry.js';
import { workerVersion } from './version.js';
import { HttpListenError, startWorker } from './worker.js';

const dayMs = 86_400_000;

export interface DemoOptions {
  readonly durationSeconds: number;
  /** Where the table goes; stdout by default. */
  readonly output?: NodeJS.WritableStream;
}

function demoDataDirectory(): string {
  try {
    return join(findRepositoryRoot(), '.data', 'demo');
  } catch {
    return join(tmpdir(), 'worker-demo-data');
  }
}

/** Sample data every job has work on; returns what was seeded. */
export async function seedDemoData(connection: Connection, logDirectory: string): Promise<Record<string, number>> {
  const now = Date.now();
  const userIds = Array.from({ length: 4 }, () => new mongoose.Types.ObjectId());
  await getUserModel(connection).insertMany(
    userIds.map((userId, index) => ({
      _id: userId,
      email: `user${index}@demo.test`,
      userName: `user${index}`,
      passwordHash: 'demo-not-a-hash',
      lastLoginAt: new Date(now - (index < 3 ? 200 : 1) * dayMs),
      lastLoginIp: `198.51.100.${index + 10}`,
    })),
  );
  await getRefreshTokenModel(connection).insertMany(
    Array.from({ length: 8 }, (_, index) => ({
      userId: userIds[index % userIds.length],
      tokenHash: `demo-token-${index}`,
      expiresAt: new Date(now + (index < 6 ? -30 : 3) * dayMs),
    })),
  );
  for (let index = 0; index < 5; index += 1) {
    await enqueueEmail(connection, {
      to: [`reader${index}@demo.test`],
      subject: `Demo email ${index}`,
      text: `Hello from the demo worker (${index}).`,
    });
  }
  await getLogEntryModel(connection).insertMany(
    Array.from({ length: 10 }, (_, index) => ({
      timestamp: new Date(now - (index < 7 ? 60 : 1) * dayMs),
      level: 'info',
      message: `demo log entry ${index}`,
    })),
  );
  mkdirSync(logDirectory, { recursive: true });
  for (let index = 0; index < 4; index += 1) {
    const file = join(logDirectory, `app-${index}.log`);
    writeFileSync(file, `demo log file ${index}\n`);
    if (index < 3) {
      const old = new Date(now - 60 * dayMs);
      utimesSync(file, old, old);
    }
  }
  return {
    usersWithOldIp: 3,
    expiredRefreshTokens: 6,
    queuedEmails: 5,
    oldLogEntries: 7,
    oldLogFiles: 3,
  };
}

/** The demo needs a development dependency that a production install leaves out. */
export class DemoUnavailableError extends Error {
  override readonly name = 'DemoUnavailableError';
}

/** The loopback SMTP sink, loaded only here: `smtp-server` is a development dependency. */
async function startDemoSmtpSink(): Promise<SmtpSink> {
  let module: { startSmtpSink: typeof startSmtpSink };
  try {
    module = await import('./smtp-sink.js');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    if (code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new DemoUnavailableError(
      'worker demo needs the development dependency smtp-server (its loopback SMTP sink), which a production ' +
        'install leaves out; run the demo from a development checkout: ./dev demo (or pnpm install with dev dependencies)',
      { cause: error },
    );
  }
  return module.startSmtpSink();
}

export async function runDemo(options: DemoOptions): Promise<void> {
  const output = options.output ?? process.stdout;
  const durationSeconds = Number.isFinite(options.durationSeconds) && options.durationSeconds > 0 ? options.durationSeconds : 60;
  const print = (text: string): void => {
    output.write(`${text}\n`);
  };
  const smtpSink = await startDemoSmtpSink();
  print('demo: starting the embedded database (FerretDB on SQLite, loopback only)...');
  const database = await startLocalMongo({ dataDirectory: demoDataDirectory(), reuseRunning: false });
  const logDirectory = mkdtempSync(join(tmpdir(), 'worker-demo-logs-'));
  const databaseName = `demo_${Date.now()}`;
  const seedConnection = await mongoose.createConnection(database.uri, { dbName: databaseName }).asPromise();
  const seeded = await seedDemoData(seedConnection, logDirectory);
  print(`demo: seeded ${JSON.stringify(seeded)}; SMTP sink on 127.0.0.1:${smtpSink.port}; log files in ${logDirectory}`);

  const environment = {
      MONGODB_URI: database.uri,
      MONGODB_DATABASE: databaseName,
      HTTP_PORT: '8080',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      SHUTDOWN_DEADLINE_MS: '5000',
      ADMIN_PASSWORD: 'demo-admin-password',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtpSink.port),
      SMTP_FROM: 'worker-demo@demo.test',
      JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE: '8s',
      JOBS_IP_ANONYMIZATION_SCHEDULE: '10s',
      JOBS_EMAIL_QUEUE_PROCESSING_INTERVAL_SECONDS: '3',
      JOBS_LOG_CLEANUP_SCHEDULE: '12s',
      JOBS_LOG_CLEANUP_LOG_DIRECTORY: logDirectory,
  };
  const demoInstanceId = randomUUID();
  const logger = createLogger({ level: 'warn', format: 'json', destination: process.stderr });
  let telemetry: ReturnType<typeof startTelemetry> | undefined;
  const startDemoWorker = async (httpPort: string) => {
    const configuration = loadWorkerConfiguration({ environment: { ...environment, HTTP_PORT: httpPort } });
    telemetry = startTelemetry({
      settings: { ...configuration.telemetry, serviceName: 'background-jobs-worker-demo' },
      serviceVersion: workerVersion,
      instanceId: demoInstanceId,
    });
    try {
      return await startWorker({ configuration, logger, telemetry, instanceId: demoInstanceId });
    } catch (error) {
      await telemetry?.shutdown();
      throw error;
    }
  };
  let worker;
  try {
    worker = await startDemoWorker('8080');
  } catch (error) {
    // Port 8080 is taken (a worker is running): any free port will do for the demo.
    if (!(error instanceof HttpListenError)) throw error;
    worker = await startDemoWorker('0');
  }
  const consoleUrl = worker.http.consoleUrl ?? `http://127.0.0.1:${worker.http.port}/`;
  print(`console: ${consoleUrl}`);
  print(`demo: worker ready; open the console above, or try ${consoleUrl}jobs and ${consoleUrl}metrics`);

  let stopRequested = false;
  const stop = new Promise<void>((resolveStop) => {
    const timer = setTimeout(resolveStop, durationSeconds * 1000);
    const onSignal = (): void => {
      stopRequested = true;
      clearTimeout(timer);
      resolveStop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const render = async (): Promise<void> => {
    const rows = await worker.context.listJobRows();
    const clear = 'isTTY' in output && output.isTTY === true ? '\u001B[2J\u001B[H' : '\n';
    output.write(
      `${clear}demo (${durationSeconds}s, Ctrl-C to stop) - ${new Date().toISOString()} - console: ${consoleUrl}\n${formatJobsTable(rows)}\n` +
        `emails delivered to the SMTP sink: ${smtpSink.received.length}\n`,
    );
  };
  const interval = setInterval(() => {
    render().catch(() => undefined);
  }, 2000);
  await stop;
  clearInterval(interval);
  await render().catch(() => undefined);

  const remaining = {
    refreshTokens: await getRefreshTokenModel(seedConnection).countDocuments(),
    usersWithIp: await getUserModel(seedConnection).countDocuments({ lastLoginIp: { $ne: null } }),
    queuedEmails: await getEmailQueueModel(seedConnection).countDocuments({ status: { $ne: 'sent' } }),
    logEntries: await getLogEntryModel(seedConnection).countDocuments(),
  };
  print(`demo: ${stopRequested ? 'interrupted' : 'done'}; left after the jobs ran: ${JSON.stringify(remaining)}`);
  await worker.shutdown('demo finished');
  await telemetry?.shutdown();
  await seedConnection.db?.dropDatabase().catch(() => undefined);
  await seedConnection.close();
  await smtpSink.close();
  await database.stop();
  rmSync(logDirectory, { recursive: true, force: true });
}
