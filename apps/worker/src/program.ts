/**
 * The operator CLI: `worker start | config | jobs list|history|run|pause|resume|rerun | demo`.
 *
 * Exit codes: 0 success, 1 runtime failure, 2 invalid configuration, 3 usage error (an
 * unknown command or option, a missing or bad argument, an unknown job, a job disabled by
 * configuration); usage errors print the command's usage. `--json` on every command that
 * prints a result. `cli.ts` registers the MongoDB instrumentation before this module loads.
 */
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { resolveAdminPassword } from '@app/identity';
import { ActionRefusedError } from '@app/scheduler-agenda';
import { maxRunPageSize } from '@app/shared-jobs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigurationError } from './config/load.js';
import { redactConfiguration } from './config/redact.js';
import {
  findConsoleExposureProblems,
  loadWorkerConfiguration,
  type WorkerConfiguration,
} from './config/worker-config.js';
import { createLogger, type WorkerLogger } from './logger.js';
import { workerVersion } from './version.js';
import type { WorkerContext } from './worker.js';

export const exitCodes = { ok: 0, failure: 1, invalidConfiguration: 2, usage: 3 } as const;

/** A usage error found after parsing (an unknown or disabled job): exit 3 with the command's usage. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
  }
}

/** `Usage: worker jobs history [options] <job>`. */
function usageLine(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current !== null; current = current.parent) names.unshift(current.name());
  return `Usage: ${names.join(' ')} ${command.usage()}`;
}

/** Prints a command's result: JSON with `--json`, else the text. */
function printResult(json: boolean | undefined, data: unknown, text: () => string): void {
  process.stdout.write(json === true ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
}

function positiveInteger(name: string, maximum: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/u.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < 1 || parsed > maximum) {
      throw new InvalidArgumentError(`${name} must be an integer from 1 to ${maximum}.`);
    }
    return parsed;
  };
}

function isoInstant(value: string): Date {
  const instant = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T/u.test(value) || Number.isNaN(instant.getTime())) {
    throw new InvalidArgumentError('must be an ISO 8601 instant such as 2026-12-01T03:00:00.000Z.');
  }
  return instant;
}

/** Who runs an operator command from this shell: recorded on what it schedules. */
function cliActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary uid): keep "unknown".
  }
  return `cli:${user}@${hostname()}`;
}

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
  const exposure = findConsoleExposureProblems(configuration);
  if (exposure.length > 0) {
    // Before the database and before listening: an open console is a configuration error.
    process.stderr.write(`${new ConfigurationError(exposure).message}\n`);
    process.exit(exitCodes.invalidConfiguration);
  }
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
  // One id for the runtime's instance record, its runs and the telemetry's service.instance.id.
  const instanceId = randomUUID();
  const { startTelemetry } = await import('./telemetry.js');
  const telemetry = startTelemetry({
    settings: configuration.telemetry,
    serviceVersion: workerVersion,
    instanceId,
    logger,
  });
  const { startWorker, HttpListenError } = await import('./worker.js');
  const { installProcessGuards } = await import('./process-guards.js');
  let stopWorker: (reason: string) => Promise<void> = () => Promise.resolve();
  let exiting: Promise<void> | undefined;
  // Drains (SIGTERM, SIGINT, or a fatal error), flushes telemetry, then exits with `code`.
  const drainAndExit = (reason: string, code: number): Promise<void> => {
    exiting ??= (async () => {
      await stopWorker(reason);
      await telemetry.shutdown();
      process.exitCode = code;
      // Whatever a library left scheduled, the process ends now that everything is closed.
      setTimeout(() => process.exit(code), 1000).unref();
    })();
    return exiting;
  };
  installProcessGuards({
    logger,
    drain: (reason) => drainAndExit(reason, exitCodes.failure),
    exit: (code) => process.exit(code),
    hardDeadlineMs: configuration.shutdownDeadlineMs + 15_000,
  });
  let worker;
  try {
    worker = await startWorker({ configuration, logger, telemetry, instanceId });
  } catch (error) {
    const listenFailed = error instanceof HttpListenError;
    logger.fatal({ error }, listenFailed ? 'worker cannot serve HTTP' : 'worker failed to start');
    if (listenFailed) process.stderr.write(`${error.message}\n`);
    await telemetry.shutdown();
    process.exitCode = listenFailed ? exitCodes.invalidConfiguration : exitCodes.failure;
    setTimeout(() => process.exit(process.exitCode ?? exitCodes.failure), 1000).unref();
    return;
  }
  stopWorker = (reason) => worker.shutdown(reason);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(exitCodes.failure);
    }
    signalled = true;
    void drainAndExit(signal, exitCodes.ok);
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

