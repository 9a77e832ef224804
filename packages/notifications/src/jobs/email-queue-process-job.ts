/**
 * EmailQueueProcessJob: sends due queue entries, at least once each, never twice in the
 * normal course (see README "Delivery guarantee").
 *
 * One run, after pruning old `sent` and `dead` entries, repeats for each batch until the queue
 * has nothing due, the signal aborts, or `maxEmailsPerRun` is reached (the next batch is
 * claimed while the current one is sent):
 * 1. selects up to `batchSize` candidates through the indexes: `sending` entries whose lease
 *    expired (their worker died; those on their last delivery attempt go `dead`), then
 *    `pending` entries with `nextAttemptAt <= now`, oldest first;
 * 2. claims them with ONE `updateMany` by `_id` that repeats the due condition and sets the
 *    batch's claim token, a lease of `sendingLeaseSeconds` and `attempts + 1`: each document's
 *    update is atomic, so of two runs that selected the same entry exactly one claims it;
 * 3. reads the claimed batch back by `_id` and token (`updateMany` does not return documents);
 * 4. sends, `concurrency` at a time over the pooled transport, checking the signal before each
 *    send and reporting progress after each; a failure is recorded per email (`pending` again
 *    after a backoff, or `dead`);
 * 5. marks the batch's sent emails `sent` with ONE `updateMany`, conditional on the token.
 * Every statement holds at most `batchSize` entries (a lease renewal: the two batches held).
 *
 * From its claim until it is settled, a batch's lease is renewed every third of it
 * ({@link ClaimLeaseRenewal}: one `updateMany` for the batches held), until the run ends or its
 * signal aborts. So a live run keeps its claims however slow a send is, and a dead worker's
 * claims are due again one short lease (30 s by default) after its last renewal.
 *
 * The run's stall timeout does not depend on the lease: it is twice the sender's send timeout
 * ({@link emailQueueStallTimeoutMs}).
 */
import { randomUUID } from 'node:crypto';
import {
  exponentialBackoffMs,
  parseMisfirePolicy,
  parseSchedule,
  type BackoffPolicy,
  type JobContext,
  type JobModule,
  type JobModuleDefaults,
  type JobTiming,
  type RecurringJob,
  type RetryPolicy,
} from '@app/shared-jobs';
import type { Connection, Types } from 'mongoose';
import { findEmailMessageIssues } from '../models/email-message.js';
import {
  defaultMessageIdDomain,
  getEmailQueueModel,
  type EmailQueueEntry,
  type EmailStatus,
} from '../models/email-queue.js';
import { classifyEmailSendError, type EmailSender } from '../sender/email-sender.js';
import { createSmtpEmailSender, smtpSendTimeoutMs } from '../sender/smtp-email-sender.js';
import {
  defaultSmtpConnectionTimeoutMs,
  emailQueueSettingsSchema,
  renamedEmailQueueSettings,
  type EmailQueueSettings,
  type SmtpSettings,
} from '../settings.js';
import { describeFieldIssues } from '../validation.js';
import { ClaimLeaseRenewal } from './claim-lease-renewal.js';

export const emailQueueProcessJobName = 'EmailQueueProcessJob';

export type EmailQueueProcessResult = {
  /** Accepted by the SMTP server in this run. */
  sent: number;
  /** Failed transiently; another delivery attempt is scheduled. */
  retried: number;
  /** Given up in this run. */
  dead: number;
  /** `sent` and `dead` entries deleted after their retention. */
  pruned: number;
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
  /** When it runs (the worker resolves it from its `schedule`/`misfire` keys); module default when absent. */
  readonly timing?: JobTiming;
  /** Its run retries (the worker resolves them from its `retry` keys); module default when absent. */
  readonly retry?: RetryPolicy;
}

/** Services the worker gives the email job: the database and the validated `smtp` section. */
export interface EmailQueueJobServices {
  readonly connection: Connection;
  readonly smtp: SmtpSettings;
}

