import type { JobRunStatus } from '@app/shared-jobs';
import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { jobRunErrorSchema, type JobRunErrorDocument } from './job-run-model.js';
import { modelOnConnection } from './model-on-connection.js';

export const jobRunFinishesCollection = 'job_run_finishes';

/**
 * The decided end of one run, written once: `_id` is the run's `_id`, so of any number of
 * concurrent `finish` calls exactly one insert succeeds (FerretDB's conditional updates
 * are not atomic; its unique indexes are). The run document is then updated to match.
 */
export interface JobRunFinishDocument {
  _id: Types.ObjectId;
  status: Exclude<JobRunStatus, 'running'>;
  finishedAt: Date;
  durationMs: number;
  error: JobRunErrorDocument | null;
  result: Record<string, number | string | boolean> | null;
}

const jobRunFinishSchema = new Schema<JobRunFinishDocument>(
  {
    status: {
      type: String,
      required: true,
      enum: ['succeeded', 'failed', 'interrupted', 'abandoned'],
    },
    finishedAt: { type: Date, required: true },
    durationMs: { type: Number, required: true },
    error: { type: jobRunErrorSchema, default: null },
    result: { type: Schema.Types.Mixed, default: null },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: 'throw', minimize: false },
);

// Pruned together with the runs.
jobRunFinishSchema.index({ finishedAt: 1 }, { name: 'job_run_finish_finished_at' });

/** The `job_run_finishes` model on `connection`. */
export function getJobRunFinishModel(connection: Connection): Model<JobRunFinishDocument> {
  return modelOnConnection(connection, 'JobRunFinish', jobRunFinishSchema, jobRunFinishesCollection);
}
