import type { JobRunStatus } from '@app/shared-jobs';
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { instanceSchema, type InstanceDocument } from './instance-schema.js';
import { modelOnConnection } from './model-on-connection.js';

export const jobRunsCollection = 'job_runs';

export interface JobRunErrorDocument {
  name: string;
  message: string;
  stack?: string;
}

/** One attempt of one occurrence (the ledger and the run history). */
export interface JobRunDocument {
  _id: Types.ObjectId;
  jobName: string;
  occurrenceAt: Date;
  attempt: number;
  status: JobRunStatus;
  instance: InstanceDocument;
  startedAt: Date;
  leaseExpiresAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  error: JobRunErrorDocument | null;
  result: Record<string, number | string | boolean> | null;
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
    status: {
      type: String,
      required: true,
      enum: ['running', 'succeeded', 'failed', 'interrupted', 'abandoned'],
    },
    instance: { type: instanceSchema, required: true },
    startedAt: { type: Date, required: true },
    leaseExpiresAt: { type: Date, required: true },
    finishedAt: { type: Date, default: null },
    durationMs: { type: Number, default: null },
    error: { type: jobRunErrorSchema, default: null },
    result: { type: Schema.Types.Mixed, default: null },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: 'throw', minimize: false },
);

// The occurrence ledger: exactly one claim per (job, occurrence, attempt). The one
// primitive FerretDB makes atomic under concurrency.
jobRunSchema.index(
  { jobName: 1, occurrenceAt: 1, attempt: 1 },
  { unique: true, name: 'job_run_claim_unique' },
);
// listRecentRuns / listLatestRunPerJob: newest runs of one job.
jobRunSchema.index({ jobName: 1, startedAt: -1 }, { name: 'job_run_recent' });
// pruneFinishedBefore: finished runs by finish instant (no TTL index: FerretDB rejects them).
jobRunSchema.index({ finishedAt: 1 }, { name: 'job_run_finished_at' });

/** The `job_runs` model on `connection`. */
export function getJobRunModel(connection: Connection): Model<JobRunDocument> {
  return modelOnConnection(connection, 'JobRun', jobRunSchema, jobRunsCollection);
}
