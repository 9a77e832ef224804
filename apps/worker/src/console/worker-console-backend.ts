/**
 * The console backend: jobs from the runtime and the plans, runs from the ledger, actions
 * (run now, pause, resume, rerun) through the runtime, worker instances from their
 * heartbeats, the email queue through `@app/notifications`, and the operator audit trail in
 * `operator_audit`.
 */
import { MongooseOperatorAuditTrail, type OperatorAuditRecord } from '@app/logging';
import {
  countQueuedEmails,
  findOldestPendingEmail,
  listEmailQueueEntries,
  requeueDeadEmail,
  type EmailQueueEntrySummary,
} from '@app/notifications';
import type { Connection } from 'mongoose';
import { ActionRefusedError, UnknownJobError, type JobOverview, type JobRuntime } from '@app/scheduler-agenda';
import {
  decodeRunCursor,
  describeMisfirePolicy,
  describeSchedule,
  encodeRunCursor,
  finishedJobRunStatuses,
  type JobProgress,
  type JobRun,
  type JobRunLedger,
} from '@app/shared-jobs';
import type { JobPlan } from '../jobs.js';
import { describeConfiguredTimingIfNotFollowed } from '../jobs-view.js';
import type {
  ActionResult,
  Actor,
  AuditAction,
  AuditEntry,
  ConsoleJob,
  ConsoleRun,
  EmailEntryView,
  RunningNow,
} from './api-types.js';
import { ConsoleBackendError, type AuditTrail, type ConsoleBackend } from './console-backend.js';
import { CursorError, decodeCursor, encodeCursor, type CursorKind, type CursorPosition } from './cursor.js';
import { computeJobStats, statsWindowSize } from './stats.js';

/**
 * What the backend reads from the worker: a `WorkerContext` (`worker.ts`) is one; named here
 * so the console does not import the composition root that imports it.
 */
export interface ConsoleBackendContext {
  readonly connection: Connection;
  readonly ledger: JobRunLedger;
  readonly jobs: { readonly plans: readonly JobPlan[] };
  readonly runtime: JobRuntime;
}

export interface ConsoleBackendOptions {
  /** Defaults to the Mongoose trail in `operator_audit` on the context's connection. */
  readonly auditTrail?: AuditTrail;
  readonly now?: () => Date;
  /** How long a job listing is reused by concurrent pollers (ms); 0 disables. */
  readonly jobsCacheMs?: number;
}

function toIso(date: Date | null | undefined): string | null {
  return date === null || date === undefined ? null : date.toISOString();
}

/** Progress in percent, when the handler reported a total. */
function percentOf(progress: JobProgress | null): number | null {
  if (progress === null || progress.completed === undefined || progress.total === undefined || progress.total <= 0) {
    return null;
  }
  return Math.max(0, Math.min(100, Math.round((progress.completed / progress.total) * 100)));
}

/** A ledger run as the console shows it. */
export function toConsoleRun(run: JobRun): ConsoleRun {
  return {
    runId: run.runId,
    jobName: run.jobName,
    status: run.status,
    occurrenceAt: run.occurrenceAt.toISOString(),
    attempt: run.attempt,
    startedAt: run.startedAt.toISOString(),
    finishedAt: toIso(run.finishedAt),
    durationMs: run.durationMs,
    instance: { hostName: run.instance.hostName, processId: run.instance.processId },
    error:
      run.error === null
        ? null
        : { name: run.error.name, message: run.error.message, stack: run.error.stack ?? null },
    result: run.result,
    cause: run.cause,
    requestedBy: run.requestedBy,
    traceId: run.traceId,
    progress: percentOf(run.progress),
  };
}

function toAuditEntry(record: OperatorAuditRecord): AuditEntry {
  return {
    id: record.id,
    at: record.at.toISOString(),
    actor: {
      name: record.actor.name,
      role: record.actor.role === 'viewer' ? 'viewer' : 'operator',
      via: record.actor.via === 'bearer' || record.actor.via === 'loopback' ? record.actor.via : 'session',
      address: record.actor.address,
    },
    action: record.action,
    target: record.target,
    occurrenceAt: toIso(record.occurrenceAt),
    outcome: record.outcome,
    message: record.message,
    reason: record.reason,
  };
}

