/** Pure checks: settings, job registration, retry delays, document reading, the guarded backend. */
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  OccurrenceGuardBackend,
  registerJob,
  resolveRuntimeSettings,
  retryDelayMs,
  UnreadableOccurrenceError,
} from '../src/index.js';
import { readOccurrenceData, toScheduledOccurrence } from '../src/models/pending-occurrence-document.js';

describe('settings and registration', () => {
  it('fills defaults and names the bad field', () => {
    expect(resolveRuntimeSettings()).toEqual({
      processEveryMs: 500,
      defaultLockLifetimeMs: 60_000,
      collectionName: 'agendaJobs',
      writeSettleMs: 250,
    });
    expect(() => resolveRuntimeSettings({ defaultLockLifetimeMs: 1.5 })).toThrow(/defaultLockLifetimeMs/u);
    expect(() => resolveRuntimeSettings({ writeSettleMs: 0 })).toThrow(/writeSettleMs/u);
  });

  it('rejects a job without a handler or with a bad retry delay', () => {
    const base = { name: 'job', intervalMs: 1000, run: () => Promise.resolve({}) };
    expect(() => registerJob({ ...base, run: undefined as never }, 1000)).toThrow(/run must be a function/u);
    expect(() =>
      registerJob({ ...base, retry: { maxAttempts: 2, initialDelayMs: -1, maxDelayMs: 10 } }, 1000),
    ).toThrow(/retry\.initialDelayMs of job "job"/u);
    expect(registerJob(base, 1234)).toMatchObject({
      lockLifetimeMs: 1234,
      retry: { maxAttempts: 1 },
      schedule: { misfirePolicy: 'once' },
    });
  });

  it('computes growing, capped retry delays with jitter and stops after the last attempt', () => {
    const policy = { maxAttempts: 4, initialDelayMs: 1000, maxDelayMs: 3000 };
    const error = new Error('boom');
    for (let sample = 0; sample < 50; sample += 1) {
      const first = retryDelayMs('job', policy, 1, error)!;
      const second = retryDelayMs('job', policy, 2, error)!;
      const third = retryDelayMs('job', policy, 3, error)!;
      expect(first).toBeGreaterThanOrEqual(800);
      expect(first).toBeLessThanOrEqual(1200);
      expect(second).toBeGreaterThan(first);
      expect(third).toBeLessThanOrEqual(3600);
    }
    expect(retryDelayMs('job', policy, 4, error)).toBeNull();
  });
});

describe('pending occurrence documents', () => {
  it('reads ISO strings, rejects garbage with an error naming the field, and treats nextRunAt null as not pending', () => {
    expect(readOccurrenceData('job', { occurrenceAt: '2026-01-01T00:00:00.000Z', attempt: 2 })).toEqual({
      occurrenceAt: new Date('2026-01-01T00:00:00.000Z'),
      attempt: 2,
    });
    expect(() => readOccurrenceData('job', null)).toThrow(UnreadableOccurrenceError);
    expect(() => readOccurrenceData('job', { occurrenceAt: 'not a date', attempt: 1 })).toThrow(/occurrenceAt/u);
    expect(
      toScheduledOccurrence({ name: 'job', data: { occurrenceAt: new Date(0), attempt: 1 }, nextRunAt: null }),
    ).toBeNull();
  });
});

describe('OccurrenceGuardBackend', () => {
  it('saves Agenda job state without ever writing nextRunAt, and refuses a job without id or document', async () => {
    const client = new MongoClient(testMongoUri());
    await client.connect();
    try {
      const database = client.db(testDatabaseName());
      const collection = database.collection('agendaJobs_guard');
      const nextRunAt = new Date('2026-05-01T00:00:00.000Z');
      const { insertedId } = await collection.insertOne({ name: 'guarded', nextRunAt, lockedAt: new Date() });
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
      await collection.deleteOne({ _id: insertedId });
      await expect(
        backend.repository.saveJobState({ _id: insertedId.toString(), name: 'guarded' } as never, {}),
      ).rejects.toThrow(/no longer exists/u);
      expect(await backend.repository.getQueueSize()).toBe(0);
      await backend.disconnect();
    } finally {
      await client.close();
    }
  });

  it('skips the save at the start of a run it locked, and writes progress and the unlock', async () => {
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
