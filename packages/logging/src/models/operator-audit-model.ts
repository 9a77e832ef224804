import { Schema, type Connection, type Model, type Types } from 'mongoose';
import { modelOnConnection } from './model-on-connection.js';

export const operatorAuditCollection = 'operator_audit';

/** Who acted: the name and role of the credential, and how the request was authenticated. */
export interface OperatorAuditActor {
  name: string;
  role: string;
  /** `session` (console sign-in), `bearer` (API token) or `loopback` (no sign-in on 127.0.0.1). */
  via: string;
  /** The client address, when known. */
  address: string | null;
}

/** One operator action (trigger, pause, resume, rerun, requeue): who, what, when, outcome. */
export interface OperatorAuditDocument {
  _id: Types.ObjectId;
  at: Date;
  actor: OperatorAuditActor;
  /** e.g. `trigger`, `pause`, `resume`, `rerun`, `requeue-email`. */
  action: string;
  /** What it acted on: a job name, or `email:<id>`. */
  target: string;
  /** The occurrence it scheduled or named (trigger, rerun), else null. */
  occurrenceAt: Date | null;
  outcome: 'succeeded' | 'failed';
  /** What happened, in words (the error message when it failed). */
  message: string;
  /** The operator's reason, when given. */
  reason: string | null;
}

const actorSchema = new Schema<OperatorAuditActor>(
  {
    name: { type: String, required: true },
    role: { type: String, required: true },
    via: { type: String, required: true },
    address: { type: String, default: null },
  },
  { _id: false, versionKey: false },
);

const operatorAuditSchema = new Schema<OperatorAuditDocument>(
  {
    at: { type: Date, required: true },
    actor: { type: actorSchema, required: true },
    action: { type: String, required: true },
    target: { type: String, required: true },
    occurrenceAt: { type: Date, default: null },
    outcome: { type: String, required: true, enum: ['succeeded', 'failed'] },
    message: { type: String, required: true },
    reason: { type: String, default: null },
  },
  { versionKey: false, autoIndex: false, autoCreate: false, strict: 'throw', minimize: false },
);

// Newest first listing (keyset on at, _id) and pruning by age. No TTL: FerretDB rejects it.
operatorAuditSchema.index({ at: -1, _id: -1 }, { name: 'operator_audit_at' });
// Who requested an occurrence (the run page's "requested by").
operatorAuditSchema.index({ target: 1, occurrenceAt: 1 }, { name: 'operator_audit_occurrence' });

/** The `operator_audit` model on `connection`. */
export function getOperatorAuditModel(connection: Connection): Model<OperatorAuditDocument> {
  return modelOnConnection(connection, 'OperatorAudit', operatorAuditSchema, operatorAuditCollection);
}
