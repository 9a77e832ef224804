/**
 * The worker processes of a deployment, as they report themselves: every worker writes a
 * heartbeat with the runs it has in flight. Operators see them; a stale heartbeat marks a
 * worker that is gone (its runs are taken over through their leases).
 */

/** A run in flight on a worker. */
export interface RunInFlight {
  readonly runId: string;
  readonly jobName: string;
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly startedAt: Date;
}

/** What a worker says about itself when it starts. */
export interface WorkerInstanceIdentity {
  /** Unique per process start. */
  readonly instanceId: string;
  readonly hostName: string;
  readonly processId: number;
  /** The worker's release. */
  readonly version: string;
  readonly startedAt: Date;
}

export interface WorkerInstanceRecord extends WorkerInstanceIdentity {
  readonly heartbeatAt: Date;
  /** Set when it shut down cleanly. */
  readonly stoppedAt: Date | null;
  readonly runsInFlight: readonly RunInFlight[];
}

export interface InstanceRegistry {
  /** Writes the heartbeat (creating the record if it is missing, e.g. pruned). */
  heartbeat(identity: WorkerInstanceIdentity, at: Date, runsInFlight: readonly RunInFlight[]): Promise<void>;
  markStopped(instanceId: string, at: Date): Promise<void>;
  /** The most recently heard-from instances first, at most `limit`. */
  list(limit: number): Promise<WorkerInstanceRecord[]>;
  /**
   * Deletes up to `batchSize` records whose last heartbeat is older than `cutoff`
   * (stopped or silent workers); returns how many.
   */
  pruneSilentBefore(cutoff: Date, batchSize: number): Promise<number>;
}
