/** Defaults and validation of the runtime's settings. */

/** How often Agenda scans for due jobs. Jobs due within the next scan are timed locally. */
export const defaultProcessEveryMs = 500;
/** Lock lifetime of a job that does not set `lockLifetimeMs`. */
export const defaultLockLifetimeMs = 60_000;
/** Agenda's collection: one document per recurring job name. */
export const defaultJobsCollectionName = 'agendaJobs';
/**
 * On FerretDB, how long an operator's write (trigger, pause, resume) settles before it is
 * read back, in case a concurrent write to the same job document undid it.
 */
export const defaultWriteSettleMs = 250;
/** Jitter of the retry backoff (±20 %): with factor 2, delays still grow attempt after attempt. */
export const retryJitter = 0.2;

export interface RuntimeSettings {
  readonly processEveryMs: number;
  readonly defaultLockLifetimeMs: number;
  readonly collectionName: string;
  readonly writeSettleMs: number;
}

export interface RuntimeSettingsInput {
  readonly processEveryMs?: number;
  readonly defaultLockLifetimeMs?: number;
  readonly collectionName?: string;
  /** See {@link defaultWriteSettleMs}. */
  readonly writeSettleMs?: number;
}

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
  return {
    processEveryMs: positiveInteger('processEveryMs', input.processEveryMs, defaultProcessEveryMs),
    defaultLockLifetimeMs: positiveInteger(
      'defaultLockLifetimeMs',
      input.defaultLockLifetimeMs,
      defaultLockLifetimeMs,
    ),
    collectionName,
    writeSettleMs: positiveInteger('writeSettleMs', input.writeSettleMs, defaultWriteSettleMs),
  };
}
