/**
 * Benchmarks of @app/scheduler-agenda against raw Agenda on the same server in the same
 * run: scheduling lag, overhead per run, idle database commands. Run with `pnpm bench`
 * (builds first); uses MONGODB_URI when set, else starts a local FerretDB.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoBackend } from '@agendajs/mongo-backend';
import { MongooseJobRunLedger, MongooseRecurringJobRepository } from '@app/logging';
import { startLocalMongo, type LocalMongoServer } from '@app/mongo-local';
import type { JobResultSummary, RecurringJob } from '@app/shared-jobs';
import { Agenda } from 'agenda';
import { MongoClient } from 'mongodb';
import mongoose, { type Connection } from 'mongoose';
import { createJobRuntime } from '../src/index.js';

process.env.DO_NOT_TRACK = '1';
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

interface Connections {
  client: MongoClient;
  connection: Connection;
  commands: () => number;
  close: () => Promise<void>;
}

/** A driver client for Agenda and a mongoose connection for the ledger, both counting commands. */
async function connect(uri: string, databaseName: string): Promise<Connections> {
  let commandCount = 0;
  const client = new MongoClient(uri, { monitorCommands: true });
  client.on('commandStarted', () => {
    commandCount += 1;
  });
  await client.connect();
  const connection = await mongoose
    .createConnection(uri, { dbName: databaseName, monitorCommands: true })
    .asPromise();
  connection.getClient().on('commandStarted', () => {
    commandCount += 1;
  });
  return {
    client,
    connection,
    commands: () => commandCount,
    close: async () => {
      await connection.close();
      await client.close();
    },
  };
}

async function ourRuntime(uri: string, databaseName: string, jobs: RecurringJob<JobResultSummary>[]) {
  const connections = await connect(uri, databaseName);
  const ledger = new MongooseJobRunLedger(connections.connection);
  const repository = new MongooseRecurringJobRepository(connections.connection);
  await ledger.ensureIndexes();
  await repository.ensureIndexes();
  const runtime = createJobRuntime({
    database: connections.client.db(databaseName),
    ledger,
    repository,
    jobs,
  });
  return { runtime, connections };
}

function rawAgenda(connections: Connections, databaseName: string, processEvery: number, maxConcurrency = 20): Agenda {
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: connections.client.db(databaseName), collection: 'agendaJobs' }),
    processEvery,
    maxConcurrency,
  });
  // A scan still in flight when the client closes emits 'error'; unheard, it would crash.
  agenda.on('error', () => undefined);
  return agenda;
}

async function measureLag(uri: string): Promise<{ p50: number; p99: number; samples: number }> {
  const lags: number[] = [];
  const jobs = Array.from({ length: 10 }, (_, index): RecurringJob<JobResultSummary> => ({
    name: `lag-${index}`,
    intervalMs: 1000,
    run: (context) => {
      // The first occurrence is the start of the current window, due at start-up: not a lag.
      if (context.occurrenceAt.getTime() > startedAt) lags.push(Date.now() - context.occurrenceAt.getTime());
      return Promise.resolve({});
    },
  }));
  const { runtime, connections } = await ourRuntime(uri, 'bench_lag', jobs);
  const startedAt = Date.now();
  await runtime.start();
  while (lags.length < 220) await sleep(200);
  await runtime.drain(5000);
  await connections.close();
  return { p50: percentile(lags, 0.5), p99: percentile(lags, 0.99), samples: lags.length };
}

async function measureOursOnce(uri: string, runs: number, databaseName: string) {
  // `runs` jobs, each due at start-up; time until every one has run once.
  let completed = 0;
  const jobs = Array.from({ length: runs }, (_, index): RecurringJob<JobResultSummary> => ({
    name: `overhead-${index}`,
    intervalMs: 3_600_000,
    run: () => {
      completed += 1;
      return Promise.resolve({});
    },
  }));
  const ours = await ourRuntime(uri, databaseName, jobs);
  // Index creation is a one-time start-up cost (Agenda's own index is created before the
  // raw timing too): create it before the clock starts; start() re-checks it cheaply.
  await ours.runtime.scheduler.ensureIndexes();
  const commandsBefore = ours.connections.commands();
  const startMs = performance.now();
  await ours.runtime.start();
  while (completed < runs) await sleep(5);
  const elapsedMs = performance.now() - startMs;
  await sleep(300); // let the post-run writes land before counting
  const commands = ours.connections.commands() - commandsBefore;
  await ours.runtime.drain(5000);
  await ours.connections.close();
  return { msPerRun: elapsedMs / runs, commandsPerRun: commands / runs };
}

