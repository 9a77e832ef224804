import type { RecurringJobExecution, RecurringJobRepository } from '@app/shared-jobs';
import type { Connection, Model } from 'mongoose';
import { isDuplicateKeyError } from '../mongo-errors.js';
import {
  getRecurringJobExecutionModel,
  type RecurringJobExecutionDocument,
} from '../models/recurring-job-execution-model.js';

/** How often an upsert that lost an insert race is replayed (it then finds the document). */
const maxUpsertAttempts = 3;

/**
 * `RecurringJobRepository` on Mongoose: collection `recurring_job_executions`, one
 * document per job with the job name as `_id`, so concurrent upserts can never create a
 * second record (the `_id` index is unique on every server, FerretDB included).
 */
export class MongooseRecurringJobRepository implements RecurringJobRepository {
  private readonly model: Model<RecurringJobExecutionDocument>;

  constructor(connection: Connection) {
    this.model = getRecurringJobExecutionModel(connection);
  }

  /** Creates the collection (its `_id` index is the only one it needs). */
  async ensureIndexes(): Promise<void> {
    await this.model.createCollection();
    await this.model.createIndexes();
  }

  async getLastExecution(jobName: string): Promise<RecurringJobExecution | null> {
    const document = await this.model
      .findById(jobName)
      .lean<RecurringJobExecutionDocument>()
      .exec();
    return document === null ? null : toExecution(document);
  }

  /**
   * One conditional upsert: it matches the job's record only while that record is not of
   * a later occurrence. A later record makes the upsert insert a second `_id`, which the
   * unique `_id` index refuses (E11000): that is the "refused" answer.
   */
  async upsertExecution(execution: RecurringJobExecution): Promise<boolean> {
    assertValidExecution(execution);
    const replacement = {
      lastExecutedAt: execution.lastExecutedAt,
      lastOccurrenceAt: execution.lastOccurrenceAt,
      nextScheduledAt: execution.nextScheduledAt,
      lastExecutedBy:
        execution.lastExecutedBy === null
          ? null
          : {
              hostName: execution.lastExecutedBy.hostName,
              processId: execution.lastExecutedBy.processId,
            },
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.model
          .updateOne(
            { _id: execution.jobName, lastOccurrenceAt: { $lte: execution.lastOccurrenceAt } },
            { $set: replacement },
            { upsert: true },
          )
          .exec();
        return true;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      // Either a later record exists (refused), or a concurrent first insert won the race
      // and this one may still apply: look, and replay at most a few times.
      const stored = await this.model.findById(execution.jobName).lean<RecurringJobExecutionDocument>().exec();
      if (stored !== null && stored.lastOccurrenceAt.getTime() > execution.lastOccurrenceAt.getTime()) return false;
      if (attempt >= maxUpsertAttempts) {
        throw new Error(`execution of job "${execution.jobName}" could not be written after ${attempt} attempts`);
      }
    }
  }

  async listExecutions(): Promise<RecurringJobExecution[]> {
    const documents = await this.model
      .find()
      .sort({ _id: 1 })
      .lean<RecurringJobExecutionDocument[]>()
      .exec();
    return documents.map(toExecution);
  }
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

/** Rejects an execution that would store garbage, naming the field. */
function assertValidExecution(execution: RecurringJobExecution): void {
  if (typeof execution.jobName !== 'string' || execution.jobName.trim() === '') {
    throw new TypeError('execution.jobName must be a non-empty string');
  }
  for (const field of ['lastExecutedAt', 'lastOccurrenceAt'] as const) {
    if (!isValidDate(execution[field])) {
      throw new TypeError(`execution.${field} must be a valid Date`);
    }
  }
  if (execution.nextScheduledAt !== null && !isValidDate(execution.nextScheduledAt)) {
    throw new TypeError('execution.nextScheduledAt must be a valid Date or null');
  }
}

function toExecution(document: RecurringJobExecutionDocument): RecurringJobExecution {
  return {
    jobName: document._id,
    lastExecutedAt: document.lastExecutedAt,
    lastOccurrenceAt: document.lastOccurrenceAt,
    nextScheduledAt: document.nextScheduledAt ?? null,
    lastExecutedBy:
      document.lastExecutedBy === null || document.lastExecutedBy === undefined
        ? null
        : {
            hostName: document.lastExecutedBy.hostName,
            processId: document.lastExecutedBy.processId,
          },
  };
}
