/**
 * EmailQueueProcessJob: sends due queue entries, at least once each, never twice in the
 * normal course (see README "Delivery guarantee").
 *
 * One run:
 * 1. reads up to `batchSize` due entries: `pending` with `nextAttemptAt <= now`, and
 *    `sending` entries whose lease expired (their worker died);
 * 2. claims attempt `attempts + 1` of each by inserting `(emailId, attempt)` into
 *    `email_send_claims` under a unique index, all in one unordered insert. A unique-index
 *    insert is atomic on FerretDB (its `findOneAndUpdate` is not), so of two workers that
 *    read the same entry exactly one owns the attempt; the other skips it;
 * 3. marks the owned entries `sending` with the claim token and a lease;
 * 4. sends them, `concurrency` at a time, checking `context.signal` before each send;
 * 5. records each outcome, conditional on the claim token: `sent` (with the Message-ID),
 *    `pending` again with a backoff delay (transient failure), or `dead` with the reason
 *    (permanent failure, invalid entry, or the last allowed attempt failed).
 */
import { randomUUID } from 'node:crypto';
import type { JobContext, RecurringJob } from '@app/shared-jobs';
import { mongo, type Connection } from 'mongoose';
import { findEmailMessageIssues } from '../models/email-message.js';
import {
  defaultMessageIdDomain,
  emailStatuses,
  getEmailQueueModel,
  getEmailSendClaimModel,
  type EmailQueueEntry,
  type EmailStatus,
} from '../models/email-queue.js';
import { classifyEmailSendError, type EmailSender } from '../sender/email-sender.js';
import type { EmailQueueSettings } from '../settings.js';
import { describeFieldIssues } from '../validation.js';
import { computeRetryDelayMs } from './retry-delay.js';

export const emailQueueProcessJobName = 'EmailQueueProcessJob';

export type EmailQueueProcessResult = {
  /** Accepted by the SMTP server in this run. */
  sent: number;
  /** Failed transiently and rescheduled. */
  retried: number;
  /** Given up in this run. */
  dead: number;
};

export interface EmailQueueProcessJobOptions {
  readonly connection: Connection;
  readonly sender: EmailSender;
  readonly settings: EmailQueueSettings;
  /**
   * Right-hand side of the Message-ID `<entryId@domain>` given to an entry that has none
   * (written by other means than enqueueEmail, which assigns it).
   */
  readonly messageIdDomain?: string;
}

/** Claims older than this are deleted (at most once an hour per job instance). */
export const sendClaimRetentionMs = 7 * 24 * 60 * 60 * 1000;
const claimPruneIntervalMs = 60 * 60 * 1000;
const maxStoredErrorLength = 1000;
/**
 * Sent entries are marked in groups of this many with one `updateMany`: FerretDB updates cost
 * milliseconds per statement. A crash loses at most this many marks (those emails are sent
 * again after their lease: at least once).
 */
export const sentMarkGroupSize = 50;
/** Header carrying the queue entry id on every email (duplicates are countable at the receiver). */
export const emailQueueIdHeader = 'X-Email-Queue-Id';

type QueueEntry = Pick<
  EmailQueueEntry,
  | '_id'
  | 'to'
  | 'cc'
  | 'bcc'
  | 'from'
  | 'subject'
  | 'text'
  | 'html'
  | 'status'
  | 'attempts'
  | 'smtpMessageId'
>;

interface ClaimedEntry {
  readonly entry: QueueEntry;
  readonly attempt: number;
  readonly claimToken: string;
}

