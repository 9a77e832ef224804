/**
 * The recurring jobs of the worker: one per job module, built from the configuration. Disabled
 * jobs are not built; their names are still known so their pending occurrence can be cancelled
 * and they can be listed as disabled.
 */
import type { JobResultSummary, RecurringJob } from '@app/shared-jobs';
import type { Connection } from 'mongoose';
import type { WorkerJobModule } from './config/job-timing.js';
import { valueAtPath } from './config/load.js';
import type { WorkerConfiguration } from './config/worker-config.js';
import { workerJobModules } from './job-modules.js';

export interface JobPlan {
  /** The module's `configKey` (`jobs.<configKey>` in the configuration). */
  readonly configKey: string;
  readonly jobName: string;
  readonly enabled: boolean;
  /** Null when disabled. */
  readonly job: RecurringJob<JobResultSummary> | null;
}

export interface BuiltJobs {
  readonly plans: readonly JobPlan[];
  readonly enabledJobs: readonly RecurringJob<JobResultSummary>[];
  readonly disabledJobNames: readonly string[];
  /** Releases what the jobs hold (the email job's SMTP pool) at shutdown; a failure is reported, not thrown. */
  dispose(onError: (jobName: string, error: unknown) => void): Promise<void>;
}

export function isJobEnabled(configuration: WorkerConfiguration, module: WorkerJobModule): boolean {
  return configuration.backgroundJobsEnabled && configuration.jobs[module.configKey]?.enabled !== false;
}

/** The services a module's factory receives: the connection and the sections it requires. */
function servicesFor(module: WorkerJobModule, configuration: WorkerConfiguration, connection: Connection): Record<string, unknown> {
  const services: Record<string, unknown> = { connection };
  for (const sectionPath of module.requiredSections ?? []) {
    const section = valueAtPath(configuration, sectionPath.split('.'));
    // The configuration check refuses a missing required section of an enabled job (exit 2).
    if (section === undefined) throw new Error(`${module.jobName} needs the "${sectionPath}" settings while it is enabled`);
    services[sectionPath] = section;
  }
  return services;
}

export function buildJobs(
  configuration: WorkerConfiguration,
  connection: Connection,
  modules: readonly WorkerJobModule[] = workerJobModules,
): BuiltJobs {
  const plans = modules.map((module): JobPlan => {
    const enabled = isJobEnabled(configuration, module);
    const resolved = configuration.resolvedTiming[module.configKey];
    if (enabled && resolved === undefined) throw new Error(`no resolved timing for ${module.jobName}`);
    return {
      configKey: module.configKey,
      jobName: module.jobName,
      enabled,
      job:
        enabled && resolved !== undefined
          ? module.create({
              settings: configuration.jobs[module.configKey],
              timing: resolved.timing,
              retry: resolved.retry,
              services: servicesFor(module, configuration, connection),
            })
          : null,
    };
  });
  const enabledJobs = plans.flatMap((plan) => (plan.job === null ? [] : [plan.job]));
  let disposed: Promise<void> | undefined;
  return {
    plans,
    enabledJobs,
    disabledJobNames: plans.filter((plan) => !plan.enabled).map((plan) => plan.jobName),
    dispose: (onError) => {
      disposed ??= Promise.all(
        enabledJobs.map(async (job) => {
          try {
            await job.dispose?.();
          } catch (error) {
            onError(job.name, error);
          }
        }),
      ).then(() => undefined);
      return disposed;
    },
  };
}
