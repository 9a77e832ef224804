/**
 * Benchmark of our FerretDB build's index use (docs/ferretdb.md, patches 0004 to 0006):
 * `pnpm --filter @app/mongo-local bench`.
 *
 * Two servers of the bundled build, one started with --test-disable-pushdown (every query reads
 * the whole collection, as stock FerretDB does), each with a `job_runs`-shaped collection of
 * 1,000 and of 100,000 documents and the ledger's three indexes. Prints the median time of each
 * operation and the ratios measured in this run: without/with pushdown at 100,000 documents, and
 * 100,000/1,000 documents with pushdown (flat is about 1).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MongoClient, ObjectId, type Collection } from 'mongodb';
import { findRepositoryRoot, startLocalMongo, type LocalMongoServer } from '@app/mongo-local';
import { disablePushdownArguments } from '@app/mongo-local/testing';
import { median } from './statistics.ts';

interface JobRun {
  _id: ObjectId;
  jobName: string;
  occurrenceAt: Date;
  attempt: number;
  status: string;
  startedAt: Date;
  leaseExpiresAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  instance: { hostname: string; processId: number };
  error: null;
  note?: number;
}

const sizes = [1_000, 100_000] as const;
const jobNames = 20;
const minuteMs = 60_000;
const firstOccurrence = Date.UTC(2026, 0, 1);
const deleteBatch = 50;

function occurrence(position: number): Date {
  return new Date(firstOccurrence + position * minuteMs);
}

function makeRun(position: number): JobRun {
  const occurrenceAt = occurrence(position);
  const running = position % 50 === 0;
  return {
    _id: new ObjectId(),
    jobName: `job-${position % jobNames}`,
    occurrenceAt,
    attempt: 1,
    status: running ? 'running' : 'succeeded',
    startedAt: new Date(occurrenceAt.getTime() + 1_000),
    leaseExpiresAt: new Date(occurrenceAt.getTime() + 61_000),
    finishedAt: running ? null : new Date(occurrenceAt.getTime() + 5_000),
    durationMs: running ? null : 4_000,
    instance: { hostname: 'bench-host', processId: 4242 },
    error: null,
  };
}

async function load(collection: Collection<JobRun>, size: number): Promise<ObjectId[]> {
  await collection.drop().catch(() => undefined);
  await collection.createIndex({ jobName: 1, occurrenceAt: 1, attempt: 1 }, { unique: true, name: 'job_run_claim_unique' });
  await collection.createIndex({ jobName: 1, startedAt: -1 }, { name: 'job_run_recent' });
  await collection.createIndex({ finishedAt: 1 }, { name: 'job_run_finished_at' });
  const ids: ObjectId[] = [];
  for (let offset = 0; offset < size; offset += 5_000) {
    const runs = Array.from({ length: Math.min(5_000, size - offset) }, (_, index) => makeRun(offset + index));
    await collection.insertMany(runs, { ordered: false });
    ids.push(...runs.map((run) => run._id));
  }
  return ids;
}

/** Median time of `repetitions` runs, after one untimed run (repetition -1) to warm up. */
async function timeMedian(repetitions: number, action: (repetition: number) => Promise<unknown>): Promise<number> {
  await action(-1);
  const times: number[] = [];
  for (let repetition = 0; repetition < repetitions; repetition += 1) {
    const started = performance.now();
    await action(repetition);
    times.push(performance.now() - started);
  }
  return median(times);
}

interface Target {
  readonly collection: Collection<JobRun>;
  readonly ids: readonly ObjectId[];
  /** A position in insertion order: repetitions are spread evenly over the collection (the median is
   * its middle), so that a scan's cost is an average one and no answer comes from a warm page alone. */
  readonly position: number;
  readonly repetition: number;
}

type Operation = readonly [name: string, run: (target: Target) => Promise<unknown>];

