/**
 * The job runtime: Agenda (one Mongo-locked document per job) delivers due occurrences;
 * the occurrence runner claims, runs, records and completes them; the lock manager keeps
 * this worker's claims alive; the recurring-job service keeps one pending occurrence per
 * job. Operator actions (run now, pause, resume, rerun) are single-document writes.
 */
import { randomUUID } from 'node:crypto';
import {
  currentInstance,
  DefaultRecurringJobService,
  formatInstance,
  silentJobLogger,
  systemClock,
  toJobRunError,
  type Clock,
  type EnsureScheduledChange,
  type InstanceIdentity,
  type InstanceRegistry,
  type JobLogger,
  type JobResultSummary,
  type JobRun,
  type JobRunLedger,
  type JobTiming,
  type RecurringJob,
  type RetryPolicy,
  type RunPage,
  type RunQuery,
  type ScheduledOccurrence,
  type WorkerInstanceIdentity,
  type WorkerInstanceRecord,
} from '@app/shared-jobs';
import { Agenda, type Job } from 'agenda';
import type { Db } from 'mongodb';
import { AgendaMessageScheduler } from './agenda-message-scheduler.js';
import { adoptLegacyExecutionRecords } from './migrations/legacy-execution-records.js';
import { readOccurrenceData, toExecution, UnreadableOccurrenceError } from './models/pending-occurrence-document.js';
import { OccurrenceGuardBackend } from './occurrence-guard-backend.js';
import { sweepLapsedRuns } from './runtime/lapsed-run-sweeper.js';
import { LockManager } from './runtime/lock-manager.js';
import { OccurrenceRunner, type RunFinishedEvent } from './runtime/occurrence-runner.js';
import { registerJob, type RegisteredJob } from './runtime/registered-job.js';
import { RepeatedErrorLog } from './runtime/repeated-error-log.js';
import { resolveRuntimeSettings, type RuntimeSettingsInput } from './settings.js';
import { createRunTelemetry } from './telemetry.js';

export interface JobRuntimeOptions extends RuntimeSettingsInput {
  /** The database holding Agenda's collection (a `mongodb` driver `Db`). */
  readonly database: Db;
  readonly ledger: JobRunLedger;
  readonly instances: InstanceRegistry;
  readonly jobs: readonly RecurringJob<JobResultSummary>[];
  /** This worker's release, shown with its instance. */
  readonly version: string;
  readonly clock?: Clock;
  readonly instance?: InstanceIdentity;
  /** Runtime and handler log lines; handlers get it with job name and run id added. */
  readonly logger?: JobLogger;
  /** Called after every due occurrence (run or skipped); must not throw. */
  readonly onRunFinished?: (event: RunFinishedEvent) => void;
  /** Called on every attempt of Agenda's scan to lock a job's document (whether it got it); must not throw. */
  readonly onLockAttempt?: (jobName: string, locked: boolean) => void;
  /**
   * This process's instance id (its heartbeat record, its runs, `service.instance.id` of its
   * telemetry); a random UUID when absent.
   */
  readonly instanceId?: string;
}

/** The log kind of Agenda's errors (logged once, summarised, recovery logged). */
export const agendaErrorKind = 'agenda error';

/** One job as operators see it. */
export interface JobOverview {
  readonly name: string;
  /** The timing the job follows now: the pending occurrence's, else the configured one. */
  readonly timing: JobTiming;
  /** The configured timing differs from the one followed (a newer deployment's, pending adoption). */
  readonly configuredTiming: JobTiming;
  readonly retry: RetryPolicy;
  readonly paused: boolean;
  /** The pending occurrence (its due instant is `runAt`), or null. */
  readonly next: ScheduledOccurrence | null;
  /** The newest run, or null. */
  readonly lastRun: JobRun | null;
  /** Runs in flight now (on any worker). */
  readonly running: readonly JobRun[];
  readonly lastExecutedAt: Date | null;
}

export interface DrainResult {
  /** Runs that finished by themselves before the deadline. */
  readonly completedBeforeDeadline: boolean;
  /** Runs interrupted at the deadline (marked `interrupted`, lock released). */
  readonly interrupted: number;
}

/** Who asked for an operator action: recorded on the occurrence and its runs. */
export type Actor = string;

/** An operator action that cannot be done now (the reason names what is in the way). */
export class ActionRefusedError extends Error {
  override readonly name = 'ActionRefusedError';
}

/** An unknown job name (the message lists the known ones). */
export class UnknownJobError extends Error {
  override readonly name = 'UnknownJobError';
}

