/**
 * The recurring jobs of the worker: built from the configuration with each package's
 * factory. Disabled jobs are not built; their names are still known so their pending
 * occurrence can be cancelled and they can be listed as disabled.
 */
import {
  createIpAnonymizationJob,
  createRefreshTokenCleanupJob,
  ipAnonymizationJobName,
  refreshTokenCleanupJobName,
} from '@app/identity';
import { createLogCleanupJob, logCleanupJobName } from '@app/logging';
import {
  createEmailQueueProcessJob,
  createSmtpEmailSender,
  emailQueueProcessJobName,
  type SmtpEmailSender,
} from '@app/notifications';
import type { JobResultSummary, RecurringJob } from '@app/shared-jobs';
import type { Connection } from 'mongoose';
import type { JobSectionKey, WorkerConfiguration } from './config/worker-config.js';

/** Job name of every configuration section. */
export const jobNameBySection: Readonly<Record<JobSectionKey, string>> = {
  refreshTokenCleanup: refreshTokenCleanupJobName,
  ipAnonymization: ipAnonymizationJobName,
  emailQueue: emailQueueProcessJobName,
  logCleanup: logCleanupJobName,
};

export interface JobPlan {
  readonly sectionKey: JobSectionKey;
  readonly jobName: string;
  readonly enabled: boolean;
  /** Null when disabled. */
  readonly job: RecurringJob<JobResultSummary> | null;
}

export interface BuiltJobs {
  readonly plans: readonly JobPlan[];
  readonly enabledJobs: readonly RecurringJob<JobResultSummary>[];
  readonly disabledJobNames: readonly string[];
  /** The SMTP sender when the email job is enabled; close it at shutdown. */
  readonly emailSender: SmtpEmailSender | null;
}

function withIntervalOverride(
  job: RecurringJob<JobResultSummary>,
  overrideMs: number | undefined,
): RecurringJob<JobResultSummary> {
  return overrideMs === undefined ? job : { ...job, intervalMs: overrideMs };
}

export function isJobEnabled(configuration: WorkerConfiguration, sectionKey: JobSectionKey): boolean {
  return configuration.backgroundJobsEnabled && configuration.jobs[sectionKey].enabled;
}

export function buildJobs(configuration: WorkerConfiguration, connection: Connection): BuiltJobs {
  let emailSender: SmtpEmailSender | null = null;
  const factories: Record<JobSectionKey, () => RecurringJob<JobResultSummary>> = {
    refreshTokenCleanup: () =>
      createRefreshTokenCleanupJob({ connection, settings: configuration.jobs.refreshTokenCleanup }),
    ipAnonymization: () =>
      createIpAnonymizationJob({ connection, settings: configuration.jobs.ipAnonymization }),
    emailQueue: () => {
      if (configuration.smtp === undefined) {
        throw new Error('SMTP settings are required while the email queue job is enabled');
      }
      emailSender = createSmtpEmailSender(configuration.smtp);
      return createEmailQueueProcessJob({
        connection,
        sender: emailSender,
        settings: configuration.jobs.emailQueue,
      });
    },
    logCleanup: () => createLogCleanupJob({ connection, settings: configuration.jobs.logCleanup }),
  };
  const plans = (Object.keys(jobNameBySection) as JobSectionKey[]).map((sectionKey): JobPlan => {
    const enabled = isJobEnabled(configuration, sectionKey);
    return {
      sectionKey,
      jobName: jobNameBySection[sectionKey],
      enabled,
      job: enabled
        ? withIntervalOverride(factories[sectionKey](), configuration.intervalOverridesMs[sectionKey])
        : null,
    };
  });
  return {
    plans,
    enabledJobs: plans.flatMap((plan) => (plan.job === null ? [] : [plan.job])),
    disabledJobNames: plans.filter((plan) => !plan.enabled).map((plan) => plan.jobName),
    emailSender,
  };
}
