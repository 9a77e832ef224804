import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultLeaseTimeoutMs, resolveRuntimeSettings } from '@app/scheduler-agenda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  coerceEnvironmentValue,
  readEnvironment,
  toEnvironmentSuffix,
  valueKindOf,
  type SettingsSection,
} from '../src/config/env-mapping.js';
import { ConfigurationError, deepMerge, loadConfiguration, buildConfigurationSchema } from '../src/config/load.js';
import { redactConfiguration } from '../src/config/redact.js';
import { resolveMaxPoolSize } from '../src/config/mongo-uri.js';
import { describeDefault, environmentReference, formatEnvironmentReference } from '../src/config/reference.js';
import { leaseTimeoutLimitsMs, leaseTimeoutMsOf } from '../src/config/schema.js';
import { loadWorkerConfiguration, settingsSections } from '../src/config/worker-config.js';

function captureConfigurationError(action: () => unknown): ConfigurationError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

const temporaryDirectory = mkdtempSync(join(tmpdir(), 'worker-config-'));

describe('environment mapping', () => {
  it('turns camelCase fields into SCREAMING_SNAKE suffixes', () => {
    expect(toEnvironmentSuffix('intervalHours')).toBe('INTERVAL_HOURS');
    expect(toEnvironmentSuffix('requireTls')).toBe('REQUIRE_TLS');
    expect(toEnvironmentSuffix('enabled')).toBe('ENABLED');
    expect(toEnvironmentSuffix('smtpURLValue')).toBe('SMTP_URL_VALUE');
  });

  it('finds the value kind through wrappers', () => {
    expect(valueKindOf(z.number().int().default(3))).toBe('number');
    expect(valueKindOf(z.boolean().optional())).toBe('boolean');
    expect(valueKindOf(z.string().trim().pipe(z.email()).default('a@b.cd'))).toBe('string');
    expect(valueKindOf(z.array(z.string()).default([]))).toBe('array');
    expect(valueKindOf(z.object({}).nullable())).toBe('object');
    expect(valueKindOf(z.enum(['a', 'b']))).toBe('string');
    expect(valueKindOf(z.date())).toBe('unknown');
    expect(valueKindOf('not a schema')).toBe('unknown');
  });

  it('coerces strings to the expected kind and leaves unconvertible text for the schema to reject', () => {
    expect(coerceEnvironmentValue(' 42 ', 'number')).toBe(42);
    expect(coerceEnvironmentValue('forty', 'number')).toBe('forty');
    expect(coerceEnvironmentValue('', 'number')).toBe('');
    expect(coerceEnvironmentValue('YES', 'boolean')).toBe(true);
    expect(coerceEnvironmentValue('off', 'boolean')).toBe(false);
    expect(coerceEnvironmentValue('maybe', 'boolean')).toBe('maybe');
    expect(coerceEnvironmentValue('Admin, Ops,', 'array')).toEqual(['Admin', 'Ops']);
    expect(coerceEnvironmentValue('["x"]', 'array')).toEqual(['x']);
    expect(coerceEnvironmentValue('', 'array')).toEqual([]);
    expect(coerceEnvironmentValue('{"a":1}', 'object')).toEqual({ a: 1 });
    expect(coerceEnvironmentValue('{bad', 'object')).toBe('{bad');
    expect(coerceEnvironmentValue('text', 'string')).toBe('text');
  });

  const section: SettingsSection = {
    path: 'jobs.sample',
    environmentPrefix: 'JOBS_SAMPLE_',
    schema: z.object({ intervalHours: z.number().int().min(1).default(24), secretToken: z.string().optional() }).strict(),
    description: 'sample',
    retiredKeys: [{ suffix: 'INTERVAL_MS', replacement: 'set JOBS_SAMPLE_SCHEDULE' }],
  };
  // A second section under the same prefix (a job's timing keys next to its settings).
  const sampleTiming: SettingsSection = {
    path: 'timing.sample',
    environmentPrefix: 'JOBS_SAMPLE_',
    schema: z.strictObject({ schedule: z.string().optional() }),
    description: 'sample timing',
  };

  it('reads section fields of sections sharing a prefix, NAME_FILE secrets, and flags unknown and retired names', () => {
    const secretFile = join(temporaryDirectory, 'token.txt');
    writeFileSync(secretFile, 's3cret\n');
    const result = readEnvironment(
      {
        JOBS_SAMPLE_INTERVAL_HOURS: '5',
        JOBS_SAMPLE_SCHEDULE: '0 3 * * *',
        JOBS_SAMPLE_SECRET_TOKEN_FILE: secretFile,
        JOBS_SAMPLE_INTERVL_HOURS: '3',
        JOBS_SAMPLE_INTERVAL_MS: '1500',
        UNRELATED: 'x',
      },
      [section, sampleTiming],
    );
    expect(result.values).toEqual({
      jobs: { sample: { intervalHours: 5, secretToken: 's3cret' } },
      timing: { sample: { schedule: '0 3 * * *' } },
    });
    expect(result.sourceByPath.get('jobs.sample.secretToken')).toBe('JOBS_SAMPLE_SECRET_TOKEN_FILE');
    expect(result.problems).toEqual([
      {
        key: 'JOBS_SAMPLE_INTERVL_HOURS',
        message: 'unknown setting; JOBS_SAMPLE_* accepts JOBS_SAMPLE_INTERVAL_HOURS, JOBS_SAMPLE_SECRET_TOKEN, JOBS_SAMPLE_SCHEDULE',
      },
      { key: 'JOBS_SAMPLE_INTERVAL_MS', message: 'no longer read: set JOBS_SAMPLE_SCHEDULE' },
    ]);
  });

  it('reports a missing NAME_FILE and a NAME set together with NAME_FILE', () => {
    const result = readEnvironment(
      {
        JOBS_SAMPLE_SECRET_TOKEN_FILE: join(temporaryDirectory, 'missing.txt'),
        MONGODB_URI: 'mongodb://a',
        MONGODB_URI_FILE: join(temporaryDirectory, 'x'),
      },
      [section],
    );
    expect(result.problems.map((problem) => problem.key).sort()).toEqual([
      'JOBS_SAMPLE_SECRET_TOKEN_FILE',
      'MONGODB_URI',
    ]);
    expect(result.problems.find((problem) => problem.key === 'JOBS_SAMPLE_SECRET_TOKEN_FILE')?.message).toContain(
      'ENOENT',
    );
  });

  it('merges objects key by key with the override winning', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2] })).toEqual({ a: { b: 1, c: 3 }, d: [2] });
  });

  it('validates a generic schema and names the environment key of each problem', () => {
    const schema = buildConfigurationSchema([section]);
    const error = captureConfigurationError(() =>
      loadConfiguration({ environment: { JOBS_SAMPLE_INTERVAL_HOURS: '0', HTTP_PORT: 'eighty' }, sections: [section], schema }),
    );
    expect(error.problems.map((problem) => problem.key).sort()).toEqual(['HTTP_PORT', 'JOBS_SAMPLE_INTERVAL_HOURS']);
  });
});

