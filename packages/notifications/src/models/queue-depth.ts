/** How deep the email queue is, cheaply enough for every metrics scrape, and exactly for tools. */
import type { Connection } from 'mongoose';
import { emailStatuses, getEmailQueueModel, type EmailStatus } from './email-queue.js';

export interface EmailQueueDepth {
  /** `pending` entries (due now or later), counted up to `countLimit`. */
  readonly pending: number;
  /** `sending` entries (claimed, in flight or awaiting lease expiry), counted up to `countLimit`. */
  readonly sending: number;
  /** True when a count stopped at `countLimit`: the real figure is at least that. */
  readonly atLimit: boolean;
}

/** Counts stop here unless told otherwise: a scrape reads at most this many entries per status. */
export const defaultQueueDepthCountLimit = 10_000;

/**
 * The queue depth for metrics. Cost, whatever the size of the queue (sent and dead entries
 * kept for their retention included): two counts of one status each, served by the
 * `{ status, nextAttemptAt }` and `{ status, leaseExpiresAt }` indexes and stopped after
 * `countLimit` entries, so at most `2 x countLimit` index entries. A backlog beyond the limit
 * reads as the limit with `atLimit: true`.
 */
export async function queueDepth(
  connection: Connection,
  options: { readonly countLimit?: number } = {},
): Promise<EmailQueueDepth> {
  const countLimit = options.countLimit ?? defaultQueueDepthCountLimit;
  if (!Number.isSafeInteger(countLimit) || countLimit < 1) {
    throw new RangeError(`queueDepth countLimit must be an integer >= 1, got ${String(countLimit)}`);
  }
  const queue = getEmailQueueModel(connection);
  const [pending, sending] = await Promise.all([
    queue.countDocuments({ status: 'pending' }, { limit: countLimit }),
    queue.countDocuments({ status: 'sending' }, { limit: countLimit }),
  ]);
  return { pending, sending, atLimit: pending >= countLimit || sending >= countLimit };
}

/**
 * Exact count of every status (all present, 0 when none): one index count per status, so the
 * cost grows with the number of entries (sent and dead ones included). For tools and tests;
 * metrics use {@link queueDepth}.
 */
export async function countQueuedEmails(connection: Connection): Promise<Record<EmailStatus, number>> {
  const queue = getEmailQueueModel(connection);
  const counts = await Promise.all(emailStatuses.map((status) => queue.countDocuments({ status })));
  return Object.fromEntries(emailStatuses.map((status, index) => [status, counts[index] ?? 0])) as Record<
    EmailStatus,
    number
  >;
}
