/**
 * Clean failure of the built worker as a real process: a database outage (a private
 * FerretDB stopped and restarted on the same port), malformed MONGODB_URI forms, bad
 * OTEL_* values, a taken HTTP port, and an unhandled rejection.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalMongo, type LocalMongoServer } from '@app/mongo-local';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { baseEnvironment, runCli, spawnWorker, waitUntil, type LogLine, type WorkerProcess } from './support/worker-process.js';

const started: WorkerProcess[] = [];
const servers: LocalMongoServer[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'worker-failures-'));

async function launch(environment: Record<string, string>): Promise<WorkerProcess> {
  const worker = await spawnWorker(environment);
  started.push(worker);
  return worker;
}

afterEach(async () => {
  for (const worker of started.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGKILL');
      await worker.waitForExit(10_000).catch(() => undefined);
    }
  }
  for (const server of servers.splice(0)) await server.stop();
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** GET /readyz with its answer time. */
async function probe(worker: WorkerProcess): Promise<{ status: number; elapsedMs: number }> {
  const startedAt = performance.now();
  const response = await fetch(worker.url('/readyz'), { signal: AbortSignal.timeout(5000) });
  await response.arrayBuffer();
  return { status: response.status, elapsedMs: performance.now() - startedAt };
}

const isProblem = (line: LogLine): boolean => line.level >= 40;

describe('database outage', () => {
  it('answers /readyz 503 within 1.5 s, logs each error kind once, and logs the recovery once', async () => {
    const dataDirectory = join(scratch, 'outage-db');
    let database = await startLocalMongo({ dataDirectory, reuseRunning: false });
    servers.push(database);
    const worker = await launch({
      ...baseEnvironment('outage'),
      MONGODB_URI: database.uri,
      JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE: '1000ms',
      METRICS_REFRESH_INTERVAL_MS: '500',
    });
    await worker.waitForLog((line) => line.msg === 'worker ready');
    await waitUntil(async () => ((await probe(worker)).status === 200 ? true : undefined), 10_000, 'ready');

    const outageFrom = worker.lines.length;
    await database.stop();
    servers.splice(servers.indexOf(database), 1);
    const probes: { status: number; elapsedMs: number }[] = [];
    // Probe through the outage until the runtime has reported both its failure kinds.
    await waitUntil(
      async () => {
        probes.push(await probe(worker));
        const outageLines = worker.lines.slice(outageFrom);
        return outageLines.some((line) => line.msg === 'agenda error') &&
          outageLines.some((line) => line.msg === 'heartbeat failed')
          ? true
          : undefined;
      },
      60_000,
      'the outage to be reported',
    );
    for (let extra = 0; extra < 10; extra += 1) probes.push(await probe(worker));
    expect(Math.max(...probes.map((entry) => entry.elapsedMs))).toBeLessThan(1500);
    expect(probes.slice(-10).every((entry) => entry.status === 503)).toBe(true);

    // The same server comes back on the same address.
    database = await startLocalMongo({ dataDirectory, reuseRunning: false, port: database.port });
    servers.push(database);
    const agendaRecovered = await worker.waitForLog((line) => line.msg === 'agenda error: recovered', 60_000);
    const heartbeatRecovered = await worker.waitForLog((line) => line.msg === 'heartbeat failed: recovered', 60_000);
    await waitUntil(async () => ((await probe(worker)).status === 200 ? true : undefined), 30_000, 'ready again');

    // The repeats were counted, not logged: a few lines per kind, one recovery line per kind.
    const outageLines = worker.lines.slice(outageFrom);
    const problemsByMessage = new Map<string, number>();
    for (const line of outageLines.filter(isProblem)) {
      problemsByMessage.set(line.msg, (problemsByMessage.get(line.msg) ?? 0) + 1);
    }
    // More failures counted than logged (each job name has at most one lock attempt in flight,
    // so how many fail depends on the outage's length, not on a fixed count).
    expect(agendaRecovered.failures).toBeGreaterThan(problemsByMessage.get('agenda error') ?? 0);
    expect(heartbeatRecovered.failures).toBeGreaterThanOrEqual(1);
    for (const [message, count] of problemsByMessage) expect(count, message).toBeLessThanOrEqual(3);
    expect(outageLines.filter((line) => line.msg === 'agenda error: recovered')).toHaveLength(1);
    expect(outageLines.filter((line) => line.msg === 'heartbeat failed: recovered')).toHaveLength(1);
    const firstAgendaError = outageLines.find((line) => line.msg === 'agenda error')!;
    expect((firstAgendaError.error as { stack?: string }).stack).toBeDefined();
  }, 180_000);
});

