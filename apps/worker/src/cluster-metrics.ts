/**
 * The alert gauges that describe the cluster, not this process: per job the last success,
 * the next run, whether it is paused and whether it is overdue; the email queue depth by
 * status. They are read from the database in the background every
 * METRICS_REFRESH_INTERVAL_MS with bounded, indexed queries (one Agenda read for all jobs,
 * two one-document ledger reads per job, one capped count per email status), so a scrape
 * reads no database and its cost does not grow with the queue or the history.
 *
 * Every replica reports the same values (they come from the shared database): aggregate
 * with `max by (job_name)` / `max by (email_status)`, never `sum` (README, runbook).
 */
import { defaultQueueDepthCountLimit, emailStatuses, getEmailQueueModel } from '@app/notifications';
import { RepeatedErrorLog, type AgendaMessageScheduler } from '@app/scheduler-agenda';
import type { JobRunLedger } from '@app/shared-jobs';
import { metrics, type BatchObservableResult, type ObservableGauge } from '@opentelemetry/api';
import type { Connection } from 'mongoose';
import type { ClusterMetricsSettings } from './config/telemetry-settings.js';
import { toJobLogger, type WorkerLogger } from './logger.js';

/** What the gauges read (the worker context provides it). */
export interface ClusterMetricsSource {
  /** Every job the worker knows, enabled here or not: the state is the cluster's. */
  readonly knownJobNames: readonly string[];
  readonly connection: Connection;
  readonly ledger: Pick<JobRunLedger, 'listRuns'>;
  readonly runtime: { readonly scheduler: Pick<AgendaMessageScheduler, 'findDocuments'> };
}

/** The gauges' OpenTelemetry names (Prometheus shows dots as underscores). */
export const clusterMetricNames = {
  /** `s`: unix time at which the job's latest successful run ended. */
  lastSuccess: 'job.last_success.timestamp',
  /** `s`: unix time at which the job's pending occurrence is due. */
  nextRun: 'job.next_run.timestamp',
  /** `{job}`: 1 while the pending occurrence is late by more than the threshold, not paused and not running. */
  overdue: 'job.overdue',
  /** `{job}`: 1 while the job is paused. */
  paused: 'job.paused',
  /** `{email}`: emails in the queue by `email.status` (counted up to {@link emailQueueCountCap}). */
  emailQueueDepth: 'email.queue.depth',
} as const;

/**
 * Counts per email status stop here (the limit of `queueDepth` in @app/notifications, which counts
 * only pending and sending; the alerts also need dead): the gauge's cost stays bounded however
 * many sent entries the retention keeps.
 */
export const emailQueueCountCap = defaultQueueDepthCountLimit;

/** One job as the gauges see it. */
export interface JobClusterState {
  readonly jobName: string;
  readonly paused: boolean;
  /** When the pending occurrence is due; null when nothing is pending (disabled everywhere). */
  readonly nextRunAt: Date | null;
  readonly lastSuccessAt: Date | null;
  /** A run of the job is in flight with a live lease (on any replica). */
  readonly running: boolean;
}

/** Late, not paused, not running: nobody is taking the occurrence. */
export function isOverdue(state: JobClusterState, now: Date, thresholdMs: number): boolean {
  if (state.paused || state.running || state.nextRunAt === null) return false;
  return now.getTime() - state.nextRunAt.getTime() > thresholdMs;
}

export interface ClusterSnapshot {
  readonly readAt: Date;
  readonly jobs: readonly JobClusterState[];
  readonly emailQueueDepth: Readonly<Record<string, number>>;
}

