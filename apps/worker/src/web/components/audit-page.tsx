/** The operator audit trail: who did what, when, and how it went. */
import type { AuditPage as AuditPageData } from '../../console/api-types.js';
import { apiGet, queryString } from '../api.js';
import { formatInstant } from '../format.js';
import { ErrorMessage, Loading, Pager, StatusBadge, useCursorStack, usePoll } from './common.js';

export function AuditPage() {
  const cursors = useCursorStack();
  const search = queryString({ limit: 50, cursor: cursors.cursor });
  const audit = usePoll(() => apiGet<AuditPageData>(`/api/audit${search}`), `audit:${search}`);
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit trail</h1>
      <ErrorMessage error={audit.error} />
      {audit.data === null ? (
        audit.error === null ? <Loading /> : null
      ) : (
        <>
          <table class="data" data-testid="audit">
            <caption>Operator actions, newest first, 50 per page (kept 90 days by default)</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {audit.data.entries.length === 0 ? (
                <tr>
                  <td colSpan={6}>No action yet.</td>
                </tr>
              ) : (
                audit.data.entries.map((entry) => (
                  <tr key={entry.id}>
                    <td>{formatInstant(entry.at)}</td>
                    <td>
                      {entry.actor.name} <span class="muted">({entry.actor.role}, {entry.actor.via})</span>
                    </td>
                    <td>{entry.action}</td>
                    <td>{entry.target}</td>
                    <td>
                      <StatusBadge status={entry.outcome} />
                    </td>
                    <td>
                      {entry.message}
                      {entry.reason === null ? null : <span class="muted"> (reason: {entry.reason})</span>}
                    </td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
          <Pager
            label="Audit pages"
            pageIndex={cursors.pageIndex}
            hasOlder={audit.data.nextCursor !== null}
            onNewer={cursors.newer}
            onOlder={() => cursors.older(audit.data?.nextCursor ?? null)}
          />
        </>
      )}
    </section>
  );
}
