import { randomUUID } from 'node:crypto';
/** In-process console workers on the test database (real fastify server, real runtime) and state snapshots. */
import { Writable } from 'node:stream';
import { getOperatorAuditModel, MongooseJobRunLedger } from '@app/logging';
import { getEmailQueueModel } from '@app/notifications';
import type { JobRunStatus } from '@app/shared-jobs';
import { expect } from 'vitest';
import { loadWorkerConfiguration } from '../../src/config/worker-config.js';
import { createLogger } from '../../src/logger.js';
import { workerVersion } from '../../src/version.js';
import { startTelemetry, type Telemetry } from '../../src/telemetry.js';
import type { RunningWorker } from '../../src/worker.js';

let telemetry: Telemetry | undefined;

export interface ConsoleWorker {
  readonly worker: RunningWorker;
  readonly baseUrl: string;
  readonly logText: () => string;
  stop(): Promise<void>;
}

/** A worker started in this process on this file's database; the logs are captured. */
export async function startConsoleWorker(environment: Record<string, string>): Promise<ConsoleWorker> {
  const { startWorker } = await import('../../src/worker.js');
  const configuration = loadWorkerConfiguration({
    environment: {
      MONGODB_URI: process.env.MONGODB_URI,
      MONGODB_DATABASE: process.env.MONGODB_DATABASE,
      HTTP_PORT: '0',
      ADMIN_PASSWORD: 'Console-Test-Admin-Password-1',
      JOBS_EMAIL_QUEUE_ENABLED: 'false',
      LOG_LEVEL: 'debug',
      ...environment,
    },
  });
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  // One telemetry per test file: the OpenTelemetry API takes its providers once per process.
  telemetry ??= startTelemetry({ settings: configuration.telemetry, serviceVersion: workerVersion, instanceId: randomUUID() });
  const worker = await startWorker({
    configuration,
    logger: createLogger({ level: 'debug', format: 'json', destination }),
    telemetry,
  });
  return {
    worker,
    baseUrl: `http://127.0.0.1:${worker.http.port}`,
    logText: () => text,
    stop: () => worker.shutdown('test done'),
  };
}

/** What an operator action could change: the audit trail, pauses, pending occurrences, the email queue. */
export interface StateSnapshot {
  readonly audit: number;
  readonly jobs: readonly { readonly job: string; readonly paused: boolean; readonly pending: string | null }[];
  readonly emails: readonly string[];
}

export async function stateSnapshot(worker: RunningWorker): Promise<StateSnapshot> {
  const { context } = worker;
  const jobs = await Promise.all(
    context.jobs.plans
      .filter((plan) => plan.enabled)
      .map(async (plan) => {
        const pending = await context.runtime.scheduler.getPending(plan.jobName);
        return {
          job: plan.jobName,
          paused: await context.runtime.scheduler.isPaused(plan.jobName),
          pending: pending === null ? null : pending.occurrenceAt.toISOString(),
        };
      }),
  );
  const emails = await getEmailQueueModel(context.connection).find({}, { status: 1, nextAttemptAt: 1 }).sort({ _id: 1 }).lean();
  return {
    audit: await getOperatorAuditModel(context.connection).countDocuments(),
    jobs,
    emails: emails.map((email) => `${email._id.toHexString()}:${email.status}:${email.nextAttemptAt.toISOString()}`),
  };
}

/** Finished runs written through the real ledger, one second apart, oldest first. */
export async function insertRuns(
  worker: RunningWorker,
  jobName: string,
  options: { readonly count: number; readonly firstStart: Date; readonly status: (index: number) => Exclude<JobRunStatus, 'running'> },
): Promise<void> {
  const ledger = new MongooseJobRunLedger(worker.context.connection);
  for (let index = 0; index < options.count; index += 1) {
    const startedAt = new Date(options.firstStart.getTime() + index * 1000);
    const claim = await ledger.claim({
      jobName,
      occurrenceAt: startedAt,
      attempt: 1,
      cause: 'schedule',
      requestedBy: null,
      instance: { hostName: 'test-host', processId: 4242 },
      instanceId: 'test-instance',
      startedAt,
      leaseExpiresAt: new Date(startedAt.getTime() + 60_000),
    });
    if (!claim.claimed) throw new Error('expected a new claim');
    const status = options.status(index);
    await ledger.finish(claim.run.runId, {
      status,
      finishedAt: new Date(startedAt.getTime() + 10 + index),
      durationMs: 10 + index,
      ...(status === 'failed'
        ? { error: { name: 'Error', message: `failure ${index}`, stack: `Error: failure ${index}\n    at test (support.ts:1:1)` } }
        : { result: { index } }),
    });
  }
}

export interface JsonAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

export async function call(url: string, init: RequestInit = {}): Promise<JsonAnswer> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const text = await response.text();
  return { status: response.status, body: parseBody(text), headers: response.headers };
}

function parseBody(text: string): Record<string, unknown> {
  if (text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { text };
  }
}

/** Vitest's asymmetric matchers, typed (they are `any`, which the linter refuses to assign). */
export const partial = <TShape extends object>(shape: TShape): TShape => expect.objectContaining(shape as Record<string, unknown>) as TShape;
export const containing = (text: string): string => expect.stringContaining(text) as string;
export const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string;
export const anyString = (): string => expect.any(String) as string;

export const jsonHeaders = { 'content-type': 'application/json' } as const;

/** A request with exactly these headers (fetch may not send a foreign Host). */
export async function rawRequest(
  port: number,
  options: { readonly method?: string; readonly path: string; readonly headers?: Record<string, string>; readonly body?: string },
): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string | string[] | undefined> }> {
  const { request } = await import('node:http');
  return new Promise((resolveAnswer, reject) => {
    const outgoing = request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers ?? {} },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let body: Record<string, unknown>;
          try {
            body = JSON.parse(text) as Record<string, unknown>;
          } catch {
            body = { text };
          }
          resolveAnswer({ status: response.statusCode ?? 0, body, headers: response.headers });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** Waits until every enabled job has run once and its next occurrence is scheduled (a settled start). */
export async function waitForFirstRuns(worker: RunningWorker, timeoutMs = 30_000): Promise<void> {
  const { context } = worker;
  const deadline = Date.now() + timeoutMs;
  for (const plan of context.jobs.plans.filter((entry) => entry.enabled)) {
    for (;;) {
      const [latest] = (await context.ledger.listRuns({ jobName: plan.jobName, limit: 1 })).runs;
      const pending = await context.runtime.scheduler.getPending(plan.jobName);
      if (latest !== undefined && latest.status !== 'running' && pending !== null && pending.occurrenceAt.getTime() !== latest.occurrenceAt.getTime()) break;
      if (Date.now() > deadline) throw new Error(`${plan.jobName} did not run within ${timeoutMs} ms`);
      await new Promise((resolveSleep) => setTimeout(resolveSleep, 100));
    }
  }
}
