/** One job: summary, actions, and its history with filters, paging and a chart. */
import { useState } from 'preact/hooks';
import { runStatuses, type ActionResult, type ConsoleJob, type ConsoleRun, type RunPage, type RunStatus } from '../../console/api-types.js';
import { apiGet, apiPost, queryString } from '../api.js';
import { formatDuration, formatInstant, formatRate, formatRelative, localInputToIso } from '../format.js';
import { hrefOf } from '../router.js';
import { ErrorMessage, Loading, Pager, StatusBadge, useConsole, useCursorStack, usePoll } from './common.js';
import { DurationChart } from './duration-chart.js';
import { JobActions } from './job-actions.js';
import { jobState } from './overview.js';

interface Filters {
  readonly statuses: readonly RunStatus[];
  readonly from: string;
  readonly to: string;
}

const noFilters: Filters = { statuses: [], from: '', to: '' };

export function RerunButton({ run }: { readonly run: ConsoleRun }) {
  const { session, ask } = useConsole();
  if (!session.canAct) return null;
  return (
    <button
      type="button"
      aria-label={`Rerun the occurrence of ${formatInstant(run.occurrenceAt)}`}
      onClick={() =>
        ask({
          title: `Rerun ${run.jobName} for ${run.occurrenceAt}?`,
          description: 'One new attempt of this occurrence runs now on one replica; the pending occurrence follows it.',
          confirmLabel: 'Rerun',
          perform: (reason) =>
            apiPost<ActionResult>(
              `/api/jobs/${encodeURIComponent(run.jobName)}/occurrences/${encodeURIComponent(run.occurrenceAt)}/rerun`,
              { reason },
            ),
        })
      }
    >
      Rerun
    </button>
  );
}

function RunResult({ run }: { readonly run: ConsoleRun }) {
  if (run.error !== null) return <span class="error-text">{`${run.error.name}: ${run.error.message}`}</span>;
  if (run.result === null) return <span class="muted">-</span>;
  return <span>{Object.entries(run.result).map(([key, value]) => `${key}=${String(value)}`).join(' ')}</span>;
}

function FilterForm({ applied, onApply }: { readonly applied: Filters; readonly onApply: (filters: Filters) => void }) {
  const [statuses, setStatuses] = useState<readonly RunStatus[]>(applied.statuses);
  const [from, setFrom] = useState(applied.from);
  const [to, setTo] = useState(applied.to);
  const toggle = (status: RunStatus): void =>
    setStatuses((current) => (current.includes(status) ? current.filter((each) => each !== status) : [...current, status]));
  return (
    <form
      class="filters"
      aria-label="Filter the history"
      onSubmit={(event) => {
        event.preventDefault();
        onApply({ statuses, from, to });
      }}
    >
      <fieldset>
        <legend>Status</legend>
        {runStatuses.map((status) => (
          <label key={status} class="check">
            <input type="checkbox" name="status" value={status} checked={statuses.includes(status)} onChange={() => toggle(status)} /> {status}
          </label>
        ))}
      </fieldset>
      <label>
        Started from <input type="datetime-local" name="from" step={1} value={from} onInput={(event) => setFrom(event.currentTarget.value)} />
      </label>
      <label>
        Started before <input type="datetime-local" name="to" step={1} value={to} onInput={(event) => setTo(event.currentTarget.value)} />
      </label>
      <button type="submit">Apply filters</button>
      <button
        type="button"
        onClick={() => {
          setStatuses([]);
          setFrom('');
          setTo('');
          onApply(noFilters);
        }}
      >
        Clear
      </button>
    </form>
  );
}

