import { Types, type Connection } from 'mongoose';
import { toFieldIssues, ValidationError } from '../validation.js';
import { enqueueEmailInputSchema } from './email-message.js';
import { defaultMessageIdDomain, getEmailQueueModel } from './email-queue.js';

export interface EnqueueEmailResult {
  /** The queue entry's id (the existing one's when `duplicate`). */
  readonly id: string;
  /** True when an entry with the same idempotency key existed: nothing was enqueued. */
  readonly duplicate: boolean;
}

export interface EnqueueEmailOptions {
  /** The default `nextAttemptAt` (when `sendAfter` is not given); defaults to now. */
  readonly now?: Date;
  /** Right-hand side of the Message-ID `<entryId@domain>`; defaults to `email-queue.invalid`. */
  readonly messageIdDomain?: string;
}

function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 11000;
}

/**
 * Validates `input` and adds it to the queue as `pending`, due at `sendAfter` (or now).
 * Invalid input throws a {@link ValidationError} naming each field, e.g.
 * `invalid email: to[1]: invalid email address`. With an `idempotencyKey` already used
 * (by any earlier email, whatever its content), nothing is enqueued and the existing id is
 * returned with `duplicate: true`; concurrent calls with one key enqueue exactly one email
 * (the unique index decides).
 */
export async function enqueueEmail(
  connection: Connection,
  input: unknown,
  options: EnqueueEmailOptions = {},
): Promise<EnqueueEmailResult> {
  const parsed = enqueueEmailInputSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError('invalid email', toFieldIssues(parsed.error));
  const { sendAfter, idempotencyKey, ...message } = parsed.data;
  const model = getEmailQueueModel(connection);
  const now = options.now ?? new Date();
  try {
    const id = new Types.ObjectId();
    const created = await model.create({
      _id: id,
      ...message,
      smtpMessageId: `<${id.toHexString()}@${options.messageIdDomain ?? defaultMessageIdDomain}>`,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      status: 'pending',
      attempts: 0,
      nextAttemptAt: sendAfter ?? now,
    });
    return { id: created._id.toHexString(), duplicate: false };
  } catch (error) {
    if (idempotencyKey === undefined || !isDuplicateKeyError(error)) throw error;
    const existing = await model.findOne({ idempotencyKey }, { _id: 1 }).lean();
    if (existing === null) throw error;
    return { id: existing._id.toHexString(), duplicate: true };
  }
}
