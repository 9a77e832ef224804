import {
  findExecutionError,
  findOccurrenceError,
  type MessageScheduler,
  type OccurrenceRef,
  type RecordOptions,
  type RecurringJobExecution,
  type ReplaceOptions,
  type ResumePoint,
  type ScheduledOccurrence,
} from '@app/shared-jobs';
import { MongoServerError, ObjectId, type Collection, type Db } from 'mongodb';
import {
  agendaFieldsOfNewDocument,
  newPendingDocument,
  occurrenceData,
  storedExecution,
  toExecution,
  toScheduledOccurrence,
  type PendingOccurrenceDocument,
} from './models/pending-occurrence-document.js';
import { defaultJobsCollectionName } from './settings.js';

/** Name of the unique index on the job name in Agenda's collection. */
export const uniqueJobNameIndexName = 'uniqueRecurringJobName';

const duplicateKeyCode = 11000;

/** How often an upsert of a record that lost an insert race is replayed (it then finds the document). */
const maxRecordUpsertAttempts = 3;

export interface AgendaMessageSchedulerOptions {
  /** Agenda's collection (default `agendaJobs`). */
  readonly collectionName?: string;
}

/** The filter matching a job's document while it holds the attempt `expected`. */
function holding(jobName: string, expected: OccurrenceRef): Record<string, unknown> {
  return {
    name: jobName,
    'data.occurrenceAt': new Date(expected.occurrenceAt.getTime()),
    'data.attempt': expected.attempt,
  };
}

/** The filter part that holds while the stored record is not of a later occurrence than `record`. */
function recordNotLaterThan(record: RecurringJobExecution): Record<string, unknown> {
  return {
    $or: [{ lastExecution: null }, { 'lastExecution.occurrenceAt': { $lte: new Date(record.lastOccurrenceAt.getTime()) } }],
  };
}

function assertValid(occurrence: ScheduledOccurrence): void {
  const invalid = findOccurrenceError(occurrence);
  if (invalid !== null) throw invalid;
}

function assertValidRecord(jobName: string, { record }: RecordOptions): void {
  if (record === undefined) return;
  if (record.jobName !== jobName) throw new TypeError(`options.record.jobName must be the replaced job's name "${jobName}"`);
  const invalid = findExecutionError(record);
  if (invalid !== null) throw invalid;
}

/** The conditional write's filter and `$set` extended by the record, when one is carried. */
function withRecord(
  filter: Record<string, unknown>,
  set: Record<string, unknown>,
  { record }: RecordOptions,
): { filter: Record<string, unknown>; set: Record<string, unknown> } {
  if (record === undefined) return { filter, set };
  return { filter: { ...filter, ...recordNotLaterThan(record) }, set: { ...set, lastExecution: storedExecution(record) } };
}

/**
 * {@link MessageScheduler} on Agenda's collection: one Agenda job document per job name
 * (a unique index on `name`), `data` = the occurrence, `nextRunAt` = when it is due,
 * `lastExecution` = the execution record. Every write is a single-document update,
 * atomic on MongoDB (and on the bundled server); the conditional ones filter on the
 * occurrence the document holds.
 */
export class AgendaMessageScheduler implements MessageScheduler {
  readonly collection: Collection<PendingOccurrenceDocument>;

  constructor(database: Db, options: AgendaMessageSchedulerOptions = {}) {
    this.collection = database.collection<PendingOccurrenceDocument>(
      options.collectionName ?? defaultJobsCollectionName,
    );
  }

  /** Creates the unique index on the job name. Call once before scheduling (idempotent). */
  async ensureIndexes(): Promise<void> {
    try {
      await this.collection.createIndex({ name: 1 }, { unique: true, name: uniqueJobNameIndexName });
    } catch (error) {
      throw new Error(
        `AgendaMessageScheduler: cannot create the unique index on ${this.collection.collectionName}.name ` +
          '(are there several Agenda jobs with one name? remove the duplicates first)',
        { cause: error },
      );
    }
  }

  /**
   * Replaces the job's pending occurrence: one update in the steady state; a job without
   * a document gets one inserted (a concurrent inserter makes ours fail on the unique
   * index, and we update theirs).
   */
  async schedule(occurrence: ScheduledOccurrence): Promise<void> {
    assertValid(occurrence);
    const update = { $set: { data: occurrenceData(occurrence), nextRunAt: new Date(occurrence.runAt.getTime()) } };
    if ((await this.collection.updateOne({ name: occurrence.jobName }, update)).matchedCount > 0) return;
    try {
      await this.collection.insertOne(newPendingDocument(occurrence));
      return;
    } catch (error) {
      if (!(error instanceof MongoServerError) || error.code !== duplicateKeyCode) throw error;
    }
    await this.collection.updateOne({ name: occurrence.jobName }, update);
  }

  /**
   * With `handOver` (a completion) the write also clears Agenda's lock on the document and
   * stamps `lastFinishedAt`, which Agenda's unlock at the end of the run would have written:
   * the runtime then skips that unlock (`OccurrenceGuardBackend`), one write per run less.
   */
  async replaceIfCurrent(expected: OccurrenceRef, next: ScheduledOccurrence, options: ReplaceOptions = {}): Promise<boolean> {
    assertValid(next);
    assertValidRecord(next.jobName, options);
    const replacement = { data: occurrenceData(next), nextRunAt: new Date(next.runAt.getTime()) };
    const { filter, set } = withRecord(
      holding(next.jobName, expected),
      options.handOver === true ? { ...replacement, lockedAt: null, lastFinishedAt: new Date() } : replacement,
      options,
    );
    const result = await this.collection.updateOne(filter, { $set: set });
    return result.matchedCount > 0;
  }

