/** Spawns the BUILT worker (`node dist/cli.js ...`) as a real OS process and reads its JSON logs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '@app/mongo-local';
import { testMongoUri } from '@app/mongo-local/testing';

export const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(packageDirectory, 'dist', 'cli.js');

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly lines: LogLine[];
  readonly rawOutput: () => string;
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  waitForExit(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  url(path: string): string;
}

/** Environment every worker of the tests gets: the test server, JSON logs, quiet jobs. */
export function baseEnvironment(databaseName: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    DO_NOT_TRACK: '1',
    MONGODB_URI: testMongoUri(),
    MONGODB_DATABASE: databaseName,
    LOG_FORMAT: 'json',
    ADMIN_PASSWORD: 'E2e-Admin-Password-42',
    JOBS_EMAIL_QUEUE_ENABLED: 'false',
    SHUTDOWN_DEADLINE_MS: '5000',
  };
}

export async function spawnWorker(
  environment: Record<string, string>,
  args: readonly string[] = ['start'],
): Promise<WorkerProcess> {
  const port = environment.HTTP_PORT === undefined ? await findFreePort() : Number(environment.HTTP_PORT);
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: packageDirectory,
    env: { ...environment, HTTP_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let raw = '';
  const waiters = new Set<() => void>();
  let buffered = '';
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    raw += text;
    buffered += text;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        // not a log line
      }
    }
    for (const waiter of waiters) waiter();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = once(child, 'exit').then(([code, signal]) => {
    exit = { code: code as number | null, signal: signal as NodeJS.Signals | null };
    for (const waiter of waiters) waiter();
    return exit;
  });
  return {
    child,
    port,
    lines,
    rawOutput: () => raw,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    waitForLog: (predicate, timeoutMs = 30_000) =>
      new Promise((resolveLine, reject) => {
        const check = (): void => {
          const found = lines.find(predicate);
          if (found !== undefined) {
            cleanup();
            resolveLine(found);
          } else if (exit !== undefined) {
            cleanup();
            reject(new Error(`worker exited (${JSON.stringify(exit)}) before the log line:\n${raw.slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`log line not seen within ${timeoutMs} ms:\n${raw.slice(-3000)}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    waitForExit: async (timeoutMs = 30_000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`worker did not exit within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs a CLI command to completion. */
export async function runCli(
  environment: Record<string, string>,
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: packageDirectory,
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

export async function getJson<TBody>(url: string): Promise<{ status: number; body: TBody }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as TBody };
}

export async function waitUntil<TValue>(
  probe: () => Promise<TValue | undefined>,
  timeoutMs: number,
  what: string,
): Promise<TValue> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 200));
  }
}
