/**
 * The operator CLI: `worker start | config | jobs list|history|run|pause|resume | demo`.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 invalid configuration, 3 usage error (an
 * unknown job, a job disabled by configuration, a bad argument). `cli.ts` registers the
 * MongoDB instrumentation before this module loads.
 */
import { resolveAdminPassword } from '@app/identity';
import { Command, Option } from 'commander';
import { ConfigurationError } from './config/load.js';
import { redactConfiguration } from './config/redact.js';
import { loadWorkerConfiguration, type WorkerConfiguration } from './config/worker-config.js';
import { createLogger, type WorkerLogger } from './logger.js';
import type { WorkerContext } from './worker.js';

export const exitCodes = { ok: 0, failure: 1, invalidConfiguration: 2, usage: 3 } as const;

class UsageError extends Error {}

interface GlobalOptions {
  readonly config?: string;
}

function loadConfigurationOrExit(command: Command): WorkerConfiguration {
  const globalOptions = command.optsWithGlobals<GlobalOptions>();
  try {
    return loadWorkerConfiguration({ configFile: globalOptions.config });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(exitCodes.invalidConfiguration);
    }
    throw error;
  }
}

function commandLogger(configuration: WorkerConfiguration): WorkerLogger {
  // Commands print results on stdout; their logs go to stderr, warnings and worse only.
  return createLogger({
    level:
      configuration.logLevel === 'debug' || configuration.logLevel === 'trace'
        ? configuration.logLevel
        : 'warn',
    format: 'json',
    destination: process.stderr,
  });
}

