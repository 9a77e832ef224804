/** Durations and outcomes of the runs shown, oldest on the left, as inline SVG. */
import type { ConsoleRun } from '../../console/api-types.js';
import { formatDuration, formatInstant } from '../format.js';

const width = 640;
const height = 140;
const padding = 24;

export function DurationChart({ runs }: { readonly runs: readonly ConsoleRun[] }) {
  if (runs.length === 0) return null;
  const ordered = [...runs].reverse();
  const longest = Math.max(1, ...ordered.map((run) => run.durationMs ?? 0));
  const slot = (width - padding) / ordered.length;
  const barWidth = Math.max(2, Math.min(24, slot * 0.7));
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  const summary = [...counts.entries()].map(([status, count]) => `${count} ${status}`).join(', ');
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Durations of the ${runs.length} runs shown, oldest first: ${summary}; longest ${formatDuration(longest)}`}
      >
        <line x1={padding} y1={height - padding} x2={width} y2={height - padding} class="axis" />
        <text x={2} y={12} class="axis-label">{formatDuration(longest)}</text>
        <text x={2} y={height - padding} class="axis-label">0</text>
        {ordered.map((run, index) => {
          const barHeight = run.durationMs === null ? 4 : Math.max(2, ((height - 2 * padding) * run.durationMs) / longest);
          return (
            <rect
              key={run.runId}
              class={`bar bar-${run.status}`}
              x={padding + index * slot + (slot - barWidth) / 2}
              y={height - padding - barHeight}
              width={barWidth}
              height={barHeight}
            >
              <title>{`${formatInstant(run.startedAt)}: ${run.status}, ${formatDuration(run.durationMs)}`}</title>
            </rect>
          );
        })}
      </svg>
      <figcaption>
        Duration per run (bar height), coloured by outcome:{' '}
        {['succeeded', 'failed', 'running', 'interrupted', 'abandoned'].map((status) => (
          <span key={status} class="legend">
            <span class={`swatch bar-${status}`} aria-hidden="true" /> {status}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
