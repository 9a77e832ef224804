/**
 * Keeps this worker's claims alive, and stops its runs when it can no longer prove it is
 * alive (the model: BullMQ's lock-manager.ts, lock renewal out of the worker loop).
 *
 * Every heartbeat it renews, for the runs in flight here, the ledger lease and Agenda's
 * lock on the job document (`lockedAt`, also in Agenda's memory so its own expiry check
 * agrees), and writes the instance's heartbeat. A worker that stops renewing (killed,
 * hung, cut off from the database) loses its runs once the lease timeout passes: another
 * worker's Agenda then locks the document and the claim decision abandons the lapsed run
 * and starts the next attempt.
 *
 * Fencing: when this worker has not completed a heartbeat for `leaseTimeoutMs -
 * heartbeatIntervalMs`, it aborts its runs itself (they are recorded `interrupted` once
 * the database answers again) so that it has stopped before another worker may take
 * over. A run found abandoned by someone else at a renewal is aborted at once.
 */
import type { Clock, JobLogger, JobRunLedger, RunInFlight } from '@app/shared-jobs';
import { RepeatedErrorLog } from './repeated-error-log.js';

/** The log kind of failed heartbeats (logged once, summarised, recovery logged). */
export const heartbeatFailureKind = 'heartbeat failed';

/** A run in flight in this process, as the lock manager needs it. */
export interface TrackedRun {
  readonly runId: string;
  readonly jobName: string;
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly startedAt: Date;
  /** The Agenda job document this run holds locked, and the in-memory lock Agenda checks. */
  readonly lock: { readonly documentId: string; setLockedAt(at: Date): void };
  /** Stops the handler: the run can no longer be this worker's. */
  abort(error: Error): void;
}

export interface LockManagerDependencies {
  readonly clock: Clock;
  readonly ledger: Pick<JobRunLedger, 'renewLeases'>;
  /** Renews Agenda's locks on these job documents if this worker still holds them. */
  readonly renewLocks: (documentIds: readonly string[], at: Date) => Promise<void>;
  /** Writes this instance's heartbeat. */
  readonly heartbeat: (at: Date, runsInFlight: readonly RunInFlight[]) => Promise<void>;
  readonly heartbeatIntervalMs: number;
  readonly leaseTimeoutMs: number;
  readonly logger: JobLogger;
}

/** Raised into a run whose worker lost the database for too long (it may be taken over). */
export class FencedRunError extends Error {
  override readonly name = 'FencedRunError';
}

/** Raised into a run that another worker took over (the ledger shows it abandoned). */
export class RunTakenOverError extends Error {
  override readonly name = 'RunTakenOverError';
}

export class LockManager {
  private readonly runs = new Map<string, TrackedRun>();
  private readonly fenced = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  private tickInFlight: Promise<void> | null = null;
  private lastHealthyAtMs: number;
  private unhealthySinceMs: number | null = null;
  private readonly repeatedErrors: RepeatedErrorLog;

  constructor(private readonly dependencies: LockManagerDependencies) {
    const { heartbeatIntervalMs, leaseTimeoutMs } = dependencies;
    if (!Number.isSafeInteger(heartbeatIntervalMs) || heartbeatIntervalMs <= 0) {
      throw new RangeError(`heartbeatIntervalMs must be a positive integer, got ${String(heartbeatIntervalMs)}`);
    }
    if (!Number.isSafeInteger(leaseTimeoutMs) || leaseTimeoutMs < heartbeatIntervalMs * 3) {
      throw new RangeError(
        `leaseTimeoutMs (${String(leaseTimeoutMs)}) must be at least 3 heartbeat intervals (${heartbeatIntervalMs * 3} ms)`,
      );
    }
    this.lastHealthyAtMs = dependencies.clock.now().getTime();
    this.repeatedErrors = new RepeatedErrorLog({ logger: dependencies.logger, clock: dependencies.clock });
  }

