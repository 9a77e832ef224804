/**
 * The `email_queue` collection: one document per email, moving
 * `pending -> sending -> sent | pending (retry) | failed | dead`.
 *
 * Every model is bound to the connection it is given, never to mongoose's default one.
 * Indexes are declared with `autoIndex: false` and created by
 * {@link ensureNotificationIndexes}. No TTL index: FerretDB v1 rejects them (code 238).
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

export const emailStatuses = ['pending', 'sending', 'sent', 'failed', 'dead'] as const;

/**
 * `pending`: waiting for `nextAttemptAt`. `sending`: claimed by a worker until `leaseExpiresAt`.
 * `sent`: accepted by the SMTP server. `failed`: reserved for an operator's manual hold
 * (the job neither takes nor sets it). `dead`: given up (permanent failure, invalid entry,
 * or attempts exhausted); `lastError` says why.
 */
export type EmailStatus = (typeof emailStatuses)[number];

export interface EmailQueueEntry {
  _id: Types.ObjectId;
  to: string[];
  cc?: string[];
  bcc?: string[];
  from?: string;
  subject: string;
  text?: string;
  html?: string;
  status: EmailStatus;
  /** Send attempts started (claimed), the crashed ones included. */
  attempts: number;
  nextAttemptAt: Date;
  lastError?: string;
  sentAt?: Date;
  /**
   * The Message-ID header of the email, `<entryId@domain>`, assigned at enqueue so it is the
   * same on every attempt (a receiver can drop an at-least-once duplicate by it). Once
   * `sent`, it is the id the SMTP server accepted (the send result confirms it).
   */
  smtpMessageId?: string;
  /** While `sending`: past this instant the claim counts as a crashed worker's. */
  leaseExpiresAt?: Date;
  /** Token of the current claim (one per job run); writes of a send result are conditional on it. */
  claimToken?: string;
  idempotencyKey?: string;
  createdAt: Date;
  updatedAt: Date;
}

export const emailQueueCollectionName = 'email_queue';
/** Right-hand side of generated Message-IDs when none is configured (`.invalid` is reserved). */
export const defaultMessageIdDomain = 'email-queue.invalid';
export const emailSendClaimsCollectionName = 'email_send_claims';

const emailQueueSchema = new Schema<EmailQueueEntry>(
  {
    to: { type: [String], required: true },
    cc: { type: [String], default: undefined },
    bcc: { type: [String], default: undefined },
    from: { type: String },
    subject: { type: String, required: true },
    text: { type: String },
    html: { type: String },
    status: { type: String, enum: emailStatuses, required: true, default: 'pending' },
    attempts: { type: Number, required: true, default: 0 },
    nextAttemptAt: { type: Date, required: true },
    lastError: { type: String },
    sentAt: { type: Date },
    smtpMessageId: { type: String },
    leaseExpiresAt: { type: Date },
    claimToken: { type: String },
    // Never stored as null: FerretDB indexes an explicit null (two nulls collide) but
    // not a missing field.
    idempotencyKey: { type: String },
  },
  {
    collection: emailQueueCollectionName,
    timestamps: true,
    autoIndex: false,
    autoCreate: false,
    versionKey: false,
  },
);

// Due pending entries, and expired `sending` leases.
emailQueueSchema.index({ status: 1, nextAttemptAt: 1 });
emailQueueSchema.index({ status: 1, leaseExpiresAt: 1 });
// Sparse: only entries with a key are indexed. FerretDB v1 rejects
// `partialFilterExpression` (code 238) and drops `sparse` from the index definition, but
// it never indexes a missing field, so the behaviour is the same (tested).
emailQueueSchema.index({ idempotencyKey: 1 }, { unique: true, sparse: true });

/**
 * One document per send attempt, key `(emailId, attempt)` under a unique index.
 * Inserting it is how a worker claims attempt N of an email: a unique-index insert is
 * atomic on FerretDB, where `findOneAndUpdate` is not.
 */
export interface EmailSendClaim {
  _id: Types.ObjectId;
  emailId: Types.ObjectId;
  attempt: number;
  claimToken: string;
  claimedAt: Date;
}

const emailSendClaimSchema = new Schema<EmailSendClaim>(
  {
    emailId: { type: Schema.Types.ObjectId, required: true },
    attempt: { type: Number, required: true },
    claimToken: { type: String, required: true },
    claimedAt: { type: Date, required: true },
  },
  {
    collection: emailSendClaimsCollectionName,
    autoIndex: false,
    autoCreate: false,
    versionKey: false,
  },
);

emailSendClaimSchema.index({ emailId: 1, attempt: 1 }, { unique: true });
emailSendClaimSchema.index({ claimedAt: 1 });

const emailQueueModelName = 'EmailQueueEntry';
const emailSendClaimModelName = 'EmailSendClaim';

/** The email queue model bound to `connection` (created once per connection). */
export function getEmailQueueModel(connection: Connection): Model<EmailQueueEntry> {
  const existing = connection.models[emailQueueModelName] as Model<EmailQueueEntry> | undefined;
  return existing ?? connection.model<EmailQueueEntry>(emailQueueModelName, emailQueueSchema);
}

/** The send-claim model bound to `connection`. */
export function getEmailSendClaimModel(connection: Connection): Model<EmailSendClaim> {
  const existing = connection.models[emailSendClaimModelName] as Model<EmailSendClaim> | undefined;
  return existing ?? connection.model<EmailSendClaim>(emailSendClaimModelName, emailSendClaimSchema);
}

/** Creates the collections and indexes of this package; idempotent. */
export async function ensureNotificationIndexes(connection: Connection): Promise<void> {
  // createIndexes creates a missing collection; an existing identical index is a no-op.
  await getEmailQueueModel(connection).createIndexes();
  await getEmailSendClaimModel(connection).createIndexes();
}
