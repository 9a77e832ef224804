/**
 * The one interface the console (HTTP API and dashboard) reads and acts through. The HTTP
 * layer validates input and maps {@link ConsoleBackendError} codes to statuses; wiring a
 * new runtime feature (reruns, instances) is a change of the backend only.
 */
import type {
  ActionResult,
  Actor,
  AuditEntry,
  AuditPage,
  ConsoleJob,
  ConsoleRun,
  EmailPage,
  EmailQuery,
  EmailQueueSummary,
  PageQuery,
  RunPage,
  RunQuery,
  WorkerInstanceView,
} from './api-types.js';

export type * from './api-types.js';

export interface ConsoleBackend {
  /** Every job the worker knows, enabled or not, sorted by name. */
  jobNames(): Promise<readonly string[]>;
  listJobs(): Promise<ConsoleJob[]>;
  getJob(name: string): Promise<ConsoleJob | null>;
  /** Newest first; throws `bad_request` for a cursor it did not issue. */
  listRuns(query: RunQuery): Promise<RunPage>;
  getRun(runId: string): Promise<ConsoleRun | null>;
  trigger(job: string, actor: Actor, reason: string | null): Promise<ActionResult>;
  pause(job: string, actor: Actor, reason: string | null): Promise<ActionResult>;
  resume(job: string, actor: Actor, reason: string | null): Promise<ActionResult>;
  /** Runs one occurrence again (e.g. a failed one). */
  rerun(job: string, occurrenceAt: Date, actor: Actor, reason: string | null): Promise<ActionResult>;
  listAudit(query: PageQuery): Promise<AuditPage>;
  emailQueueSummary(): Promise<EmailQueueSummary>;
  listEmails(query: EmailQuery): Promise<EmailPage>;
  /** Dead entries only (`conflict` otherwise). */
  requeueEmail(id: string, actor: Actor, reason: string | null): Promise<ActionResult>;
  listInstances(): Promise<WorkerInstanceView[]>;
}

/**
 * `not_found` (404), `conflict` (409: the action does not apply in the current state),
 * `bad_request` (400), `unavailable` (503: the worker is starting and has no database yet).
 */
export type ConsoleErrorCode = 'not_found' | 'conflict' | 'bad_request' | 'unavailable';

export class ConsoleBackendError extends Error {
  override readonly name = 'ConsoleBackendError';

  constructor(
    readonly code: ConsoleErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Where operator actions are recorded; the Mongoose trail of `@app/logging` implements it. */
export interface AuditTrail {
  record(entry: Omit<AuditEntry, 'id'>): Promise<AuditEntry>;
  /** Newest first; `after` is the last entry of the previous page. */
  list(query: { readonly limit: number; readonly after?: { readonly at: string; readonly id: string } }): Promise<AuditEntry[]>;
  /** Who requested an occurrence of `job` (trigger or rerun), if an operator did. */
  findOccurrenceRequest(job: string, occurrenceAt: string): Promise<AuditEntry | null>;
}

/**
 * A backend that exists once the worker has connected: until `current()` returns one,
 * every call fails with `unavailable` (503). The worker serves HTTP before it touches the
 * database, so the console answers from its first second.
 */
export function backendWhenReady(current: () => ConsoleBackend | undefined): ConsoleBackend {
  return new Proxy({} as ConsoleBackend, {
    get(_target, property) {
      return (...parameters: unknown[]) => {
        const backend = current();
        if (backend === undefined) {
          return Promise.reject(new ConsoleBackendError('unavailable', 'the worker is starting: try again in a moment'));
        }
        const method = Reflect.get(backend, property) as (...values: unknown[]) => unknown;
        return method.apply(backend, parameters);
      };
    },
  });
}
