/**
 * One run's lease on this worker: the abort signal its handler gets, the stall watchdog
 * (no progress within the job's stall timeout fails the run), and progress reporting
 * (stored on the run, at most once per `progressWriteEveryMs`). The lease's renewal in
 * the ledger is the lock manager's, on every heartbeat.
 */
import type { Clock, JobProgress } from '@app/shared-jobs';
import { RunTakenOverError } from './lock-manager.js';

/** Raised into a run that reported no progress within its job's stall timeout. */
export class StalledRunError extends Error {
  override readonly name = 'StalledRunError';
}

/** Raised into a run that a drain deadline interrupted. */
export class RunInterruptedError extends Error {
  override readonly name = 'RunInterruptedError';
}

export interface RunLeaseOptions {
  readonly jobName: string;
  readonly clock: Clock;
  /** Null: no watchdog. */
  readonly stallTimeoutMs: number | null;
  /** Stores progress on the run; false when the run is no longer running (taken over). */
  readonly storeProgress: (progress: JobProgress) => Promise<boolean>;
  readonly progressWriteEveryMs: number;
}

export class RunLease {
  private readonly controller = new AbortController();
  private readonly abortedWith: Promise<Error>;
  private resolveAborted: (error: Error) => void = () => undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastProgressWriteMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: RunLeaseOptions) {
    this.abortedWith = new Promise<Error>((resolve) => {
      this.resolveAborted = resolve;
    });
    this.armWatchdog();
  }

  /** The handler's signal. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Resolves with the reason once the run is aborted (never rejects). */
  get aborted(): Promise<Error> {
    return this.abortedWith;
  }

  /** Aborts the run (the first reason wins). */
  abort(error: Error): void {
    if (this.controller.signal.aborted) return;
    clearTimeout(this.watchdog);
    this.controller.abort(error);
    this.resolveAborted(error);
  }

  /** The handler's `reportProgress`: proof of life, and progress for operators. */
  async reportProgress(progress: JobProgress): Promise<void> {
    if (this.controller.signal.aborted) return;
    this.armWatchdog();
    const nowMs = this.options.clock.now().getTime();
    if (nowMs - this.lastProgressWriteMs < this.options.progressWriteEveryMs) return;
    this.lastProgressWriteMs = nowMs;
    if (!(await this.options.storeProgress(progress))) {
      this.abort(new RunTakenOverError('the run is no longer running in the ledger (taken over)'));
    }
  }

  /** Stops the watchdog; call when the run has ended. */
  dispose(): void {
    clearTimeout(this.watchdog);
  }

  private armWatchdog(): void {
    const { stallTimeoutMs, jobName } = this.options;
    if (stallTimeoutMs === null) return;
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.abort(new StalledRunError(`job "${jobName}" reported no progress within its stall timeout of ${stallTimeoutMs} ms`));
    }, stallTimeoutMs);
  }
}
