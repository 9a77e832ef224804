/**
 * In process, with the SDK's InMemorySpanExporter: telemetry starts BEFORE mongoose and
 * the driver are imported (as the CLI does), then the real worker runs its jobs.
 */
// First, as in the CLI: the driver instrumentation must precede mongoose.
import '../src/instrument.js';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfiguration } from '../src/config/worker-config.js';
import { createLogger } from '../src/logger.js';
import { startTelemetry, type Telemetry } from '../src/telemetry.js';
import { workerVersion } from '../src/version.js';
import type { RunningWorker } from '../src/worker.js';
import { Writable } from 'node:stream';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSmtpSink, type SmtpSink } from '../src/smtp-sink.js';

const adminPassword = 'InMemory-Admin-Password-7';
const instanceId = 'in-memory-instance-1';
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let worker: RunningWorker;
let logText = '';
let smtpSink: SmtpSink;
let collector: Server;
const collectedPaths: string[] = [];

beforeAll(async () => {
  smtpSink = await startSmtpSink();
  collector = createServer((request, response) => {
    collectedPaths.push(request.url ?? '');
    request.resume();
    request.on('end', () => response.end('{}'));
  });
  await new Promise<void>((resolveListen) => collector.listen(0, '127.0.0.1', () => resolveListen()));
  const { startWorker } = await import('../src/worker.js');
  const configuration = loadWorkerConfiguration({
    environment: {
      OTEL_SERVICE_NAME: 'worker-test',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      MONGODB_URI: process.env.MONGODB_URI,
      MONGODB_DATABASE: process.env.MONGODB_DATABASE,
      HTTP_PORT: '0',
      ADMIN_PASSWORD: adminPassword,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtpSink.port),
      SMTP_FROM: 'worker@example.test',
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
    },
  });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logText += chunk.toString('utf8');
      callback();
    },
  });
  const logger = createLogger({ level: 'debug', format: 'json', destination });
  telemetry = startTelemetry({
    settings: configuration.telemetry,
    serviceVersion: workerVersion,
    instanceId,
    logger,
    // Spans stay in memory here; the OTLP trace export is tested with a real process.
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  worker = await startWorker({ configuration, logger, telemetry, instanceId });
});

afterAll(async () => {
  await worker.shutdown('test done');
  await telemetry.shutdown();
  await smtpSink.close();
  await new Promise<void>((resolveClose) => collector.close(() => resolveClose()));
});

function findRunSpan(): ReadableSpan | undefined {
  return exporter
    .getFinishedSpans()
    .find((span) => span.name === 'job.run' && span.attributes['job.name'] === 'RefreshTokenCleanupJob');
}

describe('telemetry in process', () => {
  it('exports a job.run span with job attributes and a mongodb child span, without secrets', async () => {
    const deadline = Date.now() + 30_000;
    while (findRunSpan() === undefined && Date.now() < deadline) {
      await new Promise((resolveSleep) => setTimeout(resolveSleep, 200));
    }
    const runSpan = findRunSpan();
    expect(runSpan).toBeDefined();
    if (runSpan === undefined) return;
    expect(runSpan.attributes).toMatchObject({
      'job.name': 'RefreshTokenCleanupJob',
      'job.attempt': 1,
      'job.outcome': 'succeeded',
      'job.result.deletedRefreshTokens': 0,
    });
    expect(typeof runSpan.attributes['job.occurrence_at']).toBe('string');
    expect(typeof runSpan.attributes['job.run_id']).toBe('string');
    expect(runSpan.resource.attributes).toMatchObject({
      'service.name': 'worker-test',
      'service.version': workerVersion,
      'service.instance.id': instanceId,
    });
    expect(worker.context.runtime.identity.instanceId).toBe(instanceId);

    const runSpanId = runSpan.spanContext().spanId;
    const children = exporter
      .getFinishedSpans()
      .filter((span) => span.parentSpanContext?.spanId === runSpanId);
    const mongoChild = children.find((span) => span.attributes['db.system'] === 'mongodb' || span.attributes['db.system.name'] === 'mongodb');
    expect(mongoChild, `children: ${children.map((span) => span.name).join(', ')}`).toBeDefined();
    expect(mongoChild?.spanContext().traceId).toBe(runSpan.spanContext().traceId);

    const everything = JSON.stringify(
      exporter.getFinishedSpans().map((span) => ({ name: span.name, attributes: span.attributes, events: span.events })),
    );
    expect(everything).not.toContain(adminPassword);
    expect(logText).not.toContain(adminPassword);
    expect(logText).toContain('"jobName":"RefreshTokenCleanupJob"');
  });

  it('serves the run metrics and readiness through the worker', async () => {
    expect(await worker.readiness()).toEqual({ ready: true, checks: { database: true, scheduler: true } });
    const response = await fetch(`http://127.0.0.1:${worker.http.port}/metrics`);
    const text = await response.text();
    expect(text).toMatch(/job_runs_total\{[^}]*job_name="RefreshTokenCleanupJob"/u);
    expect(text).toContain('job_schedule_lag');
    expect(text).toMatch(/email_queue_depth\{[^}]*email_status="pending"[^}]*\} 0/u);
    const rows = await worker.context.listJobRows();
    expect(rows.map((row) => [row.job, row.enabled])).toEqual([
      ['EmailQueueProcessJob', true],
      ['IpAnonymizationJob', false],
      ['LogCleanupJob', true],
      ['RefreshTokenCleanupJob', true],
    ]);
  });

  it('exports metrics to the OTLP endpoint when one is configured', async () => {
    await telemetry.flush();
    expect(telemetry.exporting).toBe(true);
    expect(telemetry.exporters).toEqual({ traces: ['test'], metrics: ['prometheus', 'otlp'] });
    expect(collectedPaths).toContain('/v1/metrics');
  });
});
