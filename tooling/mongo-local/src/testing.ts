/** Helpers for test files that run under the shared vitest preset with `database: true`. */
import { MongoClient, type Db } from 'mongodb';


/**
 * `serverArguments` of `startLocalMongo` that start FerretDB with `--test-disable-pushdown`:
 * every query reads the whole collection and the server filters and sorts in memory. The
 * reference for differential tests and benchmarks.
 */
export const disablePushdownArguments: readonly string[] = ['--test-disable-pushdown'];

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

export interface QueryPlanSummary {
  /** Names of the indexes the plan reads (`_id_` for the _id index). */
  readonly indexes: string[];
  /** True when the plan reads a whole collection. */
  readonly collectionScan: boolean;
}

/** A database handle that runs commands: the driver's `Db`, or mongoose's `connection.db`. */
export interface CommandRunner {
  command(command: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/**
 * What `explain` says a command reads, on MongoDB (IXSCAN / COUNT_SCAN / COLLSCAN stages of the
 * plan) or on the bundled FerretDB build (SQLite's plan: `SEARCH <table> USING INDEX ...` or
 * `SCAN <table>`), so a test can check that a hot query is served by its index on either server.
 */
export async function explainQuery(
  database: CommandRunner,
  collectionName: string,
  command: Record<string, unknown>,
): Promise<QueryPlanSummary> {
  const answer = await database.command({ explain: command, verbosity: 'queryPlanner' });
  const indexes = new Set<string>();
  let collectionScan = false;
  const tablePrefix = new RegExp(`^(?:_ferretdb_key_)?${collectionName}_[0-9a-f]{8}_`, 'u');
  const scanOfCollection = new RegExp(`detail=SCAN ${collectionName}_`, 'u');
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (typeof value === 'string') {
      const search = /USING (?:COVERING )?INDEX (\S+)/u.exec(value);
      if (search?.[1] !== undefined) indexes.add(search[1].replace(tablePrefix, ''));
      if (scanOfCollection.test(value)) collectionScan = true;
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const record = value as Record<string, unknown>;
    if (record.stage === 'COLLSCAN') collectionScan = true;
    if (typeof record.indexName === 'string') indexes.add(record.indexName);
    for (const nested of Object.values(record)) visit(nested);
  };
  visit(answer.queryPlanner ?? answer);
  if (answer.stages !== undefined) visit(answer.stages);
  return { indexes: [...indexes].sort(), collectionScan };
}
