/** Job statistics and schedule descriptions for the console. */
import type { JobStats, RunStatus } from './api-types.js';

/** The stats window: the most recent finished runs of a job. */
export const statsWindowSize = 100;

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sortedValues: readonly number[], percent: number): number {
  if (sortedValues.length === 0) throw new RangeError('percentile of no values');
  const rank = Math.max(1, Math.ceil((percent / 100) * sortedValues.length));
  return sortedValues[Math.min(rank, sortedValues.length) - 1] as number;
}

export function computeJobStats(
  finishedRuns: readonly { readonly status: RunStatus; readonly durationMs: number | null }[],
): JobStats {
  const durations = finishedRuns
    .map((run) => run.durationMs)
    .filter((duration): duration is number => duration !== null)
    .sort((left, right) => left - right);
  const succeeded = finishedRuns.filter((run) => run.status === 'succeeded').length;
  const failed = finishedRuns.filter((run) => run.status === 'failed').length;
  return {
    window: `last ${statsWindowSize} finished runs`,
    windowSize: statsWindowSize,
    runs: finishedRuns.length,
    succeeded,
    failed,
    successRate: finishedRuns.length === 0 ? null : succeeded / finishedRuns.length,
    durationMs: durations.length === 0 ? null : { p50: percentile(durations, 50), p95: percentile(durations, 95) },
  };
}