/** Reads the cluster state: bounded, indexed queries only. */
export async function readClusterSnapshot(context: ClusterMetricsSource, now: Date): Promise<ClusterSnapshot> {
  const jobNames = context.knownJobNames;
  const [documents, jobs, depth] = await Promise.all([
    context.runtime.scheduler.findDocuments(jobNames),
    Promise.all(
      jobNames.map(async (jobName) => {
        const [succeeded, running] = await Promise.all([
          context.ledger.listRuns({ jobName, statuses: ['succeeded'], limit: 1 }),
          context.ledger.listRuns({ jobName, statuses: ['running'], limit: 1 }),
        ]);
        const lastSuccess = succeeded.runs[0];
        const inFlight = running.runs[0];
        return {
          jobName,
          lastSuccessAt: lastSuccess === undefined ? null : (lastSuccess.finishedAt ?? lastSuccess.startedAt),
          running: inFlight !== undefined && inFlight.leaseExpiresAt.getTime() > now.getTime(),
        };
      }),
    ),
    Promise.all(
      emailStatuses.map(
        async (status) =>
          [status, await getEmailQueueModel(context.connection).countDocuments({ status }).limit(emailQueueCountCap)] as const,
      ),
    ),
  ]);
  return {
    readAt: now,
    jobs: jobs.map((job): JobClusterState => {
      const document = documents.find((entry) => entry.name === job.jobName);
      return {
        ...job,
        paused: document?.disabled === true,
        nextRunAt: document?.nextRunAt ?? null,
      };
    }),
    emailQueueDepth: Object.fromEntries(depth),
  };
}

export interface ClusterMetrics {
  /** Reads the cluster state now (the background loop calls it every refresh interval). */
  refresh(): Promise<void>;
  /** The last snapshot read, or null. */
  readonly snapshot: ClusterSnapshot | null;
  stop(): void;
}

const refreshFailureKind = 'cluster metrics refresh failed';

export function startClusterMetrics(options: {
  readonly context: ClusterMetricsSource;
  readonly settings: ClusterMetricsSettings;
  readonly logger: WorkerLogger;
  readonly now?: () => Date;
}): ClusterMetrics {
  const { context, settings } = options;
  const now = options.now ?? (() => new Date());
  const repeated = new RepeatedErrorLog({ logger: toJobLogger(options.logger) });
  const meter = metrics.getMeter('@app/worker');
  const gauge = (name: string, description: string, unit: string): ObservableGauge =>
    meter.createObservableGauge(name, { description, unit });
  const lastSuccess = gauge(clusterMetricNames.lastSuccess, 'Unix time at which the latest successful run of the job ended', 's');
  const nextRun = gauge(clusterMetricNames.nextRun, 'Unix time at which the pending occurrence of the job is due', 's');
  const overdue = gauge(
    clusterMetricNames.overdue,
    `1 while the pending occurrence is due for more than ${settings.overdueThresholdMs} ms, not paused and not running`,
    '{job}',
  );
  const paused = gauge(clusterMetricNames.paused, '1 while the job is paused', '{job}');
  const queueDepth = gauge(clusterMetricNames.emailQueueDepth, 'Emails in the queue by status (same value on every replica)', '{email}');
  let snapshot: ClusterSnapshot | null = null;

  const observe = (result: BatchObservableResult): void => {
    // A snapshot three refreshes old describes a database this worker cannot read: report nothing.
    if (snapshot === null || now().getTime() - snapshot.readAt.getTime() > 3 * settings.refreshIntervalMs) return;
    const observedAt = now();
    for (const job of snapshot.jobs) {
      const attributes = { 'job.name': job.jobName };
      if (job.lastSuccessAt !== null) result.observe(lastSuccess, job.lastSuccessAt.getTime() / 1000, attributes);
      if (job.nextRunAt !== null) result.observe(nextRun, job.nextRunAt.getTime() / 1000, attributes);
      result.observe(paused, job.paused ? 1 : 0, attributes);
      result.observe(overdue, isOverdue(job, observedAt, settings.overdueThresholdMs) ? 1 : 0, attributes);
    }
    for (const [status, count] of Object.entries(snapshot.emailQueueDepth)) {
      result.observe(queueDepth, count, { 'email.status': status });
    }
  };
  meter.addBatchObservableCallback(observe, [lastSuccess, nextRun, overdue, paused, queueDepth]);

  const refresh = async (): Promise<void> => {
    try {
      snapshot = await readClusterSnapshot(context, now());
      repeated.success(refreshFailureKind);
    } catch (error) {
      repeated.failure(refreshFailureKind, error, {}, 'warn');
    }
  };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const loop = (): void => {
    void refresh().finally(() => {
      if (stopped) return;
      timer = setTimeout(loop, settings.refreshIntervalMs);
      timer.unref();
    });
  };
  loop();
  return {
    refresh,
    get snapshot() {
      return snapshot;
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      meter.removeBatchObservableCallback(observe, [lastSuccess, nextRun, overdue, paused, queueDepth]);
    },
  };
}
