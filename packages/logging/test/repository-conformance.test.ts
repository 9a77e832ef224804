import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import {
  describeInstanceRegistryConformance,
  describeJobRunLedgerConformance,
} from '@app/shared-jobs/testing';
import mongoose, { type Connection } from 'mongoose';
import { MongooseInstanceRegistry, MongooseJobRunLedger } from '../src/index.js';

/** Each instance opens its own connection to this file's database, so races are real. */
function harnessOf<TInstance extends { ensureIndexes(): Promise<void> }>(
  collectionNames: readonly string[],
  create: (connection: Connection) => TInstance,
) {
  return () => {
    const connections: Connection[] = [];
    return Promise.resolve({
      async createInstance(): Promise<TInstance> {
        const connection = await mongoose
          .createConnection(testMongoUri(), { dbName: testDatabaseName() })
          .asPromise();
        connections.push(connection);
        const instance = create(connection);
        await instance.ensureIndexes();
        return instance;
      },
      async teardown(): Promise<void> {
        const [first] = connections;
        for (const collectionName of collectionNames) {
          if (first !== undefined) await first.dropCollection(collectionName).catch(ignoreMissing);
        }
        await Promise.all(connections.map((connection) => connection.close()));
      },
    });
  };
}

function ignoreMissing(error: unknown): void {
  if ((error as { codeName?: string }).codeName !== 'NamespaceNotFound') throw error;
}

describeJobRunLedgerConformance(
  'MongooseJobRunLedger',
  harnessOf(['job_runs'], (connection) => new MongooseJobRunLedger(connection)),
);

describeInstanceRegistryConformance(
  'MongooseInstanceRegistry',
  harnessOf(['worker_instances'], (connection) => new MongooseInstanceRegistry(connection)),
);
