/**
 * The Agenda job document that holds a recurring job's one pending occurrence.
 * `name` is unique (our index); `data` carries the occurrence identity and attempt;
 * `nextRunAt` is when it is due. The other fields are the ones Agenda's own
 * `saveJob` writes for a new job, so Agenda processes the document like its own.
 */
import type { ScheduledOccurrence } from '@app/shared-jobs';
import type { ObjectId } from 'mongodb';

export interface PendingOccurrenceData {
  readonly occurrenceAt: Date;
  readonly attempt: number;
}

export interface PendingOccurrenceDocument {
  _id?: ObjectId;
  name: string;
  data: PendingOccurrenceData;
  nextRunAt: Date | null;
  lockedAt?: Date | null;
  disabled?: boolean | null;
  lastRunAt?: Date | null;
  lastFinishedAt?: Date | null;
}

/** A new document for `occurrence`, unlocked and enabled. */
export function newPendingDocument(occurrence: ScheduledOccurrence): PendingOccurrenceDocument & Record<string, unknown> {
  return {
    name: occurrence.jobName,
    data: occurrenceData(occurrence),
    type: 'normal',
    priority: 0,
    nextRunAt: new Date(occurrence.runAt.getTime()),
    lockedAt: null,
    disabled: false,
    lastRunAt: null,
    lastFinishedAt: null,
    failCount: null,
    failReason: null,
    failedAt: null,
    progress: null,
    repeatInterval: null,
    repeatAt: null,
    repeatTimezone: null,
    lastModifiedBy: null,
  };
}

export function occurrenceData(occurrence: ScheduledOccurrence): PendingOccurrenceData {
  return { occurrenceAt: new Date(occurrence.occurrenceAt.getTime()), attempt: occurrence.attempt };
}

/** A pending document whose data this package cannot read (written by something else). */
export class UnreadableOccurrenceError extends TypeError {
  override readonly name = 'UnreadableOccurrenceError';
}

/**
 * Reads the occurrence a document holds; throws an error naming the bad field
 * (a document written by something else than this package).
 */
export function readOccurrenceData(jobName: string, data: unknown): PendingOccurrenceData {
  const record = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const occurrenceAt = record.occurrenceAt;
  const parsedOccurrenceAt =
    occurrenceAt instanceof Date
      ? occurrenceAt
      : typeof occurrenceAt === 'string'
        ? new Date(occurrenceAt)
        : null;
  if (parsedOccurrenceAt === null || Number.isNaN(parsedOccurrenceAt.getTime())) {
    throw new UnreadableOccurrenceError(`Agenda job "${jobName}": data.occurrenceAt must be a valid date`);
  }
  const attempt = record.attempt;
  if (typeof attempt !== 'number' || !Number.isInteger(attempt) || attempt < 1) {
    throw new UnreadableOccurrenceError(`Agenda job "${jobName}": data.attempt must be an integer >= 1, got ${String(attempt)}`);
  }
  return { occurrenceAt: parsedOccurrenceAt, attempt };
}

/** The pending occurrence of a document, or null when it is not due at all. */
export function toScheduledOccurrence(document: PendingOccurrenceDocument): ScheduledOccurrence | null {
  if (document.nextRunAt === null) return null;
  const data = readOccurrenceData(document.name, document.data);
  return {
    jobName: document.name,
    occurrenceAt: data.occurrenceAt,
    runAt: new Date(document.nextRunAt.getTime()),
    attempt: data.attempt,
  };
}
