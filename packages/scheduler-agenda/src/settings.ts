/** Defaults and validation of the runtime's settings. */

/** How often Agenda scans for due jobs. Jobs due within the next scan are timed locally. */
export const defaultProcessEveryMs = 500;
/**
 * How long a worker may go without a heartbeat before its runs and locks may be taken
 * over (the lease of its runs, and the lifetime of Agenda's locks, renewed every heartbeat).
 */
export const defaultLeaseTimeoutMs = 10_000;
/** How often a worker renews its leases and locks and writes its heartbeat. */
export const defaultHeartbeatIntervalMs = 2000;
/** A run's progress is stored at most this often. */
export const defaultProgressWriteEveryMs = 1000;
/** How long the writes that end a run are retried while the database is out of reach. */
export const defaultRecordDeadlineMs = 60_000;
/** Agenda's collection: one document per recurring job name. */
export const defaultJobsCollectionName = 'agendaJobs';

export interface RuntimeSettings {
  readonly processEveryMs: number;
  readonly leaseTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly progressWriteEveryMs: number;
  readonly recordDeadlineMs: number;
  readonly collectionName: string;
}

export type RuntimeSettingsInput = Partial<RuntimeSettings>;

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${field} must be a positive integer (milliseconds), got ${String(value)}`);
  }
  return value;
}

/** Fills defaults and throws an error naming the first invalid field. */
export function resolveRuntimeSettings(input: RuntimeSettingsInput = {}): RuntimeSettings {
  const collectionName = input.collectionName ?? defaultJobsCollectionName;
  if (typeof collectionName !== 'string' || collectionName.trim() === '') {
    throw new TypeError('collectionName must be a non-empty string');
  }
  const leaseTimeoutMs = positiveInteger('leaseTimeoutMs', input.leaseTimeoutMs, defaultLeaseTimeoutMs);
  const heartbeatIntervalMs = positiveInteger(
    'heartbeatIntervalMs',
    input.heartbeatIntervalMs,
    Math.min(defaultHeartbeatIntervalMs, Math.floor(leaseTimeoutMs / 5)),
  );
  if (heartbeatIntervalMs * 3 > leaseTimeoutMs) {
    throw new RangeError(
      `heartbeatIntervalMs (${heartbeatIntervalMs}) must be at most a third of leaseTimeoutMs (${leaseTimeoutMs})`,
    );
  }
  return {
    processEveryMs: positiveInteger('processEveryMs', input.processEveryMs, defaultProcessEveryMs),
    leaseTimeoutMs,
    heartbeatIntervalMs,
    progressWriteEveryMs: positiveInteger('progressWriteEveryMs', input.progressWriteEveryMs, defaultProgressWriteEveryMs),
    recordDeadlineMs: positiveInteger('recordDeadlineMs', input.recordDeadlineMs, defaultRecordDeadlineMs),
    collectionName,
  };
}