export interface JobRuntime {
  /**
   * Resolves when Agenda's constructor-time set-up (its backend connection and its
   * `findAndLockNextJobIndex` index) is done; rejects when it failed. Short commands that
   * never `start()` await it before closing the connection.
   */
  ready(): Promise<void>;
  /** Ensures indexes, schedules every job (idempotent), starts heartbeats and processing. */
  start(): Promise<void>;
  /**
   * Stops taking new runs and waits for running ones up to `deadlineMs`; the rest are
   * aborted through their signal, marked `interrupted` and their locks released.
   */
  drain(deadlineMs: number): Promise<DrainResult>;
  /** Drains with a zero deadline. */
  stop(): Promise<void>;
  /** The names of the registered jobs. */
  readonly jobNames: readonly string[];
  listJobs(): Promise<JobOverview[]>;
  /** A page of one job's runs, newest first. */
  history(query: RunQuery): Promise<RunPage>;
  getRun(runId: string): Promise<JobRun | null>;
  /** Runs the job now as a new occurrence (once across replicas); returns it. */
  triggerNow(jobName: string, actor: Actor): Promise<ScheduledOccurrence>;
  /** Persistently pauses a job on every replica. */
  pause(jobName: string, actor: Actor): Promise<void>;
  resume(jobName: string, actor: Actor): Promise<void>;
  /**
   * A new attempt of an occurrence that failed for good, run now in front of the pending
   * occurrence (which follows once it has run); returns it.
   */
  rerun(jobName: string, occurrenceAt: Date, actor: Actor): Promise<ScheduledOccurrence>;
  /** The worker processes, most recently heard from first. */
  listInstances(limit?: number): Promise<WorkerInstanceRecord[]>;
  /** This process. */
  readonly identity: WorkerInstanceIdentity;
  /** Runs executing in this process. */
  readonly activeRuns: number;
  /** Whether this worker's last heartbeat reached the database. */
  readonly healthy: boolean;
  readonly scheduler: AgendaMessageScheduler;
}