function truncate(text: string): string {
  return text.length <= maxStoredErrorLength ? text : `${text.slice(0, maxStoredErrorLength - 1)}…`;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Indexes of the documents an unordered insert could not write (duplicate claims). */
function failedIndexes(error: InstanceType<typeof mongo.MongoBulkWriteError>): Set<number> {
  return new Set([error.writeErrors].flat().map((writeError) => writeError.index));
}

/** Queue depth by status, every status present (0 when none). */
export async function countQueuedEmails(connection: Connection): Promise<Record<EmailStatus, number>> {
  const groups = await getEmailQueueModel(connection).aggregate<{ _id: string; count: number }>([
    { $group: { _id: '$status', count: { $sum: 1 } } },
  ]);
  const counts = Object.fromEntries(emailStatuses.map((status) => [status, 0])) as Record<
    EmailStatus,
    number
  >;
  for (const group of groups) {
    if ((emailStatuses as readonly string[]).includes(group._id)) {
      counts[group._id as EmailStatus] = group.count;
    }
  }
  return counts;
}

/** The recurring job; its lock lifetime is the sending lease. */
export function createEmailQueueProcessJob(
  options: EmailQueueProcessJobOptions,
): RecurringJob<EmailQueueProcessResult> {
  const { settings } = options;
  let lastClaimPruneMs = Number.NEGATIVE_INFINITY;
  return {
    name: emailQueueProcessJobName,
    intervalMs: settings.processingIntervalSeconds * 1000,
    lockLifetimeMs: settings.sendingLeaseSeconds * 1000,
    async run(context: JobContext): Promise<EmailQueueProcessResult> {
      const result: EmailQueueProcessResult = { sent: 0, retried: 0, dead: 0 };
      if (!settings.enabled) {
        context.logger.debug('email queue processing is disabled');
        return result;
      }
      const nowMs = context.clock.now().getTime();
      if (nowMs - lastClaimPruneMs >= claimPruneIntervalMs) {
        lastClaimPruneMs = nowMs;
        await getEmailSendClaimModel(options.connection).deleteMany({
          claimedAt: { $lt: new Date(nowMs - sendClaimRetentionMs) },
        });
      }
      const claimed = await claimDueEntries(options, context);
      await sendClaimedEntries(options, context, claimed, result);
      if (claimed.length > 0) {
        context.logger.info('email queue batch processed', { claimed: claimed.length, ...result });
      }
      return result;
    },
  };
}

async function claimDueEntries(
  options: EmailQueueProcessJobOptions,
  context: JobContext,
): Promise<ClaimedEntry[]> {
  const { connection, settings } = options;
  const now = context.clock.now();
  const queue = getEmailQueueModel(connection);
  const due = await queue
    .find(
      {
        $or: [
          { status: 'pending', nextAttemptAt: { $lte: now } },
          { status: 'sending', leaseExpiresAt: { $lte: now } },
        ],
      },
      {
        to: 1,
        cc: 1,
        bcc: 1,
        from: 1,
        subject: 1,
        text: 1,
        html: 1,
        status: 1,
        attempts: 1,
        smtpMessageId: 1,
      },
    )
    .sort({ nextAttemptAt: 1 })
    .limit(settings.batchSize)
    .lean<QueueEntry[]>();
  if (due.length === 0 || context.signal.aborted) return [];

  // One token per run: it tells this run's claims and writes from another run's.
  const claimToken = randomUUID();
  const candidates = due.map((entry) => ({ entry, attempt: (entry.attempts ?? 0) + 1, claimToken }));
  let lost = new Set<number>();
  try {
    await getEmailSendClaimModel(connection).collection.insertMany(
      candidates.map((candidate) => ({
        emailId: candidate.entry._id,
        attempt: candidate.attempt,
        claimToken: candidate.claimToken,
        claimedAt: now,
      })),
      { ordered: false },
    );
  } catch (error) {
    if (!(error instanceof mongo.MongoBulkWriteError)) throw error;
    lost = failedIndexes(error);
  }
  if (lost.size > 0) {
    context.logger.info('email queue entries claimed by another worker were skipped', {
      skipped: lost.size,
    });
  }
  const claimed = candidates.filter((_, index) => !lost.has(index));
  if (claimed.length === 0) return claimed;
  const leaseExpiresAt = new Date(now.getTime() + settings.sendingLeaseSeconds * 1000);
  // One updateMany per attempt number (usually one), not a bulkWrite: on FerretDB v1 an
  // `update` command with ~100 statements hangs (see README).
  for (const attempt of new Set(claimed.map((candidate) => candidate.attempt))) {
    await queue.updateMany(
      {
        _id: {
          $in: claimed
            .filter((candidate) => candidate.attempt === attempt)
            .map((candidate) => candidate.entry._id),
        },
      },
      { $set: { status: 'sending', attempts: attempt, claimToken, leaseExpiresAt } },
    );
  }
  return claimed;
}

async function sendClaimedEntries(
  options: EmailQueueProcessJobOptions,
  context: JobContext,
  claimed: readonly ClaimedEntry[],
  result: EmailQueueProcessResult,
): Promise<void> {
  const concurrency = Math.min(options.settings.concurrency, claimed.length);
  const marks = new SentMarks(options, context);
  let nextIndex = 0;
  let completed = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    for (;;) {
      const index = nextIndex;
      nextIndex += 1;
      const item = claimed[index];
      if (item === undefined) return;
      if (context.signal.aborted) {
        await releaseClaim(options, context, item);
        continue;
      }
      await processOne(options, context, item, result, marks);
      completed += 1;
      if (completed % 10 === 0 || completed === claimed.length) {
        await context
          .reportProgress({ completed, total: claimed.length })
          .catch((error: unknown) =>
            context.logger.warn('progress report failed', { error: describeError(error) }),
          );
      }
    }
  });
  await Promise.all(workers);
  await marks.flush();
}

