/** The operator's view of the jobs: `worker jobs list`, `/jobs`, the demo table. */
import type { JobOverview } from '@app/scheduler-agenda';
import { describeMisfirePolicy, describeSchedule, isSameTiming, type JobRun, type JobRunLedger, type JobTiming } from '@app/shared-jobs';
import type { JobPlan } from './jobs.js';

export interface JobRow {
  readonly job: string;
  readonly enabled: boolean;
  /** The schedule in words, e.g. `every 10 seconds` or `every day at 03:00 (Europe/Berlin)`. */
  readonly schedule: string | null;
  /** The interval of an interval schedule (null for cron schedules and disabled jobs). */
  readonly intervalMs: number | null;
  /** The misfire policy in words. */
  readonly misfire: string | null;
  /**
   * This configuration's timing in words when the job follows another one (a replica
   * started later adopted its own: docs/decisions.md, "Schedule changes between
   * deployments"); null when the job follows this configuration.
   */
  readonly configuredSchedule: string | null;
  readonly paused: boolean;
  readonly lastRunAt: string | null;
  readonly lastOutcome: string | null;
  readonly lastAttempt: number | null;
  readonly lastDurationMs: number | null;
  readonly lastError: string | null;
  readonly lastExecutedAt: string | null;
  readonly nextRunAt: string | null;
  readonly nextOccurrenceAt: string | null;
  /** Why the pending occurrence runs (schedule, retry, trigger, rerun, catch-up). */
  readonly nextCause: string | null;
  /** Runs in flight now, on any worker. */
  readonly running: number;
}

/** A timing in words: the schedule, and the misfire policy. */
export function describeTiming(timing: JobTiming): string {
  return `${describeSchedule(timing.schedule)}; ${describeMisfirePolicy(timing.misfire)}`;
}

/** The configured timing in words when the job follows a different one, else null. */
export function describeConfiguredTimingIfNotFollowed(followed: JobTiming, configured: JobTiming): string | null {
  return isSameTiming(followed, configured) ? null : describeTiming(configured);
}

function lastRunFields(run: JobRun | null | undefined) {
  return {
    lastRunAt: run?.startedAt.toISOString() ?? null,
    lastOutcome: run?.status ?? null,
    lastAttempt: run?.attempt ?? null,
    lastDurationMs: run?.durationMs ?? null,
    lastError: run?.error?.message ?? null,
  };
}

export async function buildJobRows(options: {
  readonly plans: readonly JobPlan[];
  readonly overviews: readonly JobOverview[];
  readonly ledger: JobRunLedger;
}): Promise<JobRow[]> {
  const disabledNames = options.plans.filter((plan) => !plan.enabled).map((plan) => plan.jobName);
  const latestRuns: JobRun[] = disabledNames.length > 0 ? await options.ledger.listLatestRunPerJob(disabledNames) : [];
  return options.plans
    .map((plan): JobRow => {
      const overview = options.overviews.find((entry) => entry.name === plan.jobName);
      if (overview !== undefined) {
        const { schedule, misfire } = overview.timing;
        return {
          job: plan.jobName,
          enabled: plan.enabled,
          schedule: describeSchedule(schedule),
          intervalMs: schedule.kind === 'interval' ? schedule.everyMs : null,
          misfire: describeMisfirePolicy(misfire),
          configuredSchedule: describeConfiguredTimingIfNotFollowed(overview.timing, overview.configuredTiming),
          paused: overview.paused,
          ...lastRunFields(overview.lastRun),
          lastExecutedAt: overview.lastExecutedAt?.toISOString() ?? null,
          nextRunAt: overview.next?.runAt.toISOString() ?? null,
          nextOccurrenceAt: overview.next?.occurrenceAt.toISOString() ?? null,
          nextCause: overview.next?.cause ?? null,
          running: overview.running.length,
        };
      }
      return {
        job: plan.jobName,
        enabled: plan.enabled,
        schedule: null,
        intervalMs: null,
        misfire: null,
        configuredSchedule: null,
        paused: false,
        ...lastRunFields(latestRuns.find((entry) => entry.jobName === plan.jobName)),
        lastExecutedAt: null,
        nextRunAt: null,
        nextOccurrenceAt: null,
        nextCause: null,
        running: 0,
      };
    })
    .sort((left, right) => left.job.localeCompare(right.job));
}

/** 90000 -> `1m30s`, 86400000 -> `1d`. */
export function formatDuration(milliseconds: number | null): string {
  if (milliseconds === null) return '-';
  if (milliseconds < 1000) return `${milliseconds}ms`;
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let remaining = Math.round(milliseconds / 1000) * 1000;
  const parts: string[] = [];
  for (const [unit, size] of units) {
    const count = Math.floor(remaining / size);
    if (count > 0) parts.push(`${count}${unit}`);
    remaining -= count * size;
  }
  return parts.slice(0, 2).join('');
}

function formatInstant(iso: string | null, now: Date): string {
  if (iso === null) return '-';
  const deltaMs = new Date(iso).getTime() - now.getTime();
  const relative = deltaMs >= 0 ? `in ${formatDuration(deltaMs)}` : `${formatDuration(-deltaMs)} ago`;
  return `${iso.slice(0, 19).replace('T', ' ')}Z (${relative})`;
}

/** A plain-text table: job, enabled, schedule, last run, outcome, duration, next run, paused. */
export function formatJobsTable(rows: readonly JobRow[], now: Date = new Date()): string {
  const header = ['JOB', 'ENABLED', 'SCHEDULE', 'LAST RUN', 'OUTCOME', 'DURATION', 'NEXT RUN', 'PAUSED'];
  const body = rows.map((row) => [
    row.job,
    row.enabled ? 'yes' : 'no',
    row.configuredSchedule === null
      ? (row.schedule ?? '-')
      : `${row.schedule ?? '-'} (configured here: ${row.configuredSchedule}; not adopted)`,
    formatInstant(row.lastRunAt, now),
    row.lastOutcome === null
      ? '-'
      : row.lastAttempt !== null && row.lastAttempt > 1
        ? `${row.lastOutcome} (attempt ${row.lastAttempt})`
        : row.lastOutcome,
    formatDuration(row.lastDurationMs),
    row.nextRunAt === null
      ? '-'
      : row.nextCause !== null && row.nextCause !== 'schedule'
        ? `${formatInstant(row.nextRunAt, now)} ${row.nextCause}`
        : formatInstant(row.nextRunAt, now),
    row.paused ? 'yes' : 'no',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => (cells[column] ?? '').length)),
  );
  return [header, ...body]
    .map((cells) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd())
    .join('\n');
}

/** `jobs history` lines. */
export function formatHistoryTable(runs: readonly JobRun[]): string {
  const header = ['STARTED', 'OCCURRENCE', 'ATTEMPT', 'CAUSE', 'STATUS', 'DURATION', 'INSTANCE', 'RESULT / ERROR'];
  const body = runs.map((run) => [
    run.startedAt.toISOString(),
    run.occurrenceAt.toISOString(),
    String(run.attempt),
    run.requestedBy === null ? run.cause : `${run.cause} by ${run.requestedBy}`,
    run.status,
    formatDuration(run.durationMs),
    `${run.instance.hostName}/${run.instance.processId}`,
    run.error !== null
      ? `${run.error.name}: ${run.error.message}`
      : run.result === null
        ? '-'
        : Object.entries(run.result)
            .map(([key, value]) => `${key}=${String(value)}`)
            .join(' '),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => (cells[column] ?? '').length)),
  );
  return [header, ...body]
    .map((cells) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ').trimEnd())
    .join('\n');
}