export function JobPage({ name }: { readonly name: string }) {
  const job = usePoll(() => apiGet<ConsoleJob>(`/api/jobs/${encodeURIComponent(name)}`), `job:${name}`);
  const [filters, setFilters] = useState<Filters>(noFilters);
  const cursors = useCursorStack();
  const search = queryString({
    status: filters.statuses.join(','),
    from: localInputToIso(filters.from),
    to: localInputToIso(filters.to),
    limit: 50,
    cursor: cursors.cursor,
  });
  const history = usePoll(
    () => apiGet<RunPage>(`/api/jobs/${encodeURIComponent(name)}/runs${search}`),
    `runs:${name}:${search}`,
  );
  const now = Date.now();
  const data = job.data;
  const refreshAll = (): void => {
    job.refresh();
    history.refresh();
  };
  return (
    <section aria-labelledby="job-title">
      <p>
        <a href={hrefOf.overview()}>All jobs</a>
      </p>
      <h1 id="job-title">
        {name} {data === null ? null : <StatusBadge status={jobState(data)} />}
      </h1>
      <ErrorMessage error={job.error} />
      {data === null ? (
        <Loading />
      ) : (
        <>
          <dl class="facts">
            <dt>Schedule</dt>
            <dd>{data.schedule.description}</dd>
            {data.schedule.configured === null ? null : (
              <>
                <dt>Configured here</dt>
                <dd data-testid="configured-timing">
                  {data.schedule.configured} (not adopted: a replica started later follows the schedule above)
                </dd>
              </>
            )}
            <dt>Next run</dt>
            <dd>{data.paused ? 'paused' : `${formatInstant(data.nextRunAt)} (${formatRelative(data.nextRunAt, now)})`}</dd>
            <dt>Last run</dt>
            <dd>
              {data.lastRun === null ? '-' : (
                <>
                  <StatusBadge status={data.lastRun.status} /> {formatInstant(data.lastRun.startedAt)} ({formatRelative(data.lastRun.startedAt, now)})
                </>
              )}
            </dd>
            <dt>Running now</dt>
            <dd data-testid="running-now">
              {data.running.length === 0
                ? 'no'
                : data.running.map((run) => (
                    <span key={run.runId}>
                      <a href={hrefOf.run(run.runId)}>started {formatRelative(run.startedAt, now)}</a> on {run.instance.hostName}/{run.instance.processId}
                      {run.progress === null ? null : (
                        <>
                          {' '}
                          <progress max={100} value={run.progress} aria-label="Progress">{run.progress} %</progress> {run.progress} %
                        </>
                      )}
                    </span>
                  ))}
            </dd>
            <dt>Success rate</dt>
            <dd>
              {formatRate(data.stats.successRate)} over the {data.stats.window} ({data.stats.runs} found: {data.stats.succeeded} succeeded, {data.stats.failed} failed)
            </dd>
            <dt>Duration p50 / p95</dt>
            <dd>{data.stats.durationMs === null ? '-' : `${formatDuration(data.stats.durationMs.p50)} / ${formatDuration(data.stats.durationMs.p95)}`}</dd>
          </dl>
          <JobActions job={data} onDone={refreshAll} />
        </>
      )}
      <h2>History</h2>
      <FilterForm
        applied={filters}
        onApply={(next) => {
          setFilters(next);
          cursors.reset();
        }}
      />
      <ErrorMessage error={history.error} />
      {history.data === null ? (
        history.error === null ? <Loading /> : null
      ) : (
        <>
          <DurationChart runs={history.data.runs} />
          <table class="data" data-testid="history">
            <caption>Runs, newest first (every attempt), 50 per page</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Duration</th>
                <th scope="col">Attempt</th>
                <th scope="col">Occurrence</th>
                <th scope="col">Instance</th>
                <th scope="col">Result or error</th>
              </tr>
            </thead>
            <tbody>
              {history.data.runs.length === 0 ? (
                <tr>
                  <td colSpan={7}>No run matches.</td>
                </tr>
              ) : (
                history.data.runs.map((run) => (
                  <tr key={run.runId} data-status={run.status}>
                    <td>
                      <a href={hrefOf.run(run.runId)}>{formatInstant(run.startedAt)}</a>
                    </td>
                    <td>
                      <StatusBadge status={run.status} />
                    </td>
                    <td>{formatDuration(run.durationMs)}</td>
                    <td>{run.attempt}</td>
                    <td>{formatInstant(run.occurrenceAt)}</td>
                    <td>{`${run.instance.hostName}/${run.instance.processId}`}</td>
                    <td>
                      <RunResult run={run} />
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
          <Pager
            label="History pages"
            pageIndex={cursors.pageIndex}
            hasOlder={history.data.nextCursor !== null}
            onNewer={cursors.newer}
            onOlder={() => cursors.older(history.data?.nextCursor ?? null)}
          />
        </>
      )}
    </section>
  );
}
