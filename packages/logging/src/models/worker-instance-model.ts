import { Schema, type Connection, type Model } from 'mongoose';
import { modelOnConnection } from './model-on-connection.js';

export const workerInstancesCollection = 'worker_instances';

export interface RunInFlightDocument {
  runId: string;
  jobName: string;
  occurrenceAt: Date;
  attempt: number;
  startedAt: Date;
}

/** One worker process: what it said about itself, its last heartbeat and its runs in flight. */
export interface WorkerInstanceDocument {
  _id: string;
  hostName: string;
  processId: number;
  version: string;
  startedAt: Date;
  heartbeatAt: Date;
  stoppedAt: Date | null;
  runsInFlight: RunInFlightDocument[];
}

const runInFlightSchema = new Schema<RunInFlightDocument>(
  {
    runId: { type: String, required: true },
    jobName: { type: String, required: true },
    occurrenceAt: { type: Date, required: true },
    attempt: { type: Number, required: true },
    startedAt: { type: Date, required: true },
  },
  { _id: false, versionKey: false },
);

const workerInstanceSchema = new Schema<WorkerInstanceDocument>(
  {
    _id: { type: String, required: true },
    hostName: { type: String, required: true },
    processId: { type: Number, required: true },
    version: { type: String, required: true },
    startedAt: { type: Date, required: true },
    heartbeatAt: { type: Date, required: true },
    stoppedAt: { type: Date, default: null },
    runsInFlight: { type: [runInFlightSchema], default: [] },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: 'throw' },
);

// Listing (most recent first) and pruning (silent before a cutoff).
workerInstanceSchema.index({ heartbeatAt: -1 }, { name: 'worker_instance_heartbeat' });

/** The `worker_instances` model on `connection`. */
export function getWorkerInstanceModel(connection: Connection): Model<WorkerInstanceDocument> {
  return modelOnConnection(connection, 'WorkerInstance', workerInstanceSchema, workerInstancesCollection);
}
