/** Shared pieces of the dashboard: polling, status badges, the confirm dialog, notices, pagers. */
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { ActionResult, SessionView } from '../../console/api-types.js';
import { ApiFailure } from '../api.js';

/** How often the visible page reloads its data. */
export const pollIntervalMs = 3000;

export interface Polled<TData> {
  readonly data: TData | null;
  readonly error: Error | null;
  readonly refresh: () => void;
}

/**
 * Loads now, then every {@link pollIntervalMs} while the tab is visible; a new `key` starts
 * over (answers for an old key are dropped). One request at a time.
 */
export function usePoll<TData>(load: () => Promise<TData>, key: string): Polled<TData> {
  const [data, setData] = useState<TData | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const generation = useRef(0);
  const inFlight = useRef(false);
  const loadRef = useRef(load);
  loadRef.current = load;
  const run = useCallback(() => {
    if (inFlight.current) return;
    inFlight.current = true;
    const started = generation.current;
    loadRef
      .current()
      .then((value) => {
        if (started !== generation.current) return;
        setData(value);
        setError(null);
      })
      .catch((failure: unknown) => {
        if (started !== generation.current) return;
        setError(failure instanceof Error ? failure : new Error(String(failure)));
      })
      .finally(() => {
        inFlight.current = false;
      });
  }, []);
  useEffect(() => {
    generation.current += 1;
    inFlight.current = false;
    setData(null);
    setError(null);
    run();
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, pollIntervalMs);
    return () => window.clearInterval(timer);
  }, [key, run]);
  return { data, error, refresh: run };
}

export function StatusBadge({ status }: { readonly status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

export function ErrorMessage({ error }: { readonly error: Error | null }) {
  if (error === null || !(error instanceof ApiFailure)) return null;
  return (
    <p class="form-error" role="alert">
      {error.message}
    </p>
  );
}

/** A request for confirmation, then the action. */
export interface ActionRequest {
  readonly title: string;
  readonly description: string;
  readonly confirmLabel: string;
  readonly perform: (reason: string | null) => Promise<ActionResult>;
  /** Called after the action succeeded (e.g. reload the page's data). */
  readonly done?: () => void;
}

export interface ConsoleContextValue {
  readonly session: SessionView;
  readonly ask: (request: ActionRequest) => void;
}

export const ConsoleContext = createContext<ConsoleContextValue | null>(null);

export function useConsole(): ConsoleContextValue {
  const value = useContext(ConsoleContext);
  if (value === null) throw new Error('ConsoleContext missing');
  return value;
}

export interface Notice {
  readonly kind: 'success' | 'error';
  readonly text: string;
}

/**
 * The one confirm dialog (`<dialog>`, modal: focus stays inside, Escape cancels). The result
 * goes to the notice region of the page.
 */
export function ConfirmDialog({
  request,
  onFinished,
}: {
  readonly request: ActionRequest | null;
  readonly onFinished: (notice: Notice | null) => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    if (request !== null && !element.open) {
      setReason('');
      element.showModal();
    }
    if (request === null && element.open) element.close();
  }, [request]);
  const cancel = (): void => {
    if (!busy) onFinished(null);
  };
  const confirm = async (event: Event): Promise<void> => {
    event.preventDefault();
    if (request === null || busy) return;
    setBusy(true);
    try {
      const result = await request.perform(reason.trim() === '' ? null : reason.trim());
      onFinished({ kind: 'success', text: `${request.confirmLabel}: ${result.target}: ${result.message}` });
      request.done?.();
    } catch (failure) {
      const text = failure instanceof Error ? failure.message : String(failure);
      onFinished({ kind: 'error', text: `${request.confirmLabel} failed: ${text}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <dialog ref={dialog} aria-labelledby="confirm-title" aria-describedby="confirm-description" onCancel={(event) => { event.preventDefault(); cancel(); }}>
      <form onSubmit={(event) => void confirm(event)}>
        <h2 id="confirm-title">{request?.title ?? ''}</h2>
        <p id="confirm-description">{request?.description ?? ''}</p>
        <label for="action-reason">Reason (optional, kept in the audit trail)</label>
        <input id="action-reason" type="text" maxLength={500} value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
        <div class="dialog-buttons">
          <button type="button" onClick={cancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Working...' : (request?.confirmLabel ?? 'Confirm')}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** Newer/older buttons over a stack of keyset cursors. */
export function Pager({
  label,
  pageIndex,
  hasOlder,
  onNewer,
  onOlder,
}: {
  readonly label: string;
  readonly pageIndex: number;
  readonly hasOlder: boolean;
  readonly onNewer: () => void;
  readonly onOlder: () => void;
}) {
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" onClick={onNewer} disabled={pageIndex === 0}>
        Newer
      </button>
      <span aria-live="polite">Page {pageIndex + 1}</span>
      <button type="button" onClick={onOlder} disabled={!hasOlder}>
        Older
      </button>
    </nav>
  );
}

/** A stack of cursors: page 0 has none, each older page the previous page's `nextCursor`. */
export function useCursorStack(): {
  readonly cursor: string | null;
  readonly pageIndex: number;
  readonly older: (nextCursor: string | null) => void;
  readonly newer: () => void;
  readonly reset: () => void;
} {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  return {
    cursor: stack.at(-1) ?? null,
    pageIndex: stack.length - 1,
    older: (nextCursor) => {
      if (nextCursor !== null) setStack((current) => [...current, nextCursor]);
    },
    newer: () => setStack((current) => (current.length > 1 ? current.slice(0, -1) : current)),
    reset: () => setStack([null]),
  };
}

export function Loading({ children }: { readonly children?: ComponentChildren }) {
  return <p class="muted">{children ?? 'Loading...'}</p>;
}
