/** One run: everything the ledger knows, the error with its stack, the result. */
import type { ConsoleRun } from '../../console/api-types.js';
import { apiGet } from '../api.js';
import { formatDuration, formatInstant } from '../format.js';
import { hrefOf } from '../router.js';
import { ErrorMessage, Loading, StatusBadge, usePoll } from './common.js';
import { RerunButton } from './job-page.js';

export function RunPage({ runId }: { readonly runId: string }) {
  const run = usePoll(() => apiGet<ConsoleRun>(`/api/runs/${encodeURIComponent(runId)}`), `run:${runId}`);
  const data = run.data;
  return (
    <section aria-labelledby="run-title">
      {data === null ? null : (
        <p>
          <a href={hrefOf.job(data.jobName)}>{data.jobName}</a>
        </p>
      )}
      <h1 id="run-title">
        Run {runId} {data === null ? null : <StatusBadge status={data.status} />}
      </h1>
      <ErrorMessage error={run.error} />
      {data === null ? (
        run.error === null ? <Loading /> : null
      ) : (
        <>
          <dl class="facts">
            <dt>Job</dt>
            <dd>{data.jobName}</dd>
            <dt>Occurrence</dt>
            <dd>
              {formatInstant(data.occurrenceAt)} <span class="muted" data-testid="occurrence">{data.occurrenceAt}</span>
            </dd>
            <dt>Attempt</dt>
            <dd data-testid="attempt">{data.attempt}</dd>
            <dt>Cause</dt>
            <dd>{data.cause ?? '-'}{data.requestedBy === null ? '' : `, requested by ${data.requestedBy}`}</dd>
            <dt>Started</dt>
            <dd>{formatInstant(data.startedAt)}</dd>
            <dt>Finished</dt>
            <dd>{formatInstant(data.finishedAt)}</dd>
            <dt>Duration</dt>
            <dd>{formatDuration(data.durationMs)}</dd>
            <dt>Instance</dt>
            <dd data-testid="instance">{`${data.instance.hostName}/${data.instance.processId}`}</dd>
            <dt>Trace id</dt>
            <dd>{data.traceId ?? <span class="muted">not recorded by this runtime</span>}</dd>
          </dl>
          {data.error === null ? null : (
            <section aria-labelledby="run-error-title" class="run-error">
              <h2 id="run-error-title">Error</h2>
              <p class="error-text" data-testid="error-message">{`${data.error.name}: ${data.error.message}`}</p>
              {data.error.stack === null ? null : (
                <pre data-testid="error-stack" tabIndex={0} aria-label="Stack trace">{data.error.stack}</pre>
              )}
            </section>
          )}
          {data.result === null ? null : (
            <section aria-labelledby="run-result-title">
              <h2 id="run-result-title">Result</h2>
              <table class="data">
                <tbody>
                  {Object.entries(data.result).map(([key, value]) => (
                    <tr key={key}>
                      <th scope="row">{key}</th>
                      <td>{String(value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          )}
          {data.status === 'failed' ? <RerunButton run={data} /> : null}
        </>
      )}
    </section>
  );
}