async function runStart(command: Command): Promise<void> {
  const configuration = loadConfigurationOrExit(command);
  if (configuration.adminSeeder.enabled) {
    // Pre-flight, before the database: an unreadable ADMIN_PASSWORD_FILE is a configuration error.
    try {
      await resolveAdminPassword(configuration.adminSeeder);
    } catch (error) {
      process.stderr.write(
        `Invalid worker configuration (1 problem):\n  - ADMIN_PASSWORD_FILE (adminSeeder.passwordFile): ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exit(exitCodes.invalidConfiguration);
    }
  }
  const logger = createLogger({ level: configuration.logLevel, format: configuration.logFormat });
  const { startTelemetry } = await import('./telemetry.js');
  const telemetry = startTelemetry({
    serviceName: configuration.telemetry.serviceName,
    otlpEndpoint: configuration.telemetry.otlpEndpoint,
    metricExportIntervalMs: configuration.telemetry.metricExportIntervalMs,
  });
  const { startWorker } = await import('./worker.js');
  let worker;
  try {
    worker = await startWorker({ configuration, logger, telemetry });
  } catch (error) {
    logger.fatal(
      { error: error instanceof Error ? error.message : String(error) },
      'worker failed to start',
    );
    await telemetry.shutdown();
    process.exitCode = exitCodes.failure;
    return;
  }
  const running = worker;
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(exitCodes.failure);
    }
    signalled = true;
    void (async () => {
      await running.shutdown(signal);
      await telemetry.shutdown();
      process.exitCode = exitCodes.ok;
      // Whatever a library left scheduled, the process ends now that everything is closed.
      setTimeout(() => process.exit(exitCodes.ok), 1000).unref();
    })();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function withContext<TResult>(
  command: Command,
  action: (context: WorkerContext) => Promise<TResult>,
): Promise<TResult> {
  const configuration = loadConfigurationOrExit(command);
  const { openWorkerContext } = await import('./worker.js');
  const context = await openWorkerContext({ configuration, logger: commandLogger(configuration) });
  try {
    return await action(context);
  } finally {
    await context.close();
  }
}

function requireKnownJob(context: WorkerContext, jobName: string): void {
  const plan = context.jobs.plans.find((entry) => entry.jobName === jobName);
  if (plan === undefined) {
    throw new UsageError(
      `unknown job "${jobName}": known jobs are ${context.knownJobNames.join(', ')}`,
    );
  }
  if (!plan.enabled) {
    throw new UsageError(
      `job "${jobName}" is disabled by configuration (BACKGROUND_JOBS_ENABLED / JOBS_*_ENABLED)`,
    );
  }
}

export function createProgram(): Command {
  const program = new Command('worker')
    .description('Runs and operates the recurring background jobs')
    .option(
      '-c, --config <file>',
      'JSON configuration file (environment variables override it; or WORKER_CONFIG_FILE)',
    )
    .showHelpAfterError();

  program
    .command('start')
    .description('Connect, seed, schedule every enabled job and process them until SIGTERM/SIGINT')
    .action(async (_options: unknown, command: Command) => runStart(command));

  program
    .command('config')
    .description('Print the effective configuration (secrets redacted)')
    .option('--env-reference', 'print the table of every environment variable instead (markdown)')
    .action(async (options: { envReference?: boolean }, command: Command) => {
      if (options.envReference === true) {
        const { formatEnvironmentReference } = await import('./config/reference.js');
        const { settingsSections } = await import('./config/worker-config.js');
        process.stdout.write(`${formatEnvironmentReference(settingsSections)}\n`);
        return;
      }
      const configuration = loadConfigurationOrExit(command);
      process.stdout.write(`${JSON.stringify(redactConfiguration(configuration), null, 2)}\n`);
    });

  const jobs = program.command('jobs').description('Inspect and control the recurring jobs');
  jobs
    .command('list')
    .description('Every job: enabled, interval, last run, outcome, duration, next run, paused')
    .option('--json', 'print JSON (the /jobs data)')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { formatJobsTable } = await import('./jobs-view.js');
      const rows = await withContext(command, (context) => context.listJobRows());
      process.stdout.write(
        options.json === true ? `${JSON.stringify(rows, null, 2)}\n` : `${formatJobsTable(rows)}\n`,
      );
    });
  jobs
    .command('history')
    .description('The latest runs of one job, newest first')
    .argument('<job>', 'job name, e.g. RefreshTokenCleanupJob')
    .addOption(new Option('-n, --limit <count>', 'how many runs').default('20'))
    .option('--json', 'print JSON')
    .action(
      async (jobName: string, options: { limit: string; json?: boolean }, command: Command) => {
        const limit = Number(options.limit);
        if (!Number.isSafeInteger(limit) || limit < 1) {
          throw new UsageError(`--limit must be a positive integer, got ${options.limit}`);
        }
        const { formatHistoryTable } = await import('./jobs-view.js');
        const runs = await withContext(command, async (context) => {
          const plan = context.jobs.plans.find((entry) => entry.jobName === jobName);
          // A disabled job is not registered with the runtime; its history is still in the ledger.
          if (plan !== undefined && !plan.enabled)
            return context.ledger.listRecentRuns(jobName, limit);
          requireKnownJob(context, jobName);
          return context.runtime.history(jobName, limit);
        });
        process.stdout.write(
          options.json === true
            ? `${JSON.stringify(runs, null, 2)}\n`
            : `${formatHistoryTable(runs)}\n`,
        );
      },
    );
  jobs
    .command('run')
    .description('Trigger a run now (it still runs once across all replicas)')
    .argument('<job>', 'job name')
    .action(async (jobName: string, _options: unknown, command: Command) => {
      const occurrence = await withContext(command, async (context) => {
        requireKnownJob(context, jobName);
        return context.runtime.triggerNow(jobName);
      });
      process.stdout.write(
        `${jobName}: occurrence ${occurrence.occurrenceAt.toISOString()} is due now; a running worker will take it\n`,
      );
    });
  for (const [name, verb] of [
    ['pause', 'paused'],
    ['resume', 'resumed'],
  ] as const) {
    jobs
      .command(name)
      .description(
        name === 'pause' ? 'Pause a job on every replica (persisted)' : 'Resume a paused job',
      )
      .argument('<job>', 'job name')
      .action(async (jobName: string, _options: unknown, command: Command) => {
        await withContext(command, async (context) => {
          requireKnownJob(context, jobName);
          await (name === 'pause'
            ? context.runtime.pause(jobName)
            : context.runtime.resume(jobName));
        });
        process.stdout.write(`${jobName}: ${verb}\n`);
      });
  }

  program
    .command('demo')
    .description(
      'Embedded database + loopback SMTP sink + sample data; every job runs within a minute',
    )
    .addOption(new Option('--duration <seconds>', 'stop after this many seconds').default('60'))
    .action(async (options: { duration: string }) => {
      const { runDemo } = await import('./demo.js');
      await runDemo({ durationSeconds: Number(options.duration) });
      // Everything is closed; a library timer must not keep the process alive.
      setTimeout(() => process.exit(process.exitCode ?? exitCodes.ok), 1000).unref();
    });
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = exitCodes.usage;
      return;
    }
    process.stderr.write(`worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = exitCodes.failure;
  }
}
