// `pnpm bench`: each identity job handler (in a child process) against one raw bulk write of the
// same documents, on the same server, in the same run. Usage: node bench/jobs.ts [tokens|users]...
// Sizes: BENCH_TOKEN_SIZES / BENCH_USER_SIZES=50000,200000 (due documents; as many others stay),
// batch sizes for the sweep: BENCH_BATCH_SIZES=1000,5000,10000 at BENCH_SWEEP_SIZE (default: the largest size).
import { Types } from 'mongoose';
import type { Connection } from 'mongoose';
import {
  ensureIdentityIndexes,
  parseIpAnonymizationSettings,
  parseRefreshTokenCleanupSettings,
  refreshTokenCollectionName,
  userCollectionName,
} from '@app/identity';
import {
  connect,
  format,
  insertInBatches,
  millisecondsPerDay,
  runJobInChild,
  sizesFromEnvironment,
  startBenchServer,
  timed,
} from './support.ts';
import type { ChildRunReport } from './support.ts';

type JobKind = 'refresh-token-cleanup' | 'ip-anonymization';

const now = new Date('2026-06-01T00:00:00.000Z');

interface JobBench {
  readonly kind: JobKind;
  readonly title: string;
  readonly resultKey: string;
  /** The settings' default batch size. */
  readonly defaultBatchSize: number;
  readonly rawLabel: string;
  /** Due-document counts: [local FerretDB, MONGODB_URI server], overridable by the env variable. */
  readonly sizes: {
    readonly environment: string;
    readonly local: number[];
    readonly remote: number[];
  };
  /** Batch sizes of the sweep (BENCH_BATCH_SIZES overrides), run at the largest size. */
  readonly sweep: { readonly local: number[]; readonly remote: number[] };
  seed(connection: Connection, dueCount: number): Promise<void>;
  raw(connection: Connection): Promise<number>;
  remainingDue(connection: Connection): Promise<number>;
}

const tokenCutoff = new Date(now.getTime() - 7 * millisecondsPerDay);
const userCutoff = new Date(now.getTime() - 90 * millisecondsPerDay);

const tokenBench: JobBench = {
  kind: 'refresh-token-cleanup',
  title: 'RefreshTokenCleanupJob',
  resultKey: 'deletedRefreshTokens',
  defaultBatchSize: parseRefreshTokenCleanupSettings({}).batchSize,
  rawLabel: 'deleteMany({ expiresAt: { $lt: cutoff } })',
  sizes: { environment: 'BENCH_TOKEN_SIZES', local: [5000, 20_000], remote: [50_000, 200_000] },
  sweep: { local: [1000, 5000, 10_000], remote: [1000, 5000, 10_000] },
  // Expired and valid tokens interleaved, so a batch selection must skip valid ones.
  seed: (connection, dueCount) =>
    insertInBatches(connection, refreshTokenCollectionName, dueCount * 2, (index) => ({
      _id: new Types.ObjectId(),
      userId: new Types.ObjectId(),
      tokenHash: `token-${index}`,
      expiresAt: new Date(tokenCutoff.getTime() + (index % 2 === 0 ? -1 : 1) * (1 + index) * 1000),
      createdAt: now,
      createdByIp: '198.51.100.1',
      revokedAt: null,
      replacedByTokenHash: null,
    })),
  raw: async (connection) =>
    (
      await connection
        .collection(refreshTokenCollectionName)
        .deleteMany({ expiresAt: { $lt: tokenCutoff } })
    ).deletedCount,
  remainingDue: (connection) =>
    connection
      .collection(refreshTokenCollectionName)
      .countDocuments({ expiresAt: { $lt: tokenCutoff } }),
};

const userBench: JobBench = {
  kind: 'ip-anonymization',
  title: 'IpAnonymizationJob',
  resultKey: 'anonymizedUsers',
  defaultBatchSize: parseIpAnonymizationSettings({}).batchSize,
  rawLabel:
    'updateMany({ lastLoginIp: { $ne: null }, lastLoginAt: { $lte: cutoff } }, { $set: { lastLoginIp: null } })',
  // FerretDB/SQLite updates scan the table once per updated document: keep local sizes small.
  sizes: { environment: 'BENCH_USER_SIZES', local: [250, 1000], remote: [50_000, 200_000] },
  sweep: { local: [100, 250, 1000], remote: [1000, 5000, 10_000] },
  seed: (connection, dueCount) =>
    insertInBatches(connection, userCollectionName, dueCount * 2, (index) => ({
      _id: new Types.ObjectId(),
      email: `user-${index}@example.com`,
      userName: `user-${index}`,
      passwordHash:
        '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA',
      roles: ['User'],
      isActive: true,
      lastLoginAt: new Date(userCutoff.getTime() + (index % 2 === 0 ? -1 : 1) * (1 + index) * 1000),
      lastLoginIp: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
      createdAt: now,
      updatedAt: now,
    })),
  raw: async (connection) =>
    (
      await connection
        .collection(userCollectionName)
        .updateMany(
          { lastLoginIp: { $ne: null }, lastLoginAt: { $lte: userCutoff } },
          { $set: { lastLoginIp: null } },
        )
    ).modifiedCount,
  remainingDue: (connection) =>
    connection
      .collection(userCollectionName)
      .countDocuments({ lastLoginIp: { $ne: null }, lastLoginAt: { $lte: userCutoff } }),
};

