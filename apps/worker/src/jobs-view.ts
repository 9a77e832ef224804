/** The operator's view of the jobs: `worker jobs list`, `/jobs`, the demo table. */
import type { JobOverview } from '@app/scheduler-agenda';
import type { JobRun, JobRunLedger } from '@app/shared-jobs';
import type { JobPlan } from './jobs.js';

export interface JobRow {
  readonly job: string;
  readonly enabled: boolean;
  readonly intervalMs: number | null;
  readonly paused: boolean;
  readonly lastRunAt: string | null;
  readonly lastOutcome: string | null;
  readonly lastAttempt: number | null;
  readonly lastDurationMs: number | null;
  readonly lastError: string | null;
  readonly lastExecutedAt: string | null;
  readonly nextRunAt: string | null;
  readonly nextOccurrenceAt: string | null;
}

export async function buildJobRows(options: {
  readonly plans: readonly JobPlan[];
  readonly overviews: readonly JobOverview[];
  readonly ledger: JobRunLedger;
}): Promise<JobRow[]> {
  const needsLedger = options.plans.some((plan) => !plan.enabled);
  const latestRuns: JobRun[] = needsLedger ? await options.ledger.listLatestRunPerJob() : [];
  return options.plans
    .map((plan): JobRow => {
      const overview = options.overviews.find((entry) => entry.name === plan.jobName);
      if (overview !== undefined) {
        return {
          job: plan.jobName,
          enabled: plan.enabled,
          intervalMs: overview.intervalMs,
          paused: overview.paused,
          lastRunAt: overview.lastRun?.startedAt.toISOString() ?? null,
          lastOutcome: overview.lastRun?.status ?? null,
          lastAttempt: overview.lastRun?.attempt ?? null,
          lastDurationMs: overview.lastRun?.durationMs ?? null,
          lastError: overview.lastRun?.error ?? null,
          lastExecutedAt: overview.lastExecutedAt?.toISOString() ?? null,
          nextRunAt: overview.next?.runAt.toISOString() ?? null,
          nextOccurrenceAt: overview.next?.occurrenceAt.toISOString() ?? null,
        };
      }
      const run = latestRuns.find((entry) => entry.jobName === plan.jobName);
      return {
        job: plan.jobName,
        enabled: plan.enabled,
        intervalMs: plan.job?.intervalMs ?? null,
        paused: false,
        lastRunAt: run?.startedAt.toISOString() ?? null,
        lastOutcome: run?.status ?? null,
        lastAttempt: run?.attempt ?? null,
        lastDurationMs: run?.durationMs ?? null,
        lastError: run?.error?.message ?? null,
        lastExecutedAt: null,
        nextRunAt: null,
        nextOccurrenceAt: null,
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

/** A plain-text table: job, enabled, interval, last run, outcome, duration, next run, paused. */
export function formatJobsTable(rows: readonly JobRow[], now: Date = new Date()): string {
  const header = ['JOB', 'ENABLED', 'INTERVAL', 'LAST RUN', 'OUTCOME', 'DURATION', 'NEXT RUN', 'PAUSED'];
  const body = rows.map((row) => [
    row.job,
    row.enabled ? 'yes' : 'no',
    formatDuration(row.intervalMs),
    formatInstant(row.lastRunAt, now),
    row.lastOutcome === null
      ? '-'
      : row.lastAttempt !== null && row.lastAttempt > 1
        ? `${row.lastOutcome} (attempt ${row.lastAttempt})`
        : row.lastOutcome,
    formatDuration(row.lastDurationMs),
    formatInstant(row.nextRunAt, now),
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
  const header = ['STARTED', 'OCCURRENCE', 'ATTEMPT', 'STATUS', 'DURATION', 'INSTANCE', 'RESULT / ERROR'];
  const body = runs.map((run) => [
    run.startedAt.toISOString(),
    run.occurrenceAt.toISOString(),
    String(run.attempt),
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
