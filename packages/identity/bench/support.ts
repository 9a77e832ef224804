// Shared helpers of the benchmark scripts (run with `node`, which strips the types).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalMongo, redactMongoUri } from '@app/mongo-local';
import mongoose from 'mongoose';
import type { Connection } from 'mongoose';

export interface BenchServer {
  readonly uri: string;
  readonly label: string;
  readonly local: boolean;
  stop(): Promise<void>;
}

/** MONGODB_URI when set, else a fresh local FerretDB (SQLite) in a temporary folder. */
export async function startBenchServer(): Promise<BenchServer> {
  const given = process.env.MONGODB_URI;
  if (given) {
    return {
      uri: given,
      label: redactMongoUri(given),
      local: false,
      stop: () => Promise.resolve(),
    };
  }
  const dataDirectory = mkdtempSync(join(tmpdir(), 'identity-bench-'));
  const server = await startLocalMongo({ dataDirectory, reuseRunning: false });
  return {
    uri: server.uri,
    label: `local FerretDB (SQLite) ${server.uri}`,
    local: true,
    stop: async () => {
      await server.stop();
      rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}

/** The server's own description: version, and FerretDB's version and build when it is FerretDB. */
export async function describeServer(uri: string): Promise<string> {
  const connection = await connect(uri, 'admin');
  try {
    const info = await connection.db!.admin().command({ buildInfo: 1 });
    const ferretdb = typeof info.ferretdbVersion === 'string' ? `, FerretDB ${info.ferretdbVersion}` : '';
    return `version ${String(info.version)}${ferretdb}`;
  } finally {
    await connection.close();
  }
}

export async function connect(uri: string, databaseName: string): Promise<Connection> {
  const connection = mongoose.createConnection(uri, { dbName: databaseName });
  await connection.asPromise();
  return connection;
}

/** Inserts `count` documents made by `makeDocument` with the raw driver, in big unordered batches. */
export async function insertInBatches(
  connection: Connection,
  collectionName: string,
  count: number,
  makeDocument: (index: number) => Record<string, unknown>,
  chunkSize = 20_000,
): Promise<void> {
  const collection = connection.collection(collectionName);
  for (let start = 0; start < count; start += chunkSize) {
    const documents: Record<string, unknown>[] = [];
    for (let index = start; index < Math.min(start + chunkSize, count); index += 1) {
      documents.push(makeDocument(index));
    }
    await collection.insertMany(documents, { ordered: false });
  }
}

export async function timed<TResult>(
  action: () => Promise<TResult>,
): Promise<{ result: TResult; elapsedMs: number }> {
  const started = performance.now();
  const result = await action();
  return { result, elapsedMs: performance.now() - started };
}

export interface ChildRunReport {
  readonly elapsedMs: number;
  readonly result: Record<string, number>;
  /** RSS after connecting, before the handler ran. */
  readonly rssBeforeMb: number;
  /** Highest RSS sampled (every 10 ms) while the handler ran. */
  readonly peakRssMb: number;
  /** process.resourceUsage().maxRSS: the process's high-water mark, start-up included. */
  readonly maxRssMb: number;
  /** Highest V8 heapUsed sampled while the handler ran (garbage included). */
  readonly peakHeapUsedMb: number;
  /** heapUsed after the run and a forced GC: what the handler retained. */
  readonly heapUsedAfterGcMb: number;
}

/** Runs one job handler in a child process (bench/run-job.ts) so its RSS is its own. */
export async function runJobInChild(options: {
  readonly uri: string;
  readonly databaseName: string;
  readonly job: 'refresh-token-cleanup' | 'ip-anonymization';
  readonly batchSize: number;
  readonly now: Date;
}): Promise<ChildRunReport> {
  const script = fileURLToPath(new URL('./run-job.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      script,
      options.uri,
      options.databaseName,
      options.job,
      String(options.batchSize),
      options.now.toISOString(),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
  });
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (exitCode !== 0) throw new Error(`bench child exited with ${String(exitCode)}`);
  return JSON.parse(output) as ChildRunReport;
}

export const millisecondsPerDay = 24 * 60 * 60 * 1000;

export function megabytes(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

/** Sizes from the environment (comma-separated), else the given defaults. */
export function sizesFromEnvironment(name: string, defaults: number[]): number[] {
  const raw = process.env[name];
  if (!raw) return defaults;
  return raw.split(',').map((value) => Number(value.trim()));
}

export function format(value: number, digits = 2): string {
  return value.toFixed(digits);
}
