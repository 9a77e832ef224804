/** Spawns real worker processes (the bundled fixture) and follows their stdout events. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { bundleEntry, packageDirectory } from './bundle-entry.js';
import type { TestJobSpec } from './test-job-spec.js';

/** Bundles the fixture with this package's sources; dependencies stay external. */
export function bundleWorkerFixture(): Promise<string> {
  return bundleEntry(
    'test/fixtures/worker-process.ts',
    '.worker-fixture',
    `worker-process-${process.pid}.mjs`,
  );
}

export interface WorkerEvent {
  readonly event: string;
  readonly pid: number;
  readonly [field: string]: unknown;
}

export interface WorkerHandle {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly events: WorkerEvent[];
  readonly stderr: string[];
  /** Resolves with the first event matching `predicate` (past or future). */
  waitFor(predicate: (event: WorkerEvent) => boolean, timeoutMs?: number): Promise<WorkerEvent>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface WorkerOptions {
  readonly bundlePath: string;
  readonly mongoUri: string;
  readonly databaseName: string;
  readonly jobs: readonly TestJobSpec[];
  readonly drainDeadlineMs?: number;
  /** Unset: the runtime's default (10 s). */
  readonly leaseTimeoutMs?: number;
  readonly processEveryMs?: number;
  readonly version?: string;
}

export function startWorker(options: WorkerOptions): WorkerHandle {
  const child = spawn(process.execPath, [options.bundlePath], {
    cwd: packageDirectory,
    env: {
      ...process.env,
      DO_NOT_TRACK: '1',
      MONGODB_URI: options.mongoUri,
      MONGODB_DATABASE: options.databaseName,
      WORKER_JOBS: JSON.stringify(options.jobs),
      WORKER_DRAIN_DEADLINE_MS: String(options.drainDeadlineMs ?? 5000),
      ...(options.leaseTimeoutMs === undefined ? {} : { WORKER_LEASE_TIMEOUT_MS: String(options.leaseTimeoutMs) }),
      ...(options.processEveryMs === undefined ? {} : { WORKER_PROCESS_EVERY_MS: String(options.processEveryMs) }),
      ...(options.version === undefined ? {} : { WORKER_VERSION: options.version }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('worker process did not start');
  const events: WorkerEvent[] = [];
  const stderr: string[] = [];
  const waiters: {
    predicate: (event: WorkerEvent) => boolean;
    resolve: (event: WorkerEvent) => void;
  }[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let parsed: WorkerEvent;
    try {
      parsed = JSON.parse(line) as WorkerEvent;
    } catch {
      return;
    }
    events.push(parsed);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(parsed)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    }
  });
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const pid = child.pid;
  return {
    child,
    pid,
    events,
    stderr,
    exited,
    waitFor(predicate, timeoutMs = 30_000) {
      const found = events.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `worker ${pid}: no matching event within ${timeoutMs} ms; stderr: ${stderr.slice(-5).join(' | ')}`,
            ),
          );
        }, timeoutMs);
        waiters.push({
          predicate,
          resolve: (event) => {
            clearTimeout(timer);
            resolve(event);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`worker ${pid} exited; stderr: ${stderr.slice(-5).join(' | ')}`));
        });
      });
    },
  };
}

/** SIGTERM and wait for exit. */
export async function terminate(
  worker: WorkerHandle,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (worker.child.exitCode === null && worker.child.signalCode === null)
    worker.child.kill('SIGTERM');
  return worker.exited;
}

/** SIGKILL and wait for exit. */
export async function kill(worker: WorkerHandle): Promise<void> {
  if (worker.child.exitCode === null && worker.child.signalCode === null)
    worker.child.kill('SIGKILL');
  await worker.exited;
}
