/**
 * Benchmarks of @app/scheduler-agenda against raw Agenda on the same server in the same
 * run, three replica processes each side:
 *
 * - overhead: 100 jobs all due at one instant; the time until all 100 have run, ours over
 *   raw Agenda (`BENCH_ROUNDS` rounds, default 9, alternating which side goes first; rounds
 *   vary a lot on a shared machine, so the ratio is of the medians over all rounds). Each
 *   round's replicas first run a warm-up burst 5 s earlier (code not yet compiled, connection
 *   pools not yet grown): the measured burst is the steady state a long-running worker meets;
 * - lag: 100 jobs on cron slots (10 due each second, each job every 10 s) for 30 s;
 *   handler start minus slot, p50 and p99, for both sides;
 * - database commands and replica CPU per run, for both sides (reported, not targeted).
 *
 * Run with `pnpm bench` (builds first); uses MONGODB_URI when set, else a local server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startLocalMongo, type LocalMongoServer } from '@app/mongo-local';
import { compileCron } from '@app/shared-jobs';
import { MongoClient } from 'mongodb';

process.env.DO_NOT_TRACK = '1';
const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));
const replicaPath = process.env.BENCH_REPLICA_PATH ?? '';
const jobCount = Number(process.env.BENCH_JOBS ?? '100');
const replicas = 3;
const warmUpGapMs = 5000;

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

interface RunEvent {
  readonly jobName: string;
  readonly dueAt: number;
  readonly startedAt: number;
  readonly pid: number;
}

interface Replica {
  readonly child: ChildProcess;
  /** Database commands the replica sent after it was ready (known once it stopped). */
  commands: number;
  readonly ready: Promise<void>;
  exited: Promise<void>;
}

