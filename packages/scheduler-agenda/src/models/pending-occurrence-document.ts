/**
 * The Agenda job document that holds a recurring job's one pending occurrence.
 * `name` is unique (our index); `data` carries the occurrence (identity, attempt, cause,
 * who asked, the occurrence a rerun resumes to, and the timing it belongs to);
 * `nextRunAt` is when it is due. The other fields are the ones Agenda's own `saveJob`
 * writes for a new job, so Agenda processes the document like its own.
 *
 * `lastExecution` is the job's execution record (`RecurringJobRepository`): a completion
 * writes it and the next occurrence in one update. A job without a pending occurrence
 * (cancelled, or only recorded) has `nextRunAt` and `data` null: Agenda never runs it.
 *
 * Documents written by release 0.1.0 hold only `{ occurrenceAt, attempt }`: they read as
 * cause `schedule` (or `retry` past the first attempt) with an unknown timing.
 */
import {
  occurrenceCauses,
  type InstanceIdentity,
  type JobTiming,
  type OccurrenceCause,
  type RecurringJobExecution,
  type ResumePoint,
  type ScheduledOccurrence,
} from '@app/shared-jobs';
import type { ObjectId } from 'mongodb';

export interface StoredTiming {
  readonly schedule:
    | { readonly kind: 'interval'; readonly everyMs: number }
    | { readonly kind: 'cron'; readonly expression: string; readonly timeZone: string };
  readonly misfire:
    | { readonly kind: 'once' }
    | { readonly kind: 'skip' }
    | { readonly kind: 'catch-up'; readonly windowMs: number; readonly maxRuns: number };
  readonly since: Date | null;
}

export interface PendingOccurrenceData {
  readonly occurrenceAt: Date;
  readonly attempt: number;
  readonly cause?: OccurrenceCause;
  readonly requestedBy?: string | null;
  readonly resume?: ResumePoint | null;
  readonly timing?: StoredTiming | null;
}

/** The execution record on a job's document. */
export interface StoredExecution {
  readonly executedAt: Date;
  readonly occurrenceAt: Date;
  readonly nextScheduledAt: Date | null;
  readonly executedBy: InstanceIdentity | null;
}

export interface PendingOccurrenceDocument {
  _id?: ObjectId;
  name: string;
  /** Null when no occurrence is pending. */
  data: PendingOccurrenceData | null;
  nextRunAt: Date | null;
  lastExecution?: StoredExecution | null;
  lockedAt?: Date | null;
  disabled?: boolean | null;
  lastRunAt?: Date | null;
  lastFinishedAt?: Date | null;
  lastModifiedBy?: string | null;
}

/** A new document for `occurrence`, unlocked and enabled. */
export function newPendingDocument(occurrence: ScheduledOccurrence): PendingOccurrenceDocument & Record<string, unknown> {
  return {
    name: occurrence.jobName,
    ...agendaFieldsOfNewDocument(),
    data: occurrenceData(occurrence),
    nextRunAt: new Date(occurrence.runAt.getTime()),
  };
}

/**
 * The fields Agenda's `saveJob` writes for a new job, with nothing pending (`data` and
 * `nextRunAt` null): the base of every document this package inserts.
 */
