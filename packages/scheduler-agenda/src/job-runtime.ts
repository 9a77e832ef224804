/**
 * The job runtime: Agenda processes one document per recurring job; each due document
 * goes through the {@link OccurrenceRunner} (ledger claim, handler, outcome, next schedule).
 */
import {
  currentInstance,
  DefaultRecurringJobService,
  formatInstance,
  silentJobLogger,
  systemClock,
  toJobRunError,
  type Clock,
  type InstanceIdentity,
  type JobLogger,
  type JobResultSummary,
  type JobRun,
  type JobRunLedger,
  type JobRunStatus,
  type MessageScheduler,
  type RecurringJob,
  type RecurringJobRepository,
  type ScheduledOccurrence,
} from '@app/shared-jobs';
import { randomUUID } from 'node:crypto';
import { Agenda, type Job } from 'agenda';
import type { Db } from 'mongodb';
import { AgendaMessageScheduler } from './agenda-message-scheduler.js';
import { writeConfirmed } from './confirmed-write.js';
import { OccurrenceRunner, type RunFinishedEvent } from './jobs/occurrence-runner.js';
import { registerJob, type RegisteredJob } from './jobs/registered-job.js';
import {
  readOccurrenceData,
  toScheduledOccurrence,
  UnreadableOccurrenceError,
} from './models/pending-occurrence-document.js';
import { OccurrenceGuardBackend } from './occurrence-guard-backend.js';
import { resolveRuntimeSettings, type RuntimeSettingsInput } from './settings.js';
import { createRunTelemetry } from './telemetry.js';

export interface JobRuntimeOptions extends RuntimeSettingsInput {
  /** The database holding Agenda's collection (a `mongodb` driver `Db`). */
  readonly database: Db;
  readonly ledger: JobRunLedger;
  readonly repository: RecurringJobRepository;
  readonly jobs: readonly RecurringJob<JobResultSummary>[];
  readonly clock?: Clock;
  readonly instance?: InstanceIdentity;
  /** Runtime and handler log lines; handlers get it with job name and run id added. */
  readonly logger?: JobLogger;
  /** Called after every due occurrence (run or skipped); must not throw. */
  readonly onRunFinished?: (event: RunFinishedEvent) => void;
}

/** One job as operators see it. */
export interface JobOverview {
  readonly name: string;
  readonly intervalMs: number;
  readonly paused: boolean;
  /** The pending occurrence (its due instant is `runAt`), or null. */
  readonly next: ScheduledOccurrence | null;
  readonly lastRun: {
    readonly runId: string;
    readonly status: JobRunStatus;
    readonly occurrenceAt: Date;
    readonly attempt: number;
    readonly startedAt: Date;
    readonly finishedAt: Date | null;
    readonly durationMs: number | null;
    readonly error: string | null;
  } | null;
  readonly lastExecutedAt: Date | null;
}

export interface DrainResult {
  /** Runs that finished by themselves before the deadline. */
  readonly completedBeforeDeadline: boolean;
  /** Runs interrupted at the deadline (marked `interrupted`, lock released). */
  readonly interrupted: number;
}

export interface JobRuntime {
  /**
   * Resolves when Agenda's constructor-time set-up (its backend connection and its
   * `findAndLockNextJobIndex` index) is done; rejects when it failed. Short commands that
   * never `start()` await it before closing the connection.
   */
  ready(): Promise<void>;
  /** Ensures indexes, schedules every job (idempotent), starts processing. */
  start(): Promise<void>;
  /**
   * Stops taking new runs and waits for running ones up to `deadlineMs`; the rest are
   * aborted through their signal, marked `interrupted` and their locks released.
   */
  drain(deadlineMs: number): Promise<DrainResult>;
  /** Drains with a zero deadline. */
  stop(): Promise<void>;
  listJobs(): Promise<JobOverview[]>;
  /** The latest runs of one job, newest first. */
  history(jobName: string, limit?: number): Promise<JobRun[]>;
  /** Schedules a new occurrence identified by now, due now (once across replicas). */
  triggerNow(jobName: string): Promise<ScheduledOccurrence>;
  /** Persistently pauses a job on every replica. */
  pause(jobName: string): Promise<void>;
  resume(jobName: string): Promise<void>;
  /** Runs executing in this process. */
  readonly activeRuns: number;
  readonly scheduler: AgendaMessageScheduler;
}

