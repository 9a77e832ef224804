/**
 * The console's JSON shapes: what the backend returns and the HTTP API sends. Plain data
 * (instants as ISO 8601 strings), no imports: the browser bundle uses these types too.
 */

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted' | 'abandoned';
export const runStatuses: readonly RunStatus[] = ['running', 'succeeded', 'failed', 'interrupted', 'abandoned'];

export type Role = 'viewer' | 'operator';

/** Who makes a request: a token's name and role, and how the request was authenticated. */
export interface Actor {
  readonly name: string;
  readonly role: Role;
  /** `session` (signed-in browser), `bearer` (API token), `loopback` (no sign-in on 127.0.0.1). */
  readonly via: 'session' | 'bearer' | 'loopback';
  readonly address: string | null;
}

export interface InstanceView {
  readonly hostName: string;
  readonly processId: number;
}

export interface RunErrorView {
  readonly name: string;
  readonly message: string;
  readonly stack: string | null;
}

/** Why a run happened: its schedule, an operator's trigger or rerun, or a retry. */
export type RunCause = 'schedule' | 'catch-up' | 'trigger' | 'rerun' | 'retry';

export interface ConsoleRun {
  readonly runId: string;
  readonly jobName: string;
  readonly status: RunStatus;
  readonly occurrenceAt: string;
  readonly attempt: number;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly instance: InstanceView;
  readonly error: RunErrorView | null;
  readonly result: Readonly<Record<string, number | string | boolean>> | null;
  /** Null when not known (lists leave it to the run page). */
  readonly cause: RunCause | null;
  /** The operator who triggered or reran the occurrence, when one did. */
  readonly requestedBy: string | null;
  /** The OpenTelemetry trace of the run, when the runtime records it. */
  readonly traceId: string | null;
  /** 0-100 while running, when the job reports it. */
  readonly progress: number | null;
}

export interface RunningNow {
  readonly runId: string;
  readonly startedAt: string;
  readonly attempt: number;
  readonly instance: InstanceView;
  readonly progress: number | null;
}

/** Outcomes and durations over the most recent finished runs (`window` says how many). */
export interface JobStats {
  /** In words, e.g. `last 100 finished runs`. */
  readonly window: string;
  readonly windowSize: number;
  /** Finished runs inside the window (fewer than windowSize when the history is shorter). */
  readonly runs: number;
  readonly succeeded: number;
  readonly failed: number;
  /** succeeded / runs (0..1), null without runs. */
  readonly successRate: number | null;
  readonly durationMs: { readonly p50: number; readonly p95: number } | null;
}

export interface ConsoleJob {
  readonly name: string;
  /** False when disabled by configuration (not scheduled, no actions). */
  readonly enabled: boolean;
  readonly paused: boolean;
  readonly schedule: {
    readonly intervalMs: number | null;
    /** In words, e.g. `every day at 03:00 (Europe/Berlin)`. */
    readonly description: string;
    /** The misfire policy in words; null when disabled. */
    readonly misfire: string | null;
    readonly retry: { readonly maxAttempts: number; readonly initialDelayMs: number; readonly maxDelayMs: number } | null;
    /**
     * This worker's configured timing in words when the job follows another one (a
     * replica started later adopted its own); null when it follows this configuration.
     */
    readonly configured: string | null;
  };
  readonly lastRun: ConsoleRun | null;
  readonly nextRunAt: string | null;
  readonly nextOccurrenceAt: string | null;
  /** Why the next occurrence runs: schedule, retry, trigger, rerun or catch-up. */
  readonly nextCause: string | null;
  readonly running: readonly RunningNow[];
  readonly stats: JobStats;
}

export interface RunQuery {
  readonly jobName: string;
  /** Empty: any status. */
  readonly statuses: readonly RunStatus[];
  /** Start instant, inclusive. */
  readonly from: string | null;
  /** Start instant, exclusive. */
  readonly to: string | null;
  readonly limit: number;
  /** Opaque, from the previous page's `nextCursor`. */
  readonly cursor: string | null;
}

export interface PageQuery {
  readonly limit: number;
  readonly cursor: string | null;
}

export interface RunPage {
  readonly runs: readonly ConsoleRun[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

export type AuditAction = 'trigger' | 'pause' | 'resume' | 'rerun' | 'requeue-email';

export interface AuditEntry {
  readonly id: string;
  readonly at: string;
  readonly actor: Actor;
  /** An {@link AuditAction} (a string: records written by a later version may add actions). */
  readonly action: string;
  readonly target: string;
  readonly occurrenceAt: string | null;
  readonly outcome: 'succeeded' | 'failed';
  readonly message: string;
  readonly reason: string | null;
}

export interface AuditPage {
  readonly entries: readonly AuditEntry[];
  readonly nextCursor: string | null;
}

export interface ActionResult {
  readonly action: AuditAction;
  readonly target: string;
  readonly outcome: 'succeeded';
  readonly message: string;
  /** The occurrence scheduled (trigger, rerun). */
  readonly occurrenceAt: string | null;
  readonly auditId: string;
}

export type EmailStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'dead';
export const emailStatusList: readonly EmailStatus[] = ['pending', 'sending', 'sent', 'failed', 'dead'];
/** The statuses the entries listing accepts: the ones an operator looks into. */
export type ProblemEmailStatus = 'dead' | 'failed';

export interface EmailEntryView {
  readonly id: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly status: EmailStatus;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly nextAttemptAt: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface EmailQueueSummary {
  readonly counts: Readonly<Record<EmailStatus, number>>;
  readonly oldestPending: { readonly id: string; readonly createdAt: string; readonly nextAttemptAt: string; readonly ageMs: number } | null;
}

export interface EmailQuery {
  readonly statuses: readonly ProblemEmailStatus[];
  readonly limit: number;
  readonly cursor: string | null;
}

export interface EmailPage {
  readonly entries: readonly EmailEntryView[];
  readonly nextCursor: string | null;
}

export interface WorkerInstanceView {
  readonly instanceId: string;
  readonly hostName: string;
  readonly processId: number;
  readonly version: string;
  readonly startedAt: string;
  readonly lastHeartbeatAt: string;
  /** Set when it shut down cleanly. */
  readonly stoppedAt: string | null;
  /** `silent`: no heartbeat for more than 10 s (gone, or cut off; its runs are taken over). */
  readonly state: 'alive' | 'silent' | 'stopped';
  readonly runsInFlight: number;
  readonly runs: readonly { readonly runId: string; readonly jobName: string; readonly attempt: number; readonly startedAt: string }[];
}

/** GET /api/session: how the console is secured and who is signed in. */
export interface SessionView {
  readonly mode: 'loopback' | 'token';
  readonly actor: Actor;
  /** Send it as `X-CSRF-Token` on actions (signed-in browser sessions only). */
  readonly csrfToken: string | null;
  readonly canAct: boolean;
  readonly version: string;
}

/** Every error answer of the API. */
export interface ApiErrorBody {
  readonly error: string;
  readonly message: string;
  readonly [detail: string]: unknown;
}