/** The `operator_audit` collection behind the {@link AuditTrail} interface. */
export function createMongooseAuditTrail(connection: Connection): AuditTrail {
  const trail = new MongooseOperatorAuditTrail(connection);
  return {
    record: async (entry) =>
      toAuditEntry(
        await trail.record({
          at: new Date(entry.at),
          actor: { ...entry.actor },
          action: entry.action,
          target: entry.target,
          occurrenceAt: entry.occurrenceAt === null ? null : new Date(entry.occurrenceAt),
          outcome: entry.outcome,
          message: entry.message,
          reason: entry.reason,
        }),
      ),
    list: async (query) =>
      (
        await trail.list({
          limit: query.limit,
          ...(query.after === undefined ? {} : { after: { at: new Date(query.after.at), id: query.after.id } }),
        })
      ).map(toAuditEntry),
    findOccurrenceRequest: async (job, occurrenceAt) => {
      const record = await trail.findOccurrenceRequest(job, new Date(occurrenceAt));
      return record === null ? null : toAuditEntry(record);
    },
  };
}

function toEmailView(entry: EmailQueueEntrySummary): EmailEntryView {
  return {
    id: entry.id,
    to: entry.to,
    subject: entry.subject,
    status: entry.status,
    attempts: entry.attempts,
    lastError: entry.lastError,
    nextAttemptAt: entry.nextAttemptAt.toISOString(),
    createdAt: entry.createdAt.toISOString(),
    updatedAt: entry.updatedAt.toISOString(),
  };
}

function decode(kind: CursorKind, cursor: string | null): CursorPosition | undefined {
  if (cursor === null) return undefined;
  try {
    return decodeCursor(kind, cursor);
  } catch (error) {
    if (error instanceof CursorError) throw new ConsoleBackendError('bad_request', error.message);
    throw error;
  }
}

/** Who asked, as the runtime records it on the occurrence and its runs. */
function actorLabel(actor: Actor): string {
  return `console:${actor.name}`;
}

/** An instance whose heartbeat is older than this is shown as silent (it may be gone). */
const silentAfterMs = 10_000;

