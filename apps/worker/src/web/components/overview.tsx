/** The jobs at a glance: counts and one row per job. */
import type { ConsoleJob } from '../../console/api-types.js';
import { apiGet } from '../api.js';
import { formatDuration, formatInstant, formatRate, formatRelative } from '../format.js';
import { hrefOf } from '../router.js';
import { ErrorMessage, Loading, StatusBadge, useConsole, usePoll } from './common.js';
import { JobActions } from './job-actions.js';

/** The one word that best says how a job is: disabled, paused, running, failing, ok, new. */
export function jobState(job: ConsoleJob): string {
  if (!job.enabled) return 'disabled';
  if (job.paused) return 'paused';
  if (job.running.length > 0) return 'running';
  if (job.lastRun === null) return 'new';
  return job.lastRun.status === 'failed' ? 'failing' : 'ok';
}

export function Overview() {
  const jobs = usePoll(() => apiGet<{ jobs: ConsoleJob[] }>('/api/jobs'), 'overview');
  const { session } = useConsole();
  const list = jobs.data?.jobs ?? null;
  const now = Date.now();
  const count = (state: string): number => (list ?? []).filter((job) => jobState(job) === state).length;
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Jobs</h1>
      <ErrorMessage error={jobs.error} />
      {list === null ? (
        <Loading />
      ) : (
        <>
          <dl class="cards" aria-label="Summary">
            <div class="card"><dt>Jobs</dt><dd data-testid="count-jobs">{list.length}</dd></div>
            <div class="card"><dt>Running now</dt><dd data-testid="count-running">{count('running')}</dd></div>
            <div class="card"><dt>Failing</dt><dd data-testid="count-failing">{count('failing')}</dd></div>
            <div class="card"><dt>Paused</dt><dd data-testid="count-paused">{count('paused')}</dd></div>
            <div class="card"><dt>Disabled</dt><dd data-testid="count-disabled">{count('disabled')}</dd></div>
          </dl>
          <table class="data">
            <caption>Every job; success rate and durations over each job's {list[0]?.stats.window ?? 'recent runs'}</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Schedule</th>
                <th scope="col">Last run</th>
                <th scope="col">Next run</th>
                <th scope="col">Success rate</th>
                <th scope="col">p50 / p95</th>
                {session.canAct ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {list.map((job) => (
                <tr key={job.name} data-job={job.name}>
                  <th scope="row">
                    <a href={hrefOf.job(job.name)}>{job.name}</a>
                  </th>
                  <td>
                    <StatusBadge status={jobState(job)} />
                  </td>
                  <td>{job.schedule.description}</td>
                  <td>
                    {job.lastRun === null ? (
                      '-'
                    ) : (
                      <>
                        <StatusBadge status={job.lastRun.status} />{' '}
                        <time dateTime={job.lastRun.startedAt} title={formatInstant(job.lastRun.startedAt)}>
                          {formatRelative(job.lastRun.startedAt, now)}
                        </time>
                      </>
                    )}
                  </td>
                  <td>
                    {job.paused ? 'paused' : (
                      <time dateTime={job.nextRunAt ?? ''} title={formatInstant(job.nextRunAt)}>
                        {formatRelative(job.nextRunAt, now)}
                      </time>
                    )}
                  </td>
                  <td>
                    {formatRate(job.stats.successRate)} <span class="muted">({job.stats.runs} runs)</span>
                  </td>
                  <td>
                    {job.stats.durationMs === null
                      ? '-'
                      : `${formatDuration(job.stats.durationMs.p50)} / ${formatDuration(job.stats.durationMs.p95)}`}
                  </td>
                  {session.canAct ? (
                    <td>
                      <JobActions job={job} compact onDone={jobs.refresh} />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
