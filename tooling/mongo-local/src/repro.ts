/**
 * Driver-level reproductions of the FerretDB v1 behaviours that shape the design
 * (docs/ferretdb.md). Runs against MONGODB_URI, or a fresh local server (our patched build,
 * which should show zero bad rounds; stock FerretDB v1.24.2 shows many).
 *
 *   pnpm --filter @app/mongo-local repro [--ttl-wait]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient, MongoServerError, type Db } from 'mongodb';
import { classifyBuildInfo, findRepositoryRoot, startLocalMongo, type LocalMongoServer } from './index.js';

const concurrency = 20;
const rounds = 20;

async function compareAndSetRace(database: Db): Promise<void> {
  const collection = database.collection<{ _id: number; owner: number | null }>('cas_race');
  let roundsWithSeveralWinners = 0;
  let maximumWinners = 0;
  for (let round = 0; round < rounds; round += 1) {
    await collection.deleteMany({});
    await collection.insertOne({ _id: 1, owner: null });
    const results = await Promise.all(
      Array.from({ length: concurrency }, (_, contender) =>
        collection.findOneAndUpdate({ _id: 1, owner: null }, { $set: { owner: contender } }),
      ),
    );
    const winners = results.filter((result) => result !== null).length;
    maximumWinners = Math.max(maximumWinners, winners);
    if (winners > 1) roundsWithSeveralWinners += 1;
  }
  console.log(
    `findOneAndUpdate compare-and-set, ${concurrency} concurrent callers x ${rounds} rounds: ` +
      `rounds with more than one winner = ${roundsWithSeveralWinners}, most winners in a round = ${maximumWinners}`,
  );
}

/** Each of 20 callers moves one document out of 'running' with a conditional updateOne. */
async function conditionalUpdateRace(database: Db): Promise<void> {
  const collection = database.collection<{ _id: number; status: string }>('conditional_race');
  let roundsNotExactlyOne = 0;
  let mostModified = 0;
  for (let round = 0; round < rounds; round += 1) {
    await collection.deleteMany({});
    await collection.insertOne({ _id: 1, status: 'running' });
    const results = await Promise.all(
      Array.from({ length: concurrency }, (_, contender) =>
        collection.updateOne({ _id: 1, status: 'running' }, { $set: { status: `done-${contender}` } }),
      ),
    );
    const modified = results.filter((result) => result.modifiedCount === 1).length;
    mostModified = Math.max(mostModified, modified);
    if (modified !== 1) roundsNotExactlyOne += 1;
  }
  console.log(
    `conditional updateOne, ${concurrency} concurrent callers x ${rounds} rounds: ` +
      `rounds where not exactly one reported modifiedCount 1 = ${roundsNotExactlyOne}, most in a round = ${mostModified}`,
  );
}

async function uniqueIndexRace(database: Db): Promise<void> {
  const collection = database.collection<{ key: string }>('unique_race');
  await collection.createIndex({ key: 1 }, { unique: true });
  let roundsNotExactlyOne = 0;
  for (let round = 0; round < rounds; round += 1) {
    const outcomes = await Promise.allSettled(
      Array.from({ length: concurrency }, () => collection.insertOne({ key: `round-${round}` })),
    );
    const inserted = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
    const duplicateErrors = outcomes.filter(
      (outcome) =>
        outcome.status === 'rejected' &&
        outcome.reason instanceof MongoServerError &&
        outcome.reason.code === 11000,
    ).length;
    if (inserted !== 1 || duplicateErrors !== concurrency - 1) roundsNotExactlyOne += 1;
  }
  console.log(
    `unique index, ${concurrency} concurrent inserts of one key x ${rounds} rounds: ` +
      `rounds where not exactly one insert won (others E11000) = ${roundsNotExactlyOne}`,
  );
}

