import { describeMessageSchedulerConformance } from '@app/shared-jobs/testing';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { Agenda } from 'agenda';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgendaMessageScheduler, OccurrenceGuardBackend } from '../src/index.js';

let collectionCounter = 0;

describeMessageSchedulerConformance('AgendaMessageScheduler on FerretDB', async () => {
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
    countPendingRecords: (jobName) => adminCollection.countDocuments({ name: jobName }),
    async teardown() {
      await Promise.all(clients.map((client) => client.close()));
      await admin.close();
    },
  };
});

describe('AgendaMessageScheduler with Agenda processing the document', () => {
  let client: MongoClient;
  beforeAll(async () => {
    client = new MongoClient(testMongoUri());
    await client.connect();
  });
  afterAll(async () => {
    await client.close();
  });

  it("keeps an occurrence scheduled during a run when Agenda saves the job state afterwards", async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_save_race';
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await scheduler.ensureIndexes();
    const first = { jobName: 'chain', occurrenceAt: new Date(Date.now() - 1000), runAt: new Date(), attempt: 1 };
    const next = {
      jobName: 'chain',
      occurrenceAt: new Date(Date.now() + 3_600_000),
      runAt: new Date(Date.now() + 3_600_000),
      attempt: 1,
    };
    const agenda = new Agenda({
      backend: new OccurrenceGuardBackend(database, collectionName),
      processEvery: 100,
    });
    let runs = 0;
    const completed = new Promise<void>((resolve) => {
      agenda.on('complete', () => resolve());
    });
    agenda.define('chain', async (job) => {
      runs += 1;
      await scheduler.schedule(next);
      await job.touch(50);
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

  it('does not hand a paused job to Agenda and keeps the flag across rescheduling', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_paused';
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await scheduler.ensureIndexes();
    const due = { jobName: 'paused-job', occurrenceAt: new Date(0), runAt: new Date(), attempt: 1 };
    expect(await scheduler.setPaused('paused-job', true)).toBe(false);
    await scheduler.schedule(due);
    expect(await scheduler.setPaused('paused-job', true)).toBe(true);
    await scheduler.schedule({ ...due, attempt: 2 });
    expect(await scheduler.isPaused('paused-job')).toBe(true);
    const agenda = new Agenda({
      backend: new OccurrenceGuardBackend(database, collectionName),
      processEvery: 100,
    });
    let runs = 0;
    agenda.define('paused-job', () => {
      runs += 1;
      return Promise.resolve();
    });
    await agenda.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(runs).toBe(0);
    await scheduler.setPaused('paused-job', false);
    await new Promise((resolve) => setTimeout(resolve, 800));
    await agenda.stop(false);
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(await scheduler.isPaused('paused-job')).toBe(false);
  });

  it('schedules unless the pending occurrence is newer, reading only when the update matched nothing', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_unless_newer';
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await scheduler.ensureIndexes();
    const at = (offsetMs: number) => new Date(Date.UTC(2026, 0, 1) + offsetMs);
    const occurrence = (occurrenceAt: Date, attempt = 1) => ({ jobName: 'chain', occurrenceAt, runAt: occurrenceAt, attempt });
    // No document yet: inserted.
    expect(await scheduler.scheduleUnlessNewer(occurrence(at(60_000)), at(0))).toBeNull();
    expect(await scheduler.getPending('chain')).toEqual(occurrence(at(60_000)));
    // The pending occurrence is the one that ran (here a retry of it): replaced.
    await scheduler.schedule(occurrence(at(60_000), 2));
    expect(await scheduler.scheduleUnlessNewer(occurrence(at(120_000)), at(60_000))).toBeNull();
    expect(await scheduler.getPending('chain')).toEqual(occurrence(at(120_000)));
    // A newer occurrence (a trigger during the run of 120 000): kept and returned.
    await scheduler.schedule(occurrence(at(130_000)));
    expect(await scheduler.scheduleUnlessNewer(occurrence(at(180_000)), at(120_000))).toEqual(occurrence(at(130_000)));
    expect(await scheduler.getPending('chain')).toEqual(occurrence(at(130_000)));
    expect(await database.collection(collectionName).countDocuments({ name: 'chain' })).toBe(1);
    await expect(
      scheduler.scheduleUnlessNewer({ ...occurrence(at(0)), attempt: 0 }, at(0)),
    ).rejects.toThrow(/attempt/u);
  });

  it('inserts first when told the job has no document, and updates when it has one after all', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_insert_first';
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await scheduler.ensureIndexes();
    const first = { jobName: 'fresh', occurrenceAt: new Date(1000), runAt: new Date(1000), attempt: 1 };
    const second = { jobName: 'fresh', occurrenceAt: new Date(2000), runAt: new Date(2000), attempt: 1 };
    await scheduler.schedule(first, { insertFirst: true });
    await scheduler.schedule(second, { insertFirst: true }); // a concurrent start-up inserted meanwhile
    expect(await scheduler.getPending('fresh')).toEqual(second);
    expect(await database.collection(collectionName).countDocuments({ name: 'fresh' })).toBe(1);
    expect(await scheduler.findDocuments(['fresh', 'absent'])).toHaveLength(1);
  });

  it('rejects a document with unreadable data with an error naming the field', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_bad';
    await database.collection(collectionName).insertOne({ name: 'broken', data: { attempt: 0, occurrenceAt: new Date() }, nextRunAt: new Date() });
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await expect(scheduler.getPending('broken')).rejects.toThrow(/data\.attempt/u);
  });

  it('explains a failed unique-index creation (duplicate job documents)', async () => {
    const database = client.db(testDatabaseName());
    const collectionName = 'agendaJobs_duplicates';
    await database.collection(collectionName).insertMany([{ name: 'twice' }, { name: 'twice' }]);
    const scheduler = new AgendaMessageScheduler(database, { collectionName });
    await expect(scheduler.ensureIndexes()).rejects.toThrow(/unique index.*duplicates/u);
  });
});
