import type { ScheduledOccurrence } from '@app/shared-jobs';
import {
  describeMessageSchedulerConformance,
  describeRecurringJobRepositoryConformance,
  describeRecurringJobServiceConformance,
  type MessageSchedulerHarness,
} from '@app/shared-jobs/testing';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { Agenda } from 'agenda';
import { MongoClient, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoBackend } from '@agendajs/mongo-backend';
import { AgendaMessageScheduler, OccurrenceGuardBackend, type PendingOccurrenceDocument } from '../src/index.js';
import { ScanProbe } from '../src/runtime/scan-probe.js';

let collectionCounter = 0;

/** Schedulers on a fresh collection, each on its own connection. */
async function schedulerHarness(): Promise<MessageSchedulerHarness> {
  collectionCounter += 1;
  const collectionName = `agendaJobs_conformance_${collectionCounter}`;
  const clients: MongoClient[] = [];
  const admin = new MongoClient(testMongoUri());
  await admin.connect();
  const adminCollection = admin.db(testDatabaseName()).collection(collectionName);
  return {
    async createInstance() {
      const client = new MongoClient(testMongoUri());
      await client.connect();
      clients.push(client);
      const scheduler = new AgendaMessageScheduler(client.db(testDatabaseName()), { collectionName });
      await scheduler.ensureIndexes();
      return scheduler;
    },
    async countPendingRecords(jobName) {
      // One document per job, holding the pending occurrence (if any) and the record.
      const documents = await adminCollection.countDocuments({ name: jobName });
      if (documents > 1) throw new Error(`${documents} documents for job "${jobName}"`);
      return adminCollection.countDocuments({ name: jobName, nextRunAt: { $ne: null } });
    },
    async teardown() {
      await Promise.all(clients.map((client) => client.close()));
      await admin.close();
    },
  };
}

describeMessageSchedulerConformance('AgendaMessageScheduler on the test server', schedulerHarness);
describeRecurringJobRepositoryConformance('AgendaMessageScheduler on the test server', schedulerHarness);
// The service production runs (start-up, completing an occurrence, misfires) on this scheduler.
describeRecurringJobServiceConformance('AgendaMessageScheduler on the test server', schedulerHarness);

