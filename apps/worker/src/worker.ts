/**
 * The composition root: connects to the database, wires the packages, starts the job
 * runtime and the HTTP endpoints, and shuts everything down in order.
 */
import { join, resolve } from 'node:path';
import { ensureIdentityIndexes, seedAdminUser } from '@app/identity';
import {
  ensureLogEntryIndexes,
  MongooseJobRunLedger,
  MongooseRecurringJobRepository,
} from '@app/logging';
import {
  findRepositoryRoot,
  redactMongoUri,
  resolveMongoConnection,
  type LocalMongoServer,
} from '@app/mongo-local';
import { countQueuedEmails, ensureNotificationIndexes } from '@app/notifications';
import { createJobRuntime, type JobRuntime, type RunFinishedEvent } from '@app/scheduler-agenda';
import { metrics } from '@opentelemetry/api';
import mongoose, { type Connection } from 'mongoose';
import type { WorkerConfiguration } from './config/worker-config.js';
import { startHttpServer, type ReadinessReport, type WorkerHttpServer } from './http-server.js';
import { buildJobRows, type JobRow } from './jobs-view.js';
import { buildJobs, type BuiltJobs } from './jobs.js';
import { createJobLogger, type WorkerLogger } from './logger.js';
import type { Telemetry } from './telemetry.js';

/** `<repo>/.data/worker` when run from the repository, else `./.data/worker`. */
export function defaultEmbeddedDataDirectory(): string {
  try {
    return join(findRepositoryRoot(), '.data', 'worker');
  } catch {
    return resolve('.data', 'worker');
  }
}

/** Everything a command needs: the connection, the ledger, the jobs and a runtime (not started). */
export interface WorkerContext {
  readonly configuration: WorkerConfiguration;
  readonly connection: Connection;
  readonly embedded: LocalMongoServer | null;
  readonly ledger: MongooseJobRunLedger;
  readonly repository: MongooseRecurringJobRepository;
  readonly jobs: BuiltJobs;
  readonly runtime: JobRuntime;
  listJobRows(): Promise<JobRow[]>;
  /** Names of every job the worker knows (enabled or not). */
  readonly knownJobNames: readonly string[];
  close(): Promise<void>;
}

export interface OpenWorkerContextOptions {
  readonly configuration: WorkerConfiguration;
  readonly logger: WorkerLogger;
  readonly onRunFinished?: (event: RunFinishedEvent) => void;
}