export function createJobRuntime(options: JobRuntimeOptions): JobRuntime {
  const settings = resolveRuntimeSettings(options);
  const clock = options.clock ?? systemClock;
  const instance = options.instance ?? currentInstance();
  const logger = options.logger ?? silentJobLogger;
  const registered = new Map<string, RegisteredJob>();
  for (const definition of options.jobs) {
    if (registered.has(definition.name)) {
      throw new Error(`jobs: job name "${definition.name}" is registered twice`);
    }
    registered.set(definition.name, registerJob(definition, settings.defaultLockLifetimeMs));
  }
  const scheduler = new AgendaMessageScheduler(options.database, {
    collectionName: settings.collectionName,
  });
  /** The recurring-job service over a view of the scheduler and the repository. */
  const serviceOver = (
    schedulerView: MessageScheduler,
    repositoryView: RecurringJobRepository = options.repository,
  ): DefaultRecurringJobService =>
    new DefaultRecurringJobService({ repository: repositoryView, scheduler: schedulerView, clock, instance });
  const service = serviceOver(scheduler);
  const runner = new OccurrenceRunner({
    ledger: options.ledger,
    scheduler,
    repository: options.repository,
    service,
    clock,
    instance,
    logger,
    telemetry: createRunTelemetry(),
    ...(options.onRunFinished === undefined ? {} : { onRunFinished: options.onRunFinished }),
  });
  const lockLifetimes = [...registered.values()].map((job) => job.lockLifetimeMs);
  const agendaName = `${formatInstance(instance)}#${randomUUID().slice(0, 8)}`;
  const backend = new OccurrenceGuardBackend(options.database, settings.collectionName);
  const agenda = new Agenda({
    backend,
    name: agendaName,
    processEvery: settings.processEveryMs,
    defaultLockLifetime: lockLifetimes.length > 0 ? Math.max(...lockLifetimes) : settings.defaultLockLifetimeMs,
    maxConcurrency: Math.max(20, registered.size),
  });
  agenda.on('error', (error) => {
    logger.error('agenda error', { error: toJobRunError(error).message });
  });

  let state: 'new' | 'started' | 'draining' | 'stopped' = 'new';

  /**
   * Replaces a pending occurrence this package cannot read by one computed from persisted
   * state: the service sees no pending occurrence, and the schedule write updates the
   * document in place, so its paused flag stays (deleting it first would unpause the job).
   */
  const replacingUnreadable = serviceOver({
    getPending: () => Promise.resolve(null),
    schedule: (occurrence) => scheduler.schedule(occurrence),
    cancel: (jobName) => scheduler.cancel(jobName),
  });
  const rescheduleUnreadable = async (job: RegisteredJob, error: unknown): Promise<void> => {
    logger.error('unreadable pending occurrence: rescheduling from persisted state', {
      jobName: job.schedule.jobName,
      error: toJobRunError(error).message,
    });
    await replacingUnreadable.ensureScheduled(job.schedule);
  };

  /**
   * The recurring-job service over a snapshot of the jobs' documents and executions, read
   * in two commands (pending documents first, then executions, the order
   * `ensureScheduled` reads them in) instead of two reads per job; writes go to the real
   * scheduler and repository, inserting first for jobs that had no document.
   */
  const startUpService = async (): Promise<DefaultRecurringJobService> => {
    const documents = await scheduler.findDocuments([...registered.keys()]);
    const executions = await options.repository.listExecutions();
    const documentByName = new Map(documents.map((document) => [document.name, document]));
    const executionByName = new Map(executions.map((execution) => [execution.jobName, execution]));
    const snapshotScheduler: MessageScheduler = {
      getPending: (jobName) =>
        Promise.resolve(documentByName.get(jobName)).then((document) =>
          document === undefined ? null : toScheduledOccurrence(document),
        ),
      schedule: (occurrence) =>
        scheduler.schedule(occurrence, { insertFirst: !documentByName.has(occurrence.jobName) }),
      cancel: (jobName) => scheduler.cancel(jobName),
    };
    const snapshotRepository: RecurringJobRepository = {
      getLastExecution: (jobName) => Promise.resolve(executionByName.get(jobName) ?? null),
      upsertExecution: (execution) => options.repository.upsertExecution(execution),
      listExecutions: () => options.repository.listExecutions(),
    };
    return serviceOver(snapshotScheduler, snapshotRepository);
  };

  const ensureScheduled = async (
    job: RegisteredJob,
    using: DefaultRecurringJobService = service,
  ): Promise<void> => {
    try {
      await using.ensureScheduled(job.schedule);
    } catch (error) {
      if (!(error instanceof UnreadableOccurrenceError)) throw error;
      await rescheduleUnreadable(job, error);
    }
  };

  const processDue = async (job: RegisteredJob, agendaJob: Job<unknown>): Promise<void> => {
    if (state !== 'started') return; // draining: leave the occurrence for another replica
    let due;
    try {
      due = readOccurrenceData(job.schedule.jobName, agendaJob.attrs.data);
    } catch (error) {
      await rescheduleUnreadable(job, error);
      return;
    }
    await runner.runDue(
      job,
      { ...due, dueAt: agendaJob.attrs.nextRunAt ?? agendaJob.attrs.lastRunAt ?? clock.now() },
      {
        touch: (percent) => agendaJob.touch(percent),
        release: () => scheduler.releaseLock(job.schedule.jobName),
      },
    );
  };

  for (const job of registered.values()) {
    agenda.define(job.schedule.jobName, (agendaJob: Job<unknown>) => processDue(job, agendaJob), {
      lockLifetime: job.lockLifetimeMs,
      concurrency: 1,
      // One document per job name: once this process holds it, a scan has nothing more to
      // lock (without this, each scan spends a second findAndModify per name finding nothing,
      // and overlapping scans re-lock the held document on FerretDB).
      lockLimit: 1,
    });
  }

  /** An operator's write to a job document, read back where the server may undo it. */
  const writeOperatorChange = async (
    description: string,
    write: () => Promise<void>,
    isApplied: () => Promise<boolean>,
  ): Promise<void> => {
    if (!(await scheduler.rewritesWholeDocuments())) {
      await write();
      return;
    }
    await writeConfirmed({ description, write, isApplied, settleMs: settings.writeSettleMs, attempts: 5 });
  };

  const requireJob = (jobName: string): RegisteredJob => {
    const job = registered.get(jobName);
    if (job === undefined) {
      throw new Error(
        `unknown job "${jobName}": registered jobs are ${[...registered.keys()].join(', ') || '(none)'}`,
      );
    }
    return job;
  };

  const drain = async (deadlineMs: number): Promise<DrainResult> => {
    if (!Number.isFinite(deadlineMs) || deadlineMs < 0) {
      throw new RangeError(`drain deadlineMs must be a number >= 0, got ${String(deadlineMs)}`);
    }
    if (state !== 'started') {
      state = 'stopped';
      return { completedBeforeDeadline: true, interrupted: 0 };
    }
    state = 'draining';
    const result = await agenda.drain({ timeout: deadlineMs, closeConnection: false });
    const interrupted = runner.activeCount;
    if (interrupted > 0) {
      await runner.interruptAll(`worker draining: deadline of ${deadlineMs} ms passed`);
    }
    // Agenda's drain leaves documents it locked but had not started (due within the next
    // scan) locked until their lock expires: release them for the other replicas now.
    await scheduler.releaseLocksHeldBy(agendaName);
    state = 'stopped';
    return { completedBeforeDeadline: !result.timedOut && interrupted === 0, interrupted };
  };

  return {
    scheduler,
    ready: () => backend.whenConnected(),
    get activeRuns() {
      return runner.activeCount;
    },
    async start() {
      if (state !== 'new') throw new Error(`runtime cannot start: it is ${state}`);
      await scheduler.ensureIndexes();
      const snapshotService = await startUpService();
      await Promise.all([...registered.values()].map((job) => ensureScheduled(job, snapshotService)));
      state = 'started';
      await agenda.start();
    },
    drain,
    async stop() {
      await drain(0);
    },
    async listJobs() {
      const [latestRuns, executions, documents] = await Promise.all([
        options.ledger.listLatestRunPerJob(),
        options.repository.listExecutions(),
        scheduler.listDocuments(),
      ]);
      return [...registered.values()]
        .map((job): JobOverview => {
          const name = job.schedule.jobName;
          const run = latestRuns.find((entry) => entry.jobName === name);
          const document = documents.find((entry) => entry.name === name);
          const execution = executions.find((entry) => entry.jobName === name);
          let next: ScheduledOccurrence | null = null;
          if (document?.nextRunAt) {
            const data = readOccurrenceData(name, document.data);
            next = { jobName: name, ...data, runAt: document.nextRunAt };
          }
          return {
            name,
            intervalMs: job.schedule.intervalMs,
            paused: document?.disabled === true,
            next,
            lastRun:
              run === undefined
                ? null
                : {
                    runId: run.runId,
                    status: run.status,
                    occurrenceAt: run.occurrenceAt,
                    attempt: run.attempt,
                    startedAt: run.startedAt,
                    finishedAt: run.finishedAt,
                    durationMs: run.durationMs,
                    error: run.error?.message ?? null,
                  },
            lastExecutedAt: execution?.lastExecutedAt ?? null,
          };
        })
        .sort((left, right) => left.name.localeCompare(right.name));
    },
    async history(jobName, limit = 20) {
      requireJob(jobName);
      if (!Number.isSafeInteger(limit) || limit < 1) {
        throw new RangeError(`history limit must be a positive integer, got ${String(limit)}`);
      }
      return options.ledger.listRecentRuns(jobName, limit);
    },
    async triggerNow(jobName) {
      requireJob(jobName);
      const now = clock.now();
      const occurrence: ScheduledOccurrence = { jobName, occurrenceAt: now, runAt: now, attempt: 1 };
      await writeOperatorChange(`trigger of "${jobName}"`, () => scheduler.schedule(occurrence), async () => {
        const pending = await scheduler.getPending(jobName);
        if (pending !== null && pending.occurrenceAt.getTime() === occurrence.occurrenceAt.getTime()) return true;
        // Gone from the document because a replica has already claimed it, or replaced
        // by a later trigger that is due about as soon: either way it is in effect.
        if ((await options.ledger.listOccurrenceRuns(jobName, occurrence.occurrenceAt)).length > 0) return true;
        return pending !== null && pending.runAt.getTime() <= occurrence.runAt.getTime() + settings.writeSettleMs;
      });
      return occurrence;
    },
    async pause(jobName) {
      const job = requireJob(jobName);
      await writeOperatorChange(
        `pause of "${jobName}"`,
        async () => {
          if (await scheduler.setPaused(jobName, true)) return;
          await service.ensureScheduled(job.schedule);
          await scheduler.setPaused(jobName, true);
        },
        () => scheduler.isPaused(jobName),
      );
    },
    async resume(jobName) {
      const job = requireJob(jobName);
      await writeOperatorChange(
        `resume of "${jobName}"`,
        async () => {
          if (!(await scheduler.setPaused(jobName, false))) await service.ensureScheduled(job.schedule);
        },
        async () => !(await scheduler.isPaused(jobName)),
      );
    },
  };
}
