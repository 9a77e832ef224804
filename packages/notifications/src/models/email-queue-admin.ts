/**
 * Read and repair functions for operators (the worker console): the oldest pending entry,
 * pages of entries by status, and requeueing a dead entry.
 */
import { Types, type Connection } from 'mongoose';
import { getEmailQueueModel, type EmailQueueEntry, type EmailStatus } from './email-queue.js';

/** What an operator sees of an entry: no bodies. */
export type EmailQueueEntrySummary = Pick<
  EmailQueueEntry,
  'to' | 'subject' | 'status' | 'attempts' | 'nextAttemptAt' | 'createdAt' | 'updatedAt'
> & {
  readonly id: string;
  readonly lastError: string | null;
};

const summaryProjection = {
  to: 1,
  subject: 1,
  status: 1,
  attempts: 1,
  nextAttemptAt: 1,
  lastError: 1,
  createdAt: 1,
  updatedAt: 1,
} as const;

type SummaryDocument = Pick<
  EmailQueueEntry,
  '_id' | 'to' | 'subject' | 'status' | 'attempts' | 'nextAttemptAt' | 'lastError' | 'createdAt' | 'updatedAt'
>;

function toSummary(document: SummaryDocument): EmailQueueEntrySummary {
  return {
    id: document._id.toHexString(),
    to: document.to,
    subject: document.subject,
    status: document.status,
    attempts: document.attempts,
    nextAttemptAt: document.nextAttemptAt,
    lastError: document.lastError ?? null,
    createdAt: document.createdAt,
    updatedAt: document.updatedAt,
  };
}

function isEntryId(id: string): boolean {
  return /^[0-9a-f]{24}$/iu.test(id);
}

/** The pending entry due first (the queue's oldest work), or null. */
export async function findOldestPendingEmail(connection: Connection): Promise<EmailQueueEntrySummary | null> {
  const document = await getEmailQueueModel(connection)
    .findOne({ status: 'pending' }, summaryProjection)
    .sort({ nextAttemptAt: 1 })
    .lean<SummaryDocument>();
  return document === null ? null : toSummary(document);
}

/**
 * A page of entries with one of `statuses`, newest first (by id, which follows creation);
 * `afterId` is the last id of the previous page.
 */
export async function listEmailQueueEntries(
  connection: Connection,
  options: { readonly statuses: readonly EmailStatus[]; readonly limit: number; readonly afterId?: string },
): Promise<EmailQueueEntrySummary[]> {
  if (!Number.isInteger(options.limit) || options.limit < 1) {
    throw new RangeError(`limit must be an integer >= 1, got ${String(options.limit)}`);
  }
  const filter: Record<string, unknown> = { status: { $in: [...options.statuses] } };
  if (options.afterId !== undefined) {
    if (!isEntryId(options.afterId)) throw new TypeError('afterId is not an email queue entry id');
    filter._id = { $lt: new Types.ObjectId(options.afterId) };
  }
  const documents = await getEmailQueueModel(connection)
    .find(filter, summaryProjection)
    .sort({ _id: -1 })
    .limit(options.limit)
    .lean<SummaryDocument[]>();
  return documents.map(toSummary);
}

export type RequeueEmailResult =
  | { readonly requeued: true; readonly entry: EmailQueueEntrySummary }
  | { readonly requeued: false; readonly reason: 'not_found' }
  | { readonly requeued: false; readonly reason: 'not_dead'; readonly status: EmailStatus };

/**
 * Puts a `dead` entry back to `pending`, due at `now`. Its attempt count is kept: it gets one
 * more delivery attempt, which counts as the last allowed one (a failure makes it dead again).
 * Only a dead entry is changed.
 */
export async function requeueDeadEmail(
  connection: Connection,
  id: string,
  now: Date = new Date(),
): Promise<RequeueEmailResult> {
  if (!isEntryId(id)) return { requeued: false, reason: 'not_found' };
  const model = getEmailQueueModel(connection);
  const entryId = new Types.ObjectId(id);
  const update = await model.updateOne(
    { _id: entryId, status: 'dead' },
    { $set: { status: 'pending', nextAttemptAt: now }, $unset: { claimToken: 1, leaseExpiresAt: 1 } },
  );
  const current = await model.findById(entryId, summaryProjection).lean<SummaryDocument>();
  if (current === null) return { requeued: false, reason: 'not_found' };
  if (update.matchedCount === 0) return { requeued: false, reason: 'not_dead', status: current.status };
  return { requeued: true, entry: toSummary(current) };
}
