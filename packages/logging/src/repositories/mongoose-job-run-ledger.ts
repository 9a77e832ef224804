import {
  assertValidRunQuery,
  decodeRunCursor,
  encodeRunCursor,
  type ClaimRunInput,
  type ClaimRunResult,
  type FinishRunInput,
  type JobProgress,
  type JobRun,
  type JobRunLedger,
  type RunPage,
  type RunQuery,
} from '@app/shared-jobs';
import { Types, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError } from '../mongo-errors.js';
import { getJobRunModel, legacyJobRunIndexNames, type JobRunDocument } from '../models/job-run-model.js';

/**
 * History order: newest start first, runs started at the same instant by id, descending (the
 * cursor's order). Statements sort by `startedAt` alone and the id order is applied to each
 * instant's runs in memory (one instant's runs are read whole, see `listRuns`): on the bundled
 * server a sort that ends in `_id` checks every run of the job for keys it cannot order (a scan
 * that grows with the history), while `{ jobName, startedAt }` with `limit` reads about a page.
 */
const newestStartFirst = { startedAt: -1 } as const;

function compareNewestFirst(left: JobRunDocument, right: JobRunDocument): number {
  const byStart = right.startedAt.getTime() - left.startedAt.getTime();
  if (byStart !== 0) return byStart;
  const leftId = left._id.toHexString();
  const rightId = right._id.toHexString();
  return leftId === rightId ? 0 : leftId < rightId ? 1 : -1;
}

/** The collection release 0.1.0 decided run ends in; folded into `job_runs` at start-up. */
const legacyFinishesCollection = 'job_run_finishes';
const migrationBatchSize = 500;

/**
 * `JobRunLedger` on Mongoose: collection `job_runs`. `claim` inserts under the unique
 * index `{ jobName, occurrenceAt, attempt }`; a duplicate-key error (11000) means another
 * instance owns the attempt, and the existing run is returned. `finish` is one
 * conditional update (`status: 'running'`), atomic on MongoDB and on the bundled server.
 * Every read is an indexed lookup or range of at most one page.
 */
export class MongooseJobRunLedger implements JobRunLedger {
  private readonly model: Model<JobRunDocument>;

  constructor(private readonly connection: Connection) {
    this.model = getJobRunModel(connection);
  }

  /**
   * Creates `job_runs` and its indexes, and upgrades a database written by release
   * 0.1.0: its decided run ends (`job_run_finishes`) are applied and that collection is
   * dropped, and its old history index is replaced. Call at start-up (idempotent).
   */
  async ensureIndexes(): Promise<void> {
    await this.model.createCollection();
    await this.model.createIndexes();
    const existing = await this.model.collection.indexes();
    for (const legacyName of legacyJobRunIndexNames) {
      if (existing.some((index) => index.name === legacyName)) await this.model.collection.dropIndex(legacyName);
    }
    await this.foldLegacyFinishes();
  }

  private async foldLegacyFinishes(): Promise<void> {
    const database = this.connection.db;
    if (database === undefined) return;
    const present = await database.listCollections({ name: legacyFinishesCollection }, { nameOnly: true }).toArray();
    if (present.length === 0) return;
    const finishes = database.collection(legacyFinishesCollection);
    let lastId: Types.ObjectId | null = null;
    for (;;) {
      const batch = await finishes
        .find(lastId === null ? {} : { _id: { $gt: lastId } })
        .sort({ _id: 1 })
        .limit(migrationBatchSize)
        .toArray();
      for (const finish of batch) {
        await this.model
          .updateOne(
            { _id: finish._id, status: 'running' },
            {
              $set: {
                status: finish.status,
                finishedAt: finish.finishedAt,
                durationMs: finish.durationMs,
                error: finish.error ?? null,
                result: finish.result ?? null,
              },
            },
          )
          .exec();
      }
      if (batch.length < migrationBatchSize) break;
      lastId = batch.at(-1)!._id;
    }
    await finishes.drop();
  }