/**
 * The same number of job names, each scheduled now, the same empty handler. `tuned` gives
 * raw Agenda the definition options the runtime uses (`concurrency` and `lockLimit` 1: one
 * document per name), so the ratio against it shows the cost of the guarantees alone.
 */
async function measureRawOnce(uri: string, runs: number, databaseName: string, tuned = false) {
  const connections = await connect(uri, databaseName);
  const agenda = rawAgenda(connections, databaseName, 500, runs);
  let completed = 0;
  for (let index = 0; index < runs; index += 1) {
    agenda.define(
      `overhead-${index}`,
      () => {
        completed += 1;
        return Promise.resolve();
      },
      tuned ? { concurrency: 1, lockLimit: 1 } : {},
    );
  }
  await agenda.ready;
  const commandsBefore = connections.commands();
  const startMs = performance.now();
  for (let index = 0; index < runs; index += 1) await agenda.now(`overhead-${index}`);
  await agenda.start();
  while (completed < runs) await sleep(5);
  const elapsedMs = performance.now() - startMs;
  await sleep(300);
  const commands = connections.commands() - commandsBefore;
  await agenda.stop(false);
  await connections.close();
  return { msPerRun: elapsedMs / runs, commandsPerRun: commands / runs };
}

type OverheadSide = 'ours' | 'raw' | 'rawTuned';
interface SideResult {
  msPerRun: number;
  commandsPerRun: number;
}

/** One measurement of each side; the order rotates with the round. */
async function measureOverheadRound(uri: string, runs: number, round: number) {
  const sides: OverheadSide[] = ['ours', 'raw', 'rawTuned'];
  const order = [...sides.slice(round % 3), ...sides.slice(0, round % 3)];
  const results = {} as Record<OverheadSide, SideResult>;
  for (const side of order) {
    const databaseName = `bench_overhead_${side}_${round}`;
    results[side] =
      side === 'ours'
        ? await measureOursOnce(uri, runs, databaseName)
        : await measureRawOnce(uri, runs, databaseName, side === 'rawTuned');
  }
  return results;
}

/** Rounds rotate which side goes first; the means over all rounds are compared. */
async function measureOverhead(uri: string, runs: number, rounds: number) {
  const zero = (): SideResult => ({ msPerRun: 0, commandsPerRun: 0 });
  const totals: Record<OverheadSide, SideResult> = { ours: zero(), raw: zero(), rawTuned: zero() };
  for (let round = 0; round < rounds; round += 1) {
    const result = await measureOverheadRound(uri, runs, round);
    for (const side of Object.keys(totals) as OverheadSide[]) {
      totals[side].msPerRun += result[side].msPerRun / rounds;
      totals[side].commandsPerRun += result[side].commandsPerRun / rounds;
    }
    console.log(
      `  round ${round + 1}: ours ${result.ours.msPerRun.toFixed(1)} ms/run, raw ${result.raw.msPerRun.toFixed(1)} ms/run, ` +
        `raw with lockLimit 1 ${result.rawTuned.msPerRun.toFixed(1)} ms/run`,
    );
  }
  return totals;
}

async function measureIdle(uri: string, windowMs: number) {
  const names = ['idle-a', 'idle-b', 'idle-c', 'idle-d', 'idle-e'];
  const jobs = names.map((name): RecurringJob<JobResultSummary> => ({
    name,
    intervalMs: 3_600_000,
    run: () => Promise.resolve({}),
  }));
  const ours = await ourRuntime(uri, 'bench_idle_ours', jobs);
  await ours.runtime.start();
  await sleep(3000); // first runs done; next occurrences are an hour away
  const oursBefore = ours.connections.commands();
  await sleep(windowMs);
  const oursCommands = ours.connections.commands() - oursBefore;
  await ours.runtime.drain(5000);
  await ours.connections.close();

  const rawIdle = async (processEvery: number, databaseName: string) => {
    const connections = await connect(uri, databaseName);
    const agenda = rawAgenda(connections, databaseName, processEvery);
    for (const name of names) agenda.define(name, () => Promise.resolve());
    await agenda.start();
    for (const name of names) await agenda.every('1 hour', name);
    await sleep(3000);
    const before = connections.commands();
    await sleep(windowMs);
    const count = connections.commands() - before;
    await agenda.stop(false);
    await connections.close();
    return count;
  };
  const rawDefault = await rawIdle(5000, 'bench_idle_raw_default');
  const rawSame = await rawIdle(500, 'bench_idle_raw_500');
  const perMinute = (count: number) => (count * 60_000) / windowMs;
  return { ours: perMinute(oursCommands), rawDefault: perMinute(rawDefault), rawSameProcessEvery: perMinute(rawSame) };
}