function requireKnownJob(context: WorkerContext, jobName: string, command: Command): void {
  const plan = context.jobs.plans.find((entry) => entry.jobName === jobName);
  if (plan === undefined) {
    throw new UsageError(`unknown job "${jobName}": known jobs are ${context.knownJobNames.join(', ')}`, command);
  }
  if (!plan.enabled) {
    throw new UsageError(
      `job "${jobName}" is disabled by configuration (BACKGROUND_JOBS_ENABLED / JOBS_*_ENABLED)`,
      command,
    );
  }
}

export function createProgram(): Command {
  const program = new Command('worker')
    .description('Runs and operates the recurring background jobs')
    .version(workerVersion, '-V, --version', 'print the version')
    .option(
      '-c, --config <file>',
      'JSON configuration file (environment variables override it; or WORKER_CONFIG_FILE)',
    )
    // Before the commands are added: they inherit both (usage errors throw, then exit 3 in main()).
    .exitOverride()
    .showHelpAfterError();

  program
    .command('start')
    .description('Connect, seed, schedule every enabled job and process them until SIGTERM/SIGINT')
    .action(async (_options: unknown, command: Command) => runStart(command));

  program
    .command('config')
    .description('Print the effective configuration (secrets redacted), as JSON')
    .option('--env-reference', 'print the table of every environment variable instead (markdown)')
    .option('--json', 'print JSON (the configuration always is; with --env-reference, the rows)')
    .action(async (options: { envReference?: boolean; json?: boolean }, command: Command) => {
      if (options.envReference === true) {
        const { environmentReference, formatEnvironmentReference } = await import('./config/reference.js');
        const { settingsSections } = await import('./config/worker-config.js');
        printResult(options.json, environmentReference(settingsSections), () => formatEnvironmentReference(settingsSections));
        return;
      }
      const configuration = loadConfigurationOrExit(command);
      printResult(true, redactConfiguration(configuration), () => '');
    });

  const jobs = program.command('jobs').description('Inspect and control the recurring jobs');
  jobs
    .command('list')
    .description('Every job: enabled, schedule, last run, outcome, duration, next run, paused')
    .option('--json', 'print JSON (the /jobs data)')
    .action(async (options: { json?: boolean }, command: Command) => {
      const { formatJobsTable } = await import('./jobs-view.js');
      const rows = await withContext(command, (context) => context.listJobRows());
      printResult(options.json, rows, () => formatJobsTable(rows));
    });
  jobs
    .command('history')
    .description('The latest runs of one job, newest first')
    .argument('<job>', 'job name, e.g. RefreshTokenCleanupJob')
    .addOption(
      new Option('-n, --limit <count>', `how many runs (1 to ${maxRunPageSize})`)
        .default(20)
        .argParser(positiveInteger('--limit', maxRunPageSize)),
    )
    .option('--json', 'print JSON')
    .action(async (jobName: string, options: { limit: number; json?: boolean }, command: Command) => {
      const { formatHistoryTable } = await import('./jobs-view.js');
      const { limit } = options;
      const runs = await withContext(command, async (context) => {
        const plan = context.jobs.plans.find((entry) => entry.jobName === jobName);
        // A disabled job is not registered with the runtime; its history is still in the ledger.
        if (plan !== undefined && !plan.enabled) return (await context.ledger.listRuns({ jobName, limit })).runs;
        requireKnownJob(context, jobName, command);
        return (await context.runtime.history({ jobName, limit })).runs;
      });
      printResult(options.json, runs, () => formatHistoryTable(runs));
    });
  jobs
    .command('run')
    .description('Trigger a run now (it still runs once across all replicas)')
    .argument('<job>', 'job name')
    .option('--json', 'print the scheduled occurrence as JSON')
    .action(async (jobName: string, options: { json?: boolean }, command: Command) => {
      const occurrence = await withContext(command, async (context) => {
        requireKnownJob(context, jobName, command);
        return context.runtime.triggerNow(jobName, cliActor());
      });
      printResult(
        options.json,
        {
          job: jobName,
          action: 'run',
          occurrenceAt: occurrence.occurrenceAt.toISOString(),
          runAt: occurrence.runAt.toISOString(),
          cause: occurrence.cause,
        },
        () => `${jobName}: occurrence ${occurrence.occurrenceAt.toISOString()} is due now; a running worker will take it`,
      );
    });
  for (const [name, verb] of [
    ['pause', 'paused'],
    ['resume', 'resumed'],
  ] as const) {
    jobs
      .command(name)
      .description(name === 'pause' ? 'Pause a job on every replica (persisted)' : 'Resume a paused job')
      .argument('<job>', 'job name')
      .option('--json', 'print the result as JSON')
      .action(async (jobName: string, options: { json?: boolean }, command: Command) => {
        await withContext(command, async (context) => {
          requireKnownJob(context, jobName, command);
          await (name === 'pause'
            ? context.runtime.pause(jobName, cliActor())
            : context.runtime.resume(jobName, cliActor()));
        });
        printResult(options.json, { job: jobName, action: name, paused: name === 'pause' }, () => `${jobName}: ${verb}`);
      });
  }

  jobs
    .command('rerun')
    .description('Run a failed occurrence again: one new attempt, now, ahead of the pending occurrence')
    .argument('<job>', 'job name')
    .argument('<occurrence>', 'the occurrence instant (ISO 8601, as `jobs history` prints it)', isoInstant)
    .option('--json', 'print the scheduled attempt as JSON')
    .action(async (jobName: string, occurrenceAt: Date, options: { json?: boolean }, command: Command) => {
      const rerun = await withContext(command, async (context) => {
        requireKnownJob(context, jobName, command);
        try {
          return await context.runtime.rerun(jobName, occurrenceAt, cliActor());
        } catch (error) {
          if (error instanceof ActionRefusedError) throw new UsageError(error.message);
          throw error;
        }
      });
      printResult(
        options.json,
        {
          job: jobName,
          action: 'rerun',
          occurrenceAt: rerun.occurrenceAt.toISOString(),
          attempt: rerun.attempt,
          runAt: rerun.runAt.toISOString(),
        },
        () =>
          `${jobName}: occurrence ${rerun.occurrenceAt.toISOString()} runs again now as attempt ${rerun.attempt}; ` +
          'a running worker will take it',
      );
    });

  program
    .command('demo')
    .description('Embedded database + loopback SMTP sink + sample data; every job runs within a minute')
    .addOption(
      new Option('--duration <seconds>', 'stop after this many seconds')
        .default(60)
        .argParser(positiveInteger('--duration', 86_400)),
    )
    .action(async (options: { duration: number }) => {
      const { runDemo } = await import('./demo.js');
      await runDemo({ durationSeconds: options.duration });
      // Everything is closed; a library timer must not keep the process alive.
      setTimeout(() => process.exit(process.exitCode ?? exitCodes.ok), 1000).unref();
    });
  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed the message (and the usage). --help and --version end with 0;
      // `worker` or `worker jobs` without a command printed the help as an error.
      process.exitCode = error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
      return;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n${error.command === undefined ? '' : `${usageLine(error.command)}\n`}`);
      process.exitCode = exitCodes.usage;
      return;
    }
    process.stderr.write(`worker: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = exitCodes.failure;
  }
}
