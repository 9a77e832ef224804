/**
 * One read per Agenda scan instead of one write per job name.
 *
 * Agenda's scan asks, for every defined job name at once, for the next document to lock:
 * a `findOneAndUpdate` each, which on MongoDB takes a write lock and on the bundled server
 * a write transaction, even when nothing is due (the usual case). With 100 jobs and three
 * replicas scanning every 500 ms that is 600 write commands a second for an idle system,
 * and a due burst queues behind them. The probe collects the names one scan asks about
 * (they are asked in one tick), reads which of their documents Agenda's lock query could
 * take (one `find`, at most one document per name), and only those names go on to the
 * `findOneAndUpdate` that decides the lock.
 *
 * The probe's filter is Agenda's lock filter, widened (the latest `nextScanAt` and lock
 * deadline of the batch), so a document the lock query could take is never skipped: at
 * worst a name is probed lockable and the `findOneAndUpdate` finds nothing (another replica
 * was first). A document that becomes lockable after the read is found by the next scan,
 * as if this scan had run a moment earlier.
 */
import type { Collection, Document } from 'mongodb';

interface ProbeBatch {
  readonly names: Set<string>;
  nextScanAt: Date;
  lockDeadline: Date;
  lockable: Promise<ReadonlySet<string>>;
}

export class ScanProbe {
  private batch: ProbeBatch | null = null;

  constructor(private readonly collection: Collection<Document>) {}

  /**
   * Whether Agenda's lock query for `jobName` (with these bounds) could find a document
   * now. Calls made in one tick share one read.
   */
  async isLockable(jobName: string, nextScanAt: Date, lockDeadline: Date): Promise<boolean> {
    const batch = this.batch ?? this.startBatch(nextScanAt, lockDeadline);
    batch.names.add(jobName);
    if (nextScanAt > batch.nextScanAt) batch.nextScanAt = nextScanAt;
    if (lockDeadline > batch.lockDeadline) batch.lockDeadline = lockDeadline;
    return (await batch.lockable).has(jobName);
  }

  private startBatch(nextScanAt: Date, lockDeadline: Date): ProbeBatch {
    const batch: ProbeBatch = { names: new Set(), nextScanAt, lockDeadline, lockable: Promise.resolve(new Set()) };
    // A microtask: the scan's calls have all been made when it runs and sends the one read.
    batch.lockable = Promise.resolve().then(() => {
      this.batch = null;
      return this.read(batch);
    });
    this.batch = batch;
    return batch;
  }

  private async read(batch: ProbeBatch): Promise<ReadonlySet<string>> {
    const documents = await this.collection
      .find(
        {
          name: { $in: [...batch.names] },
          disabled: { $ne: true },
          $or: [{ lockedAt: { $eq: null }, nextRunAt: { $lte: batch.nextScanAt } }, { lockedAt: { $lte: batch.lockDeadline } }],
        },
        { projection: { _id: 0, name: 1 } },
      )
      .toArray();
    return new Set(documents.map((document) => String(document.name)));
  }
}
