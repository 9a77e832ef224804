/**
 * One planned run of a recurring job. Its identity is `(jobName, occurrenceAt)`:
 * `occurrenceAt` is the slot computed from persisted state, the same on every
 * instance; `runAt` is when it actually becomes due (`max(occurrenceAt, now)`, or
 * later for a retry). `attempt` starts at 1.
 */
export interface ScheduledOccurrence {
  readonly jobName: string;
  readonly occurrenceAt: Date;
  readonly runAt: Date;
  readonly attempt: number;
}

/** A stable text key of an occurrence: `jobName@2026-01-01T00:00:00.000Z`. */
export function occurrenceKey(jobName: string, occurrenceAt: Date): string {
  return `${jobName}@${occurrenceAt.toISOString()}`;
}

/** The first invalid field of an occurrence as an error naming it, or null when valid. */
export function findOccurrenceError(occurrence: ScheduledOccurrence): TypeError | null {
  if (typeof occurrence.jobName !== 'string' || occurrence.jobName.trim() === '') {
    return new TypeError('occurrence.jobName must be a non-empty string');
  }
  for (const field of ['occurrenceAt', 'runAt'] as const) {
    const value = occurrence[field];
    if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
      return new TypeError(`occurrence.${field} must be a valid Date`);
    }
  }
  if (!Number.isInteger(occurrence.attempt) || occurrence.attempt < 1) {
    return new TypeError(
      `occurrence.attempt must be an integer >= 1, got ${String(occurrence.attempt)}`,
    );
  }
  return null;
}

/** Throws the error of {@link findOccurrenceError} when the occurrence is invalid. */
export function assertValidOccurrence(occurrence: ScheduledOccurrence): void {
  const error = findOccurrenceError(occurrence);
  if (error !== null) throw error;
}
