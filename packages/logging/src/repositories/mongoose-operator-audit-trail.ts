import type { Connection, Model } from 'mongoose';
import { Types } from 'mongoose';
import {
  getOperatorAuditModel,
  type OperatorAuditDocument,
} from '../models/operator-audit-model.js';

/** What {@link MongooseOperatorAuditTrail.record} stores (`_id` is assigned). */
export type OperatorAuditInput = Omit<OperatorAuditDocument, '_id'>;

/** A stored record with its id as hex. */
export type OperatorAuditRecord = OperatorAuditInput & { readonly id: string };

/** Where a page of {@link MongooseOperatorAuditTrail.list} ended. */
export interface OperatorAuditPosition {
  readonly at: Date;
  readonly id: string;
}

/** Deleted per round trip when pruning (FerretDB deletes all matches in one SQL statement). */
const pruneBatchSize = 10_000;

/**
 * The operator audit trail in `operator_audit`: one document per action, listed newest
 * first by keyset (`at`, `_id`), pruned by age in code (LogCleanupJob).
 */
export class MongooseOperatorAuditTrail {
  private readonly model: Model<OperatorAuditDocument>;

  constructor(connection: Connection) {
    this.model = getOperatorAuditModel(connection);
  }

  /** Creates the collection and its indexes (idempotent). Call at start-up. */
  async ensureIndexes(): Promise<void> {
    await this.model.createCollection();
    await this.model.createIndexes();
  }

  async record(input: OperatorAuditInput): Promise<OperatorAuditRecord> {
    const [created] = await this.model.insertMany([{ ...input, _id: new Types.ObjectId() }], {
      lean: true,
    });
    return toRecord(created as OperatorAuditDocument);
  }

  /** Newest first; `after` is the last record of the previous page. */
  async list(options: { readonly limit: number; readonly after?: OperatorAuditPosition }): Promise<OperatorAuditRecord[]> {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new RangeError(`limit must be an integer >= 1, got ${String(options.limit)}`);
    }
    const after = options.after;
    let filter = {};
    if (after !== undefined) {
      if (!Types.ObjectId.isValid(after.id) || !/^[0-9a-f]{24}$/iu.test(after.id)) {
        throw new TypeError('after.id is not an audit record id');
      }
      filter = {
        $or: [{ at: { $lt: after.at } }, { at: after.at, _id: { $lt: new Types.ObjectId(after.id) } }],
      };
    }
    const documents = await this.model
      .find(filter)
      .sort({ at: -1, _id: -1 })
      .limit(options.limit)
      .lean<OperatorAuditDocument[]>()
      .exec();
    return documents.map(toRecord);
  }

  /** The newest successful request of an occurrence (trigger, rerun) of `target`, or null. */
  async findOccurrenceRequest(target: string, occurrenceAt: Date): Promise<OperatorAuditRecord | null> {
    const document = await this.model
      .findOne({ target, occurrenceAt, outcome: 'succeeded' })
      .sort({ at: -1 })
      .lean<OperatorAuditDocument>()
      .exec();
    return document === null ? null : toRecord(document);
  }

  /** Deletes records older than `cutoff` (strictly); returns how many. */
  async pruneBefore(cutoff: Date): Promise<number> {
    if (!(cutoff instanceof Date) || Number.isNaN(cutoff.getTime())) {
      throw new TypeError('cutoff must be a valid Date');
    }
    let deleted = 0;
    for (;;) {
      // Delete by `at` range in batches: one boundary read, one range delete.
      const boundary = await this.model
        .find({ at: { $lt: cutoff } }, { at: 1 })
        .sort({ at: 1 })
        .skip(pruneBatchSize - 1)
        .limit(1)
        .lean<Pick<OperatorAuditDocument, 'at'>[]>()
        .exec();
      const upTo = boundary[0]?.at;
      const result = await this.model
        .deleteMany(upTo === undefined ? { at: { $lt: cutoff } } : { at: { $lte: upTo, $lt: cutoff } })
        .exec();
      deleted += result.deletedCount;
      if (upTo === undefined || result.deletedCount === 0) return deleted;
    }
  }
}

function toRecord(document: OperatorAuditDocument): OperatorAuditRecord {
  return {
    id: document._id.toHexString(),
    at: document.at,
    actor: {
      name: document.actor.name,
      role: document.actor.role,
      via: document.actor.via,
      address: document.actor.address ?? null,
    },
    action: document.action,
    target: document.target,
    occurrenceAt: document.occurrenceAt ?? null,
    outcome: document.outcome,
    message: document.message,
    reason: document.reason ?? null,
  };
}
