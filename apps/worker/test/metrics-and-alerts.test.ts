/**
 * The built worker as real processes, exporting to a real OTLP/HTTP receiver on loopback:
 * metric names, units and buckets on /metrics and in the OTLP payload, the resource
 * (service.version, service.instance.id), a failed run's log line (stack, trace id of its
 * exported span), and the alert gauges built from real cluster state (a paused job past its
 * slot is paused, not overdue; a due job nobody runs is overdue until a worker takes it).
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJobRunModel } from '@app/logging';
import { testDatabaseName, testMongoUri } from '@app/mongo-local/testing';
import { runDurationBucketsSeconds } from '@app/scheduler-agenda';
import mongoose, { type Connection } from 'mongoose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { workerVersion } from '../src/version.js';
import {
  attributeValue,
  parsePrometheus,
  prometheusUnit,
  sampleValue,
  startOtlpReceiver,
  type OtlpReceiver,
} from './support/telemetry-receiver.js';
import { baseEnvironment, runCli, spawnWorker, waitUntil, type WorkerProcess } from './support/worker-process.js';

let receiver: OtlpReceiver;
const started: WorkerProcess[] = [];
const connections: Connection[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'worker-metrics-'));

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});

afterEach(async () => {
  for (const worker of started.splice(0)) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGKILL');
      await worker.waitForExit(10_000).catch(() => undefined);
    }
  }
});

afterAll(async () => {
  for (const connection of connections) await connection.close();
  await receiver.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function launch(environment: Record<string, string>): Promise<WorkerProcess> {
  const worker = await spawnWorker(environment);
  started.push(worker);
  return worker;
}

async function scrape(worker: WorkerProcess): Promise<string> {
  const response = await fetch(worker.url('/metrics'));
  expect(response.status).toBe(200);
  return response.text();
}

describe('metrics', () => {
  it('serves and exports job metrics in seconds with buckets to an hour, units on counters, the resource and runtime metrics', async () => {
    const notADirectory = join(scratch, 'not-a-directory.log');
    writeFileSync(notADirectory, 'a file where the log directory should be\n');
    const worker = await launch({
      ...baseEnvironment(`${testDatabaseName()}_metrics`),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_SERVICE_NAME: 'worker-metrics-test',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test',
      METRICS_REFRESH_INTERVAL_MS: '300',
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      // LogCleanupJob fails: its log directory is a file.
      JOBS_LOG_CLEANUP_LOG_DIRECTORY: notADirectory,
    });
    const ready = await worker.waitForLog((line) => line.msg === 'worker ready');
    expect(ready.version).toBe(workerVersion);
    const instanceId = String(ready.instanceId);
    expect(instanceId).toMatch(/^[0-9a-f-]{36}$/u);

    // A failed run's log line: the error with its stack, the trace and span ids of the run.
    const failed = await worker.waitForLog((line) => line.msg === 'job run failed' && line.jobName === 'LogCleanupJob');
    const error = failed.error as { name: string; message: string; stack: string };
    expect(error.message).toContain('ENOTDIR');
    expect(error.stack).toContain('ENOTDIR');
    expect(failed.trace_id).toMatch(/^[0-9a-f]{32}$/u);
    expect(failed.span_id).toMatch(/^[0-9a-f]{16}$/u);
    const failedSpan = await waitUntil(
      () => Promise.resolve(receiver.spans().find((span) => span.traceId === failed.trace_id && span.name === 'job.run')),
      20_000,
      'the failed run span at the receiver',
    );
    expect(failedSpan.spanId).toBe(failed.span_id);
    expect(attributeValue(failedSpan.attributes, 'job.outcome')).toBe('failed');

    // Prometheus: names, units, buckets.
    const text = await waitUntil(
      async () => {
        const body = await scrape(worker);
        return body.includes('job_run_duration_bucket{job_name="RefreshTokenCleanupJob"') ? body : undefined;
      },
      20_000,
      'a run duration on /metrics',
    );
    const samples = parsePrometheus(text);
    expect(prometheusUnit(text, 'job_run_duration')).toBe('s');
    expect(prometheusUnit(text, 'job_schedule_lag')).toBe('s');
    expect(prometheusUnit(text, 'job_runs_total')).toBe('{run}');
    expect(prometheusUnit(text, 'job_active_runs')).toBe('{run}');
    const bounds = samples
      .filter((sample) => sample.name === 'job_run_duration_bucket' && sample.labels.job_name === 'LogCleanupJob')
      .map((sample) => sample.labels.le);
    expect(bounds).toEqual([...runDurationBucketsSeconds.map(String), '+Inf']);
    expect(sampleValue(samples, 'job_runs_total', { job_name: 'LogCleanupJob', job_outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    // A run of this job took well under a second: recorded in seconds, not milliseconds.
    expect(sampleValue(samples, 'job_run_duration_sum', { job_name: 'RefreshTokenCleanupJob' })).toBeLessThan(5);
    expect(sampleValue(samples, 'job_active_runs', { job_name: 'RefreshTokenCleanupJob' })).toBe(0);
    expect(sampleValue(samples, 'target_info')).toBe(1);
    const target = samples.find((sample) => sample.name === 'target_info')!.labels;
    expect(target).toMatchObject({
      service_name: 'worker-metrics-test',
      service_version: workerVersion,
      service_instance_id: instanceId,
      deployment_environment_name: 'test',
    });
    expect(target.host_name).toBeDefined();
    expect(target.process_pid).toBe(String(worker.child.pid));
    // Node.js runtime metrics.
    expect(sampleValue(samples, 'nodejs_eventloop_delay_p99')).toBeGreaterThanOrEqual(0);
    expect(samples.some((sample) => sample.name === 'v8js_memory_heap_used')).toBe(true);
    // Cluster gauges (read in the background).
    await waitUntil(
      async () => (sampleValue(parsePrometheus(await scrape(worker)), 'job_last_success_timestamp', { job_name: 'RefreshTokenCleanupJob' }) === undefined ? undefined : true),
      10_000,
      'job_last_success_timestamp',
    );
    expect(prometheusUnit(await scrape(worker), 'job_last_success_timestamp')).toBe('s');

    // OTLP: the same instruments with their units and bounds, and the resource.
    const exported = await waitUntil(
      () => {
        const all = receiver.metrics().filter(({ resource }) => attributeValue(resource, 'service.instance.id') === instanceId);
        const names = new Set(all.map(({ metric }) => metric.name));
        return Promise.resolve(
          ['job.run.duration', 'job.runs', 'job.last_success.timestamp', 'job.overdue', 'email.queue.depth', 'nodejs.eventloop.delay.p99'].every((name) =>
            names.has(name),
          )
            ? all
            : undefined,
        );
      },
      20_000,
      'the metrics at the OTLP receiver',
    );
    const byName = (name: string) => exported.find(({ metric }) => metric.name === name)!;
    const duration = byName('job.run.duration');
    expect(duration.metric.unit).toBe('s');
    expect(duration.metric.histogram?.dataPoints[0]?.explicitBounds).toEqual([...runDurationBucketsSeconds]);
    expect(byName('job.runs').metric.unit).toBe('{run}');
    expect(byName('job.schedule.lag').metric.unit).toBe('s');
    expect(byName('job.last_success.timestamp').metric.unit).toBe('s');
    expect(byName('job.overdue').metric.unit).toBe('{job}');
    expect(byName('email.queue.depth').metric.unit).toBe('{email}');
    expect(attributeValue(byName('email.queue.depth').metric.gauge?.dataPoints[0]?.attributes, 'email.status')).toBeDefined();
    expect(attributeValue(duration.resource, 'service.version')).toBe(workerVersion);
    expect(attributeValue(duration.resource, 'service.name')).toBe('worker-metrics-test');

    worker.child.kill('SIGTERM');
    expect((await worker.waitForExit(15_000)).code).toBe(0);
  }, 120_000);
});

describe('alert gauges', () => {
  it('reports a paused job past its slot as paused, a due job nobody runs as overdue, and clears it once a worker runs it', async () => {
    const databaseName = `${testDatabaseName()}_alerts`;
    const connection = await mongoose.createConnection(testMongoUri(), { dbName: databaseName }).asPromise();
    connections.push(connection);
    const job = 'IpAnonymizationJob';
    const common = {
      ...baseEnvironment(databaseName),
      JOBS_LOG_CLEANUP_ENABLED: 'false',
      JOBS_IP_ANONYMIZATION_SCHEDULE: '1500ms',
    };
    // The observer does not run the job (disabled here), so the job's state is the cluster's.
    const observer = await launch({
      ...common,
      JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      METRICS_REFRESH_INTERVAL_MS: '250',
      METRICS_OVERDUE_THRESHOLD_MS: '1000',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRIC_EXPORT_INTERVAL: '500',
      OTEL_TRACES_EXPORTER: 'none',
    });
    const observerReady = await observer.waitForLog((line) => line.msg === 'worker ready');
    const gauges = async () => {
      const samples = parsePrometheus(await scrape(observer));
      return {
        lastSuccess: sampleValue(samples, 'job_last_success_timestamp', { job_name: job }),
        nextRun: sampleValue(samples, 'job_next_run_timestamp', { job_name: job }),
        overdue: sampleValue(samples, 'job_overdue', { job_name: job }),
        paused: sampleValue(samples, 'job_paused', { job_name: job }),
      };
    };

    // A replica that runs the job; its first run succeeds.
    const runner = await launch(common);
    await runner.waitForLog((line) => line.msg === 'worker ready');
    const runs = getJobRunModel(connection);
    const firstRun = await waitUntil(
      async () => (await runs.findOne({ jobName: job, status: 'succeeded' }).lean()) ?? undefined,
      30_000,
      'the first run of the job',
    );
    const reported = await waitUntil(async () => {
      const current = await gauges();
      return current.lastSuccess === undefined ? undefined : current;
    }, 10_000, 'the last success on the observer');
    expect(reported.lastSuccess! * 1000).toBeGreaterThanOrEqual(firstRun.finishedAt!.getTime());
    expect(reported).toMatchObject({ overdue: 0, paused: 0 });

    // Every replica that runs the job stops; an operator pauses it.
    runner.child.kill('SIGTERM');
    expect((await runner.waitForExit(15_000)).code).toBe(0);
    const paused = await runCli(common, ['jobs', 'pause', job, '--json']);
    expect(paused).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(paused.stdout)).toEqual({ job, action: 'pause', paused: true });

    // Paused past its slot (late by more than the threshold): paused, not overdue.
    const pastSlot = await waitUntil(async () => {
      const current = await gauges();
      return current.paused === 1 && current.nextRun !== undefined && Date.now() / 1000 - current.nextRun > 1.5 ? current : undefined;
    }, 20_000, 'the paused job past its slot');
    expect(pastSlot.overdue).toBe(0);

    // Resumed with nobody to run it: overdue.
    const resumed = await runCli(common, ['jobs', 'resume', job, '--json']);
    expect(JSON.parse(resumed.stdout)).toEqual({ job, action: 'resume', paused: false });
    const late = await waitUntil(async () => {
      const current = await gauges();
      return current.overdue === 1 ? current : undefined;
    }, 10_000, 'the overdue job');
    expect(late.paused).toBe(0);
    expect(Date.now() / 1000 - late.nextRun!).toBeGreaterThan(1);
    // The OTLP payload carries the same gauge from the observer.
    await waitUntil(
      () =>
        Promise.resolve(
          receiver
            .metrics()
            .some(
              ({ metric, resource }) =>
                metric.name === 'job.overdue' &&
                attributeValue(resource, 'service.instance.id') === observerReady.instanceId &&
                metric.gauge?.dataPoints.some(
                  (point) => attributeValue(point.attributes, 'job.name') === job && (point.asInt ?? point.asDouble) == 1,
                ),
            )
            ? true
            : undefined,
        ),
      10_000,
      'job.overdue = 1 in the OTLP payload',
    );

    // A worker that runs the job comes back: it runs the late occurrence, and the alert clears.
    const successesBefore = await runs.countDocuments({ jobName: job, status: 'succeeded' });
    const rescuer = await launch(common);
    await rescuer.waitForLog((line) => line.msg === 'worker ready');
    const cleared = await waitUntil(async () => {
      const current = await gauges();
      return current.overdue === 0 && current.lastSuccess !== undefined && current.lastSuccess > reported.lastSuccess! ? current : undefined;
    }, 30_000, 'the overdue alert to clear');
    expect(cleared.paused).toBe(0);
    expect(await runs.countDocuments({ jobName: job, status: 'succeeded' })).toBeGreaterThan(successesBefore);
  }, 150_000);
});