export function agendaFieldsOfNewDocument(): Omit<PendingOccurrenceDocument, 'name'> & Record<string, unknown> {
  return {
    data: null,
    type: 'normal',
    priority: 0,
    nextRunAt: null,
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

function storedTiming(timing: JobTiming): StoredTiming {
  return { schedule: timing.schedule, misfire: timing.misfire, since: timing.since ?? null };
}

/** The stored form of an execution record (the job name is the document's `name`). */
export function storedExecution(execution: RecurringJobExecution): StoredExecution {
  const executedBy = execution.lastExecutedBy;
  return {
    executedAt: new Date(execution.lastExecutedAt.getTime()),
    occurrenceAt: new Date(execution.lastOccurrenceAt.getTime()),
    nextScheduledAt: execution.nextScheduledAt === null ? null : new Date(execution.nextScheduledAt.getTime()),
    executedBy: executedBy === null ? null : { hostName: executedBy.hostName, processId: executedBy.processId },
  };
}

/** The execution record of a document, or null when it has none. */
export function toExecution(document: Pick<PendingOccurrenceDocument, 'name' | 'lastExecution'>): RecurringJobExecution | null {
  const stored = document.lastExecution;
  if (stored === undefined || stored === null) return null;
  return {
    jobName: document.name,
    lastExecutedAt: stored.executedAt,
    lastOccurrenceAt: stored.occurrenceAt,
    nextScheduledAt: stored.nextScheduledAt ?? null,
    lastExecutedBy:
      stored.executedBy === null || stored.executedBy === undefined
        ? null
        : { hostName: stored.executedBy.hostName, processId: stored.executedBy.processId },
  };
}

export function occurrenceData(occurrence: ScheduledOccurrence): PendingOccurrenceData {
  const resume = occurrence.resume ?? null;
  return {
    occurrenceAt: new Date(occurrence.occurrenceAt.getTime()),
    attempt: occurrence.attempt,
    cause: occurrence.cause,
    requestedBy: occurrence.requestedBy ?? null,
    resume:
      resume === null
        ? null
        : {
            occurrenceAt: new Date(resume.occurrenceAt.getTime()),
            runAt: new Date(resume.runAt.getTime()),
            attempt: resume.attempt,
            cause: resume.cause,
          },
    timing: occurrence.timing === undefined || occurrence.timing === null ? null : storedTiming(occurrence.timing),
  };
}

/** A pending document whose data this package cannot read (written by something else). */
export class UnreadableOccurrenceError extends TypeError {
  override readonly name = 'UnreadableOccurrenceError';
}

type Fields = Record<string, unknown>;

function fieldsOf(value: unknown): Fields | null {
  return typeof value === 'object' && value !== null ? (value as Fields) : null;
}

function dateOf(value: unknown): Date | null {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : null;
  return date === null || Number.isNaN(date.getTime()) ? null : date;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

function causeOf(value: unknown): OccurrenceCause | null {
  return occurrenceCauses.find((cause) => cause === value) ?? null;
}

/** The timing stored on a document, or null when absent or not understood (it is then re-adopted). */
function readTiming(value: unknown): JobTiming | null {
  const fields = fieldsOf(value);
  const schedule = fieldsOf(fields?.schedule);
  const misfire = fieldsOf(fields?.misfire);
  if (fields === null || schedule === null || misfire === null) return null;
  let parsedSchedule: JobTiming['schedule'];
  if (schedule.kind === 'interval' && isPositiveInteger(schedule.everyMs)) {
    parsedSchedule = { kind: 'interval', everyMs: schedule.everyMs };
  } else if (schedule.kind === 'cron' && typeof schedule.expression === 'string' && typeof schedule.timeZone === 'string') {
    parsedSchedule = { kind: 'cron', expression: schedule.expression, timeZone: schedule.timeZone };
  } else {
    return null;
  }
  let parsedMisfire: JobTiming['misfire'];
  if (misfire.kind === 'once' || misfire.kind === 'skip') {
    parsedMisfire = { kind: misfire.kind };
  } else if (misfire.kind === 'catch-up' && isPositiveInteger(misfire.windowMs) && isPositiveInteger(misfire.maxRuns)) {
    parsedMisfire = { kind: 'catch-up', windowMs: misfire.windowMs, maxRuns: misfire.maxRuns };
  } else {
    return null;
  }
  const since = dateOf(fields.since);
  return since === null
    ? { schedule: parsedSchedule, misfire: parsedMisfire }
    : { schedule: parsedSchedule, misfire: parsedMisfire, since };
}

/**
 * Reads the occurrence a document's data holds; throws an error naming the bad field
 * (a document written by something else than this package).
 */
export function readOccurrenceData(
  jobName: string,
  data: unknown,
): Omit<ScheduledOccurrence, 'jobName' | 'runAt'> {
  const fields = fieldsOf(data) ?? {};
  const occurrenceAt = dateOf(fields.occurrenceAt);
  if (occurrenceAt === null) {
    throw new UnreadableOccurrenceError(`Agenda job "${jobName}": data.occurrenceAt must be a valid date`);
  }
  const attempt = fields.attempt;
  if (!isPositiveInteger(attempt)) {
    throw new UnreadableOccurrenceError(
      `Agenda job "${jobName}": data.attempt must be an integer >= 1, got ${String(attempt)}`,
    );
  }
  const cause = fields.cause === undefined ? (attempt > 1 ? 'retry' : 'schedule') : causeOf(fields.cause);
  if (cause === null) {
    throw new UnreadableOccurrenceError(`Agenda job "${jobName}": data.cause ${String(fields.cause)} is not known`);
  }
  const resumeFields = fieldsOf(fields.resume);
  let resume: ResumePoint | null = null;
  if (resumeFields !== null) {
    const resumeOccurrenceAt = dateOf(resumeFields.occurrenceAt);
    const resumeRunAt = dateOf(resumeFields.runAt);
    const resumeCause = causeOf(resumeFields.cause);
    if (resumeOccurrenceAt === null || resumeRunAt === null || resumeCause === null || !isPositiveInteger(resumeFields.attempt)) {
      throw new UnreadableOccurrenceError(`Agenda job "${jobName}": data.resume is malformed`);
    }
    resume = { occurrenceAt: resumeOccurrenceAt, runAt: resumeRunAt, attempt: resumeFields.attempt, cause: resumeCause };
  }
  return {
    occurrenceAt,
    attempt,
    cause,
    requestedBy: typeof fields.requestedBy === 'string' ? fields.requestedBy : null,
    resume,
    timing: readTiming(fields.timing),
  };
}

/** The pending occurrence of a document, or null when it is not due at all. */
export function toScheduledOccurrence(document: PendingOccurrenceDocument): ScheduledOccurrence | null {
  if (document.nextRunAt === null) return null;
  return {
    jobName: document.name,
    ...readOccurrenceData(document.name, document.data),
    runAt: new Date(document.nextRunAt.getTime()),
  };
}
