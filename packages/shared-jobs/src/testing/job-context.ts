/**
 * What a job's tests need to run its handler without the runtime: a `JobContext` that
 * records progress and log lines and can be aborted, and the `JobModuleContext` a worker
 * would hand a module's factory when nothing is configured (the module's defaults).
 */
import type { Clock } from '../clock.js';
import type { JobModule, JobModuleContext } from '../job-module.js';
import type { JobContext, JobLogger, JobProgress } from '../job.js';
import type { OccurrenceCause } from '../occurrence.js';
import { parseMisfirePolicy, parseSchedule, type RetryPolicy } from '../schedule/index.js';
import type { JobTiming } from '../timing.js';
import { FakeClock } from './fake-clock.js';

export type RecordedLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RecordedLogLine {
  readonly level: RecordedLogLevel;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>> | undefined;
}

/** A logger that keeps every line, to assert on (and to check that secrets never reach it). */
export class RecordingLogger implements JobLogger {
  readonly lines: RecordedLogLine[] = [];

  debug(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level: 'debug', message, fields });
  }

  info(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level: 'info', message, fields });
  }

  warn(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level: 'warn', message, fields });
  }

  error(message: string, fields?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level: 'error', message, fields });
  }

  /** The lines of one level (all lines without an argument). */
  linesAt(level?: RecordedLogLevel): RecordedLogLine[] {
    return level === undefined ? [...this.lines] : this.lines.filter((line) => line.level === level);
  }

  /** The messages of one level, in order (all levels without an argument). */
  messages(level?: RecordedLogLevel): string[] {
    return this.linesAt(level).map((line) => line.message);
  }

  /** Everything logged, serialised. */
  text(): string {
    return JSON.stringify(this.lines);
  }
}

export interface TestJobContext extends JobContext {
  readonly logger: RecordingLogger;
  /** Every progress report, in order. */
  readonly progress: JobProgress[];
  /** Aborts `signal`, as the runtime does on drain or stall. */
  readonly abortController: AbortController;
}

export interface TestJobContextOptions {
  readonly jobName?: string;
  readonly runId?: string;
  readonly attempt?: number;
  readonly cause?: OccurrenceCause;
  /** Defaults to the clock's instant when the context is created. */
  readonly occurrenceAt?: Date;
  /** Called after each report is recorded; it may abort the run (`context.abortController`). */
  readonly onProgress?: (progress: JobProgress, context: TestJobContext) => void;
}

/** A `JobContext` for one run at `clock`'s instant (a fresh FakeClock by default). */
export function createTestJobContext(
  clock: Clock = new FakeClock(),
  options: TestJobContextOptions = {},
): TestJobContext {
  const abortController = new AbortController();
  const progress: JobProgress[] = [];
  const context: TestJobContext = {
    jobName: options.jobName ?? 'TestJob',
    runId: options.runId ?? 'test-run',
    occurrenceAt: options.occurrenceAt ?? clock.now(),
    attempt: options.attempt ?? 1,
    cause: options.cause ?? 'schedule',
    clock,
    logger: new RecordingLogger(),
    signal: abortController.signal,
    progress,
    abortController,
    reportProgress(report: JobProgress): Promise<void> {
      progress.push(report);
      options.onProgress?.(report, context);
      return Promise.resolve();
    },
  };
  return context;
}

/** A module's default timing and run retries, as the worker resolves them with no keys set. */
export function defaultJobModuleTiming(
  module: Pick<JobModule<unknown, unknown, unknown>, 'defaults'>,
): { readonly timing: JobTiming; readonly retry: RetryPolicy } {
  const { defaults } = module;
  return {
    timing: {
      schedule: parseSchedule(defaults.schedule, defaults.timeZone),
      misfire: parseMisfirePolicy(defaults.misfire),
    },
    retry: defaults.retry,
  };
}

/**
 * The context a worker would hand `module.create` with nothing configured: the given
 * (already validated) settings and services, and the module's default timing and retries
 * unless `timing` or `retry` are given.
 */
export function createJobModuleContext<TSettings, TServices>(
  module: Pick<JobModule<unknown, TSettings, TServices>, 'defaults'>,
  input: {
    readonly settings: TSettings;
    readonly services: TServices;
    readonly timing?: JobTiming;
    readonly retry?: RetryPolicy;
  },
): JobModuleContext<TSettings, TServices> {
  const defaults = defaultJobModuleTiming(module);
  return {
    settings: input.settings,
    services: input.services,
    timing: input.timing ?? defaults.timing,
    retry: input.retry ?? defaults.retry,
  };
}
