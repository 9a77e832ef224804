/**
 * One replica process of the benchmarks: the runtime of this package, or raw Agenda, with
 * `BENCH_JOBS` jobs. Reads its mode from the environment, prints JSON lines on stdout
 * (`ready`, `run` with the due and start instants), stops on SIGTERM.
 *
 * - `BENCH_SIDE=ours|raw`
 * - `BENCH_SCHEDULE=at:<ISO instant>,<ISO instant>...` (every job due at each of those whole
 *   seconds, all in one minute), or
 *   `spread:<cron>|<cron>|...` (job i follows expression i modulo their count).
 * - `BENCH_CREATE=1`: this replica (raw Agenda only) creates the jobs; the others only process.
 * - `BENCH_MAX_POOL_SIZE` (ours; default 10, the worker's `MONGODB_MAX_POOL_SIZE` default): the
 *   runtime has one connection for Agenda and the ledger, as in the worker. Raw Agenda keeps
 *   the driver's defaults, as its users run it.
 */
import { MongoBackend } from '@agendajs/mongo-backend';
import { MongooseInstanceRegistry, MongooseJobRunLedger } from '@app/logging';
import { parseSchedule, type JobResultSummary, type RecurringJob } from '@app/shared-jobs';
import { Agenda, type Job } from 'agenda';
import { MongoClient } from 'mongodb';
import mongoose from 'mongoose';
import { createJobRuntime } from '../src/index.js';

function environment(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`replica: ${name} is not set`);
  return value;
}

const emit = (event: string, fields: Record<string, unknown> = {}) => {
  process.stdout.write(`${JSON.stringify({ event, pid: process.pid, ...fields })}\n`);
};

const uri = environment('MONGODB_URI');
const databaseName = environment('MONGODB_DATABASE');
const side = environment('BENCH_SIDE');
const jobCount = Number(environment('BENCH_JOBS'));
const schedule = environment('BENCH_SCHEDULE');
const processEveryMs = Number(process.env.BENCH_PROCESS_EVERY_MS ?? '500');
const names = Array.from({ length: jobCount }, (_, index) => `bench-${String(index).padStart(3, '0')}`);
const dueInstants = schedule.startsWith('at:') ? schedule.slice('at:'.length).split(',').map((instant) => new Date(instant)) : [];
const dueOnceAt = dueInstants[0] ?? null;
const spread = schedule.startsWith('spread:') ? schedule.slice('spread:'.length).split('|') : [];
/** The cron expression of job `index` (with seconds, UTC). */
function cronOf(index: number): string {
  if (dueOnceAt !== null) {
    return `${dueInstants.map((instant) => instant.getUTCSeconds()).join(',')} ${dueOnceAt.getUTCMinutes()} ${dueOnceAt.getUTCHours()} ${dueOnceAt.getUTCDate()} ${dueOnceAt.getUTCMonth() + 1} *`;
  }
  return spread[index % spread.length]!;
}

let commands = 0;
const countCommand = () => {
  commands += 1;
};
const client = new MongoClient(uri, { monitorCommands: true });
client.on('commandStarted', countCommand);
await client.connect();
const database = client.db(databaseName);
let stop: () => Promise<void>;

/** The slot a run belongs to: its occurrence (ours) or the due instant Agenda kept (raw). */
const report = (jobName: string, dueAt: Date) => emit('run', { jobName, dueAt: dueAt.getTime(), startedAt: Date.now() });

if (side === 'ours') {
  const maxPoolSize = Number(process.env.BENCH_MAX_POOL_SIZE ?? '10');
  const connection = await mongoose.createConnection(uri, { dbName: databaseName, monitorCommands: true, maxPoolSize }).asPromise();
  const runtimeDatabase = connection.db;
  if (runtimeDatabase === undefined) throw new Error('replica: the mongoose connection has no database handle');
  connection.getClient().on('commandStarted', countCommand);
  const ledger = new MongooseJobRunLedger(connection);
  const instances = new MongooseInstanceRegistry(connection);
  await Promise.all([ledger.ensureIndexes(), instances.ensureIndexes()]);
  const jobs = names.map(
    (name, index): RecurringJob<JobResultSummary> => ({
      name,
      schedule: parseSchedule(cronOf(index)),
      misfire: { kind: 'catch-up', windowMs: 60_000, maxRuns: 10 },
      run: (context) => {
        report(name, context.occurrenceAt);
        return Promise.resolve({});
      },
    }),
  );
  const runtime = createJobRuntime({ database: runtimeDatabase, ledger, instances, version: 'bench', jobs, processEveryMs });
  await runtime.start();
  stop = async () => {
    await runtime.drain(5000);
    await connection.close();
  };
} else {
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: database, collection: 'agendaJobs' }),
    processEvery: processEveryMs,
    maxConcurrency: Math.max(20, jobCount),
  });
  agenda.on('error', () => undefined);
  for (const name of names) {
    agenda.define(
      name,
      (job: Job) => {
        report(name, job.attrs.nextRunAt ?? job.attrs.lastRunAt ?? new Date());
        return Promise.resolve();
      },
      { concurrency: 1, lockLimit: 1 },
    );
  }
  await agenda.ready;
  if (process.env.BENCH_CREATE === '1') {
    for (const [index, name] of names.entries()) {
      // One one-off job per instant (Agenda runs each once).
      if (dueInstants.length > 0) for (const instant of dueInstants) await agenda.schedule(instant, name);
      else await agenda.every(cronOf(index), name);
    }
  }
  await agenda.start();
  stop = () => agenda.stop(false);
}

process.on('SIGTERM', () => {
  emit('commands', { commands });
  void stop().then(async () => {
    await client.close();
    process.exit(0);
  });
});
emit('ready');
// Commands from here on: the measured window, not the start-up (indexes, first schedule).
commands = 0;