describe('configuration errors', () => {
  it('exits 2 for each malformed MONGODB_URI, naming the key and never the password', async () => {
    const forms = [
      'mongodb://',
      'mongodb://ops:Pa55-Word-x9@db.example:notaport/',
      'postgres://ops:Pa55-Word-x9@db.example/',
      'mongodb://ops:Pa55-Word-x9@db.example/?noSuchOption=1',
      'mongodb+srv://ops:Pa55-Word-x9@cluster.example:27017/',
      'mongodb://ops:Pa55-Word-x9@db.example:99999/',
    ];
    const results = await Promise.all(
      forms.map((uri) => runCli({ ...baseEnvironment('never_created'), MONGODB_URI: uri }, ['start'])),
    );
    for (const [index, result] of results.entries()) {
      expect(result.code, forms[index]).toBe(2);
      expect(result.stderr, forms[index]).toMatch(/^Invalid worker configuration \(1 problem\):\n {2}- MONGODB_URI \(mongodb\.uri\): /u);
      expect(result.stderr + result.stdout, forms[index]).not.toContain('Pa55-Word-x9');
      expect(result.stdout, forms[index]).not.toContain('connected to the database');
    }
  }, 60_000);

  it('exits 2 naming each bad OTEL_* value', async () => {
    const result = await runCli(
      {
        ...baseEnvironment('never_created'),
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml',
        OTEL_METRIC_EXPORT_INTERVAL: 'soon',
        OTEL_TRACES_EXPORTER: 'otlp,zipkin',
        OTEL_RESOURCE_ATTRIBUTES: 'team',
        OTEL_EXPORTER_OTLP_HEADERS: 'api-key',
      },
      ['start'],
    );
    expect(result.code).toBe(2);
    for (const key of [
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'OTEL_METRIC_EXPORT_INTERVAL',
      'OTEL_TRACES_EXPORTER',
      'OTEL_RESOURCE_ATTRIBUTES',
      'OTEL_EXPORTER_OTLP_HEADERS',
    ]) {
      expect(result.stderr).toContain(`- ${key} (`);
    }
    expect(result.stderr).toMatch(/^Invalid worker configuration \(6 problems\)/u);
  }, 30_000);
});

describe('HTTP port taken', () => {
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolveClose) => (blocker === undefined ? resolveClose() : blocker.close(() => resolveClose())));
  });

  it('exits 2 naming HTTP_PORT before anything is written to the database', async () => {
    blocker = createServer();
    await new Promise<void>((resolveListen) => blocker!.listen(0, '127.0.0.1', () => resolveListen()));
    const address = blocker.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const databaseName = `${testDatabaseName()}_port_taken`;
    const worker = await launch({ ...baseEnvironment(databaseName), HTTP_PORT: String(address.port) });
    const exit = await worker.waitForExit(20_000);
    expect(exit.code).toBe(2);
    expect(worker.rawOutput()).toContain(`cannot serve HTTP on 127.0.0.1:${address.port} (HTTP_HOST, HTTP_PORT)`);
    expect(worker.rawOutput()).toContain('EADDRINUSE');
    expect(worker.lines.some((line) => line.msg === 'connected to the database')).toBe(false);
    const client = new MongoClient(testMongoUri());
    try {
      await client.connect();
      expect(await client.db(databaseName).listCollections().toArray()).toEqual([]);
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe('start-up', () => {
  it('serves /healthz and answers /readyz 503 while the database cannot be reached yet, then exits 1', async () => {
    // A port nobody listens on: the driver keeps selecting a server for 10 s.
    const closed = createServer();
    await new Promise<void>((resolveListen) => closed.listen(0, '127.0.0.1', () => resolveListen()));
    const address = closed.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    await new Promise<void>((resolveClose) => closed.close(() => resolveClose()));
    const worker = await launch({ ...baseEnvironment('unreachable'), MONGODB_URI: `mongodb://127.0.0.1:${address.port}/` });
    await waitUntil(
      async () => {
        try {
          return (await fetch(worker.url('/healthz'))).status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      10_000,
      'the HTTP endpoints',
    );
    const readiness = await probe(worker);
    expect(readiness.status).toBe(503);
    expect(readiness.elapsedMs).toBeLessThan(1500);
    expect((await fetch(worker.url('/jobs'))).status).toBe(500);
    const exit = await worker.waitForExit(40_000);
    expect(exit.code).toBe(1);
    expect(worker.lines.find((line) => line.msg === 'worker failed to start')?.error).toMatchObject({
      message: expect.stringContaining(`cannot connect to mongodb://127.0.0.1:${address.port}/`) as unknown,
    });
  }, 60_000);
});

describe('unhandled rejection', () => {
  it('is logged with its stack, drains like SIGTERM, and exits 1', async () => {
    // The fault is injected from outside the worker: a preloaded module rejects a promise on SIGUSR2.
    const injector = fileURLToPath(new URL('fixtures/reject-on-signal.ts', import.meta.url));
    const worker = await launch({
      ...baseEnvironment(`${testDatabaseName()}_unhandled`),
      NODE_OPTIONS: `--import=${injector}`,
    });
    await worker.waitForLog((line) => line.msg === 'worker ready');
    worker.child.kill('SIGUSR2');
    const fatal = await worker.waitForLog((line) => line.kind === 'unhandledRejection');
    expect(fatal.level).toBe(60);
    expect((fatal.error as { stack: string }).stack).toContain('injected fault for the test');
    expect((fatal.error as { stack: string }).stack).toContain('reject-on-signal.ts');
    const exit = await worker.waitForExit(20_000);
    expect(exit.code).toBe(1);
    expect(worker.lines.some((line) => line.msg === 'drained')).toBe(true);
    expect(worker.lines.some((line) => line.msg === 'stopped')).toBe(true);
  }, 60_000);
});
