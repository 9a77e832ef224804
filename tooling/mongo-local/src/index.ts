/**
 * A local MongoDB-wire server for tests and for the worker when no MONGODB_URI is given.
 *
 * FerretDB v1.24.2 with our patch series (ferretdb-patches/, docs/ferretdb.md) on its SQLite
 * backend: a data folder and one process, bound to 127.0.0.1 on a free port, telemetry and the
 * debug HTTP listener off.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';

export { classifyBuildInfo, type ServerBuild } from './build-info.js';

export interface LocalMongoServer {
  /** Connection string without a database name, e.g. `mongodb://127.0.0.1:41234/`. */
  readonly uri: string;
  readonly port: number;
  readonly dataDirectory: string;
  /** Process id of the server, or null when an already running server was reused. */
  readonly processId: number | null;
  /** Stops the server if this call started it; a reused server is left running. */
  stop(): Promise<void>;
}

export interface StartLocalMongoOptions {
  /** Folder holding the SQLite files, the state and the server record. Created when missing. */
  dataDirectory: string;
  /**
   * When a server started earlier on the same data directory still answers `ping`,
   * connect to it instead of starting another (the worker and its CLI share one).
   * When false, such a server is killed and a fresh one is started (tests).
   */
  reuseRunning?: boolean;
  /** FerretDB log level. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How long to wait for the first successful `ping`. */
  startTimeoutMs?: number;
  /** Listen on this port (a restart on the same address); a free port is picked when absent. */
  port?: number;
  /**
   * When a commit reaches the disk (SQLite's `synchronous` pragma; the files are in WAL mode).
   * `normal` (default) is a standalone MongoDB's default write concern: an acknowledged write
   * survives a crash of the server process, and a power loss can take back the last writes
   * (MongoDB syncs its journal every 100 ms unless a write asks for `j: true`). `full` syncs
   * the log at every commit.
   */
  commitSync?: 'normal' | 'full';
  /** More SQLite pragmas for each connection, e.g. `busy_timeout(0)` (tests); FerretDB's own stay. */
  sqlitePragmas?: readonly string[];
  /** More FerretDB command-line flags (tests pass `disablePushdownArguments` of the testing entry). */
  serverArguments?: readonly string[];
}

interface ServerRecord {
  processId: number;
  port: number;
}

const serverRecordFile = 'server.json';

/** The repository root: the nearest folder above `startDirectory` holding pnpm-workspace.yaml. */
export function findRepositoryRoot(
  startDirectory: string = dirname(fileURLToPath(import.meta.url)),
): string {
  let currentDirectory = resolve(startDirectory);
  for (;;) {
    if (existsSync(join(currentDirectory, 'pnpm-workspace.yaml'))) return currentDirectory;
    const parentDirectory = dirname(currentDirectory);
    if (parentDirectory === currentDirectory) {
      throw new Error(`mongo-local: no pnpm-workspace.yaml above ${startDirectory}`);
    }
    currentDirectory = parentDirectory;
  }
}

/**
 * Path of the FerretDB binary: FERRETDB_BIN, else `.tools/bin/ferretdb` in the repository,
 * built by `scripts/toolchain.sh` when missing.
 */
export function ensureFerretDbBinary(): string {
  const fromEnvironment = process.env.FERRETDB_BIN;
  if (fromEnvironment && existsSync(fromEnvironment)) return fromEnvironment;
  const repositoryRoot = findRepositoryRoot();
  const binaryPath = join(repositoryRoot, '.tools', 'bin', 'ferretdb');
  if (existsSync(binaryPath)) return binaryPath;
  const build = spawnSync('bash', [join(repositoryRoot, 'scripts', 'toolchain.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DO_NOT_TRACK: '1' },
  });
  if (build.status !== 0 || !existsSync(binaryPath)) {
    throw new Error(
      `mongo-local: FerretDB is not installed at ${binaryPath} and scripts/toolchain.sh could not build it ` +
        `(exit ${String(build.status)}). Install Go, or set MONGODB_URI to a running MongoDB.`,
    );
  }
  return binaryPath;
}

/** A free TCP port on 127.0.0.1 (the kernel picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('mongo-local: could not read the free port'));
        return;
      }
      server.close(() => resolvePort(address.port));
    });
  });
}

/** Sends `ping` until it succeeds or the deadline passes. */
export async function waitForPing(uri: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (await answersPing(uri)) return;
    lastError = new Error('no answer');
    await sleep(100);
  }
  throw new Error(`mongo-local: ${redactMongoUri(uri)} did not answer ping within ${timeoutMs} ms`, {
    cause: lastError,
  });
}

