/** Pure checks: settings, job registration, retry delays, document reading, the guarded backend. */
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { OccurrenceGuardBackend, registerJob, resolveRuntimeSettings, UnreadableOccurrenceError } from '../src/index.js';
import {
  occurrenceData,
  readOccurrenceData,
  toScheduledOccurrence,
} from '../src/models/pending-occurrence-document.js';

describe('settings and registration', () => {
  it('fills defaults and names the bad field', () => {
    expect(resolveRuntimeSettings()).toEqual({
      processEveryMs: 500,
      leaseTimeoutMs: 10_000,
      heartbeatIntervalMs: 2000,
      progressWriteEveryMs: 1000,
      recordDeadlineMs: 60_000,
      collectionName: 'agendaJobs',
    });
    expect(resolveRuntimeSettings({ leaseTimeoutMs: 3000 }).heartbeatIntervalMs).toBe(600);
    expect(() => resolveRuntimeSettings({ leaseTimeoutMs: 1.5 })).toThrow(/leaseTimeoutMs/u);
    expect(() => resolveRuntimeSettings({ recordDeadlineMs: 0 })).toThrow(/recordDeadlineMs/u);
  });

  it('rejects a job without a handler or with a bad retry delay, and fills defaults', () => {
    const base = { name: 'job', schedule: { kind: 'interval' as const, everyMs: 1000 }, run: () => Promise.resolve({}) };
    expect(() => registerJob({ ...base, run: undefined as never })).toThrow(/run must be a function/u);
    expect(() => registerJob({ ...base, name: ' ' })).toThrow(/job name/u);
    expect(() => registerJob({ ...base, retry: { maxAttempts: 2, initialDelayMs: -1, maxDelayMs: 10 } })).toThrow(
      /initialDelayMs/u,
    );
    expect(() => registerJob({ ...base, misfire: { kind: 'catch-up', windowMs: 1000, maxRuns: 1 } })).toThrow(
      /job "job".*cron/u,
    );
    expect(registerJob(base)).toMatchObject({
      jobName: 'job',
      stallTimeoutMs: null,
      retry: { maxAttempts: 1 },
      timing: { schedule: { kind: 'interval', everyMs: 1000 }, misfire: { kind: 'once' } },
    });
  });
});

describe('pending occurrence documents', () => {
  it('reads ISO strings and release 0.1.0 data, rejects garbage naming the field, and treats nextRunAt null as not pending', () => {
    expect(readOccurrenceData('job', { occurrenceAt: '2026-01-01T00:00:00.000Z', attempt: 2 })).toEqual({
      occurrenceAt: new Date('2026-01-01T00:00:00.000Z'),
      attempt: 2,
      cause: 'retry',
      requestedBy: null,
      resume: null,
      timing: null,
    });
    expect(() => readOccurrenceData('job', null)).toThrow(UnreadableOccurrenceError);
    expect(() => readOccurrenceData('job', { occurrenceAt: 'not a date', attempt: 1 })).toThrow(/occurrenceAt/u);
    expect(toScheduledOccurrence({ name: 'job', data: { occurrenceAt: new Date(0), attempt: 1 }, nextRunAt: null })).toBeNull();
  });

  it('round-trips timings and ignores a timing it does not understand (it is adopted again)', () => {
    const timing = {
      schedule: { kind: 'cron' as const, expression: '0 3 * * *', timeZone: 'Europe/Berlin' },
      misfire: { kind: 'catch-up' as const, windowMs: 3_600_000, maxRuns: 5 },
      since: new Date('2026-01-01T00:00:00.000Z'),
    };
    const occurrence = {
      jobName: 'job',
      occurrenceAt: new Date(0),
      runAt: new Date(0),
      attempt: 1,
      cause: 'schedule' as const,
      requestedBy: null,
      resume: null,
      timing,
    };
    expect(readOccurrenceData('job', occurrenceData(occurrence)).timing).toEqual(timing);
    const future = { ...occurrenceData(occurrence), timing: { schedule: { kind: 'rrule', rule: 'FREQ=DAILY' }, misfire: { kind: 'once' } } };
    expect(readOccurrenceData('job', future).timing).toBeNull();
  });
});

