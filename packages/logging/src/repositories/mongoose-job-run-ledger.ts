import type {
  ClaimRunInput,
  ClaimRunResult,
  FinishRunInput,
  JobRun,
  JobRunLedger,
} from '@app/shared-jobs';
import { Types, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError } from '../mongo-errors.js';
import {
  getJobRunFinishModel,
  type JobRunFinishDocument,
} from '../models/job-run-finish-model.js';
import { getJobRunModel, type JobRunDocument } from '../models/job-run-model.js';

/** Newest first, ties broken the same way as the in-memory reference ledger. */
const newestFirst = { startedAt: -1, occurrenceAt: -1, attempt: -1 } as const;

/**
 * `JobRunLedger` on Mongoose: collection `job_runs`. `claim` inserts under the unique
 * index `{ jobName, occurrenceAt, attempt }`; a duplicate-key error (11000) means
 * another instance owns the attempt, and the existing run is returned.
 */
export class MongooseJobRunLedger implements JobRunLedger {
  private readonly model: Model<JobRunDocument>;
  private readonly finishModel: Model<JobRunFinishDocument>;

  constructor(connection: Connection) {
    this.model = getJobRunModel(connection);
    this.finishModel = getJobRunFinishModel(connection);
  }

  /**
   * Creates the collections `job_runs` (claim unique index, history and prune indexes)
   * and `job_run_finishes`. Call at start-up.
   */
  async ensureIndexes(): Promise<void> {
    await this.model.createCollection();
    await this.model.createIndexes();
    await this.finishModel.createCollection();
    await this.finishModel.createIndexes();
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
            status: 'running',
            instance: { hostName: input.instance.hostName, processId: input.instance.processId },
            startedAt: input.startedAt,
            leaseExpiresAt: input.leaseExpiresAt,
            finishedAt: null,
            durationMs: null,
            error: null,
            result: null,
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

  /**
   * Decides the run's end by inserting its finish record (`_id` = run id, unique): of any
   * number of concurrent calls exactly one returns true, even on FerretDB whose
   * conditional updates are not atomic. The run document is then updated to match; a
   * crash between the two is repaired from the finish record (by any later `finish`,
   * `renewLease`, listing or `pruneFinishedBefore`).
   */
  async finish(runId: string, input: FinishRunInput): Promise<boolean> {
    const runObjectId = toRunObjectId(runId);
    if (runObjectId === null) return false;
    if (!isValidDate(input.finishedAt)) {
      throw new TypeError('finish input.finishedAt must be a valid Date');
    }
    const run = await this.model
      .findOne({ _id: runObjectId, status: 'running' }, { startedAt: 1 })
      .lean<Pick<JobRunDocument, '_id' | 'startedAt'>>()
      .exec();
    if (run === null) return false;
    const decided: JobRunFinishDocument = {
      _id: run._id,
      status: input.status,
      finishedAt: input.finishedAt,
      durationMs: input.finishedAt.getTime() - run.startedAt.getTime(),
      error: input.error ?? null,
      result: input.result ?? null,
    };
    try {
      await this.finishModel.insertMany([decided], { lean: true });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      await this.applyDecidedFinishes([run._id]);
      return false;
    }
    await this.applyFinish(decided);
    return true;
  }

  /**
   * Extends the lease of a `running` run whose end is not decided. (A finish decided
   * between the check and the update leaves a longer lease on a finished run: harmless.)
   */
  async renewLease(runId: string, leaseExpiresAt: Date): Promise<boolean> {
    const runObjectId = toRunObjectId(runId);
    if (runObjectId === null) return false;
    if (!isValidDate(leaseExpiresAt)) throw new TypeError('leaseExpiresAt must be a valid Date');
    if ((await this.applyDecidedFinishes([runObjectId])) > 0) return false;
    const update = await this.model
      .updateOne({ _id: runObjectId, status: 'running' }, { $set: { leaseExpiresAt } })
      .exec();
    return update.matchedCount === 1;
  }

  async listOccurrenceRuns(jobName: string, occurrenceAt: Date): Promise<JobRun[]> {
    const documents = await this.model
      .find({ jobName, occurrenceAt })
      .sort({ attempt: 1 })
      .lean<JobRunDocument[]>()
      .exec();
    return this.toJobRuns(documents);
  }

  async listRecentRuns(jobName: string, limit: number): Promise<JobRun[]> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be an integer >= 1, got ${String(limit)}`);
    }
    const documents = await this.model
      .find({ jobName })
      .sort(newestFirst)
      .limit(limit)
      .lean<JobRunDocument[]>()
      .exec();
    return this.toJobRuns(documents);
  }

  /**
   * One indexed query per job name (`distinct` then newest by `{ jobName, startedAt }`):
   * portable to FerretDB v1, and the number of recurring jobs is small.
   */
  async listLatestRunPerJob(): Promise<JobRun[]> {
    const jobNames = (await this.model.distinct('jobName').exec()).sort();
    const latest = await Promise.all(
      jobNames.map((jobName) =>
        this.model.findOne({ jobName }).sort(newestFirst).lean<JobRunDocument>().exec(),
      ),
    );
    return this.toJobRuns(
      latest.filter((document): document is JobRunDocument => document !== null),
    );
  }

  async pruneFinishedBefore(cutoff: Date): Promise<number> {
    if (!isValidDate(cutoff)) throw new TypeError('cutoff must be a valid Date');
    // Runs whose end was decided but not yet copied are finished: copy first, then prune.
    const running = await this.model
      .find({ status: 'running' }, { _id: 1 })
      .lean<Pick<JobRunDocument, '_id'>[]>()
      .exec();
    await this.applyDecidedFinishes(running.map((run) => run._id));
    const deletion = await this.model
      .deleteMany({ status: { $ne: 'running' }, finishedAt: { $lt: cutoff } })
      .exec();
    await this.finishModel.deleteMany({ finishedAt: { $lt: cutoff } }).exec();
    return deletion.deletedCount;
  }

  /** Copies a decided finish onto its run (only while the run still says `running`). */
  private async applyFinish(decided: JobRunFinishDocument): Promise<void> {
    await this.model
      .updateOne(
        { _id: decided._id, status: 'running' },
        {
          $set: {
            status: decided.status,
            finishedAt: decided.finishedAt,
            durationMs: decided.durationMs,
            error: decided.error,
            result: decided.result,
          },
        },
      )
      .exec();
  }

  /** Applies the decided finishes of these runs, if any; returns how many were found. */
  private async applyDecidedFinishes(runIds: readonly Types.ObjectId[]): Promise<number> {
    if (runIds.length === 0) return 0;
    const decided = await this.finishModel
      .find({ _id: { $in: runIds } })
      .lean<JobRunFinishDocument[]>()
      .exec();
    await Promise.all(decided.map((finish) => this.applyFinish(finish)));
    return decided.length;
  }

  /** Maps documents to runs; a run still `running` whose end was decided shows that end. */
  private async toJobRuns(documents: readonly JobRunDocument[]): Promise<JobRun[]> {
    const runningIds = documents
      .filter((document) => document.status === 'running')
      .map((document) => document._id);
    const decidedById = new Map<string, JobRunFinishDocument>();
    if (runningIds.length > 0) {
      const decided = await this.finishModel
        .find({ _id: { $in: runningIds } })
        .lean<JobRunFinishDocument[]>()
        .exec();
      for (const finish of decided) decidedById.set(finish._id.toHexString(), finish);
    }
    return documents.map((document) => {
      const finish = decidedById.get(document._id.toHexString());
      return toJobRun(
        finish === undefined
          ? document
          : {
              ...document,
              status: finish.status,
              finishedAt: finish.finishedAt,
              durationMs: finish.durationMs,
              error: finish.error,
              result: finish.result,
            },
      );
    });
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
    status: document.status,
    instance: { hostName: document.instance.hostName, processId: document.instance.processId },
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
  };
}
