import type { JobTiming } from './timing.js';

/**
 * Why an occurrence runs:
 * - `schedule`: the next slot of the job's schedule (or a missed slot collapsed by `once`);
 * - `catch-up`: a missed slot run late under the `catch-up` misfire policy;
 * - `retry`: a further attempt of an occurrence whose run failed (the job's retry policy);
 * - `trigger`: an operator's "run now", a new occurrence identified by that instant;
 * - `rerun`: an operator's new attempt of an occurrence that failed for good.
 */
export type OccurrenceCause = 'schedule' | 'catch-up' | 'retry' | 'trigger' | 'rerun';

export const occurrenceCauses: readonly OccurrenceCause[] = ['schedule', 'catch-up', 'retry', 'trigger', 'rerun'];

/** The identity of one attempt of one occurrence. */
export interface OccurrenceRef {
  readonly occurrenceAt: Date;
  readonly attempt: number;
}

/** The occurrence a detour (a rerun) was put in front of: the chain continues with it. */
export interface ResumePoint extends OccurrenceRef {
  readonly runAt: Date;
  readonly cause: OccurrenceCause;
}

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
  readonly cause: OccurrenceCause;
  /** Who asked for it (`trigger`, `rerun`), e.g. `cli:alice@host`; null or absent otherwise. */
  readonly requestedBy?: string | null;
  /** Set on a rerun: the occurrence it displaced, scheduled again once the rerun has run. */
  readonly resume?: ResumePoint | null;
  /**
   * The schedule this occurrence belongs to. It travels with the pending occurrence so
   * that every replica continues the chain on one schedule during a rolling deployment.
   */
  readonly timing?: JobTiming | null;
}

/** A stable text key of an occurrence: `jobName@2026-01-01T00:00:00.000Z`. */
export function occurrenceKey(jobName: string, occurrenceAt: Date): string {
  return `${jobName}@${occurrenceAt.toISOString()}`;
}

/** Whether two references name the same attempt of the same occurrence. */
export function isSameAttempt(left: OccurrenceRef, right: OccurrenceRef): boolean {
  return left.occurrenceAt.getTime() === right.occurrenceAt.getTime() && left.attempt === right.attempt;
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** The first invalid field of an occurrence as an error naming it, or null when valid. */
export function findOccurrenceError(occurrence: ScheduledOccurrence): TypeError | null {
  if (typeof occurrence.jobName !== 'string' || occurrence.jobName.trim() === '') {
    return new TypeError('occurrence.jobName must be a non-empty string');
  }
  for (const field of ['occurrenceAt', 'runAt'] as const) {
    if (!isValidDate(occurrence[field])) return new TypeError(`occurrence.${field} must be a valid Date`);
  }
  if (!Number.isInteger(occurrence.attempt) || occurrence.attempt < 1) {
    return new TypeError(`occurrence.attempt must be an integer >= 1, got ${String(occurrence.attempt)}`);
  }
  if (!occurrenceCauses.includes(occurrence.cause)) {
    return new TypeError(
      `occurrence.cause must be one of ${occurrenceCauses.join(', ')}, got ${String(occurrence.cause)}`,
    );
  }
  const requestedBy = occurrence.requestedBy;
  if (requestedBy !== undefined && requestedBy !== null && typeof requestedBy !== 'string') {
    return new TypeError('occurrence.requestedBy must be a string or null');
  }
  const resume = occurrence.resume;
  if (resume !== undefined && resume !== null) {
    if (!isValidDate(resume.occurrenceAt) || !isValidDate(resume.runAt)) {
      return new TypeError('occurrence.resume must have valid occurrenceAt and runAt dates');
    }
    if (!Number.isInteger(resume.attempt) || resume.attempt < 1 || !occurrenceCauses.includes(resume.cause)) {
      return new TypeError('occurrence.resume must have an attempt >= 1 and a known cause');
    }
  }
  return null;
}

/** Throws the error of {@link findOccurrenceError} when the occurrence is invalid. */
export function assertValidOccurrence(occurrence: ScheduledOccurrence): void {
  const error = findOccurrenceError(occurrence);
  if (error !== null) throw error;
}