describe('worker configuration', () => {
  it('gives every default from an empty environment', () => {
    const configuration = loadWorkerConfiguration({ environment: { JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_PASSWORD: 'pw' } });
    expect(configuration.mongodb.database).toBe('background_jobs');
    expect(configuration.mongodb.uri).toBeUndefined();
    expect(configuration.backgroundJobsEnabled).toBe(true);
    expect(configuration.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(configuration.shutdownDeadlineMs).toBe(30_000);
    expect(configuration.logLevel).toBe('info');
    expect(configuration.telemetry.otlpEndpoint).toBeUndefined();
    expect(configuration.telemetry.serviceName).toBe('background-jobs-worker');
    // The seed's interval settings are aliases without a default: the module's schedule applies.
    expect(configuration.jobs.refreshTokenCleanup?.intervalHours).toBeUndefined();
    expect(configuration.resolvedTiming.refreshTokenCleanup).toEqual({
      timing: { schedule: { kind: 'interval', everyMs: 24 * 3_600_000 }, misfire: { kind: 'once' } },
      retry: { maxAttempts: 3, initialDelayMs: 60_000, maxDelayMs: 900_000 },
    });
    expect(configuration.resolvedTiming.ipAnonymization?.timing.schedule).toEqual({ kind: 'interval', everyMs: 7 * 86_400_000 });
    expect(configuration.resolvedTiming.emailQueue?.timing.schedule).toEqual({ kind: 'interval', everyMs: 10_000 });
    expect(configuration.resolvedTiming.logCleanup?.retry).toEqual({ maxAttempts: 3, initialDelayMs: 300_000, maxDelayMs: 3_600_000 });
    expect(configuration.adminSeeder.enabled).toBe(true);
  });

  it('maps the documented environment variables', () => {
    const configuration = loadWorkerConfiguration({
      environment: {
        MONGODB_URI: 'mongodb://user:pw@db:27017/?replicaSet=rs0',
        MONGODB_DATABASE: 'jobs_db',
        BACKGROUND_JOBS_ENABLED: 'false',
        JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_HOURS: '12',
        JOBS_LOG_CLEANUP_SCHEDULE: '30 2 * * *',
        JOBS_LOG_CLEANUP_TIME_ZONE: 'Europe/Berlin',
        JOBS_LOG_CLEANUP_MISFIRE: 'catch-up:2d:3',
        JOBS_LOG_CLEANUP_RETRY_MAX_ATTEMPTS: '5',
        JOBS_LOG_CLEANUP_RETRY_INITIAL_DELAY: '30s',
        JOBS_LOG_CLEANUP_RETRY_MAX_DELAY: '10m',
        JOBS_IP_ANONYMIZATION_ENABLED: 'no',
        ADMIN_PASSWORD: 'Very-Secret-1',
        ADMIN_ROLES: 'Admin,Ops',
        HTTP_PORT: '0',
        HTTP_HOST: '0.0.0.0',
        SHUTDOWN_DEADLINE_MS: '5000',
        LOG_LEVEL: 'debug',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        OTEL_SERVICE_NAME: 'jobs',
        SMTP_HOST: 'mail.example.test',
        SMTP_FROM: 'jobs@example.test',
        SMTP_USER: 'mailer',
        SMTP_PASSWORD: 'smtp-secret',
        JOBS_EMAIL_QUEUE_PROCESSING_INTERVAL_SECONDS: '5',
        JOBS_LOG_CLEANUP_RETENTION_DAYS: '10',
      },
    });
    expect(configuration.mongodb.database).toBe('jobs_db');
    expect(configuration.backgroundJobsEnabled).toBe(false);
    expect(configuration.jobs.refreshTokenCleanup?.intervalHours).toBe(12);
    expect(configuration.resolvedTiming.refreshTokenCleanup?.timing.schedule).toEqual({ kind: 'interval', everyMs: 12 * 3_600_000 });
    expect(configuration.resolvedTiming.logCleanup).toEqual({
      timing: {
        schedule: { kind: 'cron', expression: '30 2 * * *', timeZone: 'Europe/Berlin' },
        misfire: { kind: 'catch-up', windowMs: 2 * 86_400_000, maxRuns: 3 },
      },
      retry: { maxAttempts: 5, initialDelayMs: 30_000, maxDelayMs: 600_000 },
    });
    expect(configuration.jobs.ipAnonymization?.enabled).toBe(false);
    expect(configuration.adminSeeder.password).toBe('Very-Secret-1');
    expect(configuration.adminSeeder.roles).toEqual(['Admin', 'Ops']);
    expect(configuration.http).toEqual({ host: '0.0.0.0', port: 0 });
    expect(configuration.shutdownDeadlineMs).toBe(5000);
    expect(configuration.logLevel).toBe('debug');
    expect(configuration.telemetry).toMatchObject({ otlpEndpoint: 'http://127.0.0.1:4318', serviceName: 'jobs' });
    expect(configuration.smtp).toMatchObject({ host: 'mail.example.test', port: 587, user: 'mailer' });
    expect(configuration.jobs.emailQueue?.processingIntervalSeconds).toBe(5);
    expect(configuration.resolvedTiming.emailQueue?.timing.schedule).toEqual({ kind: 'interval', everyMs: 5000 });
    expect(configuration.jobs.logCleanup?.retentionDays).toBe(10);
  });

  it('requires SMTP only while the email queue job is enabled', () => {
    const error = captureConfigurationError(() => loadWorkerConfiguration({ environment: {} }));
    expect(error.problems.map((problem) => problem.key)).toEqual(['SMTP_HOST', 'SMTP_FROM', 'ADMIN_PASSWORD']);
    expect(loadWorkerConfiguration({ environment: { BACKGROUND_JOBS_ENABLED: 'false', ADMIN_ENABLED: 'false' } }).smtp).toBeUndefined();
    const partial = captureConfigurationError(() => loadWorkerConfiguration({ environment: { SMTP_HOST: 'mail', ADMIN_PASSWORD: 'pw' } }));
    expect(partial.problems.map((problem) => `${problem.key}: ${problem.message}`)).toEqual(['SMTP_FROM (smtp.from): required'.replace(' (smtp.from)', '')]);
  });

  it('reads ADMIN_PASSWORD_FILE as the seeder passwordFile setting, not as a file variant', () => {
    const configuration = loadWorkerConfiguration({
      environment: { ADMIN_PASSWORD_FILE: '/run/secrets/admin_password', JOBS_EMAIL_QUEUE_ENABLED: 'false' },
    });
    expect(configuration.adminSeeder.passwordFile).toBe('/run/secrets/admin_password');
    expect(configuration.adminSeeder.password).toBeUndefined();
  });

  it('lets the environment override the JSON file', () => {
    const file = join(temporaryDirectory, 'worker.json');
    writeFileSync(
      file,
      JSON.stringify({ mongodb: { database: 'from_file' }, http: { port: 9000 }, jobs: { ipAnonymization: { intervalDays: 3 } } }),
    );
    const configuration = loadWorkerConfiguration({ configFile: file, environment: { HTTP_PORT: '9100', JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' } });
    expect(configuration.mongodb.database).toBe('from_file');
    expect(configuration.http.port).toBe(9100);
    expect(configuration.jobs.ipAnonymization?.intervalDays).toBe(3);
    const viaEnvironment = loadWorkerConfiguration({ environment: { WORKER_CONFIG_FILE: file, JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' } });
    expect(viaEnvironment.http.port).toBe(9000);
  });

  it('rejects unknown keys in the file at every level', () => {
    const file = join(temporaryDirectory, 'typo.json');
    writeFileSync(file, JSON.stringify({ mongdb: { database: 'x' }, http: { prot: 1 }, jobs: { logCleanup: { retentionDayz: 3 } } }));
    const error = captureConfigurationError(() =>
      loadWorkerConfiguration({ configFile: file, environment: { JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' } }),
    );
    expect(error.problems.map((problem) => problem.key).sort()).toEqual(['http.prot', 'jobs.logCleanup.retentionDayz', 'mongdb']);
    expect(error.message).toContain('  - http.prot: unknown key (configuration file)');
  });

  it('reports an unreadable, non-JSON or non-object file', () => {
    const notJson = join(temporaryDirectory, 'bad.json');
    writeFileSync(notJson, '{ nope');
    const arrayFile = join(temporaryDirectory, 'array.json');
    writeFileSync(arrayFile, '[1]');
    for (const [path, reason] of [
      [join(temporaryDirectory, 'absent.json'), 'ENOENT'],
      [notJson, 'not valid JSON'],
      [arrayFile, 'JSON object'],
    ] as const) {
      const error = captureConfigurationError(() =>
        loadWorkerConfiguration({ configFile: path, environment: { JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' } }),
      );
      expect(error.problems[0]?.key).toBe('WORKER_CONFIG_FILE');
      expect(error.message).toContain(reason);
    }
  });

  it('lists EVERY bad key with its reason in one error, and never a secret value', () => {
    const error = captureConfigurationError(() =>
      loadWorkerConfiguration({
        environment: {
          MONGODB_URI: 'postgres://admin:hunter2@db',
          HTTP_PORT: '99999',
          SHUTDOWN_DEADLINE_MS: 'soon',
          LOG_LEVEL: 'loud',
          BACKGROUND_JOBS_ENABLED: 'perhaps',
          OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url',
          JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_HOURS: '-1',
          JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_MS: '5',
          JOBS_EMAIL_QUEUE_SCHEDULE: '10 parsecs',
          JOBS_IP_ANONYMIZATION_RETENTON_DAYS: '30',
          ADMIN_EMAIL: 'not-an-email',
          ADMIN_PASSWORD: 'hunter2',
          ADMIN_PASSWORD_FILE: '/run/secrets/pw',
          SMTP_HOST: 'mail',
          SMTP_FROM: 'jobs@example.test',
          SMTP_PASSWORD: 'hunter2',
        },
      }),
    );
    const keys = error.problems.map((problem) => problem.key).sort();
    expect(keys).toEqual(
      [
        'ADMIN_EMAIL',
        'ADMIN_PASSWORD_FILE',
        'BACKGROUND_JOBS_ENABLED',
        'HTTP_PORT',
        'JOBS_IP_ANONYMIZATION_RETENTON_DAYS',
        'JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_HOURS',
        'JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_MS',
        'JOBS_EMAIL_QUEUE_SCHEDULE',
        'LOG_LEVEL',
        'MONGODB_URI',
        'OTEL_EXPORTER_OTLP_ENDPOINT',
        'SHUTDOWN_DEADLINE_MS',
        'SMTP_PASSWORD',
      ].sort(),
    );
    expect(error.message).toMatch(/^Invalid worker configuration \(13 problems\):/u);
    expect(error.message).toContain('JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_MS: no longer read: set JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE');
    expect(error.message).toContain('JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_HOURS (jobs.refreshTokenCleanup.intervalHours): must be >= 1');
    expect(error.message).not.toContain('hunter2');
  });

  it('names the new key of a renamed job setting, as a variable and in the file (the email queue\'s delivery attempts)', () => {
    const base = { JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' };
    const fromEnvironment = captureConfigurationError(() =>
      loadWorkerConfiguration({ environment: { ...base, JOBS_EMAIL_QUEUE_MAX_ATTEMPTS: '3', JOBS_EMAIL_QUEUE_MAX_RETRY_DELAY_SECONDS: '60' } }),
    );
    expect(fromEnvironment.problems).toEqual([
      { key: 'JOBS_EMAIL_QUEUE_MAX_ATTEMPTS', path: 'JOBS_EMAIL_QUEUE_MAX_ATTEMPTS', message: 'no longer read: renamed to JOBS_EMAIL_QUEUE_MAX_DELIVERY_ATTEMPTS' },
      {
        key: 'JOBS_EMAIL_QUEUE_MAX_RETRY_DELAY_SECONDS',
        path: 'JOBS_EMAIL_QUEUE_MAX_RETRY_DELAY_SECONDS',
        message: 'no longer read: renamed to JOBS_EMAIL_QUEUE_DELIVERY_BACKOFF_MAX_SECONDS',
      },
    ]);
    const file = join(temporaryDirectory, 'renamed.json');
    writeFileSync(file, JSON.stringify({ jobs: { emailQueue: { initialRetryDelaySeconds: 5, maxAttemps: 3 } } }));
    const fromFile = captureConfigurationError(() => loadWorkerConfiguration({ configFile: file, environment: base }));
    expect(fromFile.problems.map((problem) => `${problem.key}: ${problem.message}`).sort()).toEqual([
      'jobs.emailQueue.initialRetryDelaySeconds: renamed to jobs.emailQueue.deliveryBackoffInitialSeconds (configuration file)',
      'jobs.emailQueue.maxAttemps: unknown key (configuration file)',
    ]);
  });

  it('sizes the connection pool: MONGODB_MAX_POOL_SIZE, else the URI\'s own maxPoolSize, else 10; both set is an error naming both', () => {
    const base = { JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' };
    const sized = loadWorkerConfiguration({ environment: { ...base, MONGODB_MAX_POOL_SIZE: '25' } });
    expect(sized.mongodb.maxPoolSize).toBe(25);
    expect(resolveMaxPoolSize(sized.mongodb.maxPoolSize, sized.mongodb.uri)).toBe(25);
    const unset = loadWorkerConfiguration({ environment: base });
    expect(resolveMaxPoolSize(unset.mongodb.maxPoolSize, unset.mongodb.uri)).toBe(10);
    const uriOnly = loadWorkerConfiguration({ environment: { ...base, MONGODB_URI: 'mongodb://db:27017/?MaxPoolSize=40' } });
    expect(resolveMaxPoolSize(uriOnly.mongodb.maxPoolSize, uriOnly.mongodb.uri)).toBeUndefined();
    const both = captureConfigurationError(() =>
      loadWorkerConfiguration({ environment: { ...base, MONGODB_URI: 'mongodb://u:hunter2@db/?maxPoolSize=40', MONGODB_MAX_POOL_SIZE: '20' } }),
    );
    expect(both.problems.map((problem) => problem.key)).toEqual(['MONGODB_MAX_POOL_SIZE']);
    expect(both.message).toContain('MONGODB_MAX_POOL_SIZE (mongodb.maxPoolSize): MONGODB_URI sets maxPoolSize too');
    expect(both.message).not.toContain('hunter2');
    for (const [value, reason] of [['1', 'must be >= 2'], ['ten', 'must be an integer (connections)'], ['2.5', 'must be an integer (connections)']] as const) {
      const error = captureConfigurationError(() => loadWorkerConfiguration({ environment: { ...base, MONGODB_MAX_POOL_SIZE: value } }));
      expect(error.message).toContain(`MONGODB_MAX_POOL_SIZE (mongodb.maxPoolSize): ${reason}`);
    }
  });

  it('reads the lease timeout (SCHEDULER_LEASE_TIMEOUT) as a duration from the environment or the file: 10s by default', () => {
    const base = { JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' };
    const unset = loadWorkerConfiguration({ environment: base });
    expect(unset.scheduler).toEqual({ leaseTimeout: '10s' });
    expect(leaseTimeoutMsOf(unset.scheduler)).toBe(defaultLeaseTimeoutMs);
    const set = loadWorkerConfiguration({ environment: { ...base, SCHEDULER_LEASE_TIMEOUT: '30s' } });
    expect(leaseTimeoutMsOf(set.scheduler)).toBe(30_000);
    const file = join(temporaryDirectory, 'scheduler.json');
    writeFileSync(file, JSON.stringify({ scheduler: { leaseTimeout: '1m30s' } }));
    expect(leaseTimeoutMsOf(loadWorkerConfiguration({ configFile: file, environment: base }).scheduler)).toBe(90_000);
    expect(leaseTimeoutMsOf(loadWorkerConfiguration({ configFile: file, environment: { ...base, SCHEDULER_LEASE_TIMEOUT: '3s' } }).scheduler)).toBe(3000);
    // The smallest timeout the worker accepts is one the runtime accepts (a heartbeat of at
    // least 1 ms, at most a third of the timeout), so the runtime never refuses the worker's value.
    const smallest = resolveRuntimeSettings({ leaseTimeoutMs: leaseTimeoutLimitsMs.min });
    expect(smallest).toMatchObject({ leaseTimeoutMs: 3000, heartbeatIntervalMs: 600 });
  });

  it('refuses a lease timeout that is no duration, not positive, too short for the heartbeats or too long, naming the key and the reason', () => {
    const base = { JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' };
    const tooShort =
      'must be at least 3s (heartbeats come every fifth of it, and a worker whose heartbeats stop for four fifths of it aborts its runs: shorter, a brief database stall would abort runs)';
    for (const [value, reason] of [
      ['soon', 'duration "soon": expected a number at "soon" (use ms, s, m, h, d)'],
      ['10000', 'duration "10000": missing unit after 10000 (use ms, s, m, h, d)'],
      ['1.5s', 'duration "1.5s": only whole numbers are allowed (write 1h30m, not 1.5h)'],
      ['-10s', 'must be a positive duration such as 10s (at least 3s)'],
      ['0s', tooShort],
      ['2999ms', tooShort],
      ['1h1s', 'must be at most 1h'],
    ] as const) {
      const error = captureConfigurationError(() => loadWorkerConfiguration({ environment: { ...base, SCHEDULER_LEASE_TIMEOUT: value } }));
      expect(error.message).toBe(`Invalid worker configuration (1 problem):\n  - SCHEDULER_LEASE_TIMEOUT (scheduler.leaseTimeout): ${reason}`);
    }
    // A number in the file is not read as milliseconds: the key is named with the reason.
    const file = join(temporaryDirectory, 'lease-number.json');
    writeFileSync(file, JSON.stringify({ scheduler: { leaseTimeout: 10_000 } }));
    const fromFile = captureConfigurationError(() => loadWorkerConfiguration({ configFile: file, environment: base }));
    expect(fromFile.message).toContain('SCHEDULER_LEASE_TIMEOUT (scheduler.leaseTimeout): must be text: a duration such as 10s or 1m');
    // Both bounds are accepted.
    for (const value of ['3s', '1h']) {
      expect(loadWorkerConfiguration({ environment: { ...base, SCHEDULER_LEASE_TIMEOUT: value } }).scheduler.leaseTimeout).toBe(value);
    }
  });

  it('names a single problem in the singular', () => {
    const error = captureConfigurationError(() => loadWorkerConfiguration({ environment: { HTTP_PORT: 'x', JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' } }));
    expect(error.message).toMatch(/^Invalid worker configuration \(1 problem\):\n {2}- HTTP_PORT \(http\.port\): /u);
  });
});

describe('job scheduling keys (JOBS_<JOB>_SCHEDULE, _TIME_ZONE, _MISFIRE, _RETRY_*)', () => {
  const base = { JOBS_EMAIL_QUEUE_ENABLED: 'false', ADMIN_ENABLED: 'false' };
  const problemsOf = (environment: Record<string, string>) =>
    // The lines of the error as the worker prints them.
    captureConfigurationError(() => loadWorkerConfiguration({ environment: { ...base, ...environment } }))
      .message.split('\n')
      .slice(1)
      .map((line) => line.replace(/^ {2}- /u, ''));

  it('refuses a schedule together with the older interval key, naming both', () => {
    expect(problemsOf({ JOBS_IP_ANONYMIZATION_SCHEDULE: '0 4 * * 1', JOBS_IP_ANONYMIZATION_INTERVAL_DAYS: '7' })).toEqual([
      'JOBS_IP_ANONYMIZATION_INTERVAL_DAYS (jobs.ipAnonymization.intervalDays): set either JOBS_IP_ANONYMIZATION_SCHEDULE or JOBS_IP_ANONYMIZATION_INTERVAL_DAYS, not both (intervalDays is the older name of an interval schedule)',
    ]);
  });

  it('names the key and the reason of each bad value', () => {
    expect(
      problemsOf({
        JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE: '0 25 * * *',
        JOBS_IP_ANONYMIZATION_TIME_ZONE: 'Europe/Berln',
        JOBS_LOG_CLEANUP_MISFIRE: 'sometimes',
        JOBS_LOG_CLEANUP_RETRY_MAX_ATTEMPTS: '0',
        JOBS_LOG_CLEANUP_RETRY_INITIAL_DELAY: '1.5m',
      }),
    ).toEqual([
      'JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE (timing.refreshTokenCleanup.schedule): cron expression "0 25 * * *": hour 25 is out of range 0-23',
      expect.stringMatching(/^JOBS_IP_ANONYMIZATION_TIME_ZONE \(timing\.ipAnonymization\.timeZone\): time zone "Europe\/Berln" is not an IANA time zone/u),
      expect.stringMatching(/^JOBS_LOG_CLEANUP_MISFIRE \(timing\.logCleanup\.misfire\): misfire policy "sometimes": unknown policy/u),
      'JOBS_LOG_CLEANUP_RETRY_MAX_ATTEMPTS (timing.logCleanup.retryMaxAttempts): must be >= 1 (1 = no retry)',
      'JOBS_LOG_CLEANUP_RETRY_INITIAL_DELAY (timing.logCleanup.retryInitialDelay): duration "1.5m": only whole numbers are allowed (write 1h30m, not 1.5h)',
    ]);
  });

  it('reports what only the combination shows: a time zone or catch-up on an interval, delays out of order', () => {
    expect(
      problemsOf({
        JOBS_REFRESH_TOKEN_CLEANUP_TIME_ZONE: 'Europe/Berlin',
        JOBS_IP_ANONYMIZATION_MISFIRE: 'catch-up:1d',
        JOBS_LOG_CLEANUP_RETRY_INITIAL_DELAY: '2h',
      }),
    ).toEqual([
      'JOBS_REFRESH_TOKEN_CLEANUP_TIME_ZONE (timing.refreshTokenCleanup.timeZone): a time zone applies to a cron schedule; the schedule "24h" is an interval (remove JOBS_REFRESH_TOKEN_CLEANUP_TIME_ZONE or use a cron expression)',
      expect.stringMatching(/^JOBS_IP_ANONYMIZATION_MISFIRE \(timing\.ipAnonymization\.misfire\): misfire policy "catch-up:1d:\d+" needs a cron schedule/u),
      'JOBS_LOG_CLEANUP_RETRY_MAX_DELAY (timing.logCleanup.retryMaxDelay): retry.maxDelayMs of job "LogCleanupJob" must be an integer >= initialDelayMs (7200000, milliseconds), got 3600000',
    ]);
  });

  it('reads the keys from the configuration file too (timing.<job>)', () => {
    const file = join(temporaryDirectory, 'timing.json');
    writeFileSync(file, JSON.stringify({ timing: { emailQueue: { schedule: '*/5 * * * * *', misfire: 'skip' } } }));
    const configuration = loadWorkerConfiguration({ configFile: file, environment: { ADMIN_ENABLED: 'false', SMTP_HOST: 'mail', SMTP_FROM: 'jobs@example.test' } });
    expect(configuration.resolvedTiming.emailQueue?.timing).toEqual({
      schedule: { kind: 'cron', expression: '*/5 * * * * *', timeZone: 'UTC' },
      misfire: { kind: 'skip' },
    });
  });

  it('asks for the sections an enabled job module requires, naming the switch that turns it off', () => {
    expect(problemsOf({ JOBS_EMAIL_QUEUE_ENABLED: 'true', SMTP_FROM: 'jobs@example.test' })).toEqual([
      'SMTP_HOST (smtp.host): required',
    ]);
    expect(problemsOf({ JOBS_EMAIL_QUEUE_ENABLED: 'true' })).toEqual([
      'SMTP_HOST (smtp.host): required while EmailQueueProcessJob is enabled (or set JOBS_EMAIL_QUEUE_ENABLED=false)',
      'SMTP_FROM (smtp.from): required while EmailQueueProcessJob is enabled (or set JOBS_EMAIL_QUEUE_ENABLED=false)',
    ]);
  });
});

describe('environment reference', () => {
  it('lists every variable with its default, derived from the schemas', () => {
    const rows = environmentReference(settingsSections);
    const byName = new Map(rows.map((row) => [row.name, row]));
    expect(byName.get('JOBS_REFRESH_TOKEN_CLEANUP_INTERVAL_HOURS')?.defaultValue).toBe('-');
    expect(byName.get('JOBS_REFRESH_TOKEN_CLEANUP_SCHEDULE')?.defaultValue).toBe('24h');
    expect(byName.get('JOBS_EMAIL_QUEUE_SCHEDULE')?.defaultValue).toBe('10s');
    expect(byName.get('JOBS_LOG_CLEANUP_RETRY_INITIAL_DELAY')?.defaultValue).toBe('5m');
    expect(byName.get('ADMIN_ROLES')?.defaultValue).toBe('Admin');
    expect(byName.get('SMTP_HOST')?.defaultValue).toBe('required');
    expect(byName.get('ADMIN_PASSWORD')?.defaultValue).toBe('-');
    expect(byName.get('HTTP_HOST')?.defaultValue).toBe('127.0.0.1');
    expect(byName.get('JOBS_LOG_CLEANUP_MISFIRE')?.meaning).toContain('`timing.logCleanup.misfire` - LogCleanupJob: What happens to occurrences missed');
    expect(byName.has('JOBS_LOG_CLEANUP_INTERVAL_MS')).toBe(false);
    const table = formatEnvironmentReference(settingsSections);
    expect(table.split('\n')).toHaveLength(rows.length + 2);
    expect(describeDefault(z.string().nullable().default('x'))).toBe('x');
    expect(describeDefault(z.string().nullable())).toBe('required');
    expect(describeDefault('not a schema')).toBe('required');
  });
});

describe('redaction', () => {
  it('removes credentials and passwords but keeps file paths', () => {
    expect(
      redactConfiguration({
        mongodb: { uri: 'mongodb://user:pw@db:27017/' },
        adminSeeder: { password: 'pw', passwordFile: '/run/secrets/pw', roles: ['Admin'] },
        smtp: { password: 'smtp-pw', host: 'mail' },
        port: 1,
      }),
    ).toEqual({
      mongodb: { uri: 'mongodb://***@db:27017/' },
      adminSeeder: { password: '***', passwordFile: '/run/secrets/pw', roles: ['Admin'] },
      smtp: { password: '***', host: 'mail' },
      port: 1,
    });
  });
});