  async replaceResumeIfCurrent(
    jobName: string,
    expected: OccurrenceRef,
    next: ResumePoint,
    options: RecordOptions = {},
  ): Promise<boolean> {
    assertValidRecord(jobName, options);
    const { filter, set } = withRecord(
      {
        name: jobName,
        'data.resume.occurrenceAt': new Date(expected.occurrenceAt.getTime()),
        'data.resume.attempt': expected.attempt,
      },
      {
        'data.resume': {
          occurrenceAt: new Date(next.occurrenceAt.getTime()),
          runAt: new Date(next.runAt.getTime()),
          attempt: next.attempt,
          cause: next.cause,
        },
      },
      options,
    );
    const result = await this.collection.updateOne(filter, { $set: set });
    return result.matchedCount > 0;
  }

  async getPending(jobName: string): Promise<ScheduledOccurrence | null> {
    const document = await this.collection.findOne({ name: jobName });
    return document === null ? null : toScheduledOccurrence(document);
  }

  /**
   * Clears the pending occurrence; the document stays with the execution record (and the
   * paused flag). The lock goes too: Agenda takes an expired lock even on a document that
   * is not due, and a cleared document must never reach a handler. A run in flight keeps
   * running; its completion no longer finds its occurrence and only records it.
   */
  async cancel(jobName: string): Promise<boolean> {
    const result = await this.collection.updateOne(
      { name: jobName, nextRunAt: { $ne: null } },
      { $set: { nextRunAt: null, data: null, lockedAt: null } },
    );
    return result.matchedCount > 0;
  }

  async getLastExecution(jobName: string): Promise<RecurringJobExecution | null> {
    const document = await this.collection.findOne({ name: jobName }, { projection: { name: 1, lastExecution: 1 } });
    return document === null ? null : toExecution(document);
  }

  /**
   * One conditional upsert: it matches the job's document while its record is not of a
   * later occurrence. A later record makes the upsert insert a second document of the
   * name, which the unique index refuses (E11000): that is the "refused" answer. A job
   * without a document gets one with the record and nothing pending.
   */
  async upsertExecution(execution: RecurringJobExecution): Promise<boolean> {
    const invalid = findExecutionError(execution);
    if (invalid !== null) throw invalid;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.collection.updateOne(
          { name: execution.jobName, ...recordNotLaterThan(execution) },
          { $set: { lastExecution: storedExecution(execution) }, $setOnInsert: agendaFieldsOfNewDocument() },
          { upsert: true },
        );
        return true;
      } catch (error) {
        if (!(error instanceof MongoServerError) || error.code !== duplicateKeyCode) throw error;
      }
      // Either a later record exists (refused), or a concurrent first insert won the race
      // and this one may still apply: look, and replay at most a few times.
      const stored = await this.getLastExecution(execution.jobName);
      if (stored !== null && stored.lastOccurrenceAt.getTime() > execution.lastOccurrenceAt.getTime()) return false;
      if (attempt >= maxRecordUpsertAttempts) {
        throw new Error(`execution of job "${execution.jobName}" could not be written after ${attempt} attempts`);
      }
    }
  }

  async listExecutions(): Promise<RecurringJobExecution[]> {
    const documents = await this.collection
      .find({ lastExecution: { $ne: null } }, { projection: { name: 1, lastExecution: 1 } })
      .sort({ name: 1 })
      .toArray();
    return documents.flatMap((document) => toExecution(document) ?? []);
  }

  /** Whether the job is paused (Agenda's `disabled` flag on its document). */
  async isPaused(jobName: string): Promise<boolean> {
    const document = await this.collection.findOne({ name: jobName }, { projection: { disabled: 1 } });
    return document?.disabled === true;
  }

  /** Sets or clears the paused flag; false when the job has no document. */
  async setPaused(jobName: string, paused: boolean): Promise<boolean> {
    const result = await this.collection.updateOne({ name: jobName }, { $set: { disabled: paused } });
    return result.matchedCount > 0;
  }

  /** Renews the locks Agenda instance `agendaName` holds on these documents (one write). */
  async renewLocks(documentIds: readonly string[], agendaName: string, at: Date): Promise<void> {
    if (documentIds.length === 0) return;
    await this.collection.updateMany(
      {
        _id: { $in: documentIds.map((documentId) => new ObjectId(documentId)) },
        lastModifiedBy: agendaName,
        lockedAt: { $ne: null },
      },
      { $set: { lockedAt: at } },
    );
  }

  /** Clears the lock of one document if Agenda instance `agendaName` still holds it. */
  async releaseLock(documentId: string, agendaName: string): Promise<void> {
    await this.collection.updateOne(
      { _id: new ObjectId(documentId), lastModifiedBy: agendaName },
      { $set: { lockedAt: null } },
    );
  }

  /** Clears the locks Agenda instance `agendaName` holds (it writes its name as `lastModifiedBy`). */
  async releaseLocksHeldBy(agendaName: string): Promise<number> {
    const result = await this.collection.updateMany(
      { lastModifiedBy: agendaName, lockedAt: { $ne: null } },
      { $set: { lockedAt: null } },
    );
    return result.modifiedCount;
  }

  /** The documents of the named jobs, in one read. */
  async findDocuments(jobNames: readonly string[]): Promise<PendingOccurrenceDocument[]> {
    return this.collection.find({ name: { $in: [...jobNames] } }).toArray();
  }
}