/**
 * Sent entries waiting to be marked `sent` together. One mark write at a time: on FerretDB
 * (SQLite) every updated document is its own write transaction, and overlapping mark writes
 * of 50 documents each ran into the server's 10 s busy timeout at 5,000 queued entries, which
 * left sent entries `sending` (to be sent again after the lease). The senders wait for their
 * group's mark, so marks cannot pile up either.
 */
class SentMarks {
  private pending: ClaimedEntry[] = [];
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: EmailQueueProcessJobOptions,
    private readonly context: JobContext,
  ) {}

  async add(item: ClaimedEntry): Promise<void> {
    this.pending.push(item);
    if (this.pending.length >= sentMarkGroupSize) await this.flush();
  }

  flush(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    // writeGroup never rejects (it logs), so the chain never breaks.
    this.lastWrite = this.lastWrite.then(() => this.writeGroup(group));
    return this.lastWrite;
  }

  private async writeGroup(group: readonly ClaimedEntry[]): Promise<void> {
    const [first] = group;
    if (first === undefined) return;
    const emailIds = group.map((item) => item.entry._id);
    try {
      const marked = await getEmailQueueModel(this.options.connection).updateMany(
        { _id: { $in: emailIds }, claimToken: first.claimToken },
        { $set: { status: 'sent', sentAt: this.context.clock.now() }, $unset: { leaseExpiresAt: 1 } },
      );
      if (marked.matchedCount < group.length) {
        // Our lease expired and another run took some over (or they were deleted): those
        // may be sent again. The lease must exceed the longest send.
        this.context.logger.warn('emails sent but no longer ours to mark', {
          sent: group.length,
          marked: marked.matchedCount,
        });
      }
    } catch (error) {
      // They stay `sending` and their lease will expire: sent again (at least once).
      this.context.logger.error('could not mark sent emails', {
        emailIds: emailIds.map((emailId) => emailId.toHexString()),
        error: describeError(error),
      });
    }
  }
}

/** Gives an unsent claim back (the worker is draining): the entry is due again at once. */
async function releaseClaim(
  options: EmailQueueProcessJobOptions,
  context: JobContext,
  item: ClaimedEntry,
): Promise<void> {
  const emailId = item.entry._id;
  try {
    // Claim first: if we stop in between, the entry stays `sending` until its lease
    // expires and is then claimed as the next attempt; never stuck on a taken attempt.
    await getEmailSendClaimModel(options.connection).deleteOne({
      emailId,
      attempt: item.attempt,
      claimToken: item.claimToken,
    });
    await getEmailQueueModel(options.connection).updateOne(
      { _id: emailId, claimToken: item.claimToken },
      {
        $set: { status: 'pending', attempts: item.attempt - 1, nextAttemptAt: context.clock.now() },
        $unset: { claimToken: 1, leaseExpiresAt: 1 },
      },
    );
  } catch (error) {
    context.logger.warn('could not release an email claim; its lease will expire', {
      emailId: emailId.toHexString(),
      error: describeError(error),
    });
  }
}