async function main(): Promise<void> {
  let server: LocalMongoServer | null = null;
  let dataDirectory: string | null = null;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    dataDirectory = mkdtempSync(join(tmpdir(), 'scheduler-bench-'));
    server = await startLocalMongo({ dataDirectory });
    uri = server.uri;
  }
  try {
    console.log(`server: ${server ? 'local FerretDB (SQLite)' : 'MONGODB_URI'}`);
    const only = process.env.BENCH_ONLY;
    if (only === undefined || only === 'lag') {
    const lag = await measureLag(uri);
    console.log(
      `scheduling lag (due -> handler start, ${lag.samples} runs, default settings): p50 ${lag.p50.toFixed(0)} ms, p99 ${lag.p99.toFixed(0)} ms (target p99 < 1000 ms: ${lag.p99 < 1000 ? 'met' : 'MISSED'})`,
    );
    }
    if (only === undefined || only === 'overhead') {
    const overheadRuns = 50;
    const overheadRounds = 3;
    const overhead = await measureOverhead(uri, overheadRuns, overheadRounds);
    const { ours, raw, rawTuned } = overhead;
    const timeRatio = ours.msPerRun / raw.msPerRun;
    const tunedRatio = ours.msPerRun / rawTuned.msPerRun;
    console.log(
      `overhead per run (${overheadRuns} jobs due at start-up, one empty run each, mean of ${overheadRounds} rounds): ` +
        `ours ${ours.msPerRun.toFixed(2)} ms, raw Agenda ${raw.msPerRun.toFixed(2)} ms, ratio ${timeRatio.toFixed(2)}x ` +
        `(target <= 1.5x: ${timeRatio <= 1.5 ? 'met' : 'MISSED'}); raw Agenda with lockLimit 1 ${rawTuned.msPerRun.toFixed(2)} ms, ` +
        `ratio ${tunedRatio.toFixed(2)}x (${tunedRatio <= 1.5 ? 'met' : 'MISSED'})`,
    );
    console.log(
      `database commands per run: ours ${ours.commandsPerRun.toFixed(1)}, raw Agenda ${raw.commandsPerRun.toFixed(1)} ` +
        `(ratio ${(ours.commandsPerRun / raw.commandsPerRun).toFixed(2)}x), raw Agenda with lockLimit 1 ` +
        `${rawTuned.commandsPerRun.toFixed(1)} (ratio ${(ours.commandsPerRun / rawTuned.commandsPerRun).toFixed(2)}x)`,
    );
    }
    if (only === undefined || only === 'idle') {
    const windowMs = 20_000;
    const idle = await measureIdle(uri, windowMs);
    console.log(
      `idle commands per minute (5 jobs, ${windowMs / 1000} s window extrapolated): ours ${idle.ours.toFixed(0)}, ` +
        `raw Agenda default processEvery 5 s ${idle.rawDefault.toFixed(0)} (ratio ${(idle.ours / idle.rawDefault).toFixed(2)}x), ` +
        `raw Agenda processEvery 500 ms ${idle.rawSameProcessEvery.toFixed(0)} (ratio ${(idle.ours / idle.rawSameProcessEvery).toFixed(2)}x)`,
    );
    }
  } finally {
    await server?.stop();
    if (dataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
  }
}

await main();
// Agenda's still-alive check of every run it started sleeps lockLifetime / 2 in a timer it
// never clears (agenda 6.2.6, JobProcessor.runOrRetry): up to 5 minutes with raw Agenda's
// default lock lifetime. Everything is closed and printed; do not wait for those timers.
process.exit(process.exitCode ?? 0);