/** The schedule-change outcomes worth a log line at start-up. */
const loggedChanges: ReadonlySet<EnsureScheduledChange> = new Set(['created', 'rescheduled', 'timing-deferred']);

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
    registered.set(definition.name, registerJob(definition));
  }
  const identity: WorkerInstanceIdentity = {
    instanceId: options.instanceId ?? randomUUID(),
    hostName: instance.hostName,
    processId: instance.processId,
    version: options.version,
    startedAt: clock.now(),
  };
  const scheduler = new AgendaMessageScheduler(options.database, { collectionName: settings.collectionName });
  const service = new DefaultRecurringJobService({ scheduler, clock });
  const agendaName = `${formatInstance(instance)}#${identity.instanceId.slice(0, 8)}`;
  const lockManager = new LockManager({
    clock,
    ledger: options.ledger,
    renewLocks: (documentIds, at) => scheduler.renewLocks(documentIds, agendaName, at),
    heartbeat: (at, runsInFlight) => options.instances.heartbeat(identity, at, runsInFlight),
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    leaseTimeoutMs: settings.leaseTimeoutMs,
    logger,
  });
  const runner = new OccurrenceRunner({
    ledger: options.ledger,
    service,
    clock,
    instance,
    instanceId: identity.instanceId,
    logger,
    telemetry: createRunTelemetry(),
    lockManager,
    progressWriteEveryMs: settings.progressWriteEveryMs,
    recordDeadlineMs: settings.recordDeadlineMs,
    ...(options.onRunFinished === undefined ? {} : { onRunFinished: options.onRunFinished }),
  });
  // Agenda reports every failed scan (several per second while the database is down): the
  // first is logged, the rest counted; a scan that gets through again logs the recovery.
  const repeatedErrors = new RepeatedErrorLog({ logger, clock });
  const backend = new OccurrenceGuardBackend(options.database, settings.collectionName, (jobName, locked) => {
    repeatedErrors.success(agendaErrorKind);
    options.onLockAttempt?.(jobName, locked);
  });
  const agenda = new Agenda({
    backend,
    name: agendaName,
    // Each replica scans at a slightly different period (±10 %): with one shared period,
    // the replica whose scans happen to come first before each due instant would win every
    // lock; with drifting phases, due occurrences spread across the replicas.
    processEvery: Math.round(settings.processEveryMs * (0.9 + 0.2 * Math.random())),
    // Locks are renewed by the lock manager on every heartbeat: they lapse only when the
    // worker holding them is gone, after the lease timeout.
    defaultLockLifetime: settings.leaseTimeoutMs,
    maxConcurrency: Math.max(20, registered.size),
  });
  agenda.on('error', (error) => {
    repeatedErrors.failure(agendaErrorKind, error);
  });

  let state: 'new' | 'started' | 'draining' | 'stopped' = 'new';

  /** Every few lease timeouts, runs left behind by a dead worker are marked abandoned. */
  let sweepTimer: NodeJS.Timeout | undefined;
  const sweep = () =>
    sweepLapsedRuns({
      ledger: options.ledger,
      clock,
      logger,
      jobNames: [...registered.keys()],
      isLocal: (runId) => lockManager.runsInFlight.some((run) => run.runId === runId),
    }).catch((error: unknown) => {
      logger.warn('could not sweep lapsed runs', { error: toJobRunError(error).message });
      return 0;
    });

  /** Replaces a pending occurrence this package cannot read by one computed from persisted state. */
  const rescheduleUnreadable = async (job: RegisteredJob, error: unknown): Promise<void> => {
    logger.error('unreadable pending occurrence: rescheduling from persisted state', {
      jobName: job.jobName,
      error: toJobRunError(error),
    });
    // Not due any more: the service then schedules in place, so the paused flag stays.
    await scheduler.collection.updateOne({ name: job.jobName }, { $set: { nextRunAt: null } });
    await service.ensureScheduled(job, identity.startedAt);
  };

  const ensureScheduled = async (job: RegisteredJob): Promise<void> => {
    try {
      const { pending, change } = await service.ensureScheduled(job, identity.startedAt);
      if (loggedChanges.has(change)) {
        logger.info(`job schedule at start-up: ${change}`, {
          jobName: job.jobName,
          occurrenceAt: pending.occurrenceAt.toISOString(),
          runAt: pending.runAt.toISOString(),
        });
      }
    } catch (error) {
      if (!(error instanceof UnreadableOccurrenceError)) throw error;
      await rescheduleUnreadable(job, error);
    }
  };

  const processDue = async (job: RegisteredJob, agendaJob: Job<unknown>): Promise<void> => {
    if (state !== 'started') return; // draining: leave the occurrence for another replica
    let data;
    try {
      data = readOccurrenceData(job.jobName, agendaJob.attrs.data);
    } catch (error) {
      await rescheduleUnreadable(job, error);
      return;
    }
    const dueAt = agendaJob.attrs.nextRunAt ?? agendaJob.attrs.lastRunAt ?? clock.now();
    const documentId = String(agendaJob.attrs._id);
    await runner.runDue(
      job,
      { occurrence: { jobName: job.jobName, ...data, runAt: dueAt }, dueAt },
      {
        documentId,
        setLockedAt: (at) => {
          agendaJob.attrs.lockedAt = at;
        },
        release: () => scheduler.releaseLock(documentId, agendaName),
        handedOver: () => backend.handedOver(documentId),
      },
    );
  };

  for (const job of registered.values()) {
    agenda.define(job.jobName, (agendaJob: Job<unknown>) => processDue(job, agendaJob), {
      lockLifetime: settings.leaseTimeoutMs,
      concurrency: 1,
      // One document per job name: once this process holds it, a scan has nothing more to
      // lock (without this, each scan spends a second findAndModify per name finding nothing).
      lockLimit: 1,
    });
  }

  const requireJob = (jobName: string): RegisteredJob => {
    const job = registered.get(jobName);
    if (job === undefined) {
      throw new UnknownJobError(
        `unknown job "${jobName}": registered jobs are ${[...registered.keys()].join(', ') || '(none)'}`,
      );
    }
    return job;
  };

  /** The pending occurrence of a registered job (scheduling it first if it has none). */
  const pendingOf = async (job: RegisteredJob): Promise<ScheduledOccurrence> =>
    (await scheduler.getPending(job.jobName)) ?? (await service.ensureScheduled(job, identity.startedAt)).pending;

  /** Writes `next` in place of the pending occurrence read by `decide`, retrying when a concurrent write won. */
  const replacePending = async (
    job: RegisteredJob,
    decide: (pending: ScheduledOccurrence) => ScheduledOccurrence | 'keep',
  ): Promise<ScheduledOccurrence> => {
    for (let round = 1; ; round += 1) {
      const pending = await pendingOf(job);
      const next = decide(pending);
      if (next === 'keep') return pending;
      if (await scheduler.replaceIfCurrent(pending, next)) return next;
      if (round >= 5) throw new Error(`job "${job.jobName}": its pending occurrence kept changing; try again`);
    }
  };

  const isDetour = (occurrence: ScheduledOccurrence) => occurrence.cause === 'trigger' || occurrence.cause === 'rerun';

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
    await scheduler.releaseLocksHeldBy(agendaName).catch(() => 0);
    clearInterval(sweepTimer);
    await lockManager.stop();
    await options.instances.markStopped(identity.instanceId, clock.now()).catch((error: unknown) => {
      logger.warn('could not record this instance as stopped', { error: toJobRunError(error) });
    });
    state = 'stopped';
    return { completedBeforeDeadline: !result.timedOut && interrupted === 0, interrupted };
  };

  return {
    scheduler,
    identity,
    jobNames: [...registered.keys()],
    ready: () => backend.whenConnected(),
    get activeRuns() {
      return runner.activeCount;
    },
    get healthy() {
      return lockManager.healthy;
    },
    async start() {
      if (state !== 'new') throw new Error(`runtime cannot start: it is ${state}`);
      await scheduler.ensureIndexes();
      const adopted = await adoptLegacyExecutionRecords(options.database, scheduler, [...registered.keys()]);
      if (adopted.length > 0) {
        logger.info('execution records adopted from recurring_job_executions', { jobNames: adopted });
      }
      await lockManager.start();
      for (const job of registered.values()) await ensureScheduled(job);
      state = 'started';
      await agenda.start();
      sweepTimer = setInterval(() => void sweep(), settings.leaseTimeoutMs * 3);
      sweepTimer.unref();
    },
    drain,
    async stop() {
      await drain(0);
    },
    async listJobs() {
      const names = [...registered.keys()].sort();
      const [latestRuns, documents, running] = await Promise.all([
        options.ledger.listLatestRunPerJob(names),
        scheduler.findDocuments(names),
        Promise.all(
          names.map((jobName) => options.ledger.listRuns({ jobName, statuses: ['running'], limit: 20 })),
        ),
      ]);
      return names.map((name, index): JobOverview => {
        const job = registered.get(name)!;
        const document = documents.find((entry) => entry.name === name);
        let next: ScheduledOccurrence | null = null;
        if (document?.nextRunAt) {
          try {
            next = { jobName: name, ...readOccurrenceData(name, document.data), runAt: document.nextRunAt };
          } catch {
            next = null;
          }
        }
        return {
          name,
          timing: next?.timing ?? job.timing,
          configuredTiming: job.timing,
          retry: job.retry,
          paused: document?.disabled === true,
          next,
          lastRun: latestRuns.find((entry) => entry.jobName === name) ?? null,
          running: running[index]!.runs,
          lastExecutedAt: document === undefined ? null : (toExecution(document)?.lastExecutedAt ?? null),
        };
      });
    },
    async history(query) {
      requireJob(query.jobName);
      return options.ledger.listRuns(query);
    },
    getRun: (runId) => options.ledger.getRun(runId),
    async triggerNow(jobName, actor) {
      const job = requireJob(jobName);
      const now = clock.now();
      return replacePending(job, (pending) => {
        if (pending.cause === 'trigger') return 'keep'; // already asked for: one run, not two
        if (pending.cause === 'rerun') {
          throw new ActionRefusedError(
            `job "${jobName}" has a rerun of ${pending.occurrenceAt.toISOString()} pending: run now once it has run`,
          );
        }
        return {
          jobName,
          occurrenceAt: now,
          runAt: now,
          attempt: 1,
          cause: 'trigger',
          requestedBy: actor,
          resume: null,
          timing: pending.timing ?? job.timing,
        };
      });
    },
    // A job without a pending occurrence (never started, or cancelled) gets one first, so
    // pausing or resuming never leaves a registered job without its chain.
    async pause(jobName) {
      await pendingOf(requireJob(jobName));
      await scheduler.setPaused(jobName, true);
    },
    async resume(jobName) {
      await pendingOf(requireJob(jobName));
      await scheduler.setPaused(jobName, false);
    },
    async rerun(jobName, occurrenceAt, actor) {
      const job = requireJob(jobName);
      const runs = await options.ledger.listOccurrenceRuns(jobName, occurrenceAt);
      const when = occurrenceAt.toISOString();
      if (runs.length === 0) throw new ActionRefusedError(`job "${jobName}" has no run of the occurrence ${when}`);
      if (runs.some((run) => run.status === 'succeeded')) {
        throw new ActionRefusedError(`the occurrence ${when} of job "${jobName}" succeeded: there is nothing to rerun`);
      }
      if (runs.some((run) => run.status === 'running')) {
        throw new ActionRefusedError(`the occurrence ${when} of job "${jobName}" is running now`);
      }
      const lastAttempt = Math.max(...runs.map((run) => run.attempt));
      return replacePending(job, (pending) => {
        if (isDetour(pending)) {
          throw new ActionRefusedError(
            `job "${jobName}" already has a ${pending.cause} of ${pending.occurrenceAt.toISOString()} pending: ` +
              'rerun once it has run',
          );
        }
        if (pending.occurrenceAt.getTime() === occurrenceAt.getTime()) {
          throw new ActionRefusedError(`the occurrence ${when} of job "${jobName}" is pending again already (a retry)`);
        }
        const now = clock.now();
        return {
          jobName,
          occurrenceAt,
          runAt: now,
          attempt: lastAttempt + 1,
          cause: 'rerun',
          requestedBy: actor,
          resume: {
            occurrenceAt: pending.occurrenceAt,
            runAt: pending.runAt,
            attempt: pending.attempt,
            cause: pending.cause,
          },
          timing: pending.timing ?? job.timing,
        };
      });
    },
    listInstances: (limit = 100) => options.instances.list(limit),
  };
}