/**
 * Every 10 s. A failed run (the database unreachable, say) is retried 3 times after 5, 10 and
 * 20 s (at most a minute): retries that wait longer than the next regular run would be
 * pointless, and each email's own delivery attempts are counted separately, per email.
 */
export const emailQueueProcessDefaults: JobModuleDefaults = {
  schedule: '10s',
  misfire: 'once',
  retry: { maxAttempts: 3, initialDelayMs: 5000, maxDelayMs: 60_000 },
};

const maxStoredErrorLength = 1000;
const dayMs = 24 * 60 * 60 * 1000;

/** Assumed for a sender that does not state its `sendTimeoutMs`: the SMTP adapter's default (80 s). */
export const defaultSendTimeoutMs = smtpSendTimeoutMs({ connectionTimeoutMs: defaultSmtpConnectionTimeoutMs });

/**
 * The job's stall timeout, whatever the claim lease: twice the longest one send waits on a
 * silent server before it fails (`EmailSender.sendTimeoutMs`; for SMTP connection + greeting +
 * socket timeouts, 80 s -> 160 s by default). Progress is reported after every send, so a live
 * run is silent for at most one send (which fails by itself within its timeout) plus the
 * statements between two batches; twice the send timeout covers both, and a run whose send or
 * statement never returns is still failed as stalled.
 */
export function emailQueueStallTimeoutMs(sendTimeoutMs: number = defaultSendTimeoutMs): number {
  return 2 * sendTimeoutMs;
}

/** The delays between one email's delivery attempts: doubling, ±20 % jitter, capped. */
export function deliveryBackoffPolicy(settings: EmailQueueSettings): BackoffPolicy {
  return {
    initialDelayMs: settings.deliveryBackoffInitialSeconds * 1000,
    maxDelayMs: settings.deliveryBackoffMaxSeconds * 1000,
  };
}

/** Header carrying the queue entry id on every email (duplicates are countable at the receiver). */
export const emailQueueIdHeader = 'X-Email-Queue-Id';

const messageFields = ['to', 'cc', 'bcc', 'from', 'subject', 'text', 'html'] as const;

type QueueEntry = Pick<EmailQueueEntry, '_id' | 'attempts' | 'smtpMessageId' | (typeof messageFields)[number]>;

interface ClaimedBatch {
  readonly claimToken: string;
  /** Claimed entries, `attempts` already counting this attempt. */
  readonly entries: readonly QueueEntry[];
}

/** What the run touches, shared by its steps. */
interface RunState {
  readonly options: EmailQueueProcessJobOptions;
  readonly context: JobContext;
  readonly result: EmailQueueProcessResult;
  /** Emails handed to a send or given up in this run (progress). */
  processed: number;
  /** Entries claimed or given up by this run (`maxEmailsPerRun`). */
  claimed: number;
  /** Renews the lease of the batches this run holds. */
  readonly leases: ClaimLeaseRenewal;
}

interface ClaimOutcome {
  /** Due entries the selection found (claimed or not). */
  readonly candidates: number;
  /** How many it asked for. */
  readonly limit: number;
  readonly batch: ClaimedBatch;
}

