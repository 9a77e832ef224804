import { Schema, type Connection, type Model } from 'mongoose';
import { modelOnConnection } from './model-on-connection.js';
import { instanceSchema, type InstanceDocument } from './instance-schema.js';

export const recurringJobExecutionsCollection = 'recurring_job_executions';

/** One document per recurring job; the job name is the `_id` (unique by construction). */
export interface RecurringJobExecutionDocument {
  _id: string;
  lastExecutedAt: Date;
  lastOccurrenceAt: Date;
  nextScheduledAt: Date | null;
  lastExecutedBy: InstanceDocument | null;
}

const recurringJobExecutionSchema = new Schema<RecurringJobExecutionDocument>(
  {
    _id: { type: String, required: true },
    lastExecutedAt: { type: Date, required: true },
    lastOccurrenceAt: { type: Date, required: true },
    nextScheduledAt: { type: Date, default: null },
    lastExecutedBy: { type: instanceSchema, default: null },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: 'throw' },
);

/** The `recurring_job_executions` model on `connection`. */
export function getRecurringJobExecutionModel(
  connection: Connection,
): Model<RecurringJobExecutionDocument> {
  return modelOnConnection(
    connection,
    'RecurringJobExecution',
    recurringJobExecutionSchema,
    recurringJobExecutionsCollection,
  );
}
