/** In-process units of the hygiene work: telemetry settings, MONGODB_URI checks, the overdue rule, the fatal-error guard. */
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isOverdue } from '../src/cluster-metrics.js';
import { describeMongoUriProblem } from '../src/config/mongo-uri.js';
import { isKeyValueList, telemetrySettingsSchema } from '../src/config/telemetry-settings.js';
import { loadWorkerConfiguration } from '../src/config/worker-config.js';
import { createLogger } from '../src/logger.js';
import { installProcessGuards } from '../src/process-guards.js';
import { describeServerBuild, findServerProblem, readServerBuild, supportedServers, UnsupportedServerError } from '../src/server-support.js';
import { applyTelemetryEnvironment, metricsExporters, resourceDetectors, tracesExporters } from '../src/telemetry.js';

const settings = (input: Record<string, unknown> = {}) => telemetrySettingsSchema.parse(input);

describe('telemetry settings', () => {
  it('exports nothing without an endpoint, OTLP with one, and follows OTEL_*_EXPORTER when given', () => {
    expect(tracesExporters(settings())).toEqual([]);
    expect(metricsExporters(settings())).toEqual([]);
    expect(tracesExporters(settings({ otlpEndpoint: 'http://collector:4318' }))).toEqual(['otlp']);
    expect(metricsExporters(settings({ otlpMetricsEndpoint: 'http://collector:4318/v1/metrics' }))).toEqual(['otlp']);
    expect(tracesExporters(settings({ otlpMetricsEndpoint: 'http://collector:4318/v1/metrics' }))).toEqual([]);
    expect(tracesExporters(settings({ otlpEndpoint: 'http://collector:4318', tracesExporter: ['none'] }))).toEqual([]);
    expect(metricsExporters(settings({ metricsExporter: ['prometheus', 'console', 'console'] }))).toEqual(['console']);
    expect(tracesExporters(settings({ tracesExporter: [' OTLP '] }))).toEqual(['otlp']);
  });

  it('writes the validated values into the environment the SDK reads and removes what is unset', () => {
    const environment: NodeJS.ProcessEnv = { OTEL_EXPORTER_OTLP_HEADERS: 'stale=1', OTEL_LOG_LEVEL: 'debug', KEEP: 'me' };
    applyTelemetryEnvironment(
      settings({ otlpEndpoint: 'http://collector:4318', otlpProtocol: 'HTTP/JSON', metricExportIntervalMs: 1000, metricExportTimeoutMs: 5000 }),
      environment,
    );
    expect(environment).toMatchObject({
      OTEL_SERVICE_NAME: 'background-jobs-worker',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      OTEL_METRIC_EXPORT_TIMEOUT: '1000',
      KEEP: 'me',
    });
    expect(environment.OTEL_EXPORTER_OTLP_HEADERS).toBeUndefined();
    expect(environment.OTEL_LOG_LEVEL).toBeUndefined();
    applyTelemetryEnvironment(settings(), environment);
    expect(environment.OTEL_TRACES_EXPORTER).toBe('none');
  });

  it('maps OTEL_NODE_RESOURCE_DETECTORS to detectors, env last, never a second instance id', () => {
    expect(resourceDetectors(settings())).toHaveLength(4);
    expect(resourceDetectors(settings({ resourceDetectors: ['none'] }))).toEqual([]);
    expect(resourceDetectors(settings({ resourceDetectors: ['all'] }))).toHaveLength(4);
    expect(resourceDetectors(settings({ resourceDetectors: ['env', 'host', 'serviceinstance'] }))).toHaveLength(2);
  });

  it('reads key=value lists as the specification writes them', () => {
    expect(isKeyValueList('deployment.environment.name=prod,team=jobs')).toBe(true);
    expect(isKeyValueList('api-key=abc%20def')).toBe(true);
    expect(isKeyValueList('api-key')).toBe(false);
    expect(isKeyValueList('=value')).toBe(false);
    expect(isKeyValueList('key=%E0%A4%A')).toBe(false);
  });

  it('names a bad OTEL value and a bad metrics setting in one configuration error', () => {
    expect(() =>
      loadWorkerConfiguration({
        environment: {
          JOBS_EMAIL_QUEUE_ENABLED: 'false',
          ADMIN_ENABLED: 'false',
          OTEL_TRACES_SAMPLER_ARG: '2',
          OTEL_NODE_RESOURCE_DETECTORS: 'host,kubernetes',
          METRICS_REFRESH_INTERVAL_MS: '10',
        },
      }),
    ).toThrow(/OTEL_TRACES_SAMPLER_ARG[\s\S]*OTEL_NODE_RESOURCE_DETECTORS[\s\S]*METRICS_REFRESH_INTERVAL_MS|METRICS_REFRESH_INTERVAL_MS[\s\S]*OTEL/u);
  });
});

