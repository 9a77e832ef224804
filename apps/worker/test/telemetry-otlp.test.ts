/**
 * End to end: the built worker exports its spans over OTLP/HTTP (JSON) to a receiver on
 * loopback, and only because OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testDatabaseName } from '@app/mongo-local/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnvironment, spawnWorker, waitUntil } from './support/worker-process.js';

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}
interface OtlpSpan {
  name: string;
  spanId: string;
  parentSpanId?: string;
  traceId: string;
  attributes: OtlpAttribute[];
}
interface OtlpTraceRequest {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

const received: { path: string; body: string; contentType: string }[] = [];
let receiver: Server;
let receiverPort: number;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        contentType: request.headers['content-type'] ?? '',
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolveListen) => receiver.listen(0, '127.0.0.1', () => resolveListen()));
  receiverPort = (receiver.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolveClose) => receiver.close(() => resolveClose()));
});

function spansOf(): { spans: OtlpSpan[]; resources: OtlpAttribute[][] } {
  const spans: OtlpSpan[] = [];
  const resources: OtlpAttribute[][] = [];
  for (const request of received.filter((entry) => entry.path === '/v1/traces' && entry.contentType.includes('json'))) {
    const parsed = JSON.parse(request.body) as OtlpTraceRequest;
    for (const resourceSpan of parsed.resourceSpans) {
      resources.push(resourceSpan.resource.attributes);
      for (const scope of resourceSpan.scopeSpans) spans.push(...scope.spans);
    }
  }
  return { spans, resources };
}

function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes.find((entry) => entry.key === key)?.value;
  return value?.stringValue ?? value?.intValue ?? value?.boolValue;
}

describe('OTLP/HTTP export', () => {
  it('sends job.run spans with a mongodb child span and no secret to the configured endpoint', async () => {
    const worker = await spawnWorker({
      ...baseEnvironment(`${testDatabaseName()}_otlp`),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
      // JSON so the test can read the payload; the default (protobuf) is the next test's.
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'worker-otlp-test',
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      JOBS_LOG_CLEANUP_ENABLED: 'false',
      SMTP_PASSWORD: 'never-exported-smtp-secret',
      SMTP_USER: 'mailer',
      SMTP_HOST: '127.0.0.1',
      SMTP_FROM: 'jobs@example.test',
    });
    try {
      await worker.waitForLog((line) => line.msg === 'worker ready');
      const runSpan = await waitUntil(
        async () => Promise.resolve(spansOf().spans.find((span) => span.name === 'job.run')),
        30_000,
        'a job.run span at the receiver',
      );
      expect(attribute(runSpan, 'job.name')).toBe('RefreshTokenCleanupJob');
      expect(attribute(runSpan, 'job.outcome')).toBe('succeeded');
      expect(Number(attribute(runSpan, 'job.attempt'))).toBe(1);
      expect(attribute(runSpan, 'job.occurrence_at')).toMatch(/^\d{4}-\d\d-\d\dT/u);
      expect(Number(attribute(runSpan, 'job.result.deletedRefreshTokens'))).toBe(0);
      const child = await waitUntil(
        async () =>
          Promise.resolve(
            spansOf().spans.find(
              (span) => span.parentSpanId === runSpan.spanId && String(attribute(span, 'db.system') ?? attribute(span, 'db.system.name')) === 'mongodb',
            ),
          ),
        15_000,
        'a mongodb child span',
      );
      expect(child.traceId).toBe(runSpan.traceId);
      expect(spansOf().resources[0]).toContainEqual({ key: 'service.name', value: { stringValue: 'worker-otlp-test' } });
      const allPayloads = received.map((entry) => entry.body).join('\n');
      expect(allPayloads).not.toContain('E2e-Admin-Password-42');
      expect(allPayloads).not.toContain('never-exported-smtp-secret');
    } finally {
      worker.child.kill('SIGTERM');
      expect((await worker.waitForExit(15_000)).code).toBe(0);
    }
  }, 90_000);

  it('exports over OTLP/HTTP with protobuf by default, as the specification says', async () => {
    const worker = await spawnWorker({
      ...baseEnvironment(`${testDatabaseName()}_otlp_protobuf`),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      JOBS_LOG_CLEANUP_ENABLED: 'false',
    });
    try {
      const ready = await worker.waitForLog((line) => line.msg === 'worker ready');
      expect(ready.telemetryExporters).toEqual({ traces: ['otlp'], metrics: ['prometheus', 'otlp'] });
      for (const path of ['/v1/traces', '/v1/metrics']) {
        const request = await waitUntil(
          () => Promise.resolve(received.find((entry) => entry.path === path && !entry.contentType.includes('json'))),
          20_000,
          `a protobuf request to ${path}`,
        );
        expect(request.contentType).toBe('application/x-protobuf');
      }
    } finally {
      worker.child.kill('SIGTERM');
      expect((await worker.waitForExit(15_000)).code).toBe(0);
    }
  }, 60_000);

  it('sends nothing when no endpoint is configured', async () => {
    const before = received.length;
    const worker = await spawnWorker({
      ...baseEnvironment(`${testDatabaseName()}_nootlp`),
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      JOBS_LOG_CLEANUP_ENABLED: 'false',
    });
    await worker.waitForLog((line) => line.msg === 'worker ready');
    await worker.waitForLog((line) => line.msg === 'job run succeeded');
    worker.child.kill('SIGTERM');
    expect((await worker.waitForExit(15_000)).code).toBe(0);
    const ready = worker.lines.find((line) => line.msg === 'worker ready');
    expect(ready?.telemetryExport).toBe(false);
    expect(received.length).toBe(before);
  }, 60_000);
});
