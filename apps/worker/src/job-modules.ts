/**
 * Every recurring job the worker hosts, as the domain packages export them. Adding a job is
 * adding its module here: its settings, environment keys, defaults and factory come with it.
 */
import { identityJobModules } from '@app/identity';
import { logCleanupJobModule } from '@app/logging';
import { notificationJobModules } from '@app/notifications';
import type { WorkerJobModule } from './config/job-timing.js';

export const workerJobModules: readonly WorkerJobModule[] = [
  ...identityJobModules,
  ...notificationJobModules,
  logCleanupJobModule,
];
