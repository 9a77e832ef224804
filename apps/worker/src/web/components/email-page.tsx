/** The email queue: counts by status, the oldest pending email, dead and failed entries. */
import { useState } from 'preact/hooks';
import { emailStatusList, type ActionResult, type EmailPage as EmailPageData, type EmailQueueSummary } from '../../console/api-types.js';
import { apiGet, apiPost, queryString } from '../api.js';
import { formatDuration, formatInstant } from '../format.js';
import { ErrorMessage, Loading, Pager, StatusBadge, useConsole, useCursorStack, usePoll } from './common.js';

export function EmailQueuePage() {
  const { session, ask } = useConsole();
  const summary = usePoll(() => apiGet<EmailQueueSummary>('/api/email-queue'), 'email-summary');
  const [status, setStatus] = useState('dead,failed');
  const cursors = useCursorStack();
  const search = queryString({ status, limit: 50, cursor: cursors.cursor });
  const entries = usePoll(() => apiGet<EmailPageData>(`/api/email-queue/entries${search}`), `emails:${search}`);
  const refreshAll = (): void => {
    summary.refresh();
    entries.refresh();
  };
  return (
    <section aria-labelledby="emails-title">
      <h1 id="emails-title">Email queue</h1>
      <ErrorMessage error={summary.error} />
      {summary.data === null ? (
        <Loading />
      ) : (
        <>
          <dl class="cards" aria-label="Emails by status">
            {emailStatusList.map((each) => (
              <div class="card" key={each}>
                <dt>{each}</dt>
                <dd data-testid={`email-count-${each}`}>{summary.data?.counts[each] ?? 0}</dd>
              </div>
            ))}
          </dl>
          <p>
            Oldest pending:{' '}
            {summary.data.oldestPending === null
              ? 'none'
              : `queued ${formatInstant(summary.data.oldestPending.createdAt)} (${formatDuration(summary.data.oldestPending.ageMs)} ago), due ${formatInstant(summary.data.oldestPending.nextAttemptAt)}`}
          </p>
        </>
      )}
      <h2>Dead and failed emails</h2>
      <label>
        Show{' '}
        <select
          value={status}
          onChange={(event) => {
            setStatus(event.currentTarget.value);
            cursors.reset();
          }}
        >
          <option value="dead,failed">dead and failed</option>
          <option value="dead">dead</option>
          <option value="failed">failed (held by an operator)</option>
        </select>
      </label>
      <ErrorMessage error={entries.error} />
      {entries.data === null ? (
        entries.error === null ? <Loading /> : null
      ) : (
        <>
          <table class="data" data-testid="email-entries">
            <caption>Newest first, 50 per page; dead entries can be requeued</caption>
            <thead>
              <tr>
                <th scope="col">Queued</th>
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last error</th>
                {session.canAct ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {entries.data.entries.length === 0 ? (
                <tr>
                  <td colSpan={7}>No entry.</td>
                </tr>
              ) : (
                entries.data.entries.map((entry) => (
                  <tr key={entry.id} data-email={entry.id}>
                    <td>{formatInstant(entry.createdAt)}</td>
                    <td>{entry.to.join(', ')}</td>
                    <td>{entry.subject}</td>
                    <td>
                      <StatusBadge status={entry.status} />
                    </td>
                    <td>{entry.attempts}</td>
                    <td class="error-text">{entry.lastError ?? '-'}</td>
                    {session.canAct ? (
                      <td>
                        {entry.status === 'dead' ? (
                          <button
                            type="button"
                            aria-label={`Requeue the email "${entry.subject}" to ${entry.to.join(', ')}`}
                            onClick={() =>
                              ask({
                                title: `Requeue "${entry.subject}"?`,
                                description: `It is sent again to ${entry.to.join(', ')} on the next run of the email job (one more attempt).`,
                                confirmLabel: 'Requeue',
                                perform: (reason) => apiPost<ActionResult>(`/api/email-queue/entries/${entry.id}/requeue`, { reason }),
                                done: refreshAll,
                              })
                            }
                          >
                            Requeue
                          </button>
                        ) : (
                          '-'
                        )}
                      </td>
                    ) : null}
                  </tr>
                ))
              )}
            </tbody>
          </table>
          <Pager
            label="Email pages"
            pageIndex={cursors.pageIndex}
            hasOlder={entries.data.nextCursor !== null}
            onNewer={cursors.newer}
            onOlder={() => cursors.older(entries.data?.nextCursor ?? null)}
          />
        </>
      )}
    </section>
  );
}
