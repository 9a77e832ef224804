/**
 * The lease of a run's claimed emails, renewed while the run holds them (as BullMQ's lock
 * manager renews its job locks): a live run keeps its claims however slow its sends are, and a
 * dead worker's claims lapse one lease after its last renewal.
 *
 * The run hands each claimed batch over (`hold`) and takes it back once every entry of it was
 * settled (`release`): at most the batch being sent and the one claimed ahead. Every
 * `renewEveryMs` (a third of the lease by default) ONE `updateMany` moves `leaseExpiresAt` to
 * `now + leaseMs` on the held entries still `sending` under their claim token,
 * `{ _id: { $in: held ids }, claimToken: { $in: held tokens }, status: 'sending' }`: through the
 * `_id` index, at most two batches, entries settled meanwhile (sent, pending again, dead) and
 * entries another run took over left alone. Nothing held: no statement. Renewals never overlap
 * (the next one is timed from the end of the last).
 *
 * It stops when the run ends (`stop`) or its signal aborts: the runtime aborts a run it found
 * taken over (fencing), stalled or past a drain deadline, and that run's claims must lapse, not
 * be kept alive. A renewal already sent completes; `stop` waits for it. A failed renewal (the
 * database out of reach) is logged, not thrown: if renewals keep failing, the claims lapse like
 * a dead worker's and another run sends them again (at least once).
 */
import type { Clock, JobLogger } from '@app/shared-jobs';
import type { Connection, Types } from 'mongoose';
import { getEmailQueueModel } from '../models/email-queue.js';

export interface ClaimLeaseRenewalOptions {
  readonly connection: Connection;
  /** A renewed claim expires this long after the renewal (`sendingLeaseSeconds`). */
  readonly leaseMs: number;
  /** Between two renewals (from the end of one to the start of the next); a third of the lease by default. */
  readonly renewEveryMs?: number;
  /** The instants written (the run's clock, as the claim's). The renewals themselves are timed by real timers. */
  readonly clock: Clock;
  readonly logger: JobLogger;
  /** Aborting it stops the renewal (the run's signal). */
  readonly signal?: AbortSignal;
}

export class ClaimLeaseRenewal {
  /** Claimed entries by claim token. */
  private readonly held = new Map<string, readonly Types.ObjectId[]>();
  private readonly renewEveryMs: number;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private stopped = false;
  private readonly onAbort = (): void => {
    void this.stop();
  };

  constructor(private readonly options: ClaimLeaseRenewalOptions) {
    this.renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(options.leaseMs / 3));
    if (options.signal?.aborted === true) {
      this.stopped = true;
      return;
    }
    options.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.scheduleNext();
  }

  /** Renews these entries, claimed with `claimToken`, from now on (ignored once stopped). */
  hold(claimToken: string, ids: readonly Types.ObjectId[]): void {
    if (this.stopped || ids.length === 0) return;
    this.held.set(claimToken, ids);
  }

  /** The batch of `claimToken` is settled: no longer renewed. */
  release(claimToken: string): void {
    this.held.delete(claimToken);
  }

  /** One renewal of what is held (the timer's step): one `updateMany`, or none when nothing is held. Never rejects. */
  async renew(): Promise<void> {
    if (this.stopped || this.held.size === 0) return;
    const { connection, clock, leaseMs, logger } = this.options;
    const ids = [...this.held.values()].flat();
    const leaseExpiresAt = new Date(clock.now().getTime() + leaseMs);
    try {
      await getEmailQueueModel(connection).updateMany(
        { _id: { $in: ids }, claimToken: { $in: [...this.held.keys()] }, status: 'sending' },
        { $set: { leaseExpiresAt } },
        // A lease extension is no change of the entry: `updatedAt` stays when it got `sending`.
        { timestamps: false },
      );
    } catch (error) {
      logger.warn('could not renew the lease of claimed emails; they lapse if renewals keep failing', {
        claimed: ids.length,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Stops renewing (idempotent); resolves once a renewal already sent has completed. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.held.clear();
    this.options.signal?.removeEventListener('abort', this.onAbort);
    await this.renewing;
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.renewing = this.renew().finally(() => {
        this.renewing = undefined;
        this.scheduleNext();
      });
    }, this.renewEveryMs);
    // The run keeps the process alive, not its renewal.
    this.timer.unref();
  }
}
