/** Run now, pause and resume buttons of one job (operators only; each asks first). */
import type { ActionResult, ConsoleJob } from '../../console/api-types.js';
import { apiPost } from '../api.js';
import { useConsole } from './common.js';

export function JobActions({ job, compact = false, onDone }: { readonly job: ConsoleJob; readonly compact?: boolean; readonly onDone: () => void }) {
  const { session, ask } = useConsole();
  if (!session.canAct || !job.enabled) return null;
  const path = `/api/jobs/${encodeURIComponent(job.name)}`;
  const label = (verb: string): string => (compact ? `${verb} ${job.name}` : verb);
  return (
    <div class="actions" role="group" aria-label={`Actions for ${job.name}`}>
      <button
        type="button"
        aria-label={label('Run now')}
        onClick={() =>
          ask({
            title: `Run ${job.name} now?`,
            description: job.paused
              ? 'A new occurrence is scheduled now; the job is paused, so it runs after it is resumed.'
              : 'A new occurrence is scheduled now; one worker replica runs it.',
            confirmLabel: 'Run now',
            perform: (reason) => apiPost<ActionResult>(`${path}/trigger`, { reason }),
            done: onDone,
          })
        }
      >
        Run now
      </button>
      {job.paused ? (
        <button
          type="button"
          aria-label={label('Resume')}
          onClick={() =>
            ask({
              title: `Resume ${job.name}?`,
              description: 'Every replica runs it on its schedule again.',
              confirmLabel: 'Resume',
              perform: (reason) => apiPost<ActionResult>(`${path}/resume`, { reason }),
              done: onDone,
            })
          }
        >
          Resume
        </button>
      ) : (
        <button
          type="button"
          aria-label={label('Pause')}
          onClick={() =>
            ask({
              title: `Pause ${job.name}?`,
              description: 'No replica starts it until it is resumed; a run in progress finishes.',
              confirmLabel: 'Pause',
              perform: (reason) => apiPost<ActionResult>(`${path}/pause`, { reason }),
              done: onDone,
            })
          }
        >
          Pause
        </button>
      )}
    </div>
  );
}