export function createConsoleBackend(context: ConsoleBackendContext, options: ConsoleBackendOptions = {}): ConsoleBackend {
  const audit = options.auditTrail ?? createMongooseAuditTrail(context.connection);
  const now = options.now ?? (() => new Date());
  const jobsCacheMs = options.jobsCacheMs ?? 1000;
  const { ledger, runtime } = context;
  const plans = [...context.jobs.plans].sort((left, right) => left.jobName.localeCompare(right.jobName));

  const requirePlan = (job: string, acting: boolean) => {
    const plan = plans.find((entry) => entry.jobName === job);
    if (plan === undefined) {
      throw new ConsoleBackendError(
        'not_found',
        `unknown job "${job}": known jobs are ${plans.map((entry) => entry.jobName).join(', ')}`,
      );
    }
    if (acting && !plan.enabled) {
      throw new ConsoleBackendError(
        'conflict',
        `job "${job}" is disabled by configuration (BACKGROUND_JOBS_ENABLED / JOBS_*_ENABLED): it cannot be triggered, paused or resumed`,
      );
    }
    return plan;
  };

  /**
   * The runtime's overview (one read of the scheduler's documents, one ledger query per job
   * for the last run and one for the runs in flight) plus one ledger query per job for the
   * stats window: costs follow the window size, not the history size.
   */
  const buildJobs = async (names: readonly string[]): Promise<ConsoleJob[]> => {
    const overviews = await runtime.listJobs();
    return Promise.all(
      plans
        .filter((plan) => names.includes(plan.jobName))
        .map(async (plan): Promise<ConsoleJob> => {
          const overview: JobOverview | undefined = overviews.find((entry) => entry.name === plan.jobName);
          const window = await ledger.listRuns({
            jobName: plan.jobName,
            statuses: finishedJobRunStatuses.filter((status) => status !== 'interrupted'),
            limit: statsWindowSize,
          });
          const lastRun = overview?.lastRun ?? (await ledger.listRuns({ jobName: plan.jobName, limit: 1 })).runs[0] ?? null;
          const schedule = overview?.timing.schedule ?? null;
          return {
            name: plan.jobName,
            enabled: plan.enabled,
            paused: overview?.paused ?? false,
            schedule: {
              intervalMs: schedule?.kind === 'interval' ? schedule.everyMs : null,
              description: schedule === null ? 'not scheduled (disabled)' : describeSchedule(schedule),
              misfire: overview === undefined ? null : describeMisfirePolicy(overview.timing.misfire),
              retry: overview === undefined ? null : { ...overview.retry },
              configured:
                overview === undefined ? null : describeConfiguredTimingIfNotFollowed(overview.timing, overview.configuredTiming),
            },
            lastRun: lastRun === null ? null : toConsoleRun(lastRun),
            nextRunAt: toIso(overview?.next?.runAt),
            nextOccurrenceAt: toIso(overview?.next?.occurrenceAt),
            nextCause: overview?.next?.cause ?? null,
            running: (overview?.running ?? []).map(
              (run): RunningNow => ({
                runId: run.runId,
                startedAt: run.startedAt.toISOString(),
                attempt: run.attempt,
                instance: { ...run.instance },
                progress: percentOf(run.progress),
              }),
            ),
            stats: computeJobStats(window.runs),
          };
        }),
    );
  };

  // Concurrent pollers (several open dashboards) share one listing for a moment.
  let cachedJobs: { readonly at: number; readonly jobs: Promise<ConsoleJob[]> } | null = null;
  const listAllJobs = (): Promise<ConsoleJob[]> => {
    const nowMs = Date.now();
    if (cachedJobs !== null && nowMs - cachedJobs.at < jobsCacheMs) return cachedJobs.jobs;
    const jobs = buildJobs(plans.map((plan) => plan.jobName));
    cachedJobs = { at: nowMs, jobs };
    jobs.catch(() => {
      cachedJobs = null;
    });
    return jobs;
  };

  const act = async (
    action: AuditAction,
    target: string,
    actor: Actor,
    reason: string | null,
    perform: () => Promise<{ message: string; occurrenceAt: Date | null }>,
  ): Promise<ActionResult> => {
    let outcome: { message: string; occurrenceAt: Date | null };
    try {
      outcome = await perform();
    } catch (caught) {
      const error =
        caught instanceof ActionRefusedError
          ? new ConsoleBackendError('conflict', caught.message)
          : caught instanceof UnknownJobError
            ? new ConsoleBackendError('not_found', caught.message)
            : caught;
      if (error instanceof ConsoleBackendError && !(caught instanceof ActionRefusedError)) throw error;
      await audit.record({
        at: now().toISOString(),
        actor,
        action,
        target,
        occurrenceAt: null,
        outcome: 'failed',
        message: error instanceof Error ? error.message : String(error),
        reason,
      });
      throw error;
    } finally {
      cachedJobs = null;
    }
    const entry = await audit.record({
      at: now().toISOString(),
      actor,
      action,
      target,
      occurrenceAt: toIso(outcome.occurrenceAt),
      outcome: 'succeeded',
      message: outcome.message,
      reason,
    });
    return { action, target, outcome: 'succeeded', message: outcome.message, occurrenceAt: entry.occurrenceAt, auditId: entry.id };
  };

  return {
    jobNames: () => Promise.resolve(plans.map((plan) => plan.jobName)),
    listJobs: listAllJobs,
    async getJob(name) {
      if (!plans.some((plan) => plan.jobName === name)) return null;
      const [job] = await buildJobs([name]);
      return job ?? null;
    },
    async listRuns(query) {
      requirePlan(query.jobName, false);
      const position = decode('runs', query.cursor);
      const page = await ledger.listRuns({
        jobName: query.jobName,
        statuses: query.statuses,
        ...(query.from === null ? {} : { startedFrom: new Date(query.from) }),
        ...(query.to === null ? {} : { startedBefore: new Date(query.to) }),
        ...(position === undefined ? {} : { cursor: encodeRunCursor({ startedAt: new Date(position.at), runId: position.id }) }),
        limit: query.limit,
      }).catch((error: unknown) => {
        // The ledger refuses a position whose run id it never issued: a forged cursor.
        if (error instanceof RangeError && position !== undefined) {
          throw new ConsoleBackendError('bad_request', 'cursor is malformed: pass back the nextCursor of a runs page unchanged');
        }
        throw error;
      });
      const next = page.nextCursor === null ? null : decodeRunCursor(page.nextCursor);
      return {
        runs: page.runs.map(toConsoleRun),
        nextCursor: next === null ? null : encodeCursor('runs', { at: next.startedAt.getTime(), id: next.runId }),
      };
    },
    async getRun(runId) {
      const run = await ledger.getRun(runId);
      return run === null ? null : toConsoleRun(run);
    },
    trigger: (job, actor, reason) =>
      act('trigger', job, actor, reason, async () => {
        requirePlan(job, true);
        const occurrence = await runtime.triggerNow(job, actorLabel(actor));
        return {
          message: `occurrence ${occurrence.occurrenceAt.toISOString()} is due now; a running worker takes it once${(await runtime.scheduler.isPaused(job)) ? ' (the job is paused: it runs after resume)' : ''}`,
          occurrenceAt: occurrence.occurrenceAt,
        };
      }),
    pause: (job, actor, reason) =>
      act('pause', job, actor, reason, async () => {
        requirePlan(job, true);
        const already = await runtime.scheduler.isPaused(job);
        await runtime.pause(job, actorLabel(actor));
        return { message: already ? 'was already paused' : 'paused on every replica', occurrenceAt: null };
      }),
    resume: (job, actor, reason) =>
      act('resume', job, actor, reason, async () => {
        requirePlan(job, true);
        const wasPaused = await runtime.scheduler.isPaused(job);
        await runtime.resume(job, actorLabel(actor));
        return { message: wasPaused ? 'resumed on every replica' : 'was not paused', occurrenceAt: null };
      }),
    rerun: (job, occurrenceAt, actor, reason) =>
      act('rerun', job, actor, reason, async () => {
        requirePlan(job, true);
        const rerun = await runtime.rerun(job, occurrenceAt, actorLabel(actor));
        return {
          message: `occurrence ${rerun.occurrenceAt.toISOString()} runs again now as attempt ${rerun.attempt}; the pending occurrence follows it`,
          occurrenceAt: rerun.occurrenceAt,
        };
      }),
    async listAudit(query) {
      const position = decode('audit', query.cursor);
      let entries: AuditEntry[];
      try {
        entries = await audit.list({
          limit: query.limit + 1,
          ...(position === undefined ? {} : { after: { at: new Date(position.at).toISOString(), id: position.id } }),
        });
      } catch (error) {
        if (error instanceof TypeError && position !== undefined) {
          throw new ConsoleBackendError('bad_request', 'cursor is malformed: pass back the nextCursor of an audit page unchanged');
        }
        throw error;
      }
      const page = entries.slice(0, query.limit);
      const last = page.at(-1);
      return {
        entries: page,
        nextCursor:
          entries.length > query.limit && last !== undefined
            ? encodeCursor('audit', { at: Date.parse(last.at), id: last.id })
            : null,
      };
    },
    async emailQueueSummary() {
      const [counts, oldest] = await Promise.all([
        countQueuedEmails(context.connection),
        findOldestPendingEmail(context.connection),
      ]);
      return {
        counts,
        oldestPending:
          oldest === null
            ? null
            : {
                id: oldest.id,
                createdAt: oldest.createdAt.toISOString(),
                nextAttemptAt: oldest.nextAttemptAt.toISOString(),
                ageMs: Math.max(0, now().getTime() - oldest.createdAt.getTime()),
              },
      };
    },
    async listEmails(query) {
      const position = decode('emails', query.cursor);
      let entries: EmailQueueEntrySummary[];
      try {
        entries = await listEmailQueueEntries(context.connection, {
          statuses: query.statuses,
          limit: query.limit + 1,
          ...(position === undefined ? {} : { afterId: position.id }),
        });
      } catch (error) {
        if (error instanceof TypeError && position !== undefined) {
          throw new ConsoleBackendError('bad_request', 'cursor is malformed: pass back the nextCursor of an emails page unchanged');
        }
        throw error;
      }
      const page = entries.slice(0, query.limit);
      const last = page.at(-1);
      return {
        entries: page.map(toEmailView),
        nextCursor:
          entries.length > query.limit && last !== undefined ? encodeCursor('emails', { at: 0, id: last.id }) : null,
      };
    },
    requeueEmail: (id, actor, reason) =>
      act('requeue-email', `email:${id}`, actor, reason, async () => {
        const result = await requeueDeadEmail(context.connection, id, now());
        if (!result.requeued) {
          if (result.reason === 'not_found') throw new ConsoleBackendError('not_found', `no email queue entry "${id}"`);
          throw new ConsoleBackendError(
            'conflict',
            `email queue entry "${id}" is ${result.status}: only dead entries can be requeued`,
          );
        }
        return { message: `requeued: pending, due now (attempt ${result.entry.attempts + 1} is next)`, occurrenceAt: null };
      }),
    async listInstances() {
      const instant = now().getTime();
      return (await runtime.listInstances(100)).map((record) => ({
        instanceId: record.instanceId,
        hostName: record.hostName,
        processId: record.processId,
        version: record.version,
        startedAt: record.startedAt.toISOString(),
        lastHeartbeatAt: record.heartbeatAt.toISOString(),
        stoppedAt: toIso(record.stoppedAt),
        state: record.stoppedAt !== null ? 'stopped' : instant - record.heartbeatAt.getTime() > silentAfterMs ? 'silent' : 'alive',
        runsInFlight: record.runsInFlight.length,
        runs: record.runsInFlight.map((run) => ({
          runId: run.runId,
          jobName: run.jobName,
          attempt: run.attempt,
          startedAt: run.startedAt.toISOString(),
        })),
      }));
    },
  };
}