function startReplica(uri: string, databaseName: string, side: 'ours' | 'raw', schedule: string, create: boolean, runs: RunEvent[]): Replica {
  const child = spawn(process.execPath, [replicaPath], {
    env: {
      ...process.env,
      MONGODB_URI: uri,
      MONGODB_DATABASE: databaseName,
      BENCH_SIDE: side,
      BENCH_JOBS: String(jobCount),
      BENCH_SCHEDULE: schedule,
      BENCH_CREATE: create ? '1' : '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const replica: Replica = { child, ready, exited: Promise.resolve(), commands: 0 };
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const event = JSON.parse(line) as { event: string; commands?: number } & RunEvent;
      if (event.event === 'ready') markReady();
      if (event.event === 'run') runs.push(event);
      if (event.event === 'commands') replica.commands = event.commands ?? 0;
    } catch {
      // Not an event line.
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return Object.assign(replica, { exited });
}

async function stopAll(group: readonly Replica[]): Promise<void> {
  for (const replica of group) replica.child.kill('SIGTERM');
  await Promise.all(group.map((replica) => replica.exited));
}

/** Commands the server has answered so far (its `serverStatus` opcounters, when it has them). */
async function serverCommands(client: MongoClient): Promise<number | null> {
  try {
    const status = await client.db('admin').command({ serverStatus: 1 });
    const counters = status.opcounters as Record<string, number> | undefined;
    return counters === undefined ? null : Object.values(counters).reduce((sum, count) => sum + Number(count), 0);
  } catch {
    return null;
  }
}

interface Burst {
  /** Due instant to the last start. */
  readonly totalMs: number;
  /** Due instant to the first start. */
  readonly firstMs: number;
  readonly runs: number;
  readonly commandsPerRun: number;
  readonly replicasThatRan: number;
}

async function measureBurst(uri: string, side: 'ours' | 'raw', round: number): Promise<Burst> {
  const runs: RunEvent[] = [];
  const databaseName = `bench_burst_${side}_${round}`;
  // Every job due at one instant a few seconds ahead, when all replicas are up.
  // A warm-up burst (processes just started: cold code, connection pools not grown), then the
  // measured one, both in one minute.
  let warmUpAt = Math.ceil((Date.now() + 8000) / 1000) * 1000;
  while (new Date(warmUpAt).getUTCSeconds() + warmUpGapMs / 1000 >= 60) warmUpAt += 1000;
  const dueAt = new Date(warmUpAt + warmUpGapMs);
  const group = Array.from({ length: replicas }, (_, index) =>
    startReplica(uri, databaseName, side, `at:${new Date(warmUpAt).toISOString()},${dueAt.toISOString()}`, side === 'raw' && index === 0, runs),
  );
  await Promise.all(group.map((replica) => replica.ready));
  const deadline = dueAt.getTime() + 60_000;
  while (new Set(runs.filter((run) => run.startedAt >= dueAt.getTime() - 50).map((run) => run.jobName)).size < jobCount && Date.now() < deadline) {
    await sleep(20);
  }
  const counted = runs.filter((run) => run.startedAt >= dueAt.getTime() - 50);
  const last = Math.max(...counted.map((run) => run.startedAt));
  const first = Math.min(...counted.map((run) => run.startedAt));
  // Let the runs' own writes finish before counting (a run reports at its start).
  await sleep(2000);
  await stopAll(group);
  const commands = group.reduce((sum, replica) => sum + replica.commands, 0);
  const replicasThatRan = new Set(counted.map((run) => run.pid)).size;
  return { totalMs: last - dueAt.getTime(), firstMs: first - dueAt.getTime(), runs: counted.length, commandsPerRun: commands / Math.max(1, runs.length), replicasThatRan };
}

async function measureLag(uri: string, side: 'ours' | 'raw'): Promise<{ p50: number; p99: number; samples: number; commandsPerRun: number | null; perReplica: number[] }> {
  const runs: RunEvent[] = [];
  const databaseName = `bench_lag_${side}`;
  // 100 jobs, 10 due each second: job i at seconds i mod 10, 10 + i mod 10, ...
  const expressions = Array.from({ length: 10 }, (_, offset) => `${offset}/10 * * * * *`);
  const group = Array.from({ length: replicas }, (_, index) => startReplica(uri, databaseName, side, `spread:${expressions.join('|')}`, side === 'raw' && index === 0, runs));
  await Promise.all(group.map((replica) => replica.ready));
  const client = new MongoClient(uri);
  await client.connect();
  await sleep(5000); // warm-up: first slots, index creation
  const windowStart = Date.now();
  const commandsBefore = await serverCommands(client);
  await sleep(30_000);
  const commandsAfter = await serverCommands(client);
  const windowEnd = Date.now();
  await stopAll(group);
  await client.close();
  const measured = runs.filter((run) => run.startedAt >= windowStart && run.startedAt < windowEnd);
  const lags = measured.map((run) => {
    const index = Number(run.jobName.slice('bench-'.length));
    const slot = compileCron(expressions[index % expressions.length]!, 'UTC').latestAtOrBefore(new Date(run.startedAt))!;
    return run.startedAt - slot.getTime();
  });
  const perPid = new Map<number, number>();
  for (const run of measured) perPid.set(run.pid, (perPid.get(run.pid) ?? 0) + 1);
  return {
    p50: percentile(lags, 0.5),
    p99: percentile(lags, 0.99),
    samples: lags.length,
    commandsPerRun:
      commandsBefore === null || commandsAfter === null || measured.length === 0 ? null : (commandsAfter - commandsBefore) / measured.length,
    perReplica: [...perPid.values()],
  };
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
    console.log(
      `server: ${server ? 'local FerretDB (bundled build)' : 'MONGODB_URI'}; ${replicas} replicas per side, ${jobCount} jobs, ` +
        `Agenda scans every ${process.env.BENCH_PROCESS_EVERY_MS ?? '500'} ms on both sides`,
    );
    const only = process.env.BENCH_ONLY;
    if (only === undefined || only === 'overhead') {
      const rounds = Number(process.env.BENCH_ROUNDS ?? '9');
      const samples: Record<'ours' | 'raw', number[]> = { ours: [], raw: [] };
      const spreads: Record<'ours' | 'raw', number[]> = { ours: [], raw: [] };
      const commandSamples: Record<'ours' | 'raw', number[]> = { ours: [], raw: [] };
      for (let round = 0; round < rounds; round += 1) {
        const order: ('ours' | 'raw')[] = round % 2 === 0 ? ['ours', 'raw'] : ['raw', 'ours'];
        const bursts: Partial<Record<'ours' | 'raw', Burst>> = {};
        for (const side of order) {
          const burst = await measureBurst(uri, side, round);
          bursts[side] = burst;
          samples[side].push(burst.totalMs);
          spreads[side].push(burst.totalMs - burst.firstMs);
          commandSamples[side].push(burst.commandsPerRun);
          if (burst.runs < jobCount) console.log(`  round ${round + 1} ${side}: only ${burst.runs} of ${jobCount} runs within 60 s`);
        }
        // The first replica whose scan falls in the second before the instant locks every job ahead: usually one replica runs them all.
        console.log(
          `  round ${round + 1}: ours ${bursts.ours?.totalMs} ms (first at ${bursts.ours?.firstMs} ms, on ${bursts.ours?.replicasThatRan} replica(s)), ` +
            `raw Agenda ${bursts.raw?.totalMs} ms (first at ${bursts.raw?.firstMs} ms, on ${bursts.raw?.replicasThatRan}) for ${jobCount} runs due at once`,
        );
      }
      const ours = percentile(samples.ours, 0.5);
      const raw = percentile(samples.raw, 0.5);
      const ratio = ours / raw;
      console.log(
        `overhead (${jobCount} jobs due at one instant, ${replicas} replicas, median of ${rounds} rounds, rounds alternate the order): ` +
          `ours ${ours.toFixed(0)} ms, raw Agenda ${raw.toFixed(0)} ms until the last run started, ratio ${ratio.toFixed(2)}x ` +
          `(target <= 1.2x: ${ratio <= 1.2 ? 'met' : 'MISSED'})`,
      );
      // From the first start to the last: the runs' own cost, whatever the scans' phase against the instant.
      const oursSpread = percentile(spreads.ours, 0.5);
      const rawSpread = percentile(spreads.raw, 0.5);
      console.log(
        `burst spread (first to last start, median): ours ${oursSpread.toFixed(0)} ms, raw Agenda ${rawSpread.toFixed(0)} ms, ratio ${(oursSpread / rawSpread).toFixed(2)}x`,
      );
      const oursCommands = percentile(commandSamples.ours, 0.5);
      const rawCommands = percentile(commandSamples.raw, 0.5);
      console.log(
        `database commands per run (all replicas from start to stop, both bursts, scans and heartbeats included): ours ${oursCommands.toFixed(1)}, ` +
          `raw Agenda ${rawCommands.toFixed(1)} (ratio ${(oursCommands / rawCommands).toFixed(2)}x)`,
      );
    }
    if (only === undefined || only === 'lag') {
      for (const side of ['ours', 'raw'] as const) {
        const lag = await measureLag(uri, side);
        console.log(
          `lag ${side === 'ours' ? 'ours' : 'raw Agenda'} (${jobCount} jobs, 10 due per second, ${lag.samples} runs in 30 s, runs per replica ${JSON.stringify(lag.perReplica)}): ` +
            `p50 ${lag.p50.toFixed(0)} ms, p99 ${lag.p99.toFixed(0)} ms` +
            (side === 'ours' ? ` (target p99 < 250 ms: ${lag.p99 < 250 ? 'met' : 'MISSED'})` : '') +
            (lag.commandsPerRun === null ? '' : `; ${lag.commandsPerRun.toFixed(1)} server commands per run`),
        );
      }
    }
  } finally {
    await server?.stop();
    if (dataDirectory) rmSync(dataDirectory, { recursive: true, force: true });
  }
}

await main();
process.exit(process.exitCode ?? 0);