export async function openWorkerContext(options: OpenWorkerContextOptions): Promise<WorkerContext> {
  const { configuration, logger } = options;
  const dataDirectory =
    configuration.mongodb.embeddedDataDirectory ?? defaultEmbeddedDataDirectory();
  const { uri, embedded } = await resolveMongoConnection({
    mongoUri: configuration.mongodb.uri,
    dataDirectory,
  });
  if (embedded !== null) {
    logger.info(
      { dataDirectory, startedHere: embedded.processId !== null, mongo: redactMongoUri(uri) },
      embedded.processId === null
        ? 'reusing the running embedded database'
        : 'started the embedded database',
    );
  }
  let connection: Connection;
  try {
    connection = await mongoose
      .createConnection(uri, {
        dbName: configuration.mongodb.database,
        serverSelectionTimeoutMS: 10_000,
      })
      .asPromise();
  } catch (error) {
    await embedded?.stop();
    // The driver's message can quote the connection string: keep only the redacted form.
    const reason =
      error instanceof Error ? error.message.replaceAll(uri, redactMongoUri(uri)) : String(error);
    // No `cause`: the driver's error can quote the connection string with its credentials.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`cannot connect to ${redactMongoUri(uri)}: ${reason}`);
  }
  logger.info(
    { mongo: redactMongoUri(uri), database: configuration.mongodb.database },
    'connected to the database',
  );
  const database = connection.db;
  if (database === undefined) throw new Error('mongoose connection has no database handle');
  const ledger = new MongooseJobRunLedger(connection);
  const repository = new MongooseRecurringJobRepository(connection);
  const jobs = buildJobs(configuration, connection);
  const runtime = createJobRuntime({
    database,
    ledger,
    repository,
    jobs: jobs.enabledJobs,
    logger: {
      debug: (message, fields) => logger.debug(fields ?? {}, message),
      info: (message, fields) => logger.info(fields ?? {}, message),
      warn: (message, fields) => logger.warn(fields ?? {}, message),
      error: (message, fields) => logger.error(fields ?? {}, message),
    },
    ...(options.onRunFinished === undefined ? {} : { onRunFinished: options.onRunFinished }),
  });
  let closed = false;
  return {
    configuration,
    connection,
    embedded,
    ledger,
    repository,
    jobs,
    runtime,
    knownJobNames: jobs.plans.map((plan) => plan.jobName),
    listJobRows: async () =>
      buildJobRows({ plans: jobs.plans, overviews: await runtime.listJobs(), ledger }),
    close: async () => {
      if (closed) return;
      closed = true;
      // Agenda starts creating its indexes in its constructor; closing the connection under
      // those commands would reject them unhandled, so wait for them (bounded) first.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        runtime.ready().catch(() => undefined),
        new Promise<void>((resolveTimeout) => {
          timer = setTimeout(resolveTimeout, 5000);
        }),
      ]);
      clearTimeout(timer);
      jobs.emailSender?.close();
      await connection.close().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/**
 * Creates the indexes of the ledger, the repository and the domain packages (idempotent).
 * Agenda's collection is not here: `runtime.start()` creates its unique index itself.
 */
export async function ensureAllIndexes(context: WorkerContext): Promise<void> {
  await context.ledger.ensureIndexes();
  await context.repository.ensureIndexes();
  await ensureIdentityIndexes(context.connection);
  await ensureNotificationIndexes(context.connection);
  await ensureLogEntryIndexes(context.connection);
}

export interface RunningWorker {
  readonly context: WorkerContext;
  readonly http: WorkerHttpServer;
  /** Drains (up to the configured deadline), closes everything; idempotent. */
  shutdown(reason: string): Promise<void>;
  readiness(): Promise<ReadinessReport>;
}

export interface StartWorkerOptions {
  readonly configuration: WorkerConfiguration;
  readonly logger: WorkerLogger;
  readonly telemetry: Telemetry;
  readonly onRunFinished?: (event: RunFinishedEvent) => void;
}

/** Cancels the pending occurrence of disabled jobs so a job disabled after scheduling does not run. */
async function cancelDisabledJobs(context: WorkerContext, logger: WorkerLogger): Promise<void> {
  for (const jobName of context.jobs.disabledJobNames) {
    const cancelled = await context.runtime.scheduler.cancel(jobName);
    logger.info({ jobName, cancelledPendingOccurrence: cancelled }, 'job disabled: not scheduled');
  }
}

function registerQueueDepthGauge(context: WorkerContext, logger: WorkerLogger): () => void {
  const meter = metrics.getMeter('@app/worker');
  const gauge = meter.createObservableGauge('email_queue.depth', {
    description: 'Emails in the queue by status',
    unit: '{email}',
  });
  const observe = async (result: {
    observe(value: number, attributes: Record<string, string>): void;
  }) => {
    try {
      const counts = await countQueuedEmails(context.connection);
      for (const [status, count] of Object.entries(counts)) result.observe(count, { status });
    } catch (error) {
      logger.debug(
        { error: error instanceof Error ? error.message : String(error) },
        'queue depth unavailable',
      );
    }
  };
  gauge.addCallback(observe);
  return () => gauge.removeCallback(observe);
}

export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const { configuration, logger } = options;
  const context = await openWorkerContext({
    configuration,
    logger,
    ...(options.onRunFinished === undefined ? {} : { onRunFinished: options.onRunFinished }),
  });
  let running = false;
  let http: WorkerHttpServer | undefined;
  let removeGauge: () => void = () => undefined;
  let shuttingDown: Promise<void> | undefined;

  const readiness = async (): Promise<ReadinessReport> => {
    let databaseReachable: boolean;
    try {
      await context.connection.db?.admin().ping();
      databaseReachable = true;
    } catch {
      databaseReachable = false;
    }
    const checks = { database: databaseReachable, scheduler: running };
    return { ready: databaseReachable && running, checks };
  };

  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      const deadlineMs = configuration.shutdownDeadlineMs;
      logger.info(
        { reason, deadlineMs, activeRuns: context.runtime.activeRuns },
        'shutting down: draining',
      );
      running = false;
      try {
        const drained = await context.runtime.drain(deadlineMs);
        logger.info(drained, 'drained');
      } catch (error) {
        logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          'drain failed',
        );
      }
      removeGauge();
      await http?.close();
      await context.close();
      logger.info('stopped');
    })();
    return shuttingDown;
  };

  try {
    await ensureAllIndexes(context);
    const seeded = await seedAdminUser({
      connection: context.connection,
      settings: configuration.adminSeeder,
      logger: createJobLogger(logger, { jobName: 'AdminSeeder', runId: 'startup' }),
    });
    logger.info({ created: seeded.created }, 'admin seeder finished');
    await cancelDisabledJobs(context, logger);
    await context.runtime.start();
    running = true;
    removeGauge = registerQueueDepthGauge(context, logger);
    http = await startHttpServer({
      host: configuration.http.host,
      port: configuration.http.port,
      source: {
        readiness,
        listJobs: () => context.listJobRows(),
        handleMetricsRequest: (request, response) =>
          options.telemetry.handleMetricsRequest(request, response),
      },
      onError: (error) =>
        logger.error(
          { error: error instanceof Error ? error.message : String(error) },
          'HTTP request failed',
        ),
    });
  } catch (error) {
    await shutdown('start-up failed');
    throw error;
  }
  logger.info(
    {
      http: `http://${http.host}:${http.port}`,
      jobs: context.jobs.plans.map((plan) => ({
        job: plan.jobName,
        enabled: plan.enabled,
        intervalMs: plan.job?.intervalMs ?? null,
      })),
      telemetryExport: options.telemetry.exporting,
    },
    'worker ready',
  );
  const startedHttp = http;
  return { context, http: startedHttp, shutdown, readiness };
}