  async claim(input: ClaimRunInput): Promise<ClaimRunResult> {
    assertValidClaim(input);
    try {
      const [created] = await this.model.insertMany(
        [
          {
            jobName: input.jobName,
            occurrenceAt: input.occurrenceAt,
            attempt: input.attempt,
            cause: input.cause,
            requestedBy: input.requestedBy,
            status: 'running',
            instance: { hostName: input.instance.hostName, processId: input.instance.processId },
            instanceId: input.instanceId,
            startedAt: input.startedAt,
            leaseExpiresAt: input.leaseExpiresAt,
            finishedAt: null,
            durationMs: null,
            error: null,
            result: null,
            progress: null,
            traceId: null,
          },
        ],
        { lean: true },
      );
      return { claimed: true, run: toJobRun(created as JobRunDocument) };
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    const existing = await this.model
      .findOne({ jobName: input.jobName, occurrenceAt: input.occurrenceAt, attempt: input.attempt })
      .lean<JobRunDocument>()
      .exec();
    if (existing === null) {
      throw new Error(
        `claim of ${input.jobName} at ${input.occurrenceAt.toISOString()} attempt ${input.attempt} ` +
          'hit the unique index but the existing run was gone (deleted concurrently)',
      );
    }
    return { claimed: false, existing: toJobRun(existing) };
  }

  async finish(runId: string, input: FinishRunInput): Promise<boolean> {
    const runObjectId = toRunObjectId(runId);
    if (runObjectId === null) return false;
    if (!isValidDate(input.finishedAt)) throw new TypeError('finish input.finishedAt must be a valid Date');
    if (!Number.isFinite(input.durationMs)) throw new TypeError('finish input.durationMs must be a number');
    const update = await this.model
      .updateOne(
        { _id: runObjectId, status: 'running' },
        {
          $set: {
            status: input.status,
            finishedAt: input.finishedAt,
            durationMs: Math.max(0, Math.round(input.durationMs)),
            error: input.error ?? null,
            result: input.result ?? null,
            ...(input.traceId === undefined || input.traceId === null ? {} : { traceId: input.traceId }),
          },
        },
      )
      .exec();
    return update.modifiedCount === 1;
  }

  async renewLeases(runIds: readonly string[], leaseExpiresAt: Date): Promise<string[]> {
    if (!isValidDate(leaseExpiresAt)) throw new TypeError('leaseExpiresAt must be a valid Date');
    if (runIds.length === 0) return [];
    const objectIds = runIds.map(toRunObjectId).filter((id): id is Types.ObjectId => id !== null);
    const update = await this.model
      .updateMany({ _id: { $in: objectIds }, status: 'running' }, { $set: { leaseExpiresAt } })
      .exec();
    if (update.matchedCount === runIds.length) return [];
    const running = await this.model
      .find({ _id: { $in: objectIds }, status: 'running' }, { _id: 1 })
      .lean<Pick<JobRunDocument, '_id'>[]>()
      .exec();
    const stillRunning = new Set(running.map((run) => run._id.toHexString()));
    return runIds.filter((runId) => !stillRunning.has(runId.toLowerCase()));
  }

  async reportProgress(runId: string, progress: JobProgress): Promise<boolean> {
    const runObjectId = toRunObjectId(runId);
    if (runObjectId === null) return false;
    const stored: JobProgress = {
      ...(progress.completed === undefined ? {} : { completed: progress.completed }),
      ...(progress.total === undefined ? {} : { total: progress.total }),
      ...(progress.message === undefined ? {} : { message: progress.message.slice(0, 500) }),
    };
    const update = await this.model
      .updateOne({ _id: runObjectId, status: 'running' }, { $set: { progress: stored } })
      .exec();
    return update.matchedCount === 1;
  }

  async getRun(runId: string): Promise<JobRun | null> {
    const runObjectId = toRunObjectId(runId);
    if (runObjectId === null) return null;
    const document = await this.model.findById(runObjectId).lean<JobRunDocument>().exec();
    return document === null ? null : toJobRun(document);
  }

  async listOccurrenceRuns(jobName: string, occurrenceAt: Date): Promise<JobRun[]> {
    const documents = await this.model
      .find({ jobName, occurrenceAt })
      .sort({ attempt: 1 })
      .lean<JobRunDocument[]>()
      .exec();
    return documents.map(toJobRun);
  }

  async listRuns(query: RunQuery): Promise<RunPage> {
    assertValidRunQuery(query);
    const cursor = query.cursor === undefined ? null : decodeRunCursor(query.cursor);
    const cursorId = cursor === null ? null : toRunObjectId(cursor.runId);
    if (cursor !== null && cursorId === null) {
      throw new RangeError('run query cursor is malformed (pass the nextCursor of a previous page)');
    }
    const statuses = query.statuses ?? [];
    const jobAndStatus: Record<string, unknown> = {
      jobName: query.jobName,
      ...(statuses.length === 1 ? { status: statuses[0] } : {}),
      ...(statuses.length > 1 ? { status: { $in: [...statuses] } } : {}),
    };
    const inRange = (instant: Date) =>
      (query.startedFrom === undefined || instant >= query.startedFrom) &&
      (query.startedBefore === undefined || instant < query.startedBefore);
    const wanted = query.limit + 1; // one more than a page tells whether there is a next one
    /** The runs started at one instant, in page order, after `afterId` if given. */
    const runsAt = (instant: Date, afterId: Types.ObjectId | null, limit: number) =>
      this.model
        .find({ ...jobAndStatus, startedAt: instant, ...(afterId === null ? {} : { _id: { $lt: afterId } }) })
        .sort({ _id: -1 })
        .limit(limit)
        .lean<JobRunDocument[]>()
        .exec();
    // 1. The rest of the cursor's instant (runs started with the last run of the previous page).
    const sameInstant = cursor !== null && inRange(cursor.startedAt) ? await runsAt(cursor.startedAt, cursorId, wanted) : [];
    // 2. Earlier instants, newest first.
    let earlier: JobRunDocument[] = [];
    if (sameInstant.length < wanted) {
      const startedAt: Record<string, Date> = {};
      if (query.startedFrom !== undefined) startedAt.$gte = query.startedFrom;
      if (query.startedBefore !== undefined) startedAt.$lt = query.startedBefore;
      if (cursor !== null && (startedAt.$lt === undefined || cursor.startedAt < startedAt.$lt)) startedAt.$lt = cursor.startedAt;
      const limit = wanted - sameInstant.length;
      earlier = await this.model
        .find({ ...jobAndStatus, ...(Object.keys(startedAt).length === 0 ? {} : { startedAt }) })
        .sort(newestStartFirst)
        .limit(limit)
        .lean<JobRunDocument[]>()
        .exec();
      // 3. The limit may have cut the last instant's runs anywhere: read that instant whole.
      const last = earlier.at(-1);
      if (last !== undefined && earlier.length === limit) {
        const lastInstant = last.startedAt;
        earlier = [...earlier.filter((run) => run.startedAt.getTime() !== lastInstant.getTime()), ...(await runsAt(lastInstant, null, wanted))];
      }
      earlier.sort(compareNewestFirst);
    }
    const documents = [...sameInstant, ...earlier].slice(0, wanted);
    const runs = documents.slice(0, query.limit).map(toJobRun);
    const lastRun = runs.at(-1);
    return {
      runs,
      nextCursor:
        documents.length > query.limit && lastRun !== undefined
          ? encodeRunCursor({ startedAt: lastRun.startedAt, runId: lastRun.runId })
          : null,
    };
  }

  async listLatestRunPerJob(jobNames: readonly string[]): Promise<JobRun[]> {
    // The first run of each job's history (its order breaks ties between runs of one instant).
    const latest = await Promise.all(
      [...new Set(jobNames)].sort().map(async (jobName) => (await this.listRuns({ jobName, limit: 1 })).runs[0]),
    );
    return latest.filter((run): run is JobRun => run !== undefined);
  }

  async pruneFinishedBefore(cutoff: Date, batchSize: number): Promise<number> {
    if (!isValidDate(cutoff)) throw new TypeError('cutoff must be a valid Date');
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be a positive integer, got ${String(batchSize)}`);
    }
    const batch = await this.model
      .find({ finishedAt: { $lt: cutoff } }, { _id: 1 })
      .sort({ finishedAt: 1 })
      .limit(batchSize)
      .lean<Pick<JobRunDocument, '_id'>[]>()
      .exec();
    if (batch.length === 0) return 0;
    const deletion = await this.model
      .deleteMany({ _id: { $in: batch.map((run) => run._id) }, finishedAt: { $lt: cutoff } })
      .exec();
    return deletion.deletedCount;
  }
}

/** The run's ObjectId, or null for an id this ledger never issued (not 24 hex digits). */
function toRunObjectId(runId: string): Types.ObjectId | null {
  return /^[0-9a-f]{24}$/iu.test(runId) ? new Types.ObjectId(runId) : null;
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

function assertValidClaim(input: ClaimRunInput): void {
  if (typeof input.jobName !== 'string' || input.jobName.trim() === '') {
    throw new TypeError('claim input.jobName must be a non-empty string');
  }
  if (!Number.isInteger(input.attempt) || input.attempt < 1) {
    throw new TypeError(`claim input.attempt must be an integer >= 1, got ${String(input.attempt)}`);
  }
  for (const field of ['occurrenceAt', 'startedAt', 'leaseExpiresAt'] as const) {
    if (!isValidDate(input[field])) throw new TypeError(`claim input.${field} must be a valid Date`);
  }
}

function toJobRun(document: JobRunDocument): JobRun {
  return {
    runId: document._id.toHexString(),
    jobName: document.jobName,
    occurrenceAt: document.occurrenceAt,
    attempt: document.attempt,
    cause: document.cause ?? (document.attempt > 1 ? 'retry' : 'schedule'),
    requestedBy: document.requestedBy ?? null,
    status: document.status,
    instance: { hostName: document.instance.hostName, processId: document.instance.processId },
    instanceId: document.instanceId ?? null,
    startedAt: document.startedAt,
    leaseExpiresAt: document.leaseExpiresAt,
    finishedAt: document.finishedAt ?? null,
    durationMs: document.durationMs ?? null,
    error:
      document.error === null || document.error === undefined
        ? null
        : {
            name: document.error.name,
            message: document.error.message,
            ...(document.error.stack === undefined ? {} : { stack: document.error.stack }),
          },
    result: document.result ?? null,
    progress: document.progress ?? null,
    traceId: document.traceId ?? null,
  };
}
