/**
 * Benchmark of concurrent writers on one database of our FerretDB build (docs/ferretdb.md,
 * patch 0007): `pnpm --filter @app/mongo-local bench:writers`.
 *
 * Four writers insert 300 documents each, once all into one collection (the baseline: patch
 * 0002 queues them on the collection's lock) and once into four collections of one database
 * (they meet only at SQLite's single writer per file, which patch 0007 hands over in order;
 * without it the later writer slept in SQLite's busy handler). Prints per-insert p50, p99 and
 * worst latency of both, and the ratio of the four-collection p99 to the one-collection p99,
 * three rounds each, alternating.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { startLocalMongo } from '@app/mongo-local';
import { percentile } from './statistics.ts';

const writers = 4;
const insertsPerWriter = 300;

async function measure(database: Db, collectionNames: readonly string[]): Promise<number[]> {
  for (const name of new Set(collectionNames)) await database.collection(name).insertOne({ seed: true });
  const latencies: number[] = [];
  await Promise.all(
    collectionNames.map(async (name, writer) => {
      const collection = database.collection(name);
      for (let index = 0; index < insertsPerWriter; index += 1) {
        const startedAt = performance.now();
        await collection.insertOne({ writer, index, at: new Date() });
        latencies.push(performance.now() - startedAt);
      }
    }),
  );
  return latencies;
}

const dataDirectory = mkdtempSync(join(tmpdir(), 'writers-bench-'));
const server = process.env.MONGODB_URI ? null : await startLocalMongo({ dataDirectory });
const client = new MongoClient(process.env.MONGODB_URI ?? server!.uri, { maxPoolSize: writers * 2 });
try {
  await client.connect();
  const ratios: number[] = [];
  for (let round = 1; round <= 3; round += 1) {
    const database = client.db(`bench_writers_${process.pid}_${round}`);
    const shared = Array.from({ length: writers }, () => 'shared');
    const separate = Array.from({ length: writers }, (_, writer) => `separate_${writer}`);
    const order = round % 2 === 1 ? ([shared, separate] as const) : ([separate, shared] as const);
    const results = new Map<readonly string[], number[]>();
    for (const names of order) results.set(names, await measure(database, names));
    const describe = (latencies: number[]) =>
      `p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms, worst ${Math.max(...latencies).toFixed(1)} ms`;
    const one = results.get(shared)!;
    const four = results.get(separate)!;
    const ratio = percentile(four, 0.99) / percentile(one, 0.99);
    ratios.push(ratio);
    console.log(
      `round ${round}: ${writers} writers x ${insertsPerWriter} inserts; one collection: ${describe(one)}; ` +
        `${writers} collections: ${describe(four)}; p99 ratio ${ratio.toFixed(2)}x`,
    );
    await database.dropDatabase();
  }
  console.log(`median p99 ratio, ${writers} collections / one collection: ${percentile(ratios, 0.5).toFixed(2)}x (about 1 or below: no busy-handler sleeps)`);
} finally {
  await client.close();
  await server?.stop();
  rmSync(dataDirectory, { recursive: true, force: true });
}