async function processOne(
  options: EmailQueueProcessJobOptions,
  context: JobContext,
  item: ClaimedEntry,
  result: EmailQueueProcessResult,
  marks: SentMarks,
): Promise<void> {
  const { settings } = options;
  const { entry, attempt } = item;
  const emailId = entry._id.toHexString();
  try {
    if (entry.status === 'sending' && attempt > settings.maxAttempts) {
      await markDead(
        options,
        item,
        `the lease of attempt ${attempt - 1}/${settings.maxAttempts} expired (worker died); ` +
          'delivery of that attempt is unknown and no attempt is left',
      );
      result.dead += 1;
      return;
    }
    const checked = findEmailMessageIssues(stripUnset(entry));
    if (checked.message === null) {
      await markDead(options, item, `invalid entry: ${describeFieldIssues(checked.issues)}`);
      result.dead += 1;
      return;
    }
    const messageId =
      entry.smtpMessageId ?? `<${emailId}@${options.messageIdDomain ?? defaultMessageIdDomain}>`;
    let sentMessageId: string;
    try {
      const sent = await options.sender.send({
        ...checked.message,
        messageId,
        headers: { [emailQueueIdHeader]: emailId },
      });
      sentMessageId = sent.messageId;
    } catch (error) {
      await recordFailure(options, context, item, error, result);
      return;
    }
    result.sent += 1;
    if (sentMessageId === entry.smtpMessageId) {
      await marks.add(item);
      return;
    }
    // The id was not stored yet (or the sender chose its own): mark this one alone.
    await getEmailQueueModel(options.connection).updateOne(
      { _id: entry._id, claimToken: item.claimToken },
      {
        $set: { status: 'sent', sentAt: context.clock.now(), smtpMessageId: sentMessageId },
        $unset: { leaseExpiresAt: 1 },
      },
    );
  } catch (error) {
    // A database failure on one entry: it stays `sending` and its lease will expire.
    context.logger.error('email queue entry could not be processed', {
      emailId,
      error: describeError(error),
    });
  }
}

/** A lean document carries `undefined`-less fields already; this drops stored nulls too. */
function stripUnset(entry: QueueEntry): Record<string, unknown> {
  const message: Record<string, unknown> = {};
  for (const key of ['to', 'cc', 'bcc', 'from', 'subject', 'text', 'html'] as const) {
    const value: unknown = entry[key];
    if (value !== undefined && value !== null) message[key] = value;
  }
  return message;
}

async function recordFailure(
  options: EmailQueueProcessJobOptions,
  context: JobContext,
  item: ClaimedEntry,
  error: unknown,
  result: EmailQueueProcessResult,
): Promise<void> {
  const { settings } = options;
  const kind = classifyEmailSendError(error);
  const reason = `${kind} failure on attempt ${item.attempt}/${settings.maxAttempts}: ${describeError(error)}`;
  const emailId = item.entry._id.toHexString();
  if (kind === 'permanent' || item.attempt >= settings.maxAttempts) {
    await markDead(options, item, reason);
    result.dead += 1;
    context.logger.warn('email is dead', { emailId, reason });
    return;
  }
  const delayMs = computeRetryDelayMs(item.attempt, {
    initialDelayMs: settings.initialRetryDelaySeconds * 1000,
    maxDelayMs: settings.maxRetryDelaySeconds * 1000,
  });
  const nextAttemptAt = new Date(context.clock.now().getTime() + delayMs);
  await getEmailQueueModel(options.connection).updateOne(
    { _id: item.entry._id, claimToken: item.claimToken },
    {
      $set: { status: 'pending', nextAttemptAt, lastError: truncate(reason) },
      $unset: { leaseExpiresAt: 1 },
    },
  );
  result.retried += 1;
  context.logger.info('email send failed; retry scheduled', {
    emailId,
    reason,
    nextAttemptAt: nextAttemptAt.toISOString(),
  });
}

async function markDead(
  options: EmailQueueProcessJobOptions,
  item: ClaimedEntry,
  reason: string,
): Promise<void> {
  await getEmailQueueModel(options.connection).updateOne(
    { _id: item.entry._id, claimToken: item.claimToken },
    { $set: { status: 'dead', lastError: truncate(reason) }, $unset: { leaseExpiresAt: 1 } },
  );
}