  /** How long without a heartbeat before this worker fences its own runs. */
  get fenceAfterMs(): number {
    return this.dependencies.leaseTimeoutMs - this.dependencies.heartbeatIntervalMs;
  }

  /** When a lease renewed now expires. */
  leaseExpiry(from: Date = this.dependencies.clock.now()): Date {
    return new Date(from.getTime() + this.dependencies.leaseTimeoutMs);
  }

  /** The runs in flight here. */
  get runsInFlight(): RunInFlight[] {
    return [...this.runs.values()].map(({ runId, jobName, occurrenceAt, attempt, startedAt }) => ({
      runId,
      jobName,
      occurrenceAt,
      attempt,
      startedAt,
    }));
  }

  /** Whether the last heartbeat went through (false while the database is out of reach). */
  get healthy(): boolean {
    return this.unhealthySinceMs === null;
  }

  /** Starts heartbeats (the first one now). */
  start(): Promise<void> {
    const { heartbeatIntervalMs } = this.dependencies;
    this.timer = setInterval(() => void this.tick(), heartbeatIntervalMs);
    this.fenceTimer = setInterval(() => this.fenceIfSilent(), Math.max(100, Math.floor(heartbeatIntervalMs / 4)));
    this.timer.unref();
    this.fenceTimer.unref();
    return this.tick();
  }

  /** Stops heartbeats; waits for one in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.fenceTimer);
    await this.tickInFlight;
  }

  /** Tracks a run from its claim to its record; returns the function that untracks it. */
  track(run: TrackedRun): () => void {
    this.runs.set(run.runId, run);
    return () => {
      this.runs.delete(run.runId);
      this.fenced.delete(run.runId);
    };
  }

  /** One heartbeat; concurrent calls share the one in flight. */
  tick(): Promise<void> {
    this.tickInFlight ??= this.renewAll().finally(() => {
      this.tickInFlight = null;
    });
    return this.tickInFlight;
  }

  private async renewAll(): Promise<void> {
    const { clock, ledger, renewLocks, heartbeat } = this.dependencies;
    const startedAt = clock.now();
    const runs = [...this.runs.values()];
    try {
      if (runs.length > 0) {
        await renewLocks(
          runs.map((run) => run.lock.documentId),
          startedAt,
        );
        for (const run of runs) run.lock.setLockedAt(startedAt);
        const lost = await ledger.renewLeases(
          runs.map((run) => run.runId),
          this.leaseExpiry(startedAt),
        );
        for (const runId of lost) {
          const run = this.runs.get(runId);
          if (run === undefined || this.fenced.has(runId)) continue;
          this.fenced.add(runId);
          run.abort(new RunTakenOverError(`run ${runId} was taken over by another worker`));
        }
      }
      await heartbeat(startedAt, this.runsInFlight);
      this.repeatedErrors.success(heartbeatFailureKind);
      this.unhealthySinceMs = null;
      this.lastHealthyAtMs = startedAt.getTime();
    } catch (error) {
      this.unhealthySinceMs ??= startedAt.getTime();
      this.repeatedErrors.failure(
        heartbeatFailureKind,
        error,
        { fenceAfterMs: this.fenceAfterMs, note: 'runs here keep going until the fence' },
        'warn',
      );
    }
  }

  /** Aborts the runs here when the last good heartbeat is older than the fence. */
  fenceIfSilent(): void {
    const silentForMs = this.dependencies.clock.now().getTime() - this.lastHealthyAtMs;
    if (silentForMs < this.fenceAfterMs) return;
    for (const run of this.runs.values()) {
      if (this.fenced.has(run.runId)) continue;
      this.fenced.add(run.runId);
      this.dependencies.logger.warn('run fenced: no heartbeat reached the database in time', {
        runId: run.runId,
        jobName: run.jobName,
        silentForMs,
      });
      run.abort(
        new FencedRunError(
          `no heartbeat reached the database for ${silentForMs} ms (fence at ${this.fenceAfterMs} ms): ` +
            'another worker may take this run over',
        ),
      );
    }
  }
}
