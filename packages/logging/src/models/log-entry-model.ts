import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { modelOnConnection } from './model-on-connection.js';

export const logEntriesCollection = 'log_entries';

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof logLevels)[number];

export interface LogEntryException {
  name: string;
  message: string;
  stack?: string;
}

/** One structured log line persisted by the application. */
export interface LogEntryDocument {
  _id: Types.ObjectId;
  timestamp: Date;
  level: LogLevel;
  message: string;
  /** The emitting component, e.g. `worker`, `LogCleanupJob`, `identity`. */
  source: string | null;
  /** Job name and run id when the line was written during a job run. */
  jobName: string | null;
  runId: string | null;
  /** Trace correlation (OpenTelemetry), when known. */
  traceId: string | null;
  spanId: string | null;
  /** Structured fields of the line. */
  properties: Record<string, unknown> | null;
  exception: LogEntryException | null;
}

const logEntryExceptionSchema = new Schema<LogEntryException>(
  {
    name: { type: String, required: true },
    message: { type: String, required: true },
    stack: { type: String },
  },
  { _id: false, versionKey: false },
);

const logEntrySchema = new Schema<LogEntryDocument>(
  {
    timestamp: { type: Date, required: true },
    level: { type: String, required: true, enum: logLevels },
    message: { type: String, required: true },
    source: { type: String, default: null },
    jobName: { type: String, default: null },
    runId: { type: String, default: null },
    traceId: { type: String, default: null },
    spanId: { type: String, default: null },
    properties: { type: Schema.Types.Mixed, default: null },
    exception: { type: logEntryExceptionSchema, default: null },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: 'throw', minimize: false },
);

// Retention cleanup (oldest first, by batch) and time-range reads. No TTL index: retention is
// LogCleanupJob's setting, applied in bounded batches with progress (and the bundled server has no TTL).
logEntrySchema.index({ timestamp: 1 }, { name: 'log_entry_timestamp' });

/** The `log_entries` model on `connection`. */
export function getLogEntryModel(connection: Connection): Model<LogEntryDocument> {
  return modelOnConnection(connection, 'LogEntry', logEntrySchema, logEntriesCollection);
}

/** Creates the `log_entries` collection and its `timestamp` index. Call at start-up. */
export async function ensureLogEntryIndexes(connection: Connection): Promise<void> {
  const model = getLogEntryModel(connection);
  await model.createCollection();
  await model.createIndexes();
}