function truncate(text: string): string {
  return text.length <= maxStoredErrorLength ? text : `${text.slice(0, maxStoredErrorLength - 1)}…`;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The recurring job. A run that reports no progress for {@link emailQueueStallTimeoutMs} of its
 * sender is failed as stalled (its claims, no longer renewed, lapse after the lease).
 */
export function createEmailQueueProcessJob(
  options: EmailQueueProcessJobOptions,
): RecurringJob<EmailQueueProcessResult> {
  const { settings } = options;
  const timing = options.timing ?? {
    schedule: parseSchedule(emailQueueProcessDefaults.schedule),
    misfire: parseMisfirePolicy(emailQueueProcessDefaults.misfire),
  };
  return {
    name: emailQueueProcessJobName,
    schedule: timing.schedule,
    misfire: timing.misfire,
    retry: options.retry ?? emailQueueProcessDefaults.retry,
    stallTimeoutMs: emailQueueStallTimeoutMs(options.sender.sendTimeoutMs),
    async run(context: JobContext): Promise<EmailQueueProcessResult> {
      if (!settings.enabled) {
        context.logger.debug('email queue processing is disabled');
        return { sent: 0, retried: 0, dead: 0, pruned: 0 };
      }
      const leases = new ClaimLeaseRenewal({
        connection: options.connection,
        leaseMs: settings.sendingLeaseSeconds * 1000,
        clock: context.clock,
        logger: context.logger,
        signal: context.signal,
      });
      const state: RunState = {
        options,
        context,
        result: { sent: 0, retried: 0, dead: 0, pruned: 0 },
        processed: 0,
        claimed: 0,
        leases,
      };
      try {
        return await processQueue(state);
      } finally {
        await leases.stop();
      }
    },
  };
}

/** One run: prune, then batch after batch (see the file comment). */
async function processQueue(state: RunState): Promise<EmailQueueProcessResult> {
  const { context } = state;
  const { settings } = state.options;
  if (context.signal.aborted) return state.result;
  state.result.pruned = await pruneSettledEntries(state);
  // The next batch is claimed while the current one is sent: claims and sent marks overlap
  // the SMTP traffic instead of pausing it.
  let claiming: Promise<ClaimOutcome> | null = context.signal.aborted ? null : claimNext(state);
  let batches = 0;
  while (claiming !== null) {
    const { candidates, limit, batch } = await claiming;
    claiming = null;
    // Fewer candidates than asked for: nothing else is due now.
    if (candidates === limit && state.claimed < settings.maxEmailsPerRun && !context.signal.aborted) {
      claiming = claimNext(state);
      // Awaited at the top of the loop; until then a failure must not count as unhandled.
      claiming.catch(() => undefined);
    }
    if (batch.entries.length > 0) {
      // After an abort this gives the whole batch back instead of sending it.
      await sendBatch(state, batch);
      // Settled, or left to lapse (a result that could not be written).
      state.leases.release(batch.claimToken);
      batches += 1;
    }
  }
  if (batches > 0 || state.result.dead > 0 || state.result.pruned > 0) {
    context.logger.info('email queue processed', { batches, ...state.result });
  }
  return state.result;
}

/**
 * Deletes `sent` entries older than `sentRetentionDays` and `dead` ones older than
 * `deadRetentionDays` (by `updatedAt`, when they got there), oldest first, in batches of
 * `batchSize` ids, at most `maxEmailsPerRun` of each status per run (pruning keeps pace with
 * sending), checking the signal before each batch.
 */
async function pruneSettledEntries(state: RunState): Promise<number> {
  const { settings, connection } = state.options;
  const { context } = state;
  const queue = getEmailQueueModel(connection);
  const now = context.clock.now().getTime();
  const retentions: readonly [EmailStatus, number][] = [
    ['sent', settings.sentRetentionDays],
    ['dead', settings.deadRetentionDays],
  ];
  let pruned = 0;
  for (const [status, retentionDays] of retentions) {
    const settledFilter = { status, updatedAt: { $lt: new Date(now - retentionDays * dayMs) } };
    let prunedOfStatus = 0;
    while (prunedOfStatus < settings.maxEmailsPerRun) {
      if (context.signal.aborted) return pruned;
      const limit = Math.min(settings.batchSize, settings.maxEmailsPerRun - prunedOfStatus);
      const ids = await queue
        .find(settledFilter, { _id: 1 })
        .sort({ updatedAt: 1 })
        .limit(limit)
        .lean<{ _id: Types.ObjectId }[]>();
      if (ids.length === 0) break;
      const deletion = await queue.deleteMany({ _id: { $in: ids.map((entry) => entry._id) }, ...settledFilter });
      prunedOfStatus += deletion.deletedCount;
      pruned += deletion.deletedCount;
      await reportProgress(context, { completed: pruned, message: 'settled emails pruned' });
      // A short batch was the last; one that deleted nothing would be selected again.
      if (ids.length < limit || deletion.deletedCount === 0) break;
    }
  }
  return pruned;
}

/** Selects up to a batch of due entries and claims them with one statement; see the file comment. */
async function claimNext(state: RunState): Promise<ClaimOutcome> {
  const { connection, settings } = state.options;
  const limit = Math.min(settings.batchSize, settings.maxEmailsPerRun - state.claimed);
  const now = state.context.clock.now();
  const queue = getEmailQueueModel(connection);
  const claimToken = randomUUID();
  const expiredLease = { status: 'sending' as const, leaseExpiresAt: { $lte: now } };
  const due = { status: 'pending' as const, nextAttemptAt: { $lte: now } };

  const expired = await queue
    .find(expiredLease, { _id: 1, attempts: 1 })
    .sort({ leaseExpiresAt: 1 })
    .limit(limit)
    .lean<Pick<EmailQueueEntry, '_id' | 'attempts'>[]>();
  const exhausted = expired.filter((entry) => entry.attempts >= settings.maxDeliveryAttempts);
  if (exhausted.length > 0) await markLeaseExhausted(state, exhausted, now);
  const recovered = expired.filter((entry) => entry.attempts < settings.maxDeliveryAttempts);
  const pending =
    expired.length < limit
      ? await queue
          .find(due, { _id: 1 })
          .sort({ nextAttemptAt: 1 })
          .limit(limit - expired.length)
          .lean<{ _id: Types.ObjectId }[]>()
      : [];
  const candidates = expired.length + pending.length;
  const ids = [...recovered, ...pending].map((entry) => entry._id);
  if (ids.length === 0) return { candidates, limit, batch: { claimToken, entries: [] } };

  const leaseExpiresAt = new Date(now.getTime() + settings.sendingLeaseSeconds * 1000);
  await queue.updateMany(
    {
      _id: { $in: ids },
      $or: [due, { ...expiredLease, attempts: { $lt: settings.maxDeliveryAttempts } }],
    },
    { $set: { status: 'sending', claimToken, leaseExpiresAt }, $inc: { attempts: 1 } },
  );
  // Read back what this claim won, through the _id index.
  const entries = await queue
    .find(
      { _id: { $in: ids }, claimToken },
      { ...Object.fromEntries(messageFields.map((field) => [field, 1])), attempts: 1, smtpMessageId: 1 },
    )
    .lean<QueueEntry[]>();
  state.claimed += entries.length;
  // Renewed from now on, until the batch is settled.
  state.leases.hold(claimToken, entries.map((entry) => entry._id));
  if (entries.length < ids.length) {
    state.context.logger.info('email queue entries claimed by another worker were skipped', {
      skipped: ids.length - entries.length,
    });
  }
  return { candidates, limit, batch: { claimToken, entries } };
}

/** Expired leases on the last allowed attempt: whether it was delivered is unknown, none is left. */
async function markLeaseExhausted(
  state: RunState,
  exhausted: readonly Pick<EmailQueueEntry, '_id'>[],
  now: Date,
): Promise<void> {
  const { settings, connection } = state.options;
  const marked = await getEmailQueueModel(connection).updateMany(
    {
      _id: { $in: exhausted.map((entry) => entry._id) },
      status: 'sending',
      leaseExpiresAt: { $lte: now },
      attempts: { $gte: settings.maxDeliveryAttempts },
    },
    {
      $set: {
        status: 'dead',
        lastError:
          `the lease of the last delivery attempt (${settings.maxDeliveryAttempts} allowed) expired ` +
          '(its worker died); whether it was delivered is unknown',
      },
      $unset: { leaseExpiresAt: 1 },
    },
  );
  state.result.dead += marked.modifiedCount;
  state.processed += marked.modifiedCount;
  state.claimed += marked.modifiedCount;
}

async function reportProgress(context: JobContext, progress: { completed: number; total?: number; message: string }) {
  await context
    .reportProgress(progress)
    .catch((error: unknown) => context.logger.warn('progress report failed', { error: describeError(error) }));
}

/** Sends a claimed batch, records failures per email, then marks the sent ones with one statement. */
async function sendBatch(state: RunState, batch: ClaimedBatch): Promise<void> {
  const { context, options } = state;
  const sentIds: Types.ObjectId[] = [];
  const unsentIds: Types.ObjectId[] = [];
  let nextIndex = 0;
  const workers = Array.from({ length: Math.min(options.settings.concurrency, batch.entries.length) }, async () => {
    for (;;) {
      const entry = batch.entries[nextIndex];
      nextIndex += 1;
      if (entry === undefined) return;
      if (context.signal.aborted) {
        unsentIds.push(entry._id);
        continue;
      }
      if (await processEntry(state, batch.claimToken, entry)) sentIds.push(entry._id);
      state.processed += 1;
      // Proof of life after every send (the runtime throttles what it stores): the stall
      // timeout only has to outlast one send.
      await reportProgress(context, { completed: state.processed, message: 'emails processed' });
    }
  });
  await Promise.all(workers);
  await markSent(state, batch.claimToken, sentIds);
  if (unsentIds.length > 0) await releaseClaims(state, batch.claimToken, unsentIds);
  await reportProgress(context, { completed: state.processed, message: 'emails processed' });
}

/** One `updateMany` for the batch's sent emails, conditional on the claim token. */
async function markSent(state: RunState, claimToken: string, sentIds: readonly Types.ObjectId[]): Promise<void> {
  if (sentIds.length === 0) return;
  const { context, options } = state;
  try {
    const marked = await getEmailQueueModel(options.connection).updateMany(
      { _id: { $in: sentIds }, claimToken },
      { $set: { status: 'sent', sentAt: context.clock.now() }, $unset: { leaseExpiresAt: 1 } },
    );
    if (marked.matchedCount < sentIds.length) {
      // Our claims lapsed (renewals failed for a whole lease, or the run was aborted during a
      // send) and another run took some over, or they were deleted: those may be sent again.
      context.logger.warn('emails sent but no longer ours to mark', {
        sent: sentIds.length,
        marked: marked.matchedCount,
      });
    }
  } catch (error) {
    // They stay `sending` and their lease will expire: sent again (at least once).
    context.logger.error('could not mark sent emails', {
      emailIds: sentIds.map((emailId) => emailId.toHexString()),
      error: describeError(error),
    });
  }
}

/** Gives unsent claims back (the run is stopping): due again at once, attempt count restored. */
async function releaseClaims(state: RunState, claimToken: string, ids: readonly Types.ObjectId[]): Promise<void> {
  const { context, options } = state;
  try {
    await getEmailQueueModel(options.connection).updateMany(
      { _id: { $in: ids }, claimToken },
      {
        $set: { status: 'pending', nextAttemptAt: context.clock.now() },
        $inc: { attempts: -1 },
        $unset: { claimToken: 1, leaseExpiresAt: 1 },
      },
    );
  } catch (error) {
    context.logger.warn('could not release email claims; their lease will expire', {
      emailIds: ids.map((emailId) => emailId.toHexString()),
      error: describeError(error),
    });
  }
}

/** Sends one claimed entry; true when the server accepted it and it waits for the batch's mark. */
async function processEntry(state: RunState, claimToken: string, entry: QueueEntry): Promise<boolean> {
  const { options, context } = state;
  const emailId = entry._id.toHexString();
  try {
    const checked = findEmailMessageIssues(stripUnset(entry));
    if (checked.message === null) {
      await settle(state, claimToken, entry, 'dead', `invalid entry: ${describeFieldIssues(checked.issues)}`);
      return false;
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
      await recordFailure(state, claimToken, entry, error);
      return false;
    }
    state.result.sent += 1;
    if (sentMessageId === entry.smtpMessageId) return true;
    // The id was not stored yet (or the sender chose its own): mark this one alone, with it.
    await getEmailQueueModel(options.connection).updateOne(
      { _id: entry._id, claimToken },
      {
        $set: { status: 'sent', sentAt: context.clock.now(), smtpMessageId: sentMessageId },
        $unset: { leaseExpiresAt: 1 },
      },
    );
    return false;
  } catch (error) {
    // A database failure on one entry: it stays `sending` and its lease will expire.
    context.logger.error('email queue entry could not be processed', {
      emailId,
      error: describeError(error),
    });
    return false;
  }
}

/** A lean document has no `undefined` fields already; this drops stored nulls too. */
function stripUnset(entry: QueueEntry): Record<string, unknown> {
  const message: Record<string, unknown> = {};
  for (const key of messageFields) {
    const value: unknown = entry[key];
    if (value !== undefined && value !== null) message[key] = value;
  }
  return message;
}

async function recordFailure(
  state: RunState,
  claimToken: string,
  entry: QueueEntry,
  error: unknown,
): Promise<void> {
  const { settings } = state.options;
  const kind = classifyEmailSendError(error);
  const attempt = entry.attempts;
  const reason = `${kind} failure on delivery attempt ${attempt}/${settings.maxDeliveryAttempts}: ${describeError(error)}`;
  const emailId = entry._id.toHexString();
  if (kind === 'permanent' || attempt >= settings.maxDeliveryAttempts) {
    await settle(state, claimToken, entry, 'dead', reason);
    state.context.logger.warn('email is dead', { emailId, reason });
    return;
  }
  const delayMs = exponentialBackoffMs(deliveryBackoffPolicy(settings), attempt);
  const nextAttemptAt = new Date(state.context.clock.now().getTime() + delayMs);
  await settle(state, claimToken, entry, 'pending', reason, nextAttemptAt);
  state.context.logger.info('email send failed; another delivery attempt is scheduled', {
    emailId,
    reason,
    nextAttemptAt: nextAttemptAt.toISOString(),
  });
}

/** Records a failed or invalid entry: `dead`, or `pending` again at `nextAttemptAt`. */
async function settle(
  state: RunState,
  claimToken: string,
  entry: QueueEntry,
  status: 'dead' | 'pending',
  reason: string,
  nextAttemptAt?: Date,
): Promise<void> {
  await getEmailQueueModel(state.options.connection).updateOne(
    { _id: entry._id, claimToken },
    {
      $set: { status, lastError: truncate(reason), ...(nextAttemptAt === undefined ? {} : { nextAttemptAt }) },
      $unset: { leaseExpiresAt: 1 },
    },
  );
  if (status === 'dead') state.result.dead += 1;
  else state.result.retried += 1;
}

/** The domain of an address (`app@example.org` -> `example.org`), for generated Message-IDs. */
function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/**
 * EmailQueueProcessJob as a module. It builds its own pooled SMTP sender from the `smtp`
 * section and closes it in `dispose` (the worker calls it at shutdown); generated Message-IDs
 * use the domain of `smtp.from`.
 */
export const emailQueueProcessJobModule: JobModule<
  typeof emailQueueSettingsSchema,
  EmailQueueSettings,
  EmailQueueJobServices
> = {
  jobName: emailQueueProcessJobName,
  configKey: 'emailQueue',
  environmentPrefix: 'JOBS_EMAIL_QUEUE_',
  description: 'EmailQueueProcessJob (@app/notifications): sends queued emails over SMTP, pruning old sent and dead ones.',
  settingsSchema: emailQueueSettingsSchema,
  defaults: emailQueueProcessDefaults,
  intervalAliases: [{ settingsKey: 'processingIntervalSeconds', unitMs: 1000 }],
  requiredSections: ['smtp'],
  renamedSettings: renamedEmailQueueSettings,
  create: ({ settings, timing, retry, services }) => {
    const sender = createSmtpEmailSender(services.smtp);
    const job = createEmailQueueProcessJob({
      connection: services.connection,
      sender,
      settings,
      timing,
      retry,
      messageIdDomain: domainOf(services.smtp.from),
    });
    return { ...job, dispose: () => sender.close() };
  },
};
