import {
  findOccurrenceError,
  type MessageScheduler,
  type OccurrenceRef,
  type ReplaceOptions,
  type ResumePoint,
  type ScheduledOccurrence,
} from '@app/shared-jobs';
import { MongoServerError, ObjectId, type Collection, type Db } from 'mongodb';
import {
  newPendingDocument,
  occurrenceData,
  toScheduledOccurrence,
  type PendingOccurrenceDocument,
} from './models/pending-occurrence-document.js';
import { defaultJobsCollectionName } from './settings.js';

/** Name of the unique index on the job name in Agenda's collection. */
export const uniqueJobNameIndexName = 'uniqueRecurringJobName';

const duplicateKeyCode = 11000;

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

function assertValid(occurrence: ScheduledOccurrence): void {
  const invalid = findOccurrenceError(occurrence);
  if (invalid !== null) throw invalid;
}

/**
 * {@link MessageScheduler} on Agenda's collection: one Agenda job document per job name
 * (a unique index on `name`), `data` = the occurrence, `nextRunAt` = when it is due.
 * Every write is a single-document update, atomic on MongoDB (and on the bundled
 * server); the conditional ones filter on the occurrence the document holds.
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
    const replacement = { data: occurrenceData(next), nextRunAt: new Date(next.runAt.getTime()) };
    const result = await this.collection.updateOne(holding(next.jobName, expected), {
      $set: options.handOver === true ? { ...replacement, lockedAt: null, lastFinishedAt: new Date() } : replacement,
    });
    return result.matchedCount > 0;
  }

  async replaceResumeIfCurrent(jobName: string, expected: OccurrenceRef, next: ResumePoint): Promise<boolean> {
    const result = await this.collection.updateOne(
      {
        name: jobName,
        'data.resume.occurrenceAt': new Date(expected.occurrenceAt.getTime()),
        'data.resume.attempt': expected.attempt,
      },
      {
        $set: {
          'data.resume': {
            occurrenceAt: new Date(next.occurrenceAt.getTime()),
            runAt: new Date(next.runAt.getTime()),
            attempt: next.attempt,
            cause: next.cause,
          },
        },
      },
    );
    return result.matchedCount > 0;
  }

  async getPending(jobName: string): Promise<ScheduledOccurrence | null> {
    const document = await this.collection.findOne({ name: jobName });
    return document === null ? null : toScheduledOccurrence(document);
  }

  async cancel(jobName: string): Promise<boolean> {
    const result = await this.collection.deleteOne({ name: jobName });
    return result.deletedCount > 0;
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