describe('AgendaMessageScheduler with Agenda processing the document', () => {
  let client: MongoClient;
  beforeAll(async () => {
    client = new MongoClient(testMongoUri());
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
  });

  const occurrence = (jobName: string, occurrenceAt: Date, overrides: Partial<ScheduledOccurrence> = {}): ScheduledOccurrence => ({
    jobName,
    occurrenceAt,
    runAt: occurrenceAt,
    attempt: 1,
    cause: 'schedule',
    requestedBy: null,
    resume: null,
    timing: null,
    ...overrides,
  });

  /** A scheduler on its own collection with each job's occurrence due now. */
  const dueNow = async (collectionName: string, ...jobNames: string[]) => {
    const database = client.db(testDatabaseName());
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await scheduler.ensureIndexes();
    for (const jobName of jobNames) {
      await scheduler.schedule(occurrence(jobName, new Date(Date.now() - 1000), { runAt: new Date() }));
    }
    return { database, scheduler };
  };

  it('keeps an occurrence scheduled during a run when Agenda saves the job state afterwards', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_save_race';
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await scheduler.ensureIndexes();
    const first = occurrence('chain', new Date(Date.now() - 1000), { runAt: new Date() });
    const next = occurrence('chain', new Date(Date.now() + 3_600_000));
    const agenda = new Agenda({
      name: 'save-race-agenda',
      backend: new OccurrenceGuardBackend(database, collectionName),
      processEvery: 100,
    });
    let runs = 0;
    const completed = new Promise<void>((resolve) => {
      agenda.on('complete', () => resolve());
    });
    agenda.define('chain', async () => {
      runs += 1;
      expect(await scheduler.replaceIfCurrent(first, next)).toBe(true);
    });
    await scheduler.schedule(first);
    await agenda.start();
    await completed;
    await agenda.stop(false);
    expect(runs).toBe(1);
    expect(await scheduler.getPending('chain')).toEqual(next);
    const document = await database.collection(collectionName).findOne({ name: 'chain' });
    expect(document?.lockedAt).toBeNull();
    expect(document?.lastFinishedAt).toBeInstanceOf(Date);
    expect(await database.collection(collectionName).countDocuments({})).toBe(1);
  });

  it('hands an occurrence over in one write: the lock is released with it and Agenda writes no unlock after the run', async () => {
    const collectionName = 'agendaJobs_hand_over';
    const monitored = new MongoClient(testMongoUri(), { monitorCommands: true });
    await monitored.connect();
    const database = monitored.db(testDatabaseName());
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await scheduler.ensureIndexes();
    const first = occurrence('handed', new Date(Date.now() - 1000), { runAt: new Date() });
    const next = occurrence('handed', new Date(Date.now() + 3_600_000));
    const record = {
      jobName: 'handed',
      lastExecutedAt: new Date(),
      lastOccurrenceAt: first.occurrenceAt,
      nextScheduledAt: next.occurrenceAt,
      lastExecutedBy: { hostName: 'worker-a', processId: 7 },
    };
    const backend = new OccurrenceGuardBackend(database, collectionName);
    const agenda = new Agenda({ name: 'hand-over-agenda', backend, processEvery: 100 });
    const writes: string[] = [];
    monitored.on('commandStarted', (event) => {
      const { update, findAndModify } = event.command as { update?: unknown; findAndModify?: unknown };
      if ((update ?? findAndModify) === collectionName) writes.push(event.commandName);
    });
    const completed = new Promise<void>((resolve) => {
      agenda.on('complete', () => resolve());
    });
    let lockedDuringRun: unknown;
    agenda.define('handed', async (job) => {
      lockedDuringRun = (await database.collection(collectionName).findOne({ name: 'handed' }))?.lockedAt;
      writes.length = 0;
      expect(await scheduler.replaceIfCurrent(first, next, { handOver: true, record })).toBe(true);
      backend.handedOver(String(job.attrs._id));
    });
    await scheduler.schedule(first);
    await agenda.start();
    await completed;
    await agenda.stop(false);
    expect(lockedDuringRun).toBeInstanceOf(Date);
    // The replacement, with the execution record, was the only write after the lock: no
    // unlock and no record of its own followed it.
    expect(writes).toEqual(['update']);
    expect(await scheduler.getPending('handed')).toEqual(next);
    expect(await scheduler.getLastExecution('handed')).toEqual(record);
    const document = await database.collection(collectionName).findOne({ name: 'handed' });
    expect(document?.lockedAt).toBeNull();
    expect(document?.lastFinishedAt).toBeInstanceOf(Date);
    expect(document?.lastExecution).toEqual({
      executedAt: record.lastExecutedAt,
      occurrenceAt: record.lastOccurrenceAt,
      nextScheduledAt: record.nextScheduledAt,
      executedBy: record.lastExecutedBy,
    });
    await monitored.close();
  });

  it('keeps the lock when a replacement is not a hand-over (an operator replacing a running occurrence)', async () => {
    const collectionName = 'agendaJobs_replace_keeps_lock';
    const { database, scheduler } = await dueNow(collectionName, 'busy');
    const lockedAt = new Date();
    await database.collection(collectionName).updateOne({ name: 'busy' }, { $set: { lockedAt, lastModifiedBy: 'runner' } });
    const pending = await scheduler.getPending('busy');
    const triggered = occurrence('busy', new Date(), { cause: 'trigger', requestedBy: 'cli:ops' });
    expect(await scheduler.replaceIfCurrent(pending!, triggered)).toBe(true);
    expect(await database.collection(collectionName).findOne({ name: 'busy' })).toMatchObject({ lockedAt, lastModifiedBy: 'runner' });
    expect(await scheduler.replaceIfCurrent(triggered, occurrence('busy', new Date(Date.now() + 60_000)), { handOver: true })).toBe(true);
    expect((await database.collection(collectionName).findOne({ name: 'busy' }))?.lockedAt).toBeNull();
  });

  it("leaves the lock of a worker that took the document over when a finished run's Agenda unlocks", async () => {
    const collectionName = 'agendaJobs_unlock_taken_over';
    const { database } = await dueNow(collectionName, 'taken');
    const agenda = new Agenda({ name: 'first-owner', backend: new OccurrenceGuardBackend(database, collectionName), processEvery: 100 });
    const completed = new Promise<void>((resolve) => {
      agenda.on('complete', () => resolve());
    });
    const takenOverAt = new Date();
    agenda.define('taken', async () => {
      // Another worker's Agenda locks the document while this run is still going.
      await database.collection(collectionName).updateOne({ name: 'taken' }, { $set: { lockedAt: takenOverAt, lastModifiedBy: 'second-owner' } });
    });
    await agenda.start();
    await completed;
    await agenda.stop(false);
    const document = await database.collection(collectionName).findOne({ name: 'taken' });
    expect(document).toMatchObject({ lockedAt: takenOverAt, lastModifiedBy: 'second-owner' });
  });

  it('runs a job whose lock write landed late (held by the driver through an outage)', async () => {
    const collectionName = 'agendaJobs_late_lock';
    const { database } = await dueNow(collectionName, 'late');
    // Agenda computes the lock instant before sending the lock's findOneAndUpdate; a write the
    // driver retries once the server is back lands with that instant, here 20 s old.
    const lateLocks = new Proxy(database, {
      get(target, property) {
        if (property !== 'collection') return Reflect.get(target, property, target) as unknown;
        return (name: string) => {
          const collection = target.collection(name);
          return new Proxy(collection, {
            get(inner, method) {
              if (method !== 'findOneAndUpdate') return Reflect.get(inner, method, inner) as unknown;
              return (filter: Document, update: { $set: Record<string, unknown> }, options: object) =>
                inner.findOneAndUpdate(
                  filter,
                  { $set: { ...update.$set, lockedAt: new Date(Date.now() - 20_000) } },
                  options,
                );
            },
          });
        };
      },
    });
    const agenda = new Agenda({
      name: 'late-lock',
      backend: new OccurrenceGuardBackend(lateLocks, collectionName),
      processEvery: 100,
      defaultLockLifetime: 10_000,
    });
    const ran = new Promise<void>((resolve) => {
      agenda.define('late', () => resolve(), { lockLifetime: 10_000, lockLimit: 1, concurrency: 1 });
    });
    await agenda.start();
    await ran; // without the re-stamp, Agenda drops the "expired" job and, at its lock limit, never locks it again
    await agenda.stop(false);
  });

  it('re-stamps a lock that comes back older than a quarter of its lifetime, and only such a lock', async () => {
    const collectionName = 'agendaJobs_restamp';
    const { database } = await dueNow(collectionName, 'restamp');
    const backend = new OccurrenceGuardBackend(database, collectionName);
    await backend.connect();
    const repository = backend.repository;
    const stale = new Date(Date.now() - 20_000);
    const before = Date.now();
    const locked = await repository.getNextJobToRun('restamp', new Date(), new Date(Date.now() - 10_000), stale, {
      lastModifiedBy: 'me',
    });
    const document = await database.collection(collectionName).findOne({ name: 'restamp' });
    expect(locked?.lockedAt?.getTime()).toBeGreaterThanOrEqual(before);
    expect(document?.lockedAt).toEqual(locked?.lockedAt);
    // A fresh lock is returned as it is.
    await database.collection(collectionName).updateOne({ name: 'restamp' }, { $set: { lockedAt: null } });
    const fresh = new Date();
    const again = await repository.getNextJobToRun('restamp', new Date(), new Date(Date.now() - 10_000), fresh, {
      lastModifiedBy: 'me',
    });
    expect(again?.lockedAt).toEqual(fresh);
  });

  it('makes one lock attempt per job name at a time', async () => {
    const collectionName = 'agendaJobs_one_attempt';
    const { database } = await dueNow(collectionName, 'single', 'other');
    const attempts: [string, boolean][] = [];
    const backend = new OccurrenceGuardBackend(database, collectionName, (jobName, locked) => attempts.push([jobName, locked]));
    await backend.connect();
    const attempt = (jobName: string) =>
      backend.repository.getNextJobToRun(jobName, new Date(Date.now() + 1000), new Date(Date.now() - 10_000), undefined, {
        lastModifiedBy: 'me',
      });
    // The second attempt for 'single' starts while the first is in flight: it is skipped.
    const [first, second, other] = await Promise.all([attempt('single'), attempt('single'), attempt('other')]);
    expect(first?.name).toBe('single');
    expect(second).toBeUndefined();
    expect(other?.name).toBe('other');
    expect(attempts.sort()).toEqual([
      ['other', true],
      ['single', true],
    ]);
    // Once it answered, the next attempt is made (and finds the document locked).
    expect(await attempt('single')).toBeUndefined();
    expect(attempts).toContainEqual(['single', false]);
  });

  it("answers a scan with one read, which agrees with Agenda's lock query on every document state", async () => {
    const collectionName = 'agendaJobs_scan_probe';
    const database = client.db(testDatabaseName());
    const collection = database.collection(collectionName);
    await collection.drop().catch(() => undefined);
    const now = Date.now();
    const nextScanAt = new Date(now + 500);
    const lockDeadline = new Date(now - 10_000);
    const states: Record<string, Document> = {
      'due-unlocked': { nextRunAt: new Date(now - 1000), lockedAt: null },
      'due-in-scan-window': { nextRunAt: new Date(now + 300), lockedAt: null },
      'due-after-scan-window': { nextRunAt: new Date(now + 700), lockedAt: null },
      'no-next-run': { nextRunAt: null, lockedAt: null },
      'lock-field-absent': { nextRunAt: new Date(now - 1000) },
      'locked-fresh': { nextRunAt: new Date(now - 1000), lockedAt: new Date(now - 1000) },
      'locked-expired': { nextRunAt: new Date(now - 1000), lockedAt: new Date(now - 20_000) },
      'locked-expired-not-due': { nextRunAt: new Date(now + 60_000), lockedAt: new Date(now - 20_000) },
      'disabled-due': { nextRunAt: new Date(now - 1000), lockedAt: null, disabled: true },
      'enabled-due': { nextRunAt: new Date(now - 1000), lockedAt: null, disabled: false },
    };
    await collection.insertMany(Object.entries(states).map(([name, fields]) => ({ name, type: 'normal', priority: 0, data: null, ...fields })));
    const names = [...Object.keys(states), 'no-document'];
    const watched = new MongoClient(testMongoUri(), { monitorCommands: true });
    await watched.connect();
    const commands: string[] = [];
    watched.on('commandStarted', (event) => commands.push(event.commandName));
    const probe = new ScanProbe(watched.db(testDatabaseName()).collection(collectionName));
    const answers = await Promise.all(names.map((name) => probe.isLockable(name, nextScanAt, lockDeadline)));
    expect(commands).toEqual(['find']);
    await watched.close();
    // What Agenda's own lock query does with each document, with the same bounds.
    const agendaBackend = new MongoBackend({ mongo: database, collection: collectionName });
    await agendaBackend.connect();
    const lockedByAgenda = await Promise.all(
      names.map(async (name) => (await agendaBackend.repository.getNextJobToRun(name, nextScanAt, lockDeadline, new Date(), {})) !== undefined),
    );
    expect(Object.fromEntries(names.map((name, index) => [name, answers[index]]))).toEqual(
      Object.fromEntries(names.map((name, index) => [name, lockedByAgenda[index]])),
    );
    // Agenda takes an expired lock whether or not the document is due; a missing lock field counts as none.
    expect(names.filter((_, index) => answers[index])).toEqual([
      'due-unlocked',
      'due-in-scan-window',
      'lock-field-absent',
      'locked-expired',
      'locked-expired-not-due',
      'enabled-due',
    ]);
  });

  it('sends a lock write only for the names the scan probe found lockable, and reports every attempt', async () => {
    const collectionName = 'agendaJobs_probe_writes';
    const { database } = await dueNow(collectionName, 'due-one', 'due-two');
    await database.collection(collectionName).updateOne({ name: 'due-two' }, { $set: { nextRunAt: new Date(Date.now() + 60_000) } });
    const watched = new MongoClient(testMongoUri(), { monitorCommands: true });
    await watched.connect();
    const commands: string[] = [];
    watched.on('commandStarted', (event) => commands.push(event.commandName));
    const attempts: [string, boolean][] = [];
    const backend = new OccurrenceGuardBackend(watched.db(testDatabaseName()), collectionName, (jobName, locked) => attempts.push([jobName, locked]));
    await backend.connect();
    commands.length = 0;
    const scan = (jobName: string) =>
      backend.repository.getNextJobToRun(jobName, new Date(Date.now() + 500), new Date(Date.now() - 10_000), undefined, { lastModifiedBy: 'me' });
    const [one, two, absent] = await Promise.all([scan('due-one'), scan('due-two'), scan('no-such-job')]);
    expect(one?.name).toBe('due-one');
    expect(two).toBeUndefined();
    expect(absent).toBeUndefined();
    expect(commands).toEqual(['find', 'findAndModify']);
    expect(attempts.sort()).toEqual([
      ['due-one', true],
      ['due-two', false],
      ['no-such-job', false],
    ]);
    await watched.close();
  });

  it('renews and releases only the locks its Agenda instance holds', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_locks';
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await scheduler.ensureIndexes();
    const lockedAt = new Date(Date.now() - 5000);
    await database.collection(collectionName).insertMany([
      { name: 'mine', data: {}, nextRunAt: new Date(), lockedAt, lastModifiedBy: 'me' },
      { name: 'theirs', data: {}, nextRunAt: new Date(), lockedAt, lastModifiedBy: 'them' },
    ]);
    const ids = (await database.collection(collectionName).find({}).toArray()).map((document) => document._id.toHexString());
    const renewedAt = new Date();
    await scheduler.renewLocks(ids, 'me', renewedAt);
    const byName = async (name: string) => database.collection(collectionName).findOne({ name });
    expect((await byName('mine'))?.lockedAt).toEqual(renewedAt);
    expect((await byName('theirs'))?.lockedAt).toEqual(lockedAt);
    await scheduler.releaseLock(ids[1]!, 'me');
    expect((await byName('theirs'))?.lockedAt).toEqual(lockedAt);
    await scheduler.releaseLock(ids[0]!, 'me');
    expect((await byName('mine'))?.lockedAt).toBeNull();
    await scheduler.renewLocks([], 'me', renewedAt);
  });

  it('does not hand a paused job to Agenda and keeps the flag across rescheduling', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_paused';
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await scheduler.ensureIndexes();
    const due = occurrence('paused-job', new Date(0), { runAt: new Date() });
    expect(await scheduler.setPaused('paused-job', true)).toBe(false);
    await scheduler.schedule(due);
    expect(await scheduler.setPaused('paused-job', true)).toBe(true);
    await scheduler.schedule({ ...due, attempt: 2, cause: 'retry' });
    expect(await scheduler.isPaused('paused-job')).toBe(true);
    const agenda = new Agenda({ backend: new OccurrenceGuardBackend(database, collectionName), processEvery: 100 });
    let runs = 0;
    const ran = new Promise<void>((resolve) => {
      agenda.define('paused-job', () => {
        runs += 1;
        resolve();
        return Promise.resolve();
      });
    });
    await agenda.start();
    // Proof that the paused moment passed: two witnesses, the second scheduled only after the
    // first ran, so at least one whole poll that found the paused job due has finished.
    const witnessRun = async (name: string): Promise<void> => {
      const ran = new Promise<void>((resolve) => {
        agenda.define(name, () => {
          resolve();
          return Promise.resolve();
        });
      });
      await scheduler.schedule(occurrence(name, new Date(0), { runAt: new Date() }));
      await ran;
    };
    await witnessRun('witness');
    await witnessRun('witness-2');
    expect(runs).toBe(0);
    await scheduler.setPaused('paused-job', false);
    await ran;
    await agenda.stop(false);
    expect(runs).toBe(1);
    expect(await scheduler.isPaused('paused-job')).toBe(false);
  });

  it('cancels by clearing the occurrence and the lock, so Agenda never hands the document over again', async () => {
    const { database, scheduler } = await dueNow('agendaJobs_cancel', 'cancelled');
    const collection = database.collection('agendaJobs_cancel');
    // Locked by a worker that then died: Agenda would take the expired lock of any document.
    await collection.updateOne({ name: 'cancelled' }, { $set: { lockedAt: new Date(Date.now() - 3_600_000) } });
    await scheduler.upsertExecution({
      jobName: 'cancelled',
      lastExecutedAt: new Date(0),
      lastOccurrenceAt: new Date(0),
      nextScheduledAt: null,
      lastExecutedBy: null,
    });
    expect(await scheduler.cancel('cancelled')).toBe(true);
    expect(await collection.findOne({ name: 'cancelled' }, { projection: { _id: 0, data: 1, nextRunAt: 1, lockedAt: 1 } })).toEqual({
      data: null,
      nextRunAt: null,
      lockedAt: null,
    });
    const agendaBackend = new MongoBackend({ mongo: database, collection: 'agendaJobs_cancel' });
    await agendaBackend.connect();
    const now = new Date();
    expect(await agendaBackend.repository.getNextJobToRun('cancelled', now, new Date(now.getTime() - 10_000), now, {})).toBeUndefined();
    expect((await scheduler.getLastExecution('cancelled'))?.lastOccurrenceAt).toEqual(new Date(0));
  });

  it('keeps one document when ten connections record a job without one at the same instant', async () => {
    const collectionName = 'agendaJobs_record_race';
    const clients = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const each = new MongoClient(testMongoUri());
        await each.connect();
        return each;
      }),
    );
    try {
      const schedulers = clients.map((each) => new AgendaMessageScheduler(each.db(testDatabaseName()), { collectionName }));
      await schedulers[0]!.ensureIndexes();
      for (let round = 0; round < 3; round += 1) {
        const jobName = `race-${round}`;
        const outcomes = await Promise.all(
          schedulers.map((scheduler, index) =>
            scheduler.upsertExecution({
              jobName,
              lastExecutedAt: new Date(1000 * index),
              lastOccurrenceAt: new Date(1000 * index),
              nextScheduledAt: null,
              lastExecutedBy: { hostName: 'worker', processId: index },
            }),
          ),
        );
        const documents = await client.db(testDatabaseName()).collection<PendingOccurrenceDocument>(collectionName).find({ name: jobName }).toArray();
        expect(documents).toHaveLength(1);
        // The latest occurrence's record stays, whoever came last; the refused ones said so.
        expect(documents[0]?.lastExecution?.executedBy).toEqual({ hostName: 'worker', processId: 9 });
        expect(outcomes[9]).toBe(true);
        expect(documents[0]).toMatchObject({ nextRunAt: null, data: null, lockedAt: null, type: 'normal' });
      }
    } finally {
      await Promise.all(clients.map((each) => each.close()));
    }
  });

  it('reads a document written by release 0.1.0 (occurrence and attempt only)', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_legacy';
    const occurrenceAt = new Date(Date.UTC(2026, 11, 1));
    await database.collection(collectionName).insertMany([
      { name: 'legacy', data: { occurrenceAt, attempt: 1 }, nextRunAt: occurrenceAt },
      { name: 'legacy-retry', data: { occurrenceAt: occurrenceAt.toISOString(), attempt: 2 }, nextRunAt: occurrenceAt },
    ]);
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    expect(await scheduler.getPending('legacy')).toEqual(occurrence('legacy', occurrenceAt));
    expect(await scheduler.getPending('legacy-retry')).toEqual(occurrence('legacy-retry', occurrenceAt, { attempt: 2, cause: 'retry' }));
  });

  it('rejects a document with unreadable data with an error naming the field', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_bad';
    await database.collection(collectionName).insertMany([
      { name: 'broken', data: { attempt: 0, occurrenceAt: new Date() }, nextRunAt: new Date() },
      { name: 'no-date', data: { attempt: 1, occurrenceAt: 'yesterday' }, nextRunAt: new Date() },
      { name: 'bad-cause', data: { attempt: 1, occurrenceAt: new Date(), cause: 'whim' }, nextRunAt: new Date() },
      { name: 'bad-resume', data: { attempt: 1, occurrenceAt: new Date(), resume: { attempt: 1 } }, nextRunAt: new Date() },
      { name: 'not-due', data: 'garbage', nextRunAt: null },
    ]);
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await expect(scheduler.getPending('broken')).rejects.toThrow(/data\.attempt/u);
    await expect(scheduler.getPending('no-date')).rejects.toThrow(/data\.occurrenceAt/u);
    await expect(scheduler.getPending('bad-cause')).rejects.toThrow(/data\.cause/u);
    await expect(scheduler.getPending('bad-resume')).rejects.toThrow(/data\.resume/u);
    expect(await scheduler.getPending('not-due')).toBeNull();
  });

  it('explains a failed unique-index creation (duplicate job documents)', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_duplicates';
    await database.collection(collectionName).insertMany([{ name: 'twice' }, { name: 'twice' }]);
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await expect(scheduler.ensureIndexes()).rejects.toThrow(/unique index.*duplicates/u);
  });
});
