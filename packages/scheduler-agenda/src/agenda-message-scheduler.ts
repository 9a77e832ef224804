import { findOccurrenceError, type MessageScheduler, type ScheduledOccurrence } from '@app/shared-jobs';
import { MongoServerError, type Collection, type Db } from 'mongodb';
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

/**
 * {@link MessageScheduler} on Agenda's collection: one Agenda job document per job name,
 * `data = { occurrenceAt, attempt }`, `nextRunAt = runAt`.
 *
 * Replacement is update-else-insert-then-update-on-E11000 under a unique index on `name`:
 * the unique index is the one write FerretDB makes atomic (its upserts and
 * findOneAndUpdate are not), so concurrent schedulers can never create a second
 * document. Updates are last-writer-wins on that single document.
 */
export class AgendaMessageScheduler implements MessageScheduler {
  readonly collection: Collection<PendingOccurrenceDocument>;
  private readonly database: Db;
  private serverKind: Promise<boolean> | undefined;

  constructor(database: Db, options: AgendaMessageSchedulerOptions = {}) {
    this.database = database;
    this.collection = database.collection<PendingOccurrenceDocument>(
      options.collectionName ?? defaultJobsCollectionName,
    );
  }

  /**
   * Whether the server may undo a field update with a concurrent update of another field
   * of the same document (FerretDB v1 rewrites whole documents; docs/ferretdb.md). Asked
   * once per scheduler: `buildInfo` of FerretDB carries `ferretdbVersion`.
   */
  rewritesWholeDocuments(): Promise<boolean> {
    this.serverKind ??= this.database
      .admin()
      .command({ buildInfo: 1 })
      .then((build) => typeof build.ferretdbVersion === 'string');
    return this.serverKind;
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
   * Replaces the job's pending occurrence. `options.insertFirst` (the caller has just seen
   * that the job has no document) tries the insert before the update.
   */
  async schedule(occurrence: ScheduledOccurrence, options: { readonly insertFirst?: boolean } = {}): Promise<void> {
    const invalid = findOccurrenceError(occurrence);
    if (invalid !== null) throw invalid;
    // Steady state: the document exists and one update replaces its occurrence. Otherwise
    // insert; a concurrent inserter makes ours fail with E11000, and we update theirs.
    if (options.insertFirst !== true && (await this.replacePending(occurrence))) return;
    try {
      await this.collection.insertOne(newPendingDocument(occurrence));
      return;
    } catch (error) {
      if (!(error instanceof MongoServerError) || error.code !== duplicateKeyCode) throw error;
    }
    await this.replacePending(occurrence);
  }

  private async replacePending(occurrence: ScheduledOccurrence): Promise<boolean> {
    const result = await this.collection.updateOne(
      { name: occurrence.jobName },
      { $set: { data: occurrenceData(occurrence), nextRunAt: new Date(occurrence.runAt.getTime()) } },
    );
    return result.matchedCount > 0;
  }

  /**
   * Schedules `occurrence` unless the pending occurrence is newer than `than` (an
   * operator's trigger during the run that completed `than`): then it is kept and
   * returned. The steady state is one conditional update (no read); the pending
   * document is read only when that update matched nothing (no document yet, or a newer
   * occurrence). Returns null when `occurrence` was scheduled.
   */
  async scheduleUnlessNewer(occurrence: ScheduledOccurrence, than: Date): Promise<ScheduledOccurrence | null> {
    const invalid = findOccurrenceError(occurrence);
    if (invalid !== null) throw invalid;
    const result = await this.collection.updateOne(
      { name: occurrence.jobName, 'data.occurrenceAt': { $lte: new Date(than.getTime()) } },
      { $set: { data: occurrenceData(occurrence), nextRunAt: new Date(occurrence.runAt.getTime()) } },
    );
    if (result.matchedCount > 0) return null;
    const pending = await this.getPending(occurrence.jobName);
    if (pending !== null && pending.occurrenceAt.getTime() > than.getTime()) return pending;
    await this.schedule(occurrence);
    return null;
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

  /** Clears the Agenda lock of a job's document so another replica can take it now. */
  async releaseLock(jobName: string): Promise<void> {
    await this.collection.updateOne({ name: jobName }, { $set: { lockedAt: null } });
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

  /** Every document of the collection, for listings. */
  async listDocuments(): Promise<PendingOccurrenceDocument[]> {
    return this.collection.find({}).toArray();
  }
}
