/**
 * The composition root: connects to the database, wires the packages, starts the job
 * runtime and the HTTP endpoints, and shuts everything down in order.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureIdentityIndexes, seedAdminUser } from '@app/identity';
import {
  ensureLogEntryIndexes,
  MongooseInstanceRegistry,
  MongooseJobRunLedger,
  MongooseOperatorAuditTrail,
} from '@app/logging';
import {
  findRepositoryRoot,
  redactMongoUri,
  resolveMongoConnection,
  type LocalMongoServer,
} from '@app/mongo-local';
import { ensureNotificationIndexes } from '@app/notifications';
import { createJobRuntime, type JobRuntime, type RunFinishedEvent } from '@app/scheduler-agenda';
import { describeSchedule } from '@app/shared-jobs';
import mongoose, { type Connection } from 'mongoose';
import { startClusterMetrics, type ClusterMetrics } from './cluster-metrics.js';
import { ConfigurationError } from './config/load.js';
import { resolveMaxPoolSize } from './config/mongo-uri.js';
import { leaseTimeoutMsOf } from './config/schema.js';
import { findConsoleExposureProblems, type WorkerConfiguration } from './config/worker-config.js';
import { backendWhenReady, type ConsoleBackend } from './console/console-backend.js';
import { createConsoleBackend } from './console/worker-console-backend.js';
import { startHttpServer, type ReadinessReport, type WorkerHttpServer } from './http-server.js';
import { buildJobRows, type JobRow } from './jobs-view.js';
import { buildJobs, type BuiltJobs } from './jobs.js';
import { createJobLogger, toJobLogger, type WorkerLogger } from './logger.js';
import { createReadinessCheck } from './readiness.js';
import { describeServerBuild, findServerProblem, readServerBuild } from './server-support.js';
import type { Telemetry } from './telemetry.js';
import { workerVersion } from './version.js';

export { workerVersion } from './version.js';

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
  readonly instances: MongooseInstanceRegistry;
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
  /** The runtime's instance id (also the telemetry's service.instance.id); random when absent. */
  readonly instanceId?: string;
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
  const maxPoolSize = resolveMaxPoolSize(configuration.mongodb.maxPoolSize, configuration.mongodb.uri);
  let connection: Connection;
  try {
    connection = await mongoose
      .createConnection(uri, {
        dbName: configuration.mongodb.database,
        serverSelectionTimeoutMS: 10_000,
        ...(maxPoolSize === undefined ? {} : { maxPoolSize }),
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
  const database = connection.db;
  if (database === undefined) throw new Error('mongoose connection has no database handle');
  const server = await readServerBuild((command) => database.admin().command(command));
  logger.info(
    { mongo: redactMongoUri(uri), database: configuration.mongodb.database, server: describeServerBuild(server) },
    'connected to the database',
  );
  const serverProblem = findServerProblem(server);
  if (serverProblem !== null) {
    await connection.close().catch(() => undefined);
    await embedded?.stop();
    throw serverProblem;
  }
  const ledger = new MongooseJobRunLedger(connection);
  const instances = new MongooseInstanceRegistry(connection);
  const jobs = buildJobs(configuration, connection);
  const runtime = createJobRuntime({
    database,
    ledger,
    instances,
    version: workerVersion,
    jobs: jobs.enabledJobs,
    logger: toJobLogger(logger),
    leaseTimeoutMs: leaseTimeoutMsOf(configuration.scheduler),
    ...(options.instanceId === undefined ? {} : { instanceId: options.instanceId }),
    ...(options.onRunFinished === undefined ? {} : { onRunFinished: options.onRunFinished }),
  });
  let closed = false;
  return {
    configuration,
    connection,
    embedded,
    ledger,
    instances,
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
      await jobs.dispose((jobName, error) => logger.warn({ job: jobName, err: error }, 'a job did not release its resources'));
      await connection.close().catch(() => undefined);
      await embedded?.stop();
    },
  };
}

/**
 * Creates the indexes of the ledger, the instance registry and the domain packages
 * (idempotent). Agenda's collection is not here: `runtime.start()` creates its unique index
 * itself (the execution records live on its documents).
 */
export async function ensureAllIndexes(context: WorkerContext): Promise<void> {
  await context.ledger.ensureIndexes();
  await context.instances.ensureIndexes();
  await ensureIdentityIndexes(context.connection);
  await ensureNotificationIndexes(context.connection);
  await ensureLogEntryIndexes(context.connection);
  await new MongooseOperatorAuditTrail(context.connection).ensureIndexes();
}

/** The built dashboard: `dist/web` next to the bundle, or the package's `dist/web` from `src/`. */
export function dashboardDirectory(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'web');
  return existsSync(join(beside, 'index.html')) ? beside : join(here, '..', 'dist', 'web');
}

export interface RunningWorker {
  readonly context: WorkerContext;
  readonly http: WorkerHttpServer;
  /** The background reader of the cluster gauges (last success, overdue, paused, queue depth). */
  readonly clusterMetrics: ClusterMetrics;
  /** Drains (up to the configured deadline), closes everything; idempotent. */
  shutdown(reason: string): Promise<void>;
  readiness(): Promise<ReadinessReport>;
}

export interface StartWorkerOptions {
  readonly configuration: WorkerConfiguration;
  readonly logger: WorkerLogger;
  readonly telemetry: Telemetry;
  readonly onRunFinished?: (event: RunFinishedEvent) => void;
  /** The runtime's instance id (the telemetry's service.instance.id); random when absent. */
  readonly instanceId?: string;
}