describe('MONGODB_URI', () => {
  it('accepts what the driver accepts and scrubs credentials from what it refuses', () => {
    expect(describeMongoUriProblem('mongodb://db:27017/?replicaSet=rs0')).toBeNull();
    expect(describeMongoUriProblem('mongodb+srv://user:pw@cluster.example/')).toBeNull();
    expect(describeMongoUriProblem('redis://db')).toBe('must start with mongodb:// or mongodb+srv://');
    const problem = describeMongoUriProblem('mongodb://admin:S3cr%40t@db:port/');
    expect(problem).toMatch(/^not a valid MongoDB connection string: /u);
    for (const secret of ['S3cr%40t', 'S3cr@t', 'admin:']) expect(problem).not.toContain(secret);
  });
});

describe('overdue', () => {
  const now = new Date('2026-06-01T12:00:00.000Z');
  const due = (secondsAgo: number) => new Date(now.getTime() - secondsAgo * 1000);
  const state = { jobName: 'J', paused: false, nextRunAt: due(120), lastSuccessAt: null, running: false };

  it('is late beyond the threshold, not paused, not running, with something pending', () => {
    expect(isOverdue(state, now, 60_000)).toBe(true);
    expect(isOverdue({ ...state, nextRunAt: due(30) }, now, 60_000)).toBe(false);
    expect(isOverdue({ ...state, paused: true }, now, 60_000)).toBe(false);
    expect(isOverdue({ ...state, running: true }, now, 60_000)).toBe(false);
    expect(isOverdue({ ...state, nextRunAt: null }, now, 60_000)).toBe(false);
  });
});

describe('process guards', () => {
  it('logs a fatal error with its stack once, drains once, and exits 1', async () => {
    let text = '';
    const logger = createLogger({
      level: 'info',
      format: 'json',
      destination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          text += chunk.toString('utf8');
          callback();
        },
      }),
    });
    const target = new EventEmitter();
    const drains: string[] = [];
    const exited = new Promise<number>((resolveExit) => {
      installProcessGuards({
        logger,
        target,
        hardDeadlineMs: 10_000,
        drain: (reason) => {
          drains.push(reason);
          return Promise.resolve();
        },
        exit: resolveExit,
      });
    });
    target.emit('unhandledRejection', new Error('lost promise'));
    target.emit('uncaughtException', new Error('second fault'));
    expect(await exited).toBe(1);
    expect(drains).toEqual(['unhandledRejection']);
    const lines = text.trim().split('\n').map((line) => JSON.parse(line) as { level: number; kind: string; error: { stack: string } });
    expect(lines.map((line) => line.kind)).toEqual(['unhandledRejection', 'uncaughtException']);
    expect(lines[0]?.level).toBe(60);
    expect(lines[0]?.error.stack).toContain('units.test.ts');
  });
});

describe('supported servers', () => {
  const classify = (answer: Record<string, unknown>) => readServerBuild(() => Promise.resolve(answer));

  it('runs on MongoDB and on our FerretDB build', async () => {
    expect(findServerProblem(await classify({ version: '8.0.4', ok: 1 }))).toBeNull();
    const patched = await classify({ version: '7.0.77', ferretdbVersion: 'v1.24.2', ferretdbPatchLevel: 6, ferretdbPatchSeries: 'sha256:9e4ebdd6a5265728', ok: 1 });
    expect(findServerProblem(patched)).toBeNull();
    expect(describeServerBuild(patched)).toBe("FerretDB v1.24.2 (this project's build, patch level 6, sha256:9e4ebdd6a5265728)");
  });

  it('refuses a stock FerretDB (writes not atomic) and names what is supported', async () => {
    for (const answer of [{ version: '7.0.77', ferretdbVersion: 'v1.24.2', ok: 1 }, { version: '7.0.77', ferretdbVersion: 'v2.1.0', ferretdbPatchLevel: 0 }]) {
      const problem = findServerProblem(await classify(answer));
      expect(problem).toBeInstanceOf(UnsupportedServerError);
      expect(problem?.message).toMatch(/^the database server is FerretDB v\d\.\d+\.\d \(stock\), which does not apply a write to one document atomically/u);
      expect(problem?.message).toContain(`Supported: ${supportedServers}`);
    }
  });
});
