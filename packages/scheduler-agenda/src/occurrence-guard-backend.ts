/**
 * An Agenda backend around `@agendajs/mongo-backend` whose `saveJobState` never writes
 * `nextRunAt`.
 *
 * Agenda saves a job's state when a run starts (with `nextRunAt = null` for a
 * non-repeating job) and again after it completes. Both saves are updates by `_id`, so
 * they would overwrite the next occurrence the runtime scheduled *during* the run and
 * stop the chain. Here `nextRunAt` belongs to {@link AgendaMessageScheduler} alone;
 * Agenda keeps the lock (`lockedAt`), progress and its bookkeeping fields.
 *
 * The save at the start of a run is skipped: it only records `lastRunAt` (the run ledger
 * records the start), and the lock it would rewrite was taken a moment before. It is the
 * first save after Agenda locked the document in this process (`getNextJobToRun` /
 * `lockJob`). The unlock at the end is skipped too when the run's completion already
 * released the lock with the next occurrence ({@link OccurrenceGuardBackend.handedOver});
 * otherwise it is written, and only while this Agenda instance still holds the lock (the
 * lock manager renews locks; a document taken over stays locked by its new owner). A
 * document that is gone (the job was cancelled) is not an error.
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import type { AgendaBackend, JobParameters, JobRepository, JobRepositoryOptions } from 'agenda';
import { ObjectId, type Collection, type Db } from 'mongodb';
import { ScanProbe } from './runtime/scan-probe.js';

function toDateOrNull(value: Date | string | null | undefined): Date | null {
  return value === null || value === undefined ? null : new Date(value);
}

export class OccurrenceGuardBackend implements AgendaBackend {
  readonly name = 'MongoDB (occurrence-guarded)';
  readonly ownsConnection = false;
  private readonly inner: MongoBackend;
  private readonly guardedRepository: JobRepository;
  /** Documents whose lock a completion released: their unlock at the end of the run is not written. */
  private readonly handedOverIds = new Set<string>();

  /**
   * `onLockAttempt` hears every attempt of Agenda's scan to lock a job's document: the
   * job name and whether this process got it (a cheap hook: no extra reads).
   */
  constructor(
    database: Db,
    collectionName: string,
    onLockAttempt: (jobName: string, locked: boolean) => void = () => undefined,
  ) {
    this.inner = new MongoBackend({ mongo: database, collection: collectionName });
    const collection: Collection = database.collection(collectionName);
    const innerRepository = this.inner.repository;
    const lockedHere = new Set<string>();
    const handedOverIds = this.handedOverIds;
    const rememberLock = (locked: JobParameters | undefined): JobParameters | undefined => {
      if (locked?._id !== undefined) {
        lockedHere.add(locked._id.toString());
        // A mark its run never consumed must not skip the unlock of this new lock.
        handedOverIds.delete(locked._id.toString());
      }
      return locked;
    };
    const saveJobState = async (
      job: JobParameters,
      options?: JobRepositoryOptions,
    ): Promise<void> => {
      if (job._id === undefined) throw new Error('Cannot save job state without job ID');
      const jobId = job._id.toString();
      const unlocking = job.lockedAt === null || job.lockedAt === undefined;
      if (lockedHere.delete(jobId) && !unlocking) return;
      if (unlocking && handedOverIds.delete(jobId)) return;
      const lastModifiedBy = options?.lastModifiedBy ?? null;
      // The unlock at the end of a run only clears a lock this Agenda instance still holds:
      // after a takeover the document is another worker's, and its lock must stay.
      const filter =
        unlocking && lastModifiedBy !== null
          ? { _id: new ObjectId(jobId), name: job.name, lastModifiedBy }
          : { _id: new ObjectId(jobId), name: job.name };
      await collection.updateOne(filter, {
        $set: {
          lockedAt: toDateOrNull(job.lockedAt),
          lastRunAt: toDateOrNull(job.lastRunAt),
          progress: job.progress ?? null,
          failReason: job.failReason ?? null,
          failCount: job.failCount ?? null,
          failedAt: toDateOrNull(job.failedAt),
          lastFinishedAt: toDateOrNull(job.lastFinishedAt),
          lastModifiedBy,
        },
      });
    };
    /**
     * The lock instant is computed before the lock's `findOneAndUpdate` is sent. When the
     * driver held that write through an outage (server selection, then its retryable-write
     * retry), the lock it returns is already old, possibly past the lock lifetime: Agenda
     * would then find the job "expired" before running it and drop it from its queue while
     * still counting it as locked, so with `lockLimit: 1` this process never locked the job
     * again. A late lock is re-stamped with the current time (if it is still this process's);
     * a lock lost meanwhile is reported as no lock.
     */
    const restampLock = async (locked: JobParameters): Promise<JobParameters | undefined> => {
      if (locked._id === undefined) return locked;
      const lockedAt = new Date();
      const result = await collection.updateOne(
        {
          _id: new ObjectId(locked._id.toString()),
          lockedAt: toDateOrNull(locked.lockedAt),
          lastModifiedBy: locked.lastModifiedBy ?? null,
        },
        { $set: { lockedAt } },
      );
      return result.modifiedCount === 1 ? { ...locked, lockedAt } : undefined;
    };
    /**
     * One lock attempt per job name at a time. Agenda scans every `processEvery` whether or not
     * its last scan answered; with many jobs on a busy server (or one that is down) the attempts
     * queue up behind each other, each adding load, and land late. A scan that finds an attempt
     * for the name still in flight skips it (it finds nothing this time; the next scan tries).
     */
    const lockAttemptsInFlight = new Set<string>();
    const probe = new ScanProbe(collection);
    this.guardedRepository = new Proxy(innerRepository, {
      get(target, property, receiver) {
        if (property === 'saveJobState') return saveJobState;
        if (property === 'getNextJobToRun') {
          return async (...args: Parameters<JobRepository['getNextJobToRun']>) => {
            const jobName = args[0];
            if (lockAttemptsInFlight.has(jobName)) return undefined;
            lockAttemptsInFlight.add(jobName);
            try {
              const lockLifetimeMs = Date.now() - args[2].getTime();
              if (!(await probe.isLockable(jobName, args[1], args[2]))) {
                onLockAttempt(jobName, false);
                return undefined;
              }
              let locked = await target.getNextJobToRun(...args);
              const lockAgeMs = locked?.lockedAt ? Date.now() - new Date(locked.lockedAt).getTime() : 0;
              if (locked !== undefined && lockAgeMs > lockLifetimeMs / 4) locked = await restampLock(locked);
              onLockAttempt(jobName, locked !== undefined);
              return rememberLock(locked);
            } finally {
              lockAttemptsInFlight.delete(jobName);
            }
          };
        }
        if (property === 'lockJob') {
          return (...args: Parameters<JobRepository['lockJob']>) => target.lockJob(...args).then(rememberLock);
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /**
   * The run of this document completed with a write that also released its lock
   * (`ReplaceOptions.handOver`): Agenda's unlock at the end of the run is not written.
   */
  handedOver(documentId: string): void {
    this.handedOverIds.add(documentId);
  }

  get repository(): JobRepository {
    return this.guardedRepository;
  }

  private connecting: Promise<void> | undefined;

  /** Agenda calls this in its constructor; the mongo backend creates Agenda's index in it. */
  connect(): Promise<void> {
    this.connecting ??= this.inner.connect();
    return this.connecting;
  }

  /** Resolves when {@link connect} (Agenda's index creation) is done; rejects when it failed. */
  whenConnected(): Promise<void> {
    return this.connect();
  }

  disconnect(): Promise<void> {
    return this.inner.disconnect();
  }
}
