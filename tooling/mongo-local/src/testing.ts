/** Helpers for test files that run under the shared vitest preset with `database: true`. */
import { MongoClient, type Db } from 'mongodb';

/** The run's server, set by the setup file. Fails loudly when the preset did not run. */
export function testMongoUri(): string {
  const uri = process.env.MONGODB_URI;
  if (!uri) {
    throw new Error(
      'MONGODB_URI is not set: run the tests with the shared vitest preset ({ database: true }), ' +
        'which starts the local server.',
    );
  }
  return uri;
}

/** This test file's own database name, set by the setup file. */
export function testDatabaseName(): string {
  const databaseName = process.env.MONGODB_DATABASE;
  if (!databaseName) {
    throw new Error('MONGODB_DATABASE is not set: the vitest setup file of @app/mongo-local did not run.');
  }
  return databaseName;
}

/** A connected driver client and this file's database; close the client in afterAll. */
export async function connectTestDatabase(): Promise<{ client: MongoClient; database: Db }> {
  const client = new MongoClient(testMongoUri(), { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  return { client, database: client.db(testDatabaseName()) };
}