async function answersPing(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Replaces the credentials of a connection string with `***` so it can be logged. */
export function redactMongoUri(uri: string): string {
  return uri.replace(/^(mongodb(?:\+srv)?:\/\/)([^@/]+)@/u, '$1***@');
}

/** Whether a process with this id exists (signal 0 probes without signalling). */
export function isProcessAlive(processId: number): boolean {
  try {
    process.kill(processId, 0);
    return true;
  } catch {
    return false;
  }
}

function isFerretDbProcess(processId: number): boolean {
  try {
    return readFileSync(`/proc/${processId}/cmdline`, 'utf8').includes('ferretdb');
  } catch {
    return false;
  }
}

function readServerRecord(dataDirectory: string): ServerRecord | null {
  const recordPath = join(dataDirectory, serverRecordFile);
  if (!existsSync(recordPath)) return null;
  try {
    return JSON.parse(readFileSync(recordPath, 'utf8')) as ServerRecord;
  } catch {
    return null;
  }
}

async function killProcess(processId: number): Promise<void> {
  if (!isProcessAlive(processId)) return;
  process.kill(processId, 'SIGTERM');
  for (let waited = 0; waited < 5000 && isProcessAlive(processId); waited += 50) await sleep(50);
  if (isProcessAlive(processId)) process.kill(processId, 'SIGKILL');
  for (let waited = 0; waited < 2000 && isProcessAlive(processId); waited += 50) await sleep(50);
}

/** Kills a server left by an earlier run on this data directory (a crashed test run, say). */
export async function stopStaleServer(dataDirectory: string): Promise<void> {
  const record = readServerRecord(dataDirectory);
  if (record && isFerretDbProcess(record.processId)) await killProcess(record.processId);
  rmSync(join(dataDirectory, serverRecordFile), { force: true });
}

/** FerretDB's `--sqlite-url`: the folder of the SQLite files, with a `_pragma` parameter per pragma. */
function sqliteUrl(dataDirectory: string, pragmas: readonly string[]): string {
  const query = new URLSearchParams(pragmas.map((pragma): [string, string] => ['_pragma', pragma]));
  return `file:${join(dataDirectory, 'sqlite')}/?${query.toString()}`;
}

/** Starts FerretDB on `dataDirectory` (or reuses a live one there) and waits until it answers ping. */
export async function startLocalMongo(options: StartLocalMongoOptions): Promise<LocalMongoServer> {
  const dataDirectory = resolve(options.dataDirectory);
  mkdirSync(join(dataDirectory, 'sqlite'), { recursive: true });
  mkdirSync(join(dataDirectory, 'state'), { recursive: true });

  const record = readServerRecord(dataDirectory);
  if (record && options.reuseRunning && isFerretDbProcess(record.processId)) {
    const uri = `mongodb://127.0.0.1:${record.port}/`;
    if (await answersPing(uri)) {
      return {
        uri,
        port: record.port,
        dataDirectory,
        processId: null,
        stop: () => Promise.resolve(),
      };
    }
  }
  await stopStaleServer(dataDirectory);

  const binaryPath = ensureFerretDbBinary();
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;
  let lastError: unknown;
  // A port found free can be taken before FerretDB binds it: try a few.
  for (let attempt = 1; attempt <= (options.port === undefined ? 3 : 1); attempt += 1) {
    const port = options.port ?? (await findFreePort());
    const logFile = openSync(join(dataDirectory, 'ferretdb.log'), 'a');
    const child: ChildProcess = spawn(
      binaryPath,
      [
        '--handler=sqlite',
        `--sqlite-url=${sqliteUrl(dataDirectory, [`synchronous(${options.commitSync ?? 'normal'})`, ...(options.sqlitePragmas ?? [])])}`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${join(dataDirectory, 'state')}`,
        '--telemetry=disable',
        '--debug-addr=-',
        `--log-level=${options.logLevel ?? 'warn'}`,
        ...(options.serverArguments ?? []),
      ],
      {
        stdio: ['ignore', logFile, logFile],
        env: { ...process.env, DO_NOT_TRACK: '1' },
        detached: false,
      },
    );
    const processId = child.pid;
    if (processId === undefined) throw new Error(`mongo-local: could not start ${binaryPath}`);
    writeFileSync(join(dataDirectory, serverRecordFile), JSON.stringify({ processId, port }));
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const uri = `mongodb://127.0.0.1:${port}/`;
    try {
      await Promise.race([
        waitForPing(uri, startTimeoutMs),
        new Promise((_, reject) =>
          child.once('exit', (code) =>
            reject(new Error(`mongo-local: FerretDB exited with code ${String(code)} at start`)),
          ),
        ),
      ]);
    } catch (error) {
      lastError = error;
      if (!exited) await killProcess(processId);
      continue;
    }
    child.unref();
    return {
      uri,
      port,
      dataDirectory,
      processId,
      stop: async () => {
        await killProcess(processId);
        rmSync(join(dataDirectory, serverRecordFile), { force: true });
      },
    };
  }
  throw new Error(
    `mongo-local: FerretDB did not start (see ${join(dataDirectory, 'ferretdb.log')})`,
    { cause: lastError },
  );
}

/**
 * The connection string to use: MONGODB_URI when set, else a local server on
 * `dataDirectory` (reused when already running).
 */
export async function resolveMongoConnection(options: {
  mongoUri: string | undefined;
  dataDirectory: string;
}): Promise<{ uri: string; embedded: LocalMongoServer | null }> {
  if (options.mongoUri) return { uri: options.mongoUri, embedded: null };
  const embedded = await startLocalMongo({ dataDirectory: options.dataDirectory, reuseRunning: true });
  return { uri: embedded.uri, embedded };
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, milliseconds));
}
