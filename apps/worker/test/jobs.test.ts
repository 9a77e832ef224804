/** The worker builds one job per module, on the timing and retries its configuration resolved. */
import { z } from 'zod';
import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import type { WorkerJobModule } from '../src/config/job-timing.js';
import { loadWorkerConfiguration } from '../src/config/worker-config.js';
import { workerJobModules } from '../src/job-modules.js';
import { buildJobs } from '../src/jobs.js';

// Job factories only keep the connection; nothing is sent before a run.
const connection = mongoose.createConnection();

describe('buildJobs', () => {
  it('builds every enabled module with its resolved schedule, misfire policy and retries; disabled ones are listed', async () => {
    const configuration = loadWorkerConfiguration({
      environment: {
        ADMIN_ENABLED: 'false',
        SMTP_HOST: '127.0.0.1',
        SMTP_FROM: 'jobs@example.test',
        JOBS_LOG_CLEANUP_SCHEDULE: '0 3 * * *',
        JOBS_LOG_CLEANUP_TIME_ZONE: 'America/New_York',
        JOBS_LOG_CLEANUP_MISFIRE: 'skip',
        JOBS_EMAIL_QUEUE_RETRY_MAX_ATTEMPTS: '1',
        JOBS_IP_ANONYMIZATION_ENABLED: 'false',
      },
    });
    const built = buildJobs(configuration, connection);
    expect(built.plans.map((plan) => [plan.jobName, plan.enabled])).toEqual(workerJobModules.map((module) => [module.jobName, module.configKey !== 'ipAnonymization']));
    expect(built.disabledJobNames).toEqual(['IpAnonymizationJob']);
    const byName = new Map(built.enabledJobs.map((job) => [job.name, job]));
    expect(byName.get('LogCleanupJob')).toMatchObject({
      schedule: { kind: 'cron', expression: '0 3 * * *', timeZone: 'America/New_York' },
      misfire: { kind: 'skip' },
    });
    expect(byName.get('EmailQueueProcessJob')?.retry).toEqual({ maxAttempts: 1, initialDelayMs: 5000, maxDelayMs: 60_000 });
    expect(byName.get('RefreshTokenCleanupJob')?.schedule).toEqual({ kind: 'interval', everyMs: 86_400_000 });
    // The email module holds an SMTP pool and releases it.
    expect(typeof byName.get('EmailQueueProcessJob')?.dispose).toBe('function');
    const failures: string[] = [];
    await built.dispose((jobName) => failures.push(jobName));
    expect(failures).toEqual([]);
  });

  it('builds nothing with the master switch off', () => {
    const configuration = loadWorkerConfiguration({ environment: { ADMIN_ENABLED: 'false', BACKGROUND_JOBS_ENABLED: 'false' } });
    const built = buildJobs(configuration, connection);
    expect(built.enabledJobs).toEqual([]);
    expect(built.disabledJobNames).toHaveLength(workerJobModules.length);
  });

  it('reports a job whose release fails and still releases the others, once', async () => {
    const released: string[] = [];
    const moduleNamed = (jobName: string, dispose: () => Promise<void>): WorkerJobModule => ({
      jobName,
      configKey: 'logCleanup',
      environmentPrefix: 'JOBS_LOG_CLEANUP_',
      description: jobName,
      settingsSchema: z.strictObject({}),
      defaults: { schedule: '1h', misfire: 'once', retry: { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 } },
      create: ({ timing }) => ({ name: jobName, schedule: timing.schedule, run: () => Promise.resolve({}), dispose }),
    });
    const configuration = loadWorkerConfiguration({ environment: { ADMIN_ENABLED: 'false', JOBS_EMAIL_QUEUE_ENABLED: 'false' } });
    const built = buildJobs(configuration, connection, [
      moduleNamed('Broken', () => Promise.reject(new Error('pool stuck'))),
      moduleNamed('Fine', () => {
        released.push('Fine');
        return Promise.resolve();
      }),
    ]);
    const failures: string[] = [];
    await built.dispose((jobName, error) => failures.push(`${jobName}: ${(error as Error).message}`));
    await built.dispose(() => failures.push('again'));
    expect(failures).toEqual(['Broken: pool stuck']);
    expect(released).toEqual(['Fine']);
  });
});