/** The HTTP endpoints could not listen (port taken, address not local): nothing touched the database. */
export class HttpListenError extends Error {
  override readonly name = 'HttpListenError';
}

/** Cancels the pending occurrence of disabled jobs so a job disabled after scheduling does not run. */
async function cancelDisabledJobs(context: WorkerContext, logger: WorkerLogger): Promise<void> {
  for (const jobName of context.jobs.disabledJobNames) {
    const cancelled = await context.runtime.scheduler.cancel(jobName);
    logger.info({ jobName, cancelledPendingOccurrence: cancelled }, 'job disabled: not scheduled');
  }
}

/**
 * Starts the worker: the HTTP endpoints first (a taken port fails before anything touches
 * the database; `/readyz` answers 503 until the end), then the database, indexes, seeder,
 * schedules and the runtime, then the cluster gauges.
 */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const { configuration, logger } = options;
  const exposure = findConsoleExposureProblems(configuration);
  if (exposure.length > 0) throw new ConfigurationError(exposure);
  let context: WorkerContext | undefined;
  let consoleBackend: ConsoleBackend | undefined;
  let running = false;
  let clusterMetrics: ClusterMetrics | undefined;
  let shuttingDown: Promise<void> | undefined;

  const readiness = createReadinessCheck({
    started: () => running,
    healthy: () => context?.runtime.healthy ?? false,
    ping: async () => {
      const database = context?.connection.db;
      if (database === undefined) throw new Error('not connected');
      return database.admin().ping();
    },
  });

  let http: WorkerHttpServer;
  try {
    http = await startHttpServer({
      host: configuration.http.host,
      port: configuration.http.port,
      source: {
        readiness,
        listJobs: () =>
          context === undefined || !running
            ? Promise.reject(new Error('the worker is starting: jobs are listed once /readyz answers 200'))
            : context.listJobRows(),
        handleMetricsRequest: (request, response) => options.telemetry.handleMetricsRequest(request, response),
      },
      onError: (error) => logger.error({ error }, 'HTTP request failed'),
      ...(configuration.console.enabled
        ? {
            console: {
              backend: backendWhenReady(() => (running ? consoleBackend : undefined)),
              tokens: configuration.console.tokens,
              secureCookies: configuration.console.secureCookies,
              sessionTtlMs: configuration.console.sessionTtlMinutes * 60_000,
              webRoot: dashboardDirectory(),
              version: workerVersion,
              events: logger,
            },
          }
        : {}),
    });
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown';
    const reason = error instanceof Error ? error.message : String(error);
    throw new HttpListenError(
      `cannot serve HTTP on ${configuration.http.host}:${configuration.http.port} (HTTP_HOST, HTTP_PORT): ${reason} (${code}); ` +
        'nothing was written to the database',
    );
  }
  const listening = http;

  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      const deadlineMs = configuration.shutdownDeadlineMs;
      logger.info(
        { reason, deadlineMs, activeRuns: context?.runtime.activeRuns ?? 0 },
        'shutting down: draining',
      );
      running = false;
      clusterMetrics?.stop();
      if (context !== undefined) {
        try {
          const drained = await context.runtime.drain(deadlineMs);
          logger.info(drained, 'drained');
        } catch (error) {
          logger.error({ error }, 'drain failed');
        }
      }
      await listening.close();
      await context?.close();
      logger.info('stopped');
    })();
    return shuttingDown;
  };

  try {
    context = await openWorkerContext({
      configuration,
      logger,
      ...(options.onRunFinished === undefined ? {} : { onRunFinished: options.onRunFinished }),
      ...(options.instanceId === undefined ? {} : { instanceId: options.instanceId }),
    });
    const opened = context;
    await ensureAllIndexes(opened);
    const seeded = await seedAdminUser({
      connection: opened.connection,
      settings: configuration.adminSeeder,
      logger: createJobLogger(logger, { jobName: 'AdminSeeder', runId: 'startup' }),
    });
    logger.info({ created: seeded.created }, 'admin seeder finished');
    await cancelDisabledJobs(opened, logger);
    await opened.runtime.start();
    running = true;
    consoleBackend = createConsoleBackend(opened);
    clusterMetrics = startClusterMetrics({ context: opened, settings: configuration.clusterMetrics, logger });
  } catch (error) {
    await shutdown('start-up failed');
    throw error;
  }
  const started = context;
  const gauges = clusterMetrics;
  if (started === undefined || gauges === undefined) throw new Error('worker start-up ended without a context');
  logger.info(
    {
      http: `http://${listening.host}:${listening.port}`,
      console: listening.consoleUrl ?? 'disabled (CONSOLE_ENABLED=false)',
      consoleAccess:
        listening.consoleUrl === null ? null : (configuration.console.tokens?.length ?? 0) > 0 ? 'sign-in with a token' : 'loopback, no sign-in',
      instanceId: started.runtime.identity.instanceId,
      version: workerVersion,
      jobs: started.jobs.plans.map((plan) => ({
        job: plan.jobName,
        enabled: plan.enabled,
        schedule: plan.job === null ? null : describeSchedule(plan.job.schedule),
      })),
      telemetryExport: options.telemetry.exporting,
      telemetryExporters: options.telemetry.exporters,
    },
    'worker ready',
  );
  return { context: started, http: listening, clusterMetrics: gauges, shutdown, readiness };
}
