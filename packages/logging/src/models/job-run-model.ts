import type { JobRunStatus, OccurrenceCause } from '@app/shared-jobs';
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { instanceSchema, type InstanceDocument } from './instance-schema.js';
import { modelOnConnection } from './model-on-connection.js';

export const jobRunsCollection = 'job_runs';

export interface JobRunErrorDocument {
  name: string;
  message: string;
  stack?: string;
}

export interface JobProgressDocument {
  completed?: number;
  total?: number;
  message?: string;
}

/**
 * One attempt of one occurrence (the ledger and the run history). Runs written by
 * release 0.1.0 lack `cause`, `requestedBy`, `instanceId`, `progress` and `traceId`:
 * they read as cause `schedule` (`retry` past the first attempt) and nulls.
 */
export interface JobRunDocument {
  _id: Types.ObjectId;
  jobName: string;
  occurrenceAt: Date;
  attempt: number;
  cause?: OccurrenceCause;
  requestedBy?: string | null;
  status: JobRunStatus;
  instance: InstanceDocument;
  instanceId?: string | null;
  startedAt: Date;
  leaseExpiresAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  error: JobRunErrorDocument | null;
  result: Record<string, number | string | boolean> | null;
  progress?: JobProgressDocument | null;
  traceId?: string | null;
}

export const jobRunErrorSchema = new Schema<JobRunErrorDocument>(
  {
    name: { type: String, required: true },
    message: { type: String, required: true },
    stack: { type: String },
  },
  { _id: false, versionKey: false },
);

const jobRunSchema = new Schema<JobRunDocument>(
  {
    jobName: { type: String, required: true },
    occurrenceAt: { type: Date, required: true },
    attempt: { type: Number, required: true, min: 1 },
    cause: { type: String, required: true, enum: ['schedule', 'catch-up', 'retry', 'trigger', 'rerun'] },
    requestedBy: { type: String, default: null },
    status: {
      type: String,
      required: true,
      enum: ['running', 'succeeded', 'failed', 'interrupted', 'abandoned'],
    },
    instance: { type: instanceSchema, required: true },
    instanceId: { type: String, default: null },
    startedAt: { type: Date, required: true },
    leaseExpiresAt: { type: Date, required: true },
    finishedAt: { type: Date, default: null },
    durationMs: { type: Number, default: null },
    error: { type: jobRunErrorSchema, default: null },
    result: { type: Schema.Types.Mixed, default: null },
    progress: { type: Schema.Types.Mixed, default: null },
    traceId: { type: String, default: null },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: 'throw', minimize: false },
);

// The occurrence ledger: exactly one claim per (job, occurrence, attempt); also serves
// the attempts of one occurrence in attempt order.
jobRunSchema.index({ jobName: 1, occurrenceAt: 1, attempt: 1 }, { unique: true, name: 'job_run_claim_unique' });
// History pages (newest first, keyset on start and id) and the latest run of a job.
jobRunSchema.index({ jobName: 1, startedAt: -1, _id: -1 }, { name: 'job_run_history' });
// History filtered by one status, and the runs in flight of a job.
jobRunSchema.index({ jobName: 1, status: 1, startedAt: -1, _id: -1 }, { name: 'job_run_status_history' });
// Pruning: finished runs by finish instant (null while running, so never matched).
jobRunSchema.index({ finishedAt: 1 }, { name: 'job_run_finished_at' });

/** Index names of release 0.1.0 that are dropped at start-up. */
export const legacyJobRunIndexNames = ['job_run_recent'] as const;

/** The `job_runs` model on `connection`. */
export function getJobRunModel(connection: Connection): Model<JobRunDocument> {
  return modelOnConnection(connection, 'JobRun', jobRunSchema, jobRunsCollection);
}
