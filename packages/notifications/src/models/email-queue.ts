/**
 * The `email_queue` collection: one document per email, moving
 * `pending -> sending -> sent | pending (retry) | failed | dead`.
 *
 * Every model is bound to the connection it is given, never to mongoose's default one.
 * Indexes are declared with `autoIndex: false` and created by
 * {@link ensureNotificationIndexes}. No TTL index (the bundled server rejects them, and
 * retention is pruned by the job in bounded batches anyway).
 */
import { Schema, type Connection, type Model, type Types } from 'mongoose';

export const emailStatuses = ['pending', 'sending', 'sent', 'failed', 'dead'] as const;

/**
 * `pending`: waiting for `nextAttemptAt`. `sending`: claimed by a worker until `leaseExpiresAt`.
 * `sent`: accepted by the SMTP server. `failed`: reserved for an operator's manual hold
 * (the job neither takes nor sets it). `dead`: given up (permanent failure, invalid entry,
 * or delivery attempts exhausted); `lastError` says why.
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
  /** Delivery attempts started (claimed), the crashed ones included. */
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
  /**
   * While `sending`: past this instant the claim counts as a dead worker's. The claiming run moves
   * it forward every third of the lease while it lives.
   */
  leaseExpiresAt?: Date;
  /**
   * Token of the claim that took the entry (one per claimed batch): the claiming run reads back
   * which of its candidates it won by it, and writes of a send result are conditional on it.
   */
  claimToken?: string;
  idempotencyKey?: string;
  createdAt: Date;
  /** Last change; for `sent` and `dead` entries, when they got there (retention counts from it). */
  updatedAt: Date;
}

export const emailQueueCollectionName = 'email_queue';
/** Right-hand side of generated Message-IDs when none is configured (`.invalid` is reserved). */
export const defaultMessageIdDomain = 'email-queue.invalid';

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
    // Never stored as null: a sparse index skips a missing field, not an explicit null.
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

// Claims: due pending entries, oldest due first (and the queue depth of `pending`).
emailQueueSchema.index({ status: 1, nextAttemptAt: 1 });
// Claims: expired `sending` leases (and the queue depth of `sending`).
emailQueueSchema.index({ status: 1, leaseExpiresAt: 1 });
// Retention: `sent` and `dead` entries by the time they got there.
emailQueueSchema.index({ status: 1, updatedAt: 1 });
// Sparse: only entries with a key are indexed, so any number of keyless entries coexist.
emailQueueSchema.index({ idempotencyKey: 1 }, { unique: true, sparse: true });

const emailQueueModelName = 'EmailQueueEntry';

/** The email queue model bound to `connection` (created once per connection). */
export function getEmailQueueModel(connection: Connection): Model<EmailQueueEntry> {
  const existing = connection.models[emailQueueModelName] as Model<EmailQueueEntry> | undefined;
  return existing ?? connection.model<EmailQueueEntry>(emailQueueModelName, emailQueueSchema);
}

/** Creates the collection and indexes of this package; idempotent. */
export async function ensureNotificationIndexes(connection: Connection): Promise<void> {
  // createIndexes creates a missing collection; an existing identical index is a no-op.
  await getEmailQueueModel(connection).createIndexes();
}