let databaseCounter = 0;

async function freshDatabase(
  uri: string,
  bench: JobBench,
  dueCount: number,
): Promise<{ connection: Connection; name: string }> {
  databaseCounter += 1;
  const name = `bench_identity_${process.pid}_${databaseCounter}`;
  const connection = await connect(uri, name);
  await ensureIdentityIndexes(connection);
  await bench.seed(connection, dueCount);
  return { connection, name };
}

async function measureRaw(
  uri: string,
  bench: JobBench,
  dueCount: number,
): Promise<{ elapsedMs: number; changed: number } | { error: string }> {
  const { connection } = await freshDatabase(uri, bench, dueCount);
  try {
    const { result, elapsedMs } = await timed(() => bench.raw(connection));
    return { elapsedMs, changed: result };
  } catch (error) {
    return { error: error instanceof Error ? error.message.replace(/^.*\] /u, '') : String(error) };
  } finally {
    await connection.dropDatabase();
    await connection.close();
  }
}

async function measureHandler(
  uri: string,
  bench: JobBench,
  dueCount: number,
  batchSize: number,
): Promise<ChildRunReport> {
  const { connection, name } = await freshDatabase(uri, bench, dueCount);
  try {
    const report = await runJobInChild({
      uri,
      databaseName: name,
      job: bench.kind,
      batchSize,
      now,
    });
    const changed = report.result[bench.resultKey];
    const remaining = await bench.remainingDue(connection);
    if (changed !== dueCount || remaining !== 0) {
      throw new Error(
        `${bench.title}: changed ${String(changed)} of ${dueCount}, ${remaining} still due`,
      );
    }
    return report;
  } finally {
    await connection.dropDatabase();
    await connection.close();
  }
}

async function runBench(uri: string, local: boolean, bench: JobBench): Promise<void> {
  const sizes = sizesFromEnvironment(
    bench.sizes.environment,
    local ? bench.sizes.local : bench.sizes.remote,
  );
  const batchSizes = sizesFromEnvironment(
    'BENCH_BATCH_SIZES',
    local ? bench.sweep.local : bench.sweep.remote,
  );
  console.log(
    `\n## ${bench.title}: handler (default batchSize ${bench.defaultBatchSize}, child process) vs raw ${bench.rawLabel}`,
  );
  console.log(
    'due docs | total docs | raw ms | handler ms | throughput ratio (raw ms / handler ms) | handler RSS before -> peak MB (maxRSS) | heapUsed peak / after GC MB',
  );
  for (const dueCount of sizes) {
    const raw = await measureRaw(uri, bench, dueCount);
    const handler = await measureHandler(uri, bench, dueCount, bench.defaultBatchSize);
    const rawText = 'error' in raw ? `FAILED (${raw.error})` : format(raw.elapsedMs, 0);
    const ratio = 'error' in raw ? 'n/a' : `${format(raw.elapsedMs / handler.elapsedMs)}x`;
    console.log(
      `${dueCount} | ${dueCount * 2} | ${rawText} | ${format(handler.elapsedMs, 0)} | ${ratio} | ` +
        `${handler.rssBeforeMb} -> ${handler.peakRssMb} (${handler.maxRssMb}) | ` +
        `${handler.peakHeapUsedMb} / ${handler.heapUsedAfterGcMb}`,
    );
  }
  const sweepSize = Number(process.env.BENCH_SWEEP_SIZE ?? Math.max(...sizes));
  console.log(`\nbatch size sweep at ${sweepSize} due of ${sweepSize * 2}:`);
  console.log('batchSize | handler ms | peak RSS MB');
  for (const batchSize of batchSizes) {
    const handler = await measureHandler(uri, bench, sweepSize, batchSize);
    console.log(`${batchSize} | ${format(handler.elapsedMs, 0)} | ${handler.peakRssMb}`);
  }
}

const requested = process.argv.slice(2);
const benches = [tokenBench, userBench].filter(
  (bench) =>
    requested.length === 0 ||
    requested.includes(bench.kind === 'ip-anonymization' ? 'users' : 'tokens'),
);
const server = await startBenchServer();
try {
  // On local FerretDB (SQLite) every operation scans the collection (see README): the brief's
  // 200k/400k would take hours there, so the local default sizes are smaller.
  console.log(`server: ${server.label}; node ${process.version}`);
  for (const bench of benches) await runBench(server.uri, server.local, bench);
} finally {
  await server.stop();
}
