// The RecurringJobService suite of @app/shared-jobs (start-up, completing an occurrence,
// misfires: the code production runs) on AgendaMessageScheduler against the test server.
import { describeRecurringJobServiceConformance, type MessageSchedulerHarness } from '@app/shared-jobs/testing';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { MongoClient } from 'mongodb';
import { AgendaMessageScheduler } from '../src/index.js';

let collectionCounter = 0;

/** Schedulers on a fresh collection, each on its own connection (as agenda-message-scheduler.test.ts). */
async function schedulerHarness(): Promise<MessageSchedulerHarness> {
  collectionCounter += 1;
  const collectionName = `agendaJobs_service_conformance_${collectionCounter}`;
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

describeRecurringJobServiceConformance('AgendaMessageScheduler on the test server', schedulerHarness);
