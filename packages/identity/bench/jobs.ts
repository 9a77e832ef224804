// `pnpm bench`: each identity job handler (in a child process) against the raw statement that does
// the same work at once (one deleteMany / updateMany), on the same server, in the same run.
// Usage: node bench/jobs.ts [tokens|users]...
// Sizes (due documents; as many non-due ones are seeded with them): BENCH_TOKEN_SIZES and
// BENCH_USER_SIZES, default 30000,200000. BENCH_BATCH_SIZES=1000,5000,10000 adds a batch-size
// sweep at the largest size (off by default).
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
  describeServer,
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
  readonly sizesVariable: string;
  seed(connection: Connection, dueCount: number): Promise<void>;
  raw(connection: Connection): Promise<number>;
  remainingDue(connection: Connection): Promise<number>;
}

const tokenCutoff = new Date(now.getTime() - 7 * millisecondsPerDay);
const userCutoff = new Date(now.getTime() - 90 * millisecondsPerDay);
/** Interleaved due and non-due documents: before the cutoff for even indexes, after it for odd ones. */
const aroundCutoff = (cutoff: Date, index: number) =>
  new Date(cutoff.getTime() + (index % 2 === 0 ? -1 : 1) * (1 + index) * 1000);

const tokenBench: JobBench = {
  kind: 'refresh-token-cleanup',
  title: 'RefreshTokenCleanupJob',
  resultKey: 'deletedRefreshTokens',
  defaultBatchSize: parseRefreshTokenCleanupSettings({}).batchSize,
  rawLabel: 'deleteMany({ expiresAt: { $lt: cutoff } })',
  sizesVariable: 'BENCH_TOKEN_SIZES',
  seed: (connection, dueCount) =>
    insertInBatches(connection, refreshTokenCollectionName, dueCount * 2, (index) => ({
      _id: new Types.ObjectId(),
      userId: new Types.ObjectId(),
      tokenHash: `token-${index}`,
      expiresAt: aroundCutoff(tokenCutoff, index),
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
  sizesVariable: 'BENCH_USER_SIZES',
  seed: (connection, dueCount) =>
    insertInBatches(connection, userCollectionName, dueCount * 2, (index) => ({
      _id: new Types.ObjectId(),
      email: `user-${index}@example.com`,
      userName: `user-${index}`,
      passwordHash:
        '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA',
      roles: ['User'],
      isActive: true,
      lastLoginAt: aroundCutoff(userCutoff, index),
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

type RawResult = { readonly elapsedMs: number } | { readonly error: string };

async function measureRaw(uri: string, bench: JobBench, dueCount: number): Promise<RawResult> {
  const { connection } = await freshDatabase(uri, bench, dueCount);
  try {
    const { result, elapsedMs } = await timed(() => bench.raw(connection));
    if (result !== dueCount) throw new Error(`${bench.title} raw: changed ${result} of ${dueCount}`);
    return { elapsedMs };
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
    const report = await runJobInChild({ uri, databaseName: name, job: bench.kind, batchSize, now });
    const changed = report.result[bench.resultKey];
    const remaining = await bench.remainingDue(connection);
    if (changed !== dueCount || remaining !== 0) {
      throw new Error(`${bench.title}: changed ${String(changed)} of ${dueCount}, ${remaining} still due`);
    }
    return report;
  } finally {
    await connection.dropDatabase();
    await connection.close();
  }
}

interface SizeResult {
  readonly dueCount: number;
  readonly raw: RawResult;
  readonly handler: ChildRunReport;
}

const microsecondsPerDocument = (elapsedMs: number, documents: number) => (elapsedMs * 1000) / documents;

function verdict(bench: JobBench, results: readonly SizeResult[]): string[] {
  const lines: string[] = [];
  const largest = results.at(-1);
  const smallest = results[0];
  if (largest === undefined || smallest === undefined) return lines;
  if ('elapsedMs' in largest.raw) {
    const ratio = largest.raw.elapsedMs / largest.handler.elapsedMs;
    lines.push(
      `throughput at ${largest.dueCount} due: ${format(ratio)}x of the raw statement (target >= 0.80x): ${ratio >= 0.8 ? 'met' : 'MISSED'}`,
    );
  } else {
    const comparable = results.find((result) => 'elapsedMs' in result.raw);
    if (comparable !== undefined && 'elapsedMs' in comparable.raw) {
      const ratio = comparable.raw.elapsedMs / comparable.handler.elapsedMs;
      lines.push(
        `raw statement failed at ${largest.dueCount}; at ${comparable.dueCount}: ${format(ratio)}x of raw (target >= 0.80x): ${ratio >= 0.8 ? 'met' : 'MISSED'}`,
      );
    }
  }
  if (largest !== smallest) {
    const growth =
      microsecondsPerDocument(largest.handler.elapsedMs, largest.dueCount) /
      microsecondsPerDocument(smallest.handler.elapsedMs, smallest.dueCount);
    const rawGrowth =
      'elapsedMs' in largest.raw && 'elapsedMs' in smallest.raw
        ? ` (raw statement: x${format(
            microsecondsPerDocument(largest.raw.elapsedMs, largest.dueCount) /
              microsecondsPerDocument(smallest.raw.elapsedMs, smallest.dueCount),
          )})`
        : '';
    lines.push(
      `handler time per document ${smallest.dueCount} -> ${largest.dueCount}: x${format(growth)}${rawGrowth} (target <= 1.25): ${growth <= 1.25 ? 'met' : 'MISSED'}`,
    );
    lines.push(
      `handler peak RSS ${smallest.dueCount} -> ${largest.dueCount}: ${smallest.handler.peakRssMb} -> ${largest.handler.peakRssMb} MB ` +
        `(target < 256 MB and flat): ${largest.handler.peakRssMb < 256 ? 'under 256 MB' : 'OVER 256 MB'}`,
    );
  }
  return lines;
}

async function runBench(uri: string, bench: JobBench): Promise<void> {
  const sizes = sizesFromEnvironment(bench.sizesVariable, [30_000, 200_000]);
  console.log(
    `\n## ${bench.title}: handler (batchSize ${bench.defaultBatchSize}, child process) vs raw ${bench.rawLabel}`,
  );
  console.log(
    'due / total docs | raw ms | handler ms | throughput ratio (raw ms / handler ms) | handler µs per doc | handler RSS before -> peak MB (maxRSS) | heapUsed peak / after GC MB',
  );
  const results: SizeResult[] = [];
  for (const dueCount of sizes) {
    const raw = await measureRaw(uri, bench, dueCount);
    const handler = await measureHandler(uri, bench, dueCount, bench.defaultBatchSize);
    results.push({ dueCount, raw, handler });
    const rawText = 'error' in raw ? `FAILED (${raw.error})` : format(raw.elapsedMs, 0);
    const ratio = 'error' in raw ? 'n/a' : `${format(raw.elapsedMs / handler.elapsedMs)}x`;
    console.log(
      `${dueCount} / ${dueCount * 2} | ${rawText} | ${format(handler.elapsedMs, 0)} | ${ratio} | ` +
        `${format(microsecondsPerDocument(handler.elapsedMs, dueCount), 1)} | ` +
        `${handler.rssBeforeMb} -> ${handler.peakRssMb} (${handler.maxRssMb}) | ` +
        `${handler.peakHeapUsedMb} / ${handler.heapUsedAfterGcMb}`,
    );
  }
  for (const line of verdict(bench, results)) console.log(`- ${line}`);
  const batchSizes = sizesFromEnvironment('BENCH_BATCH_SIZES', []);
  if (batchSizes.length === 0) return;
  const sweepSize = Math.max(...sizes);
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
  console.log(`server: ${server.label} (${await describeServer(server.uri)}); node ${process.version}`);
  for (const bench of benches) await runBench(server.uri, bench);
} finally {
  await server.stop();
}