const operations: readonly Operation[] = [
  ['findOne({ _id })', ({ collection, ids, position }) => collection.findOne({ _id: ids[position]! })],
  [
    'findOne({ _id, status })',
    ({ collection, ids, position }) => collection.findOne({ _id: ids[position]!, status: 'succeeded' }),
  ],
  [
    'updateOne({ _id, status })',
    ({ collection, ids, position, repetition }) =>
      collection.updateOne({ _id: ids[position]!, status: 'succeeded' }, { $set: { note: repetition } }),
  ],
  [
    'find({ jobName }).sort({ startedAt: -1 }).limit(20)',
    ({ collection, position }) =>
      collection.find({ jobName: `job-${position % jobNames}` }).sort({ startedAt: -1 }).limit(20).toArray(),
  ],
  [
    'find({ jobName, occurrenceAt })',
    ({ collection, position }) =>
      collection.find({ jobName: `job-${position % jobNames}`, occurrenceAt: occurrence(position) }).toArray(),
  ],
  [
    `deleteMany({ finishedAt: range of ${deleteBatch} })`,
    ({ collection, repetition }) => {
      // consecutive batches from the oldest, as a cleanup deletes (the warm-up run takes the first)
      const from = (repetition + 1) * deleteBatch;
      return collection.deleteMany({ finishedAt: { $gte: occurrence(from), $lt: occurrence(from + deleteBatch) } });
    },
  ],
];

async function main(): Promise<void> {
  const dataDirectory = join(findRepositoryRoot(), '.data', `bench-pushdown-${process.pid}`);
  mkdirSync(dataDirectory, { recursive: true });
  const servers: LocalMongoServer[] = [];
  const clients: MongoClient[] = [];
  try {
    for (const disablePushdown of [false, true]) {
      const server = await startLocalMongo({
        dataDirectory: join(dataDirectory, disablePushdown ? 'without-pushdown' : 'with-pushdown'),
        ...(disablePushdown ? { serverArguments: disablePushdownArguments } : {}),
      });
      servers.push(server);
      clients.push(new MongoClient(server.uri));
    }
    const labels = ['pushdown', 'no pushdown'] as const;
    // results[label][size][operation] = median ms
    const results = new Map<string, number>();
    for (const size of sizes) {
      const started = performance.now();
      const idsPerServer = await Promise.all(
        clients.map((client) => load(client.db('bench').collection<JobRun>(`job_runs_${size}`), size)),
      );
      console.log(`[bench] loaded ${size} job runs on both servers in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      for (const [serverIndex, client] of clients.entries()) {
        const collection = client.db('bench').collection<JobRun>(`job_runs_${size}`);
        const repetitions = serverIndex === 1 && size > 1_000 ? 3 : 15;
        for (const [name, run] of operations) {
          const ids = idsPerServer[serverIndex]!;
          const milliseconds = await timeMedian(repetitions, (repetition) =>
            run({ collection, ids, repetition, position: Math.max(0, Math.floor(((2 * repetition + 1) / (2 * repetitions)) * size)) }),
          );
          results.set(`${labels[serverIndex]!}|${size}|${name}`, milliseconds);
          console.log(`[bench] ${labels[serverIndex]!}, ${size} docs, ${name}: ${milliseconds.toFixed(2)} ms (median of ${repetitions})`);
        }
      }
    }
    console.log('\n[bench] median ms; ratios measured in this run');
    console.log('| operation | pushdown 1,000 | pushdown 100,000 | no pushdown 1,000 | no pushdown 100,000 | no pushdown / pushdown at 100,000 | pushdown 100,000 / 1,000 |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const [name] of operations) {
      const cell = (label: string, size: number): number => results.get(`${label}|${size}|${name}`)!;
      console.log(
        `| ${name} | ${cell('pushdown', 1_000).toFixed(2)} | ${cell('pushdown', 100_000).toFixed(2)} | ` +
          `${cell('no pushdown', 1_000).toFixed(2)} | ${cell('no pushdown', 100_000).toFixed(1)} | ` +
          `${(cell('no pushdown', 100_000) / cell('pushdown', 100_000)).toFixed(0)} | ` +
          `${(cell('pushdown', 100_000) / cell('pushdown', 1_000)).toFixed(2)} |`,
      );
    }
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dataDirectory, { recursive: true, force: true });
  }
}

await main();