async function upsertRaceWithoutUniqueIndex(database: Db): Promise<void> {
  const collection = database.collection<{ name: string; value: number }>('upsert_race');
  let roundsWithDuplicates = 0;
  for (let round = 0; round < rounds; round += 1) {
    const name = `job-${round}`;
    await Promise.all(
      Array.from({ length: concurrency }, (_, contender) =>
        collection.updateOne({ name }, { $set: { value: contender } }, { upsert: true }),
      ),
    );
    if ((await collection.countDocuments({ name })) > 1) roundsWithDuplicates += 1;
  }
  console.log(
    `upsert without unique index, ${concurrency} concurrent upserts x ${rounds} rounds: ` +
      `rounds that created more than one document = ${roundsWithDuplicates}`,
  );
}

/**
 * Each of 20 callers sets its own field of one document at once. MongoDB keeps all 20
 * fields; a server that rewrites the whole document from a stale read loses some.
 */
async function lostFieldUpdates(database: Db): Promise<void> {
  const collection = database.collection<{ _id: number } & Record<string, unknown>>('field_race');
  let roundsWithLostFields = 0;
  let mostFieldsLost = 0;
  for (let round = 0; round < rounds; round += 1) {
    await collection.deleteMany({});
    await collection.insertOne({ _id: 1 });
    await Promise.all(
      Array.from({ length: concurrency }, (_, contender) =>
        collection.updateOne({ _id: 1 }, { $set: { [`field${contender}`]: true } }),
      ),
    );
    const document = await collection.findOne({ _id: 1 });
    const kept = Object.keys(document ?? {}).filter((key) => key.startsWith('field')).length;
    if (kept < concurrency) roundsWithLostFields += 1;
    mostFieldsLost = Math.max(mostFieldsLost, concurrency - kept);
  }
  console.log(
    `updateOne $set of ${concurrency} different fields of one document at once x ${rounds} rounds: ` +
      `rounds that lost a field = ${roundsWithLostFields}, most fields lost in a round = ${mostFieldsLost}`,
  );
}

async function ttlIndex(database: Db, waitForMonitor: boolean): Promise<void> {
  const collection = database.collection<{ createdAt: Date }>('ttl_probe');
  try {
    await collection.createIndex({ createdAt: 1 }, { expireAfterSeconds: 1 });
  } catch (error) {
    console.log(`TTL index (expireAfterSeconds: 1): createIndex rejected: ${(error as Error).message}`);
    return;
  }
  await collection.insertOne({ createdAt: new Date(Date.now() - 3_600_000) });
  const waitMs = waitForMonitor ? 70_000 : 2_000;
  await new Promise((resolveWait) => setTimeout(resolveWait, waitMs));
  const remaining = await collection.countDocuments({});
  console.log(
    `TTL index (expireAfterSeconds: 1), document an hour old, after ${waitMs / 1000} s: ` +
      `documents remaining = ${remaining} (MongoDB's TTL monitor runs every 60 s; use --ttl-wait)`,
  );
}

async function main(): Promise<void> {
  let server: LocalMongoServer | null = null;
  let uri = process.env.MONGODB_URI;
  const dataDirectory = join(findRepositoryRoot(), '.data', `repro-${process.pid}`);
  if (!uri) {
    server = await startLocalMongo({ dataDirectory, reuseRunning: false });
    uri = server.uri;
  }
  const client = new MongoClient(uri);
  try {
    await client.connect();
    const database = client.db(`repro_${process.pid}`);
    const build = await database.admin().command({ buildInfo: 1 });
    const kind = classifyBuildInfo(build);
    console.log(
      `server: ${String(build.version)} ` +
        (kind.kind === 'ferretdb-patched'
          ? `(FerretDB ${kind.ferretdbVersion}, our patch series: level ${kind.patchLevel}, ${kind.patchSeries})`
          : kind.kind === 'ferretdb-stock'
            ? `(FerretDB ${kind.ferretdbVersion}, stock)`
            : '(MongoDB)'),
    );
    await compareAndSetRace(database);
    await conditionalUpdateRace(database);
    await uniqueIndexRace(database);
    await upsertRaceWithoutUniqueIndex(database);
    await lostFieldUpdates(database);
    await ttlIndex(database, process.argv.includes('--ttl-wait'));
    await database.dropDatabase();
  } finally {
    await client.close();
    if (server) {
      await server.stop();
      rmSync(dataDirectory, { recursive: true, force: true });
    }
  }
}

await main();
