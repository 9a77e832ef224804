/**
 * What a commit's sync costs on our FerretDB build (docs/ferretdb.md, "When a write is on
 * disk"): `pnpm --filter @app/mongo-local bench:commit-sync`.
 *
 * Two servers in one run, `commitSync: 'full'` (the baseline: SQLite syncs its log at every
 * commit) and `'normal'` (the default: a standalone MongoDB's durability). Each round, on each
 * server: 300 sequential updates by `_id`, then 100 concurrent inserts into a collection with the
 * ledger's indexes (the burst of claims a scheduler sends). Prints the median per-update time and
 * the burst's total of both, and the ratios normal / full, five rounds, alternating the order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient, type Db } from 'mongodb';
import { startLocalMongo, type LocalMongoServer } from '@app/mongo-local';
import { median } from './statistics.ts';

const rounds = 5;
const sequentialUpdates = 300;
const burstInserts = 100;

interface RoundResult {
  readonly updateMs: number;
  readonly burstMs: number;
}

async function measure(database: Db): Promise<RoundResult> {
  const documents = database.collection<{ _id: number; counter: number }>('documents');
  await documents.insertMany(Array.from({ length: 10 }, (_, index) => ({ _id: index, counter: 0 })));
  const updateTimes: number[] = [];
  for (let index = 0; index < sequentialUpdates; index += 1) {
    const startedAt = performance.now();
    await documents.updateOne({ _id: index % 10 }, { $inc: { counter: 1 } });
    updateTimes.push(performance.now() - startedAt);
  }
  const runs = database.collection('runs');
  await runs.createIndex({ jobName: 1, occurrenceAt: 1, attempt: 1 }, { unique: true });
  await runs.createIndex({ jobName: 1, startedAt: -1, _id: -1 });
  await runs.createIndex({ jobName: 1, status: 1, startedAt: -1, _id: -1 });
  await runs.createIndex({ finishedAt: 1 });
  const occurrenceAt = new Date();
  const burstStartedAt = performance.now();
  await Promise.all(
    Array.from({ length: burstInserts }, (_, index) =>
      runs.insertOne({ jobName: `job-${index}`, occurrenceAt, attempt: 1, status: 'running', startedAt: new Date() }),
    ),
  );
  return { updateMs: median(updateTimes), burstMs: performance.now() - burstStartedAt };
}

const scratch = mkdtempSync(join(tmpdir(), 'commit-sync-bench-'));
const servers: LocalMongoServer[] = [];
try {
  const full = await startLocalMongo({ dataDirectory: join(scratch, 'full'), commitSync: 'full' });
  servers.push(full);
  const normal = await startLocalMongo({ dataDirectory: join(scratch, 'normal'), commitSync: 'normal' });
  servers.push(normal);
  const clients = { full: new MongoClient(full.uri), normal: new MongoClient(normal.uri) };
  const results = { full: [] as RoundResult[], normal: [] as RoundResult[] };
  try {
    for (let round = 1; round <= rounds; round += 1) {
      const order = round % 2 === 1 ? (['full', 'normal'] as const) : (['normal', 'full'] as const);
      for (const mode of order) results[mode].push(await measure(clients[mode].db(`commit_sync_${round}`)));
      const last = (mode: 'full' | 'normal') => results[mode][results[mode].length - 1]!;
      console.log(
        `  round ${round}: update full ${last('full').updateMs.toFixed(2)} ms, normal ${last('normal').updateMs.toFixed(2)} ms; ` +
          `burst of ${burstInserts} inserts full ${last('full').burstMs.toFixed(0)} ms, normal ${last('normal').burstMs.toFixed(0)} ms`,
      );
    }
  } finally {
    await Promise.all([clients.full.close(), clients.normal.close()]);
  }
  const summary = (pick: (result: RoundResult) => number) => {
    const fullMs = median(results.full.map(pick));
    const normalMs = median(results.normal.map(pick));
    return `full ${fullMs.toFixed(2)} ms, normal ${normalMs.toFixed(2)} ms, ratio ${(normalMs / fullMs).toFixed(2)}x`;
  };
  console.log(`sequential update by _id (median of ${rounds} round medians): ${summary((result) => result.updateMs)}`);
  console.log(`burst of ${burstInserts} concurrent ledger inserts (median of ${rounds}): ${summary((result) => result.burstMs)}`);
} finally {
  for (const server of servers) await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
