import type {
  InstanceRegistry,
  RunInFlight,
  WorkerInstanceIdentity,
  WorkerInstanceRecord,
} from '@app/shared-jobs';
import type { Connection, Model } from 'mongoose';
import { getWorkerInstanceModel, type WorkerInstanceDocument } from '../models/worker-instance-model.js';

/** `InstanceRegistry` on Mongoose: collection `worker_instances`, the instance id as `_id`. */
export class MongooseInstanceRegistry implements InstanceRegistry {
  private readonly model: Model<WorkerInstanceDocument>;

  constructor(connection: Connection) {
    this.model = getWorkerInstanceModel(connection);
  }

  /** Creates the collection and its index. Call at start-up (idempotent). */
  async ensureIndexes(): Promise<void> {
    await this.model.createCollection();
    await this.model.createIndexes();
  }

  /** One upsert by `_id` (the record comes back if it was pruned while the worker was away). */
  async heartbeat(identity: WorkerInstanceIdentity, at: Date, runsInFlight: readonly RunInFlight[]): Promise<void> {
    await this.model
      .updateOne(
        { _id: identity.instanceId },
        {
          $set: {
            hostName: identity.hostName,
            processId: identity.processId,
            version: identity.version,
            startedAt: identity.startedAt,
            heartbeatAt: at,
            stoppedAt: null,
            runsInFlight: runsInFlight.map((run) => ({ ...run })),
          },
        },
        { upsert: true },
      )
      .exec();
  }

  async markStopped(instanceId: string, at: Date): Promise<void> {
    await this.model.updateOne({ _id: instanceId }, { $set: { stoppedAt: at, runsInFlight: [] } }).exec();
  }

  async list(limit: number): Promise<WorkerInstanceRecord[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${String(limit)}`);
    const documents = await this.model.find().sort({ heartbeatAt: -1 }).limit(limit).lean<WorkerInstanceDocument[]>().exec();
    return documents.map((document) => ({
      instanceId: document._id,
      hostName: document.hostName,
      processId: document.processId,
      version: document.version,
      startedAt: document.startedAt,
      heartbeatAt: document.heartbeatAt,
      stoppedAt: document.stoppedAt ?? null,
      runsInFlight: (document.runsInFlight ?? []).map((run) => ({
        runId: run.runId,
        jobName: run.jobName,
        occurrenceAt: run.occurrenceAt,
        attempt: run.attempt,
        startedAt: run.startedAt,
      })),
    }));
  }

  async pruneSilentBefore(cutoff: Date, batchSize: number): Promise<number> {
    const batch = await this.model
      .find({ heartbeatAt: { $lt: cutoff } }, { _id: 1 })
      .limit(batchSize)
      .lean<Pick<WorkerInstanceDocument, '_id'>[]>()
      .exec();
    if (batch.length === 0) return 0;
    const deletion = await this.model
      .deleteMany({ _id: { $in: batch.map((record) => record._id) }, heartbeatAt: { $lt: cutoff } })
      .exec();
    return deletion.deletedCount;
  }
}