describe('OccurrenceGuardBackend', () => {
  it('saves Agenda job state without ever writing nextRunAt, and refuses a job without id', async () => {
    const client = new MongoClient(testMongoUri());
    await client.connect();
    try {
      const database = client.db(testDatabaseName());
      const collection = database.collection('agendaJobs_guard');
      const nextRunAt = new Date('2026-05-01T00:00:00.000Z');
      const { insertedId } = await collection.insertOne({ name: 'guarded', nextRunAt, lockedAt: new Date(), lastModifiedBy: 'validation-test' });
      const backend = new OccurrenceGuardBackend(database, 'agendaJobs_guard');
      await backend.connect();
      expect(backend.ownsConnection).toBe(false);
      const lastRunAt = new Date();
      await backend.repository.saveJobState({
        _id: insertedId.toString(),
        name: 'guarded',
        nextRunAt: null,
        lastRunAt,
        priority: 0,
        type: 'normal',
        data: {},
      } as never, { lastModifiedBy: 'validation-test' });
      const saved = await collection.findOne({ _id: insertedId });
      expect(saved).toMatchObject({ nextRunAt, lastRunAt, lockedAt: null });
      await expect(
        backend.repository.saveJobState({ name: 'guarded', nextRunAt: null } as never, {}),
      ).rejects.toThrow(/without job ID/u);
      // A document that is gone (the job was cancelled) is not an error.
      await collection.deleteOne({ _id: insertedId });
      await backend.repository.saveJobState({ _id: insertedId.toString(), name: 'guarded' } as never, {});
      expect(await collection.countDocuments({ _id: insertedId })).toBe(0);
      expect(await backend.repository.getQueueSize()).toBe(0);
      await backend.disconnect();
    } finally {
      await client.close();
    }
  });

  it('skips the save at the start of a run it locked, and writes the unlock while it holds the lock', async () => {
    const client = new MongoClient(testMongoUri());
    await client.connect();
    try {
      const database = client.db(testDatabaseName());
      const collection = database.collection('agendaJobs_start_save');
      const nextRunAt = new Date(Date.now() - 1000);
      await collection.insertOne({ name: 'locked-here', nextRunAt, lockedAt: null, type: 'normal', priority: 0, data: {} });
      const backend = new OccurrenceGuardBackend(database, 'agendaJobs_start_save');
      await backend.connect();
      const locked = await backend.repository.getNextJobToRun(
        'locked-here',
        new Date(Date.now() + 1000),
        new Date(Date.now() - 60_000),
        undefined,
        { lastModifiedBy: 'validation-test' },
      );
      expect(locked?.lockedAt).toBeInstanceOf(Date);
      const startedAt = new Date();
      const save = (state: Record<string, unknown>) =>
        backend.repository.saveJobState({ ...locked, ...state } as never, { lastModifiedBy: 'validation-test' });
      await save({ lastRunAt: startedAt });
      expect((await collection.findOne({ name: 'locked-here' }))?.lastRunAt).toBeUndefined();
      const touchedAt = new Date(Date.now() + 5);
      await save({ lastRunAt: startedAt, lockedAt: touchedAt, progress: 50 });
      expect(await collection.findOne({ name: 'locked-here' })).toMatchObject({ lockedAt: touchedAt, progress: 50 });
      await save({ lastRunAt: startedAt, lockedAt: null, lastFinishedAt: new Date() });
      expect(await collection.findOne({ name: 'locked-here' })).toMatchObject({ lastRunAt: startedAt, lockedAt: null, nextRunAt });
      await backend.disconnect();
    } finally {
      await client.close();
    }
  });
});
