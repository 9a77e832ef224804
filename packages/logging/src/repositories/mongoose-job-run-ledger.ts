import type {
  ClaimRunInput,
  ClaimRunResult,
  FinishRunInput,
  JobRun,
  JobRunLedger,
} from '@app/shared-jobs';
import { Types, type Connection, type Model } from 'mongoose';
import { isDuplicateKeyError } from '../mongo-errors.js';
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

  constructor(connection: Connection) {
    this.model = getJobRunModel(connection);
  }

  /** Creates the claim unique index and the history/prune indexes. Call at start-up. */
  async ensureIndexes(): Promise<void> {
    await this.model.createCollection();
    await this.model.createIndexes();
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

  async finish(runId: string, input: FinishRunInput): Promise<boolean> {
    if (!Types.ObjectId.isValid(runId) || !/^[0-9a-f]{24}$/iu.test(runId)) return false;
    if (!isValidDate(input.finishedAt)) {
      throw new TypeError('finish input.finishedAt must be a valid Date');
    }
    const run = await this.model
      .findOne({ _id: new Types.ObjectId(runId), status: 'running' }, { startedAt: 1 })
      .lean<Pick<JobRunDocument, '_id' | 'startedAt'>>()
      .exec();
    if (run === null) return false;
    const update = await this.model
      .updateOne(
        { _id: run._id, status: 'running' },
        {
          $set: {
            status: input.status,
            finishedAt: input.finishedAt,
            durationMs: input.finishedAt.getTime() - run.startedAt.getTime(),
            error: input.error ?? null,
            result: input.result ?? null,
          },
        },
      )
      .exec();
    return update.modifiedCount === 1;
  }

  async renewLease(runId: string, leaseExpiresAt: Date): Promise<boolean> {
    if (!/^[0-9a-f]{24}$/iu.test(runId)) return false;
    if (!isValidDate(leaseExpiresAt)) throw new TypeError('leaseExpiresAt must be a valid Date');
    const update = await this.model
      .updateOne(
        { _id: new Types.ObjectId(runId), status: 'running' },
        { $set: { leaseExpiresAt } },
      )
      .exec();
    return update.matchedCount === 1;
  }

  async listOccurrenceRuns(jobName: string, occurrenceAt: Date): Promise<JobRun[]> {
    const documents = await this.model
      .find({ jobName, occurrenceAt })
      .sort({ attempt: 1 })
      .lean<JobRunDocument[]>()
      .exec();
    return documents.map(toJobRun);
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
    return documents.map(toJobRun);
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
    return latest
      .filter((document): document is JobRunDocument => document !== null)
      .map(toJobRun);
  }

  async pruneFinishedBefore(cutoff: Date): Promise<number> {
    if (!isValidDate(cutoff)) throw new TypeError('cutoff must be a valid Date');
    const deletion = await this.model
      .deleteMany({ status: { $ne: 'running' }, finishedAt: { $lt: cutoff } })
      .exec();
    return deletion.deletedCount;
  }
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
